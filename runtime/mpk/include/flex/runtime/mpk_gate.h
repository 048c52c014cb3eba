// The mpk gate backends (DESIGN.md §6), each WRPKRU in section .text.flex_gates (see mpk.h for the key
// assignment and what each gate promises): mpk_light_to and mpk_full_to, as flexbuild instantiates them in
// an image's generated gates, with the callee fixed; mpk_light and mpk_full, with the callee as an argument
// (the runtime's tests and benchmarks).
//
//   constexpr std::uint32_t kApp = flex::runtime::pkru_for(1, 3), kNet = flex::runtime::pkru_for(2, 3);
//   using app_to_net = flex::runtime::gate<flex::runtime::mpk_full_to<kApp, kNet, /*callee domain*/ 1, &net_recv>>;
//   long n = app_to_net::call({}, &counter, &net_recv, fd, buf, sizeof buf, 0);
#pragma once

#include <cstddef>
#include <cstdint>

#include "flex/runtime/gate.h"
#include "flex/runtime/mpk.h"
#include "flex/runtime/mpk_impl.h"

namespace flex::runtime {

enum class pkru_insn {
  hardware,  // WRPKRU
  emulated,  // tests on machines without PKU: a store of EAX to testing::emulated_pkru(), same checks
};

}  // namespace flex::runtime

// The gate bodies. Register use follows the SysV ABI: arguments in rdi rsi rdx rcx r8 r9, the target (the
// seventh argument of the entry functions) at 8(%rsp). WRPKRU needs ECX = EDX = 0, so rdx/rcx are parked
// in r10/r11 around it. The ERIM check compares EAX with the immediate after each WRPKRU.
// clang-format off
#define FLEX_MPK_WRPKRU_HW "wrpkru\n\t"
#define FLEX_MPK_WRPKRU_EMULATED                                                                        \
  "test %%ecx, %%ecx\n\t"                                                                               \
  "jnz 7f\n\t"                                                                                          \
  "test %%edx, %%edx\n\t"                                                                               \
  "jz 8f\n"                                                                                             \
  "7:\n\t"                                                                                              \
  "ud2\n" /* the hardware raises #GP when ECX or EDX is not zero */                                     \
  "8:\n\t"                                                                                              \
  "movl %%eax, %%fs:flex_mpk_emulated_pkru@tpoff\n\t"

#define FLEX_MPK_SET_PKRU(WRPKRU, IMM)                                                                  \
  "xor %%ecx, %%ecx\n\t"                                                                                \
  "xor %%edx, %%edx\n\t"                                                                                \
  "mov " IMM ", %%eax\n\t" WRPKRU "cmp " IMM ", %%eax\n\t"                                              \
  "jne flex_mpk_gate_abort\n\t"

#define FLEX_MPK_LIGHT_BODY_WITH(WRPKRU, LOAD, CALL)                                                                     \
  "push %%rbx\n\t"                                                                                      \
  ".cfi_adjust_cfa_offset 8\n\t"                                                                        \
  ".cfi_rel_offset %%rbx, 0\n\t"                                                                        \
  LOAD                      \
  "mov %%rdx, %%r10\n\t"                                                                                \
  "mov %%rcx, %%r11\n\t" FLEX_MPK_SET_PKRU(WRPKRU, "%[e]") "mov %%r10, %%rdx\n\t"                       \
  "mov %%r11, %%rcx\n\t"                                                                                \
  CALL                                                                                     \
  "mov %%rax, %%r10\n\t" FLEX_MPK_SET_PKRU(WRPKRU, "%[c]") "mov %%r10, %%rax\n\t"                       \
  "pop %%rbx\n\t"                                                                                       \
  ".cfi_adjust_cfa_offset -8\n\t"                                                                       \
  ".cfi_restore %%rbx\n\t"                                                                              \
  "ret\n\t"

// Erased: the target arrives as the seventh argument (on the stack). Fixed: the callee is the symbol
// operand [fn], a direct call, so no register or stack slot chooses it.
#define FLEX_MPK_LIGHT_BODY(WRPKRU)                                                                     \
  FLEX_MPK_LIGHT_BODY_WITH(WRPKRU, "mov 16(%%rsp), %%rbx\n\t" /* the target, read while the caller's rights hold */, \
                           "call *%%rbx\n\t")
#define FLEX_MPK_LIGHT_BODY_TO(WRPKRU) FLEX_MPK_LIGHT_BODY_WITH(WRPKRU, "", "call %P[fn]\n\t")

#define FLEX_MPK_CLEAR_SCRATCH                                                                          \
  "xor %%esi, %%esi\n\t"                                                                                \
  "xor %%edi, %%edi\n\t"                                                                                \
  "xor %%r8d, %%r8d\n\t"                                                                                \
  "xor %%r9d, %%r9d\n\t"                                                                                \
  "xor %%r10d, %%r10d\n\t"                                                                              \
  "xor %%r11d, %%r11d\n\t"

// rax: a stack pointer's offset from its arena's start. Where it lies in its block must be the stack part
// (mpk.h: mpk_on_stack_part).
#define FLEX_MPK_STACK_PART_CHECK                                                                       \
  "and %[bmask], %%rax\n\t"                                                                             \
  "cmp %[glo], %%rax\n\t"                                                                               \
  "jbe flex_mpk_stack_abort\n\t"                                                                        \
  "cmp %[ghi], %%rax\n\t"                                                                               \
  "ja flex_mpk_stack_abort\n\t"

