/* User-level threads: what a scheduler that switches stacks itself (libos/sched) needs from the
 * compartment runtime.
 *
 * With mpk full gates, every host thread has a table (mpk.h: mpk_thread_table) naming its stack in each
 * domain and the domain it runs in, and each gate saves the caller's stack pointer there. A user thread
 * that blocks inside one compartment while another user thread runs on the same host thread must
 * therefore have its own table and its own block of per-domain stacks (one stack per compartment it
 * enters, taken from the domains' arenas the gates check), and the scheduler must swap tables whenever
 * it swaps stacks:
 *
 *   size_t n = flex_uthread_state_size();       // 0: this image needs no per-thread gate state
 *   void *st = malloc(n);
 *   size_t len;
 *   void *top = flex_uthread_init(st, &len);     // a fresh block; top of its stack in the running domain
 *   ...
 *   flex_uthread_switch(cur_state, next_state);  // right before switching the registers to `next`
 *   ...
 *   flex_uthread_release(st);                     // once the thread has finished (never the running one)
 *
 * Without mpk full gates (plain calls, light gates, processes), the size is 0 and the scheduler provides
 * its own stacks; light gates run every domain on the caller's stack, so those stacks must be key-0
 * memory (plat_map_stack). Switching user threads under a process gate is not supported: the process
 * channel of a host thread carries one call at a time, so a scheduler must not switch while a call of
 * its thread is pending in another process. */
#ifndef FLEX_GATES_UTHREAD_H
#define FLEX_GATES_UTHREAD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

size_t flex_uthread_state_size(void);
void *flex_uthread_init(void *state, size_t *stack_size);
void flex_uthread_switch(void *save, const void *load);
void flex_uthread_release(void *state);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_GATES_UTHREAD_H */
