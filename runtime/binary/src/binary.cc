// The loader and the call dispatch of unmodified programs (binary.h).
#include "flex/runtime/binary.h"

#include <asm/prctl.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <pthread.h>
#include <linux/sched.h>

#include <algorithm>
#include <charconv>
#include <atomic>
#include <cstddef>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <string_view>
#include <string>
#include <vector>

#include <flex/elf/elf.h>

#include "flex/runtime/fault.h"
#include "flex/runtime/mpk.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF 0
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000  // the kernel's: the handler returns through sa_restorer
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2  // si_code of the dispatch's SIGSYS
#endif
#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

// What the assembly below reads, per thread of the program: %gs points at its record while the program
// runs (x86-64 Linux programs leave %gs alone; the loader refuses ARCH_SET_GS), so the handler finds the
// thread's selector and both thread pointers without touching the program's %fs.
struct flex_bin_thread {
  volatile char selector;      // 0: SYSCALL_DISPATCH_FILTER_ALLOW, 1: BLOCK (this thread's dispatch reads it)
  char pad[7];
  std::uint64_t runtime_fs;    // 8: the runtime's thread block for this thread
  std::uint64_t program_fs;    // 16: the program's (its arch_prctl(ARCH_SET_FS) sets it)
  std::uint64_t saved_rsp;     // 24: the main thread's: where flex_bin_leave returns to
  std::uint64_t entry_rdx;     // 32: the main thread's rdx at the entry (a linked program's: its _dl_fini)
  std::uint64_t entry_rsp;     // 40: where the interpreter left the stack at the program's entry
  // 48: the program's signals that came while the runtime answered a bound call on this thread (bit
  // sig - 1), each with its siginfo in deferred_info; the call's way back hands them to the program.
  std::atomic<std::uint64_t> deferred;
  volatile bool mask_pending;  // 56: its first call's frame gets the program's mask (it starts with all but
                               // SIGSYS blocked); until then its bound calls go the way of the dispatch
  // A thread the program starts: its registers at the call (the child resumes with them), its mask.
  greg_t gregs[NGREG];
  std::uint64_t sigmask;
  unsigned long flags;
  std::uintptr_t child_tid;
  std::uintptr_t parent_tid;  // CLONE_PARENT_SETTID's: written by the thread itself, before it runs
  std::atomic<int> tid;
  bool main;
  siginfo_t deferred_info[64];
  // Beside mpk domains: the signal stack the program asked for on this thread (what its sigaltstack reads
  // back; the kernel's is the runtime's, key-0 memory, which every handler of the thread runs on).
  stack_t program_altstack{nullptr, SS_DISABLE, 0};
  void *runtime_altstack = nullptr;
};
static_assert(offsetof(flex_bin_thread, runtime_fs) == 8 && offsetof(flex_bin_thread, program_fs) == 16 &&
              offsetof(flex_bin_thread, saved_rsp) == 24 && offsetof(flex_bin_thread, entry_rdx) == 32 &&
              offsetof(flex_bin_thread, entry_rsp) == 40 && offsetof(flex_bin_thread, deferred) == 48 &&
              offsetof(flex_bin_thread, mask_pending) == 56);

extern "C" {
int flex_bin_enter(std::uintptr_t entry, std::uintptr_t sp, flex_bin_thread *t) __attribute__((visibility("hidden")));
[[noreturn]] void flex_bin_leave(int status, flex_bin_thread *t) __attribute__((visibility("hidden")));
[[noreturn]] void flex_bin_resume(const greg_t *gregs) __attribute__((visibility("hidden")));
extern char flex_bin_linked[] __attribute__((visibility("hidden")));
void flex_bin_sigsys(int, siginfo_t *, void *) __attribute__((visibility("hidden")));
void flex_bin_chain(int, siginfo_t *, void *) __attribute__((visibility("hidden")));
// Beside mpk domains, the image's switch to the program's rights (flex_bin_program_rights: a checked
// WRPKRU with the rights as an immediate, continuing at r11); null otherwise. Key-0 memory the program
// may rewrite: whatever it points at runs with the kernel's signal-time rights (key 0), no more.
[[gnu::visibility("hidden")]] extern void (*flex_bin_rights)();
extern char flex_bin_restorer[] __attribute__((visibility("hidden")));
extern char flex_bin_restorer_end[] __attribute__((visibility("hidden")));
long flex_bin_call_on(std::uintptr_t stack, long (*fn)(void *, long, const long *), void *a, long b, const long *c)
    __attribute__((visibility("hidden")));
}

// flex_bin_enter(entry, sp, t): keeps the runtime's callee-saved registers and stack pointer in the main
// thread's record t, points %gs at it, takes the program's %fs, blocks the program's calls and jumps to its
// entry on its stack, as execve leaves a process (rdx: t's entry_rdx, 0 for a fresh start: no function for
// atexit). flex_bin_leave(status, t) comes back from the handler at the program's end, as if flex_bin_enter
// returned status. flex_bin_linked: where a dynamic program's interpreter jumps when it is done (link()
// gives it as AT_ENTRY): keeps the rdx and stack pointer the program's entry gets, and comes back as
// flex_bin_leave(kLinked) does.
// flex_bin_resume(gregs): a thread the program started, on its own stack with the registers it had at the
// call and 0 for the call's result, with its %fs and its calls blocked (its record in %gs).
// flex_bin_sigsys: the SIGSYS handler. Allows the runtime's calls, takes the runtime's %fs, answers
// (flex_bin_serve), gives the program its %fs back and blocks its calls again before the return. The
// handler's signal return is flex_bin_restorer: the only instructions the dispatch lets through whatever
// the selector says. A SIGSYS that is not the dispatch's goes to the handler the runtime had before the
// program ran (flex_bin_chain): one that comes to a thread that is none of the program's (no record in
// %gs), one that comes while the runtime runs (the selector says ALLOW: a seccomp filter's, for a call
// the runtime made for the program, which the lockdown reports), and one someone sent. SIGSYS is the
// one signal the handler leaves unblocked, so the lockdown's can arrive in it.
asm(R"(
  .text
  .globl flex_bin_enter
  .hidden flex_bin_enter
  .type flex_bin_enter,@function
flex_bin_enter:
  push %rbp
  push %rbx
  push %r12
  push %r13
  push %r14
  push %r15
  mov %rsp, 24(%rdx)
  wrgsbase %rdx
  rdfsbase %rax
  mov %rax, 8(%rdx)
  mov 16(%rdx), %rax
  wrfsbase %rax
  mov %rsi, %rsp
  movb $1, %gs:0
  xor %eax, %eax
  xor %ebx, %ebx
  xor %ecx, %ecx
  xor %esi, %esi
  xor %ebp, %ebp
  xor %r8d, %r8d
  xor %r9d, %r9d
  xor %r10d, %r10d
  xor %r11d, %r11d
  xor %r12d, %r12d
  xor %r13d, %r13d
  xor %r14d, %r14d
  xor %r15d, %r15d
  mov 32(%rdx), %rdx
  jmp *%rdi
  .size flex_bin_enter, .-flex_bin_enter

  .globl flex_bin_linked
  .hidden flex_bin_linked
  .type flex_bin_linked,@function
flex_bin_linked:
  mov %rdx, %gs:32
  mov %rsp, %gs:40
  movb $0, %gs:0
  mov %gs:8, %rax
  wrfsbase %rax
  rdgsbase %rsi
  mov $0x100, %edi
  jmp flex_bin_leave
  .size flex_bin_linked, .-flex_bin_linked

  .globl flex_bin_leave
  .hidden flex_bin_leave
  .type flex_bin_leave,@function
flex_bin_leave:
  mov 24(%rsi), %rsp
  xor %eax, %eax
  wrgsbase %rax
  mov %edi, %eax
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbx
  pop %rbp
  ret
  .size flex_bin_leave, .-flex_bin_leave

  .globl flex_bin_resume
  .hidden flex_bin_resume
  .type flex_bin_resume,@function
flex_bin_resume:
  mov 120(%rdi), %rsp
  push 128(%rdi)
  mov %gs:16, %rax
  wrfsbase %rax
  movb $1, %gs:0
  mov 0(%rdi), %r8
  mov 8(%rdi), %r9
  mov 16(%rdi), %r10
  mov 24(%rdi), %r11
  mov 32(%rdi), %r12
  mov 40(%rdi), %r13
  mov 48(%rdi), %r14
  mov 56(%rdi), %r15
  mov 72(%rdi), %rsi
  mov 80(%rdi), %rbp
  mov 88(%rdi), %rbx
  mov 96(%rdi), %rdx
  mov 112(%rdi), %rcx
  xor %eax, %eax
  mov 64(%rdi), %rdi
  ret
  .size flex_bin_resume, .-flex_bin_resume

  # Beside mpk domains, the program's rights (the kernel enters a handler with key 0 only); rdi, rsi,
  # rdx, r11 kept.
  .macro flex_bin_take_rights
  mov flex_bin_rights(%rip), %rax
  test %rax, %rax
  jz 9f
  push %r11
  push %rdx
  lea 8f(%rip), %r11
  jmp *%rax
8:
  pop %rdx
  pop %r11
9:
  .endm

  # A signal handler's way into the runtime's state: on a thread of the program's in the program's
  # state, the selector to ALLOW and the runtime's %fs, \fn(sig, info, uc), then the program's state
  # back; on any other thread, or in the runtime's state already, a jump to \otherwise.
  .macro flex_bin_in_runtime_state fn, otherwise, rights
  rdgsbase %rax
  test %rax, %rax
  jz \otherwise
  cmpb $0, %gs:0
  je \otherwise
  movb $0, %gs:0
  mov %gs:8, %rax
  wrfsbase %rax
  .if \rights
  flex_bin_take_rights
  .endif
  sub $8, %rsp
  call \fn
  add $8, %rsp
  mov %gs:16, %rax
  wrfsbase %rax
  movb $1, %gs:0
  ret
  .endm

  .globl flex_bin_sigsys
  .hidden flex_bin_sigsys
  .type flex_bin_sigsys,@function
flex_bin_sigsys:
  flex_bin_in_runtime_state flex_bin_serve, flex_bin_chain, 1
  .size flex_bin_sigsys, .-flex_bin_sigsys

  .globl flex_bin_call_on
  .hidden flex_bin_call_on
  .type flex_bin_call_on,@function
flex_bin_call_on:             # (stack, fn, a, b, c): fn(a, b, c) on `stack` (16-byte aligned)
  push %rbp
  mov %rsp, %rbp
  mov %rdi, %rsp
  mov %rsi, %rax
  mov %rdx, %rdi
  mov %rcx, %rsi
  mov %r8, %rdx
  call *%rax
  mov %rbp, %rsp
  pop %rbp
  ret
  .size flex_bin_call_on, .-flex_bin_call_on

  .globl flex_bin_restorer
  .hidden flex_bin_restorer
  .globl flex_bin_restorer_end
  .hidden flex_bin_restorer_end
  .type flex_bin_restorer,@function
flex_bin_restorer:
  mov $15, %eax
  syscall
  ud2
flex_bin_restorer_end:
  .size flex_bin_restorer, .-flex_bin_restorer
)");
// Bound calls. The calls a program makes most (reads, writes, readiness waits, socket calls) reach the
// runtime without a signal: at link time the loader points each GOT slot through which the program or one
// of its libraries calls one of these C library functions at a stub of its own (bind_imports), which
// enters the runtime as the handler does (selector ALLOW, the runtime's %fs), calls the dispatcher, comes
// back, and sets the program's errno through its own C library's __errno_location, as the wrapper would.
// Each function here is one system call with the wrapper's arguments in the same order in glibc on
// x86-64, so the dispatcher sees exactly the call the wrapper would have made (send and recv: sendto and
// recvfrom with no address). What the bound calls leave out is the wrappers' cancellation point. Calls
// made inside the C library (printf's write) and every other call still come by the dispatch's signal,
// which stays the net under everything: a call is caught either way, the binding only makes it cheaper
// (binary-bench: imported_getppid beside caught_getppid).
//
// A program's signal that comes while the runtime answers a bound call must not run the program's handler
// in the runtime's state (its %fs, the selector at ALLOW), and blocking signals around each call would
// cost two system calls. So the program's handlers are installed behind flex_bin_signal: in the program's
// state it jumps to the program's handler; while the runtime answers (the thread's selector says ALLOW) it
// keeps the signal in the thread's record (flex_bin_defer) and returns. The call's way back, once in the
// program's state again, sees it and makes one caught call (kRequeue) whose handler, with every signal
// blocked, queues it again to the thread; the signal return unblocks it, into the program's handler. A
// fault of the runtime's own code while it answers goes to the runtime's handler (the image's report).
//
// The stubs and the table kBound are made from one list: name, number, and `_zero` for a function whose
// last two arguments the call gets as zeros.
#define FLEX_BIN_BOUND(X)                                                                                  \
  X(read, 0, ) X(write, 1, ) X(close, 3, ) X(lseek, 8, ) X(lseek64, 8, ) X(pread, 17, ) X(pread64, 17, )   \
  X(pwrite, 18, ) X(pwrite64, 18, ) X(readv, 19, ) X(writev, 20, ) X(dup, 32, ) X(dup2, 33, )             \
  X(getpid, 39, ) X(socket, 41, ) X(connect, 42, ) X(accept, 43, ) X(sendto, 44, ) X(send, 44, _zero)    \
  X(recvfrom, 45, ) X(recv, 45, _zero) X(sendmsg, 46, ) X(recvmsg, 47, ) X(shutdown, 48, ) X(bind, 49, ) \
  X(listen, 50, ) X(getsockname, 51, ) X(getpeername, 52, ) X(setsockopt, 54, ) X(getsockopt, 55, )     \
  X(fsync, 74, ) X(fdatasync, 75, ) X(ftruncate, 77, ) X(ftruncate64, 77, ) X(getppid, 110, )           \
  X(epoll_wait, 232, ) X(epoll_ctl, 233, ) X(accept4, 288, )
