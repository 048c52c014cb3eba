// Compartment profiles (DESIGN.md §4): the typed model, the parser and the validator.
//
//   name: hello-2comp
//   app: hello
//   compartments:
//     - name: app
//       isolation: none
//       hardening: [ubsan]
//       libraries: [hello]
//     - name: core
//       default: true
//       libraries: [console]
//   sharing: {stack: dss}
//   gates: {mpk: full}
//   memory: {heap_mib: {app: 64, core: 32}}
//
// Instead of `app:`, `binary:` names an unmodified program (binary_program below).
//
// parse_profile() checks the schema (keys, types, enum values); validate_profile() checks it against the
// library index (known libraries, one compartment per library, one default, key budget, ...). Every
// error names file:line:col and says how to fix it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flex/build/manifest.h"
#include "flex/yaml/diag.h"

namespace flex::build {

// Ordered weakest to strongest: the boundary between two compartments uses the stronger of the two.
enum class isolation { none = 0, mpk = 1, process = 2 };

enum class hardening { asan, ubsan, stack_protector, fortify, safestack, cfi };

enum class stack_sharing { dss, heap, shared };

enum class mpk_gate_kind { full, light };

// DESIGN.md §8: enforce (the default) stops a system call outside a compartment's set and ends the image
// with a report; log reports it and lets it run (for porters); off installs nothing (the weakest).
enum class lockdown_mode { off = 0, log = 1, enforce = 2 };

std::string_view to_string(isolation i);
std::string_view to_string(hardening h);
std::string_view to_string(stack_sharing s);
std::string_view to_string(mpk_gate_kind g);
std::string_view to_string(lockdown_mode m);

// x86-64 has 16 protection keys; key 0 is the untrusted default, one key tags shared memory, one is the
// runtime's own (its signal arena) and one its system-call page (read-only to compartments), so at most 12
// compartments can share one address space under mpk (flex::runtime::kMaxMpkDomains, which the generated
// gates check against this one).
inline constexpr int kMaxMpkDomains = 12;

struct compartment {
  std::string name;
  isolation iso = isolation::none;
  std::vector<hardening> hardenings;
  std::vector<located> libraries;
  bool is_default = false;
  std::uint64_t heap_mib = 0;  // 0: the runtime's default
  source_pos pos;              // the `- name:` line
  source_pos iso_pos;
  source_pos hardening_pos;
  std::vector<source_pos> hardening_item_pos;  // where each of `hardenings` is written

  bool has(hardening h) const;
};

// An unmodified Linux program the image runs instead of an app written for Flex (`binary:`): its app is
// then `binary` (apps/binary), which loads the program and has posix serve its system calls.
//   binary: /bin/busybox                       or   binary: {path: /usr/bin/redis-server, args: [--save, ""]}
struct binary_program {
  located path;                    // absolute, an x86-64 Linux executable (flex::elf::program_problem)
  std::vector<std::string> args;   // before the command line's own
};
inline constexpr std::string_view kBinaryApp = "binary";

struct profile {
  std::filesystem::path file;
  std::string name;
  located app;
  std::optional<binary_program> binary;
  std::vector<compartment> compartments;
  stack_sharing stack = stack_sharing::dss;
  mpk_gate_kind mpk_gate = mpk_gate_kind::full;
  lockdown_mode lockdown = lockdown_mode::enforce;

  const compartment *default_compartment() const;
  const compartment *find(std::string_view name) const;
};

// Schema checks only. Returns nullopt (with diagnostics) on any error.
std::optional<profile> parse_profile(const std::filesystem::path &file, std::string_view text,
                                     diag_sink &diags);
std::optional<profile> load_profile(const std::filesystem::path &file, diag_sink &diags);

// Checks against the library index. Returns false (with diagnostics) on any error.
bool validate_profile(const profile &p, const library_index &libs, diag_sink &diags);

}  // namespace flex::build
