// Strict reading of the YAML files users write (lib.yaml manifests, profiles, space files) on top of
// yaml-cpp: one document per file with bounded nesting, maps whose keys are checked (unknown keys get a
// "did you mean", duplicate keys, which yaml-cpp accepts silently, are errors), typed values, and
// positions (yaml-cpp marks are 0-based, ours 1-based, and null nodes have no useful mark). Each problem
// becomes a diagnostic (flex/yaml/diag.h) that names file:line:col and says how to fix it.
//
//   namespace yaml = flex::yaml;
//   yaml::diag_sink diags;
//   auto root = yaml::parse_document(file, text, diags);  // nullopt: reported
//   if (!root) return;
//   auto keys = yaml::read_map(*root, {file, 1, 1}, {"the profile", {"name", "app"}, ""}, diags);
//   if (!keys) return;
//   if (const yaml::entry *e = yaml::find(*keys, "name")) {
//     if (auto name = yaml::read_scalar(*e, "write `name: <name>`", diags)) use(name->value, name->pos);
//   }
//   if (diags.has_errors()) diags.print(stderr);
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flex/yaml/diag.h"

namespace flex::yaml {

// Inputs nested deeper than this are rejected before yaml-cpp, whose parser recurses, sees them.
inline constexpr int kMaxNesting = 64;

// Parses `text` as a single YAML document; `file` names it in diagnostics. Syntax errors, too deep
// nesting and extra documents become diagnostics and give nullopt; an empty text gives a null node.
std::optional<YAML::Node> parse_document(const std::string &file, std::string_view text, diag_sink &diags);

// Where `node` starts, 1-based. Null and undefined nodes have no useful mark: they get `fallback`.
source_pos pos_of(const YAML::Node &node, const source_pos &fallback);

// "a list", "a map", "a single value" or "nothing", for "found ..." messages.
std::string_view describe(const YAML::Node &node);

// One `key: value` of a map, in the order written.
struct entry {
  std::string key;
  YAML::Node value;
  source_pos key_pos;
  source_pos pos;  // the value; the key when the value has no mark (null)
};

// What read_map accepts, and how its messages name the map.
struct map_rules {
  std::string_view what;           // the map, for messages: "a compartment", "`sharing`"
  std::vector<std::string> known;  // the keys allowed; empty: any key
  std::string_view shape_hint;     // how to write the map, for "must be a map"
};

// The entries of a map (null counts as empty). Reports keys that are not plain scalars, keys written
// twice (at the second) and unknown keys (with the nearest known one); those entries are left out.
// Returns nullopt when the node is not a map.
std::optional<std::vector<entry>> read_map(const YAML::Node &node, const source_pos &pos,
                                           const map_rules &rules, diag_sink &diags);
// The entry for `key`, or nullptr when the map has none.
const entry *find(const std::vector<entry> &entries, std::string_view key);

// Typed values. Each reports what is wrong at the value (with `hint`) and returns nullopt.
std::optional<located> read_scalar(const entry &e, std::string_view hint, diag_sink &diags);
std::optional<bool> read_bool(const entry &e, diag_sink &diags);
// A list of single values (null counts as empty); bad items are reported and left out. Longer lists
// than kMaxListItems are errors: aliases (*name) could otherwise multiply them without bound.
inline constexpr std::size_t kMaxListItems = 1024;
std::optional<std::vector<located>> read_scalar_list(const entry &e, diag_sink &diags);
// The index of `v` in `valid`; an unknown value lists the valid ones and suggests the nearest.
std::optional<std::size_t> match_enum(const located &v, std::string_view what,
                                      const std::vector<std::string> &valid, diag_sink &diags);

// "did you mean 'x'?" when a candidate is close to `word`, else "<label>: a, b, c" ("<label>: none").
std::string suggest(std::string_view word, const std::vector<std::string> &candidates,
                    std::string_view label);
std::string join(const std::vector<std::string> &items);  // "a, b, c"
// 'value' for messages: control characters escaped, long values shortened.
std::string quote(std::string_view value);

bool is_name(std::string_view s);          // [a-z][a-z0-9_]*: libraries, compartments, options
bool is_c_identifier(std::string_view s);  // [A-Za-z_][A-Za-z0-9_]*: exported symbols

}  // namespace flex::yaml
