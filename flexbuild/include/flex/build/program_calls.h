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
std::optional<program_calls> analyse_program(const std::filesystem::path &program, const syscall_table &table,
                                             std::string *error);

}  // namespace flex::build