// Full gate. Callee-saved registers and the caller's previous slot go on the caller's stack; the caller's
// stack pointer goes into its slot (mpk_impl.h: per key and block, in the caller's slot page, which only the
// caller's rights write), tagged with the callee's key, so re-entries into the caller (callbacks) start
// below its live frames and only a return from this callee resumes them; the caller's key (for the way
// back) and the target (so that no register holds it) go on the callee's stack. The callee's slot is read
// after the switch to its rights (only they may read its page); 0 there means the top of its stack in this
// thread's block. Every stack pointer taken from a slot is checked against the domain's arena bounds in the
// read-only runtime page, and to lie in the stack part of its block, before use. The block comes from the
// thread table (key 0): whichever block it names, a slot only ever sends a domain onto its own stack, and
// a way back only ever resumes a call its caller made to this gate's callee.
#define FLEX_MPK_FULL_BODY_WITH(WRPKRU, LOAD, CALL, CALLER_IN, CALLER_BACK, CALLER_SWITCHED)                           \
  FLEX_MPK_FULL_BODY_CELL(WRPKRU, LOAD, CALL, CALLER_IN, CALLER_BACK, CALLER_SWITCHED, "", FLEX_MPK_SLOT_BACK, "")
// rbp: this thread's block (from its thread table), as an index.
#define FLEX_MPK_BLOCK_INDEX                                                                            \
  "dec %%rbp\n\t"                                                                                       \
  "and %[tmask], %%ebp\n\t"
// Where the way back finds the caller's stack: its slot (r12: its address), which must name a call to this
// gate's callee.
#define FLEX_MPK_SLOT_BACK                                                                              \
  "mov (%%r12), %%r14\n\t"                                                                              \
  "mov %%r14, %%rax\n\t"                                                                                \
  "shr %[tagshift], %%rax\n\t"                                                                          \
  "cmp %[key], %%eax\n\t"                                                                               \
  "jne flex_mpk_return_abort\n\t"                                                                       \
  "shl %[untag], %%r14\n\t"                                                                             \
  "shr %[untag], %%r14\n\t"
