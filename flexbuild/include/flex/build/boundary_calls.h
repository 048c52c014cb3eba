// The build's check of plain references across a boundary (DESIGN.md §5): after the compile, a
// compartment's object that names a function or variable another compartment's library defines calls it
// (or reads it) around the gate the boundary needs. With a plain call between none compartments that
// happens to work, but the same source faults under mpk or process isolation: a profile must be free to
// change the mechanism, so the reference is an error whatever the mechanism, naming the source, the
// function it is in, what it names, where that lives, and the fix (a gate). The one exception is the
// transformer's own work: across a `none` boundary it instantiates a gate as a plain call, so a source
// with such a gate for a function names it (a hand-written call of the same function in that source
// goes unnoticed under `none`; under mpk or process the gate names __flex_gate_*, so it is caught).
//
//   auto errors = flex::build::check_boundary_calls(img, scan_inputs(img, units, root), &error);
//   for (const auto &e : errors) fprintf(stderr, "flexbuild: error: %s\n", e.c_str());
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "flex/build/resolve.h"
#include "flex/build/syscall_scan.h"

namespace flex::build {

// A gate the transformer instantiated as a plain call (a `none` boundary): its source (absolute, as the
// transform summaries name it) and function. Such a source names the callee directly, by design.
struct plain_gate {
  std::string source;
  std::string function;
  auto operator<=>(const plain_gate &) const = default;
};
// From the libraries' transform summaries (their "gates" of kind "call").
std::set<plain_gate> plain_gates(const std::vector<nlohmann::json> &summaries);

// One line per reference (without "flexbuild: error: "); empty when there is none. `root` makes the
// inputs' sources absolute. An object that cannot be read gives *error instead.
std::vector<std::string> check_boundary_calls(const resolved_image &img,
                                              const std::vector<std::vector<scan_object>> &inputs,
                                              const std::set<plain_gate> &gated, const std::filesystem::path &root,
                                              std::string *error);

}  // namespace flex::build
