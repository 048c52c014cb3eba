// The system-call scan's results kept between builds (see syscall_check.h): a stamp of the inputs, and
// each compartment's calls as JSON.
#include <sys/stat.h>

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "flex/build/fs_util.h"
#include "flex/build/syscall_check.h"

namespace flex::build {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Bumped whenever what is stored or how it is found changes.
constexpr int kResultsVersion = 2;

std::string file_stamp(const fs::path &p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return fmt::format("{} missing\n", p.string());
  return fmt::format("{} {} {}.{}\n", p.string(), st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

call_kind kind_of(int k) {
  return k == 1 ? call_kind::instruction : k == 2 ? call_kind::syscall_function : call_kind::libc;
}

int kind_number(call_kind k) {
  return k == call_kind::instruction ? 1 : k == call_kind::syscall_function ? 2 : 0;
}

json to_json(const compartment_calls &c) {
  json calls = json::array(), unlisted = json::array();
  for (const found_call &f : c.calls) {
    calls.push_back(
        {f.syscall, f.number, kind_number(f.kind), f.via, f.function, f.object, f.root_function, f.root_object, f.more});
  }
  for (const unlisted_function &u : c.unlisted) unlisted.push_back({u.name, u.function, u.object});
  return {{"calls", calls}, {"unlisted", unlisted}};
}

compartment_calls from_json(const json &j) {
  compartment_calls c;
  for (const json &f : j.at("calls")) {
    c.calls.push_back({f.at(0).get<std::string>(), f.at(1).get<int>(), kind_of(f.at(2).get<int>()),
                       f.at(3).get<std::string>(), f.at(4).get<std::string>(), f.at(5).get<std::size_t>(),
                       f.at(6).get<std::string>(), f.at(7).get<std::size_t>(), f.at(8).get<std::size_t>()});
  }
  for (const json &u : j.at("unlisted")) {
    c.unlisted.push_back({u.at(0).get<std::string>(), u.at(1).get<std::string>(), u.at(2).get<std::size_t>()});
  }
  return c;
}

}  // namespace

std::string scan_stamp(const std::vector<std::vector<scan_object>> &inputs, const std::vector<fs::path> &files) {
  std::string s = fmt::format("version {}\n", kResultsVersion);
  for (std::size_t c = 0; c < inputs.size(); ++c) {
    s += fmt::format("compartment {}\n", c);
    for (const scan_object &o : inputs[c]) {
      s += fmt::format("{} {}{} {} ", o.library, o.replicated ? "replicated" : "placed",
                       o.scoped ? " scoped" : (o.sees_scoped ? " sees-scoped" : ""), o.source) +
           file_stamp(o.path);
    }
  }
  for (const fs::path &f : files) s += file_stamp(f);
  return s;
}

std::optional<std::vector<compartment_calls>> load_scan_results(const fs::path &file, const std::string &stamp) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  try {
    const json doc = json::parse(in);
    if (doc.at("stamp").get<std::string>() != stamp) return std::nullopt;
    std::vector<compartment_calls> out;
    for (const json &c : doc.at("compartments")) out.push_back(from_json(c));
    return out;
  } catch (const json::exception &) {
    return std::nullopt;  // unreadable: scanned again, and rewritten
  }
}

std::optional<std::string> save_scan_results(const fs::path &file, const std::string &stamp,
                                             const std::vector<compartment_calls> &calls) {
  json comps = json::array();
  for (const compartment_calls &c : calls) comps.push_back(to_json(c));
  return write_if_changed(file, json{{"stamp", stamp}, {"compartments", comps}}.dump() + "\n");
}

}  // namespace flex::build
