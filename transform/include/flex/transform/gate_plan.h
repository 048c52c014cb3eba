// The gate plan: what flexbuild tells flex-transform about the library being transformed and about every
// library of the image it may call. flexbuild writes one plan.json per library:
//
//   {"library": "hello", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
//    "targets": {"console": {"compartment": "core", "gate": "call", "exports": ["console_write"]},
//                "hello":   {"compartment": "app",  "gate": "call", "exports": ["hello_main"]}}}
//
// `targets` lists every library of the image (manifest names, without "lib") with the gate kind used from
// this library's compartment to that library's, and the functions a gate may call there.
//
// Usage:
//   flex::transform::diag_log log(llvm::errs());
//   std::optional<gate_plan> plan = flex::transform::load_gate_plan("build/hello/plan.json", log);
//   if (!plan) return 1;                                     // errors name the plan's path
//   if (const gate_target *console = plan->find_gate_library("libconsole")) ...
#pragma once

#include "flex/transform/diagnostics.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flex::transform {

// How a call crosses from one compartment to another (DESIGN.md §6).
enum class gate_kind { call, mpk_light, mpk_full, process };

// The plan's spelling: "call", "mpk-light", "mpk-full", "process".
std::string_view to_string(gate_kind kind);
std::optional<gate_kind> parse_gate_kind(std::string_view name);

// One library of the image, as seen from the library being transformed.
struct gate_target {
  std::string library;      // manifest name: "console"
  std::string compartment;  // where it runs: "core"
  gate_kind gate = gate_kind::call;
  std::vector<std::string> exports;  // the only functions a gate may call

  bool exports_function(std::string_view name) const;
};

struct gate_plan {
  std::string path;                                         // where the plan was read from
  std::string library;                                      // the library being transformed: "hello"
  std::string compartment;                                  // its compartment: "app"
  std::string isolation = "none";                           // that compartment's: none | mpk | process
  std::map<std::string, std::string, std::less<>> sharing;  // "stack" -> "dss"
  std::map<std::string, gate_target, std::less<>> targets;  // by manifest name

  // The target a gate names, spelled FlexOS-style ("libconsole"); nullptr if the image has none.
  const gate_target *find_gate_library(std::string_view gate_name) const;
  // Every target spelled as gates name it ("libconsole", ...), for "did you mean" hints.
  std::vector<std::string> gate_library_names() const;
};

// Parses a plan; reports every problem to `log` against `path` (with line and column for JSON syntax
// errors) and returns nothing if there was one.
std::optional<gate_plan> parse_gate_plan(std::string_view text, const std::string &path, diag_log &log);
std::optional<gate_plan> load_gate_plan(const std::string &path, diag_log &log);

// The candidate nearest to `name` when it is close enough to be a typo of it, for "did you mean" hints.
std::optional<std::string> nearest_name(std::string_view name, const std::vector<std::string> &candidates);

}  // namespace flex::transform
