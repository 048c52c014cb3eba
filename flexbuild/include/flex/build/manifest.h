// Library manifests (lib.yaml, DESIGN.md §2): the typed model and its parser.
//
//   name: console
//   sources: [src/console.c]
//   exports: [console_write, console_log]
//   requires: []
//   options:
//     level: {default: info, help: "lowest level printed; each message costs one write(2)"}
//   replicated: false
//   syscalls: [write, socket(AF_INET, AF_INET6)]   # what its code makes, itself or through libc
//
// Every library of the tree (libos/<lib>/lib.yaml and apps/<app>/lib.yaml) is loaded into a
// library_index; errors name the lib.yaml file, line and column.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flex/yaml/diag.h"

namespace flex::build {

// flexbuild's model and checks speak the diagnostics of the base YAML library (flex/yaml/diag.h).
using yaml::diag_sink;
using yaml::located;
using yaml::source_pos;

struct lib_option {
  std::string name;
  std::string default_value;
  std::string help;
  source_pos pos;
};

enum class lib_kind { libos, app };

// One entry of `syscalls:`: a system call the library's code makes, with the socket families it opens for
// the form `socket(AF_INET, AF_INET6)` (the filter then refuses other families).
struct syscall_decl {
  located name;
  std::vector<int> families;  // socket only; empty: the plain name
};

struct lib_manifest {
  std::string name;
  lib_kind kind = lib_kind::libos;
  std::filesystem::path dir;   // the folder holding lib.yaml (absolute)
  std::filesystem::path file;  // lib.yaml itself (absolute)
  std::vector<located> sources;  // relative to dir
  std::vector<located> exports;
  std::vector<located> deps;     // `requires` (a C++20 keyword, hence the name)
  std::vector<lib_option> options;
  bool replicated = false;
  std::vector<syscall_decl> syscalls;  // DESIGN.md §8: a compartment's set is the union over its libraries
  std::vector<located> defines;        // NAME or NAME=VALUE, passed with -D to its sources (a ported program's)
  std::vector<located> includes;       // folders (relative to dir) its sources' #include <...> search
  // An app's `hostfs_dir`: the command-line option naming the host directory it mounts with hostfs, and
  // the directory taken without it (empty: none). The lockdown confines file access to it from the boot on.
  std::optional<located> hostfs_dir_option;
  std::string hostfs_dir_default;
  source_pos name_pos;

  bool exports_symbol(std::string_view symbol) const;
  std::filesystem::path include_dir() const { return dir / "include"; }
};

// Parses one lib.yaml given its text. `file` is used for diagnostics and to resolve sources.
// Checks: known keys only (unknown ones suggest the nearest), required `name` and `sources`, types,
// identifiers for names and exports, sources that exist, no duplicates. Returns nullopt on error.
std::optional<lib_manifest> parse_manifest(const std::filesystem::path &file, std::string_view text,
                                           lib_kind kind, diag_sink &diags);

// Reads and parses a lib.yaml from disk.
std::optional<lib_manifest> load_manifest(const std::filesystem::path &file, lib_kind kind,
                                          diag_sink &diags);

// All libraries of a source tree.
class library_index {
 public:
  // Adds a manifest; reports a duplicate name (pointing at both files) and returns false.
  bool add(lib_manifest lib, diag_sink &diags);
  // Checks that every `requires` names a known library (with a "did you mean" hint).
  void check_requires(diag_sink &diags) const;

  const lib_manifest *find(std::string_view name) const;
  std::vector<std::string> names() const;
  const std::map<std::string, lib_manifest, std::less<>> &all() const { return libs_; }

 private:
  std::map<std::string, lib_manifest, std::less<>> libs_;
};

// Loads root/libos/*/lib.yaml (kind libos) and root/apps/*/lib.yaml (kind app), then checks requires.
library_index load_library_index(const std::filesystem::path &root, diag_sink &diags);

}  // namespace flex::build