// CELL_IN, CELL_BACK, CELL_OUT: the runtime's own stack, for the runtime as a caller on it (below).
#define FLEX_MPK_FULL_BODY_CELL(WRPKRU, LOAD, CALL, CALLER_IN, CALLER_BACK, CALLER_SWITCHED, CELL_IN, CELL_BACK, CELL_OUT) \
  ".cfi_undefined %%rip\n\t" /* backtraces end here */                                                 \
  "push %%rbp\n\t"                                                                                      \
  "push %%rbx\n\t"                                                                                      \
  "push %%r12\n\t"                                                                                      \
  "push %%r13\n\t"                                                                                      \
  "push %%r14\n\t"                                                                                      \
  "push %%r15\n\t"                                                                                      \
  LOAD                                                           \
  "mov flex_mpk_thread@gottpoff(%%rip), %%r13\n\t"                                                      \
  "lea flex_mpk_runtime(%%rip), %%r15\n\t"                                                              \
  CALLER_IN /* rbx: the caller's key */                                                                  \
  CELL_IN                                                                                               \
  "mov %%fs:%c[blk](%%r13), %%rbp\n\t"                                                                  \
  "test %%rbp, %%rbp\n\t"                                                                               \
  "jz .Lflex_slow%=\n"                                                                                  \
  ".Lflex_have%=:\n\t"                                                                                  \
  FLEX_MPK_BLOCK_INDEX                                                                                  \
  "mov %c[slots](%%r15,%%rbx,8), %%rax\n\t" /* the caller's slot */                                    \
  "lea (%%rax,%%rbp,8), %%rax\n\t"                                                                      \
  "push (%%rax)\n\t"                                                                                    \
  "mov %[key], %%r14d\n\t"                                                                              \
  "shl %[tagshift], %%r14\n\t"                                                                          \
  "or %%rsp, %%r14\n\t"                                                                                 \
  "mov %%r14, (%%rax)\n\t"                                                                              \
  "movq %[key], %%fs:%c[cur](%%r13)\n\t"                                                                \
  "mov %%rdx, %%r10\n\t"                                                                                \
  "mov %%rcx, %%r11\n\t" FLEX_MPK_SET_PKRU(WRPKRU, "%[e]")                                              \
  /* With the callee's rights, from nothing a jump onto the switch could have chosen: the runtime page */ \
  /* and the thread table found again, and the callee's slot, which only the callee writes. */          \
  "mov flex_mpk_thread@gottpoff(%%rip), %%r13\n\t"                                                      \
  "lea flex_mpk_runtime(%%rip), %%r15\n\t"                                                              \
  "mov %%fs:%c[blk](%%r13), %%rbp\n\t"                                                                  \
  FLEX_MPK_BLOCK_INDEX                                                                                  \
  "mov %c[slotk](%%r15), %%r14\n\t"                                                                     \
  "mov (%%r14,%%rbp,8), %%r14\n\t"                                                                      \
  "shl %[untag], %%r14\n\t"                                                                             \
  "shr %[untag], %%r14\n\t"                                                                             \
  "jnz .Lflex_sp%=\n\t"                                                                                 \
  "mov %%rbp, %%r14\n\t" /* none: the top of its stack in this block */                               \
  "shl %[bshift], %%r14\n\t"                                                                            \
  "add %c[lok](%%r15), %%r14\n\t"                                                                       \
  "add %[top], %%r14\n"                                                                                 \
  ".Lflex_sp%=:\n\t"                                                                                    \
  "cmp %c[lok](%%r15), %%r14\n\t"                                                                       \
  "jbe flex_mpk_stack_abort\n\t"                                                                        \
  "cmp %c[hik](%%r15), %%r14\n\t"                                                                       \
  "ja flex_mpk_stack_abort\n\t"                                                                         \
  "mov %%r14, %%rax\n\t" /* and on the stack part of its block: no guard, no shared mirror */          \
  "sub %c[lok](%%r15), %%rax\n\t"                                                                       \
  FLEX_MPK_STACK_PART_CHECK                                                                             \
  "mov %%r14, %%rsp\n\t"                                                                                \
  "push %%rbx\n\t"                                                                                      \
  "push %%r12\n\t" /* the target: called from the callee's stack, held by no register */              \
  "mov %%r10, %%rdx\n\t"                                                                                \
  "mov %%r11, %%rcx\n\t"                                                                                \
  "call flex_mpk_clear_vectors\n\t"                                                                     \
  "xor %%eax, %%eax\n\t"                                                                                \
  "xor %%r10d, %%r10d\n\t"                                                                              \
  "xor %%r11d, %%r11d\n\t"                                                                              \
  "xor %%ebx, %%ebx\n\t"                                                                                \
  "xor %%ebp, %%ebp\n\t"                                                                                \
  "xor %%r12d, %%r12d\n\t"                                                                              \
  "xor %%r13d, %%r13d\n\t"                                                                              \
  "xor %%r14d, %%r14d\n\t"                                                                              \
  "xor %%r15d, %%r15d\n\t"                                                                              \
  "cld\n\t"                                                                                             \
  CALL                                                                                   \
  "add $8, %%rsp\n\t"                                                                                   \
  CALLER_BACK /* rbx: the caller's key again (erased) */                                                \
  "mov %%rax, %%r10\n\t" FLEX_MPK_SET_PKRU(WRPKRU, "%[c]")                                              \
  CALLER_SWITCHED /* rbx: the caller's key, after the switch (fixed): no jump skips it */              \
  "mov flex_mpk_thread@gottpoff(%%rip), %%r13\n\t"                                                      \
  "lea flex_mpk_runtime(%%rip), %%r15\n\t"                                                              \
  "mov %%fs:%c[blk](%%r13), %%rbp\n\t"                                                                  \
  FLEX_MPK_BLOCK_INDEX                                                                                  \
  "mov %c[slots](%%r15,%%rbx,8), %%r12\n\t" /* the caller's slot, with its rights */                   \
  "lea (%%r12,%%rbp,8), %%r12\n\t"                                                                      \
  CELL_BACK /* r14: the caller's stack pointer */                                                       \
  "test %%ebx, %%ebx\n\t"                                                                               \
  "jz .Lflex_back%=\n\t"                                                                                \
  "cmp %c[lo](%%r15,%%rbx,8), %%r14\n\t"                                                                \
  "jbe flex_mpk_stack_abort\n\t"                                                                        \
  "cmp %c[hi](%%r15,%%rbx,8), %%r14\n\t"                                                                \
  "ja flex_mpk_stack_abort\n\t"                                                                         \
  "mov %%r14, %%rax\n\t" /* the result waits in r10 */                                                \
  "sub %c[lo](%%r15,%%rbx,8), %%rax\n\t"                                                                \
  FLEX_MPK_STACK_PART_CHECK                                                                             \
  ".Lflex_back%=:\n\t"                                                                                  \
  "mov %%r14, %%rsp\n\t"                                                                                \
  "pop (%%r12)\n\t"                                                                                     \
  "mov %%rbx, %%fs:%c[cur](%%r13)\n\t"                                                                  \
  "call flex_mpk_clear_vectors\n\t"                                                                     \
  "mov %%r10, %%rax\n\t" FLEX_MPK_CLEAR_SCRATCH "cld\n\t"                                               \
  CELL_OUT                                                                                              \
  "pop %%r15\n\t"                                                                                       \
  "pop %%r14\n\t"                                                                                       \
  "pop %%r13\n\t"                                                                                       \
  "pop %%r12\n\t"                                                                                       \
  "pop %%rbx\n\t"                                                                                       \
  "pop %%rbp\n\t"                                                                                       \
  "ret\n"                                                                                               \
  ".Lflex_slow%=:\n\t" /* this thread's first entry into any domain: it takes a block */               \
  "push %%rdi\n\t"                                                                                      \
  "push %%rsi\n\t"                                                                                      \
  "push %%rdx\n\t"                                                                                      \
  "push %%rcx\n\t"                                                                                      \
  "push %%r8\n\t"                                                                                       \
  "push %%r9\n\t"                                                                                       \
  "sub $8, %%rsp\n\t"                                                                                   \
  "mov %[key], %%edi\n\t"                                                                               \
  "mov %[emu], %%esi\n\t"                                                                               \
  "call flex_mpk_stack_alloc\n\t"                                                                       \
  "mov %%rax, %%rbp\n\t"                                                                                \
  "add $8, %%rsp\n\t"                                                                                   \
  "pop %%r9\n\t"                                                                                        \
  "pop %%r8\n\t"                                                                                        \
  "pop %%rcx\n\t"                                                                                       \
  "pop %%rdx\n\t"                                                                                       \
  "pop %%rsi\n\t"                                                                                       \
  "pop %%rdi\n\t"                                                                                       \
  "jmp .Lflex_have%=\n\t"

// The erased gate takes the caller's key from the thread table (key 0) and keeps it on the callee's stack
// for the way back. The fixed gate has it as an immediate both ways, loaded on the way back only after the
// switch to the caller's rights: a jump onto that switch cannot choose whose stack slot and arena bounds
// the return uses (a domain's stack, which only that domain writes): it can only land on that caller's own
// frames. The runtime as the caller on its own stack (the app's entry, signal handlers) names key 0 and
// returns through its return cell instead (FLEX_MPK_CELL_*); the runtime as a caller on a domain's stack
// (the relay of a mixed image with no return cell: flex_mpk_relay's `here`) still takes its key from the
// thread table.
#define FLEX_MPK_CALLER_FROM_TABLE                                                                      \
  "mov %%fs:%c[cur](%%r13), %%rbx\n\t"                                                                  \
  "and $15, %%ebx\n\t"
#define FLEX_MPK_CALLER_FROM_STACK                                                                      \
  "pop %%rbx\n\t"                                                                                       \
  "and $15, %%ebx\n\t"
#define FLEX_MPK_CALLER_FIXED "mov %[ckey], %%ebx\n\t"

