#line 1 "$TREE/apps/shop/src/shop.c"
/* shop: gates with and without results, a whitelisted local, a whitelisted static, a string literal
 * through a gate, a shared-heap block, and a callback the ledger calls back. */
#include <stdio.h>
#include <string.h>

#include <flexos/isolation.h>
#include <ledger/ledger.h>

static char shop_name[32] __attribute__((section(".data_shared"))) = "corner shop";
static long audits;

long on_audit(long amount); extern __typeof__(on_audit) __flex_gate_core__on_audit __asm__("__flex_gate_core__on_audit");
long on_audit(long amount) {
  audits++;
  return amount;
}

long audit_all(void);

static long buy(const char *item, long price) {
  char receipt[64]; void *const __flex_wl_receipt __attribute__((cleanup(flexos_wl_release))) = flexos_wl_alloc(&receipt, sizeof receipt, __alignof__(receipt), FLEXOS_WL_SHARED);
  long total = 0;
  snprintf((*(__typeof__(receipt) *)__flex_wl_receipt), sizeof (*(__typeof__(receipt) *)__flex_wl_receipt), "%s: %ld", item, price);
  total = (__extension__({ extern __typeof__(ledger_add) __flex_gate_app__ledger_add __asm__("__flex_gate_app__ledger_add"); &__flex_gate_app__ledger_add; }))((*(__typeof__(receipt) *)__flex_wl_receipt), price);
  if (total > 1000) return -1;  /* the shared receipt is released here too */
  return total;
}

int main(void) {
  long total = 0, checked = 0;
  char *note = flexos_malloc_whitelist(32);
  strcpy(note, "opening");
  (__extension__({ extern __typeof__(ledger_note) __flex_gate_app__ledger_note __asm__("__flex_gate_app__ledger_note"); &__flex_gate_app__ledger_note; }))(note);
  (__extension__({ extern __typeof__(ledger_note) __flex_gate_app__ledger_note __asm__("__flex_gate_app__ledger_note"); &__flex_gate_app__ledger_note; }))((__extension__({ static const __typeof__("open for business") __flex_lit_1069 __attribute__((section(".rodata_shared"))) = "open for business"; (__typeof__(("open for business")[0]) *)__flex_lit_1069; })));
  (__extension__({ extern __typeof__(ledger_note) __flex_gate_app__ledger_note __asm__("__flex_gate_app__ledger_note"); &__flex_gate_app__ledger_note; }))(shop_name);
  total = buy("apple", 3) + buy("pear", 4);
  checked = (__extension__({ extern __typeof__(ledger_audit) __flex_gate_app__ledger_audit __asm__("__flex_gate_app__ledger_audit"); &__flex_gate_app__ledger_audit; }))(__flex_gate_core__on_audit);
  flexos_free_whitelist(note);
  printf("shop: total %ld checked %ld audits %ld cxx %ld\n", total, checked, audits, audit_all());
  return total == 10 && checked == 7 ? 0 : 1;
}
