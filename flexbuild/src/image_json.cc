#include "flex/build/image_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "flex/syscalls/syscalls.h"

namespace flex::build {

using json = nlohmann::ordered_json;

namespace {

constexpr std::uint64_t kPage = 4096;

struct range {
  std::string name;
  std::uint64_t begin, end;
};

}  // namespace

std::vector<std::string> check_sections(const resolved_image &img, const elf_info &elf) {
  std::vector<std::string> problems;
  std::vector<range> ranges;
  auto check = [&](const std::string &sec, const std::string &start_sym, const std::string &end_sym) {
    const elf_section *s = elf.find_section(sec);
    auto start = elf.symbols.find(start_sym);
    auto end = elf.symbols.find(end_sym);
    if (start == elf.symbols.end() || end == elf.symbols.end()) {
      problems.push_back(fmt::format("symbols {} / {} are missing", start_sym, end_sym));
      return;
    }
    std::uint64_t b = start->second, e = end->second;
    if (s == nullptr) {
      // lld drops an empty output section; its symbols then mark an empty range.
      if (b != e) problems.push_back(fmt::format("section {} is missing but {} is not empty", sec, start_sym));
      return;
    }
    if (s->addr != b || s->addr + s->size != e) {
      problems.push_back(fmt::format("section {} [{:#x}, {:#x}) does not match its symbols [{:#x}, {:#x})",
                                     sec, s->addr, s->addr + s->size, b, e));
    }
    if (b % kPage != 0 || e % kPage != 0) {
      problems.push_back(fmt::format("section {} [{:#x}, {:#x}) is not page-aligned", sec, b, e));
    }
    if (b != e) ranges.push_back({sec, b, e});
  };
  for (const auto &c : img.compartments) {
    for (const section_kind &k : compartment_section_kinds()) {
      check(section_name(c.name(), k.name), section_symbol(c.name(), k.name, false),
            section_symbol(c.name(), k.name, true));
    }
  }
  check(kSharedDataSection, "__flex_shared_data_start", "__flex_shared_data_end");
  check(kSharedRodataSection, "__flex_shared_rodata_start", "__flex_shared_rodata_end");
  std::sort(ranges.begin(), ranges.end(), [](const range &a, const range &b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      problems.push_back(fmt::format("sections {} and {} overlap", ranges[i - 1].name, ranges[i].name));
    }
  }
  // Nothing else may share a page with a compartment's range.
  for (const auto &s : elf.sections) {
    if (s.addr == 0 || s.size == 0 || s.name.rfind(".flex.", 0) == 0) continue;
    for (const auto &r : ranges) {
      std::uint64_t lo = s.addr / kPage * kPage, hi = (s.addr + s.size + kPage - 1) / kPage * kPage;
      if (lo < r.end && r.begin < hi) {
        problems.push_back(fmt::format("section {} shares a page with {}", s.name, r.name));
      }
    }
  }
  return problems;
}

// The profile's lockdown and what it means for a reviewer: off and log are weaker configurations.
json lockdown_json(lockdown_mode m) {
  switch (m) {
    case lockdown_mode::enforce:
      return {{"mode", "enforce"},
              {"meaning", "a system call outside a compartment's set ends the image with a report"}};
    case lockdown_mode::log:
      return {{"mode", "log"},
              {"meaning", "weaker: system calls outside a compartment's set are reported and allowed"},
              {"weaker", true}};
    case lockdown_mode::off:
      break;
  }
  return {{"mode", "off"},
          {"meaning", "weaker: no system-call filter; process walls hold only against loads and stores"},
          {"weaker", true}};
}

json image_json(const resolved_image &img, const elf_info &elf, const std::vector<nlohmann::json> &summaries,
                const image_paths &paths) {
  const profile &p = *img.prof;
  json out;
  out["name"] = p.name;
  out["app"] = p.app.value;
  out["profile"] = p.file.string();
  out["executable"] = paths.executable().string();
  out["pie"] = elf.pie;
  out["sharing"] = {{"stack", std::string(to_string(p.stack))}};
  out["gates_config"] = {{"mpk", std::string(to_string(p.mpk_gate))}};
  out["lockdown"] = lockdown_json(p.lockdown);

  auto section_json = [&](const std::string &name, const std::string &kind, const std::string &comp) {
    const elf_section *s = elf.find_section(name);
    auto start = elf.symbols.find(comp != "shared" ? section_symbol(comp, kind, false)
                                  : kind == "rodata" ? std::string("__flex_shared_rodata_start")
                                                     : std::string("__flex_shared_data_start"));
    std::uint64_t addr = s ? s->addr : (start != elf.symbols.end() ? start->second : 0);
    return json{{"name", name}, {"kind", kind}, {"address", addr}, {"size", s ? s->size : 0}};
  };
  json comps = json::array();
  for (const auto &c : img.compartments) {
    json libs = json::array(), repl = json::array(), hard = json::array(), secs = json::array();
    for (const lib_manifest *l : c.libraries) libs.push_back(l->name);
    for (const lib_manifest *l : c.replicated) repl.push_back(l->name);
    for (hardening h : c.spec->hardenings) hard.push_back(std::string(to_string(h)));
    for (const section_kind &k : compartment_section_kinds()) {
      secs.push_back(section_json(section_name(c.name(), k.name), k.name, c.name()));
    }
    json calls = json::array();
    for (const syscall_entry &e : c.syscalls) {
      json entry{{"name", e.name}, {"number", e.number}, {"needed_by", e.needed_by}};
      if (!e.families.empty()) {
        json fams = json::array();
        for (int f : e.families) fams.push_back(std::string(flex::syscalls::socket_family_name(f)));
        entry["families"] = fams;
      }
      calls.push_back(entry);
    }
    comps.push_back({{"name", c.name()},
                     {"syscalls", calls},
                     {"peers", c.peers},
                     {"default", c.spec->is_default},
                     {"isolation", std::string(to_string(c.spec->iso))},
                     {"hardening", hard},
                     {"heap_mib", c.spec->heap_mib},
                     {"libraries", libs},
                     {"replicated", repl},
                     {"sections", secs}});
  }
  out["compartments"] = comps;
  out["shared_sections"] = json::array(
      {section_json(kSharedDataSection, "data", "shared"), section_json(kSharedRodataSection, "rodata", "shared")});

  // Gates as instantiated by flex-transform, counted per boundary.
  std::map<std::pair<std::string, std::string>, int> per_boundary;
  json gates = json::array(), shared_vars = json::array(), warnings = json::array(), callbacks = json::array();
  unsigned shared_literals = 0;
  json shared_literal_list = json::array();
  for (const auto &s : summaries) {
    std::string from_comp = s.value("compartment", "");
    for (const auto &g : s.value("gates", nlohmann::json::array())) {
      std::string to_lib = g.value("to", "");
      const resolved_compartment *to = img.compartment_of(to_lib);
      std::string to_comp = to ? to->name() : from_comp;
      if (to_comp != from_comp) per_boundary[{from_comp, to_comp}]++;
      json entry = json(g);
      entry["from_compartment"] = from_comp;
      entry["to_compartment"] = to_comp;
      gates.push_back(entry);
    }
    for (const auto &w : s.value("whitelisted", nlohmann::json::array())) {
      json entry = json(w);
      entry["library"] = s.value("library", "");
      entry["compartment"] = from_comp;
      shared_vars.push_back(entry);
    }
    for (const auto &c : s.value("callbacks", nlohmann::json::array())) callbacks.push_back(json(c));
    shared_literals += s.value("shared_literals", 0u);
    for (const auto &l : s.value("literals", nlohmann::json::array())) {
      json entry = json(l);
      entry["library"] = s.value("library", "");
      entry["compartment"] = from_comp;
      shared_literal_list.push_back(entry);
    }
    for (const auto &d : s.value("diagnostics", nlohmann::json::array())) warnings.push_back(json(d));
  }
  json bounds = json::array();
  for (const auto &b : img.boundaries) {
    auto it = per_boundary.find({b.from, b.to});
    bounds.push_back({{"from", b.from},
                      {"to", b.to},
                      {"mechanism", std::string(to_string(b.mechanism))},
                      {"gate", std::string(to_string(b.gate))},
                      {"call_sites", it == per_boundary.end() ? 0 : it->second}});
  }
  out["boundaries"] = bounds;
  out["gates"] = gates;
  out["shared_variables"] = shared_vars;
  out["shared_literals"] = shared_literals;
  out["shared_literal_list"] = shared_literal_list;
  out["callbacks"] = callbacks;
  out["transform_diagnostics"] = warnings;
  return out;
}

}  // namespace flex::build
