#include "flex/build/driver.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flex/build/elf_sections.h"
#include "flex/build/fs_util.h"
#include "flex/build/image_build.h"
#include "flex/build/image_json.h"
#include "flex/build/program_calls.h"
#include "flex/build/manifest.h"
#include "flex/build/profile.h"
#include "flex/build/resolve.h"
#include "flex/build/toolchain.h"
#include "flex/build/transform_summaries.h"
#include "flex/build/gadget_scan.h"
#include "flex/build/boundary_calls.h"
#include "flex/build/syscall_check.h"
#include "flex/yaml/diag.h"

#ifndef FLEX_SOURCE_DIR
#define FLEX_SOURCE_DIR "."
#endif

namespace flex::build {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

// The source tree the profile belongs to: the nearest folder above it holding apps/ or libos/, else the
// tree flexbuild was built from.
fs::path find_root(const options &opt) {
  if (opt.root) return fs::absolute(*opt.root);
  std::error_code ec;
  for (fs::path dir = fs::absolute(opt.profile, ec).parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::is_directory(dir / "apps", ec) || fs::is_directory(dir / "libos", ec)) return dir;
    if (dir == dir.root_path()) break;
  }
  return FLEX_SOURCE_DIR;
}

// Everything the commands share: the library index, the profile, the resolved image.
struct loaded {
  fs::path root;
  library_index libs;
  std::optional<profile> prof;
  std::optional<resolved_image> img;
};

// A program that imports a C library function for a call no lockdown allows is refused at its `binary:`
// line, each such import named: under the lockdown the call could only ever fail. With `lockdown: off`
// it builds, and the call is answered -ENOSYS at run time (posix serves none of them).
bool refuse_forbidden_imports(const profile &p, diag_sink &diags) {
  if (!p.binary || p.lockdown == lockdown_mode::off) return true;
  auto table = syscall_table::load(default_syscall_table(), diags);
  if (!table) return false;
  std::string error;
  auto imports = analyse_program(p.binary->path.value, *table, &error, /*decode=*/false);
  if (!imports) {
    diags.error(p.binary->path.pos, error, "name a program whose libraries are installed and readable");
    return false;
  }
  for (const forbidden_import &f : forbidden_imports(*imports)) {
    diags.error(p.binary->path.pos,
                fmt::format("{}: {}, which makes {}(2), a call no lockdown allows ({})", p.binary->path.value, f.where,
                            f.call, f.why),
                "an image cannot run this program under `lockdown: " + std::string(to_string(p.lockdown)) +
                    "`; build it with `lockdown: off` to run it with that call answered ENOSYS");
  }
  return !diags.has_errors();
}

bool load(const options &opt, loaded &out, diag_sink &diags) {
  out.root = find_root(opt);
  out.libs = load_library_index(out.root, diags);
  out.prof = load_profile(opt.profile, diags);
  if (diags.has_errors() || !out.prof) return false;
  if (opt.lockdown) {
    const lockdown_mode mode = *opt.lockdown == "off" ? lockdown_mode::off
                               : *opt.lockdown == "log" ? lockdown_mode::log
                                                        : lockdown_mode::enforce;
    if (mode != out.prof->lockdown) {
      out.prof->lockdown = mode;
      out.prof->name += "-lockdown-" + *opt.lockdown;
    }
  }
  if (!validate_profile(*out.prof, out.libs, diags)) return false;
  if (!refuse_forbidden_imports(*out.prof, diags)) return false;
  out.img = resolve(*out.prof, out.libs, diags);
  return out.img.has_value() && !diags.has_errors();
}

