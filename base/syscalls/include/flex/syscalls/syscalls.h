// Linux x86-64 system calls by name, and the rules every image follows (DESIGN.md §8).
//
//   int nr = flex::syscalls::number("ptrace");                 // 101; -1 for a name the kernel lacks
//   std::string_view why = flex::syscalls::never_allowed("bpf");  // non-empty: no compartment may call it
//   for (std::string_view s : flex::syscalls::runtime_needs(flex::syscalls::process_kind::compartment)) ...
//
// Names and numbers come from libseccomp's table for SCMP_ARCH_X86_64, so a name flexbuild accepts is one
// the filter can enforce.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace flex::syscalls {

// The number of `name` on x86-64, or -1 when there is no such system call.
int number(std::string_view name);

// The name of system call `nr` ("" when unknown). Allocates: not for signal handlers (see name_table).
std::string name(int nr);

// Why no compartment may make `name`, whatever its lib.yaml says (empty when it may). The runtime's own
// boot makes some of these (pkey_alloc, pkey_mprotect) before any compartment runs.
std::string_view never_allowed(std::string_view name);

struct forbidden_call {
  std::string_view name;
  std::string_view why;
};
std::span<const forbidden_call> never_allowed_calls();

// What the runtime makes on its own in a process of an image after boot, besides the compartments' sets:
// every process (reports, heaps, signals, stdio, futex waits), the main process of an image with
// compartment processes (it watches and ends them), and a compartment process (it serves calls).
enum class process_kind { any, supervisor, compartment };
std::span<const std::string_view> runtime_needs(process_kind kind);
// What the sanitizer runtimes (ASan, UBSan) make in a hardened compartment besides those (measured with
// `lockdown: log`): they probe memory through a pipe.
std::span<const std::string_view> sanitizer_needs();
// What the loader of unmodified programs (runtime/binary) makes, in the process of an image that runs one.
std::span<const std::string_view> loader_needs();

// Socket address families by name ("AF_INET" -> 2), for the `socket(AF_INET, AF_INET6)` form of a
// lib.yaml entry; -1 when unknown.
int socket_family(std::string_view name);
std::string_view socket_family_name(int family);  // "" when unknown

// A table of every system call's name indexed by number, for code that must not allocate (a SIGSYS
// handler). Filled once by name_table_init() (allocates; call it before lockdown); entries are nullptr
// for unknown numbers.
inline constexpr int kMaxSyscall = 512;
void name_table_init();
const char *name_of(int nr);  // nullptr before name_table_init() or when unknown

}  // namespace flex::syscalls