#define FLEX_MPK_FULL_BODY(WRPKRU)                                                                      \
  FLEX_MPK_FULL_BODY_WITH(WRPKRU, "mov 56(%%rsp), %%r12\n\t" /* the target */, "call *(%%rsp)\n\t",     \
                          FLEX_MPK_CALLER_FROM_TABLE, FLEX_MPK_CALLER_FROM_STACK, "")
// The pushed slot stays (zero) so that the callee's stack is aligned as for the erased gate.
#define FLEX_MPK_FULL_BODY_TO(WRPKRU)                                                                   \
  FLEX_MPK_FULL_BODY_WITH(WRPKRU, "xor %%r12d, %%r12d\n\t", "call %P[fn]\n\t", FLEX_MPK_CALLER_FIXED,  \
                          "add $8, %%rsp\n\t", FLEX_MPK_CALLER_FIXED)
// The runtime as the caller: its code may run on a domain's stack (after a light gate out of that domain,
// in a mixed image), that domain's; so the key comes from the thread table, as for the erased.
#define FLEX_MPK_FULL_BODY_TO_FROM_RUNTIME(WRPKRU)                                                      \
  FLEX_MPK_FULL_BODY_WITH(WRPKRU, "xor %%r12d, %%r12d\n\t", "call %P[fn]\n\t", FLEX_MPK_CALLER_FROM_TABLE, \
                          FLEX_MPK_CALLER_FROM_STACK, "")
// The runtime as the caller on its own stack (the app's entry, a compartment's signal handler: CallerKey
// 0). With a signal arena, the runtime's stack pointer goes into its return cell (the arena's control
// page: the runtime's key, which no compartment writes), the previous cell kept on the runtime's stack, and
// the way back takes it from there after the switch: a jump onto the way back (PKRU 0) lands only where
// the runtime called from, as if the callee had returned, never on a stack its slot (key-0 memory) names.
// Without an arena (emulated MPK, older kernels), the runtime's slot, as before.
#define FLEX_MPK_CELL_IN                                                                                \
  "mov %c[control](%%r15), %%r14\n\t"                                                                   \
  "test %%r14, %%r14\n\t"                                                                               \
  "jz 9f\n\t"                                                                                           \
  "push %c[cell](%%r14)\n\t"                                                                            \
  "push $0\n\t" /* keeps the stack 16-byte aligned for the slow path's call */                          \
  "mov %%rsp, %c[cell](%%r14)\n\t"                                                                      \
  "jmp 8f\n"                                                                                            \
  "9:\n\t"                                                                                              \
  "push $0\n\t"                                                                                         \
  "push $0\n"                                                                                           \
  "8:\n\t"
#define FLEX_MPK_CELL_BACK                                                                              \
  "mov %c[control](%%r15), %%r14\n\t"                                                                   \
  "test %%r14, %%r14\n\t"                                                                               \
  "jz 7f\n\t"                                                                                           \
  "mov %c[cell](%%r14), %%r14\n\t"                                                                      \
  "test %%r14, %%r14\n\t"                                                                               \
  "jz flex_mpk_stack_abort\n\t"                                                                         \
  "sub $8, %%r14\n\t" /* below it: the slot the entry pushed */                    \
  "jmp 6f\n"                                                                                            \
  "7:\n\t" FLEX_MPK_SLOT_BACK                                                                            \
  "6:\n\t"
#define FLEX_MPK_CELL_OUT                                                                               \
  "pop %%r14\n\t" /* the padding */                                                                     \
  "pop %%r14\n\t" /* the previous cell */                                                               \
  "mov flex_mpk_runtime+%c[control](%%rip), %%r13\n\t"                                                  \
  "test %%r13, %%r13\n\t"                                                                               \
  "jz 5f\n\t"                                                                                           \
  "mov %%r14, %c[cell](%%r13)\n"                                                                         \
  "5:\n\t"
#define FLEX_MPK_FULL_BODY_TO_RUNTIME_OWN(WRPKRU)                                                       \
  FLEX_MPK_FULL_BODY_CELL(WRPKRU, "xor %%r12d, %%r12d\n\t", "call %P[fn]\n\t", FLEX_MPK_CALLER_FIXED,  \
                          "add $8, %%rsp\n\t", FLEX_MPK_CALLER_FIXED, FLEX_MPK_CELL_IN, FLEX_MPK_CELL_BACK,   \
                          FLEX_MPK_CELL_OUT)

// clang-format on

namespace flex::runtime {
namespace detail {

using mpk_entry_fn = word (*)(word, word, word, word, word, word, erased_fn);

template <std::uint32_t C, std::uint32_t E>
struct mpk_light_entry {
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word hardware(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_LIGHT_BODY(FLEX_MPK_WRPKRU_HW)::[e] "i"(static_cast<std::int32_t>(E)),
                 [c] "i"(static_cast<std::int32_t>(C)));
  }
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word emulated(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_LIGHT_BODY(FLEX_MPK_WRPKRU_EMULATED)::[e] "i"(static_cast<std::int32_t>(E)),
                 [c] "i"(static_cast<std::int32_t>(C)));
  }
};

// clang-format off
#define FLEX_MPK_FULL_OPERANDS                                                                          \
  [e] "i"(static_cast<std::int32_t>(E)), [c] "i"(static_cast<std::int32_t>(C)), [key] "i"(Key),         \
      [blk] "i"(offsetof(mpk_thread_table, block)), [cur] "i"(offsetof(mpk_thread_table, cur)),         \
      [slots] "i"(offsetof(mpk_runtime_page, slots)), [slotk] "i"(offsetof(mpk_runtime_page, slots) + 8 * Key), \
      [tmask] "i"(kMpkMaxThreads - 1), [tagshift] "i"(kMpkSlotTagShift), [untag] "i"(64 - kMpkSlotTagShift), \
      [bshift] "i"(kMpkBlockShift), [top] "i"(kMpkStackGuard + kMpkStackSize),                         \
      [lok] "i"(offsetof(mpk_runtime_page, stack_lo) + 8 * Key),                                        \
      [hik] "i"(offsetof(mpk_runtime_page, stack_hi) + 8 * Key),                                        \
      [lo] "i"(offsetof(mpk_runtime_page, stack_lo)), [hi] "i"(offsetof(mpk_runtime_page, stack_hi)),     \
      [bmask] "i"(kMpkStackBlock - 1), [glo] "i"(kMpkStackGuard), [ghi] "i"(kMpkStackGuard + kMpkStackSize)

