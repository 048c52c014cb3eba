// The system-call check (see syscall_check.h): what the scan found, compared with each compartment's set.
#include "flex/build/syscall_check.h"

#include <cxxabi.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "flex/syscalls/syscalls.h"

namespace flex::build {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

std::string relative_to(const fs::path &p, const fs::path &base) {
  fs::path rel = p.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") return p.string();
  return rel.string();
}

// A function's name as its source spells it (C++ names demangled).
std::string readable(const std::string &symbol) {
  if (symbol.rfind("_Z", 0) != 0) return symbol;
  int status = 0;
  char *name = abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status);
  std::string out = status == 0 && name ? name : symbol;
  std::free(name);
  return out;
}

// One compartment's check: its inputs, what was found, and where the messages go.
class compartment_check {
 public:
  compartment_check(const resolved_compartment &rc, const std::vector<scan_object> &in, const compartment_calls &calls,
                    const check_places &places, bool mpk_walls, syscall_check_result &out)
      : rc_(rc), in_(in), calls_(calls), places_(places), mpk_walls_(mpk_walls), out_(out) {
    for (const found_call &c : calls_.calls) {
      if (!c.syscall.empty()) by_name_[c.syscall].push_back(&c);
    }
  }

  void run() {
    for (const found_call &c : calls_.calls) {
      if (c.syscall.empty()) unknown_number(c);
    }
    for (const auto &[name, list] : by_name_) {
      if (!rc_.find_syscall(name)) undeclared(name, list);
    }
    for (std::size_t i = 0, n = 0; i < calls_.unlisted.size(); i += n) {
      const unlisted_function &u = calls_.unlisted[i];
      for (n = 1; i + n < calls_.unlisted.size() && calls_.unlisted[i + n].name == u.name;) ++n;
      error(fmt::format("{} calls {}() in {}{}, which {} does not list; add it there with the system calls glibc's {} "
                        "can make on x86-64",
                        where(u.object), u.name, readable(u.function), more_places(n),
                        relative_to(places_.table, places_.root), u.name));
    }
    unused_declarations();
    if (mpk_walls_) threads_under_the_wall();
    out_.found.push_back(found_json());
    out_.calls_found += static_cast<int>(by_name_.size());
  }

 private:
  std::string where(std::size_t object) const {
    return fmt::format("{} ({})", in_[object].source, in_[object].path.filename().string());
  }

  static std::string how(const found_call &c) {
    switch (c.kind) {
      case call_kind::libc: return fmt::format("calls {}()", c.via);
      case call_kind::instruction: return "has a syscall instruction";
      case call_kind::syscall_function:
        return c.number >= 0 ? fmt::format("calls syscall({})", c.number) : std::string("calls syscall()");
    }
    return {};
  }

  std::string path_to(const found_call &c) const {
    std::string s = fmt::format("{} {} in {}", where(c.object), how(c), readable(c.function));
    if (!c.root_function.empty()) {
      s += fmt::format(", reached from {} ({})", readable(c.root_function), in_[c.root_object].source);
    }
    return s;
  }

  static std::string more_places(std::size_t n) {
    return n > 1 ? fmt::format(" (and {} more {})", n - 1, n == 2 ? "place" : "places") : "";
  }

  // The lib.yaml of the placed library whose code leads to the call.
  std::string manifest_of(const found_call &c) const {
    const std::string &lib = in_[c.root_object].library;
    for (const lib_manifest *l : rc_.libraries) {
      if (l->name == lib) return relative_to(l->file, places_.root);
    }
    return "the lib.yaml of " + lib;
  }

  void error(std::string message) { out_.errors.push_back(fmt::format("compartment '{}': {}", rc_.name(), message)); }

  void unknown_number(const found_call &c) {
    error(fmt::format("{} with a number the build cannot find: it could make any system call; call libc's wrapper "
                      "instead, or load the number as a constant right before it (mov $N, %{})",
                      path_to(c), c.kind == call_kind::instruction ? "eax" : "edi"));
  }

  void undeclared(const std::string &name, const std::vector<const found_call *> &list) {
    const found_call &c = *list.front();
    std::size_t places = 0;
    for (const found_call *f : list) places += 1 + f->more;
    const std::string more = more_places(places);
    if (std::string_view why = flex::syscalls::never_allowed(name); !why.empty()) {
      error(fmt::format("{}{}, which makes {}(2), which no compartment may make ({}); remove the call", path_to(c), more,
                        name, why));
      return;
    }
    // An application that opens its own sockets talks past the libOS's net (DESIGN.md §2): posix serves it.
    static const std::set<std::string> kSocketCalls = {"socket", "bind", "listen", "accept", "accept4", "connect"};
    const bool app_socket = c.kind == call_kind::libc && !in_[c.object].sees_scoped && kSocketCalls.count(name) &&
                            std::any_of(rc_.libraries.begin(), rc_.libraries.end(), [&](const lib_manifest *l) {
                              return l->kind == lib_kind::app && l->name == in_[c.object].library;
                            });
    error(fmt::format("{}{}, which makes {}(2), not in the compartment's system calls; {}", path_to(c), more, name,
                      app_socket ? fmt::format("to have the libOS's net serve the app's sockets, add posix to "
                                               "requires: in {} (or add {} to its syscalls: to make them itself)",
                                               manifest_of(c), name)
                                 : fmt::format("add it to syscalls: in {}", manifest_of(c))));
  }

