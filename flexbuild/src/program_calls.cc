// The system calls of an unmodified program (program_calls.h).
#include "flex/build/program_calls.h"

#include <elf.h>

#include <deque>

#include "flex/build/syscall_sites.h"
#include "flex/elf/elf.h"
#include "flex/syscalls/syscalls.h"

namespace flex::build {

namespace fs = std::filesystem;

namespace {

// Where the interpreter finds a program's libraries on Debian x86-64 (its default path and ld.so.cache's).
constexpr const char *kLibraryDirs[] = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
                                        "/lib", "/usr/lib", "/usr/local/lib"};

std::optional<fs::path> find_library(const std::string &name) {
  if (name.find('/') != std::string::npos) return fs::exists(name) ? std::optional<fs::path>(name) : std::nullopt;
  for (const char *d : kLibraryDirs) {
    std::error_code ec;
    if (fs::path p = fs::path(d) / name; fs::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

// The C library and the interpreter: their calls are the imported functions' (the table), not a decode of
// every wrapper they hold.
bool is_libc(const std::string &name) {
  return name.rfind("libc.so", 0) == 0 || name.rfind("ld-linux", 0) == 0 || name.rfind("libm.so", 0) == 0 ||
         name.rfind("libpthread.so", 0) == 0 || name.rfind("libdl.so", 0) == 0 || name.rfind("librt.so", 0) == 0;
}

}  // namespace

std::optional<program_calls> analyse_program(const fs::path &program, const syscall_table &table, std::string *error,
                                             bool decode) {
  program_calls out;
  site_finder finder;
  std::deque<fs::path> todo = {program};
  std::set<std::string> seen = {program.filename().string()};
  while (!todo.empty()) {
    const fs::path path = todo.front();
    todo.pop_front();
    std::string why;
    auto f = elf::file::open(path.string(), &why);
    if (!f) {
      *error = path.string() + ": " + why;
      return std::nullopt;
    }
    out.objects.push_back(path.string());
    const std::string who = path == program ? std::string("the program") : path.filename().string();
    for (const elf::symbol &s : f->imported_symbols()) {
      if (s.type != STT_FUNC && s.type != STT_NOTYPE) continue;
      if (const syscall_table::function *fn = table.find(s.name)) {
        for (const std::string &c : fn->calls) out.calls[c].insert(who + " imports " + s.name);
      }
    }
    for (const elf::segment &seg : f->segments()) {
      if (!decode || seg.type != PT_LOAD || !(seg.flags & PF_X)) continue;
      auto code = f->bytes(seg);
      if (!code) continue;
      auto sites = finder.syscall_instructions(*code, error);
      if (!sites) return std::nullopt;
      for (const syscall_site &site : *sites) {
        const std::string name = site.number >= 0 ? flex::syscalls::name(site.number) : std::string();
        if (name.empty()) {
          ++out.unknown_sites;
        } else {
          out.calls[name].insert("a syscall instruction in " + who);
        }
      }
    }
    for (const std::string &lib : f->needed()) {
      if (!seen.insert(lib).second || is_libc(lib)) continue;
      if (auto p = find_library(lib)) {
        todo.push_back(*p);
      } else {
        out.missing.push_back(lib);
      }
    }
  }
  return out;
}

std::vector<forbidden_import> forbidden_imports(const program_calls &calls) {
  std::vector<forbidden_import> out;
  for (const auto &[name, where] : calls.calls) {
    const std::string_view why = flex::syscalls::never_allowed(name);
    if (why.empty()) continue;
    for (const std::string &w : where) {
      if (w.rfind("the program imports ", 0) == 0) out.push_back({name, std::string(why), w});
    }
  }
  return out;
}

}  // namespace flex::build
