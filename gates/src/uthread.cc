// User-level threads' gate state (see uthread.h): the mpk thread table and block of per-domain stacks
// (mpk full gates) and the shared stack of whitelisted locals (shared_locals.cc), one of each per user
// thread, swapped by the scheduler.
#include "flex/gates/uthread.h"

#include <cstring>

#include "flex/gates/mpk.h"

extern "C" {
__attribute__((visibility("hidden"))) std::uintptr_t flex_mpk_stack_alloc(unsigned key, unsigned emulated);
__attribute__((visibility("hidden"))) size_t flex_wl_stack_state_size(void);
__attribute__((visibility("hidden"))) void flex_wl_stack_swap(void *save, const void *load);
__attribute__((visibility("hidden"))) void flex_wl_stack_release(void *state);
}

namespace flex::gates::detail {
void mpk_release_table(mpk_thread_table &t);
bool mpk_has_free_block();
}

using flex::gates::detail::mpk_thread_table;

namespace {

// [mpk_thread_table][whitelisted locals' shared stack]
unsigned char *wl_part(void *state) {
  return static_cast<unsigned char *>(state) + sizeof(mpk_thread_table);
}
const unsigned char *wl_part(const void *state) {
  return static_cast<const unsigned char *>(state) + sizeof(mpk_thread_table);
}

}  // namespace

extern "C" {

size_t flex_uthread_state_size(void) {
  return sizeof(mpk_thread_table) + flex_wl_stack_state_size();
}

int flex_uthread_init(void *state, void **stack_top, size_t *stack_size) {
  if (!state || !stack_top || !stack_size) return -22;  // -EINVAL
  std::memset(state, 0, flex_uthread_state_size());
  *stack_top = nullptr;
  *stack_size = 0;
  mpk_thread_table &t = flex_mpk_thread;
  const unsigned key = static_cast<unsigned>(t.cur & 15);
  if (key == 0) return 0;  // no full gates: the caller's own stack, a table of zeros
  if (!flex::gates::detail::mpk_has_free_block()) return -11;  // -EAGAIN: every block is taken
  const bool emulated = flex_mpk_runtime.mode == flex::gates::detail::kModeEmulated;
  // Take a block for a fresh table (the slow path of a gate's first entry), keep it, put ours back.
  mpk_thread_table saved = t;
  t = mpk_thread_table{};
  t.cur = key;
  std::uintptr_t top = flex_mpk_stack_alloc(key, emulated ? 1u : 0u);
  std::memcpy(state, &t, sizeof t);
  t = saved;
  *stack_top = reinterpret_cast<void *>(top);
  *stack_size = flex::gates::kMpkStackSize;
  return 0;
}

void flex_uthread_switch(void *save, const void *load) {
  if (save) std::memcpy(save, &flex_mpk_thread, sizeof(mpk_thread_table));
  if (load) std::memcpy(&flex_mpk_thread, load, sizeof(mpk_thread_table));
  flex_wl_stack_swap(save ? wl_part(save) : nullptr, load ? wl_part(load) : nullptr);
}

void flex_uthread_release(void *state) {
  if (!state) return;
  mpk_thread_table t;
  std::memcpy(&t, state, sizeof t);
  if (t.block) flex::gates::detail::mpk_release_table(t);
  flex_wl_stack_release(wl_part(state));
  std::memset(state, 0, sizeof t);
}

}  // extern "C"