// Combinations the runtime cannot protect yet are refused, never built to run with less isolation than
// the profile asks for.
void refuse_unprotectable(const profile &p, diag_sink &diags) {
  const compartment *mpk = nullptr;
  for (const auto &c : p.compartments) {
    if (c.iso == isolation::mpk && !mpk) mpk = &c;
  }
  if (!mpk) return;
  for (const auto &c : p.compartments) {
    if (!c.has(hardening::asan)) continue;
    diags.error(c.hardening_pos,
                fmt::format("compartment '{}' asks for asan in an image with mpk domains: ASan's allocator "
                            "would keep every compartment's heap in one unprotected key-0 heap",
                            c.name),
                "drop asan here, or use isolation: process for the hardened compartment");
  }
}

class progress {
 public:
  progress(bool to_stderr) : out_(to_stderr ? stderr : stdout), start_(clock_type::now()) {}
  void line(const std::string &step, const std::string &what) {
    double s = std::chrono::duration<double>(clock_type::now() - start_).count();
    std::fprintf(out_, "flexbuild: %-9s %s (%.2f s)\n", (step + ":").c_str(), what.c_str(), s);
    std::fflush(out_);
    start_ = clock_type::now();
  }

 private:
  std::FILE *out_;
  clock_type::time_point start_;
};

constexpr std::string_view kStatus = "[flex] ";

struct step_result {
  int status = 0;
  int commands = 0;
};

// Runs one phony target of build.ninja, appending every command and its output to the log.
step_result run_ninja(const toolchain &tc, const image_paths &paths, const options &opt,
                      const std::string &target, std::string &log) {
  // -C: ninja keeps its logs (.ninja_log, .ninja_deps) in the image's own work folder.
  std::string cmd = shell_quote(tc.ninja.string()) + " -C " + shell_quote(paths.work.string()) + " -f " +
                    shell_quote(paths.ninja_file().string()) +
                    " -v" + (opt.jobs > 0 ? fmt::format(" -j {}", opt.jobs) : "") + " " + target + " 2>&1";
  ::setenv("NINJA_STATUS", std::string(kStatus).c_str(), 1);
  step_result r;
  std::FILE *pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    log += "cannot start ninja\n";
    r.status = 1;
    return r;
  }
  char *line = nullptr;
  size_t cap = 0;
  std::string others;
  bool skip_command = false;
  while (::getline(&line, &cap, pipe) > 0) {
    std::string_view l(line);
    log += l;
    if (l.substr(0, kStatus.size()) == kStatus) {
      ++r.commands;
      if (opt.verbose) std::fputs(line + kStatus.size(), stdout);
    } else if (l.rfind("FAILED: ", 0) == 0) {
      // ninja -v repeats the failing command after this line; both name build-tree paths.
      if (opt.verbose) others += l;
      skip_command = !opt.verbose;
    } else if (skip_command) {
      skip_command = false;
    } else if (l != "ninja: no work to do.\n" && l.rfind("ninja: Entering directory", 0) != 0) {
      others += l;
    }
  }
  std::free(line);
  int st = ::pclose(pipe);
  r.status = (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? 0 : 1;
  // Compiler diagnostics and ninja's failure report reach the user whatever the verbosity.
  std::fputs(others.c_str(), stderr);
  return r;
}

