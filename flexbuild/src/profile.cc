#include "flex/build/profile.h"

#include <flex/elf/elf.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <sstream>

#include "flex/yaml/yaml.h"

namespace flex::build {
namespace {

namespace fs = std::filesystem;
using yaml::entry;
using yaml::quote;

const std::vector<std::string> kProfileKeys = {"name",  "app",    "binary",  "compartments", "sharing",
                                               "gates", "memory", "lockdown"};
const std::vector<std::string> kBinaryKeys = {"path", "args"};
const std::vector<std::string> kCompartmentKeys = {"name", "isolation", "hardening", "libraries", "default"};
// Each in the order of its enum.
const std::vector<std::string> kIsolations = {"none", "mpk", "process"};
const std::vector<std::string> kHardenings = {"asan",    "ubsan",     "stack-protector",
                                              "fortify", "safestack", "cfi"};
const std::vector<std::string> kStackSharings = {"dss", "heap", "shared"};
const std::vector<std::string> kMpkGates = {"full", "light"};
const std::vector<std::string> kLockdowns = {"off", "log", "enforce"};  // in lockdown_mode order

// A larger heap would not fit the address space next to the others (and MiB << 20 must not overflow).
constexpr std::uint64_t kMaxHeapMib = std::uint64_t{1} << 20;  // 1 TiB

constexpr std::string_view kReservedCompartment = "shared";

// Far beyond what mpk allows (14); bounds process compartments, and what aliases can multiply
// (kMaxCompartments * kMaxListItems libraries at worst).
constexpr std::size_t kMaxCompartments = 64;

bool is_profile_name(std::string_view s) {
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (s.empty() || s.size() > 128 || !ok(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return ok(c) || c == '_' || c == '.' || c == '-'; });
}

std::string line_of(const source_pos &pos) {
  return "line " + std::to_string(pos.line);
}

class profile_parser {
 public:
  profile_parser(const fs::path &file, diag_sink &diags) : path_(file.string()), diags_(diags) {
    profile_.file = file;
  }

  bool parse(std::string_view text);
  profile take() { return std::move(profile_); }

 private:
  void parse_name(const entry &e);
  void parse_binary(const entry &e);
  void parse_compartments(const entry &e);
  void parse_compartment(const YAML::Node &item, const source_pos &fallback);
  void parse_isolation(const entry &e, compartment &c);
  void parse_hardening(const entry &e, compartment &c);
  void parse_default(const entry &e, compartment &c);
  void parse_sharing(const entry &e);
  void parse_gates(const entry &e);
  void parse_memory(const entry &e);
  void parse_lockdown(const entry &e);
  void parse_heap_mib(const entry &e);
  void check_default(const entry &compartments);

