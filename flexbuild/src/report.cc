// flexbuild report (report.h): what a reviewer needs of one image, read back from what was built.
#include "flex/build/report.h"

#include <elf.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "flex/build/attacks.h"
#include "flex/build/order.h"
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

namespace {

// The backends' memory sizes, from the image's own `--describe` ("memory: mpk stack_mib=8 ..."): per
// backend, each key and its number. Describing runs no compartment.
json backend_memory(const std::string &exe) {
  json out = json::object();
  const std::string cmd = "'" + exe + "' --describe 2>/dev/null";
  std::string text;
  if (FILE *p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
    ::pclose(p);
  }
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("memory: ", 0) != 0) continue;
    std::istringstream words(line.substr(8));
    std::string backend, kv;
    words >> backend;
    json &b = out[backend] = json::object();
    while (words >> kv) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos) continue;
      b[kv.substr(0, eq)] = std::strtoull(kv.c_str() + eq + 1, nullptr, 10);
    }
  }
  return out;
}

}  // namespace

namespace {

// The literals the sources pass through gates (shared read-only data): owner, library, bytes, where.
json literal_list(const json &image) {
  json out = json::array();
  for (const json &l : image.value("shared_literal_list", json::array())) {
    out.push_back({{"owner", l.value("compartment", "")}, {"library", l.value("library", "")},
                   {"bytes", l.value("bytes", 0)}, {"file", l.value("file", "")}, {"line", l.value("line", 0)}});
  }
  return out;
}

}  // namespace

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
                {"app", ij->value("app", "")},
                {"profile", ij->value("profile", "")},
                {"executable", exe_path},
                {"pie", prot.pie},
                {"nx", prot.nx},
                {"relro", prot.relro},
                {"bind_now", prot.bind_now},
                {"w_xor_x", prot.w_xor_x},
                {"lockdown", (*ij)["lockdown"].value("mode", "off")},
                {"mpk_gate", (*ij)["gates_config"].value("mpk", "full")}};

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
  // Callbacks: functions of one compartment that another may call through a pointer it was handed.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> callbacks;
  for (const json &c : (*ij)["callbacks"]) {
    callbacks[{c.value("from_compartment", ""), c.value("to_compartment", "")}].insert(c.value("function", ""));
  }
  r["boundaries"] = json::array();
  for (const json &b : (*ij)["boundaries"]) {
    const auto &fns = reachable[{b.value("from", ""), b.value("to", "")}];
    const auto &cbs = callbacks[{b.value("from", ""), b.value("to", "")}];
    r["boundaries"].push_back({{"from", b.value("from", "")},
                               {"to", b.value("to", "")},
                               {"mechanism", b.value("mechanism", "")},
                               {"gate", b.value("gate", "")},
                               {"call_sites", b.value("call_sites", 0)},
                               {"functions", {{"count", fns.size()}, {"names", json(std::vector<std::string>(fns.begin(), fns.end()))}}},
                               {"callbacks", json(std::vector<std::string>(cbs.begin(), cbs.end()))}});
  }

  // Per exported function that some library calls through a gate: its library and the callers, and which
  // of them call it across a boundary (from another compartment).
  std::map<std::string, std::pair<std::string, std::pair<std::set<std::string>, std::set<std::string>>>> exports;
  for (const json &g : (*ij)["gates"]) {
    auto &e = exports[g.value("function", "")];
    e.first = g.value("to", "");
    e.second.first.insert(g.value("from", ""));
    if (g.value("from_compartment", "") != g.value("to_compartment", "")) e.second.second.insert(g.value("from", ""));
  }
  r["exports"] = json::array();
  for (const auto &[fn, e] : exports) {
    r["exports"].push_back({{"function", fn},
                            {"library", e.first},
                            {"callers", std::vector<std::string>(e.second.first.begin(), e.second.first.end())},
                            {"across_a_boundary", std::vector<std::string>(e.second.second.begin(), e.second.second.end())}});
  }

  std::uint64_t shared_bytes = 0;
  for (const json &s : (*ij)["shared_sections"]) shared_bytes += s.value("size", std::uint64_t{0});
  json vars = json::array();
  std::uint64_t static_bytes = 0;
  for (const json &v : (*ij)["shared_variables"]) {
    const std::uint64_t bytes = v.value("bytes", std::uint64_t{0});
    if (v.value("storage", "") == "static") static_bytes += bytes;
    vars.push_back({{"name", v.value("name", "")}, {"library", v.value("library", "")}, {"owner", v.value("compartment", "")},
                    {"storage", v.value("storage", "")}, {"bytes", bytes}, {"file", v.value("file", "")},
                    {"line", v.value("line", 0)}, {"inferred", v.value("inferred", false)}});
  }
  r["shared"] = {{"stack", (*ij)["sharing"].value("stack", "")},
                 {"variables", vars},
                 {"static_bytes", static_bytes},
                 {"literals", (*ij)["shared_literals"]},
                 {"literal_list", literal_list(*ij)},
                 {"shared_section_bytes", shared_bytes},
                 {"callbacks", (*ij)["callbacks"].size()}};
  r["checks"] = {{"gadgets_outside_gates", (*ij)["gadgets_outside_gates"].size()}};
  if (ij->contains("program")) r["program"] = (*ij)["program"];
  r["memory"] = backend_memory(exe_path);
  // Each compartment's heap as the backend sizes it (0 in the profile: the backend's default).
  for (json &c : r["compartments"]) {
    const std::string iso = c.value("isolation", "none");
    if (c.value("heap_mib", 0) == 0 && r["memory"].contains(iso)) {
      c["heap_mib"] = r["memory"][iso].value("default_heap_mib", 0);
      c["heap_default"] = true;
    }
  }
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
                       libs, hard, c["syscalls"].value("count", 0),
                       c.value("heap_mib", 0) ? std::to_string(c.value("heap_mib", 0)) : std::string("default"));
  }
  const json memory = r.value("memory", json::object());
  for (const auto &[backend, sizes] : memory.items()) {
    std::string kv;
    for (const auto &[k, v] : sizes.items()) kv += (kv.empty() ? "" : ", ") + k + " " + v.dump();
    out += fmt::format("  {} memory: {}\n", backend, kv);
  }
  if (r.contains("program")) {
    const json &p = r["program"];
    int in_kernel = 0;
    for (const json &c : p["calls"]) in_kernel += c.value("kernel", false);
    out += fmt::format("\nProgram {}: {} system calls found in {} files ({} to the kernel, as the binary app "
                       "declares; the others the loader's or posix's, or -ENOSYS){}\n",
                       p.value("path", ""), p["calls"].size(), p["objects"].size(), in_kernel,
                       p.value("unknown_sites", 0) ? fmt::format("; {} sites with no constant number",
                                                                 p.value("unknown_sites", 0))
                                                   : std::string());
    for (const json &c : p["calls"]) {
      const json &where = c["where"];
      std::string first = where.empty() ? std::string() : where[0].get<std::string>();
      if (where.size() > 1) first += fmt::format(" (and {} more)", where.size() - 1);
      out += fmt::format("  {:<20} {:<7} {}\n", c.value("name", ""), c.value("kernel", false) ? "kernel" : "-", first);
    }
    for (const json &m : p["missing_libraries"]) out += "  library not found: " + m.get<std::string>() + "\n";
  }
  out += "\nBoundaries\n";
  if (r["boundaries"].empty()) out += "  (none: one compartment)\n";
  for (const json &b : r["boundaries"]) {
    std::string fns;
    for (const json &f : b["functions"]["names"]) fns += (fns.empty() ? "" : ", ") + f.get<std::string>();
    out += fmt::format("  {} -> {}: {} ({}), {} call sites, {} functions: {}\n", b.value("from", ""),
                       b.value("to", ""), b.value("mechanism", ""), b.value("gate", ""), b.value("call_sites", 0),
                       b["functions"].value("count", 0), fns.empty() ? "-" : fns);
    std::string cbs;
    for (const json &f : b.value("callbacks", json::array())) cbs += (cbs.empty() ? "" : ", ") + f.get<std::string>();
    if (!cbs.empty()) out += fmt::format("    callbacks it may call through pointers: {}\n", cbs);
  }
  const json &sh = r["shared"];
  out += fmt::format("\nShared data: stack {}, {} shared variables, {} shared literals, {} bytes of shared "
                     "sections, {} callbacks\n",
                     sh.value("stack", ""), sh["variables"].size(), sh["literals"].dump(),
                     sh.value("shared_section_bytes", 0), sh.value("callbacks", 0));
  for (const json &v : sh["variables"]) {
    out += fmt::format("  {} ({} {}{}, {} bytes, owner {}, {}:{})\n", v.value("name", ""), v.value("library", ""),
                       v.value("storage", ""), v.value("inferred", false) ? ", shared by inference" : "",
                       v.value("bytes", 0), v.value("owner", ""), v.value("file", ""), v.value("line", 0));
  }
  for (const json &l : sh.value("literal_list", json::array())) {
    out += fmt::format("  a string literal ({} read-only, {} bytes, owner {}, {}:{})\n", l.value("library", ""),
                       l.value("bytes", 0), l.value("owner", ""), l.value("file", ""), l.value("line", 0));
  }
  out += fmt::format("\nChecks: {} PKRU gadgets outside the gates\n", r["checks"].value("gadgets_outside_gates", 0));
  if (r["checks"].contains("attacks")) {
    const json &a = r["checks"]["attacks"];
    std::string counts;
    for (const auto &[k, v] : a["counts"].items()) counts += (counts.empty() ? "" : ", ") + fmt::format("{} {}", v.get<int>(), k);
    out += fmt::format("Attack suite ({}): {}\n", a.value("suite", ""), counts);
    for (const json &row : a["results"]) {
      if (row.value("result", "") == "not applicable") continue;
      out += fmt::format("  {:<8} {:<60} {}\n", row.value("mechanism", ""), row.value("attack", ""), row.value("result", ""));
    }
  }
  return out;
}