std::string count(int n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

int check_profile(const options &opt) {
  diag_sink diags;
  loaded l;
  bool ok = load(opt, l, diags);
  diags.print(stderr);
  if (!ok) return 1;
  std::printf("%s: ok: image '%s', app '%s', %zu compartments\n", opt.profile.c_str(), l.prof->name.c_str(),
              l.prof->app.value.c_str(), l.img->compartments.size());
  for (const auto &c : l.img->compartments) {
    std::string libs;
    for (const lib_manifest *lib : c.libraries) libs += (libs.empty() ? "" : ", ") + lib->name;
    std::printf("  %s: isolation %s, libraries %s\n", c.name().c_str(), std::string(to_string(c.spec->iso)).c_str(),
                libs.empty() ? "-" : libs.c_str());
  }
  return 0;
}

namespace {

// A build's log (build.log), written whatever the outcome.
struct build_log {
  std::string text;
  fs::path path;
  void finish() const {
    if (auto err = write_atomically(path, text)) std::fprintf(stderr, "flexbuild: %s\n", err->c_str());
  }
};

// Stage "generate": the generated inputs, each rewritten only when its content changes. Returns how
// many changed, or -1 after printing why it could not write one.
int generate_inputs(const resolved_image &img, const std::vector<unit> &units, const toolchain &tc,
                    const image_paths &paths) {
  std::vector<std::pair<fs::path, std::string>> files;
  for (const auto &c : img.compartments) {
    files.emplace_back(paths.db_dir(c.name()) / "compile_commands.json", compile_commands_json(units, c, tc, paths));
    for (const auto *set : {&c.libraries, &c.replicated}) {
      for (const lib_manifest *lib : *set) files.emplace_back(paths.plan(c.name(), lib->name), gate_plan_json(img, c, *lib));
    }
    files.emplace_back(paths.self_c(c.name()), self_c(img, c));
  }
  files.emplace_back(paths.layout_c(), layout_c(img));
  files.emplace_back(paths.linker_script(), linker_script(img, paths));
  files.emplace_back(paths.ninja_file(), build_ninja(img, units, tc, paths));
  int written = 0;
  for (const auto &[path, content] : files) {
    bool changed = false;
    if (auto err = write_if_changed(path, content, &changed)) {
      std::fprintf(stderr, "flexbuild: error: %s\n", err->c_str());
      return -1;
    }
    written += changed;
  }
  return written;
}

// What the build steps work on.
struct build_inputs {
  const resolved_image &img;
  const std::vector<unit> &units;
  const toolchain &tc;
  const image_paths &paths;
  const fs::path &root;
};

// What each compartment's objects can call: the results of the last build when nothing they came from has
// changed, else a scan (which decodes only objects the site cache does not know).
std::optional<std::vector<compartment_calls>> scan_or_reuse(const build_inputs &in,
                                                            const std::vector<std::vector<scan_object>> &inputs,
                                                            std::string &error) {
  std::vector<fs::path> archives = {in.tc.runtime};
  if (image_links_malloc(in.img)) archives.push_back(in.tc.malloc);
  archives.insert(archives.end(), in.tc.runtime_parts.begin(), in.tc.runtime_parts.end());
  std::vector<fs::path> c_libs = default_c_libraries(), cxx_libs = default_cxx_libraries();
  std::vector<fs::path> stamped = {default_syscall_table(), fs::read_symlink("/proc/self/exe")};
  for (const std::vector<fs::path> *set : {&archives, &c_libs, &cxx_libs}) stamped.insert(stamped.end(), set->begin(), set->end());
  const std::string stamp = scan_stamp(inputs, stamped);
  const fs::path results = in.paths.work / "syscall_scan.json";
  if (auto kept = load_scan_results(results, stamp)) return kept;

  diag_sink diags;
  auto table = syscall_table::load(default_syscall_table(), diags);
  diags.print(stderr);
  if (!table) return std::nullopt;
  auto model = link_model::load(archives, c_libs, cxx_libs, &error);
  if (!model) return std::nullopt;
  site_cache cache;
  const fs::path cache_file = in.paths.work / "syscall_sites.json";
  cache.load(cache_file);
  auto calls = scan_session(*model, *table, &cache).scan(inputs, &error);
  if (!calls) return std::nullopt;
  for (const auto &err : {cache.save(cache_file), save_scan_results(results, stamp, *calls)}) {
    if (err) std::fprintf(stderr, "flexbuild: warning: %s\n", err->c_str());
  }
  return calls;
}

// Stage "syscalls": what each compartment's objects can call (libc functions, syscall instructions),
// against its set, after the compile and before the link: an undeclared call stops the build.
bool check_system_calls(const build_inputs &in, const std::vector<nlohmann::json> &summaries, progress &prog,
                        build_log &log, syscall_check_result &result) {
  log.text += "== syscalls\n";
  std::string error;
  const auto inputs = scan_inputs(in.img, in.units, in.root);
  auto calls = scan_or_reuse(in, inputs, error);
  if (!calls) {
    prog.line("syscalls", "failed");
    if (!error.empty()) std::fprintf(stderr, "flexbuild: error: system-call check: %s\n", error.c_str());
    return false;
  }
  // Plain references across a boundary first: a call around a gate is the worse mistake.
  const std::vector<std::string> plain = check_boundary_calls(in.img, inputs, plain_gates(summaries), in.root, &error);
  if (!error.empty()) {
    prog.line("syscalls", "failed");
    std::fprintf(stderr, "flexbuild: error: boundary check: %s\n", error.c_str());
    return false;
  }
  for (const auto &e : plain) {
    log.text += "error: " + e + "\n";
    std::fprintf(stderr, "flexbuild: error: %s\n", e.c_str());
  }
  if (!plain.empty()) {
    prog.line("syscalls", fmt::format("{} across a boundary without a gate (see above)",
                                      count(static_cast<int>(plain.size()), "reference", "references")));
    return false;
  }
  result = check_syscalls(in.img, inputs, *calls, {in.root, in.paths.work, default_syscall_table()});
  for (const auto &w : result.warnings) {
    log.text += "warning: " + w + "\n";
    std::fprintf(stderr, "flexbuild: warning: %s\n", w.c_str());
  }
  for (const auto &e : result.errors) {
    log.text += "error: " + e + "\n";
    std::fprintf(stderr, "flexbuild: error: %s\n", e.c_str());
  }
  prog.line("syscalls", result.errors.empty()
                            ? fmt::format("{} found, all in their compartments' sets",
                                          count(result.calls_found, "system call", "system calls"))
                            : fmt::format("{} (see above)", count(static_cast<int>(result.errors.size()), "error", "errors")));
  return result.errors.empty();
}

// Stages "transform", "compile", "syscalls" and "link". After the transform the sources' summaries are
// merged per library and the gates generated: callbacks are known only then.
bool run_build_steps(const build_inputs &in, const options &opt, progress &prog, build_log &log,
                     std::vector<nlohmann::json> &summaries, syscall_check_result &syscalls) {
  for (const char *step : {"transform", "compile", "link"}) {
    log.text += fmt::format("== {}\n", step);
    step_result r = run_ninja(in.tc, in.paths, opt, step, log.text);
    if (r.status != 0) {
      prog.line(step, "failed");
      log.finish();
      std::fprintf(stderr, "flexbuild: error: %s failed; see %s\n", step, in.paths.build_log().c_str());
      if (log.text.find("-Wexit-time-destructors") != std::string::npos) {
        std::fputs("flexbuild: hint: a static with a destructor in a library of a process compartment would be "
                   "destroyed at exit by the image's other processes, where it is not mapped: make it a reference "
                   "to an object made with new (never destroyed), or a type without a destructor\n",
                   stderr);
      }
      return false;
    }
    prog.line(step, r.commands ? fmt::format("{} run", count(r.commands, "command", "commands")) : "up to date");
    std::optional<std::string> err;
    if (std::string_view(step) == "transform") {
      err = library_summaries(in.img, in.units, in.paths, summaries);
      if (!err) err = write_if_changed(in.paths.gates_cc(), gates_cc(in.img, collect_callbacks(summaries)));
    }
    if (std::string_view(step) == "compile" &&
        !check_system_calls(in, summaries, prog, log, syscalls)) {
      log.finish();
      return false;
    }
    if (err) {
      log.finish();
      std::fprintf(stderr, "flexbuild: error: %s\n", err->c_str());
      return false;
    }
  }
  return true;
}

// Stage "check", first half: the compartment sections read back from the ELF.
bool check_sections_of(const resolved_image &img, const image_paths &paths, const elf_info &elf,
                       build_log &log) {
  auto problems = check_sections(img, elf);
  for (const auto &pr : problems) {
    log.text += pr + "\n";
    std::fprintf(stderr, "flexbuild: error: %s: %s\n", paths.executable().c_str(), pr.c_str());
  }
  return problems.empty();
}

// Stage "check", second half: every byte sequence that could write PKRU outside the gates, fatal where
// MPK is what protects the compartments, recorded in image.json otherwise.
bool scan_gadgets(const resolved_image &img, const image_paths &paths, build_log &log,
                  std::vector<gadget_hit> &gadgets) {
  if (auto err = scan_elf_file(paths.executable().string(), gadgets)) {
    std::fprintf(stderr, "flexbuild: error: gadget scan: %s\n", err->c_str());
    return false;
  }
  bool has_mpk = false;
  for (const auto &c : img.compartments) has_mpk |= c.spec->iso == isolation::mpk;
  for (const auto &g : gadgets) {
    std::string line = fmt::format("{} at {:#x} (file offset {:#x}) in {}{}", to_string(g.kind), g.address,
                                   g.offset, g.where,
                                   g.function.empty() ? std::string(" (no function symbol)")
                                                      : fmt::format(", function {}", g.function));
    log.text += "gadget: " + line + "\n";
    if (has_mpk) std::fprintf(stderr, "flexbuild: error: %s: %s, outside the gates\n", paths.executable().c_str(), line.c_str());
  }
  return !(has_mpk && !gadgets.empty());
}

// What an unmodified program can call (program_calls.h), each call marked with whether the kernel
// answers it in the image (the binary app declares it: apps/binary/lib.yaml); the others are the
// loader's, posix's, or -ENOSYS at run time. nullopt (with the reason on stderr) when it cannot be read.
std::optional<nlohmann::ordered_json> program_json(const std::string &path, const nlohmann::ordered_json &ij) {
  diag_sink diags;
  auto table = syscall_table::load(default_syscall_table(), diags);
  diags.print(stderr);
  if (!table) return std::nullopt;
  std::string error;
  auto calls = analyse_program(path, *table, &error);
  if (!calls) {
    std::fprintf(stderr, "flexbuild: warning: %s\n", error.c_str());
    return std::nullopt;
  }
  // The calls the binary app itself declares (its lib.yaml): the ones it hands to the kernel.
  std::set<std::string> kernel;
  for (const auto &c : ij["compartments"]) {
    for (const auto &e : c["syscalls"]) {
      for (const auto &by : e["needed_by"]) {
        if (by.get<std::string>() == kBinaryApp) kernel.insert(e.value("name", ""));
      }
    }
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto &[name, where] : calls->calls) {
    list.push_back({{"name", name}, {"kernel", kernel.count(name) > 0}, {"where", where}});
  }
  return nlohmann::ordered_json{{"path", path},
                                {"objects", calls->objects},
                                {"missing_libraries", calls->missing},
                                {"unknown_sites", calls->unknown_sites},
                                {"calls", list}};
}

// Stage "describe": image.json, from the profile, the ELF, the summaries and the gadget scan.
std::optional<std::string> write_image_json(const resolved_image &img, const elf_info &elf,
                                            const std::vector<nlohmann::json> &summaries,
                                            const std::vector<gadget_hit> &gadgets,
                                            const syscall_check_result &syscalls, const image_paths &paths) {
  auto ij = image_json(img, elf, summaries, paths);
  for (std::size_t i = 0; i < syscalls.found.size() && i < ij["compartments"].size(); ++i) {
    ij["compartments"][i]["syscalls_found"] = syscalls.found[i];
  }
  nlohmann::ordered_json gadget_list = nlohmann::ordered_json::array();
  for (const auto &g : gadgets) {
    gadget_list.push_back({{"kind", to_string(g.kind)},
                           {"address", g.address},
                           {"offset", g.offset},
                           {"where", g.where},
                           {"function", g.function}});
  }
  ij["gadgets_outside_gates"] = gadget_list;
  if (img.prof->binary) {
    if (auto program = program_json(img.prof->binary->path.value, ij)) {
      ij["program"] = std::move(*program);
    } else {
      std::fprintf(stderr, "flexbuild: warning: the program's system calls could not be found\n");
    }
  }
  return write_if_changed(paths.image_json(), ij.dump(2) + "\n");
}

}  // namespace

// load -> resolve -> generate -> transform -> compile -> syscalls -> link -> check -> describe.
int build_image(const options &opt, fs::path *executable) {
  progress prog(opt.progress_to_stderr);
  diag_sink diags;
  loaded l;
  if (load(opt, l, diags)) refuse_unprotectable(*l.prof, diags);
  diags.print(stderr);
  if (diags.has_errors()) return 1;
  const resolved_image &img = *l.img;

  std::string error;
  auto tc = toolchain::locate(&error);
  if (!tc) {
    std::fprintf(stderr, "flexbuild: error: %s\n", error.c_str());
    return 1;
  }
  fs::path dir = opt.out_dir ? fs::absolute(*opt.out_dir) : executable_dir().parent_path() / "images" / img.prof->name;
  image_paths paths(dir, img.prof->name);
  size_t nlibs = 0;
  for (const auto &c : img.compartments) nlibs += c.libraries.size();
  prog.line("resolve", fmt::format("{} in {}", count(static_cast<int>(nlibs), "library", "libraries"),
                                   count(static_cast<int>(img.compartments.size()), "compartment", "compartments")));

  std::vector<unit> units = image_units(img, paths);
  const int written = generate_inputs(img, units, *tc, paths);
  if (written < 0) return 1;
  prog.line("generate", written ? fmt::format("{} updated", count(written, "file", "files")) : "up to date");

  build_log log{fmt::format("flexbuild: image {} from {}\n", img.prof->name, opt.profile.string()), paths.build_log()};
  std::vector<nlohmann::json> summaries;  // one per library, once the transform step has run
  syscall_check_result syscalls;           // once the compile step has run
  if (!run_build_steps({img, units, *tc, paths, l.root}, opt, prog, log, summaries, syscalls)) return 1;

  log.text += "== check\n";
  auto elf = read_elf(paths.executable(), &error);
  if (!elf) {
    log.finish();
    std::fprintf(stderr, "flexbuild: error: %s\n", error.c_str());
    return 1;
  }
  std::vector<gadget_hit> gadgets;
  if (!check_sections_of(img, paths, *elf, log) || !scan_gadgets(img, paths, log, gadgets)) {
    log.finish();
    return 1;
  }
  if (auto err = write_image_json(img, *elf, summaries, gadgets, syscalls, paths)) {
    log.finish();
    std::fprintf(stderr, "flexbuild: error: %s\n", err->c_str());
    return 1;
  }
  log.text += "sections ok\n";
  log.finish();
  prog.line("check", fmt::format("sections ok, {} outside the gates; image {}",
                                 count(static_cast<int>(gadgets.size()), "PKRU gadget", "PKRU gadgets"),
                                 paths.executable().string()));
  if (executable) *executable = paths.executable();
  return 0;
}

int run_image(const options &opt, const std::vector<std::string> &args) {
  options quiet = opt;
  quiet.progress_to_stderr = true;
  fs::path exe;
  if (int rc = build_image(quiet, &exe); rc != 0) return rc;
  std::vector<char *> argv;
  std::string exe_s = exe.string();
  argv.push_back(exe_s.data());
  std::vector<std::string> copy = args;
  for (auto &a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  ::execv(exe_s.c_str(), argv.data());
  std::perror(("flexbuild: cannot run " + exe_s).c_str());
  return 127;
}

}  // namespace flex::build
