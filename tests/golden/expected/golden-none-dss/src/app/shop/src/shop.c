#line 1 "$TREE/apps/shop/src/shop.c"
/* shop: gates with and without results, a whitelisted local, a whitelisted static, a string literal
 * through a gate, a shared-heap block, and a callback the ledger calls back. */
#include <stdio.h>
#include <string.h>

#include <flexos/isolation.h>
#include <ledger/ledger.h>

static char shop_name[32] __attribute__((section(".data_shared"))) = "corner shop";
static long audits;

long on_audit(long amount);
long on_audit(long amount) {
  audits++;
  return amount;
}

long audit_all(void);

static long buy(const char *item, long price) {
  char receipt[64];
  long total = 0;
  snprintf(receipt, sizeof receipt, "%s: %ld", item, price);
  total = ledger_add(receipt, price);
  if (total > 1000) return -1;  /* the shared receipt is released here too */
  return total;
}

int main(void) {
  long total = 0, checked = 0;
  char *note = flexos_malloc_whitelist(32);
  strcpy(note, "opening");
  ledger_note(note);
  ledger_note("open for business");
  ledger_note(shop_name);
  total = buy("apple", 3) + buy("pear", 4);
  checked = ledger_audit(on_audit);
  flexos_free_whitelist(note);
  printf("shop: total %ld checked %ld audits %ld cxx %ld\n", total, checked, audits, audit_all());
  return total == 10 && checked == 7 ? 0 : 1;
}
