// flexbuild report (report.h): what a reviewer needs of one image, read back from what was built.
#include "flex/build/report.h"

#include <elf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "flex/elf/elf.h"

namespace flex::build {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// Fortify's checked functions: __memcpy_chk, __printf_chk, __read_chk, ... (never __stack_chk_fail).
bool is_fortified(std::string_view name) {
  return starts_with(name, "__") && name.size() > 6 && name.substr(name.size() - 4) == "_chk" &&
         name != "__stack_chk_fail";
}

// DT_FLAGS and DT_FLAGS_1 of the executable's .dynamic section.
void dynamic_flags(const elf::file &f, std::uint64_t &flags, std::uint64_t &flags_1) {
  flags = flags_1 = 0;
  for (const elf::section &s : f.sections()) {
    if (s.type != SHT_DYNAMIC) continue;
    auto bytes = f.bytes(s);
    if (!bytes) return;
    for (std::size_t off = 0; off + sizeof(Elf64_Dyn) <= bytes->size(); off += sizeof(Elf64_Dyn)) {
      Elf64_Dyn d;
      std::memcpy(&d, bytes->data() + off, sizeof d);
      if (d.d_tag == DT_NULL) break;
      if (d.d_tag == DT_FLAGS) flags = d.d_un.d_val;
      if (d.d_tag == DT_FLAGS_1) flags_1 = d.d_un.d_val;
    }
  }
}

std::optional<json> read_json(const fs::path &p, std::string *error) {
  std::ifstream in(p);
  if (!in) {
    *error = p.string() + ": cannot read it (build the image first)";
    return std::nullopt;
  }
  try {
    return json::parse(in);
  } catch (const json::exception &e) {
    *error = p.string() + ": not valid JSON (" + e.what() + "); rebuild the image";
    return std::nullopt;
  }
}

std::string yes(bool b) {
  return b ? "yes" : "NO";
}

}  // namespace

hardening_evidence scan_hardening(const elf::file &object) {
  hardening_evidence h;
  for (const elf::symbol &s : object.symbol_table()) {
    if (s.section != SHN_UNDEF || s.name.empty()) continue;
    h.stack_protector |= s.name == "__stack_chk_fail";
    h.fortify |= is_fortified(s.name);
    h.asan |= starts_with(s.name, "__asan_");
    h.ubsan |= starts_with(s.name, "__ubsan_handle_");
  }
  return h;
}

image_protections scan_protections(const elf::file &exe) {
  image_protections p;
  std::uint64_t flags = 0, flags_1 = 0;
  dynamic_flags(exe, flags, flags_1);
  p.pie = exe.type() == elf::file_type::shared_object && (flags_1 & DF_1_PIE);
  p.bind_now = (flags & DF_BIND_NOW) || (flags_1 & DF_1_NOW);
  p.w_xor_x = true;
  for (const elf::segment &s : exe.segments()) {
    if (s.type == PT_GNU_STACK) p.nx = !(s.flags & PF_X);
    if (s.type == PT_GNU_RELRO) p.relro = true;
    if (s.type == PT_LOAD && (s.flags & PF_W) && (s.flags & PF_X)) p.w_xor_x = false;
  }
  return p;
}

json image_report(const fs::path &image_dir, std::string *error) {
  auto ij = read_json(image_dir / "image.json", error);
  if (!ij) return {};
  const std::string exe_path = ij->value("executable", std::string());
  auto exe = elf::file::open(exe_path, error);
  if (!exe) {
    *error = exe_path + ": " + *error;
    return {};
  }
  const image_protections prot = scan_protections(*exe);
  json r;
  r["image"] = {{"name", ij->value("name", "")},
                {"profile", ij->value("profile", "")},
                {"executable", exe_path},
                {"pie", prot.pie},
                {"nx", prot.nx},
                {"relro", prot.relro},
                {"bind_now", prot.bind_now},
                {"w_xor_x", prot.w_xor_x},
                {"lockdown", (*ij)["lockdown"].value("mode", "off")}};

  r["compartments"] = json::array();
  for (const json &c : (*ij)["compartments"]) {
    const std::string name = c.value("name", "");
    const fs::path obj = image_dir / "work" / "obj" / (name + ".o");
    auto object = elf::file::open(obj.string(), error);
    if (!object) {
      *error = obj.string() + ": " + *error + " (rebuild the image)";
      return {};
    }
    const hardening_evidence found = scan_hardening(*object);
    std::set<std::string> requested;
    for (const json &h : c["hardening"]) requested.insert(h.get<std::string>());
    // A requested hardening the object shows no trace of (a compartment without buffers or libc calls may
    // legitimately have none for the stack protector or fortify: the reviewer decides).
    json missing = json::array();
    const std::pair<const char *, bool> checks[] = {{"stack-protector", found.stack_protector},
                                                    {"fortify", found.fortify},
                                                    {"asan", found.asan},
                                                    {"ubsan", found.ubsan}};
    for (const auto &[h, present] : checks) {
      if (requested.count(h) && !present) missing.push_back(h);
    }
    json calls = json::array();
    for (const json &s : c["syscalls"]) calls.push_back(s.value("name", ""));
    r["compartments"].push_back({{"name", name},
                                 {"isolation", c.value("isolation", "")},
                                 {"libraries", c["libraries"]},
                                 {"replicated", c["replicated"]},
                                 {"heap_mib", c.value("heap_mib", 0)},
                                 {"hardening",
                                  {{"requested", c["hardening"]},
                                   {"found",
                                    {{"stack-protector", found.stack_protector},
                                     {"fortify", found.fortify},
                                     {"asan", found.asan},
                                     {"ubsan", found.ubsan}}},
                                   {"requested_but_absent", missing}}},
                                 {"syscalls", {{"count", calls.size()}, {"names", calls}}}});
  }

  // Per boundary (both directions, as image.json lists them): the functions callable across it.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> reachable;
  for (const json &g : (*ij)["gates"]) {
    reachable[{g.value("from_compartment", ""), g.value("to_compartment", "")}].insert(g.value("function", ""));
  }
  r["boundaries"] = json::array();
  for (const json &b : (*ij)["boundaries"]) {
    const auto &fns = reachable[{b.value("from", ""), b.value("to", "")}];
    r["boundaries"].push_back({{"from", b.value("from", "")},
                               {"to", b.value("to", "")},
                               {"mechanism", b.value("mechanism", "")},
                               {"gate", b.value("gate", "")},
                               {"call_sites", b.value("call_sites", 0)},
                               {"functions", {{"count", fns.size()}, {"names", json(std::vector<std::string>(fns.begin(), fns.end()))}}}});
  }

  std::uint64_t shared_bytes = 0;
  for (const json &s : (*ij)["shared_sections"]) shared_bytes += s.value("size", std::uint64_t{0});
  json vars = json::array();
  for (const json &v : (*ij)["shared_variables"]) {
    vars.push_back({{"name", v.value("name", "")}, {"owner", v.value("compartment", "")}, {"file", v.value("file", "")},
                    {"line", v.value("line", 0)}});
  }
  r["shared"] = {{"stack", (*ij)["sharing"].value("stack", "")},
                 {"variables", vars},
                 {"literals", (*ij)["shared_literals"]},
                 {"shared_section_bytes", shared_bytes},
                 {"callbacks", (*ij)["callbacks"].size()}};
  r["checks"] = {{"gadgets_outside_gates", (*ij)["gadgets_outside_gates"].size()}};
  return r;
}