  std::string path_;
  diag_sink &diags_;
  profile profile_;
  std::string first_default_name_;
  source_pos first_default_pos_;
  bool default_unreadable_ = false;
};

bool profile_parser::parse(std::string_view text) {
  auto root = yaml::parse_document(path_, text, diags_);
  if (!root) return false;
  if (root->IsNull()) {
    diags_.error({path_, 0, 0}, "the profile is empty",
                 "a profile needs at least `name`, `app` and `compartments`");
    return false;
  }
  const source_pos top{path_, 1, 1};
  auto keys = yaml::read_map(
      *root, top, {"the profile", kProfileKeys, "write `name: ...`, `app: ...`, `compartments: ...`"},
      diags_);
  if (!keys) return false;
  const source_pos map_pos = yaml::pos_of(*root, top);

  if (const entry *e = yaml::find(*keys, "name")) {
    parse_name(*e);
  } else {
    diags_.error(map_pos, "the profile has no 'name'",
                 "add `name: <profile name>`; it names the image folder");
  }
  const entry *app = yaml::find(*keys, "app");
  const entry *binary = yaml::find(*keys, "binary");
  if (app && binary) {
    diags_.error(binary->pos, "the profile names both an app and a binary",
                 "an image runs one program: keep `app:` (an app written for Flex) or `binary:` (an unmodified "
                 "Linux program), not both");
  } else if (app) {
    if (auto v = yaml::read_scalar(*app, "write `app: <application>`, e.g. `app: hello`", diags_)) {
      profile_.app = *v;
    }
  } else if (binary) {
    parse_binary(*binary);
  } else {
    diags_.error(map_pos, "the profile has no 'app'",
                 "add `app: <application>`, e.g. `app: hello`, or `binary: <path>` for an unmodified program");
  }
  if (const entry *e = yaml::find(*keys, "compartments")) {
    parse_compartments(*e);
  } else {
    diags_.error(map_pos, "the profile has no 'compartments'",
                 "add `compartments:` with at least one `- name: ...` entry");
  }
  if (const entry *e = yaml::find(*keys, "sharing")) parse_sharing(*e);
  if (const entry *e = yaml::find(*keys, "gates")) parse_gates(*e);
  if (const entry *e = yaml::find(*keys, "memory")) parse_memory(*e);
  if (const entry *e = yaml::find(*keys, "lockdown")) parse_lockdown(*e);
  return true;
}

void profile_parser::parse_binary(const entry &e) {
  constexpr std::string_view kHint = "write `binary: /usr/bin/program` or `binary: {path: /usr/bin/program, args: [...]}`";
  binary_program b;
  if (e.value.IsMap()) {
    auto keys = yaml::read_map(e.value, e.pos, {"binary", kBinaryKeys, kHint}, diags_);
    if (!keys) return;
    const entry *path = yaml::find(*keys, "path");
    if (!path) {
      diags_.error(e.pos, "'binary' has no 'path'", std::string(kHint));
      return;
    }
    auto v = yaml::read_scalar(*path, kHint, diags_);
    if (!v) return;
    b.path = *v;
    if (const entry *args = yaml::find(*keys, "args")) {
      auto list = yaml::read_scalar_list(*args, diags_);
      if (!list) return;
      for (const located &a : *list) b.args.push_back(a.value);
    }
  } else {
    auto v = yaml::read_scalar(e, kHint, diags_);
    if (!v) return;
    b.path = *v;
  }
  if (b.path.value.empty() || b.path.value[0] != '/') {
    diags_.error(b.path.pos, "the binary's path " + quote(b.path.value) + " is not absolute",
                 "name the program by its absolute path, e.g. /usr/bin/redis-server");
    return;
  }
  if (std::string why = flex::elf::program_problem(b.path.value); !why.empty()) {
    diags_.error(b.path.pos, b.path.value + ": " + why,
                 "name an x86-64 Linux executable (static, or dynamic with its interpreter installed)");
    return;
  }
  profile_.app = {std::string(kBinaryApp), e.pos};
  profile_.binary = std::move(b);
}

void profile_parser::parse_name(const entry &e) {
  auto v = yaml::read_scalar(e, "write `name: <profile name>`", diags_);
  if (!v) return;
  if (!is_profile_name(v->value)) {
    diags_.error(v->pos, "profile name " + quote(v->value) + " is not a valid name",
                 "it names the image folder: use lower-case letters, digits, '_', '.' and '-', "
                 "starting with a letter or digit (at most 128)");
    return;
  }
  profile_.name = v->value;
}

void profile_parser::parse_compartments(const entry &e) {
  const YAML::Node &list = e.value;
  if (!list.IsSequence()) {
    if (list.IsNull()) {
      diags_.error(e.pos, "'compartments' is empty", "list at least one compartment: `- name: core`");
    } else {
      diags_.error(e.pos, "'compartments' must be a list, found " + std::string(yaml::describe(list)),
                   "write one `- name: ...` entry per compartment");
    }
    return;
  }
  if (list.size() == 0) {
    diags_.error(e.pos, "'compartments' is empty", "list at least one compartment: `- name: core`");
    return;
  }
  if (list.size() > kMaxCompartments) {
    diags_.error(e.pos,
                 "the profile has " + std::to_string(list.size()) + " compartments, more than " +
                     std::to_string(kMaxCompartments),
                 "merge compartments");
    return;
  }
  for (const YAML::Node &item : list) parse_compartment(item, e.pos);
  check_default(e);
}

void profile_parser::parse_compartment(const YAML::Node &item, const source_pos &fallback) {
  compartment c;
  c.pos = yaml::pos_of(item, fallback);
  c.iso_pos = c.pos;
  c.hardening_pos = c.pos;
  if (!item.IsMap()) {
    diags_.error(c.pos, "a compartment must be a map, found " + std::string(yaml::describe(item)),
                 "write `- name: <name>` followed by its keys");
    return;
  }
  auto keys = yaml::read_map(item, c.pos, {"a compartment", kCompartmentKeys, ""}, diags_);
  if (!keys) return;

  if (const entry *e = yaml::find(*keys, "name")) {
    if (auto v = yaml::read_scalar(*e, "write `name: <name>`", diags_)) {
      c.name = v->value;
      const compartment *other = profile_.find(v->value);
      if (!yaml::is_name(v->value)) {
        diags_.error(v->pos, "compartment name " + quote(v->value) + " is not a valid name",
                     "use lower-case letters, digits and '_', starting with a letter");
      } else if (v->value == kReservedCompartment) {
        diags_.error(v->pos, "compartment name 'shared' is reserved for shared memory",
                     "choose another name");
      } else if (other) {
        diags_.error(v->pos, "compartment " + quote(v->value) + " is defined twice",
                     "rename one of them; the first is on " + line_of(other->pos));
      }
    }
  } else {
    diags_.error(c.pos, "a compartment has no 'name'", "add `name: <name>`");
  }
  if (const entry *e = yaml::find(*keys, "isolation")) parse_isolation(*e, c);
  if (const entry *e = yaml::find(*keys, "hardening")) parse_hardening(*e, c);
  if (const entry *e = yaml::find(*keys, "libraries")) {
    if (auto libs = yaml::read_scalar_list(*e, diags_)) c.libraries = std::move(*libs);
  }
  if (const entry *e = yaml::find(*keys, "default")) parse_default(*e, c);
  profile_.compartments.push_back(std::move(c));
}

void profile_parser::parse_isolation(const entry &e, compartment &c) {
  auto v = yaml::read_scalar(e, "write one of: " + yaml::join(kIsolations), diags_);
  if (!v) return;
  c.iso_pos = v->pos;
  if (v->value == "ept") {
    diags_.error(v->pos, "isolation 'ept' is reserved for a future KVM backend and not supported yet",
                 "use `isolation: mpk` or `isolation: process`");
    return;
  }
  if (auto i = yaml::match_enum(*v, "isolation", kIsolations, diags_)) c.iso = static_cast<isolation>(*i);
}

void profile_parser::parse_hardening(const entry &e, compartment &c) {
  c.hardening_pos = e.pos;
  auto items = yaml::read_scalar_list(e, diags_);
  if (!items) return;
  for (const located &item : *items) {
    auto i = yaml::match_enum(item, "hardening", kHardenings, diags_);
    if (!i) continue;
    auto h = static_cast<hardening>(*i);
    if (c.has(h)) {
      diags_.error(item.pos, "hardening " + quote(item.value) + " is listed twice", "remove one of them");
      continue;
    }
    c.hardenings.push_back(h);
    c.hardening_item_pos.push_back(item.pos);
  }
}

void profile_parser::parse_default(const entry &e, compartment &c) {
  auto b = yaml::read_bool(e, diags_);
  if (!b) {
    default_unreadable_ = true;
    return;
  }
  if (!*b) return;
  if (!first_default_pos_.file.empty()) {
    std::string first = first_default_name_.empty() ? "the compartment on " + line_of(first_default_pos_)
                                                    : quote(first_default_name_);
    diags_.error(e.pos, "two compartments are marked default",
                 first + " already is (" + line_of(first_default_pos_) +
                     "); keep `default: true` on one compartment only");
    diags_.note(first_default_pos_, "the first default compartment is marked here");
    return;
  }
  c.is_default = true;
  first_default_name_ = c.name;
  first_default_pos_ = e.pos;
}

void profile_parser::check_default(const entry &compartments) {
  auto &all = profile_.compartments;
  if (all.size() == 1) {
    all.front().is_default = true;  // the only compartment receives everything
    return;
  }
  bool any = std::any_of(all.begin(), all.end(), [](const compartment &c) { return c.is_default; });
  if (!any && !default_unreadable_ && !all.empty()) {
    diags_.error(compartments.key_pos, "no compartment is marked default",
                 "mark one compartment `default: true`; it receives every library not listed elsewhere");
  }
}

void profile_parser::parse_sharing(const entry &e) {
  auto keys =
      yaml::read_map(e.value, e.pos, {"'sharing'", {"stack"}, "write `sharing: {stack: dss}`"}, diags_);
  if (!keys) return;
  if (const entry *s = yaml::find(*keys, "stack")) {
    auto v = yaml::read_scalar(*s, "write one of: " + yaml::join(kStackSharings), diags_);
    if (!v) return;
    if (auto i = yaml::match_enum(*v, "stack sharing", kStackSharings, diags_)) {
      profile_.stack = static_cast<stack_sharing>(*i);
    }
  }
}

void profile_parser::parse_gates(const entry &e) {
  auto keys = yaml::read_map(e.value, e.pos, {"'gates'", {"mpk"}, "write `gates: {mpk: full}`"}, diags_);
  if (!keys) return;
  if (const entry *g = yaml::find(*keys, "mpk")) {
    auto v = yaml::read_scalar(*g, "write one of: " + yaml::join(kMpkGates), diags_);
    if (!v) return;
    if (auto i = yaml::match_enum(*v, "mpk gate", kMpkGates, diags_)) {
      profile_.mpk_gate = static_cast<mpk_gate_kind>(*i);
    }
  }
}

void profile_parser::parse_lockdown(const entry &e) {
  auto v = yaml::read_scalar(e, "write one of: " + yaml::join(kLockdowns), diags_);
  if (!v) return;
  if (auto i = yaml::match_enum(*v, "lockdown mode", kLockdowns, diags_)) {
    profile_.lockdown = static_cast<lockdown_mode>(*i);
  }
}

void profile_parser::parse_memory(const entry &e) {
  auto keys = yaml::read_map(e.value, e.pos,
                             {"'memory'", {"heap_mib"}, "write `memory: {heap_mib: {<compartment>: <MiB>}}`"},
                             diags_);
  if (!keys) return;
  if (const entry *h = yaml::find(*keys, "heap_mib")) parse_heap_mib(*h);
}

void profile_parser::parse_heap_mib(const entry &e) {
  auto sizes =
      yaml::read_map(e.value, e.pos, {"'heap_mib'", {}, "write `heap_mib: {<compartment>: <MiB>}`"}, diags_);
  if (!sizes) return;
  std::vector<std::string> names;
  for (const compartment &c : profile_.compartments) names.push_back(c.name);
  for (const entry &s : *sizes) {
    auto it = std::find_if(profile_.compartments.begin(), profile_.compartments.end(),
                           [&](const compartment &c) { return c.name == s.key; });
    if (it == profile_.compartments.end()) {
      diags_.error(s.key_pos, "heap_mib names unknown compartment " + quote(s.key),
                   yaml::suggest(s.key, names, "compartments"));
      continue;
    }
    std::string hint = "write the size in MiB, e.g. `" + s.key + ": 64`";
    auto v = yaml::read_scalar(s, hint, diags_);
    if (!v) continue;
    std::uint64_t mib = 0;
    const char *begin = v->value.data(), *end = begin + v->value.size();
    auto [ptr, ec] = std::from_chars(begin, end, mib);
    bool digits = !v->value.empty() && v->value[0] >= '0' && v->value[0] <= '9';
    if (digits && ptr == end && (ec == std::errc::result_out_of_range || mib > kMaxHeapMib)) {
      diags_.error(v->pos, "heap_mib of " + quote(s.key) + " is too large: " + quote(v->value),
                   "at most " + std::to_string(kMaxHeapMib) + " MiB (1 TiB)");
      continue;
    }
    if (!digits || ec != std::errc() || ptr != end || mib == 0) {
      diags_.error(v->pos,
                   "heap_mib of " + quote(s.key) + " must be a positive integer, found " + quote(v->value),
                   hint);
      continue;
    }
    it->heap_mib = mib;
  }
}

// The x86-64 key budget: compartments sharing the address space (mpk or none) each need a key.
void check_key_budget(const profile &p, diag_sink &diags) {
  bool any_mpk = std::any_of(p.compartments.begin(), p.compartments.end(),
                             [](const compartment &c) { return c.iso == isolation::mpk; });
  if (!any_mpk) return;
  int needed = 0;
  const compartment *over = nullptr;
  for (const compartment &c : p.compartments) {
    if (c.iso == isolation::process) continue;
    if (++needed == kMaxMpkDomains + 1) over = &c;
  }
  if (!over) return;
  diags.error(over->pos,
              "this profile needs " + std::to_string(needed) +
                  " protection keys (one per mpk or none compartment in the shared address space); "
                  "x86-64 offers " +
                  std::to_string(kMaxMpkDomains) +
                  " for compartments (16 keys, minus key 0, the shared key and the runtime's two keys)",
              "merge compartments or move some to isolation: process");
}

}  // namespace

std::string_view to_string(isolation i) {
  return kIsolations[static_cast<std::size_t>(i)];
}
std::string_view to_string(hardening h) {
  return kHardenings[static_cast<std::size_t>(h)];
}
std::string_view to_string(stack_sharing s) {
  return kStackSharings[static_cast<std::size_t>(s)];
}
std::string_view to_string(mpk_gate_kind g) {
  return kMpkGates[static_cast<std::size_t>(g)];
}
std::string_view to_string(lockdown_mode m) {
  return kLockdowns[static_cast<std::size_t>(m)];
}

bool compartment::has(hardening h) const {
  return std::find(hardenings.begin(), hardenings.end(), h) != hardenings.end();
}

const compartment *profile::default_compartment() const {
  auto it = std::find_if(compartments.begin(), compartments.end(),
                         [](const compartment &c) { return c.is_default; });
  return it == compartments.end() ? nullptr : &*it;
}

const compartment *profile::find(std::string_view name) const {
  auto it = std::find_if(compartments.begin(), compartments.end(),
                         [&](const compartment &c) { return c.name == name; });
  return it == compartments.end() ? nullptr : &*it;
}

std::optional<profile> parse_profile(const fs::path &file, std::string_view text, diag_sink &diags) {
  const int errors_before = diags.error_count();
  try {
    profile_parser parser(file, diags);
    if (parser.parse(text) && diags.error_count() == errors_before) return parser.take();
  } catch (const std::exception &e) {
    diags.error({file.string(), 0, 0}, std::string("cannot read the profile: ") + e.what());
  } catch (...) {
    diags.error({file.string(), 0, 0}, "cannot read the profile: unknown error");
  }
  return std::nullopt;
}

std::optional<profile> load_profile(const fs::path &file, diag_sink &diags) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    diags.error({file.string(), 0, 0}, "cannot open " + file.string() + ": " + std::strerror(errno),
                "check that the profile exists and is readable");
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_profile(file, text.str(), diags);
}