#define FLEX_MPK_CELL_OPERANDS                                                                          \
  [control] "i"(offsetof(mpk_runtime_page, sig_control)), [cell] "i"(offsetof(mpk_signal_control, rt_return))

// clang-format on

template <std::uint32_t C, std::uint32_t E, unsigned Key>
struct mpk_full_entry {
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word hardware(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_FULL_BODY(FLEX_MPK_WRPKRU_HW)::FLEX_MPK_FULL_OPERANDS, [emu] "i"(0));
  }
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word emulated(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_FULL_BODY(FLEX_MPK_WRPKRU_EMULATED)::FLEX_MPK_FULL_OPERANDS, [emu] "i"(1));
  }
};

// The same gates with the callee fixed at build time (Fn: the function, as a template argument): a jump onto
// their WRPKRU with the right EAX still only reaches Fn (DESIGN.md §6, gates with fixed targets).
template <std::uint32_t C, std::uint32_t E, auto Fn>
struct mpk_light_to_entry {
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word hardware(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_LIGHT_BODY_TO(FLEX_MPK_WRPKRU_HW)::[e] "i"(static_cast<std::int32_t>(E)),
                 [c] "i"(static_cast<std::int32_t>(C)), [fn] "s"(Fn));
  }
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word emulated(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_LIGHT_BODY_TO(FLEX_MPK_WRPKRU_EMULATED)::[e] "i"(static_cast<std::int32_t>(E)),
                 [c] "i"(static_cast<std::int32_t>(C)), [fn] "s"(Fn));
  }
};

template <std::uint32_t C, std::uint32_t E, unsigned Key, auto Fn, int CallerKey>
struct mpk_full_to_entry {
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word hardware(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_FULL_BODY_TO(FLEX_MPK_WRPKRU_HW)::FLEX_MPK_FULL_OPERANDS, [emu] "i"(0), [fn] "s"(Fn),
                 [ckey] "i"(CallerKey));
  }
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word emulated(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_FULL_BODY_TO(FLEX_MPK_WRPKRU_EMULATED)::FLEX_MPK_FULL_OPERANDS, [emu] "i"(1), [fn] "s"(Fn),
                 [ckey] "i"(CallerKey));
  }
};

// The runtime as the caller on its own stack (CallerKey 0: the app's entry, signal handlers).
template <std::uint32_t C, std::uint32_t E, unsigned Key, auto Fn>
struct mpk_full_to_entry<C, E, Key, Fn, 0> {
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word hardware(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_FULL_BODY_TO_RUNTIME_OWN(FLEX_MPK_WRPKRU_HW)::FLEX_MPK_FULL_OPERANDS, [emu] "i"(0),
                 [fn] "s"(Fn), [ckey] "i"(0), FLEX_MPK_CELL_OPERANDS);
  }
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word emulated(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_FULL_BODY_TO_RUNTIME_OWN(FLEX_MPK_WRPKRU_EMULATED)::FLEX_MPK_FULL_OPERANDS, [emu] "i"(1),
                 [fn] "s"(Fn), [ckey] "i"(0), FLEX_MPK_CELL_OPERANDS);
  }
};

// The runtime as the caller (CallerKey -1).
template <std::uint32_t C, std::uint32_t E, unsigned Key, auto Fn>
struct mpk_full_to_entry<C, E, Key, Fn, -1> {
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word hardware(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_FULL_BODY_TO_FROM_RUNTIME(FLEX_MPK_WRPKRU_HW)::FLEX_MPK_FULL_OPERANDS, [emu] "i"(0),
                 [fn] "s"(Fn));
  }
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word emulated(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_FULL_BODY_TO_FROM_RUNTIME(FLEX_MPK_WRPKRU_EMULATED)::FLEX_MPK_FULL_OPERANDS, [emu] "i"(1),
                 [fn] "s"(Fn));
  }
};

}  // namespace detail

namespace detail {
// What both MPK backends do once their naked entry points exist: call the selected variant (only it is
// instantiated) with the six argument words and the target.
template <typename Entries, pkru_insn Insn>
struct mpk_invoker {
  struct target {};
  static constexpr mpk_entry_fn entry() {
    if constexpr (Insn == pkru_insn::hardware)
      return &Entries::hardware;
    else
      return &Entries::emulated;
  }
  static word invoke(const target &, erased_fn fn, const call_args &a) {
    return entry()(a.a[0], a.a[1], a.a[2], a.a[3], a.a[4], a.a[5], fn);
  }
};
}  // namespace detail

template <std::uint32_t CallerPkru, std::uint32_t CalleePkru, pkru_insn Insn = pkru_insn::hardware>
struct mpk_light : detail::mpk_invoker<detail::mpk_light_entry<CallerPkru, CalleePkru>, Insn> {
  static constexpr const char *kName = Insn == pkru_insn::hardware ? "mpk-light" : "mpk-light-emulated";
  using entries = detail::mpk_light_entry<CallerPkru, CalleePkru>;
};

// CalleeIndex: the callee's position among the image's mpk domains (mpk_plan::domains), i.e. its key - 1.
template <std::uint32_t CallerPkru, std::uint32_t CalleePkru, unsigned CalleeIndex,
          pkru_insn Insn = pkru_insn::hardware>