std::string report_text(const json &r) {
  const json &img = r["image"];
  std::string out = fmt::format("Image {} (profile {})\n", img.value("name", ""), img.value("profile", ""));
  out += fmt::format("  PIE {}   NX {}   RELRO {}   BIND_NOW {}   W^X {}   lockdown {}\n", yes(img["pie"]),
                     yes(img["nx"]), yes(img["relro"]), yes(img["bind_now"]), yes(img["w_xor_x"]),
                     img.value("lockdown", ""));
  out += "\nCompartments\n";
  out += fmt::format("  {:<12} {:<9} {:<28} {:<36} {:>8} {:>9}\n", "name", "mechanism", "libraries",
                     "hardening (found in its object)", "syscalls", "heap MiB");
  for (const json &c : r["compartments"]) {
    std::string libs;
    for (const json &l : c["libraries"]) libs += (libs.empty() ? "" : ",") + l.get<std::string>();
    std::string hard;
    for (const auto &[h, present] : c["hardening"]["found"].items()) {
      if (present.get<bool>()) hard += (hard.empty() ? "" : ",") + h;
    }
    if (hard.empty()) hard = "-";
    for (const json &m : c["hardening"]["requested_but_absent"]) hard += " (" + m.get<std::string>() + " ABSENT)";
    out += fmt::format("  {:<12} {:<9} {:<28} {:<36} {:>8} {:>9}\n", c.value("name", ""), c.value("isolation", ""),
                       libs, hard, c["syscalls"].value("count", 0), c.value("heap_mib", 0));
  }
  out += "\nBoundaries\n";
  if (r["boundaries"].empty()) out += "  (none: one compartment)\n";
  for (const json &b : r["boundaries"]) {
    std::string fns;
    for (const json &f : b["functions"]["names"]) fns += (fns.empty() ? "" : ", ") + f.get<std::string>();
    out += fmt::format("  {} -> {}: {} ({}), {} call sites, {} functions: {}\n", b.value("from", ""),
                       b.value("to", ""), b.value("mechanism", ""), b.value("gate", ""), b.value("call_sites", 0),
                       b["functions"].value("count", 0), fns.empty() ? "-" : fns);
  }
  const json &sh = r["shared"];
  out += fmt::format("\nShared data: stack {}, {} shared variables, {} shared literals, {} bytes of shared "
                     "sections, {} callbacks\n",
                     sh.value("stack", ""), sh["variables"].size(), sh["literals"].dump(),
                     sh.value("shared_section_bytes", 0), sh.value("callbacks", 0));
  for (const json &v : sh["variables"]) {
    out += fmt::format("  {} (owner {}, {}:{})\n", v.value("name", ""), v.value("owner", ""), v.value("file", ""),
                       v.value("line", 0));
  }
  out += fmt::format("\nChecks: {} PKRU gadgets outside the gates\n", r["checks"].value("gadgets_outside_gates", 0));
  return out;
}

int report_image(const options &opt, bool as_json) {
  fs::path exe;
  options quiet = opt;
  quiet.progress_to_stderr = true;  // stdout is the report's (--json for tools)
  if (int rc = build_image(quiet, &exe); rc != 0) return rc;
  std::string error;
  json r = image_report(exe.parent_path(), &error);
  if (r.is_null()) {
    std::fprintf(stderr, "flexbuild: error: %s\n", error.c_str());
    return 1;
  }
  const std::string text = as_json ? r.dump(2) + "\n" : report_text(r);
  std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace flex::build
