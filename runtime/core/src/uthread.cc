// User-level threads' gate state (see uthread.h): the mpk backend's per-thread table and block of
// per-domain stacks (mpk full gates), then the shared stack of whitelisted locals (heap/shared_locals.cc),
// one of each per user thread, swapped by the scheduler.
#include "flex/runtime/uthread.h"

#include <cerrno>
#include <cstring>

#include "flex/runtime/heap.h"
#include "flex/runtime/mpk.h"

asm(R"(
  .text
  .globl flex_uthread_swap_stack
  .type flex_uthread_swap_stack,@function
flex_uthread_swap_stack:
  push %rbp
  push %rbx
  push %r12
  push %r13
  push %r14
  push %r15
  mov %rsp, (%rdi)
  mov %rsi, %rsp
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbx
  pop %rbp
  ret
  .size flex_uthread_swap_stack, .-flex_uthread_swap_stack
)");

namespace {

// [mpk state][whitelisted locals' shared stack]
unsigned char *wl_part(void *state) {
  return static_cast<unsigned char *>(state) + flex::runtime::mpk_uthread_state_size();
}
const unsigned char *wl_part(const void *state) {
  return static_cast<const unsigned char *>(state) + flex::runtime::mpk_uthread_state_size();
}

}  // namespace

extern "C" {

size_t flex_uthread_state_size(void) {
  return flex::runtime::mpk_uthread_state_size() + flex::runtime::shared_locals_state_size();
}

int flex_uthread_init(void *state, void **stack_top, size_t *stack_size) {
  if (!state || !stack_top || !stack_size) return -EINVAL;
  std::memset(state, 0, flex_uthread_state_size());
  return flex::runtime::mpk_uthread_init(state, stack_top, stack_size);
}

void flex_uthread_switch(void *save, const void *load) {
  flex::runtime::mpk_uthread_switch(save, load);
  flex::runtime::shared_locals_swap(save ? wl_part(save) : nullptr, load ? wl_part(load) : nullptr);
}

void flex_uthread_release(void *state) {
  if (!state) return;
  flex::runtime::mpk_uthread_release(state);
  flex::runtime::shared_locals_release(wl_part(state));
}

}  // extern "C"