#define FLEX_BIN_STUB(name, nr, zero) \
  "  .balign 16\n"                    \
  "  mov $" #nr ", %eax\n"            \
  "  jmp flex_bin_fast" #zero "\n"

constexpr long kRequeue = 0x464c0001;  // the caught call that hands deferred signals to the program

extern "C" {
extern char flex_bin_bound_stubs[] __attribute__((visibility("hidden")));
extern char flex_bin_bound_stubs_end[] __attribute__((visibility("hidden")));
void flex_bin_signal(int, siginfo_t *, void *) __attribute__((visibility("hidden")));
void flex_bin_runtime_signal(int, siginfo_t *, void *) __attribute__((visibility("hidden")));
// The program's handler of each signal whose action flex_bin_signal stands for (index sig - 1), and its
// C library's __errno_location.
[[gnu::visibility("hidden")]] void *flex_bin_handlers[64];
[[gnu::visibility("hidden")]] void *flex_bin_errno_location;
}

// flex_bin_fast: the stubs' common path (eax: the number; the function's arguments in rdi, rsi, rdx, rcx,
// r8, r9). On a thread that is not in the program's state (no record, the selector at ALLOW) or whose mask
// is not set yet, it makes the system call itself, which the dispatch catches as any other. Otherwise it
// allows the runtime's calls, takes its %fs, calls flex_bin_fast_serve(nr, args) on the program's stack,
// gives the program its %fs back and blocks its calls again; then hands deferred signals over (kRequeue),
// and turns a negative result into -1 and errno.
// flex_bin_signal: the kernel's action for each program handler (its flags, mask and restorer are the
// program's): the program's handler in the program's state, flex_bin_defer while the runtime runs.
// flex_bin_runtime_signal: the kernel's action for each handler of the runtime's while the program runs
// (the image's fault report, its termination handler): in the program's state it enters the runtime's
// first (the selector at ALLOW, the runtime's %fs), as the dispatch's handler does, so the runtime's
// handler runs on its own thread block and its system calls are its own, not the program's, and gives the
// program its state back if the handler returns; in the runtime's state it calls the handler as it is.
asm(R"(
  .text
  .globl flex_bin_fast_zero
  .hidden flex_bin_fast_zero
  .type flex_bin_fast_zero,@function
flex_bin_fast_zero:
  xor %r8d, %r8d
  xor %r9d, %r9d
  .size flex_bin_fast_zero, .-flex_bin_fast_zero
  .globl flex_bin_fast
  .hidden flex_bin_fast
  .type flex_bin_fast,@function
flex_bin_fast:
  push %rbx
  sub $48, %rsp
  rdgsbase %r11
  test %r11, %r11
  jz 4f
  cmpb $0, 56(%r11)
  jne 4f
  cmpb $1, (%r11)
  jne 4f
  mov %rdi, 0(%rsp)
  mov %rsi, 8(%rsp)
  mov %rdx, 16(%rsp)
  mov %rcx, 24(%rsp)
  mov %r8, 32(%rsp)
  mov %r9, 40(%rsp)
  movb $0, (%r11)
  mov 8(%r11), %rcx
  wrfsbase %rcx
  mov %eax, %edi
  mov %rsp, %rsi
  call flex_bin_fast_serve
  mov %rax, %rbx
  rdgsbase %r11
  mov 16(%r11), %rcx
  wrfsbase %rcx
  movb $1, (%r11)
  cmpq $0, 48(%r11)
  jne 3f
1:
  mov %rbx, %rax
  cmp $-4095, %rax
  jae 2f
  add $48, %rsp
  pop %rbx
  ret
2:
  neg %ebx
  call *flex_bin_errno_location(%rip)
  mov %ebx, (%rax)
  mov $-1, %rax
  add $48, %rsp
  pop %rbx
  ret
3:
  mov %rbx, %rdi
  mov $0x464c0001, %eax
  syscall
  mov %rax, %rbx
  jmp 1b
4:
  mov %rcx, %r10
  syscall
  mov %rax, %rbx
  jmp 1b
  .size flex_bin_fast, .-flex_bin_fast

  .globl flex_bin_signal
  .hidden flex_bin_signal
  .type flex_bin_signal,@function
flex_bin_signal:
  rdgsbase %rax
  test %rax, %rax
  jz 1f
  cmpb $0, (%rax)
  je flex_bin_defer
1:
  flex_bin_take_rights
  lea flex_bin_handlers(%rip), %rax
  jmp *-8(%rax,%rdi,8)
  .size flex_bin_signal, .-flex_bin_signal

  .globl flex_bin_runtime_signal
  .hidden flex_bin_runtime_signal
  .type flex_bin_runtime_signal,@function
flex_bin_runtime_signal:
  flex_bin_in_runtime_state flex_bin_runtime_handler, flex_bin_runtime_handler, 0
  .size flex_bin_runtime_signal, .-flex_bin_runtime_signal

  .balign 16
  .globl flex_bin_bound_stubs
  .hidden flex_bin_bound_stubs
flex_bin_bound_stubs:
)" FLEX_BIN_BOUND(FLEX_BIN_STUB) R"(
  .balign 16
  .globl flex_bin_bound_stubs_end
  .hidden flex_bin_bound_stubs_end
flex_bin_bound_stubs_end:
)");

void (*flex_bin_rights)() = nullptr;

static_assert(REG_R8 == 0 && REG_RDI == 8 && REG_RSI == 9 && REG_RBP == 10 && REG_RBX == 11 && REG_RDX == 12 &&
              REG_RCX == 14 && REG_RSP == 15 && REG_RIP == 16);

