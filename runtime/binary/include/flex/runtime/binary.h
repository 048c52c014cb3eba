// Unmodified Linux x86-64 programs inside an image: the program's ELF (and its interpreter's, for a dynamic
// one) mapped into this process, its initial stack built as execve builds it, and every system call it
// makes caught by Syscall User Dispatch and answered by a dispatcher (the posix library in an image; tests
// give their own) on this thread, as a function call.
//
//   long answer(void *ctx, long nr, const long a[6]) { return flex_posix_syscall(nr, a[0], ...); }
//   int status = 0;
//   flex::runtime::status s = flex::runtime::binary::run({"/bin/busybox", {"busybox", "echo", "hi"}, {}},
//                                                        &answer, nullptr, &status);
//
// How a call is caught: the dispatch is armed on this thread with its selector set to BLOCK while the
// program runs, so the kernel turns each of the program's `syscall` instructions into a SIGSYS. The
// runtime's SIGSYS handler sets the selector to ALLOW, switches %fs to the runtime's own thread block
// (the program has its own: its arch_prctl(ARCH_SET_FS) is recorded here, never made), answers the call
// through the dispatcher, writes the result into the frame, and switches back. Every signal is blocked
// while it runs, so the program's handlers only ever run in the program's own state. The only
// instructions the dispatch always allows are the handler's own signal return (rt_sigreturn), which
// also serves the program's: its handlers' rt_sigreturn is caught like any call and made there, on the
// program's frame.
//
// Bound calls: a dynamic program's calls of the C library's system-call wrappers it uses most (read,
// write, readiness waits, socket calls: bound_functions()) skip the signal. link() points the GOT slots
// of those imports, in the program and each of its libraries, at stubs of the runtime's that switch state
// and call the dispatcher directly, and set the program's errno; the dispatcher sees the same call. A
// signal of the program's that comes meanwhile is held and handed to it on the way back, so its handlers
// still only ever run in its own state. Every other call, and those made inside the C library, come by
// the signal (counts() tells how many came each way).
//
// The program shares the process's vDSO: its clock reads make no system call (binary.cc, build_stack).
//
// What the loader answers itself, never the dispatcher: arch_prctl (the program's %fs), brk (a region of
// its own, so the program's heap never meets the image's), rt_sigreturn, exit and exit_group (the end:
// run returns the status), rt_sigaction and rt_sigprocmask on SIGSYS (refused, or left out of the mask:
// SIGSYS is the runtime's), set_tid_address, set_robust_list and rseq (this thread's, which the image's
// own libc registered: the program gets its tid and -ENOSYS), prctl on the dispatch and seccomp
// (refused), clone and clone3 of a thread (a runtime thread that takes the program's registers, with its
// own dispatch), and the calls that would start another process or replace this one (fork, vfork, a
// clone without CLONE_VM | CLONE_THREAD, execve, execveat: -ENOSYS).
//
// A dynamic program in an image is linked at boot (link): its interpreter runs until it jumps to the
// program's entry, with its libraries mapped, relocated and initialised, before the lockdown refuses new
// executable memory; run() then starts the program from there.
//
// Needs Linux 5.11 (Syscall User Dispatch) and FSGSBASE (wrfsbase switches %fs on every call): check()
// and run() refuse with the reason otherwise. One program per process at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include "flex/runtime/layout.h"
#include "flex/runtime/status.h"

