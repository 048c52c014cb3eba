// The system-call scan (see syscall_scan.h): each compartment's objects linked into a graph of sections,
// walked from its roots; what the walk reaches outside the objects is charged through the table.
#include "flex/build/syscall_scan.h"

#include <elf.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "flex/build/fs_util.h"
#include "flex/build/syscall_scan_impl.h"
#include "flex/elf/elf.h"
#include "flex/syscalls/syscalls.h"

#ifndef FLEX_LIBC_SO
#define FLEX_LIBC_SO "/lib/x86_64-linux-gnu/libc.so.6"
#endif
#ifndef FLEX_LIBM_SO
#define FLEX_LIBM_SO "/lib/x86_64-linux-gnu/libm.so.6"
#endif
#ifndef FLEX_LIBSTDCXX_SO
#define FLEX_LIBSTDCXX_SO "/lib/x86_64-linux-gnu/libstdc++.so.6"
#endif
#ifndef FLEX_LIBGCC_S_SO
#define FLEX_LIBGCC_S_SO "/lib/x86_64-linux-gnu/libgcc_s.so.1"
#endif

namespace flex::build {

namespace fs = std::filesystem;
using scan_impl::object_facts;
using scan_impl::object_section;

const char *to_string(call_kind k) {
  switch (k) {
    case call_kind::libc: return "function";
    case call_kind::instruction: return "instruction";
    case call_kind::syscall_function: return "syscall()";
  }
  return "?";
}

std::vector<fs::path> default_c_libraries() { return {FLEX_LIBC_SO, FLEX_LIBM_SO}; }
std::vector<fs::path> default_cxx_libraries() { return {FLEX_LIBSTDCXX_SO, FLEX_LIBGCC_S_SO}; }

namespace {

bool add_exported_functions(const fs::path &lib, std::unordered_set<std::string> &out, std::string *error) {
  std::string why;
  auto f = elf::file::open(lib.string(), &why);
  if (!f) {
    if (error) *error = lib.string() + ": " + why;
    return false;
  }
  for (const elf::symbol &s : f->dynamic_symbols()) {
    if (s.type == STT_FUNC || s.type == STT_GNU_IFUNC) out.insert(s.name);
  }
  return true;
}

}  // namespace

std::optional<link_model> link_model::load(const std::vector<fs::path> &archives, const std::vector<fs::path> &c_libraries,
                                           const std::vector<fs::path> &cxx_libraries, std::string *error) {
  link_model m;
  for (const fs::path &a : archives) {
    std::string why;
    auto names = elf::archive_symbols(a.string(), &why);
    if (!names) {
      if (error) *error = a.string() + ": " + why;
      return std::nullopt;
    }
    m.runtime.insert(names->begin(), names->end());
  }
  for (const fs::path &lib : c_libraries) {
    if (!add_exported_functions(lib, m.libc, error)) return std::nullopt;
  }
  for (const fs::path &lib : cxx_libraries) {
    if (!add_exported_functions(lib, m.cxx, error)) return std::nullopt;
  }
  return m;
}

// ---- site cache ----

// A cache that cannot be read is dropped: every object is decoded again and the file rewritten.
void site_cache::load(const fs::path &file) {
  std::ifstream in(file);
  if (!in) return;
  try {
    read_entries(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception &) {
    entries_.clear();
    changed_ = true;
  }
}

void site_cache::read_entries(const nlohmann::json &doc) {
  for (const auto &[path, e] : doc.items()) {
    if (!e.is_object() || !e.contains("sites") || !e["sites"].is_array()) continue;
    entry &en = entries_[path];
    en.size = e.value("size", std::uint64_t{0});
    en.mtime_ns = e.value("mtime_ns", std::int64_t{0});
    for (const auto &s : e["sites"]) {
      if (!s.is_array() || s.size() != 4) continue;
      auto kind = s[1].get<int>() == 1 ? call_kind::syscall_function : call_kind::instruction;
      en.sites.push_back({s[0].get<std::uint32_t>(), kind, s[2].get<std::uint64_t>(), s[3].get<int>()});
    }
  }
}

std::optional<std::string> site_cache::save(const fs::path &file) const {
  if (!changed_) return std::nullopt;
  nlohmann::json doc = nlohmann::json::object();
  for (const auto &[path, e] : entries_) {
    nlohmann::json sites = nlohmann::json::array();
    for (const object_site &s : e.sites) {
      sites.push_back({s.section, s.kind == call_kind::syscall_function ? 1 : 0, s.offset, s.number});
    }
    doc[path] = {{"size", e.size}, {"mtime_ns", e.mtime_ns}, {"sites", sites}};
  }
  return write_atomically(file, doc.dump() + "\n");
}

site_cache::entry *site_cache::find(const fs::path &object, std::uint64_t size, std::int64_t mtime_ns) {
  auto it = entries_.find(object.string());
  if (it == entries_.end() || it->second.size != size || it->second.mtime_ns != mtime_ns) return nullptr;
  return &it->second;
}

site_cache::entry &site_cache::put(const fs::path &object, std::uint64_t size, std::int64_t mtime_ns) {
  changed_ = true;
  entry &e = entries_[object.string()];
  e = entry{size, mtime_ns, {}};
  return e;
}

}  // namespace flex::build
