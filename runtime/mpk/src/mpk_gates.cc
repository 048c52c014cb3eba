// flex_mpk_relay, the runtime's relay of a call from another process into an mpk domain. (The reference
// instantiations of the erased gates are in mpk_gate_refs.cc, an object of its own: an image that links
// the relay must not link them.)
#include "flex/runtime/mpk_gate.h"

#include <cstddef>

// flex_mpk_relay (mpk_gate.h). Where the runtime's own stack is in use down to: the frame its return cell
// names (the last full gate it made from that stack) or, lower, its stack slot (a full gate it made from
// there since, which keeps its frames under it), taken only inside the runtime's stack. Already on that
// stack, `on_own` runs where it is. On a domain's stack (the one whose arena, in the read-only runtime
// page, holds the stack pointer), that domain's stack slot takes the stack pointer
// first, as a full gate out of it would, so that a call back into the domain meanwhile starts below the
// frames waiting here; the slot gets its value back after. Anywhere else, or with no cell, `here` runs.
extern "C" [[gnu::naked]] flex::runtime::word flex_mpk_relay(flex::runtime::word (*)(const flex::runtime::call_args *),
                                                             flex::runtime::word (*)(const flex::runtime::call_args *),
                                                             const flex::runtime::call_args *) {
  asm volatile(
      "push %%rbp\n\t"
      "mov %%rsp, %%rbp\n\t"
      "push %%rbx\n\t"
      "push %%r12\n\t"
      "push %%r13\n\t"
      "push %%r14\n\t"
      "mov %%rdi, %%r12\n\t"
      "mov %%rdx, %%r13\n\t"
      "lea flex_mpk_runtime(%%rip), %%r8\n\t"
      "mov %c[control](%%r8), %%rax\n\t"
      "test %%rax, %%rax\n\t"
      "jz 8f\n\t"
      "mov %c[cell](%%rax), %%r14\n\t"
      "test %%r14, %%r14\n\t"
      "jz 8f\n\t"
      "lea %c[rtlo](%%rax), %%r9\n\t"
      "lea %c[rthi](%%rax), %%r10\n\t"
      "cmp %%r9, %%rsp\n\t"
      "jbe 1f\n\t"
      "cmp %%r10, %%rsp\n\t"
      "ja 1f\n\t"
      "mov %%r13, %%rdi\n\t" /* on the runtime's own stack already */
      "call *%%r12\n\t"
      "jmp 9f\n"
      "1:\n\t"
      "mov flex_mpk_thread@gottpoff(%%rip), %%r11\n\t"
      "mov %%fs:%c[blk](%%r11), %%r11\n\t"
      "test %%r11, %%r11\n\t"
      "jz 8f\n\t" /* no block: this thread has never entered a domain, so it is on none's stack */
      "dec %%r11\n\t"
      "and %[tmask], %%r11d\n\t" /* r11: this thread's block */
      "mov %c[slots](%%r8), %%rcx\n\t"
      "mov (%%rcx,%%r11,8), %%rcx\n\t" /* the runtime's slot */
      "shl %[untag], %%rcx\n\t"
      "shr %[untag], %%rcx\n\t"
      "cmp %%r9, %%rcx\n\t"
      "jbe 2f\n\t"
      "cmp %%r10, %%rcx\n\t"
      "ja 2f\n\t"
      "cmp %%r14, %%rcx\n\t"
      "jae 2f\n\t"
      "mov %%rcx, %%r14\n"
      "2:\n\t"
      "mov $1, %%ebx\n"
      "3:\n\t"
      "cmp $%c[keys], %%ebx\n\t"
      "jae 8f\n\t"
      "cmp %c[lo](%%r8,%%rbx,8), %%rsp\n\t"
      "jbe 4f\n\t"
      "cmp %c[hi](%%r8,%%rbx,8), %%rsp\n\t"
      "jbe 5f\n"
      "4:\n\t"
      "inc %%ebx\n\t"
      "jmp 3b\n"
      "5:\n\t"
      "mov %c[slots](%%r8,%%rbx,8), %%rcx\n\t" /* the domain's slot */
      "lea (%%rcx,%%r11,8), %%rcx\n\t"
      "push (%%rcx)\n\t"
      "mov %%rsp, (%%rcx)\n\t"
      "lea -256(%%r14), %%rax\n\t" /* below the frames in use and the slot a gate pushed under them */
      "and $-16, %%rax\n\t"
      "mov %%rsp, %%r14\n\t"
      "mov %%rax, %%rsp\n\t"
      "mov %%r13, %%rdi\n\t"
      "mov %%rcx, %%r13\n\t" /* the slot's address, kept across the call: the thread table (key 0) */
      "call *%%r12\n\t"      /* may name another block by the time it returns */
      "mov %%r14, %%rsp\n\t"
      "pop (%%r13)\n\t"
      "jmp 9f\n"
      "8:\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%rsi\n"
      "9:\n\t"
      "pop %%r14\n\t"
      "pop %%r13\n\t"
      "pop %%r12\n\t"
      "pop %%rbx\n\t"
      "pop %%rbp\n\t"
      "ret\n\t" ::[control] "i"(offsetof(flex::runtime::detail::mpk_runtime_page, sig_control)),
      [cell] "i"(offsetof(flex::runtime::detail::mpk_signal_control, rt_return)),
      [rtlo] "i"((2 + flex::runtime::detail::kSysPages) * 4096),
      [rthi] "i"((2 + flex::runtime::detail::kSysPages) * 4096 + flex::runtime::detail::kRuntimeStackBytes),
      [blk] "i"(offsetof(flex::runtime::detail::mpk_thread_table, block)),
      [slots] "i"(offsetof(flex::runtime::detail::mpk_runtime_page, slots)),
      [tmask] "i"(flex::runtime::kMpkMaxThreads - 1), [untag] "i"(64 - flex::runtime::detail::kMpkSlotTagShift),
      [lo] "i"(offsetof(flex::runtime::detail::mpk_runtime_page, stack_lo)),
      [hi] "i"(offsetof(flex::runtime::detail::mpk_runtime_page, stack_hi)),
      [keys] "i"(flex::runtime::kPkeyCount));
}