std::string escape_html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string escape_dot(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// The compartment graph in Graphviz's language: a node per compartment, an edge per boundary its code
// calls across.
std::string graph_dot(const json &r) {
  std::string d = "digraph image {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\"];\n"
                  "  edge [fontname=\"sans-serif\", fontsize=10];\n";
  for (const json &c : r["compartments"]) {
    std::string libs, hard;
    for (const json &l : c["libraries"]) libs += (libs.empty() ? "" : ", ") + l.get<std::string>();
    for (const auto &[h, present] : c["hardening"]["found"].items()) {
      if (present.get<bool>()) hard += (hard.empty() ? "" : ", ") + h;
    }
    const std::string iso = c.value("isolation", "");
    const char *fill = iso == "process" ? "#c6e5b9" : iso == "mpk" ? "#cfe0f5" : "#eeeeee";
    d += fmt::format("  \"{0}\" [label=\"{0}\\n{1}\\n{2}{3}\\n{4} system calls\", fillcolor=\"{5}\"];\n",
                     escape_dot(c.value("name", "")), escape_dot(iso), escape_dot(libs),
                     hard.empty() ? "" : "\\n+" + escape_dot(hard), c["syscalls"].value("count", 0), fill);
  }
  for (const json &b : r["boundaries"]) {
    if (b.value("call_sites", 0) == 0) continue;
    d += fmt::format("  \"{}\" -> \"{}\" [label=\"{}, {} call sites, {} functions\"];\n", escape_dot(b.value("from", "")),
                     escape_dot(b.value("to", "")), escape_dot(b.value("gate", "")), b.value("call_sites", 0),
                     b["functions"].value("count", 0));
  }
  return d + "}\n";
}

// Runs `dot -Tsvg` on `dot_text`; the SVG, or an error.
std::optional<std::string> render_svg(const std::string &dot_text, std::string *error) {
  char in_path[] = "/tmp/flex_report_XXXXXX";
  const int fd = ::mkstemp(in_path);
  if (fd < 0) {
    *error = "cannot create a temporary file for Graphviz";
    return std::nullopt;
  }
  ::close(fd);
  { std::ofstream(in_path) << dot_text; }
  const std::string cmd = std::string("dot -Tsvg ") + in_path + " 2>&1";
  std::string svg;
  if (FILE *p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) svg.append(buf, n);
    const int st = ::pclose(p);
    std::remove(in_path);
    if (st != 0) {
      *error = "Graphviz's dot failed (install it: apt-get install graphviz): " + svg.substr(0, 200);
      return std::nullopt;
    }
  }
  const auto at = svg.find("<svg");
  if (at == std::string::npos) {
    *error = "Graphviz's dot gave no SVG (install it: apt-get install graphviz)";
    return std::nullopt;
  }
  return svg.substr(at);
}

}  // namespace

