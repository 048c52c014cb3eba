// User-level threads' gate state (see uthread.h): with mpk full gates, one thread table and one block of
// per-domain stacks per user thread, swapped by the scheduler.
#include "flex/gates/uthread.h"

#include <cstring>

#include "flex/gates/mpk.h"

extern "C" __attribute__((visibility("hidden"))) std::uintptr_t flex_mpk_stack_alloc(unsigned key,
                                                                                     unsigned emulated);

namespace flex::gates::detail {
void mpk_release_table(mpk_thread_table &t);
}

using flex::gates::detail::mpk_thread_table;

extern "C" {

// Full gates are the ones that keep this host thread's table: the caller runs in a domain entered
// through one exactly when the table names a current key.
size_t flex_uthread_state_size(void) {
  return (flex_mpk_thread.cur & 15) != 0 ? sizeof(mpk_thread_table) : 0;
}

void *flex_uthread_init(void *state, size_t *stack_size) {
  mpk_thread_table &t = flex_mpk_thread;
  const unsigned key = static_cast<unsigned>(t.cur & 15);
  if (!state || key == 0) return nullptr;
  const bool emulated = flex_mpk_runtime.mode == flex::gates::detail::kModeEmulated;
  // Take a block for a fresh table (the slow path of a gate's first entry), keep it, put ours back.
  mpk_thread_table saved = t;
  t = mpk_thread_table{};
  t.cur = key;
  std::uintptr_t top = flex_mpk_stack_alloc(key, emulated ? 1u : 0u);
  std::memcpy(state, &t, sizeof t);
  t = saved;
  if (stack_size) *stack_size = flex::gates::kMpkStackSize;
  return reinterpret_cast<void *>(top);
}

void flex_uthread_switch(void *save, const void *load) {
  if (save) std::memcpy(save, &flex_mpk_thread, sizeof(mpk_thread_table));
  if (load) std::memcpy(&flex_mpk_thread, load, sizeof(mpk_thread_table));
}

void flex_uthread_release(void *state) {
  if (!state) return;
  mpk_thread_table t;
  std::memcpy(&t, state, sizeof t);
  flex::gates::detail::mpk_release_table(t);
  std::memset(state, 0, sizeof t);
}

}  // extern "C"