namespace flex::runtime::binary {

// A call of the program, answered as the kernel would: a result, or a negative errno.
using dispatch_fn = long (*)(void *ctx, long nr, const long args[6]);

struct program {
  std::string path;
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value"
  // Whether its fork (glibc's: clone with SIGCHLD and nothing shared, or fork) makes a child process, a
  // copy of this whole process with the forking thread only (the runtime's own fork, so the atfork
  // handlers of the runtime's C library and of the libOS run, and the child's dispatch is armed again).
  // When false, its fork is answered ENOSYS.
  bool forks = false;
  // Told of each call the loader answers itself (exit, exit_group, fork, clone, signal state, brk, ...)
  // before it answers it, in the program's thread; the dispatch sees the others. Null: nobody is told.
  void (*announce)(long nr) = nullptr;
  // Beside mpk domains (an image whose program's compartment is one): that domain's key and the switch to
  // its rights (the image's flex_bin_program_rights, a checked WRPKRU that continues at r11). The program's
  // memory is tagged with the key as it is mapped up to the end of link() (its segments, its libraries',
  // its stack and heap region), and its anonymous private memory after that comes from a pool reserved and
  // tagged at link (the lockdown allows no pkey_mprotect after boot); files and shared memory it maps after
  // boot keep key 0. Its handlers run on a signal stack of key-0 memory per thread (the kernel enters a
  // handler with key 0's rights only) and take these rights; its sigaltstack is recorded, not made. The
  // answers to its calls run on its domain's stack, with its rights. link() then registers its code
  // (region_kind::program, owned by `compartment`), which the lockdown disarms (its WRPKRUs and XRSTORs,
  // as the image's shared objects') and takes as the process's own code. -1 and null otherwise.
  int pkey = -1;
  void (*rights)() = nullptr;
  unsigned compartment = 0;
};

// Whether `path` is a program the loader runs (an ELF64 x86-64 executable, static or position
// independent, with an interpreter that is one too): an empty string if so, else why not, in words.
std::string check(const std::string &path);

// Whether this machine can run programs (the kernel's dispatch, FSGSBASE): empty if so, else why not.
std::string machine_check();

// Makes the program ready to start, now: maps it, its stack and heap region, and builds its initial stack;
// for a dynamic program, also runs its interpreter on this thread, answered by `dispatch`, until it jumps
// to the program's entry (its libraries mapped, relocated, and their initialisers run; a thread they try
// to start gets -EAGAIN). An image does it at boot, before its lockdown refuses new executable memory
// (W^X). The next run() of the same path and arguments starts at the program's entry. An error, with the
// program unmapped, when it cannot be loaded or its interpreter ends instead (a library not found).
status link(const program &p, dispatch_fn dispatch, void *ctx);

}  // namespace flex::runtime::binary

// Defined by images whose program runs in an mpk domain (flexbuild's generated gates).
extern "C" {
extern const int flex_bin_program_key;
void flex_bin_program_rights();
}
#pragma weak flex_bin_program_key
#pragma weak flex_bin_program_rights

namespace flex::runtime::binary {

// The program an image runs: flex_image's binary_path, its profile's arguments, then argv[1..argc), and
// this process's environment; in an image whose program runs in an mpk domain, that domain's key and rights.
inline program image_program(int argc, char **argv) {
  program p;
  p.path = flex_image.binary_path ? flex_image.binary_path : "";
  const std::size_t slash = p.path.rfind('/');
  p.argv.push_back(slash == std::string::npos ? p.path : p.path.substr(slash + 1));
  for (const char *const *a = flex_image.binary_args; a && *a; ++a) p.argv.emplace_back(*a);
  for (int i = 1; i < argc && argv && argv[i]; ++i) p.argv.emplace_back(argv[i]);
  for (char **e = environ; e && *e; ++e) p.env.emplace_back(*e);
  p.forks = flex_image_forks(&flex_image) != 0;
  if (&flex_bin_program_rights != nullptr && &flex_bin_program_key != nullptr) {
    p.pkey = flex_bin_program_key;
    p.rights = &flex_bin_program_rights;
  }
  for (unsigned c = 0; c < flex_image.n_compartments; ++c) {  // the compartment of the binary app
    for (const char *const *l = flex_image.compartments[c].libraries; l && *l; ++l) {
      if (std::string_view(*l) == "binary") p.compartment = c;
    }
  }
  return p;
}

// Runs the program on this thread to its end (exit or exit_group), whose status goes into *exit_status.
// An error when it cannot be loaded or started; a program that faults ends the process as it would
// natively (the image's fault report names where).
status run(const program &p, dispatch_fn dispatch, void *ctx, int *exit_status);

// How the program's calls have reached the dispatcher since the process started: `bound`, through one of
// the C library functions whose imports link() pointed at the runtime (`bound_slots` of them, in the last
// program linked), with no signal; `caught`, by the dispatch's signal.
struct call_counts {
  std::uint64_t bound_slots = 0, bound = 0, caught = 0;
};
call_counts counts();

// How many of the program's calls of number `nr` nothing in the image served since the process started:
// the dispatcher or the loader answered -ENOSYS (0 for numbers past 511). `--gate-stats` lists them.
std::uint64_t unanswered(long nr);

// The C library functions whose imports link() binds: each is one system call with the function's
// arguments (glibc on x86-64), so a bound call reaches the dispatcher as the caught call would.
std::vector<std::string_view> bound_functions();

// The ranges [lo, hi) the staged program's own mappings were made in, up to the end of link(): its
// segments, its interpreter's, its stack and heap region, and whatever its interpreter and its libraries'
// initialisers mapped. The program's memory, not the image's: the lockdown's layout wall leaves it to the
// program (its allocator commits and returns pages there), and keeps only its code (region_kind::program).
std::vector<std::pair<std::uintptr_t, std::uintptr_t>> memory_ranges();

}  // namespace flex::runtime::binary

// The dispatcher of an image's program, defined by the binary app (apps/binary): link() at boot and run()
// in the app answer the program's calls with it.
extern "C" long flex_binary_answer(void *ctx, long nr, const long args[6]);