std::optional<std::string> report_html(const json &r, std::string *error) {
  auto svg = render_svg(graph_dot(r), error);
  if (!svg) return std::nullopt;
  const json &img = r["image"];
  auto cell = [](bool ok) { return std::string(ok ? "<td class=ok>yes</td>" : "<td class=bad>NO</td>"); };
  std::string h = "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>flexbuild report: " +
                  escape_html(img.value("name", "")) + "</title>\n<style>\n"
                  "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}"
                  "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f4f4}"
                  ".ok{background:#e3f4dc}.bad{background:#f8d7d3;font-weight:bold}svg{max-width:100%;height:auto}"
                  "</style></head><body>\n";
  h += "<h1>Image " + escape_html(img.value("name", "")) + "</h1>\n<p>Profile <code>" +
       escape_html(img.value("profile", "")) + "</code>, lockdown <b>" + escape_html(img.value("lockdown", "")) +
       "</b></p>\n<h2>Compartments</h2>\n<div id=graph>" + *svg + "</div>\n";
  h += "<h2>Executable</h2>\n<table id=protections><tr><th>PIE</th><th>NX</th><th>RELRO</th><th>BIND_NOW</th><th>W^X</th></tr><tr>" +
       cell(img["pie"]) + cell(img["nx"]) + cell(img["relro"]) + cell(img["bind_now"]) + cell(img["w_xor_x"]) +
       "</tr></table>\n";
  h += "<table id=compartments><tr><th>compartment</th><th>mechanism</th><th>libraries</th><th>hardening requested</th>"
       "<th>hardening found in its object</th><th>system calls</th><th>heap MiB</th></tr>\n";
  for (const json &c : r["compartments"]) {
    std::string libs, req, found;
    for (const json &l : c["libraries"]) libs += (libs.empty() ? "" : ", ") + l.get<std::string>();
    for (const json &x : c["hardening"]["requested"]) req += (req.empty() ? "" : ", ") + x.get<std::string>();
    for (const auto &[x, present] : c["hardening"]["found"].items()) {
      if (present.get<bool>()) found += (found.empty() ? "" : ", ") + x;
    }
    std::string calls;
    for (const json &x : c["syscalls"]["names"]) calls += (calls.empty() ? "" : " ") + x.get<std::string>();
    const bool absent = !c["hardening"]["requested_but_absent"].empty();
    h += "<tr><td>" + escape_html(c.value("name", "")) + "</td><td>" + escape_html(c.value("isolation", "")) + "</td><td>" +
         escape_html(libs) + "</td><td>" + escape_html(req.empty() ? "-" : req) + "</td><td" + (absent ? " class=bad" : "") +
         ">" + escape_html(found.empty() ? "-" : found) + "</td><td title=\"" + escape_html(calls) + "\">" +
         std::to_string(c["syscalls"].value("count", 0)) + "</td><td>" +
         (c.value("heap_mib", 0) ? std::to_string(c.value("heap_mib", 0)) : std::string("default")) + "</td></tr>\n";
  }
  h += "</table>\n";
  const json memory = r.value("memory", json::object());
  for (const auto &[backend, sizes] : memory.items()) {
    std::string kv;
    for (const auto &[k, v] : sizes.items()) kv += (kv.empty() ? "" : ", ") + k + " " + v.dump();
    h += "<p class=memory>" + escape_html(backend) + " memory: " + escape_html(kv) + "</p>\n";
  }
  h += "<h2>Boundaries</h2>\n<table id=boundaries><tr><th>from</th><th>to</th><th>mechanism</th><th>gate</th>"
       "<th>call sites</th><th>functions callable across it</th><th>callbacks (through pointers)</th></tr>\n";
  for (const json &b : r["boundaries"]) {
    std::string fns;
    for (const json &f : b["functions"]["names"]) fns += (fns.empty() ? "" : ", ") + f.get<std::string>();
    h += "<tr><td>" + escape_html(b.value("from", "")) + "</td><td>" + escape_html(b.value("to", "")) + "</td><td>" +
         escape_html(b.value("mechanism", "")) + "</td><td>" + escape_html(b.value("gate", "")) + "</td><td>" +
         std::to_string(b.value("call_sites", 0)) + "</td><td>" + escape_html(fns.empty() ? "-" : fns) + "</td><td>";
    std::string cbs;
    for (const json &f : b.value("callbacks", json::array())) cbs += (cbs.empty() ? "" : ", ") + f.get<std::string>();
    h += escape_html(cbs.empty() ? "-" : cbs) + "</td></tr>\n";
  }
  const json &sh = r["shared"];
  h += "</table>\n<h2>Shared data</h2>\n<p>Stack sharing <b>" + escape_html(sh.value("stack", "")) + "</b>, " +
       std::to_string(sh.value("shared_section_bytes", 0)) + " bytes of shared sections, " +
       std::to_string(sh["variables"].size()) + " shared variables (" + std::to_string(sh.value("static_bytes", 0)) +
       " bytes of them static):</p>\n<table id=shared><tr><th>variable</th><th>library</th><th>owner</th><th>storage</th>"
       "<th>bytes</th><th>where</th></tr>\n";
  for (const json &v : sh["variables"]) {
    h += "<tr><td>" + escape_html(v.value("name", "")) + "</td><td>" + escape_html(v.value("library", "")) + "</td><td>" +
         escape_html(v.value("owner", "")) + "</td><td>" + escape_html(v.value("storage", "")) +
         (v.value("inferred", false) ? " (inferred)" : "") + "</td><td>" +
         std::to_string(v.value("bytes", 0)) + "</td><td>" + escape_html(v.value("file", "")) + ":" +
         std::to_string(v.value("line", 0)) + "</td></tr>\n";
  }
  for (const json &l : sh.value("literal_list", json::array())) {
    h += "<tr><td>(a string literal)</td><td>" + escape_html(l.value("library", "")) + "</td><td>" +
         escape_html(l.value("owner", "")) + "</td><td>read-only</td><td>" + std::to_string(l.value("bytes", 0)) +
         "</td><td>" + escape_html(l.value("file", "")) + ":" + std::to_string(l.value("line", 0)) + "</td></tr>\n";
  }
  h += "</table>\n<h2>Checks</h2>\n<p id=checks>" + std::to_string(r["checks"].value("gadgets_outside_gates", 0)) +
       " PKRU gadgets outside the gates.</p>\n";
  if (r["checks"].contains("attacks")) {
    const json &a = r["checks"]["attacks"];
    h += "<p>The attack suite (" + escape_html(a.value("suite", "")) + "), a compromised compartment attacking a vault "
         "through the kernel with each mechanism this image uses:</p>\n<table id=attacks><tr><th>mechanism</th>"
         "<th>attack</th><th>result</th></tr>\n";
    for (const json &row : a["results"]) {
      const std::string res = row.value("result", "");
      const bool bad = res == "NOT BLOCKED" || res == "FAILS" || res == "not defended yet";
      h += "<tr><td>" + escape_html(row.value("mechanism", "")) + "</td><td>" + escape_html(row.value("attack", "")) +
           "</td><td" + (bad ? " class=bad" : "") + ">" + escape_html(res) + "</td></tr>\n";
    }
    h += "</table>\n";
  }
  h += "</body></html>\n";
  return h;
}

