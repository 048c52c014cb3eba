/* ledger: entries with amounts, notes, and an audit that calls back for every entry. */
#ifndef LEDGER_LEDGER_H
#define LEDGER_LEDGER_H
#ifdef __cplusplus
extern "C" {
#endif
typedef long (*ledger_fn)(long amount);
/* Adds an entry described by `what` (read here) and returns the running total. */
long ledger_add(const char *what, long amount);
/* Keeps no copy: only checks that `text` is readable here. */
void ledger_note(const char *text);
/* Calls f(amount) for every entry and returns the sum of what it returned. */
long ledger_audit(ledger_fn f);
#ifdef __cplusplus
}
#endif
#endif