bool validate_profile(const profile &p, const library_index &libs, diag_sink &diags) {
  const int errors_before = diags.error_count();
  std::vector<std::string> apps;
  for (const auto &[name, lib] : libs.all()) {
    if (lib.kind == lib_kind::app) apps.push_back(name);
  }
  // The program is linked at boot in the image's main process (its libraries mapped before the lockdown):
  // its own compartment stays there. Beside mpk domains it is one itself (its memory tagged with its key,
  // its calls answered with its rights), and it mixes with no compartment process (the relay between the
  // two worlds runs on the runtime's stacks, which the program's dispatch does not enter).
  if (p.binary) {
    const auto holds_program = [&](const compartment &c) {
      return std::any_of(c.libraries.begin(), c.libraries.end(), [&](const located &l) { return l.value == p.app.value; });
    };
    const bool any_mpk = std::any_of(p.compartments.begin(), p.compartments.end(),
                                     [](const compartment &c) { return c.iso == isolation::mpk; });
    const compartment *program_home = nullptr;
    for (const compartment &c : p.compartments) {
      if (holds_program(c)) program_home = &c;
    }
    if (!program_home) {
      for (const compartment &c : p.compartments) {
        if (c.is_default) program_home = &c;
      }
    }
    for (const compartment &c : p.compartments) {
      if (c.iso == isolation::process && any_mpk) {
        diags.error(c.iso_pos, "compartment " + quote(c.name) + " is a process in a profile that runs a binary beside mpk domains",
                    "use `isolation: mpk` for it too, or make every compartment a process or `none`: a program's "
                    "calls are answered on its own thread, which the relay between mpk domains and processes "
                    "does not serve");
      } else if (c.iso == isolation::process && &c == program_home) {
        diags.error(c.iso_pos, "compartment " + quote(c.name) + " holds the program and is a process of its own",
                    "leave the program's compartment in the main process (isolation: none) and put the "
                    "libraries it should not reach in process compartments: the program is linked at boot "
                    "in the main process, before the lockdown");
      } else if (any_mpk && &c == program_home && c.iso != isolation::mpk) {
        diags.error(c.pos, "compartment " + quote(c.name) + " holds the program but is not an mpk domain",
                    "add `isolation: mpk` to it: beside mpk domains the program's memory is tagged with its "
                    "compartment's key, and key 0 would leave it to every domain");
      }
    }
  }
  if (const lib_manifest *app = libs.find(p.app.value); !app) {
    diags.error(p.app.pos, "unknown app " + quote(p.app.value), yaml::suggest(p.app.value, apps, "apps"));
  } else if (app->kind != lib_kind::app) {
    diags.error(p.app.pos, quote(p.app.value) + " is a libOS library, not an app",
                "set `app` to one of: " + (apps.empty() ? std::string("(no apps found)") : yaml::join(apps)));
  }

  const std::vector<std::string> names = libs.names();
  struct placement {
    const compartment *where;
    source_pos pos;
  };
  std::map<std::string, placement, std::less<>> placed;
  for (const compartment &c : p.compartments) {
    for (const located &lib : c.libraries) {
      const lib_manifest *m = libs.find(lib.value);
      if (!m) {
        diags.error(lib.pos, "unknown library " + quote(lib.value),
                    yaml::suggest(lib.value, names, "known libraries"));
      } else if (m->replicated) {
        diags.error(
            lib.pos,
            "library " + quote(lib.value) + " is replicated into every compartment and cannot be placed",
            "remove " + quote(lib.value) + " from `libraries`");
      } else if (auto it = placed.find(lib.value); it != placed.end()) {
        diags.error(lib.pos,
                    "library " + quote(lib.value) + " is already placed in compartment " +
                        quote(it->second.where->name),
                    "a library lives in one compartment; remove one of the two (the first is on " +
                        line_of(it->second.pos) + ")");
      } else {
        placed.emplace(lib.value, placement{&c, lib.pos});
      }
    }
    for (std::size_t i = 0; i < c.hardenings.size(); ++i) {
      hardening h = c.hardenings[i];
      if (h != hardening::safestack && h != hardening::cfi) continue;
      source_pos pos = i < c.hardening_item_pos.size() ? c.hardening_item_pos[i] : c.hardening_pos;
      diags.error(pos, "hardening '" + std::string(to_string(h)) + "' is not supported yet",
                  "remove it; supported: asan, ubsan, stack-protector, fortify");
    }
  }
  check_key_budget(p, diags);
  // Under enforce the process hosting hostfs reaches only the host directories named at boot: the app's
  // `hostfs_dir` option and FLEX_MOUNTS's (posix's, a program's). An app that mounts with hostfs a
  // directory of its command line must say which option names it.
  if (const lib_manifest *app = libs.find(p.app.value);
      app && !p.binary && p.lockdown == lockdown_mode::enforce && !app->hostfs_dir_option && placed.count("hostfs") &&
      std::none_of(app->deps.begin(), app->deps.end(), [](const located &d) { return d.value == "posix"; })) {
    diags.warning(p.app.pos,
                  "app " + quote(p.app.value) + " names no `hostfs_dir`, so under `lockdown: enforce` hostfs reaches "
                      "no directory but FLEX_MOUNTS's",
                  "if the app takes its directory on its command line, add `hostfs_dir: {option: --dir}` (its "
                  "option) to " + app->file.string());
  }
  return diags.error_count() == errors_before;
}

}  // namespace flex::build
