#include "flex/build/manifest.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <system_error>

#include "flex/syscalls/syscalls.h"
#include "flex/yaml/yaml.h"

namespace flex::build {
namespace {

namespace fs = std::filesystem;
using yaml::entry;
using yaml::quote;

const std::vector<std::string> kManifestKeys = {"name",     "sources",  "exports", "requires",  "options",
                                                "replicated", "syscalls", "defines", "includes", "hostfs_dir"};
const std::vector<std::string> kOptionKeys = {"default", "help"};
const std::vector<std::string> kHostfsDirKeys = {"option", "default"};

// Reports `v` when it was already listed in `seen` (the earlier items of the same list).
bool report_duplicate(const located &v, const std::vector<located> &seen, std::string_view list,
                      diag_sink &diags) {
  auto first = std::find_if(seen.begin(), seen.end(), [&](const located &s) { return s.value == v.value; });
  if (first == seen.end()) return false;
  diags.error(v.pos, quote(v.value) + " is listed twice in '" + std::string(list) + "'",
              "remove one of them; the first is on line " + std::to_string(first->pos.line));
  return true;
}

void parse_name(const entry &e, const fs::path &dir, lib_manifest &lib, diag_sink &diags) {
  auto v = yaml::read_scalar(e, "write `name: <folder name>`", diags);
  if (!v) return;
  lib.name = v->value;
  lib.name_pos = v->pos;
  if (!yaml::is_name(v->value)) {
    diags.error(v->pos, "library name " + quote(v->value) + " is not a valid name",
                "use lower-case letters, digits and '_', starting with a letter");
    return;
  }
  std::string folder = dir.filename().string();
  if (!folder.empty() && folder != v->value) {
    diags.error(v->pos, "library " + quote(v->value) + " is in folder " + quote(folder),
                "a library's name is its folder's name: rename the folder to '" + v->value +
                    "' or the library to '" + folder + "'");
  }
}

// Whether `value` names a path inside the library's folder: relative, and not climbing out of it.
bool inside_library(const std::string &value) {
  const fs::path rel(value);
  return !value.empty() && !rel.is_absolute() && *rel.lexically_normal().begin() != "..";
}

void parse_sources(const entry &e, const fs::path &dir, lib_manifest &lib, diag_sink &diags) {
  auto items = yaml::read_scalar_list(e, diags);
  if (!items) return;
  for (located &src : *items) {
    if (report_duplicate(src, lib.sources, "sources", diags)) continue;
    fs::path rel(src.value);
    std::string ext = rel.extension().string();
    if (!inside_library(src.value)) {
      diags.error(src.pos, "source " + quote(src.value) + " is not a path inside the library",
                  "write it relative to the folder of lib.yaml, e.g. src/" + lib.name + ".cc");
      continue;
    }
    if (ext != ".c" && ext != ".cc" && ext != ".cpp") {
      diags.error(src.pos, "source " + quote(src.value) + " is not a C or C++ file",
                  "list only .c, .cc or .cpp files; headers go in include/");
      continue;
    }
    std::error_code ec;
    if (!fs::is_regular_file(dir / rel, ec)) {
      diags.error(
          src.pos, "source " + quote(src.value) + " does not exist",
          "expected " + (dir / rel).lexically_normal().string() + "; fix the path or create the file");
      continue;
    }
    lib.sources.push_back(std::move(src));
  }
}

void parse_exports(const entry &e, lib_manifest &lib, diag_sink &diags) {
  auto items = yaml::read_scalar_list(e, diags);
  if (!items) return;
  for (located &sym : *items) {
    if (report_duplicate(sym, lib.exports, "exports", diags)) continue;
    if (!yaml::is_c_identifier(sym.value)) {
      diags.error(sym.pos, "export " + quote(sym.value) + " is not a C identifier",
                  "list the C-ABI functions of the library by name, e.g. " +
                      (lib.name.empty() ? std::string("net") : lib.name) + "_open");
      continue;
    }
    lib.exports.push_back(std::move(sym));
  }
}

void parse_requires(const entry &e, lib_manifest &lib, diag_sink &diags) {
  auto items = yaml::read_scalar_list(e, diags);
  if (!items) return;
  for (located &dep : *items) {
    if (report_duplicate(dep, lib.deps, "requires", diags)) continue;
    if (!yaml::is_name(dep.value)) {
      diags.error(dep.pos, "library name " + quote(dep.value) + " is not a valid name",
                  "list libraries by the `name` of their lib.yaml, e.g. plat");
      continue;
    }
    lib.deps.push_back(std::move(dep));
  }
}

// `includes: [src]`: folders of the library its sources' `#include <...>` name (a ported program's -I).
void parse_includes(const entry &e, const fs::path &dir, lib_manifest &lib, diag_sink &diags) {
  auto items = yaml::read_scalar_list(e, diags);
  if (!items) return;
  for (located &inc : *items) {
    if (report_duplicate(inc, lib.includes, "includes", diags)) continue;
    std::error_code ec;
    if (!inside_library(inc.value) || !fs::is_directory(dir / inc.value, ec)) {
      diags.error(inc.pos, "include folder " + quote(inc.value) + " is not a folder inside the library",
                  "write it relative to the folder of lib.yaml, e.g. src");
      continue;
    }
    lib.includes.push_back(std::move(inc));
  }
}

// `defines: [HAVE_CONFIG_H, VERSION="1.0"]`: what a program's own build system would pass with -D.
void parse_defines(const entry &e, lib_manifest &lib, diag_sink &diags) {
  auto items = yaml::read_scalar_list(e, diags);
  if (!items) return;
  for (located &d : *items) {
    if (report_duplicate(d, lib.defines, "defines", diags)) continue;
    const std::string name = d.value.substr(0, d.value.find('='));
    if (!yaml::is_c_identifier(name)) {
      diags.error(d.pos, "define " + quote(d.value) + " is not NAME or NAME=VALUE",
                  "write a macro name, optionally with its value, e.g. HAVE_CONFIG_H or VERSION=\"1.0\"");
      continue;
    }
    lib.defines.push_back(std::move(d));
  }
}

// `socket(AF_INET, AF_INET6)`: the families; false (reported) when the form is wrong.
bool parse_families(const located &item, std::string_view args, syscall_decl &decl, diag_sink &diags) {
  std::string_view rest = args;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string_view f = rest.substr(0, comma);
    while (!f.empty() && f.front() == ' ') f.remove_prefix(1);
    while (!f.empty() && f.back() == ' ') f.remove_suffix(1);
    const int value = flex::syscalls::socket_family(f);
    if (value < 0) {
      diags.error(item.pos, "unknown socket family " + quote(std::string(f)) + " in " + quote(item.value),
                  "write the families the library opens, e.g. socket(AF_INET, AF_INET6)");
      return false;
    }
    decl.families.push_back(value);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (decl.families.empty()) {
    diags.error(item.pos, quote(item.value) + " names no socket family",
                "write socket(AF_INET, ...) with the families the library opens, or plain `socket`");
    return false;
  }
  return true;
}

// One `syscalls:` entry: a system call the kernel has, never one of the calls no compartment may make.
std::optional<syscall_decl> parse_syscall(const located &item, diag_sink &diags) {
  std::string_view text = item.value;
  std::string_view args;
  const std::size_t paren = text.find('(');
  if (paren != std::string_view::npos) {
    if (text.back() != ')') {
      diags.error(item.pos, quote(item.value) + " is not a system call",
                  "in a YAML list a comma ends the item: quote the call, \"socket(AF_INET, AF_INET6)\"");
      return std::nullopt;
    }
    args = text.substr(paren + 1, text.size() - paren - 2);
    text = text.substr(0, paren);
  }
  syscall_decl decl{{std::string(text), item.pos}, {}};
  if (flex::syscalls::number(text) < 0) {
    diags.error(item.pos, quote(std::string(text)) + " is not a Linux x86-64 system call",
                "use the kernel's name (see `man 2 syscalls`), e.g. newfstatat rather than stat");
    return std::nullopt;
  }
  if (std::string_view why = flex::syscalls::never_allowed(text); !why.empty()) {
    diags.error(item.pos, quote(std::string(text)) + " is never allowed to a compartment: it " + std::string(why),
                "remove it; DESIGN.md §8 lists the calls only the runtime may make or none may");
    return std::nullopt;
  }
  if (paren != std::string_view::npos) {
    if (text != "socket") {
      diags.error(item.pos, "only socket takes arguments in 'syscalls', found " + quote(item.value),
                  "write the plain name " + std::string(text));
      return std::nullopt;
    }
    if (!parse_families(item, args, decl, diags)) return std::nullopt;
  }
  return decl;
}

void parse_syscalls(const entry &e, lib_manifest &lib, diag_sink &diags) {
  auto items = yaml::read_scalar_list(e, diags);
  if (!items) return;
  if (lib.replicated && !items->empty()) {
    diags.error(e.pos, "replicated library '" + lib.name + "' declares system calls",
                "a replicated library runs in every compartment for its callers: list the calls in "
                "`syscalls:` of the libraries that call it, and remove them here");
    return;
  }
  std::vector<located> seen;
  for (located &item : *items) {
    auto decl = parse_syscall(item, diags);
    if (!decl) continue;
    if (report_duplicate(decl->name, seen, "syscalls", diags)) continue;
    seen.push_back(decl->name);
    lib.syscalls.push_back(std::move(*decl));
  }
}

void parse_option(const entry &e, lib_manifest &lib, diag_sink &diags) {
  if (!yaml::is_name(e.key)) {
    diags.error(e.key_pos, "option name " + quote(e.key) + " is not a valid name",
                "use lower-case letters, digits and '_', starting with a letter");
    return;
  }
  const std::string what = "option '" + e.key + "'";
  const std::string shape = "write `" + e.key + ": {default: <value>, help: \"<what it does and costs>\"}`";
  if (!e.value.IsMap()) {
    diags.error(e.pos, what + " must be a map, found " + std::string(yaml::describe(e.value)), shape);
    return;
  }
  const int errors_before = diags.error_count();
  auto fields = yaml::read_map(e.value, e.pos, {what, kOptionKeys, shape}, diags);
  if (!fields || diags.error_count() != errors_before) return;  // a misspelt `help` is not missing
  lib_option opt{e.key, {}, {}, e.key_pos};
  if (const entry *d = yaml::find(*fields, "default")) {
    auto v = yaml::read_scalar(*d, "write `default: <value>`", diags);
    if (!v) return;
    opt.default_value = v->value;
  }
  const entry *h = yaml::find(*fields, "help");
  if (!h) {
    diags.error(e.key_pos, what + " has no help text",
                "add `help: \"...\"` saying what the option does and what it costs");
    return;
  }
  auto help = yaml::read_scalar(*h, "write `help: \"<what it does and costs>\"`", diags);
  if (!help) return;
  if (help->value.empty()) {
    diags.error(help->pos, what + " has an empty help text", "say what the option does and what it costs");
    return;
  }
  opt.help = help->value;
  lib.options.push_back(std::move(opt));
}

void parse_options(const entry &e, lib_manifest &lib, diag_sink &diags) {
  auto opts = yaml::read_map(e.value, e.pos,
                             {"'options'", {}, "write `options: {name: {default: ..., help: ...}}`"}, diags);
  if (!opts) return;
  for (const entry &o : *opts) parse_option(o, lib, diags);
}

// `hostfs_dir: {option: --dir, default: .}`: where an app's command line names the host directory it
// mounts with hostfs. Known at boot, the lockdown confines file access to that directory from the start,
// instead of leaving the process its files until the mount.
void parse_hostfs_dir(const entry &e, lib_manifest &lib, diag_sink &diags) {
  const std::string shape = "write `hostfs_dir: {option: --dir, default: .}` (default: the directory taken "
                            "without the option, if any)";
  if (lib.kind != lib_kind::app) {
    diags.error(e.key_pos, "'hostfs_dir' is for apps only",
                "remove it: an app's lib.yaml names the option of its command line that gives the directory");
    return;
  }
  const int errors_before = diags.error_count();
  auto fields = yaml::read_map(e.value, e.pos, {"'hostfs_dir'", kHostfsDirKeys, shape}, diags);
  if (!fields || diags.error_count() != errors_before) return;
  const entry *o = yaml::find(*fields, "option");
  if (!o) {
    diags.error(e.key_pos, "'hostfs_dir' has no 'option'", shape);
    return;
  }
  auto opt = yaml::read_scalar(*o, "write `option: --dir`", diags);
  if (!opt) return;
  const std::string &v = opt->value;
  if (v.size() < 2 || v[0] != '-' || v.find_first_of("= \t") != std::string::npos) {
    diags.error(opt->pos, "hostfs_dir option " + quote(v) + " is not a command-line option",
                "name the option as the app reads it, e.g. --dir (the lockdown takes `--dir X` and `--dir=X`)");
    return;
  }
  if (const entry *d = yaml::find(*fields, "default")) {
    auto dv = yaml::read_scalar(*d, "write `default: .`", diags);
    if (!dv) return;
    if (dv->value.empty()) {
      diags.error(dv->pos, "hostfs_dir's default is empty", "name a directory (`.`: the working directory), or "
                                                              "leave `default` out when the app mounts none without the option");
      return;
    }
    lib.hostfs_dir_default = dv->value;
  }
  lib.hostfs_dir_option = std::move(*opt);
}

std::optional<lib_manifest> parse_checked(const fs::path &file, std::string_view text, lib_kind kind,
                                          diag_sink &diags) {
  const std::string path = file.string();
  std::error_code ec;
  fs::path abs = fs::absolute(file, ec).lexically_normal();
  if (ec) abs = file;

  lib_manifest lib;
  lib.kind = kind;
  lib.file = abs;
  lib.dir = abs.parent_path();

  auto root = yaml::parse_document(path, text, diags);
  if (!root) return std::nullopt;
  const source_pos top{path, 1, 1};
  if (root->IsNull()) {
    diags.error({path, 0, 0}, "lib.yaml is empty",
                "a library needs at least `name: <folder name>` and `sources: [...]`");
    return std::nullopt;
  }
  auto keys = yaml::read_map(*root, top,
                             {"lib.yaml", kManifestKeys, "write `name: ...`, `sources: [...]`, ..."}, diags);
  if (!keys) return std::nullopt;
  const source_pos map_pos = yaml::pos_of(*root, top);

  if (const entry *e = yaml::find(*keys, "name")) {
    parse_name(*e, lib.dir, lib, diags);
  } else {
    diags.error(map_pos, "lib.yaml has no 'name'", "add `name: " + lib.dir.filename().string() + "`");
  }
  if (const entry *e = yaml::find(*keys, "sources")) {
    parse_sources(*e, lib.dir, lib, diags);
  } else {
    diags.error(map_pos, "lib.yaml has no 'sources'", "add `sources: [src/<file>.cc]`");
  }
  if (const entry *e = yaml::find(*keys, "exports")) parse_exports(*e, lib, diags);
  if (const entry *e = yaml::find(*keys, "requires")) parse_requires(*e, lib, diags);
  if (const entry *e = yaml::find(*keys, "options")) parse_options(*e, lib, diags);
  if (const entry *e = yaml::find(*keys, "replicated")) {
    if (auto b = yaml::read_bool(*e, diags)) lib.replicated = *b;
  }
  if (const entry *e = yaml::find(*keys, "syscalls")) parse_syscalls(*e, lib, diags);
  if (const entry *e = yaml::find(*keys, "defines")) parse_defines(*e, lib, diags);
  if (const entry *e = yaml::find(*keys, "includes")) parse_includes(*e, lib.dir, lib, diags);
  if (const entry *e = yaml::find(*keys, "hostfs_dir")) parse_hostfs_dir(*e, lib, diags);
  return lib;
}

}  // namespace

bool lib_manifest::exports_symbol(std::string_view symbol) const {
  return std::any_of(exports.begin(), exports.end(), [&](const located &e) { return e.value == symbol; });
}

std::optional<lib_manifest> parse_manifest(const fs::path &file, std::string_view text, lib_kind kind,
                                           diag_sink &diags) {
  const int errors_before = diags.error_count();
  try {
    auto lib = parse_checked(file, text, kind, diags);
    if (lib && diags.error_count() == errors_before) return lib;
  } catch (const std::exception &e) {
    diags.error({file.string(), 0, 0}, std::string("cannot read lib.yaml: ") + e.what());
  } catch (...) {
    diags.error({file.string(), 0, 0}, "cannot read lib.yaml: unknown error");
  }
  return std::nullopt;
}

std::optional<lib_manifest> load_manifest(const fs::path &file, lib_kind kind, diag_sink &diags) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    diags.error({file.string(), 0, 0}, "cannot open " + file.string() + ": " + std::strerror(errno),
                "check that the file exists and is readable");
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_manifest(file, text.str(), kind, diags);
}

