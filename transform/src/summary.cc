#include "flex/transform/summary.h"

#include <nlohmann/json.hpp>

namespace flex::transform {

std::string render_summary_json(const transform_summary &summary) {
  using json = nlohmann::ordered_json;
  json files = json::array(), gates = json::array(), whitelisted = json::array(), diagnostics = json::array();
  for (const file_record &f : summary.files) files.push_back({{"source", f.source}, {"output", f.output}});
  for (const gate_record &g : summary.gates) {
    gates.push_back({{"file", g.file},
                     {"line", g.line},
                     {"column", g.column},
                     {"from", g.from},
                     {"to", g.to},
                     {"from_compartment", g.from_compartment},
                     {"to_compartment", g.to_compartment},
                     {"function", g.function},
                     {"kind", std::string(to_string(g.kind))},
                     {"has_result", g.has_result}});
  }
  for (const whitelist_record &w : summary.whitelisted)
    whitelisted.push_back({{"file", w.file},
                           {"line", w.line},
                           {"name", w.name},
                           {"bytes", w.bytes},
                           {"storage", w.storage},
                           {"inferred", w.inferred}});
  json literals = json::array();
  for (const literal_record &l : summary.literals) literals.push_back({{"file", l.file}, {"line", l.line}, {"bytes", l.bytes}});
  json callbacks = json::array();
  for (const callback_record &c : summary.callbacks) {
    callbacks.push_back({{"file", c.file},
                         {"line", c.line},
                         {"column", c.column},
                         {"function", c.function},
                         {"library", c.library},
                         {"from", c.from},
                         {"from_compartment", c.from_compartment},
                         {"to_compartment", c.to_compartment},
                         {"kind", std::string(to_string(c.kind))},
                         {"references", c.references}});
  }
  for (const diag_record &d : summary.diagnostics) {
    diagnostics.push_back({{"file", d.file},
                           {"line", d.line},
                           {"column", d.column},
                           {"severity", std::string(to_string(d.severity))},
                           {"message", d.message}});
  }
  json out = {{"library", summary.library},
              {"files", std::move(files)},
              {"gates", std::move(gates)},
              {"whitelisted", std::move(whitelisted)},
              {"callbacks", std::move(callbacks)},
              {"shared_literals", summary.shared_literals},
              {"literals", std::move(literals)},
              {"diagnostics", std::move(diagnostics)}};
  // Invalid UTF-8 in a path or message is replaced rather than thrown on.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string escape_make_path(std::string_view path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == ' ' || c == '#') {
      // Backslashes before a space or '#' are doubled, then the character itself is escaped.
      for (std::size_t j = i; j > 0 && path[j - 1] == '\\'; --j) out += '\\';
      out += '\\';
    } else if (c == '$') {
      out += '$';
    }
    out += c;
  }
  return out;
}

std::string render_depfile(std::string_view target, const std::vector<std::string> &prerequisites) {
  std::string out = escape_make_path(target) + ":";
  for (const std::string &p : prerequisites) out += " \\\n  " + escape_make_path(p);
  out += "\n";
  return out;
}

}  // namespace flex::transform