struct mpk_full : detail::mpk_invoker<detail::mpk_full_entry<CallerPkru, CalleePkru, CalleeIndex + 1>, Insn> {
  static_assert(CalleeIndex < static_cast<unsigned>(kMaxMpkDomains), "an mpk domain index is 0..11");
  static constexpr unsigned kKey = CalleeIndex + 1;
  static constexpr const char *kName = Insn == pkru_insn::hardware ? "mpk-full" : "mpk-full-emulated";
  using entries = detail::mpk_full_entry<CallerPkru, CalleePkru, kKey>;
};

namespace detail {
// The light gate with its callee fixed and any caller: the gate benchmark's round trip from the runtime.
// No image holds one with the runtime as its caller (mpk_light_to).
template <std::uint32_t CallerPkru, std::uint32_t CalleePkru, auto Fn, pkru_insn Insn = pkru_insn::hardware>
struct mpk_light_to_any : mpk_invoker<mpk_light_to_entry<CallerPkru, CalleePkru, Fn>, Insn> {
  static constexpr const char *kName = Insn == pkru_insn::hardware ? "mpk-light" : "mpk-light-emulated";
  using entries = mpk_light_to_entry<CallerPkru, CalleePkru, Fn>;
};
}  // namespace detail

// With the callee fixed: what flexbuild generates for every gate (the `fn` handed to invoke is Fn). Never
// with the runtime as the caller: a light gate's way back switches to the caller's rights and returns
// through the stack it shares with its callee, so a jump onto that switch would take the runtime's rights
// at an address of the jumper's choosing. The runtime enters a domain through mpk_full_to, CallerKey 0.
template <std::uint32_t CallerPkru, std::uint32_t CalleePkru, auto Fn, pkru_insn Insn = pkru_insn::hardware>
  requires(CallerPkru != kPkruRuntime)
struct mpk_light_to : detail::mpk_light_to_any<CallerPkru, CalleePkru, Fn, Insn> {};

// The relay of an image that mixes mpk and process compartments: a call another process makes into an mpk
// domain of the main process is served by the runtime, whose code then runs on whatever stack the thread is
// on (a domain's, when that domain's own call out is waiting for the other process). flexbuild's export
// tables enter the domain through flex_mpk_relay(on_own, here, &args): with a return cell (a signal arena,
// where the app was entered from the runtime's own stack), `on_own` runs on the runtime's own stack below
// the frame the cell names, and enters the domain through a full gate naming caller key 0, so its way
// back returns through the cell (a jump onto it lands where the relay called from, never on a stack a
// domain can write); without one (emulated MPK, kernels that cannot deliver signals onto keyed stacks),
// `here` runs where the thread is and its gate takes the caller's key from the thread table (CallerKey
// -1, which runtime/mpk's not_yet_defended test shows).
extern "C" word flex_mpk_relay(word (*on_own)(const call_args *), word (*here)(const call_args *),
                               const call_args *args);

// CallerKey: the calling domain's key (its index + 1), which flexbuild names for every domain caller; -1
// (left out) for the runtime as the caller, whose key comes from the thread table; 0 for the runtime on its
// own stack (the app's entry, signal handlers), which returns through the runtime's return cell.
template <std::uint32_t CallerPkru, std::uint32_t CalleePkru, unsigned CalleeIndex, auto Fn,
          pkru_insn Insn = pkru_insn::hardware, int CallerKey = -1>
struct mpk_full_to
    : detail::mpk_invoker<detail::mpk_full_to_entry<CallerPkru, CalleePkru, CalleeIndex + 1, Fn, CallerKey>, Insn> {
  static_assert(CalleeIndex < static_cast<unsigned>(kMaxMpkDomains), "an mpk domain index is 0..11");
  static_assert((CallerKey <= 0) == (CallerPkru == kPkruRuntime),
                "a domain caller names its key; the runtime names none (-1), or 0 when it calls from its own stack");
  static_assert(CallerKey <= static_cast<int>(kMaxMpkDomains), "a caller key is 1..12");
  static constexpr unsigned kKey = CalleeIndex + 1;
  static constexpr const char *kName = Insn == pkru_insn::hardware ? "mpk-full" : "mpk-full-emulated";
  using entries = detail::mpk_full_to_entry<CallerPkru, CalleePkru, kKey, Fn, CallerKey>;
};

// ---- System-call gates (mpk_syscalls.cc, DESIGN.md §8) ------------------------------------------------
// Once mpk_syscall_wall has armed Syscall User Dispatch, a domain's system call reaches the kernel only
// while the selector on the system-call page says ALLOW, and only the runtime's key writes that page.
// flexbuild generates, per domain D (PKRU P, index I, a two-byte mark M in D's own .bss):
//
//   flex_sysgate_D(nr, a0..a5)   the fast path (plat's calls): as D, M[0] = 1 (only D's code can write it);
//                                WRPKRU(runtime) and M[0] checked and cleared (a jump onto this WRPKRU from
//                                any other domain finds it 0 and ends the image); nr checked against D's gate
//                                set on the system-call page (its set less the calls on signal state,
//                                threads and process controls, which only the trap path's checks make);
//                                the descriptors it names checked: D's or no domain's (mpk_syscalls.cc);
//                                selector ALLOW; M[1] = 1; WRPKRU(P) and M[1] checked
//                                (a jump onto it from elsewhere finds it 0); the call, made with D's own
//                                rights so that the kernel's copies honour D's keys; WRPKRU(runtime) and the
//                                selector checked still ALLOW (a jump onto it finds BLOCK); selector BLOCK;
//                                a descriptor it made recorded as D's, one it closed as no domain's;
//                                WRPKRU(P); back.
//   flex_sysdrop_D(nr, a0..a5)   the trap path's second half, called by the runtime (mpk_syscalls.cc) for
//                                a call D made outside the gates (libc's own): the same call with D's rights.
//
// Nothing is written to the stack while the runtime's rights are held, since D chose the stack pointer.
// Before the wall is armed both make the plain call.
// clang-format off
#define FLEX_MPK_SYSCALL_OPERANDS(P, IDX, MARK)                                                         \
  [p] "i"(static_cast<std::int32_t>(P)), [idx] "i"(IDX),                                                \
  [set] "i"(::flex::runtime::detail::kSysGateAllowedOffset + 64 * (IDX)), [mark] "s"(MARK),            \
  [sys] "i"(offsetof(::flex::runtime::detail::mpk_runtime_page, sys_page)),                             \
  [siglo] "i"(offsetof(::flex::runtime::detail::mpk_runtime_page, sig_lo)),                             \
  [block] "i"(::flex::runtime::detail::kSigBlock),                                                     \
  [fdargs] "i"(::flex::runtime::detail::kSysFdArgsOffset),                                              \
  [fdowner] "i"(::flex::runtime::detail::kSysFdOwnerOffset),                                            \
  [maxfd] "i"(::flex::runtime::detail::kMaxOwnedFd), [owner] "i"((IDX) + 1)

