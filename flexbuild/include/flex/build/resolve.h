// Resolution: a validated profile plus the library index become the concrete image plan: which libraries
// the image holds (the app plus the closure of `requires`, plus anything the profile lists), which
// compartment each one lives in (unlisted ones go to the default compartment; replicated ones into every
// compartment), and the mechanism of every boundary a gate may cross.
//
//   auto img = flex::build::resolve(profile, index, diags);
//   for (const auto &c : img->compartments) ...
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "flex/build/manifest.h"
#include "flex/build/profile.h"
#include "flex/yaml/diag.h"

namespace flex::build {

// One system call of a compartment's set (DESIGN.md §8), with who needs it: the libraries that declare it
// in lib.yaml `syscalls:`, and "runtime" when the runtime makes it in the compartment's process.
struct syscall_entry {
  std::string name;
  int number = -1;
  std::vector<int> families;        // socket: the families allowed; empty: any (or not socket)
  std::vector<std::string> needed_by;  // library names, and "runtime"
};

struct resolved_compartment {
  const compartment *spec = nullptr;
  std::vector<const lib_manifest *> libraries;   // placed here, sorted by name
  std::vector<const lib_manifest *> replicated;  // linked as private copies
  std::vector<syscall_entry> syscalls;           // its set, sorted by name
  std::vector<std::string> peers;                // compartments a gate links it with (either direction)
  const std::string &name() const { return spec->name; }
  const syscall_entry *find_syscall(std::string_view name) const;
};

// The gate kind instantiated for a call from one compartment into another.
enum class gate_kind { call, mpk_light, mpk_full, process };
std::string_view to_string(gate_kind k);

struct boundary {
  std::string from;  // compartment names
  std::string to;
  isolation mechanism = isolation::none;  // the stronger of the two compartments'
  gate_kind gate = gate_kind::call;
};

struct resolved_image {
  const profile *prof = nullptr;
  const lib_manifest *app = nullptr;
  std::vector<resolved_compartment> compartments;  // profile order
  std::vector<boundary> boundaries;                // every ordered pair of distinct compartments

  const resolved_compartment *compartment_of(std::string_view library) const;
  const boundary *find_boundary(std::string_view from, std::string_view to) const;
  // The gate used when code placed in `from` calls into library `to_lib` (call for the same compartment
  // and for replicated libraries).
  gate_kind gate_for(const resolved_compartment &from, std::string_view to_lib) const;
};

// The library that serves POSIX names (DESIGN.md §2): it always sits in the compartment of the app, whose
// plain calls it serves, and its names are made private to that compartment at link time.
inline constexpr std::string_view kPosixLibrary = "posix";

std::optional<resolved_image> resolve(const profile &p, const library_index &libs, diag_sink &diags);

}  // namespace flex::build
