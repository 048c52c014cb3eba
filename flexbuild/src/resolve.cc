#include "flex/build/resolve.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <set>
#include <utility>

#include "flex/syscalls/syscalls.h"

namespace flex::build {

std::string_view to_string(gate_kind k) {
  switch (k) {
    case gate_kind::call: return "call";
    case gate_kind::mpk_light: return "mpk-light";
    case gate_kind::mpk_full: return "mpk-full";
    case gate_kind::process: return "process";
  }
  return "?";
}

const resolved_compartment *resolved_image::compartment_of(std::string_view library) const {
  for (const auto &c : compartments) {
    for (const lib_manifest *l : c.libraries) {
      if (l->name == library) return &c;
    }
  }
  return nullptr;
}

const boundary *resolved_image::find_boundary(std::string_view from, std::string_view to) const {
  for (const auto &b : boundaries) {
    if (b.from == from && b.to == to) return &b;
  }
  return nullptr;
}

gate_kind resolved_image::gate_for(const resolved_compartment &from, std::string_view to_lib) const {
  const resolved_compartment *to = compartment_of(to_lib);
  if (to == nullptr || to == &from) return gate_kind::call;  // same compartment, or replicated
  const boundary *b = find_boundary(from.name(), to->name());
  return b ? b->gate : gate_kind::call;
}

namespace {

gate_kind gate_of(isolation mechanism, mpk_gate_kind mpk) {
  switch (mechanism) {
    case isolation::none: return gate_kind::call;
    case isolation::mpk: return mpk == mpk_gate_kind::full ? gate_kind::mpk_full : gate_kind::mpk_light;
    case isolation::process: return gate_kind::process;
  }
  return gate_kind::call;
}

// The app, every library the profile lists, and the closure of their `requires`.
std::set<std::string> library_closure(const profile &p, const library_index &libs) {
  std::set<std::string> seen;
  std::deque<std::string> todo{p.app.value};
  for (const auto &c : p.compartments) {
    for (const auto &l : c.libraries) todo.push_back(l.value);
  }
  while (!todo.empty()) {
    std::string name = todo.front();
    todo.pop_front();
    const lib_manifest *lib = libs.find(name);
    if (lib == nullptr || !seen.insert(name).second) continue;
    for (const auto &dep : lib->deps) todo.push_back(dep.value);
  }
  return seen;
}

}  // namespace

namespace {

void add_syscall(resolved_compartment &rc, std::string_view name, std::string_view who,
                 const std::vector<int> &families) {
  auto it = std::find_if(rc.syscalls.begin(), rc.syscalls.end(), [&](const syscall_entry &e) { return e.name == name; });
  if (it == rc.syscalls.end()) {
    rc.syscalls.push_back({std::string(name), flex::syscalls::number(name), families, {}});
    it = rc.syscalls.end() - 1;
  } else if (it->families.empty() || families.empty()) {
    it->families.clear();  // one library opens any family: so may the compartment
  } else {
    for (int f : families) {
      if (std::find(it->families.begin(), it->families.end(), f) == it->families.end()) it->families.push_back(f);
    }
  }
  if (std::find(it->needed_by.begin(), it->needed_by.end(), who) == it->needed_by.end()) {
    it->needed_by.emplace_back(who);
  }
}

// A compartment's set: what its libraries declare, and what the runtime makes in its process (the main
// process of an image with compartment processes supervises them).
void compute_syscall_set(const resolved_image &img, resolved_compartment &rc) {
  for (const lib_manifest *lib : rc.libraries) {
    for (const syscall_decl &d : lib->syscalls) add_syscall(rc, d.name.value, lib->name, d.families);
  }
  namespace sc = flex::syscalls;
  for (std::string_view s : sc::runtime_needs(sc::process_kind::any)) add_syscall(rc, s, "runtime", {});
  const bool has_processes = std::any_of(img.compartments.begin(), img.compartments.end(), [](const auto &c) {
    return c.spec->iso == isolation::process;
  });
  if (rc.spec->has(hardening::asan) || rc.spec->has(hardening::ubsan)) {
    for (std::string_view s : sc::sanitizer_needs()) add_syscall(rc, s, "sanitizers", {});
  }
  if (img.prof->binary && rc.spec->iso != isolation::process) {  // the program's process: the main one
    for (std::string_view s : sc::loader_needs()) add_syscall(rc, s, "runtime", {});
  }
  if (rc.spec->iso == isolation::process) {
    for (std::string_view s : sc::runtime_needs(sc::process_kind::compartment)) add_syscall(rc, s, "runtime", {});
  } else if (has_processes) {
    for (std::string_view s : sc::runtime_needs(sc::process_kind::supervisor)) add_syscall(rc, s, "runtime", {});
  }
  for (syscall_entry &e : rc.syscalls) std::sort(e.families.begin(), e.families.end());
  std::sort(rc.syscalls.begin(), rc.syscalls.end(),
            [](const syscall_entry &a, const syscall_entry &b) { return a.name < b.name; });
}

// Two compartments are peers when a library of one `requires` a library of the other: its gates (and the
// callbacks handed through them) run between the two.
void compute_peers(resolved_image &img) {
  std::set<std::pair<std::string, std::string>> links;  // both directions
  for (const auto &a : img.compartments) {
    for (const lib_manifest *lib : a.libraries) {
      for (const located &dep : lib->deps) {
        const resolved_compartment *b = img.compartment_of(dep.value);
        if (!b || b == &a) continue;
        links.insert({a.name(), b->name()});
        links.insert({b->name(), a.name()});
      }
    }
  }
  for (auto &c : img.compartments) {
    for (const auto &[from, to] : links) {
      if (from == c.name()) c.peers.push_back(to);  // in name order: links is sorted
    }
  }
}

// posix goes where the app is: the app calls it without a gate, and it copies what crosses a boundary.
bool place_posix(resolved_image &img, const profile &p, const library_index &libs, diag_sink &diags) {
  resolved_compartment *app = nullptr;
  resolved_compartment *listed = nullptr;
  for (auto &rc : img.compartments) {
    for (const lib_manifest *l : rc.libraries) {
      if (l == img.app) app = &rc;
      if (l->name == kPosixLibrary) listed = &rc;
    }
  }
  if (app == nullptr) return true;  // the app itself was not placed: reported by the profile's checks
  if (listed == nullptr) {
    app->libraries.push_back(libs.find(kPosixLibrary));
    return true;
  }
  if (listed == app) return true;
  for (const auto &l : listed->spec->libraries) {
    if (l.value == kPosixLibrary) {
      diags.error(l.pos,
                  fmt::format("library 'posix' is placed in compartment '{}', away from the app '{}' in '{}'",
                              listed->name(), img.app->name, app->name()),
                  fmt::format("posix serves the app's POSIX calls with plain calls and sits with it: remove "
                              "'posix' from compartment '{}' (it follows the app by itself)",
                              listed->name()));
    }
  }
  return false;
}

}  // namespace

const syscall_entry *resolved_compartment::find_syscall(std::string_view name) const {
  for (const syscall_entry &e : syscalls) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::optional<resolved_image> resolve(const profile &p, const library_index &libs, diag_sink &diags) {
  resolved_image img;
  img.prof = &p;
  img.app = libs.find(p.app.value);
  if (img.app == nullptr) {
    diags.error(p.app.pos, "unknown app '" + p.app.value + "'");
    return std::nullopt;
  }
  const compartment *def = p.default_compartment();
  if (def == nullptr) {
    diags.error({p.file.string(), 0, 0}, "profile has no default compartment",
                "mark one compartment `default: true`");
    return std::nullopt;
  }

  std::set<std::string> closure = library_closure(p, libs);
  std::set<std::string> placed;
  for (const auto &c : p.compartments) {
    resolved_compartment rc;
    rc.spec = &c;
    for (const auto &l : c.libraries) {
      if (const lib_manifest *lib = libs.find(l.value)) {
        rc.libraries.push_back(lib);
        placed.insert(lib->name);
      }
    }
    img.compartments.push_back(std::move(rc));
  }
  for (const std::string &name : closure) {
    const lib_manifest *lib = libs.find(name);
    if (placed.count(name) || name == kPosixLibrary) continue;
    for (auto &rc : img.compartments) {
      if (lib->replicated) {
        rc.replicated.push_back(lib);
      } else if (rc.spec == def) {
        rc.libraries.push_back(lib);
      }
    }
  }
  if (closure.count(std::string(kPosixLibrary)) && !place_posix(img, p, libs, diags)) return std::nullopt;
  auto by_name = [](const lib_manifest *a, const lib_manifest *b) { return a->name < b->name; };
  for (auto &rc : img.compartments) {
    std::sort(rc.libraries.begin(), rc.libraries.end(), by_name);
    std::sort(rc.replicated.begin(), rc.replicated.end(), by_name);
  }

  for (const auto &a : img.compartments) {
    for (const auto &b : img.compartments) {
      if (&a == &b) continue;
      boundary bd;
      bd.from = a.name();
      bd.to = b.name();
      bd.mechanism = std::max(a.spec->iso, b.spec->iso);
      bd.gate = gate_of(bd.mechanism, p.mpk_gate);
      img.boundaries.push_back(bd);
    }
  }
  for (auto &rc : img.compartments) compute_syscall_set(img, rc);
  compute_peers(img);
  return img;
}

}  // namespace flex::build
