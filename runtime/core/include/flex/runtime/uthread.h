/* User-level threads: what a scheduler that switches stacks itself (libos/sched) needs from the
 * compartment runtime.
 *
 * A user thread that blocks while another user thread runs on the same host thread needs its own copy of
 * the runtime's per-thread gate state, swapped whenever the scheduler swaps stacks:
 *   - with mpk full gates, a thread table (mpk.h: mpk_thread_table; each gate saves the caller's stack
 *     pointer there) and a block of per-domain stacks: one stack per compartment the thread enters, taken
 *     from the domains' arenas the gates check;
 *   - whatever the gates, the shared stack of whitelisted locals (shared_locals.cc), released in LIFO
 *     order per thread.
 *
 *   void *st = malloc(flex_uthread_state_size());
 *   void *top; size_t len;
 *   flex_uthread_init(st, &top, &len);           // top: the thread's stack in the running domain, or
 *                                                // NULL: bring your own (no full gates)
 *   flex_uthread_switch(cur_state, next_state);  // right before switching the registers to `next`
 *   flex_uthread_swap_stack(&cur_sp, next_sp);    // the switch itself
 *   flex_uthread_release(st);                     // once the thread has finished (never the running one)
 *
 * Without full gates the scheduler provides the stacks; light gates run every domain on the caller's
 * stack, so those stacks must be every domain's memory (plat_map_stack: key 0 before lockdown, the shared key
 * after, MAP_STACK telling the system-call wall). Switching user threads under a process
 * gate is not supported: the process channel of a host thread carries one call at a time, so a scheduler
 * must not switch while a call of its thread is pending in another process. */
#ifndef FLEX_RUNTIME_UTHREAD_H
#define FLEX_RUNTIME_UTHREAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

size_t flex_uthread_state_size(void);
/* 0; -EAGAIN when no block of stacks is left (kMpkMaxThreads), -EINVAL for null arguments. */
int flex_uthread_init(void *state, void **stack_top, size_t *stack_size);
void flex_uthread_switch(void *save, const void *load);
void flex_uthread_release(void *state);
/* Saves the callee-saved registers (rbp, rbx, r12-r15, pushed in that order) on this stack and the stack
 * pointer in *save, then continues on the stack `load`: one saved by an earlier swap, or a new thread's
 * stack built to look like one (six register slots, then the address to return to). */
void flex_uthread_swap_stack(uint64_t *save, uint64_t load);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_RUNTIME_UTHREAD_H */