namespace flex::runtime::binary {
namespace {

constexpr std::uintptr_t kPage = 4096;
constexpr std::size_t kStackBytes = std::size_t{8} << 20;
constexpr std::size_t kBrkBytes = std::size_t{1} << 30;  // reserved at load, made accessible as brk grows
// Beside mpk domains, each thread's signal stack: key-0 memory, the only memory both the kernel's signal-time
// rights and every domain's open, so a signal that comes while a domain runs finds a stack it can use (the
// handlers then take the program's rights, or touch key-0 memory only). The frames on it are every
// domain's to read and rewrite: nothing defends a signal frame's PKRU here (README, attack_mpk_binary).
// The answers to the program's calls run on its domain's stack (answer).
constexpr std::size_t kAltStackBytes = std::size_t{256} << 10;

std::uintptr_t page_down(std::uintptr_t a) {
  return a & ~(kPage - 1);
}
std::uintptr_t page_up(std::uintptr_t a) {
  return (a + kPage - 1) & ~(kPage - 1);
}
std::string hex(std::uint64_t v) {
  char b[20];
  return "0x" + std::string(b, std::to_chars(b, b + sizeof b, v, 16).ptr);
}

struct region {
  std::uintptr_t lo = 0, hi = 0;
};

struct loaded {
  std::uintptr_t base = 0;  // what the file's addresses are moved by (0 for a fixed-address executable)
  std::uintptr_t entry = 0;
  std::uintptr_t phdr = 0;
  unsigned phnum = 0;
  region map;
  std::string interp;
};

// What the handler needs while the program runs.
struct run_state {
  dispatch_fn dispatch = nullptr;
  void *ctx = nullptr;
  region brk_reserved;
  std::uintptr_t brk_cur = 0, brk_mapped = 0;
  std::atomic<bool> threads_started{false};
  bool linking = false;  // the interpreter runs to the entry (link): no thread may start yet
  bool forks = false;    // program::forks
  void (*announce)(long nr) = nullptr;  // program::announce
  bool forked = false;   // this process is a child the program forked
  // The signals the SIGSYS handler lets through: those whose action is not one of the program's handlers
  // (flex_bin_signal), so a default action (SIGTERM's: the end) or a handler of the runtime's happens even
  // while the runtime answers a call that blocks, as it would in the kernel.
  std::uint64_t through = 0;
  // Beside mpk domains: the key of the program's domain (-1: none), program::pkey.
  int pkey = -1;
};
run_state g;

flex_bin_thread *self() {
  flex_bin_thread *t;
  asm volatile("rdgsbase %0" : "=r"(t));
  return t;
}

long arm_dispatch(flex_bin_thread *t) {
  return ::prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, reinterpret_cast<unsigned long>(flex_bin_restorer),
                 static_cast<unsigned long>(flex_bin_restorer_end - flex_bin_restorer),
                 reinterpret_cast<unsigned long>(&t->selector));
}

int prot_of(std::uint32_t flags) {
  return ((flags & PF_R) ? PROT_READ : 0) | ((flags & PF_W) ? PROT_WRITE : 0) | ((flags & PF_X) ? PROT_EXEC : 0);
}

// Maps the file's loadable segments (copies of its bytes: the program may write its data, never the file)
// with their protections; a page two segments share gets both.
status map_file(const std::string &path, bool interp, loaded &out, int pkey) {
  std::string err;
  auto f = flex::elf::file::open(path, &err);
  if (!f) return status::error(path + ": " + err);
  if (std::string why = flex::elf::program_problem(*f, interp); !why.empty()) return status::error(path + ": " + why);
  Elf64_Ehdr eh;
  std::memcpy(&eh, f->image().data(), sizeof eh);
  std::uintptr_t lo = ~std::uintptr_t{0}, hi = 0;
  for (const flex::elf::segment &s : f->segments()) {
    if (s.type != PT_LOAD) continue;
    lo = std::min(lo, page_down(s.vaddr));
    hi = std::max(hi, page_up(s.vaddr + s.memsz));
  }
  const bool fixed = f->type() == flex::elf::file_type::executable;
  void *at = ::mmap(fixed ? reinterpret_cast<void *>(lo) : nullptr, hi - lo, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | (fixed ? MAP_FIXED_NOREPLACE : 0), -1, 0);
  if (at == MAP_FAILED || (fixed && reinterpret_cast<std::uintptr_t>(at) != lo)) {
    if (at != MAP_FAILED) ::munmap(at, hi - lo);
    return status::error(path + ": cannot map its segments at " + hex(lo) + " (" + std::to_string(hi - lo) +
                         " bytes): " + (fixed ? "that range is taken in this process" : std::strerror(errno)));
  }
  out.base = reinterpret_cast<std::uintptr_t>(at) - lo;
  out.map = {reinterpret_cast<std::uintptr_t>(at), reinterpret_cast<std::uintptr_t>(at) + (hi - lo)};
  if (::mprotect(at, hi - lo, PROT_READ | PROT_WRITE) != 0) return status::from_errno(path + ": mprotect", errno);
  std::map<std::uintptr_t, int> prot;  // per page
  for (const flex::elf::segment &s : f->segments()) {
    if (s.type == PT_LOAD) {
      auto bytes = f->bytes(s);
      std::memcpy(reinterpret_cast<void *>(out.base + s.vaddr), bytes->data(), s.filesz);
      for (std::uintptr_t p = page_down(s.vaddr); p < page_up(s.vaddr + s.memsz); p += kPage) prot[p] |= prot_of(s.flags);
    } else if (s.type == PT_PHDR) {
      out.phdr = out.base + s.vaddr;
    }
  }
  const std::optional<std::string> interp_name = flex::elf::interpreter(*f);
  if (!interp_name) return status::error(path + ": its interpreter's name lies outside the file");
  out.interp = *interp_name;
  // One mprotect per run of pages with the same protection.
  for (auto run = prot.begin(); run != prot.end();) {
    auto end = std::next(run);
    while (end != prot.end() && end->first == std::prev(end)->first + kPage && end->second == run->second) ++end;
    const std::uintptr_t bytes = std::prev(end)->first + kPage - run->first;
    // pkey_mprotect with key -1 is mprotect.
    if (::pkey_mprotect(reinterpret_cast<void *>(out.base + run->first), bytes, run->second, pkey) != 0) {
      return status::from_errno(path + (pkey >= 0 ? ": pkey_mprotect" : ": mprotect"), errno);
    }
    run = end;
  }
  if (!out.phdr) out.phdr = out.base + lo + eh.e_phoff;  // the first segment maps the headers
  out.phnum = eh.e_phnum;
  out.entry = out.base + eh.e_entry;
  return {};
}

// The kernel's struct sigaction on x86-64.
struct kernel_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  std::uint64_t mask;
};

// The SIGSYS action the runtime had before the program ran: every SIGSYS that is not the dispatch's goes
// there (the lockdown's filter reports a refused call through it).
kernel_sigaction g_runtime_sigsys{};
// Every action the runtime had (a fault of its own code while it answers a bound call goes to its handler),
// and each the program asked for, as it asked (an SA_RESETHAND one is put back when its signal was
// deferred: the kernel reset it on the way to flex_bin_defer, not to the program's handler).
kernel_sigaction g_runtime_actions[64] = {};
kernel_sigaction g_program_actions[64] = {};

// How the program's calls came, counted since the process started; and those nothing in the image
// serves (answered -ENOSYS), by number.
std::atomic<std::uint64_t> g_bound_calls{0}, g_caught_calls{0};
constexpr long kCountedNumbers = 512;
std::atomic<std::uint32_t> g_unanswered[kCountedNumbers];
long note_unanswered(long nr, long ret) {
  if (ret == -ENOSYS && nr >= 0 && nr < kCountedNumbers) g_unanswered[nr].fetch_add(1, std::memory_order_relaxed);
  return ret;
}

// The program of this process, mapped with its stack and heap and its initial stack built (stage), and,
// for a dynamic one that link() ran, its libraries linked: run() starts it from here.
struct staged {
  std::string path;
  std::vector<std::string> argv;
  loaded prog, interp;
  region stack, brk;
  region pool;                    // beside mpk domains: its fresh memory's pool (pool_mmap)
  std::uintptr_t sp = 0;          // the stack pointer its first instruction gets
  std::uintptr_t entry = 0;       // its first instruction: the interpreter's, or (linked) the program's
  std::uintptr_t entry_slot = 0;  // AT_ENTRY's value on the stack
  flex_bin_thread main{};         // the main thread's record (a linked program's %fs, its entry rdx)
  bool linked = false;
  kernel_sigaction actions[64] = {};  // a linked program's handlers (its initialisers may install some)
  int pkey = -1;                      // program::pkey
};
staged g_staged;
// The ranges the program's own mappings were made in, up to the end of link (memory_ranges).
std::vector<region> g_program_ranges;
// Beside mpk domains, the free pages of the program's pool (g_staged.pool; pool_mmap), lo -> hi, merged.
constexpr std::size_t kPoolBytes = std::size_t{64} << 30;
struct pool_state {
  std::atomic_flag lock = ATOMIC_FLAG_INIT;
  std::map<std::uintptr_t, std::uintptr_t> free;
};
pool_state g_pool;

// Maps `path` and its interpreter into prog and interp, tagged with `pkey` (-1: untagged).
status map_program(const std::string &path, loaded &prog, loaded &interp, int pkey) {
  if (status s = map_file(path, false, prog, pkey); !s.ok()) return s;
  if (!prog.interp.empty()) {
    if (status s = map_file(prog.interp, true, interp, pkey); !s.ok()) {
      ::munmap(reinterpret_cast<void *>(prog.map.lo), prog.map.hi - prog.map.lo);
      return status::error(path + ": its interpreter: " + s.message());
    }
  }
  return {};
}

// The initial stack as execve leaves it: argc, argv, envp, the auxiliary vector, then the strings. The
// process's vDSO is the program's too (AT_SYSINFO_EHDR): its clocks (clock_gettime, gettimeofday, time,
// getcpu) answer without a system call, reading the host's clock as the libOS time library does, where a
// caught call would cost a signal (Redis reads the clock on every command).
std::uintptr_t build_stack(region stack, const program &p, const loaded &prog, const loaded *interp,
                           std::uintptr_t at_entry, std::uintptr_t *entry_slot) {
  auto top = stack.hi;
  auto put = [&](const void *bytes, std::size_t n) {
    top -= n;
    std::memcpy(reinterpret_cast<void *>(top), bytes, n);
    return top;
  };
  auto put_str = [&](const std::string &s) { return put(s.c_str(), s.size() + 1); };
  const std::uintptr_t execfn = put_str(p.path);
  const std::uintptr_t platform = put_str("x86_64");
  std::vector<std::uintptr_t> argv, env;
  for (const std::string &a : p.argv) argv.push_back(put_str(a));
  for (const std::string &e : p.env) env.push_back(put_str(e));
  unsigned char random[16];
  if (::getrandom(random, sizeof random, 0) != sizeof random) std::memset(random, 0x5a, sizeof random);
  const std::uintptr_t rnd = put(random, sizeof random);
  std::vector<std::uint64_t> w;
  w.push_back(argv.size());
  w.insert(w.end(), argv.begin(), argv.end());
  w.push_back(0);
  w.insert(w.end(), env.begin(), env.end());
  w.push_back(0);
  auto aux = [&](std::uint64_t k, std::uint64_t v) {
    w.push_back(k);
    w.push_back(v);
  };
  aux(AT_PHDR, prog.phdr);
  aux(AT_PHENT, sizeof(Elf64_Phdr));
  aux(AT_PHNUM, prog.phnum);
  aux(AT_PAGESZ, kPage);
  aux(AT_BASE, interp ? interp->base : 0);
  aux(AT_FLAGS, 0);
  const std::size_t slot = w.size() + 1;
  aux(AT_ENTRY, at_entry);
  aux(AT_UID, ::getuid());
  aux(AT_EUID, ::geteuid());
  aux(AT_GID, ::getgid());
  aux(AT_EGID, ::getegid());
  aux(AT_SECURE, 0);
  aux(AT_RANDOM, rnd);
  aux(AT_HWCAP, ::getauxval(AT_HWCAP));
  aux(AT_HWCAP2, ::getauxval(AT_HWCAP2));
  aux(AT_CLKTCK, static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK)));
  aux(AT_PLATFORM, platform);
  aux(AT_EXECFN, execfn);
  if (unsigned long m = ::getauxval(AT_MINSIGSTKSZ)) aux(AT_MINSIGSTKSZ, m);
  if (unsigned long vdso = ::getauxval(AT_SYSINFO_EHDR)) aux(AT_SYSINFO_EHDR, vdso);
  aux(AT_NULL, 0);
  const std::uintptr_t sp = (top - w.size() * 8) & ~std::uintptr_t{15};
  std::memcpy(reinterpret_cast<void *>(sp), w.data(), w.size() * 8);
  *entry_slot = sp + slot * 8;
  return sp;
}

// brk within the region reserved for it: the program's heap never meets the image's (the kernel's brk).
long serve_brk(std::uintptr_t want) {
  if (want < g.brk_reserved.lo || want > g.brk_reserved.hi) return static_cast<long>(g.brk_cur);
  const std::uintptr_t need = page_up(want);
  if (need > g.brk_mapped) {
    if (::mprotect(reinterpret_cast<void *>(g.brk_mapped), need - g.brk_mapped, PROT_READ | PROT_WRITE) != 0) {
      return static_cast<long>(g.brk_cur);
    }
    g.brk_mapped = need;
  }
  g.brk_cur = want;
  return static_cast<long>(want);
}

constexpr std::uint64_t kSigsysBit = std::uint64_t{1} << (SIGSYS - 1);


