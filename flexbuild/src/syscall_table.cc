// The libc-function -> system-call table (see syscall_table.h), read strictly through flex::yaml.
#include "flex/build/syscall_table.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "flex/syscalls/syscalls.h"
#include "flex/yaml/yaml.h"

#ifndef FLEX_SOURCE_DIR
#define FLEX_SOURCE_DIR "."
#endif

namespace flex::build {

namespace fs = std::filesystem;

std::filesystem::path default_syscall_table() {
  return fs::path(FLEX_SOURCE_DIR) / "flexbuild" / "data" / "libc_syscalls.yaml";
}

std::optional<syscall_table> syscall_table::parse(const fs::path &file, std::string_view text,
                                                  yaml::diag_sink &diags) {
  const int errors_before = diags.error_count();
  auto root = yaml::parse_document(file.string(), text, diags);
  if (!root) return std::nullopt;
  auto entries = yaml::read_map(*root, {file.string(), 1, 1},
                                {"the system-call table", {}, "write `function: [system call, ...]`"}, diags);
  if (!entries) return std::nullopt;
  syscall_table table;
  table.file_ = file;
  for (const yaml::entry &e : *entries) {
    auto calls = yaml::read_scalar_list(e, diags);
    if (!calls) continue;
    function fn;
    fn.line = e.key_pos.line;
    for (const yaml::located &c : *calls) {
      if (flex::syscalls::number(c.value) < 0) {
        diags.error(c.pos, "'" + c.value + "' is not a system call of x86-64",
                    "use the kernel's name (see `man 2 syscalls`), e.g. newfstatat rather than stat");
        continue;
      }
      fn.calls.push_back(c.value);
    }
    std::sort(fn.calls.begin(), fn.calls.end());
    fn.calls.erase(std::unique(fn.calls.begin(), fn.calls.end()), fn.calls.end());
    table.functions_.emplace(e.key, std::move(fn));
  }
  if (diags.error_count() != errors_before) return std::nullopt;
  return table;
}

std::optional<syscall_table> syscall_table::load(const fs::path &file, yaml::diag_sink &diags) {
  std::ifstream in(file);
  if (!in) {
    diags.error({file.string(), 0, 0}, "cannot read the system-call table", "it belongs to the Flex tree");
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse(file, text.str(), diags);
}

const syscall_table::function *syscall_table::find(std::string_view name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

}  // namespace flex::build