  // An mpk domain under enforce runs on its process's one thread where the kernel arms the system-call
  // wall (Syscall User Dispatch is per thread): its thread starts end the image with a report there, and a
  // thread started by a constructor keeps the image from booting. Not an error: on a kernel without the
  // wall (before Linux 6.12) the image runs them.
  void threads_under_the_wall() {
    for (const char *name : {"clone", "clone3", "fork", "vfork"}) {
      auto it = by_name_.find(name);
      if (it == by_name_.end()) continue;
      const found_call &c = *it->second.front();
      out_.warnings.push_back(fmt::format(
          "compartment '{}': {}, which makes {}(2): an mpk domain under `lockdown: enforce` runs on its process's one "
          "thread where the kernel arms the system-call wall (Linux 6.12), so this call ends the image with a report "
          "there (a thread started before main keeps it from booting); place the library in a process compartment, "
          "or build with `lockdown: log` or `off`",
          rc_.name(), path_to(c), name));
      return;
    }
  }

  void unused_declarations() {
    for (const lib_manifest *lib : rc_.libraries) {
      for (const syscall_decl &d : lib->syscalls) {
        if (by_name_.count(d.name.value)) continue;
        const source_pos &p = d.name.pos;
        out_.warnings.push_back(fmt::format(
            "{}:{}:{}: compartment '{}': {} declares {}, which nothing in the compartment's objects makes; remove it "
            "from syscalls:",
            relative_to(p.file, places_.root), p.line, p.column, rc_.name(), lib->name, d.name.value));
      }
    }
  }

  json found_json() const {
    json list = json::array();
    for (const auto &[name, calls] : by_name_) {
      const syscall_entry *e = rc_.find_syscall(name);
      json from = json::array();
      std::size_t left_out = 0;
      for (const found_call *c : calls) {
        left_out += c->more;
        json f{{"function", readable(c->function)}, {"kind", to_string(c->kind)}};
        if (!c->via.empty()) f["via"] = c->via;
        f["source"] = in_[c->object].source;
        f["object"] = relative_to(in_[c->object].path, places_.work);
        from.push_back(std::move(f));
      }
      json entry{{"name", name}, {"number", calls.front()->number}, {"in_set", e != nullptr}};
      if (e) entry["needed_by"] = e->needed_by;
      entry["from"] = std::move(from);
      if (left_out) entry["more"] = left_out;  // functions that make it the same way as one listed
      list.push_back(std::move(entry));
    }
    return list;
  }

  const resolved_compartment &rc_;
  const std::vector<scan_object> &in_;
  const compartment_calls &calls_;
  const check_places &places_;
  const bool mpk_walls_;  // an mpk domain of an enforce image
  syscall_check_result &out_;
  std::map<std::string, std::vector<const found_call *>> by_name_;
};

}  // namespace

std::vector<std::vector<scan_object>> scan_inputs(const resolved_image &img, const std::vector<unit> &units,
                                                  const fs::path &root) {
  std::vector<std::vector<scan_object>> out(img.compartments.size());
  for (const unit &u : units) {
    const auto c = static_cast<std::size_t>(u.comp - img.compartments.data());
    const bool posix = u.lib->name == kPosixLibrary;
    const bool with_posix = std::any_of(u.comp->libraries.begin(), u.comp->libraries.end(),
                                        [](const lib_manifest *l) { return l->name == kPosixLibrary; });
    out[c].push_back({u.object, u.lib->name, relative_to(u.source, root), u.lib->replicated, posix,
                      posix || (with_posix && u.lib == img.app)});
  }
  return out;
}

syscall_check_result check_syscalls(const resolved_image &img, const std::vector<std::vector<scan_object>> &inputs,
                                    const std::vector<compartment_calls> &calls, const check_places &places) {
  syscall_check_result out;
  for (std::size_t i = 0; i < img.compartments.size() && i < inputs.size() && i < calls.size(); ++i) {
    const bool mpk_walls = img.prof && img.prof->lockdown == lockdown_mode::enforce &&
                           img.compartments[i].spec && img.compartments[i].spec->iso == isolation::mpk;
    compartment_check(img.compartments[i], inputs[i], calls[i], places, mpk_walls, out).run();
  }
  return out;
}

}  // namespace flex::build