order::point report_point(const json &r) {
  const json &img = r["image"];
  const mpk_gate_kind gate = img.value("mpk_gate", "full") == "light" ? mpk_gate_kind::light : mpk_gate_kind::full;
  std::vector<order::compartment_view> views;
  for (const json &c : r["compartments"]) {
    order::compartment_view v;
    for (const json &l : c["libraries"]) v.libraries.push_back(l.get<std::string>());
    const std::string iso = c.value("isolation", "none");
    v.strength = order::wall_of(iso == "process" ? isolation::process : iso == "mpk" ? isolation::mpk : isolation::none,
                                gate);
    for (const auto &[h, present] : c["hardening"]["found"].items()) {
      if (present.get<bool>()) v.hardening.insert(h);
    }
    std::set<std::string> calls;
    for (const json &n : c["syscalls"]["names"]) calls.insert(n.get<std::string>());
    v.syscalls = std::move(calls);
    views.push_back(std::move(v));
  }
  const std::string lockdown = img.value("lockdown", "enforce");
  return order::point_of(views, lockdown == "off"   ? lockdown_mode::off
                                : lockdown == "log" ? lockdown_mode::log
                                                    : lockdown_mode::enforce);
}

namespace {

// Exports whose callers across a boundary differ: "net_send: reachable across a boundary from redis in B
// only". A function no library calls through a gate on one side is not exported there.
json export_changes(const json &a, const json &b) {
  auto across = [](const json &r) {
    std::map<std::string, std::pair<std::string, std::set<std::string>>> m;
    for (const json &e : r.value("exports", json::array())) {
      std::set<std::string> from;
      for (const json &l : e["across_a_boundary"]) from.insert(l.get<std::string>());
      m[e.value("function", "")] = {e.value("library", ""), std::move(from)};
    }
    return m;
  };
  const auto ea = across(a), eb = across(b);
  std::set<std::string> fns;
  for (const auto &[f, _] : ea) fns.insert(f);
  for (const auto &[f, _] : eb) fns.insert(f);
  json out = json::array();
  for (const std::string &f : fns) {
    const auto ia = ea.find(f), ib = eb.find(f);
    const std::set<std::string> none;
    const std::set<std::string> &sa = ia == ea.end() ? none : ia->second.second;
    const std::set<std::string> &sb = ib == eb.end() ? none : ib->second.second;
    const std::string lib = ia != ea.end() ? ia->second.first : ib->second.first;
    auto only = [](const std::set<std::string> &x, const std::set<std::string> &y) {
      std::string t;
      for (const std::string &l : x) {
        if (!y.count(l)) t += (t.empty() ? "" : ",") + l;
      }
      return t;
    };
    if (auto t = only(sb, sa); !t.empty()) out.push_back(fmt::format("{} ({}): reachable across a boundary from {} in B only", f, lib, t));
    if (auto t = only(sa, sb); !t.empty()) out.push_back(fmt::format("{} ({}): reachable across a boundary from {} in A only", f, lib, t));
  }
  return out;
}

// Shared variables on one side only (by library, name and storage), with their bytes.
json shared_changes(const json &a, const json &b) {
  auto vars = [](const json &r) {
    std::map<std::string, std::uint64_t> m;
    for (const json &v : r["shared"]["variables"]) {
      // By library and name: the owner is a compartment name, which differs between images for nothing.
      m[fmt::format("{} {} ({})", v.value("library", ""), v.value("name", ""), v.value("storage", ""))] +=
          v.value("bytes", std::uint64_t{0});
    }
    return m;
  };
  const auto va = vars(a), vb = vars(b);
  json out = json::array();
  for (const auto &[k, bytes] : vb) {
    if (!va.count(k)) out.push_back(fmt::format("shared in B only: {}, {} bytes", k, bytes));
  }
  for (const auto &[k, bytes] : va) {
    if (!vb.count(k)) out.push_back(fmt::format("shared in A only: {}, {} bytes", k, bytes));
  }
  const std::uint64_t sa = a["shared"].value("static_bytes", std::uint64_t{0}), sb = b["shared"].value("static_bytes", std::uint64_t{0});
  if (sa != sb) out.push_back(fmt::format("shared static bytes: A {}, B {} ({:+})", sa, sb, static_cast<long long>(sb) - static_cast<long long>(sa)));
  return out;
}

// Attacks whose result differs (when both reports carry the suite's results).
json attack_changes(const json &a, const json &b) {
  json out = json::array();
  if (!a["checks"].contains("attacks") || !b["checks"].contains("attacks")) return out;
  auto rows = [](const json &r) {
    std::map<std::string, std::string> m;
    for (const json &row : r["checks"]["attacks"]["results"]) {
      m[row.value("mechanism", "") + " " + row.value("attack", "")] = row.value("result", "");
    }
    return m;
  };
  const auto ra = rows(a), rb = rows(b);
  for (const auto &[k, v] : ra) {
    auto it = rb.find(k);
    const std::string w = it == rb.end() ? "not listed" : it->second;
    if (v != w) out.push_back(fmt::format("{}: {} in A, {} in B", k, v, w));
  }
  return out;
}

}  // namespace