// The kernel's action for a handler of the program's: flex_bin_signal, always with SA_SIGINFO (the kernel
// fills the siginfo a deferred signal is queued again with only then; a handler that takes one argument
// ignores the other two).
void behind_flex_bin_signal(kernel_sigaction &act) {
  act.handler = reinterpret_cast<void *>(&flex_bin_signal);
  act.flags |= SA_SIGINFO;
  if (g.pkey >= 0) act.flags |= SA_ONSTACK;  // the runtime's signal stack (kAltStackBytes)
}

// The dispatch's SIGSYS handler, which blocks the program's handled signals (flex_bin_signal would only
// defer them) and lets the others through (g.through).
// Beside mpk domains it runs on the thread's signal stack too (a signal that comes while a call it answers
// runs on another stack lands below its frames there: on_domain_stack).
long install_sigsys() {
  const kernel_sigaction act{reinterpret_cast<void *>(&flex_bin_sigsys),
                             static_cast<unsigned long>(SA_SIGINFO | SA_RESTORER | SA_NODEFER | (g.pkey >= 0 ? SA_ONSTACK : 0)),
                             reinterpret_cast<void *>(flex_bin_restorer), ~kSigsysBit & ~g.through};
  return ::syscall(SYS_rt_sigaction, SIGSYS, &act, nullptr, 8);
}

// A handler for anything but SIGSYS, whose mask may not hold SIGSYS (the dispatch's signal must always
// get through: a blocked one would end the process). A handler of the program's is installed behind
// flex_bin_signal; the program reads back what it installed.
long serve_sigaction(const long a[6]) {
  const int sig = static_cast<int>(a[0]);
  if (sig == SIGSYS) return -EINVAL;
  if (sig < 1 || sig > 64 || a[3] != 8) return -EINVAL;
  kernel_sigaction old;
  if (::syscall(SYS_rt_sigaction, sig, nullptr, &old, 8) != 0) return -errno;
  if (old.handler == reinterpret_cast<void *>(&flex_bin_signal) ||
      old.handler == reinterpret_cast<void *>(&flex_bin_runtime_signal)) {
    old = g_program_actions[sig - 1];  // what the program installed; the runtime's own handlers are not its
  }
  if (const auto *in = reinterpret_cast<const kernel_sigaction *>(a[1])) {
    kernel_sigaction act;
    std::memcpy(&act, in, sizeof act);
    act.mask &= ~kSigsysBit;
    if (sig == SIGKILL || sig == SIGSTOP) return -EINVAL;
    g_program_actions[sig - 1] = act;
    if (act.handler != reinterpret_cast<void *>(SIG_DFL) && act.handler != reinterpret_cast<void *>(SIG_IGN)) {
      flex_bin_handlers[sig - 1] = act.handler;
      behind_flex_bin_signal(act);
    }
    if (::syscall(SYS_rt_sigaction, sig, &act, nullptr, 8) != 0) return -errno;
    const std::uint64_t bit = std::uint64_t{1} << (sig - 1);
    const std::uint64_t through =
        act.handler == reinterpret_cast<void *>(&flex_bin_signal) ? g.through & ~bit : g.through | bit;
    if (through != g.through) {
      g.through = through;
      install_sigsys();
    }
  }
  if (a[2]) std::memcpy(reinterpret_cast<void *>(a[2]), &old, sizeof old);
  return 0;
}

// The signals deferred while the runtime answered the thread's bound calls, queued to the thread again
// (with their siginfo) from the handler, where every signal is blocked: its return unblocks them.
void requeue_deferred(flex_bin_thread *t) {
  const std::uint64_t bits = t->deferred.exchange(0);
  const long pid = ::getpid(), tid = ::syscall(SYS_gettid);
  for (int sig = 1; sig <= 64; ++sig) {
    if (!(bits & (std::uint64_t{1} << (sig - 1)))) continue;
    kernel_sigaction act = g_program_actions[sig - 1];
    if ((act.flags & SA_RESETHAND) && act.handler != reinterpret_cast<void *>(SIG_DFL) &&
        act.handler != reinterpret_cast<void *>(SIG_IGN)) {
      behind_flex_bin_signal(act);
      ::syscall(SYS_rt_sigaction, sig, &act, nullptr, 8);
    }
    siginfo_t info = t->deferred_info[sig - 1];
    if (::syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, &info) != 0) ::syscall(SYS_tgkill, pid, tid, sig);
  }
}

// The program's mask is the one its frame carries (what the return restores), without SIGSYS.
long serve_sigprocmask(const long a[6], ucontext_t *uc) {
  if (a[3] != 8) return -EINVAL;
  std::uint64_t cur;
  std::memcpy(&cur, &uc->uc_sigmask, sizeof cur);
  if (a[2]) std::memcpy(reinterpret_cast<void *>(a[2]), &cur, sizeof cur);
  if (!a[1]) return 0;
  std::uint64_t set;
  std::memcpy(&set, reinterpret_cast<const void *>(a[1]), sizeof set);
  switch (a[0]) {
    case SIG_BLOCK: cur |= set; break;
    case SIG_UNBLOCK: cur &= ~set; break;
    case SIG_SETMASK: cur = set; break;
    default: return -EINVAL;
  }
  cur &= ~(kSigsysBit | (std::uint64_t{1} << (SIGKILL - 1)) | (std::uint64_t{1} << (SIGSTOP - 1)));
  std::memcpy(&uc->uc_sigmask, &cur, sizeof cur);
  return 0;
}

long serve_arch_prctl(const long a[6]) {
  switch (a[0]) {
    case ARCH_SET_FS: self()->program_fs = static_cast<std::uint64_t>(a[1]); return 0;
    case ARCH_GET_FS: std::memcpy(reinterpret_cast<void *>(a[1]), &self()->program_fs, 8); return 0;
    default: return -EINVAL;
  }
}


// Beside mpk domains: the thread's signal stack (kAltStackBytes of key-0 memory, the thread's for its
// life), installed in the kernel; 0 or -1 with errno.
int give_signal_stack(flex_bin_thread *t) {
  if (!t->runtime_altstack) {
    void *m = ::mmap(nullptr, kAltStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) return -1;
    t->runtime_altstack = m;
  }
  stack_t ss{};
  ss.ss_sp = t->runtime_altstack;
  ss.ss_size = kAltStackBytes;
  return ::sigaltstack(&ss, nullptr);
}

// Beside mpk domains the program's sigaltstack is the thread's record, not the kernel's: its handlers run on
// the runtime's signal stack (give_signal_stack), and it reads back what it set.
long serve_sigaltstack(const long a[6]) {
  flex_bin_thread *t = self();
  if (a[1]) std::memcpy(reinterpret_cast<void *>(a[1]), &t->program_altstack, sizeof(stack_t));
  if (a[0]) {
    stack_t ss;
    std::memcpy(&ss, reinterpret_cast<const void *>(a[0]), sizeof ss);
    constexpr int kAutoDisarm = 1 << 31;  // SS_AUTODISARM; SS_ONSTACK is taken as 0, as the kernel does
    if (ss.ss_flags & ~(SS_DISABLE | SS_ONSTACK | kAutoDisarm)) return -EINVAL;
    if (!(ss.ss_flags & SS_DISABLE) && ss.ss_size < static_cast<std::size_t>(MINSIGSTKSZ)) return -ENOMEM;
    ss.ss_flags &= ~SS_ONSTACK;
    t->program_altstack = (ss.ss_flags & SS_DISABLE) ? stack_t{nullptr, SS_DISABLE, 0} : ss;
  }
  return 0;
}

// A thread the program starts, as a thread of the runtime's (its own thread block, for the handler's
// code) that takes the program's registers, stack and %fs: it arms its own dispatch, reports its tid and
// resumes where the program's clone returns 0. It starts with every signal but SIGSYS blocked; its first
// call's frame gets the program's mask (mask_pending), so no handler of the program ever runs in the
// runtime's state.
void *thread_start(void *arg) {
  auto *t = static_cast<flex_bin_thread *>(arg);
  std::uint64_t fs;
  asm volatile("rdfsbase %0" : "=r"(fs));
  t->runtime_fs = fs;
  t->selector = 0;
  if ((g.pkey >= 0 && give_signal_stack(t) != 0) || arm_dispatch(t) != 0) {
    t->tid.store(-errno);
    return nullptr;
  }
  if (t->flags & CLONE_CHILD_CLEARTID) ::syscall(SYS_set_tid_address, t->child_tid);
  const int tid = static_cast<int>(::syscall(SYS_gettid));
  if ((t->flags & CLONE_CHILD_SETTID) && t->child_tid) std::memcpy(reinterpret_cast<void *>(t->child_tid), &tid, 4);
  // As the kernel's clone does, before the thread runs a single instruction of the program's: written by
  // the parent after it, the tid could land after a short-lived thread's exit has cleared it (CLONE_CHILD_
  // CLEARTID), and pthread_join would wait for ever.
  if ((t->flags & CLONE_PARENT_SETTID) && t->parent_tid) std::memcpy(reinterpret_cast<void *>(t->parent_tid), &tid, 4);
  sigset_t all_but_sigsys;
  sigfillset(&all_but_sigsys);
  sigdelset(&all_but_sigsys, SIGSYS);
  ::pthread_sigmask(SIG_SETMASK, &all_but_sigsys, nullptr);
  t->mask_pending = true;
  asm volatile("wrgsbase %0" : : "r"(t) : "memory");
  const greg_t *regs = t->gregs;
  t->tid.store(tid);  // the parent returns now; t stays this thread's
  flex_bin_resume(regs);
}

// The program's fork: the runtime's own, from the handler, so the C library's atfork handlers of the
// runtime and the libOS libraries run (each rebuilds in the child the kernel state it must not share with
// the parent, as sched's private readiness set). The child is this whole process copied, the libOS with
// the program, and returns 0 into the program; its dispatch, which the kernel does not carry over a fork,
// is armed again first. The child has only the thread that forked, as on Linux: the C library's fork
// takes its own locks across it, and each libOS library that other threads may hold a lock of takes it too
// (atfork handlers: posix's descriptor table).
long serve_fork(unsigned long flags, std::uintptr_t ptid, std::uintptr_t ctid) {
  if (!g.forks) return -ENOSYS;
  if (g.linking) return -EAGAIN;
  std::fflush(stdout);  // what the runtime's standard output holds is written once, by the parent
  const pid_t pid = ::fork();
  if (pid < 0) return -errno;
  if (pid > 0) {
    if (flags & CLONE_PARENT_SETTID) *reinterpret_cast<pid_t *>(ptid) = pid;
    return pid;
  }
  if (arm_dispatch(self()) != 0) {
    static constexpr char kWhy[] = "flex: the forked child cannot arm its system-call dispatch; it ends\n";
    ::write(STDERR_FILENO, kWhy, sizeof kWhy - 1);
    ::syscall(SYS_exit_group, 127);
  }
  g.forked = true;
  if (flags & CLONE_CHILD_SETTID) *reinterpret_cast<pid_t *>(ctid) = static_cast<pid_t>(::syscall(SYS_gettid));
  return 0;
}