// The call itself, with the runtime's rights on entry and exit, rcx = the system-call page, r11 = the
// number, rbx = the third argument, the others in place: selector ALLOW (a store only the runtime's rights
// can make), the domain's rights (the mark proves the runtime set them), the call, the runtime's rights
// back (the selector still ALLOW proves the call came from here), selector BLOCK. Result in rbx.
#define FLEX_MPK_SYSCALL_AS_DOMAIN                                                                      \
  "movb $0, (%%rcx)\n\t"                                                                                \
  "movb $1, %P[mark]+1(%%rip)\n\t"                                                                      \
  FLEX_MPK_SET_PKRU(FLEX_MPK_WRPKRU_HW, "%[p]")                                                         \
  "cmpb $1, %P[mark]+1(%%rip)\n\t"                                                                      \
  "jne flex_mpk_sys_abort\n\t"                                                                          \
  "movb $0, %P[mark]+1(%%rip)\n\t"                                                                      \
  "mov %%r11, %%rax\n\t"                                                                                \
  "mov %%rbx, %%rdx\n\t"                                                                                \
  "syscall\n\t"                                                                                         \
  "mov %%rax, %%rbx\n\t"                                                                                \
  FLEX_MPK_SET_PKRU(FLEX_MPK_WRPKRU_HW, "$0")                                                           \
  "mov flex_mpk_runtime+%c[sys](%%rip), %%rcx\n\t"                                                      \
  "cmpb $0, (%%rcx)\n\t"                                                                                \
  "jne flex_mpk_sys_abort\n\t"                                                                          \
  "movb $1, (%%rcx)\n\t"

// One argument that may name a descriptor (bit BIT of the call's fd_args, in eax; the owners in rdx): a
// negative number is left to the kernel (AT_FDCWD, EBADF); one past the table, or another domain's, is
// refused (6f). rbp is scratch.
#define FLEX_MPK_FD_CHECK(BIT, REG32)                                                                    \
  "test $" #BIT ", %%al\n\t"                                                                            \
  "jz 1f\n\t"                                                                                           \
  "mov %%" REG32 ", %%ebp\n\t"                                                                          \
  "test %%ebp, %%ebp\n\t"                                                                               \
  "js 1f\n\t"                                                                                           \
  "cmp $%c[maxfd], %%ebp\n\t"                                                                           \
  "jae 6f\n\t"                                                                                          \
  "movzbl (%%rdx,%%rbp), %%ebp\n\t"                                                                     \
  "test %%ebp, %%ebp\n\t"                                                                               \
  "jz 1f\n\t"                                                                                           \
  "cmp $%c[owner], %%ebp\n\t"                                                                           \
  "jne 6f\n\t"                                                                                          \
  "1:\n"                                                                                                \

// The refusal, reported from the runtime's own stack, never D's: r11 = nr, the arguments as the kernel
// would have had them (a2 in rbx).
#define FLEX_MPK_SYS_REFUSE(FN)                                                                          \
  "mov flex_mpk_runtime+%c[siglo](%%rip), %%rsp\n\t"                                                    \
  "add $%c[block], %%rsp\n\t"                                                                           \
  "push %%r9\n\t"                                                                                       \
  "push %%r8\n\t"                                                                                       \
  "mov %%r10, %%r9\n\t"                                                                                 \
  "mov %%rbx, %%r8\n\t"                                                                                 \
  "mov %%rsi, %%rcx\n\t"                                                                                \
  "mov %%rdi, %%rdx\n\t"                                                                                \
  "mov %%r11, %%rsi\n\t"                                                                                \
  "mov $%c[idx], %%edi\n\t"                                                                             \
  "call " FN "\n\t"                                                                                     \
  "ud2\n\t"                                                                                             \