json compare_reports(const json &a, const json &b) {
  order::comparison c = order::compare(report_point(a), report_point(b));
  // The executables' own protections count too: one the other lacks is a point for it.
  if (c.result != order::verdict::different_libraries) {
    for (const char *p : {"pie", "nx", "relro", "bind_now", "w_xor_x"}) {
      const bool in_a = a["image"].value(p, false), in_b = b["image"].value(p, false);
      if (in_a != in_b) (in_a ? c.a_wins : c.b_wins).push_back(std::string("image: ") + p + " in " + (in_a ? "A" : "B") + " only");
    }
    c.result = c.a_wins.empty() && c.b_wins.empty() ? order::verdict::equal
               : c.a_wins.empty()                    ? order::verdict::b_safer
               : c.b_wins.empty()                    ? order::verdict::a_safer
                                                     : order::verdict::incomparable;
  }
  auto layout = [](const json &r) {
    json out = json::array();
    for (const json &comp : r["compartments"]) {
      out.push_back({{"name", comp["name"]}, {"isolation", comp["isolation"]}, {"libraries", comp["libraries"]}});
    }
    return out;
  };
  // Compartments split or merged: each compartment of one side whose libraries the other side spreads over
  // several compartments, or shares with libraries from elsewhere.
  auto groups = [](const json &r) {
    std::vector<std::set<std::string>> g;
    for (const json &comp : r["compartments"]) {
      std::set<std::string> libs;
      for (const json &l : comp["libraries"]) libs.insert(l.get<std::string>());
      g.push_back(std::move(libs));
    }
    return g;
  };
  auto text = [](const std::set<std::string> &libs) {
    std::string t;
    for (const std::string &l : libs) t += (t.empty() ? "" : ",") + l;
    return "{" + t + "}";
  };
  json layout_changes = json::array();
  const auto ga = groups(a), gb = groups(b);
  for (const auto &x : ga) {
    std::vector<std::set<std::string>> parts;
    for (const auto &y : gb) {
      std::set<std::string> common;
      std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::inserter(common, common.begin()));
      if (!common.empty()) parts.push_back(y);
    }
    if (parts.size() > 1) {
      std::string into;
      for (const auto &y : parts) into += (into.empty() ? "" : " ") + text(y);
      layout_changes.push_back("split: " + text(x) + " in A is " + into + " in B");
    } else if (parts.size() == 1 && parts[0] != x && std::includes(parts[0].begin(), parts[0].end(), x.begin(), x.end())) {
      layout_changes.push_back("merged: " + text(x) + " in A is part of " + text(parts[0]) + " in B");
    }
  }
  json out;
  out["layout_changes"] = layout_changes;
  out["a"] = {{"name", a["image"]["name"]}, {"profile", a["image"]["profile"]}, {"compartments", layout(a)}};
  out["b"] = {{"name", b["image"]["name"]}, {"profile", b["image"]["profile"]}, {"compartments", layout(b)}};
  out["verdict"] = std::string(order::to_string(c.result));
  out["b_weaker_somewhere"] = !c.a_wins.empty() || c.result == order::verdict::different_libraries;
  out["a_wins"] = c.a_wins;
  out["b_wins"] = c.b_wins;
  out["shared"] = {{"a_variables", a["shared"]["variables"].size()},
                   {"b_variables", b["shared"]["variables"].size()},
                   {"a_static_bytes", a["shared"].value("static_bytes", std::uint64_t{0})},
                   {"b_static_bytes", b["shared"].value("static_bytes", std::uint64_t{0})},
                   {"a_section_bytes", a["shared"]["shared_section_bytes"]},
                   {"b_section_bytes", b["shared"]["shared_section_bytes"]}};
  const std::string app_a = a["image"].value("app", ""), app_b = b["image"].value("app", "");
  out["app"] = {{"a", app_a}, {"b", app_b}, {"differs", app_a != app_b}};
  out["differences"] = {{"exports", export_changes(a, b)}, {"shared", shared_changes(a, b)}, {"attacks", attack_changes(a, b)}};
  return out;
}