// clone and clone3: a thread (CLONE_VM | CLONE_THREAD and the rest of what pthread_create asks) is
// started as above; glibc's fork (a clone with SIGCHLD, no stack and nothing shared) is serve_fork's;
// anything else (vfork's shared memory, namespaces, pidfds) is -ENOSYS.
long serve_clone(long nr, const long a[6], const ucontext_t *uc) {
  unsigned long flags = 0;
  std::uintptr_t stack = 0, ptid = 0, ctid = 0, tls = 0;
  if (nr == SYS_clone) {
    flags = static_cast<unsigned long>(a[0]);
    stack = static_cast<std::uintptr_t>(a[1]);
    ptid = static_cast<std::uintptr_t>(a[2]);
    ctid = static_cast<std::uintptr_t>(a[3]);
    tls = static_cast<std::uintptr_t>(a[4]);
  } else {
    clone_args ca{};
    const auto size = static_cast<std::size_t>(a[1]);
    if (size < CLONE_ARGS_SIZE_VER0) return -EINVAL;
    std::memcpy(&ca, reinterpret_cast<const void *>(a[0]), std::min(size, sizeof ca));
    if (ca.set_tid || ca.cgroup || (ca.flags & CLONE_PIDFD)) return -ENOSYS;
    flags = ca.flags;
    stack = ca.stack + ca.stack_size;
    ptid = ca.parent_tid;
    ctid = ca.child_tid;
    tls = ca.tls;
  }
  constexpr unsigned long kThread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
  constexpr unsigned long kFork = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_PARENT_SETTID | CSIGNAL;
  if (nr == SYS_clone && !stack && !(flags & ~kFork) && (flags & CSIGNAL) == SIGCHLD) return serve_fork(flags, ptid, ctid);
  if ((flags & kThread) != kThread) return -ENOSYS;
  if (g.linking) return -EAGAIN;  // a library's initialiser at link time: its threads would outlive link()
  if (!stack) return -EINVAL;
  // The thread's for its life (it never tells the runtime it ended). Mapped, not allocated: an image's
  // malloc serves the running compartment's heap, and beside mpk domains the signal entries read the record
  // with the kernel's signal-time rights, key 0's.
  void *record = ::mmap(nullptr, sizeof(flex_bin_thread), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (record == MAP_FAILED) return -ENOMEM;
  auto *t = new (record) flex_bin_thread{};
  std::memcpy(t->gregs, uc->uc_mcontext.gregs, sizeof t->gregs);
  t->gregs[REG_RSP] = static_cast<greg_t>(stack);
  t->program_fs = (flags & CLONE_SETTLS) ? tls : self()->program_fs;
  std::memcpy(&t->sigmask, &uc->uc_sigmask, sizeof t->sigmask);
  t->flags = flags;
  t->child_tid = ctid;
  t->parent_tid = ptid;
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  ::pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t th;
  const int e = ::pthread_create(&th, &attr, &thread_start, t);
  ::pthread_attr_destroy(&attr);
  if (e != 0) {
    t->~flex_bin_thread();
    ::munmap(record, sizeof(flex_bin_thread));
    return -e;
  }
  int tid;
  while ((tid = t->tid.load()) == 0) ::sched_yield();
  if (tid < 0) return tid;
  g.threads_started = true;
  return tid;
}

}  // namespace

std::string machine_check() {
  if (!(::getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE)) {
    return "this machine has no FSGSBASE (the CPU lacks it or the kernel, older than Linux 5.9, does not "
           "enable it): a program's %fs cannot be switched on each of its calls";
  }
  if (::prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0) != 0) {
    return "this kernel has no Syscall User Dispatch (Linux 5.11 and later have it): a program's system "
           "calls cannot be caught";
  }
  return "";
}

std::string check(const std::string &path) {
  return flex::elf::program_problem(path);
}

namespace {

struct bound_fn {
  std::string_view name;
  long nr;
};
#define FLEX_BIN_ENTRY(name, nr, zero) {#name, nr},
constexpr bound_fn kBound[] = {FLEX_BIN_BOUND(FLEX_BIN_ENTRY)};
#undef FLEX_BIN_ENTRY
constexpr std::uintptr_t kStubBytes = 16;  // each stub starts on its own 16 bytes (FLEX_BIN_STUB)

std::atomic<std::uint64_t> g_bound_slots{0};

// Points the GOT slots through which the linked program and its libraries call kBound's functions in
// their C library at the runtime's stubs (see "Bound calls" above). The objects are the interpreter's
// list (r_debug, which the program's DT_DEBUG entry points at once it is linked); each file is read again
// for its dynamic relocations. A slot is rebound only when it holds the C library's own definition of the
// function, or (lazy binding) still points into its own object while the interpreter's lookup would find
// the C library's definition first (no object before it in the list defines the name): a library that
// defines its own, or a call bound elsewhere, is left alone. A slot in RELRO, which the interpreter made
// read-only, is made writable for the write and read-only again. Nothing is bound when the program has no
// DT_DEBUG entry or no loaded library defines __errno_location: every call then comes by the dispatch.
// Returns the number of slots bound.
std::uint64_t bind_imports() {
  const loaded &prog = g_staged.prog;
  if (static_cast<std::uintptr_t>(flex_bin_bound_stubs_end - flex_bin_bound_stubs) !=
      kStubBytes * std::size(kBound)) {
    return 0;  // the stubs and the table disagree: bind nothing rather than the wrong stub
  }
  const auto *ph = reinterpret_cast<const Elf64_Phdr *>(prog.phdr);
  const Elf64_Dyn *dyn = nullptr;
  for (unsigned i = 0; i < prog.phnum; ++i) {
    if (ph[i].p_type == PT_DYNAMIC) dyn = reinterpret_cast<const Elf64_Dyn *>(prog.base + ph[i].p_vaddr);
  }
  const r_debug *rd = nullptr;
  for (const Elf64_Dyn *d = dyn; d && d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_DEBUG) rd = reinterpret_cast<const r_debug *>(d->d_un.d_ptr);
  }
  if (!rd) return 0;
  struct object {
    std::uintptr_t base;
    flex::elf::file file;
  };
  std::vector<object> objects;
  for (const link_map *m = rd->r_map; m; m = m->l_next) {
    const std::string path = m->l_name && *m->l_name ? m->l_name : (m == rd->r_map ? g_staged.path : "");
    if (path.find('/') == std::string::npos) continue;  // the vDSO (linux-vdso.so.1) has no file
    if (auto f = flex::elf::file::open(path, nullptr)) objects.push_back({m->l_addr, std::move(*f)});
  }
  const object *libc = nullptr;
  std::map<std::string, std::set<std::uintptr_t>, std::less<>> defs;  // the C library's, per bound name
  for (const object &o : objects) {
    for (const flex::elf::symbol &sym : o.file.dynamic_symbols()) {
      if (sym.name == "__errno_location" && sym.type == STT_FUNC) {
        libc = &o;
        flex_bin_errno_location = reinterpret_cast<void *>(o.base + sym.value);
      }
    }
    if (libc) break;
  }
  if (!libc) return 0;
  std::map<std::string_view, std::uintptr_t> stub_of;
  for (std::size_t i = 0; i < std::size(kBound); ++i) {
    stub_of[kBound[i].name] = reinterpret_cast<std::uintptr_t>(flex_bin_bound_stubs) + kStubBytes * i;
  }
  for (const flex::elf::symbol &sym : libc->file.dynamic_symbols()) {
    if (stub_of.count(sym.name) && sym.type == STT_FUNC) defs[sym.name].insert(libc->base + sym.value);
  }
  std::set<std::string, std::less<>> libc_first;  // names the lookup finds in the C library first
  std::set<std::string, std::less<>> seen;
  for (const object &o : objects) {
    for (const flex::elf::symbol &sym : o.file.dynamic_symbols()) {
      if (!stub_of.count(sym.name) || !seen.insert(sym.name).second) continue;
      if (&o == libc) libc_first.insert(sym.name);
    }
  }
  std::uint64_t bound = 0;
  for (const object &o : objects) {
    if (&o == libc) continue;
    region relro;  // the pages the interpreter made read-only (its last partial page stays writable)
    region own{~std::uintptr_t{0}, 0};  // what the object maps: where its lazy slots point
    for (const flex::elf::segment &seg : o.file.segments()) {
      if (seg.type == PT_GNU_RELRO) relro = {page_down(o.base + seg.vaddr), page_down(o.base + seg.vaddr + seg.memsz)};
      if (seg.type == PT_LOAD) own = {std::min(own.lo, o.base + seg.vaddr), std::max(own.hi, o.base + seg.vaddr + seg.memsz)};
    }
    for (const flex::elf::dynamic_relocation &r : o.file.dynamic_relocations()) {
      if (r.type != R_X86_64_JUMP_SLOT && r.type != R_X86_64_GLOB_DAT) continue;
      const auto stub = stub_of.find(r.symbol);
      const auto def = defs.find(r.symbol);
      if (stub == stub_of.end() || def == defs.end()) continue;
      const std::uintptr_t at = o.base + r.offset;
      std::uintptr_t now;
      std::memcpy(&now, reinterpret_cast<const void *>(at), sizeof now);
      const bool lazy = r.type == R_X86_64_JUMP_SLOT && now >= own.lo && now < own.hi && libc_first.count(r.symbol);
      if (!def->second.count(now) && !lazy) continue;
      const bool read_only = at >= relro.lo && at < relro.hi;
      void *page = reinterpret_cast<void *>(page_down(at));
      if (read_only && ::mprotect(page, kPage, PROT_READ | PROT_WRITE) != 0) continue;
      std::memcpy(reinterpret_cast<void *>(at), &stub->second, sizeof stub->second);
      if (read_only) ::mprotect(page, kPage, PROT_READ);
      ++bound;
    }
  }
  return bound;
}

constexpr int kLinked = 0x100;  // flex_bin_linked's status: no exit status is one

void unstage() {
  for (const region &r : {g_staged.prog.map, g_staged.interp.map, g_staged.stack, g_staged.brk, g_staged.pool}) {
    if (r.hi > r.lo) ::munmap(reinterpret_cast<void *>(r.lo), r.hi - r.lo);
  }
  g_program_ranges.clear();
  g_staged.~staged();
  new (&g_staged) staged{};
}

