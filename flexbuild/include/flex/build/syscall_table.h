// The system calls each C library function can make on Linux x86-64 (glibc 2.36): the table the
// system-call check (syscall_scan.h) charges a compartment with when its objects call that function.
// It lives in the repository (flexbuild/data/libc_syscalls.yaml), one function a line:
//
//   printf: &stdio_out [write, newfstatat, ioctl]   # an anchor names a set other lines reuse
//   puts: *stdio_out
//   strlen: []                                      # pure: no system call
//
//   flex::yaml::diag_sink diags;
//   auto table = flex::build::syscall_table::load(flex::build::default_syscall_table(), diags);
//   if (const auto *calls = table->find("printf")) for (const auto &c : *calls) use(c);
//
// Every name on the right must be a system call of x86-64 (flex::syscalls::number); a wrong one is an
// error at its line. Keys are the symbols objects import: C++ library functions by their mangled names.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flex/yaml/diag.h"

namespace flex::build {

class syscall_table {
 public:
  struct function {
    std::vector<std::string> calls;  // system call names, sorted
    int line = 0;
  };

  static std::optional<syscall_table> parse(const std::filesystem::path &file, std::string_view text,
                                            yaml::diag_sink &diags);
  static std::optional<syscall_table> load(const std::filesystem::path &file, yaml::diag_sink &diags);

  // The calls of `name`, or nullptr when the table does not list it.
  const function *find(std::string_view name) const;
  const std::filesystem::path &file() const { return file_; }
  const std::map<std::string, function, std::less<>> &all() const { return functions_; }

 private:
  std::filesystem::path file_;
  std::map<std::string, function, std::less<>> functions_;
};

// flexbuild/data/libc_syscalls.yaml of the tree flexbuild was built from.
std::filesystem::path default_syscall_table();

}  // namespace flex::build