std::string compare_text(const json &c) {
  auto layout = [](const json &side) {
    std::string s;
    for (const json &comp : side["compartments"]) {
      std::string libs;
      for (const json &l : comp["libraries"]) libs += (libs.empty() ? "" : ",") + l.get<std::string>();
      s += (s.empty() ? "" : " ") + fmt::format("{{{}}}:{}", libs, comp["isolation"].get<std::string>());
    }
    return s;
  };
  std::string out = fmt::format("A: {}  {}\nB: {}  {}\n", c["a"]["name"].get<std::string>(), layout(c["a"]),
                                c["b"]["name"].get<std::string>(), layout(c["b"]));
  if (c["app"]["differs"].get<bool>()) {
    out += fmt::format("App: A {}, B {} (different apps: not comparable in the order; the points on the libraries both place are listed)\n",
                       c["app"]["a"].get<std::string>(), c["app"]["b"].get<std::string>());
  }
  out += fmt::format("\nVerdict: {}\n", c["verdict"].get<std::string>());
  if (!c["layout_changes"].empty()) {
    out += "\nCompartments:\n";
    for (const json &l : c["layout_changes"]) out += "  " + l.get<std::string>() + "\n";
  }
  out += fmt::format("\nWhere A is safer ({}):\n", c["a_wins"].size());
  for (const json &w : c["a_wins"]) out += "  " + w.get<std::string>() + "\n";
  out += fmt::format("\nWhere B is safer ({}):\n", c["b_wins"].size());
  for (const json &w : c["b_wins"]) out += "  " + w.get<std::string>() + "\n";
  const json &sh = c["shared"];
  out += fmt::format("\nShared data: A {} variables ({} static bytes), {} bytes of shared sections; B {} variables ({} static bytes), {} bytes\n",
                     sh["a_variables"].get<std::size_t>(), sh["a_static_bytes"].get<std::uint64_t>(),
                     sh["a_section_bytes"].get<std::uint64_t>(), sh["b_variables"].get<std::size_t>(),
                     sh["b_static_bytes"].get<std::uint64_t>(), sh["b_section_bytes"].get<std::uint64_t>());
  for (const json &l : c["differences"]["shared"]) out += "  " + l.get<std::string>() + "\n";
  if (!c["differences"]["attacks"].empty()) {
    out += fmt::format("\nAttack results that differ ({}):\n", c["differences"]["attacks"].size());
    for (const json &l : c["differences"]["attacks"]) out += "  " + l.get<std::string>() + "\n";
  }
  if (!c["differences"]["exports"].empty()) {
    out += fmt::format("\nExports reachable across a boundary ({} changes):\n", c["differences"]["exports"].size());
    for (const json &l : c["differences"]["exports"]) out += "  " + l.get<std::string>() + "\n";
  }
  return out;
}