bool library_index::add(lib_manifest lib, diag_sink &diags) {
  if (const lib_manifest *other = find(lib.name)) {
    source_pos where = lib.name_pos.file.empty() ? source_pos{lib.file.string(), 0, 0} : lib.name_pos;
    diags.error(where, "library " + quote(lib.name) + " is defined twice",
                "also defined in " + other->file.string() + "; rename one of them");
    source_pos first =
        other->name_pos.file.empty() ? source_pos{other->file.string(), 0, 0} : other->name_pos;
    diags.note(first, "library " + quote(lib.name) + " first defined here");
    return false;
  }
  std::string name = lib.name;
  libs_.emplace(std::move(name), std::move(lib));
  return true;
}

void library_index::check_requires(diag_sink &diags) const {
  const std::vector<std::string> known = names();
  for (const auto &[name, lib] : libs_) {
    for (const located &dep : lib.deps) {
      if (dep.value == name) {
        diags.error(dep.pos, "library " + quote(name) + " requires itself",
                    "remove " + quote(name) + " from its own `requires`");
      } else if (!find(dep.value)) {
        diags.error(dep.pos, "unknown library " + quote(dep.value) + " in 'requires'",
                    yaml::suggest(dep.value, known, "known libraries"));
      }
    }
  }
}

const lib_manifest *library_index::find(std::string_view name) const {
  auto it = libs_.find(name);
  return it == libs_.end() ? nullptr : &it->second;
}

std::vector<std::string> library_index::names() const {
  std::vector<std::string> out;
  out.reserve(libs_.size());
  for (const auto &[name, lib] : libs_) out.push_back(name);
  return out;
}

library_index load_library_index(const fs::path &root, diag_sink &diags) {
  library_index index;
  for (auto [sub, kind] : {std::pair{"libos", lib_kind::libos}, std::pair{"apps", lib_kind::app}}) {
    std::error_code ec;
    std::vector<fs::path> dirs;
    for (fs::directory_iterator it(root / sub, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code file_ec;
      if (fs::is_regular_file(it->path() / "lib.yaml", file_ec)) {
        dirs.push_back(it->path());
      }
    }
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path &dir : dirs) {
      if (auto lib = load_manifest(dir / "lib.yaml", kind, diags)) index.add(std::move(*lib), diags);
    }
  }
  index.check_requires(diags);
  return index;
}

}  // namespace flex::build
