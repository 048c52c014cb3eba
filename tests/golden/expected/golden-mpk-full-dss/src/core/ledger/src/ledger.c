#line 1 "$TREE/libos/ledger/src/ledger.c"
/* ledger: reads what it is handed, so only shared memory works behind an isolating boundary. */
#include <ledger/ledger.h>

static long amounts[16];
static int entries;
static long total;
static unsigned long seen;

long ledger_add(const char *what, long amount) {
  while (*what) seen += (unsigned char)*what++;
  if (entries < 16) amounts[entries++] = amount;
  return total += amount;
}

void ledger_note(const char *text) {
  while (*text) seen += (unsigned char)*text++;
}

long ledger_audit(ledger_fn f) {
  long sum = 0;
  for (int i = 0; i < entries; i++) sum += f(amounts[i]);
  return sum;
}