namespace {

std::optional<json> built_report(const options &opt) {
  fs::path exe;
  options quiet = opt;
  quiet.progress_to_stderr = true;  // stdout is the report's (--json for tools)
  if (build_image(quiet, &exe) != 0) return std::nullopt;
  std::string error;
  json r = image_report(exe.parent_path(), &error);
  if (r.is_null()) {
    std::fprintf(stderr, "flexbuild: error: %s\n", error.c_str());
    return std::nullopt;
  }
  return r;
}

}  // namespace

std::optional<std::string> compare_html(const json &c, const json &a, const json &b, std::string *error) {
  auto svg_a = render_svg(graph_dot(a), error);
  if (!svg_a) return std::nullopt;
  auto svg_b = render_svg(graph_dot(b), error);
  if (!svg_b) return std::nullopt;
  auto list = [](const json &items, const char *id) {
    std::string h = std::string("<ul id=") + id + ">";
    for (const json &w : items) h += "<li>" + escape_html(w.get<std::string>()) + "</li>";
    return h + (items.empty() ? "<li>(none)</li>" : "") + "</ul>\n";
  };
  const std::string an = c["a"]["name"].get<std::string>(), bn = c["b"]["name"].get<std::string>();
  std::string h = "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>flexbuild compare: " + escape_html(an) +
                  " / " + escape_html(bn) + "</title>\n<style>\nbody{font-family:sans-serif;margin:2em;color:#222}"
                  ".sides{display:flex;gap:2em}.side{flex:1;min-width:0}svg{max-width:100%;height:auto}"
                  "#verdict{font-size:1.4em;font-weight:bold}</style></head><body>\n";
  h += "<h1>" + escape_html(an) + " (A) against " + escape_html(bn) + " (B)</h1>\n<p id=verdict>" +
       escape_html(c["verdict"].get<std::string>()) + "</p>\n";
  if (c["app"]["differs"].get<bool>()) {
    h += "<p id=app class=bad>Different apps: A " + escape_html(c["app"]["a"].get<std::string>()) + ", B " +
         escape_html(c["app"]["b"].get<std::string>()) + "; not comparable in the order, the points on the libraries both place are listed.</p>\n";
  }
  if (!c["layout_changes"].empty()) h += "<h2>Compartments</h2>\n" + list(c["layout_changes"], "layout");
  h += "<div class=sides><div class=side><h2>A: " + escape_html(an) + "</h2><div id=graph-a>" + *svg_a +
       "</div><h3>Where A is safer</h3>\n" + list(c["a_wins"], "a-wins") + "</div>\n<div class=side><h2>B: " +
       escape_html(bn) + "</h2><div id=graph-b>" + *svg_b + "</div><h3>Where B is safer</h3>\n" +
       list(c["b_wins"], "b-wins") + "</div></div>\n";
  h += "<h2>Exports reachable across a boundary</h2>\n" + list(c["differences"]["exports"], "exports");
  h += "<h2>Shared data</h2>\n" + list(c["differences"]["shared"], "shared");
  h += "<h2>Attack results that differ</h2>\n" + list(c["differences"]["attacks"], "attacks");
  h += "</body></html>\n";
  return h;
}

