// The system calls an unmodified program (a profile's `binary:`) can make, found in its files at build
// time as HermiTux identifies them: the `syscall` instructions of the program and of each library it
// needs (DT_NEEDED, found in the host's library directories, transitively), with the number each loads,
// and the C library functions they import, through the libc table (syscall_table.h). The C library and
// the interpreter are not decoded themselves: what they make is what the functions imported from them
// make. A site whose number is not a constant in front of it is counted, not named.
//
//   auto calls = flex::build::analyse_program("/usr/bin/redis-server", table, &error);
//   for (const auto &[name, where] : calls->calls) printf("%s: %s\n", name.c_str(), where.begin()->c_str());
//
// flexbuild writes the result into image.json ("program") and `flexbuild report` lists it, each call with
// who answers it in the image: the loader, posix on the libOS, the kernel (the compartment's set), or
// nobody (-ENOSYS at run time).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flex/build/syscall_table.h"

namespace flex::build {

struct program_calls {
  std::vector<std::string> objects;                    // the program, then its libraries' paths
  std::map<std::string, std::set<std::string>> calls;  // system call -> where: "imports read", "syscall in libx.so"
  std::vector<std::string> missing;                    // libraries named but found in no library directory
  int unknown_sites = 0;                               // `syscall` instructions with no constant number
};

// nullopt with a message when the program or a library cannot be read, or the disassembler not loaded.
// Without `decode`, only the imports are read (no `syscall` instruction is looked for).
std::optional<program_calls> analyse_program(const std::filesystem::path &program, const syscall_table &table,
                                             std::string *error, bool decode = true);

// A call no lockdown allows (flex::syscalls::never_allowed) that the program itself imports a C library
// function for: the image could never make it, so flexbuild refuses such a program under any lockdown but
// `off`. Only the program's own imports count. A library's are reported, not refused: a general-purpose
// library holds functions its programs never reach (libsystemd imports setns and mount for namespace
// helpers redis-server never calls). So are `syscall` instructions: a static program's C library holds a
// wrapper of every call (busybox's holds mount's for its applet).
struct forbidden_import {
  std::string call;   // "mount"
  std::string why;    // never_allowed's reason
  std::string where;  // "the program imports mount"
};
std::vector<forbidden_import> forbidden_imports(const program_calls &imports_only);

}  // namespace flex::build
