// Lockdown (DESIGN.md §8): after boot and before the app's first instruction, every process of an image
// is confined to the system calls of the compartments it hosts, so a compromised compartment cannot
// reach another through the kernel (ptrace, process_vm_readv, /proc/PID/mem, signals, new executable
// memory, a foreign system-call ABI).
//
// In each process (the main one, and each compartment process just before it serves its first call):
//   - open descriptors the compartment has no use for are closed (compartment processes: all but 0-2);
//   - PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0 (its /proc/PID entries become root's, and no process without
//     CAP_SYS_PTRACE may ptrace it or read its memory), every capability dropped (effective, permitted,
//     inheritable, ambient and the bounding set), so root's powers do not survive boot;
//   - Landlock where the kernel has it: no file access outside the process's own /proc entries; where
//     hostfs lives, none outside the host directories named at boot (hostfs_boot_dirs), from the
//     lockdown on, so that no compartment of that process ever reaches another file (hostfs's mounts must
//     lie beneath them: lockdown_files.h); a compartment process also may not signal processes outside
//     its own domain (ABI 6) nor reach abstract unix sockets of others;
//   - a seccomp-BPF filter (libseccomp) allowing exactly the union of its compartments' sets (image.json
//     lists them), with arguments checked where they matter: mmap and mprotect never with PROT_EXEC,
//     clone only with CLONE_THREAD (clone3, whose flags a filter cannot read, fails with ENOSYS and glibc
//     falls back to clone), socket only with the declared families, tgkill only to itself, kill only by
//     the main process of an image with compartment processes, ioctl only TCGETS (stdio's isatty) unless
//     a library declares ioctl. Foreign architectures (int 0x80, x32 numbers) are refused.
//
// `lockdown: enforce`: a call outside the set is not made; the image ends with
//   flex: compartment 'net' (pid 4711) made a system call outside its set: ptrace(PTRACE_SEIZE, 4712, 0x0, 0x0)
// and exit status kExitSyscall. `log`: the same line, prefixed "lockdown log:", and the call is made (a
// supervisor thread, started before the filter, answers the kernel's user notifications); for porters
// learning a set, never for production. `off`: nothing is installed.
//
// In one process (none and mpk images, and the main process of a mixed one) the filter is the union of
// the hosted compartments' sets. Where that process hosts mpk domains, enforce adds the layout wall, the
// signal wall and the system-call wall (runtime/mpk: mpk_signals.cc, mpk_syscalls.cc), which check each
// domain's calls against its own set; between none compartments there is no wall.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "flex/runtime/backend.h"
#include "flex/runtime/fault.h"  // kExitSyscall
#include "flex/runtime/layout.h"
#include "flex/runtime/status.h"

namespace flex::runtime {

// The Landlock ABI version of the running kernel; 0 when it has none.
int landlock_abi();

// A process holding mpk domains reaches no /proc under enforce: /proc/self/mem reads and writes past
// protection keys, and Landlock is what keeps it out of reach. Where the kernel has no Landlock
// (`landlock_abi` 0), the first such domain whose set opens files (open, openat, openat2, creat), which
// check() names in its refusal; nullptr where there is none, or Landlock is there.
const char *mpk_domain_opening_files_without_landlock(const flex_image_layout &img, int landlock_abi);

// The host directories hostfs may reach in a process locked down with `enforce`, known before the app
// runs: the value of the app's `hostfs_dir` option on its command line `args` (`--dir X` or `--dir=X`, the
// last one, as the app reads it) or else its default, and each HOSTDIR of `mounts` (posix's FLEX_MOUNTS,
// "TARGET=HOSTDIR[,...]"; null: none). As written: relative ones are the working directory's.
std::vector<std::string> hostfs_boot_dirs(const flex_image_layout &img, const std::vector<std::string> &args,
                                          const char *mounts);

// Locks down the calling process for the compartments whose bit is set in `hosted`; `supervisor` for the
// main process of an image with compartment processes. Single-threaded, after the process's boot.
status lockdown_process(const flex_image_layout &img, std::uint64_t hosted, bool supervisor);

// The image's lockdown, the last step of boot: the main process here, each compartment process through
// the process backend's start hook (lockdown_compartment_process).
struct lockdown_lifecycle {
  static constexpr const char *kName = "lockdown";
  static constexpr const char *kGates[] = {"lockdown"};
  static bool applies(const flex_image_layout &) { return true; }  // off: nothing to boot, but --describe says so
  static status check(const flex_image_layout &img);
  static status boot(boot_context &ctx);
  static void teardown() {}
  static void describe(const flex_image_layout &img, std::FILE *out);
};
static_assert(lifecycle<lockdown_lifecycle>);

// What a compartment process runs once booted, before its first call (the process backend's start hook).
void lockdown_compartment_process(const flex_image_layout &img, unsigned compartment);

}  // namespace flex::runtime
