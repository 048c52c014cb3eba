// Generators for the files of an image's work folder: compilation databases and gate plans for
// flex-transform, the per-compartment identity, the layout table, and build.ninja, which ninja runs so
// that a re-run with nothing changed does no work and a changed compartment rebuilds alone.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "flex/build/image_build.h"

namespace flex::build {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

image_paths::image_paths(fs::path dir, std::string image_name)
    : image_dir(std::move(dir)), work(image_dir / "work"), name(std::move(image_name)) {}

fs::path image_paths::self_c(std::string_view comp) const {
  return work / "gen" / fmt::format("self_{}.c", comp);
}
fs::path image_paths::plan(std::string_view comp, std::string_view lib) const {
  return work / "plan" / comp / fmt::format("{}.json", lib);
}
fs::path image_paths::summary(std::string_view comp, std::string_view lib) const {
  return work / "summary" / comp / fmt::format("{}.json", lib);
}
fs::path image_paths::source_summary(std::string_view comp, std::string_view lib,
                                     const std::string &source) const {
  return work / "summary" / comp / lib / (source + ".json");
}
fs::path image_paths::transformed_dir(std::string_view comp, std::string_view lib) const {
  return work / "src" / comp / lib;
}
fs::path image_paths::compartment_object(std::string_view comp) const {
  return work / "obj" / fmt::format("{}.o", comp);
}

std::vector<unit> image_units(const resolved_image &img, const image_paths &paths) {
  auto find_lib = [&](std::string_view name) -> const lib_manifest * {
    for (const auto &c : img.compartments) {
      for (const auto *set : {&c.libraries, &c.replicated}) {
        for (const lib_manifest *l : *set) {
          if (l->name == name) return l;
        }
      }
    }
    return nullptr;
  };
  std::vector<unit> units;
  for (const auto &c : img.compartments) {
    auto add_lib = [&](const lib_manifest *lib) {
      for (const auto &src : lib->sources) {
        unit u;
        u.comp = &c;
        u.lib = lib;
        u.source = lib->dir / src.value;
        u.transformed = paths.transformed_dir(c.name(), lib->name) / src.value;
        u.summary = paths.source_summary(c.name(), lib->name, src.value);
        u.object = paths.object_dir(c.name()) / lib->name / (src.value + ".o");
        std::string ext = u.source.extension().string();
        u.cxx = ext == ".cc" || ext == ".cpp";
        for (const auto &dep : lib->deps) {
          if (const lib_manifest *d = find_lib(dep.value)) u.dep_includes.push_back(d->include_dir());
        }
        std::sort(u.dep_includes.begin(), u.dep_includes.end());
        units.push_back(std::move(u));
      }
    };
    for (const lib_manifest *lib : c.libraries) add_lib(lib);
    for (const lib_manifest *lib : c.replicated) add_lib(lib);
  }
  return units;
}

// MPK domains and process compartments have a heap each. Not with ASan, whose runtime owns malloc: there
// process compartments keep glibc's heap, private to their process all the same.
bool image_links_malloc(const resolved_image &img) {
  bool mpk = false, process = false, asan = false;
  for (const auto &c : img.compartments) {
    mpk |= c.spec->iso == isolation::mpk;
    process |= c.spec->iso == isolation::process;
    asan |= c.spec->has(hardening::asan);
  }
  return mpk || (process && !asan);
}

std::vector<std::string> unit_flags(const unit &u, const toolchain &tc, bool for_transformed_copy) {
  // -ffunction-sections: every function in a section of its own, so that each call between functions is a
  // relocation the system-call check (syscall_scan.h) follows; the link places .text.* as it does .text.
  std::vector<std::string> flags = {u.cxx ? "-std=gnu++20" : "-std=gnu17", "-O2", "-g", "-fPIE",
                                    "-ffunction-sections", "-Wall", "-Werror=implicit-function-declaration"};
  if (for_transformed_copy) {
    // The copy lives in the build tree; quoted includes still resolve next to the original.
    flags.push_back("-iquote");
    flags.push_back(u.source.parent_path().string());
  }
  flags.push_back("-I" + u.lib->include_dir().string());
  for (const auto &d : u.lib->defines) flags.push_back("-D" + d.value);
  for (const auto &i : u.lib->includes) flags.push_back("-I" + (u.lib->dir / i.value).string());
  // A library sees its own headers, those of the libraries it requires, and the porting API.
  for (const auto &dir : u.dep_includes) flags.push_back("-I" + dir.string());
  for (auto &f : tc.runtime_include_flags()) flags.push_back(std::move(f));
  // A process compartment's statics are unmapped in the image's other processes, yet a destructor
  // registered for one at start-up (before the fork) would run there at exit: refused at compile time.
  if (u.cxx && u.comp->spec->iso == isolation::process) flags.push_back("-Werror=exit-time-destructors");
  auto comp = compartment_flags(*u.comp->spec);
  flags.insert(flags.end(), comp.begin(), comp.end());
  return flags;
}

std::string compile_commands_json(const std::vector<unit> &units, const resolved_compartment &comp,
                                  const toolchain &tc, const image_paths &paths) {
  json db = json::array();
  for (const unit &u : units) {
    if (u.comp != &comp) continue;
    json args = json::array();
    args.push_back((u.cxx ? tc.cxx : tc.cc).string());
    for (auto &f : unit_flags(u, tc, false)) args.push_back(f);
    args.push_back("-c");
    args.push_back(u.source.string());
    args.push_back("-o");
    args.push_back(u.object.string());
    db.push_back({{"directory", paths.work.string()}, {"file", u.source.string()}, {"arguments", args}});
  }
  return db.dump(2) + "\n";
}

std::string gate_plan_json(const resolved_image &img, const resolved_compartment &comp,
                           const lib_manifest &lib) {
  json plan;
  plan["library"] = lib.name;
  plan["compartment"] = comp.name();
  plan["isolation"] = std::string(to_string(comp.spec->iso));
  plan["sharing"] = {{"stack", std::string(to_string(img.prof->stack))}};
  json targets = json::object();
  auto add = [&](const lib_manifest *target, const std::string &where) {
    json exports = json::array();
    for (const auto &e : target->exports) exports.push_back(e.value);
    targets[target->name] = {{"compartment", where},
                             {"gate", std::string(to_string(img.gate_for(comp, target->name)))},
                             {"exports", exports}};
  };
  for (const auto &c : img.compartments) {
    for (const lib_manifest *l : c.libraries) add(l, c.name());
  }
  for (const lib_manifest *l : comp.replicated) add(l, comp.name());
  plan["targets"] = targets;
  return plan.dump(2) + "\n";
}

std::string c_string_literal(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
      out += fmt::format("\\{:03o}", static_cast<unsigned char>(ch));
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// An mpk domain: a compartment sharing the address space of an image with an mpk compartment.
bool is_mpk_domain(const resolved_image &img, const resolved_compartment &c) {
  const bool any_mpk = std::any_of(img.compartments.begin(), img.compartments.end(),
                                   [](const resolved_compartment &x) { return x.spec->iso == isolation::mpk; });
  return any_mpk && c.spec->iso != isolation::process;
}

// Whether library code in compartment `b` runs in the process of compartment `a`: the same compartment,
// or two compartments of the main process (neither of them a process compartment).
bool same_process(const resolved_compartment &a, const resolved_compartment &b) {
  return &a == &b || (a.spec->iso != isolation::process && b.spec->iso != isolation::process);
}

// Before/after: compartment net of an image with sched in a process of its own gets
//   const struct flex_self_info flex_self = {"net", 1u};
//   const int flex_colocated_net = 1;
//   const int flex_colocated_sched = 0;
// (each made private to the compartment at link time, as flex_self is).
std::string self_c(const resolved_image &img, const resolved_compartment &comp) {
  size_t index = static_cast<size_t>(&comp - img.compartments.data());
  std::string out = fmt::format(
      "/* Generated by flexbuild: the identity of compartment {0}. Do not edit. */\n"
      "#include <flex/runtime/self.h>\n"
      "const struct flex_self_info flex_self = {{{1}, {2}u}};\n",
      comp.name(), c_string_literal(comp.name()), index);
  std::vector<std::pair<std::string, int>> libs;
  for (const auto &other : img.compartments) {
    for (const lib_manifest *l : other.libraries) libs.emplace_back(l->name, same_process(comp, other) ? 1 : 0);
  }
  std::sort(libs.begin(), libs.end());
  for (const auto &[name, here] : libs) out += fmt::format("const int flex_colocated_{} = {};\n", name, here);
  if (is_mpk_domain(img, comp)) {
    // Its system calls (DESIGN.md §8, mpk_gate.h): plat's go through the domain's own system-call gate, which
    // proves it was entered by this domain's code with a mark only this domain can write.
    out += fmt::format(
        "\n/* The system-call gate's mark: in this compartment's .bss, under its key. */\n"
        "unsigned char flex_sysmark_{0}[2] __attribute__((aligned(64)));\n"
        "long flex_sysgate_{0}(long, long, long, long, long, long, long);\n"
        "/* Memory calls go by the trap instead (the runtime checks their ranges and tags fresh memory with\n"
        "   this compartment's key; the gate refuses them): a plain `syscall`, which the dispatch turns into\n"
        "   SIGSYS once the wall is armed. In plat_syscall's section: not a site of its own. */\n"
        "__attribute__((section(\".text.plat_syscall\"), noinline)) static long flex_trapped_syscall(\n"
        "    long nr, long a0, long a1, long a2, long a3, long a4, long a5) {{\n"
        "  register long r10 __asm__(\"r10\") = a3, r8 __asm__(\"r8\") = a4, r9 __asm__(\"r9\") = a5;\n"
        "  long ret;\n"
        "  __asm__ volatile(\"syscall\" : \"=a\"(ret) : \"a\"(nr), \"D\"(a0), \"S\"(a1), \"d\"(a2), \"r\"(r10), \"r\"(r8), \"r\"(r9)\n"
        "                   : \"rcx\", \"r11\", \"memory\");\n"
        "  return ret;\n"
        "}}\n"
        "long plat_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {{\n"
        "  switch (nr) {{\n"
        "    case 9: case 10: case 11: case 12: case 25: case 28: /* mmap mprotect munmap brk mremap madvise */\n"
        "      return flex_trapped_syscall(nr, a0, a1, a2, a3, a4, a5);\n"
        "  }}\n"
        "  return flex_sysgate_{0}(nr, a0, a1, a2, a3, a4, a5);\n"
        "}}\n",
        comp.name());
  }
  return out;
}

static std::uint64_t peer_mask(const resolved_image &img, const resolved_compartment &c) {
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < img.compartments.size(); ++i) {
    if (std::find(c.peers.begin(), c.peers.end(), img.compartments[i].name()) != c.peers.end()) mask |= 1ull << i;
  }
  return mask;
}

static std::uint64_t family_mask(const resolved_compartment &c) {
  std::uint64_t mask = 0;
  if (const syscall_entry *e = c.find_syscall("socket")) {
    for (int f : e->families) mask |= 1ull << f;
  }
  return mask;
}

std::string layout_c(const resolved_image &img) {
  const profile &p = *img.prof;
  std::string out = "/* Generated by flexbuild: the layout table of image " + p.name + ". Do not edit. */\n";
  out += "#include <flex/runtime/layout.h>\n\n";
  for (const auto &c : img.compartments) {
    for (const section_kind &k : compartment_section_kinds()) {
      out += fmt::format("extern char {}[], {}[];\n", section_symbol(c.name(), k.name, false),
                         section_symbol(c.name(), k.name, true));
    }
  }
  out += "extern char __flex_shared_data_start[], __flex_shared_data_end[];\n";
  out += "extern char __flex_shared_rodata_start[], __flex_shared_rodata_end[];\n\n";
  auto name_list = [](const std::vector<const lib_manifest *> &libs) {
    std::string s = "{";
    for (const lib_manifest *l : libs) s += c_string_literal(l->name) + ", ";
    return s + "0}";
  };
  for (const auto &c : img.compartments) {
    out += fmt::format("static const char *const libs_{}[] = {};\n", c.name(), name_list(c.libraries));
    out += fmt::format("static const char *const repl_{}[] = {};\n", c.name(), name_list(c.replicated));
    std::string nrs;
    for (const syscall_entry &e : c.syscalls) nrs += fmt::format("{}, ", e.number);
    out += fmt::format("static const int sys_{}[] = {{{}}};  /* {} system calls */\n", c.name(),
                       nrs.empty() ? std::string("-1") : nrs, c.syscalls.size());
    if (is_mpk_domain(img, c)) {
      out += fmt::format("extern long flex_sysdrop_{}(long, long, long, long, long, long, long);\n", c.name());
      if (img.prof->mpk_gate != mpk_gate_kind::light) out += fmt::format("extern void flex_sigenter_{}(void);\n", c.name());
    }
  }
  out += "\nstatic const struct flex_compartment_layout compartments[] = {\n";
  for (const auto &c : img.compartments) {
    std::string hard;
    for (hardening h : c.spec->hardenings) hard += (hard.empty() ? "" : ",") + std::string(to_string(h));
    out += fmt::format("  {{{}, {}, {}, {}, libs_{}, repl_{}, {}ul, {{\n", c_string_literal(c.name()),
                       static_cast<int>(c.spec->iso), c.spec->is_default ? 1 : 0, c_string_literal(hard),
                       c.name(), c.name(), c.spec->heap_mib);
    for (const section_kind &k : compartment_section_kinds()) {
      out += fmt::format("    {{{}, {}, {}}},\n", c_string_literal(section_name(c.name(), k.name)),
                         section_symbol(c.name(), k.name, false), section_symbol(c.name(), k.name, true));
    }
    const bool sig_gate = is_mpk_domain(img, c) && img.prof->mpk_gate != mpk_gate_kind::light;
    out += fmt::format("  }}, {}ull, sys_{}, {}u, {}ull, {}, {}}},\n", peer_mask(img, c), c.name(), c.syscalls.size(),
                       family_mask(c), is_mpk_domain(img, c) ? "flex_sysdrop_" + c.name() : std::string("0"),
                       sig_gate ? "flex_sigenter_" + c.name() : std::string("0"));
  }
  out += "};\n\nstatic const struct flex_boundary_layout boundaries[] = {\n";
  auto index_of = [&](const std::string &name) {
    for (size_t i = 0; i < img.compartments.size(); ++i) {
      if (img.compartments[i].name() == name) return i;
    }
    return size_t{0};
  };
  for (const auto &b : img.boundaries) {
    out += fmt::format("  {{{}u, {}u, {}, {}}},\n", index_of(b.from), index_of(b.to),
                       static_cast<int>(b.mechanism), static_cast<int>(b.gate));
  }
  if (img.boundaries.empty()) out += "  {0u, 0u, 0, 0},\n";
  out += "};\n\n";
  if (p.binary) {
    out += "static const char *const binary_args[] = {";
    for (const std::string &a : p.binary->args) out += c_string_literal(a) + ", ";
    out += "0};\n\n";
  }
  out += "const struct flex_image_layout flex_image = {\n";
  out += fmt::format("  {}, {}, {}, {}, {},\n", c_string_literal(p.name), c_string_literal(p.app.value),
                     c_string_literal(std::filesystem::absolute(p.file).string()), c_string_literal(to_string(p.stack)),
                     c_string_literal(to_string(p.mpk_gate)));
  out += fmt::format("  {}u, compartments, {}u, boundaries,\n", img.compartments.size(),
                     img.boundaries.size());
  out += fmt::format("  {{{}, __flex_shared_data_start, __flex_shared_data_end}},\n",
                     c_string_literal(kSharedDataSection));
  out += fmt::format("  {{{}, __flex_shared_rodata_start, __flex_shared_rodata_end}},\n",
                     c_string_literal(kSharedRodataSection));
  out += fmt::format("  {},\n", static_cast<int>(p.lockdown));
  out += p.binary ? fmt::format("  {}, binary_args,\n", c_string_literal(p.binary->path.value)) : "  0, 0,\n";
  const bool dir_option = img.app && img.app->hostfs_dir_option;
  out += fmt::format("  {}, {},\n", dir_option ? c_string_literal(img.app->hostfs_dir_option->value) : "0",
                     dir_option && !img.app->hostfs_dir_default.empty()
                         ? c_string_literal(img.app->hostfs_dir_default)
                         : "0");
  out += "};\n";
  return out;
}

std::string shell_quote(std::string_view s) {
  bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
  });
  if (plain) return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ninja_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '$' || c == ' ' || c == ':' || c == '\n') out += '$';
    out += c;
  }
  return out;
}