// rdi = nr, rsi, rdx, rcx, r8, r9, 8(%rsp) = the six arguments (the System V call of a 7-word function).
#define FLEX_MPK_SYSGATE_BODY                                                                           \
  "mov flex_mpk_runtime+%c[sys](%%rip), %%rax\n\t"                                                      \
  "test %%rax, %%rax\n\t"                                                                               \
  "jz 2f\n\t"                                                                                           \
  "cmpb $0, 1(%%rax)\n\t"                                                                               \
  "je 2f\n\t"                                                                                           \
  "push %%rbx\n\t"                                                                                      \
  "push %%rbp\n\t"                                                                                      \
  "mov 24(%%rsp), %%rbp\n\t"                                                                            \
  "mov %%rcx, %%rbx\n\t"   /* a2, parked: WRPKRU needs rcx = rdx = 0 */                                 \
  "mov %%rdi, %%r11\n\t"   /* nr */                                                                     \
  "mov %%rsi, %%rdi\n\t"                                                                                \
  "mov %%rdx, %%rsi\n\t"                                                                                \
  "mov %%r8, %%r10\n\t"                                                                                 \
  "mov %%r9, %%r8\n\t"                                                                                  \
  "mov %%rbp, %%r9\n\t"                                                                                 \
  "movb $1, %P[mark](%%rip)\n\t"                                                                        \
  FLEX_MPK_SET_PKRU(FLEX_MPK_WRPKRU_HW, "$0")                                                           \
  "cmpb $1, %P[mark](%%rip)\n\t"                                                                        \
  "jne flex_mpk_sys_abort\n\t"                                                                          \
  "movb $0, %P[mark](%%rip)\n\t"                                                                        \
  "mov flex_mpk_runtime+%c[sys](%%rip), %%rcx\n\t"                                                      \
  "cmp $511, %%r11\n\t"                                                                                 \
  "ja 3f\n\t"                                                                                           \
  /* nr's bit in D's set: a byte load and a bit test in a register (bt on memory is microcoded) */      \
  "mov %%r11d, %%eax\n\t"                                                                               \
  "shr $3, %%eax\n\t"                                                                                   \
  "movzbl %c[set](%%rcx,%%rax), %%eax\n\t"                                                              \
  "mov %%r11d, %%edx\n\t"                                                                               \
  "and $7, %%edx\n\t"                                                                                   \
  "bt %%edx, %%eax\n\t"                                                                                 \
  "jnc 3f\n\t"                                                                                          \
  /* the descriptors it names must be D's or no domain's */                                             \
  "movzbl %c[fdargs](%%rcx,%%r11), %%eax\n\t"                                                           \
  "test $0x3f, %%al\n\t"                                                                                \
  "jz 5f\n\t"                                                                                           \
  "mov %c[fdowner](%%rcx), %%rdx\n\t"                                                                   \
  FLEX_MPK_FD_CHECK(1, "edi") FLEX_MPK_FD_CHECK(2, "esi") FLEX_MPK_FD_CHECK(4, "ebx")                   \
  FLEX_MPK_FD_CHECK(8, "r10d") FLEX_MPK_FD_CHECK(16, "r8d") FLEX_MPK_FD_CHECK(32, "r9d")                \
  "5:\n"                                                                                                \
  /* the call's fd_args bits, kept across it (the syscall keeps rbp; rax and r11 it does not) */       \
  "mov %%eax, %%ebp\n\t"                                                                                \
  FLEX_MPK_SYSCALL_AS_DOMAIN                                                                            \
  /* a new descriptor is D's (ebp = the call's fd_args bits, rbx = the result, rcx = the page) */     \
  "test $0x80, %%bpl\n\t"                                                                               \
  "jz 4f\n\t"                                                                                           \
  "cmp $%c[maxfd], %%rbx\n\t"                                                                           \
  "jae 4f\n\t"                                                                                          \
  "mov %c[fdowner](%%rcx), %%rdx\n\t"                                                                   \
  "movb $%c[owner], (%%rdx,%%rbx)\n\t"                                                                  \
  "4:\n"                                                                                                \
  /* a descriptor it closed is no domain's again (rdi: the first argument, kept across the call) */     \
  "test $0x40, %%bpl\n\t"                                                                               \
  "jz 4f\n\t"                                                                                           \
  "test %%rbx, %%rbx\n\t"                                                                               \
  "jnz 4f\n\t"                                                                                          \
  "mov %%edi, %%eax\n\t"                                                                                \
  "cmp $%c[maxfd], %%eax\n\t"                                                                           \
  "jae 4f\n\t"                                                                                          \
  "mov %c[fdowner](%%rcx), %%rdx\n\t"                                                                   \
  "movb $0, (%%rdx,%%rax)\n\t"                                                                          \
  "4:\n"                                                                                                \
  FLEX_MPK_SET_PKRU(FLEX_MPK_WRPKRU_HW, "%[p]")                                                         \
  "mov %%rbx, %%rax\n\t"                                                                                \
  "pop %%rbp\n\t"                                                                                       \
  "pop %%rbx\n\t"                                                                                       \
  "ret\n"                                                                                               \
  "2:\n\t" /* not armed: the plain call */                                                              \
  "mov %%rdi, %%rax\n\t"                                                                                \
  "mov %%rsi, %%rdi\n\t"                                                                                \
  "mov %%rdx, %%rsi\n\t"                                                                                \
  "mov %%rcx, %%rdx\n\t"                                                                                \
  "mov %%r8, %%r10\n\t"                                                                                 \
  "mov %%r9, %%r8\n\t"                                                                                  \
  "mov 8(%%rsp), %%r9\n\t"                                                                              \
  "syscall\n\t"                                                                                         \
  "ret\n"                                                                                               \
  "3:\n\t" /* outside D's set */                                                                     \
  FLEX_MPK_SYS_REFUSE("flex_mpk_sys_refused")                                                           \
  "6:\n\t" /* another domain's descriptor */                                                           \
  FLEX_MPK_SYS_REFUSE("flex_mpk_sys_refused_fd")

// Called by the runtime (its rights, its stack), same arguments: the call with D's rights.
#define FLEX_MPK_SYSDROP_BODY                                                                           \
  "push %%rbx\n\t"                                                                                      \
  "mov %%rcx, %%rbx\n\t"                                                                                \
  "mov %%rdi, %%r11\n\t"                                                                                \
  "mov %%rsi, %%rdi\n\t"                                                                                \
  "mov %%rdx, %%rsi\n\t"                                                                                \
  "mov %%r8, %%r10\n\t"                                                                                 \
  "mov %%r9, %%r8\n\t"                                                                                  \
  "mov 16(%%rsp), %%r9\n\t"                                                                             \
  "mov flex_mpk_runtime+%c[sys](%%rip), %%rcx\n\t"                                                      \
  FLEX_MPK_SYSCALL_AS_DOMAIN                                                                            \
  "mov %%rbx, %%rax\n\t"                                                                                \
  "pop %%rbx\n\t"                                                                                       \
  "ret\n\t"
// clang-format on

static_assert(backend<mpk_light<0, 0>>);
static_assert(backend<mpk_full<0, 0, 0>>);
}  // namespace flex::runtime
