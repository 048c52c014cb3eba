#include "flex/build/boundary_calls.h"

#include <cxxabi.h>
#include <elf.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "flex/elf/elf.h"

namespace flex::build {

namespace {

struct definition {
  std::size_t comp = 0;
  std::string library;
  bool function = true;
};

std::string demangled(const std::string &name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> d(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), &std::free);
  return status == 0 && d ? std::string(d.get()) : name;
}

// The function of `f` whose body holds `offset` of section `section`, or "".
std::string function_at(const std::vector<elf::symbol> &functions, std::uint32_t section, std::uint64_t offset) {
  for (const elf::symbol &s : functions) {
    if (s.section == section && s.value <= offset && offset < s.value + std::max<std::uint64_t>(s.size, 1)) {
      return demangled(s.name);
    }
  }
  return "";
}

}  // namespace

std::set<plain_gate> plain_gates(const std::vector<nlohmann::json> &summaries) {
  std::set<plain_gate> out;
  for (const nlohmann::json &s : summaries) {
    for (const nlohmann::json &g : s.value("gates", nlohmann::json::array())) {
      if (g.value("kind", "") == "call") out.insert({g.value("file", ""), g.value("function", "")});
    }
  }
  return out;
}

std::vector<std::string> check_boundary_calls(const resolved_image &img,
                                              const std::vector<std::vector<scan_object>> &inputs,
                                              const std::set<plain_gate> &gated, const std::filesystem::path &root,
                                              std::string *error) {
  // What each compartment's own (placed) libraries define for others to name: global, non-weak,
  // default-visibility functions and variables. Replicated libraries are in every compartment.
  std::map<std::string, definition> defs;
  std::vector<std::set<std::string>> own(inputs.size());
  std::vector<std::vector<elf::file>> files(inputs.size());  // each object opened once, for both passes
  for (std::size_t c = 0; c < inputs.size(); ++c) {
    for (const scan_object &o : inputs[c]) {
      auto f = elf::file::open(o.path.string(), error);
      if (!f) {
        *error = o.path.string() + ": " + *error;
        return {};
      }
      files[c].push_back(std::move(*f));
      for (const elf::symbol &s : files[c].back().symbols()) {
        if (s.section == SHN_UNDEF || s.name.empty() || s.binding != STB_GLOBAL) continue;
        if (s.type != STT_FUNC && s.type != STT_OBJECT) continue;
        own[c].insert(s.name);
        // posix's names are private to its compartment (made local at the partial link).
        if (!o.replicated && o.library != kPosixLibrary) defs.emplace(s.name, definition{c, o.library, s.type == STT_FUNC});
      }
    }
  }
  std::vector<std::string> out;
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (std::size_t c = 0; c < inputs.size(); ++c) {
    for (std::size_t k = 0; k < inputs[c].size(); ++k) {
      const scan_object &o = inputs[c][k];
      const elf::file *f = &files[c][k];
      const std::vector<elf::symbol> table = f->symbol_table();
      const std::vector<elf::symbol> functions = f->function_symbols();
      for (const elf::relocation &r : f->relocations(/*loaded_only=*/true)) {
        if (r.symbol == 0 || r.symbol >= table.size()) continue;
        const elf::symbol &to = table[r.symbol];
        if (to.section != SHN_UNDEF || to.name.empty() || own[c].count(to.name)) continue;
        auto it = defs.find(to.name);
        if (it == defs.end() || it->second.comp == c) continue;
        const definition &d = it->second;
        if (gated.count({(root / o.source).string(), to.name})) continue;  // the transformer's plain call
        const std::string fn = function_at(functions, r.section, r.offset);
        if (!seen.insert({o.source, fn, to.name}).second) continue;
        const std::string here = img.compartments[c].name(), there = img.compartments[d.comp].name();
        const std::string name = demangled(to.name);
        const std::string where = o.source + (fn.empty() ? "" : ": in " + fn);
        if (d.function) {
          out.push_back(fmt::format(
              "{}: calls {}, which library {} defines in compartment '{}', from compartment '{}' without a gate "
              "(it would fault under mpk or process isolation); call it through one: "
              "flexos_gate(lib{}, {}, ...) or flexos_gate_r(lib{}, result, {}, ...)",
              where, name, d.library, there, here, d.library, name, d.library, name));
        } else {
          out.push_back(fmt::format(
              "{}: uses {}, a variable of library {} in compartment '{}', from compartment '{}': compartments share "
              "data only through gates (pass it as an argument; mark what must be shared "
              "__attribute__((flexos_whitelist)))",
              where, name, d.library, there, here));
        }
      }
    }
  }
  return out;
}

}  // namespace flex::build