namespace {

std::string join_shell(const std::vector<std::string> &args) {
  std::string out;
  for (const auto &a : args) {
    if (!out.empty()) out += ' ';
    out += shell_quote(a);
  }
  return out;
}

// A shell-quoted command line, escaped again for a ninja variable.
std::string ninja_command(const std::vector<std::string> &args) {
  std::string out;
  for (char c : join_shell(args)) {
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

std::string p(const fs::path &path) { return ninja_escape(path.string()); }

// transform: one edge per source, producing its copy and its summary, so that editing a source
// re-transforms that source alone, and editing a header the sources whose depfile lists it. Each edge
// reads its library's plan; the driver merges the summaries of a library afterwards (no re-parse).
std::string transform_edges(const std::vector<unit> &units, const toolchain &tc, const image_paths &paths,
                            std::vector<std::string> &outs) {
  std::string out;
  for (const unit &u : units) {
    fs::path db = paths.db_dir(u.comp->name());
    fs::path plan = paths.plan(u.comp->name(), u.lib->name);
    out += "build " + p(u.summary) + " | " + p(u.transformed) + " : transform " + p(u.source) + " | " +
           p(tc.transform) + " " + p(plan) + " " + p(db / "compile_commands.json") + "\n";
    out += "  db = " + ninja_command({db.string()}) + "\n";
    out += "  plan = " + ninja_command({plan.string()}) + "\n";
    out += "  base = " + ninja_command({u.lib->dir.string()}) + "\n";
    fs::path outdir = paths.transformed_dir(u.comp->name(), u.lib->name);
    out += "  outdir = " + ninja_command({outdir.string()}) + "\n";
    out += "  comp = " + u.comp->name() + "\n";
    outs.push_back(p(u.summary));
  }
  return out;
}

}  // namespace

namespace {

// Stage "rules": the four rules every image uses.
std::string ninja_rules(const toolchain &tc, const image_paths &paths) {
  std::string out;
  out += "ninja_required_version = 1.10\n\n";
  // flex-transform runs once per source: see the transform edges below.
  out += "transform_tool = " + ninja_command({tc.transform.string()}) + "\n\n";
  out += "rule transform\n"
         "  command = $transform_tool -p $db --plan $plan --base $base --out-dir $outdir --summary $out "
         "--depfile $out.d $in\n"
         "  description = transform $in ($comp)\n"
         "  depfile = $out.d\n  deps = gcc\n  restat = 1\n\n";
  // Through ccache, the image's own paths are taken relative to its work folder (CCACHE_BASEDIR) and the
  // folder itself is left out of the key (CCACHE_NOHASHDIR), so two images compiling the same source with
  // the same flags share the object. The debug information still names the real sources: each transformed
  // copy starts with a #line naming its original.
  std::string launcher;
  if (!tc.ccache.empty()) {
    launcher = "CCACHE_BASEDIR=" + ninja_command({paths.work.string()}) + " CCACHE_NOHASHDIR=1 " +
               ninja_command({tc.ccache.string()}) + " ";
  }
  out += "rule cc\n  command = " + launcher + "$compiler -MD -MF $out.d $flags -c $in -o $out\n"
         "  description = compile $in\n  depfile = $out.d\n  deps = gcc\n\n";
  out += "rule partial_link\n"
         "  command = " + ninja_command({tc.ld.string()}) + " -r -o $out.r $in && " +
         ninja_command({tc.objcopy.string()}) + " $objcopy_flags $out.r $out && rm -f $out.r\n"
         "  description = link compartment $comp\n\n";
  // The global symbols some objects define, one per line (posix's names, made private to its compartment).
  out += "rule defined_symbols\n"
         "  command = " + ninja_command({tc.nm.string()}) +
         " --defined-only --extern-only --format=just-symbols $in | sort -u > $out\n"
         "  description = list the names of $comp\n\n";
  out += "rule link\n  command = $linker $flags -o $out $in $libs\n  description = link $out\n\n";

  return out;
}

// Stage "compile edges": each transformed copy with its compartment's flags, each compartment's identity,
// the layout table and the gates.
std::string compile_edges(const resolved_image &img, const std::vector<unit> &units, const toolchain &tc,
                          const image_paths &paths, std::vector<std::string> &compile_outs) {
  std::string out;
  for (const unit &u : units) {
    out += "build " + p(u.object) + " : cc " + p(u.transformed) + "\n";
    out += "  compiler = " + ninja_command({(u.cxx ? tc.cxx : tc.cc).string()}) + "\n";
    out += "  flags = " + ninja_command(unit_flags(u, tc, true)) + "\n";
    compile_outs.push_back(p(u.object));
  }
  std::vector<std::string> base_flags = {"-std=gnu17", "-O2", "-g", "-fPIE", "-Wall"};
  for (auto &f : tc.runtime_include_flags()) base_flags.push_back(std::move(f));
  for (const auto &c : img.compartments) {
    fs::path obj = paths.object_dir(c.name()) / "self.o";
    out += "build " + p(obj) + " : cc " + p(paths.self_c(c.name())) + "\n";
    out += "  compiler = " + ninja_command({tc.cc.string()}) + "\n";
    out += "  flags = " + ninja_command(base_flags) + "\n";
    compile_outs.push_back(p(obj));
  }
  out += "build " + p(paths.layout_o()) + " : cc " + p(paths.layout_c()) + "\n";
  out += "  compiler = " + ninja_command({tc.cc.string()}) + "\n";
  out += "  flags = " + ninja_command(base_flags) + "\n";
  compile_outs.push_back(p(paths.layout_o()));
  out += "build " + p(paths.gates_o()) + " : cc " + p(paths.gates_cc()) + "\n";
  out += "  compiler = " + ninja_command({tc.cxx.string()}) + "\n";
  std::vector<std::string> gates_flags = {"-std=c++20", "-O2", "-g", "-fPIE", "-Wall", "-fno-exceptions"};
  for (auto &f : tc.runtime_include_flags()) gates_flags.push_back(std::move(f));
  out += "  flags = " + ninja_command(gates_flags) + "\n";
  compile_outs.push_back(p(paths.gates_o()));
  out += "\n";

  return out;
}

// Stage "link edges": one relocatable object per compartment (its identity made private, the app's main
// renamed), then the executable with the generated linker script.
std::string link_edges(const resolved_image &img, const std::vector<unit> &units, const toolchain &tc,
                       const image_paths &paths) {
  std::string out;
  std::vector<const compartment *> specs;
  std::string comp_objs;
  for (const auto &c : img.compartments) {
    // posix's POSIX names serve the app's calls only (DESIGN.md §2): the app's objects and posix's are
    // linked first, with every global posix defines made private, so that the compartment's other
    // libraries (and the C library's own calls) keep the C library's read(), clock_gettime(), ...
    const lib_manifest *posix = nullptr;
    for (const lib_manifest *l : c.libraries) {
      if (l->name == kPosixLibrary) posix = l;
    }
    std::string ins, app_and_posix, posix_objs;
    for (const unit &u : units) {
      if (u.comp != &c) continue;
      if (posix && (u.lib == posix || u.lib == img.app)) {
        app_and_posix += " " + p(u.object);
        if (u.lib == posix) posix_objs += " " + p(u.object);
      } else {
        ins += " " + p(u.object);
      }
    }
    if (posix) {
      const fs::path syms = paths.object_dir(c.name()) / "posix.symbols";
      const fs::path with_posix = paths.object_dir(c.name()) / "app_posix.o";
      out += "build " + p(syms) + " : defined_symbols" + posix_objs + "\n  comp = " + c.name() + "\n";
      out += "build " + p(with_posix) + " : partial_link" + app_and_posix + " | " + p(syms) + "\n";
      out += "  objcopy_flags = " + ninja_command({"--localize-symbols=" + syms.string()}) + "\n";
      out += "  comp = " + c.name() + "\n";
      ins += " " + p(with_posix);
    }
    ins += " " + p(paths.object_dir(c.name()) / "self.o");
    std::string objcopy_flags =
        "--localize-symbol=flex_self --localize-symbol=flex_colocated_* --localize-symbol=plat_syscall";
    for (const lib_manifest *l : c.libraries) {
      if (l == img.app) objcopy_flags += " --redefine-sym=main=flex_app_main";
    }
    // A replicated library is linked into every compartment that uses it: each copy stays private to
    // its compartment (its symbols carry the library's prefix, DESIGN.md §2).
    objcopy_flags += " --wildcard";
    for (const lib_manifest *l : c.replicated) objcopy_flags += " --localize-symbol=" + l->name + "_*";
    out += "build " + p(paths.compartment_object(c.name())) + " : partial_link" + ins + "\n";
    out += "  objcopy_flags = " + objcopy_flags + "\n  comp = " + c.name() + "\n";
    comp_objs += " " + p(paths.compartment_object(c.name()));
    specs.push_back(c.spec);
  }
  std::vector<std::string> link_flags = {"-fuse-ld=lld", "-pie", "-Wl,-T," + paths.linker_script().string()};
  for (auto &f : image_link_flags(specs)) link_flags.push_back(f);
  out += "build " + p(paths.executable()) + " : link " + p(paths.layout_o()) + " " + p(paths.gates_o()) +
         comp_objs + " | " + p(tc.runtime) + " " + p(tc.malloc);
  for (const auto &part : tc.runtime_parts) out += " " + p(part);
  out += " " + p(paths.linker_script()) + "\n";
  out += "  linker = " + ninja_command({tc.cxx.string()}) + "\n";
  out += "  flags = " + ninja_command(link_flags) + "\n";
  // malloc and new route to the running compartment's heap through libflex_runtime_malloc.a, before the heap
  // archive it needs and before libc.
  std::vector<std::string> libs = {tc.runtime.string()};
  if (image_links_malloc(img)) libs.push_back(tc.malloc.string());
  for (const auto &part : tc.runtime_parts) libs.push_back(part.string());
  out += "  libs = " + ninja_command(libs) + "\n\n";

  return out;
}

}  // namespace

// rules -> transform edges -> compile edges -> link edges -> the phony steps flexbuild runs one by one.
std::string build_ninja(const resolved_image &img, const std::vector<unit> &units, const toolchain &tc,
                        const image_paths &paths) {
  std::string out = "# Generated by flexbuild for image " + img.prof->name + ". Do not edit.\n";
  out += ninja_rules(tc, paths);
  std::vector<std::string> transform_outs, compile_outs;
  out += transform_edges(units, tc, paths, transform_outs);
  out += "\n";
  out += compile_edges(img, units, tc, paths, compile_outs);
  out += link_edges(img, units, tc, paths);
  auto phony = [&](const char *name, const std::vector<std::string> &deps) {
    out += std::string("build ") + name + " : phony";
    for (const auto &d : deps) out += " " + d;
    out += "\n";
  };
  phony("transform", transform_outs);
  phony("compile", compile_outs);
  phony("link", {p(paths.executable())});
  out += "default link\n";
  return out;
}

}  // namespace flex::build