// Maps p (and its interpreter), its stack and its heap's region, and builds its initial stack, with
// `at_entry` as AT_ENTRY (0: the program's own entry).
status stage(const program &p, std::uintptr_t at_entry = 0) {
  if (!g_staged.path.empty()) unstage();
  staged &st = g_staged;
  if (status s = map_program(p.path, st.prog, st.interp, p.pkey); !s.ok()) return s;
  st.path = p.path;
  st.argv = p.argv;
  st.pkey = p.pkey;
  void *stack = ::mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  // Beside mpk domains the heap's region is open from the start: the lockdown's layout wall keeps every
  // mapping that is not writable at boot as it is, so brk could not open it later.
  const int brk_prot = p.pkey >= 0 ? PROT_READ | PROT_WRITE : PROT_NONE;
  void *brk = ::mmap(reinterpret_cast<void *>(st.prog.map.hi), kBrkBytes, brk_prot,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (brk == MAP_FAILED) brk = ::mmap(nullptr, kBrkBytes, brk_prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p.pkey >= 0 && ((stack != MAP_FAILED && ::pkey_mprotect(stack, kStackBytes, PROT_READ | PROT_WRITE, p.pkey) != 0) ||
                      (brk != MAP_FAILED && ::pkey_mprotect(brk, kBrkBytes, brk_prot, p.pkey) != 0))) {
    const int e = errno;
    for (void *m : {stack, brk}) {
      if (m != MAP_FAILED) ::munmap(m, m == stack ? kStackBytes : kBrkBytes);
    }
    unstage();
    return status::from_errno(p.path + ": cannot tag its stack and heap with its domain's key", e);
  }
  if (stack != MAP_FAILED) {
    st.stack = {reinterpret_cast<std::uintptr_t>(stack), reinterpret_cast<std::uintptr_t>(stack) + kStackBytes};
  }
  if (brk != MAP_FAILED) {
    st.brk = {reinterpret_cast<std::uintptr_t>(brk), reinterpret_cast<std::uintptr_t>(brk) + kBrkBytes};
  }
  if (stack == MAP_FAILED || brk == MAP_FAILED) {
    const int e = errno;
    unstage();
    return status::from_errno(p.path + ": cannot map its stack and heap", e);
  }
  if (p.pkey >= 0) {
    void *pool = ::mmap(nullptr, kPoolBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pool == MAP_FAILED || ::pkey_mprotect(pool, kPoolBytes, PROT_NONE, p.pkey) != 0) {
      const int e = errno;
      if (pool != MAP_FAILED) ::munmap(pool, kPoolBytes);
      unstage();
      return status::from_errno(p.path + ": cannot reserve its memory pool under its domain's key", e);
    }
    st.pool = {reinterpret_cast<std::uintptr_t>(pool), reinterpret_cast<std::uintptr_t>(pool) + kPoolBytes};
    g_pool.free.clear();
    g_pool.free[st.pool.lo] = st.pool.hi;
  }
  for (const region &r : {st.prog.map, st.interp.map, st.stack, st.brk, st.pool}) {
    if (r.hi > r.lo) g_program_ranges.push_back(r);
  }
  const bool dynamic = !st.prog.interp.empty();
  st.sp = build_stack(st.stack, p, st.prog, dynamic ? &st.interp : nullptr, at_entry ? at_entry : st.prog.entry,
                      &st.entry_slot);
  st.entry = dynamic ? st.interp.entry : st.prog.entry;
  st.main.main = true;  // program_fs 0: the program sets its own before it touches it
  return {};
}

// The thread's signal state while the program runs (its handlers and signal stack are the thread's), and
// the runtime's, which comes back after.
struct signal_state {
  kernel_sigaction runtime_actions[64] = {};
  stack_t runtime_altstack{};
  sigset_t runtime_mask;
};

// Takes the runtime's signal state aside, installs `program_actions` (when given), the dispatch's SIGSYS
// handler, and arms the dispatch on the main thread's record.
status arm(signal_state &ss, const kernel_sigaction *program_actions) {
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::syscall(SYS_rt_sigaction, sig, nullptr, &ss.runtime_actions[sig - 1], 8);
  }
  ::sigaltstack(nullptr, &ss.runtime_altstack);
  ::sigprocmask(SIG_SETMASK, nullptr, &ss.runtime_mask);
  g_runtime_sigsys = ss.runtime_actions[SIGSYS - 1];
  std::memcpy(g_runtime_actions, ss.runtime_actions, sizeof g_runtime_actions);
  if (program_actions) {
    for (int sig = 1; sig <= 64; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP && sig != SIGSYS) {
        ::syscall(SYS_rt_sigaction, sig, &program_actions[sig - 1], nullptr, 8);
      }
    }
  }
  g.through = 0;
  for (int sig = 1; sig <= 64; ++sig) {
    kernel_sigaction now{};
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSYS) continue;
    if (::syscall(SYS_rt_sigaction, sig, nullptr, &now, 8) != 0) continue;
    if (now.handler == reinterpret_cast<void *>(&flex_bin_signal)) continue;
    g.through |= std::uint64_t{1} << (sig - 1);
    if (now.handler == reinterpret_cast<void *>(SIG_DFL) || now.handler == reinterpret_cast<void *>(SIG_IGN) ||
        now.handler == reinterpret_cast<void *>(&flex_bin_runtime_signal)) {
      continue;
    }
    // A handler of the runtime's: entered through flex_bin_runtime_signal, which returns through the
    // restorer the dispatch always lets through.
    g_runtime_actions[sig - 1] = now;
    const kernel_sigaction wrapped{reinterpret_cast<void *>(&flex_bin_runtime_signal),
                                   now.flags | SA_SIGINFO | SA_RESTORER | (g.pkey >= 0 ? SA_ONSTACK : 0),
                                   reinterpret_cast<void *>(flex_bin_restorer), now.mask & ~kSigsysBit};
    ::syscall(SYS_rt_sigaction, sig, &wrapped, nullptr, 8);
  }
  if (g.pkey >= 0 && give_signal_stack(&g_staged.main) != 0) {
    return status::from_errno(g_staged.path + ": cannot give the program's thread its signal stack", errno);
  }
  if (install_sigsys() != 0 || arm_dispatch(&g_staged.main) != 0) {
    return status::from_errno(g_staged.path + ": cannot arm the system-call dispatch", errno);
  }
  sigset_t unblock_sigsys;
  sigemptyset(&unblock_sigsys);
  sigaddset(&unblock_sigsys, SIGSYS);
  ::sigprocmask(SIG_UNBLOCK, &unblock_sigsys, nullptr);
  return {};
}

// The dispatch off and the runtime's signal state back; the program's handlers into `program_actions`
// (when given).
void disarm(const signal_state &ss, kernel_sigaction *program_actions) {
  ::prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::syscall(SYS_rt_sigaction, sig, &ss.runtime_actions[sig - 1], program_actions ? &program_actions[sig - 1] : nullptr, 8);
  }
  ::sigaltstack(&ss.runtime_altstack, nullptr);
  ::sigprocmask(SIG_SETMASK, &ss.runtime_mask, nullptr);
}

// brk from the bottom of the staged region (open from the start beside mpk domains: stage).
void reset_brk() {
  g.brk_reserved = g_staged.brk;
  g.brk_cur = g_staged.brk.lo;
  g.brk_mapped = g_staged.pkey >= 0 ? g_staged.brk.hi : g_staged.brk.lo;
}

// Whether [lo, hi) lies in the code of an object the image's own linker loaded (the image, its shared
// objects) or is the kernel's (vDSO).
bool image_code(std::uintptr_t lo, std::uintptr_t hi) {
  struct query {
    std::uintptr_t lo, hi;
    bool found;
  } q{lo, hi, false};
  dl_iterate_phdr(
      [](dl_phdr_info *info, std::size_t, void *data) {
        auto &q = *static_cast<query *>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          const std::uintptr_t a = page_down(info->dlpi_addr + ph.p_vaddr);
          const std::uintptr_t b = page_up(info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
          if (a <= q.lo && q.hi <= b) q.found = true;
        }
        return q.found ? 1 : 0;
      },
      &q);
  return q.found;
}

// Beside mpk domains, once the program is linked: every executable mapping that is not the image's (its
// own segments, its interpreter's and its libraries') is registered as the program's code, which the
// lockdown disarms and keeps.
status note_program_code(const program &p) {
  if (p.pkey < 0) return {};
  const int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return status::from_errno(p.path + ": cannot read this process's mappings", errno);
  std::string maps;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    maps.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  for (std::size_t at = 0; at < maps.size();) {
    const std::size_t newline = maps.find('\n', at);
    const std::size_t end = newline == std::string::npos ? maps.size() : newline;
    const std::string line = maps.substr(at, end - at);
    at = end == maps.size() ? end : end + 1;
    unsigned long lo = 0, hi = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, perms) != 3 || perms[2] != 'x') continue;
    if (line.ends_with("[vdso]") || line.ends_with("[vsyscall]") || image_code(lo, hi)) continue;
    if (int rc = register_region({lo, hi, p.compartment, region_kind::program, "program code"}); rc < 0) {
      return status::error(p.path + ": cannot register its code at " + hex(lo) + ": " + std::strerror(-rc));
    }
  }
  return {};
}

// ---- The program's fresh memory beside mpk domains ---------------------------------------------------
// After boot the lockdown allows no pkey_mprotect, and a new mapping gets key 0, every domain's. So the
// program's anonymous private memory comes from a pool reserved at stage() and tagged with its domain's key
// then: its mmap takes pages of the pool and opens them with mprotect (which keeps a page's key); its
// munmap closes them again (PROT_NONE, their contents dropped with MADV_DONTNEED); a MAP_FIXED over pool
// pages drops and reopens them; mremap grows in place or moves within the pool (a copy). Files, shared
// memory, executable memory and fixed addresses outside the pool stay the kernel's (key 0), as does what
// it asks for once the pool is used up.
constexpr long kNotPool = -0x7fffffffffffffffL;  // pool_*: not the pool's call; the kernel's

struct pool_guard {
  pool_guard() {
    while (g_pool.lock.test_and_set(std::memory_order_acquire)) __builtin_ia32_pause();
  }
  ~pool_guard() { g_pool.lock.clear(std::memory_order_release); }
};

bool in_pool(std::uintptr_t lo, std::uintptr_t hi) {
  return g_staged.pool.lo <= lo && lo < hi && hi <= g_staged.pool.hi;
}

bool pool_all_free(std::uintptr_t lo, std::uintptr_t hi) {
  auto it = g_pool.free.upper_bound(lo);
  if (it == g_pool.free.begin()) return false;
  --it;
  return it->first <= lo && hi <= it->second;
}

// [lo, hi) out of the free ranges, whatever of it was free.
void pool_take(std::uintptr_t lo, std::uintptr_t hi) {
  auto it = g_pool.free.upper_bound(lo);
  if (it != g_pool.free.begin()) --it;
  while (it != g_pool.free.end() && it->first < hi) {
    const std::uintptr_t a = it->first, b = it->second;
    if (b <= lo) {
      ++it;
      continue;
    }
    it = g_pool.free.erase(it);
    if (a < lo) g_pool.free[a] = lo;
    if (hi < b) g_pool.free[hi] = b;
  }
}

// [lo, hi) back into the free ranges, merged with its neighbours.
void pool_give(std::uintptr_t lo, std::uintptr_t hi) {
  pool_take(lo, hi);
  auto next = g_pool.free.lower_bound(hi);
  if (next != g_pool.free.end() && next->first == hi) {
    hi = next->second;
    g_pool.free.erase(next);
  }
  auto prev = g_pool.free.lower_bound(lo);
  if (prev != g_pool.free.begin()) {
    --prev;
    if (prev->second == lo) {
      prev->second = hi;
      return;
    }
  }
  g_pool.free[lo] = hi;
}

// The lowest free run of n bytes, taken; 0 when none is left.
std::uintptr_t pool_take_any(std::size_t n) {
  for (auto &[lo, hi] : g_pool.free) {
    if (hi - lo < n) continue;
    const std::uintptr_t at = lo;
    pool_take(at, at + n);
    return at;
  }
  return 0;
}

