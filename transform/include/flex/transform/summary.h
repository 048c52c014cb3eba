// What flex-transform did, for flexbuild: the summary JSON (--summary) and the Makefile depfile
// (--depfile, read by ninja's `deps = gcc`).
//
//   {"library": "hello",
//    "files": [{"source": "/src/apps/hello/src/main.c", "output": "/build/hello/src/main.c"}],
//    "gates": [{"file": "/src/apps/hello/src/main.c", "line": 9, "column": 3, "from": "hello",
//               "to": "console", "from_compartment": "app", "to_compartment": "core",
//               "function": "console_write", "kind": "call", "has_result": false}],
//    "whitelisted": [{"file": "/src/apps/hello/src/main.c", "line": 7, "name": "buf"}],
//    "callbacks": [{"file": "...", "line": 4, "column": 28, "function": "on_tick", "library": "hello",
//                   "from": "ticker", "from_compartment": "core", "to_compartment": "app", "kind": "mpk-full",
//                   "references": 1}],
//    "shared_literals": 2,
//    "diagnostics": [{"file": "...", "line": 3, "column": 5, "severity": "error", "message": "..."}]}
//
// Usage:
//   transform_summary summary{.library = "hello"};
//   std::string json = render_summary_json(summary);
//   std::string deps = render_depfile("/build/hello/transform.json", {"/src/main.c", "/src/plan.json"});
#pragma once

#include "flex/transform/diagnostics.h"
#include "flex/transform/gate_plan.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flex::transform {

struct file_record {
  std::string source;  // absolute path of the original
  std::string output;  // absolute path of the transformed copy
};

struct gate_record {
  std::string file;  // as clang presents it (the original source)
  unsigned line = 0;
  unsigned column = 0;
  std::string from;              // calling library (manifest name)
  std::string to;                // called library
  std::string from_compartment;  // the boundary's two sides
  std::string to_compartment;
  std::string function;
  gate_kind kind = gate_kind::call;
  bool has_result = false;
};

// A string literal passed through a gate, moved to shared read-only data.
struct literal_record {
  std::string file;
  unsigned line = 0;
  std::uint64_t bytes = 0;  // with its terminating NUL
};

struct whitelist_record {
  std::string file;
  unsigned line = 0;
  std::string name;
  std::uint64_t bytes = 0;  // its type's size (0: incomplete)
  std::string storage;      // "static" (one copy in the shared section) or "local" (per call, sharing.stack)
  bool inferred = false;    // shared because a gate's pointer reaches it, not by an annotation
};

// A function marked __attribute__((libX_callback)): library X may call it through a pointer, so a
// pointer to it that this library hands out resolves to the wrapper gating from X's compartment into
// this one (flexbuild generates it, `__flex_gate_<from_compartment>__<function>`).
struct callback_record {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
  std::string function;
  std::string library;           // the library defining the function
  std::string from;              // X: the library that calls it back
  std::string from_compartment;  // X's compartment
  std::string to_compartment;    // the function's
  gate_kind kind = gate_kind::call;
  unsigned references = 0;  // references rewritten to the wrapper
};

struct transform_summary {
  std::string library{};
  std::vector<file_record> files{};  // only files transformed without errors
  std::vector<gate_record> gates{};
  std::vector<whitelist_record> whitelisted{};
  std::vector<callback_record> callbacks{};
  unsigned shared_literals = 0;  // string literals moved to shared read-only data
  std::vector<literal_record> literals{};  // each of them
  std::vector<diag_record> diagnostics{};  // errors and warnings, clang's included
};

std::string render_summary_json(const transform_summary &summary);

// `target: prereq...` in Makefile syntax, escaped as clang escapes depfiles (space and '#' with a
// backslash, '$' as '$$'), one prerequisite per line.
std::string render_depfile(std::string_view target, const std::vector<std::string> &prerequisites);
std::string escape_make_path(std::string_view path);

}  // namespace flex::transform