namespace {

// Writes `page` to `path` whole (a temporary, then a rename); false with the reason on stderr.
bool write_page(const std::string &path, const std::string &page) {
  const fs::path tmp = path + ".tmp";
  std::ofstream(tmp) << page;
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::fprintf(stderr, "flexbuild: error: cannot write %s: %s\n", path.c_str(), ec.message().c_str());
    return false;
  }
  std::fprintf(stderr, "flexbuild: page: %s\n", path.c_str());
  return true;
}

}  // namespace

int compare_images(const options &a, const options &b, bool as_json, bool require_not_weaker,
                   const std::string &html_path, const std::optional<fs::path> &attack_suite) {
  auto ra = built_report(a);
  if (!ra) return 1;
  auto rb = built_report(b);
  if (!rb) return 1;
  if (attack_suite) {
    // One run for both: the mechanisms of either image.
    std::set<std::string> both = report_mechanisms(*ra);
    for (const std::string &m : report_mechanisms(*rb)) both.insert(m);
    std::string error;
    auto run = run_suite(*attack_suite, both, &error);
    if (!run) {
      std::fprintf(stderr, "flexbuild: error: %s\n", error.c_str());
      return 1;
    }
    (*ra)["checks"]["attacks"] = attack_results(*run, report_mechanisms(*ra));
    (*rb)["checks"]["attacks"] = attack_results(*run, report_mechanisms(*rb));
  }
  const json c = compare_reports(*ra, *rb);
  if (!html_path.empty()) {
    std::string error;
    auto page = compare_html(c, *ra, *rb, &error);
    if (!page) {
      std::fprintf(stderr, "flexbuild: error: %s\n", error.c_str());
      return 1;
    }
    if (!write_page(html_path, *page)) return 1;
  }
  const std::string text = as_json ? c.dump(2) + "\n" : compare_text(c);
  std::fputs(text.c_str(), stdout);
  if (require_not_weaker && c["b_weaker_somewhere"].get<bool>()) {
    std::fprintf(stderr, "flexbuild: B (%s) is weaker than A (%s) on %zu points (--require-not-weaker)\n",
                 c["b"]["name"].get<std::string>().c_str(), c["a"]["name"].get<std::string>().c_str(),
                 c["a_wins"].size());
    return 1;
  }
  return 0;
}

int report_image(const options &opt, bool as_json, const std::string &html_path,
                 const std::optional<fs::path> &attack_suite) {
  auto built = built_report(opt);
  if (!built) return 1;
  json &r = *built;
  if (attack_suite) {
    std::string error;
    json a = run_attack_suite(*attack_suite, report_mechanisms(r), &error);
    if (a.is_null()) {
      std::fprintf(stderr, "flexbuild: error: %s\n", error.c_str());
      return 1;
    }
    r["checks"]["attacks"] = std::move(a);
  }
  if (!html_path.empty()) {
    std::string error;
    auto page = report_html(r, &error);
    if (!page) {
      std::fprintf(stderr, "flexbuild: error: %s\n", error.c_str());
      return 1;
    }
    if (!write_page(html_path, *page)) return 1;
  }
  const std::string text = as_json ? r.dump(2) + "\n" : report_text(r);
  std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace flex::build