// Pages of the pool closed again and given back, under the lock: a page is opened (pool_mmap) and closed
// only while the free ranges say whose it is, so no page is ever free and open at once.
void pool_close_and_give(std::uintptr_t lo, std::uintptr_t hi) {
  ::mprotect(reinterpret_cast<void *>(lo), hi - lo, PROT_NONE);
  ::madvise(reinterpret_cast<void *>(lo), hi - lo, MADV_DONTNEED);
  pool_give(lo, hi);
}

void pool_release(std::uintptr_t lo, std::uintptr_t hi) {
  pool_guard guard;
  pool_close_and_give(lo, hi);
}

long pool_mmap(const long a[6]) {
  const auto addr = static_cast<std::uintptr_t>(a[0]);
  const auto len = static_cast<std::uintptr_t>(a[1]);
  const int prot = static_cast<int>(a[2]), flags = static_cast<int>(a[3]);
  if (!g_staged.pool.hi || !(flags & MAP_ANONYMOUS) || (flags & MAP_TYPE) != MAP_PRIVATE || (prot & PROT_EXEC) ||
      (flags & MAP_32BIT)) {
    return kNotPool;
  }
  if (len == 0 || len > kPoolBytes) return len == 0 ? -EINVAL : kNotPool;
  const std::uintptr_t n = page_up(len);
  std::uintptr_t at = 0;
  const bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
  if (fixed && (addr & (kPage - 1))) return -EINVAL;
  if (fixed && !in_pool(addr, addr + n)) return kNotPool;
  pool_guard guard;
  if (fixed) {
    if ((flags & MAP_FIXED_NOREPLACE) && !pool_all_free(addr, addr + n)) return -EEXIST;
    pool_take(addr, addr + n);
    at = addr;
    ::madvise(reinterpret_cast<void *>(at), n, MADV_DONTNEED);  // fresh pages, as a new mapping's
  } else if (addr && !(addr & (kPage - 1)) && in_pool(addr, addr + n) && pool_all_free(addr, addr + n)) {
    pool_take(addr, addr + n);  // the hint, where it is free (an allocator growing a run in place)
    at = addr;
  } else if (!(at = pool_take_any(n))) {
    return kNotPool;
  }
  if (::mprotect(reinterpret_cast<void *>(at), n, prot) != 0) {
    const long e = -errno;
    pool_close_and_give(at, at + n);
    return e;
  }
  return static_cast<long>(at);
}

long pool_munmap(const long a[6]) {
  const auto addr = static_cast<std::uintptr_t>(a[0]);
  if ((addr & (kPage - 1)) || a[1] <= 0) return kNotPool;  // the kernel's EINVAL
  const std::uintptr_t hi = addr + page_up(static_cast<std::uintptr_t>(a[1]));
  const std::uintptr_t lo = std::max(addr, g_staged.pool.lo), top = std::min(hi, g_staged.pool.hi);
  if (!g_staged.pool.hi || lo >= top) return kNotPool;
  pool_release(lo, top);
  // What lies outside the pool is the kernel's.
  if (addr < lo) ::munmap(reinterpret_cast<void *>(addr), lo - addr);
  if (top < hi) ::munmap(reinterpret_cast<void *>(top), hi - top);
  return 0;
}

long pool_mremap(const long a[6]) {
  const auto old = static_cast<std::uintptr_t>(a[0]);
  const std::uintptr_t old_n = page_up(static_cast<std::uintptr_t>(a[1])), new_n = page_up(static_cast<std::uintptr_t>(a[2]));
  const auto flags = static_cast<int>(a[3]);
  if (!g_staged.pool.hi || (old & (kPage - 1)) || old_n == 0 || !in_pool(old, old + old_n)) return kNotPool;
  if (flags & ~MREMAP_MAYMOVE) return -EINVAL;  // MREMAP_FIXED, MREMAP_DONTUNMAP: not in the pool
  if (new_n == 0 || new_n > kPoolBytes) return -EINVAL;
  if (new_n <= old_n) {
    if (new_n < old_n) pool_release(old + new_n, old + old_n);
    return static_cast<long>(old);
  }
  {
    pool_guard guard;
    if (in_pool(old, old + new_n) && pool_all_free(old + old_n, old + new_n)) {  // in place (a heap's pages)
      pool_take(old + old_n, old + new_n);
      if (::mprotect(reinterpret_cast<void *>(old + old_n), new_n - old_n, PROT_READ | PROT_WRITE) != 0) {
        const long e = -errno;
        pool_close_and_give(old + old_n, old + new_n);
        return e;
      }
      return static_cast<long>(old);
    }
  }
  if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
  const long fresh[6] = {0, static_cast<long>(new_n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0};
  const long at = pool_mmap(fresh);
  if (at == kNotPool) return -ENOMEM;
  if (at < 0 && at > -4096) return at;
  std::memcpy(reinterpret_cast<void *>(at), reinterpret_cast<const void *>(old), old_n);
  pool_release(old, old + old_n);
  return at;
}

// While the program is linked at boot: a mapping it made, noted as its own (memory_ranges) and, beside mpk
// domains, tagged with its domain's key (r: the call's result).
long note_fresh(long r, const long a[6]) {
  if (!g.linking || (r < 0 && r > -4096)) return r;
  const auto len = page_up(static_cast<std::uintptr_t>(a[1]));
  if (g.pkey >= 0 && ::pkey_mprotect(reinterpret_cast<void *>(r), len, static_cast<int>(a[2]), g.pkey) != 0) {
    const long e = -errno;
    ::munmap(reinterpret_cast<void *>(r), len);
    return e;
  }
  g_program_ranges.push_back({static_cast<std::uintptr_t>(r), static_cast<std::uintptr_t>(r) + len});
  return r;
}

// flex_bin_enter; beside mpk domains, with the frames of the domain's code that called it (an image's app,
// entered through a gate) recorded as live in the domain's slot, so the answers on its stack start below.
int enter(std::uintptr_t entry, std::uintptr_t sp, flex_bin_thread *t) {
  if (g.pkey < 0) return flex_bin_enter(entry, sp, t);
  const std::uint64_t before = mpk_suspend_slot(g.pkey, reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)));
  const int st = flex_bin_enter(entry, sp, t);
  mpk_restore_slot(g.pkey, before);
  return st;
}

long announce_thunk(void *, long nr, const long *) {
  g.announce(nr);
  return 0;
}

[[noreturn]] void die_answering(const char *why) {
  ::write(STDERR_FILENO, why, std::strlen(why));
  ::syscall(SYS_exit_group, 134);
  __builtin_unreachable();
}

// A call answered from the thread's signal stack, with that stack ending below the frames live on it.
struct below_call {
  long (*fn)(void *, long, const long *);
  void *ctx;
  long nr;
  const long *a;
  std::uintptr_t lo;
  std::size_t size;
};

long answer_below(void *cv, long, const long *) {
  const auto &c = *static_cast<const below_call *>(cv);
  stack_t ss{};
  ss.ss_sp = reinterpret_cast<void *>(c.lo);
  ss.ss_size = c.size;
  if (c.size < static_cast<std::size_t>(MINSIGSTKSZ) || ::sigaltstack(&ss, nullptr) != 0) {
    die_answering("flex: the program's signal stack is full (handlers nested too deep); terminating\n");
  }
  const long r = c.fn(c.ctx, c.nr, c.a);
  ss.ss_size = kAltStackBytes;
  ::sigaltstack(&ss, nullptr);
  return r;
}

// fn(ctx, nr, a) on the domain's stack (see answer).
long on_domain_stack(long (*fn)(void *, long, const long *), void *ctx, long nr, const long *a) {
  const std::uintptr_t stack = mpk_entry_stack(g.pkey);
  if (!stack) die_answering("flex: no stack of the program's domain to answer its call on; terminating\n");
  std::uintptr_t sp;
  asm volatile("mov %%rsp, %0" : "=r"(sp));
  const flex_bin_thread *t = self();
  const auto lo = reinterpret_cast<std::uintptr_t>(t ? t->runtime_altstack : nullptr);
  if (!lo || sp < lo || sp >= lo + kAltStackBytes) return flex_bin_call_on(stack, fn, ctx, nr, a);
  constexpr std::uintptr_t kBelow = 512;  // flex_bin_call_on's own pushes, and a red zone's worth
  below_call c{fn, ctx, nr, a, lo, sp - kBelow > lo ? (sp - kBelow - lo) & ~std::uintptr_t{15} : 0};
  return flex_bin_call_on(stack, &answer_below, &c, 0, nullptr);
}

// A call of the program's answered by the dispatcher. Beside mpk domains, on its domain's stack (where a
// gate into the domain would start now, mpk_entry_stack): the libOS of the program's domain runs there as
// code the gates let through, since its calls into other domains go back to that stack, which a gate's way
// back checks. The thread's signal stack (or the program's) is none of the domain's stacks. A call made
// from the signal stack (every caught call; a bound call from a handler of the program's) leaves frames
// live there, and a signal that comes while the answer runs on another stack would start again at the
// signal stack's top, over them: meanwhile the signal stack ends below them (set from the domain's stack:
// the kernel refuses to change a signal stack in use).
long answer(long nr, const long a[6]) {
  if (g.pkey < 0) return g.dispatch(g.ctx, nr, a);
  return on_domain_stack(g.dispatch, g.ctx, nr, a);
}

void announce(long nr) {
  if (!g.announce) return;
  if (g.pkey < 0) return g.announce(nr);
  on_domain_stack(&announce_thunk, nullptr, nr, nullptr);
}

}  // namespace

status link(const program &p, dispatch_fn dispatch, void *ctx) {
  if (std::string why = machine_check(); !why.empty()) return status::error(why);
  if (g.dispatch) return status::error("a program already runs in this process");
  if (std::string why = check(p.path); !why.empty()) return status::error(why);
  if (p.pkey >= 0 && !p.rights) return status::error(p.path + ": a key for the program but no switch to its rights");
  g.pkey = p.pkey;
  flex_bin_rights = p.rights;
  if (status s = stage(p, reinterpret_cast<std::uintptr_t>(flex_bin_linked)); !s.ok()) return s;
  if (g_staged.prog.interp.empty()) {  // static: nothing to link, and its stack says its own entry
    const std::uintptr_t entry = g_staged.prog.entry;
    std::memcpy(reinterpret_cast<void *>(g_staged.entry_slot), &entry, sizeof entry);
    return note_program_code(p);
  }
  g.dispatch = dispatch;
  g.ctx = ctx;
  reset_brk();
  g.linking = true;
  signal_state ss;
  if (status s = arm(ss, nullptr); !s.ok()) {
    disarm(ss, nullptr);
    g.dispatch = nullptr;
    g.linking = false;
    unstage();
    return s;
  }
  const int st = enter(g_staged.entry, g_staged.sp, &g_staged.main);
  disarm(ss, g_staged.actions);
  g.dispatch = nullptr;
  g.linking = false;
  if (st != kLinked) {
    const std::string path = g_staged.path;
    unstage();
    return status::error(path + ": its interpreter ended with status " + std::to_string(st) +
                         " before the program's first instruction (its message, if any, is above)");
  }
  // The program starts where the interpreter left it, and its stack says its own entry again.
  const std::uintptr_t entry = g_staged.prog.entry;
  std::memcpy(reinterpret_cast<void *>(g_staged.entry_slot), &entry, sizeof entry);
  g_staged.sp = g_staged.main.entry_rsp;
  g_staged.entry = entry;
  g_staged.linked = true;
  g_bound_slots.store(bind_imports());
  return note_program_code(p);
}

status run(const program &p, dispatch_fn dispatch, void *ctx, int *exit_status) {
  if (std::string why = machine_check(); !why.empty()) return status::error(why);
  if (g.dispatch) return status::error("a program already runs in this process");
  const bool ready = g_staged.path == p.path && g_staged.argv == p.argv;
  if (!ready) {  // a dynamic program is linked first, as an image does at boot
    if (status s = link(p, dispatch, ctx); !s.ok()) return s;
  }
  if (p.pkey != g_staged.pkey) return status::error(p.path + ": linked for another domain than it runs in");
  g.pkey = p.pkey;
  flex_bin_rights = p.rights;
  if (!g_staged.linked) reset_brk();  // a fresh start: brk from the bottom of its region
  g.dispatch = dispatch;
  g.ctx = ctx;
  g.forks = p.forks;
  g.announce = p.announce;
  signal_state ss;
  if (status s = arm(ss, g_staged.linked ? g_staged.actions : nullptr); !s.ok()) {
    disarm(ss, nullptr);
    g.dispatch = nullptr;
    unstage();
    return s;
  }
  const int st = enter(g_staged.entry, g_staged.sp, &g_staged.main);
  // Back from the handler: the runtime's %fs, the selector at ALLOW, every signal blocked.
  *exit_status = st;
  if (g.threads_started) {
    // Its other threads may still be parked in the program's code, with their dispatch and SIGSYS handler:
    // the program's memory and the handler stay, and the process must end (an image ends right after).
    ::prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
    ::sigprocmask(SIG_SETMASK, &ss.runtime_mask, nullptr);
    return {};
  }
  disarm(ss, nullptr);
  g.dispatch = nullptr;
  // Beside mpk domains its memory stays: the lockdown's layout wall keeps its code as it is, and the image
  // ends right after.
  if (g.pkey < 0) unstage();
  return {};
}

call_counts counts() {
  return {g_bound_slots.load(), g_bound_calls.load(std::memory_order_relaxed),
          g_caught_calls.load(std::memory_order_relaxed)};
}

std::uint64_t unanswered(long nr) {
  return nr >= 0 && nr < kCountedNumbers ? g_unanswered[nr].load(std::memory_order_relaxed) : 0;
}

std::vector<std::pair<std::uintptr_t, std::uintptr_t>> memory_ranges() {
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> out;
  for (const region &r : g_program_ranges) out.emplace_back(r.lo, r.hi);
  return out;
}

std::vector<std::string_view> bound_functions() {
  std::vector<std::string_view> out;
  for (const bound_fn &b : kBound) out.push_back(b.name);
  return out;
}

}  // namespace flex::runtime::binary

// A bound call's answer (flex_bin_fast has switched to the runtime's %fs and allowed its calls).
extern "C" [[gnu::used, gnu::visibility("hidden")]] long flex_bin_fast_serve(long nr, const long a[6]) {
  using namespace flex::runtime::binary;
  g_bound_calls.fetch_add(1, std::memory_order_relaxed);
  return note_unanswered(nr, answer(nr, a));
}

// A signal of the program's that came while the runtime answered a bound call on this thread: kept for the
// call's way back. Runs in whatever state the runtime was in (either %fs), so it touches no thread-local
// state and calls nothing of the C library's but a copy. A fault of the runtime's code (a signal the
// kernel raised for an instruction) goes to the runtime's own handler instead: its action is put back and
// the instruction faults again into it.
extern "C" [[gnu::used, gnu::visibility("hidden"), gnu::no_stack_protector]] void flex_bin_defer(int sig, siginfo_t *info,
                                                                                                 void *) {
  using namespace flex::runtime::binary;
  const bool fault = (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP) &&
                     info->si_code > 0;
  if (fault) {
    long ret;
    register long sigsetsize asm("r10") = 8;
    asm volatile("syscall"
                 : "=a"(ret)
                 : "a"(SYS_rt_sigaction), "D"(sig), "S"(&g_runtime_actions[sig - 1]), "d"(nullptr), "r"(sigsetsize)
                 : "rcx", "r11", "memory");
    (void)ret;
    return;
  }
  flex_bin_thread *t = self();
  std::memcpy(&t->deferred_info[sig - 1], info, sizeof *info);
  t->deferred.fetch_or(std::uint64_t{1} << (sig - 1));
}

// The runtime's own handler of `sig` (flex_bin_runtime_signal has put the thread in the runtime's state).
extern "C" [[gnu::used, gnu::visibility("hidden")]] void flex_bin_runtime_handler(int sig, siginfo_t *info, void *uc) {
  using namespace flex::runtime::binary;
  const kernel_sigaction &act = g_runtime_actions[sig - 1];
  if (act.handler == reinterpret_cast<void *>(SIG_DFL) || act.handler == reinterpret_cast<void *>(SIG_IGN)) return;
  if (act.flags & SA_SIGINFO) {
    reinterpret_cast<void (*)(int, siginfo_t *, void *)>(act.handler)(sig, info, uc);
  } else {
    reinterpret_cast<void (*)(int)>(act.handler)(sig);
  }
}

namespace flex::runtime::binary {
namespace {
// The calls flex_bin_serve answers itself rather than by the dispatch (its signal return and kRequeue are
// the runtime's own steps, not calls).
bool served_here(long nr) {
  switch (nr) {
    case SYS_exit:
    case SYS_exit_group:
    case SYS_arch_prctl:
    case SYS_brk:
    case SYS_rt_sigaction:
    case SYS_rt_sigprocmask:
    case SYS_set_tid_address:
    case SYS_set_robust_list:
    case SYS_rseq:
    case SYS_seccomp:
    case SYS_clone:
    case SYS_clone3:
    case SYS_fork:
    case SYS_vfork:
    case SYS_execve:
    case SYS_execveat: return true;
    default: return false;
  }
}
}  // namespace
}  // namespace flex::runtime::binary

// The handler's answer to one call of the program (flex_bin_sigsys has switched to the runtime's %fs and
// allowed its calls).
extern "C" [[gnu::used, gnu::visibility("hidden")]] void flex_bin_serve(int, siginfo_t *info, void *ucv) {
  using namespace flex::runtime::binary;
  auto *uc = static_cast<ucontext_t *>(ucv);
  if (info->si_code != SYS_USER_DISPATCH) {  // a seccomp filter's, or one someone sent
    flex_bin_chain(SIGSYS, info, ucv);
    return;
  }
  flex_bin_thread *t = self();
  if (t->mask_pending) {  // a thread's first call: from now on it has the mask the program gave it
    std::uint64_t m = t->sigmask & ~(std::uint64_t{1} << (SIGSYS - 1));
    std::memcpy(&uc->uc_sigmask, &m, sizeof m);
    t->mask_pending = false;
  }
  greg_t *r = uc->uc_mcontext.gregs;
  const long nr = info->si_syscall;
  g_caught_calls.fetch_add(1, std::memory_order_relaxed);
  const long a[6] = {r[REG_RDI], r[REG_RSI], r[REG_RDX], r[REG_R10], r[REG_R8], r[REG_R9]};
  if (served_here(nr)) announce(nr);
  long ret;
  switch (nr) {
    case SYS_exit:
      if (t->main && !g.forked) flex_bin_leave(static_cast<int>(a[0] & 0xff), t);
      if (g.forked) std::fflush(stdout);
      ::syscall(SYS_exit, a[0]);  // one of its threads ends (the kernel clears and wakes its child tid)
      __builtin_unreachable();
    case SYS_exit_group:
      if (g.forked) {  // a forked child ends alone: the image's end (its report, its backends) is the parent's
        std::fflush(stdout);
        ::syscall(SYS_exit_group, a[0]);
      }
      if (t->main) flex_bin_leave(static_cast<int>(a[0] & 0xff), t);
      ::syscall(SYS_exit_group, a[0]);  // another thread ends the program: the process ends with it
      __builtin_unreachable();
    case SYS_rt_sigreturn:
      // The program's own handler returns: made from the always-allowed instructions, on its frame.
      r[REG_RIP] = reinterpret_cast<greg_t>(flex_bin_restorer);
      return;
    case kRequeue:  // a bound call's way back, with signals deferred: its result goes on
      requeue_deferred(t);
      ret = a[0];
      break;
    case SYS_arch_prctl: ret = serve_arch_prctl(a); break;
    case SYS_brk: ret = serve_brk(static_cast<std::uintptr_t>(a[0])); break;
    case SYS_rt_sigaction: ret = serve_sigaction(a); break;
    case SYS_rt_sigprocmask: ret = serve_sigprocmask(a, uc); break;
    case SYS_set_tid_address: ret = ::syscall(SYS_gettid); break;
    case SYS_set_robust_list:
    case SYS_rseq: ret = -ENOSYS; break;
    case SYS_seccomp: ret = -EPERM; break;
    case SYS_prctl:
      ret = a[0] == PR_SET_SYSCALL_USER_DISPATCH || a[0] == PR_SET_SECCOMP ? -EPERM : answer(nr, a);
      break;
    case SYS_clone:
    case SYS_clone3: ret = serve_clone(nr, a, uc); break;
    case SYS_sigaltstack: ret = g.pkey >= 0 ? serve_sigaltstack(a) : answer(nr, a); break;
    case SYS_fork: ret = serve_fork(SIGCHLD, 0, 0); break;
    case SYS_vfork:
    case SYS_execve:
    case SYS_execveat: ret = -ENOSYS; break;
    case SYS_mmap:
      if ((ret = pool_mmap(a)) == kNotPool) ret = note_fresh(answer(nr, a), a);
      break;
    case SYS_munmap:
      if ((ret = pool_munmap(a)) == kNotPool) ret = answer(nr, a);
      break;
    case SYS_mremap:
      if ((ret = pool_mremap(a)) == kNotPool) ret = answer(nr, a);
      break;
    default: ret = answer(nr, a); break;
  }
  r[REG_RAX] = note_unanswered(nr, ret);
}

// A SIGSYS that is not the dispatch's, to the runtime's own handler; with none, the default action.
extern "C" void flex_bin_chain(int sig, siginfo_t *info, void *uc) {
  using namespace flex::runtime::binary;
  const kernel_sigaction &old = g_runtime_sigsys;
  if (old.handler == reinterpret_cast<void *>(SIG_IGN)) return;
  if (old.handler == reinterpret_cast<void *>(SIG_DFL)) {
    const kernel_sigaction dfl{reinterpret_cast<void *>(SIG_DFL), 0, nullptr, 0};
    ::syscall(SYS_rt_sigaction, SIGSYS, &dfl, nullptr, 8);
    ::syscall(SYS_tgkill, ::getpid(), ::syscall(SYS_gettid), SIGSYS);
    return;
  }
  if (old.flags & SA_SIGINFO) {
    reinterpret_cast<void (*)(int, siginfo_t *, void *)>(old.handler)(sig, info, uc);
  } else {
    reinterpret_cast<void (*)(int)>(old.handler)(sig);
  }
}
