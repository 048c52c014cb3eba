#include "flex/build/attacks.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "flex/build/fs_util.h"

namespace flex::build {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The suite's test name parts: "lockdown/attack", "is_stopped_with_a_report_under_enforce/attack_mpk_vm_read".
struct test_name {
  std::string suite, test;
};
test_name split(const std::string &full) {
  const auto dot = full.find('.');
  return {full.substr(0, dot), dot == std::string::npos ? "" : full.substr(dot + 1)};
}

// "attack_process_rev_vm_read" -> {"process", "rev-vm-read"}.
std::pair<std::string, std::string> attack_param(const std::string &param) {
  std::string rest = param.rfind("attack_", 0) == 0 ? param.substr(7) : param;
  const auto us = rest.find('_');
  std::string mech = rest.substr(0, us), what = us == std::string::npos ? "" : rest.substr(us + 1);
  for (char &c : what) c = c == '_' ? '-' : c;
  return {mech, what};
}

// What the run said of one test: "passed", "failed", "skipped: <why>", or "" when it did not run.
std::map<std::string, std::string> outcomes(const json &out) {
  std::map<std::string, std::string> m;
  for (const json &suite : out.value("testsuites", json::array())) {
    for (const json &t : suite.value("testsuite", json::array())) {
      const std::string name = suite.value("name", "") + "." + t.value("name", "");
      if (t.value("status", "") != "RUN") continue;
      if (t.contains("failures") && !t["failures"].empty()) {
        m[name] = "failed";
      } else if (t.value("result", "") == "SKIPPED") {
        std::string why;
        if (t.contains("skipped") && t["skipped"].is_array() && !t["skipped"].empty()) why = t["skipped"][0].value("message", "");
        // gtest's message starts with the file and line of the skip.
        if (auto at = why.find("Skipped\n"); at != std::string::npos) why = why.substr(at + 8);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        m[name] = "skipped: " + why;
      } else {
        m[name] = "passed";
      }
    }
  }
  return m;
}

}  // namespace

fs::path default_attack_suite() {
  return executable_dir().parent_path() / "tests" / "attack_test";
}

std::vector<std::string> parse_gtest_list(const std::string &listing) {
  std::vector<std::string> out;
  std::istringstream in(listing);
  std::string suite;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.rfind("Running main()", 0) == 0) continue;
    if (line[0] != ' ') {
      suite = line.substr(0, line.find_first_of(" \t"));
      if (!suite.empty() && suite.back() == '.') suite.pop_back();
      continue;
    }
    std::string test = line.substr(line.find_first_not_of(' '));
    test = test.substr(0, test.find_first_of(" \t"));
    if (!suite.empty() && !test.empty()) out.push_back(suite + "." + test);
  }
  return out;
}

std::string attack_filter(const std::set<std::string> &mechanisms) {
  std::string f = "*/attack_none_*";
  if (mechanisms.count("process")) f += ":*/attack_process_*:attack_dos.*";
  if (mechanisms.count("mpk")) {
    f += ":*/attack_mpk_*:*not_yet_defended.*:*foreign_pkru_load.*:*early_code.*:attack_mpk_files.*:mpk_syscalls.*"
         ":mpk_runtime_trusts_no_libc_state.*:attack_mpk_stacks.*";
  }
  return f;
}

json attack_results(const std::vector<std::string> &listed, const json &gtest_output, const std::set<std::string> &mechanisms) {
  const auto ran = outcomes(gtest_output);
  auto outcome = [&](const std::string &name) {
    auto it = ran.find(name);
    return it == ran.end() ? std::string() : it->second;
  };
  json rows = json::array();
  std::map<std::string, int> counts;
  auto add = [&](const std::string &mech, const std::string &attack, std::string result) {
    const bool applies = mech == "none" || mechanisms.count(mech);
    if (!applies) result = "not applicable";
    const std::string key = result.rfind("not run here", 0) == 0 ? "not run here" : result;
    ++counts[key];
    rows.push_back({{"mechanism", mech}, {"attack", attack}, {"result", result}});
  };
  auto skipped_or = [](const std::string &o, const std::string &otherwise) {
    if (o.rfind("skipped: ", 0) == 0) return "not run here (" + o.substr(9) + ")";
    if (o.empty()) return std::string("not run here");
    return otherwise;
  };
  const std::string enforce = "is_stopped_with_a_report_under_enforce/", off = "goes_through_under_lockdown_off/";
  for (const std::string &full : listed) {
    const test_name n = split(full);
    if (n.test.rfind(enforce, 0) == 0) {
      const std::string param = n.test.substr(enforce.size());
      const auto [mech, what] = attack_param(param);
      const std::string e = outcome(full), o = outcome(n.suite + "." + off + param);
      std::string result = e == "failed"                      ? "NOT BLOCKED"
                           : e == "passed" && o == "passed"   ? "blocked"
                           : e == "passed" && o == "failed"   ? "blocked (unproven: it did not go through with lockdown off)"
                           : e == "passed"                    ? "blocked"
                                                              : skipped_or(e, "not run here");
      add(mech, what, result);
    } else if (n.suite.find("not_yet_defended") != std::string::npos) {
      const std::string what = n.test.substr(n.test.find('/') + 1);
      std::string w = what;
      for (char &c : w) c = c == '_' ? '-' : c;
      const std::string e = outcome(full);
      add("mpk", w, e == "passed" ? "not defended yet" : e == "failed" ? "blocked (the suite still calls it a gap)" : skipped_or(e, ""));
    } else if (n.suite.find("foreign_pkru_load") != std::string::npos || n.suite.find("early_code") != std::string::npos) {
      // One test per attack, holding both halves: a trap under enforce, every key open under off.
      std::string w = n.test.substr(n.test.find('/') + 1);
      for (char &c : w) c = c == '_' ? '-' : c;
      const std::string e = outcome(full);
      add("mpk", w, e == "passed" ? "blocked" : e == "failed" ? "NOT BLOCKED" : skipped_or(e, ""));
    } else if (n.suite == "mpk_syscalls" || n.suite == "mpk_runtime_trusts_no_libc_state" ||
               n.suite == "attack_mpk_files" || n.suite == "attack_mpk_stacks" || n.suite == "attack_dos") {
      std::string w = n.test;
      for (char &c : w) c = c == '_' ? ' ' : c;
      const std::string e = outcome(full);
      add(n.suite == "attack_dos" ? "process" : "mpk", w,
          e == "passed" ? "holds" : e == "failed" ? "FAILS" : skipped_or(e, ""));
    }
  }
  json c = json::object();
  for (const auto &[k, v] : counts) c[k] = v;
  return {{"results", rows}, {"counts", c}};
}

std::optional<suite_run> run_suite(const fs::path &suite, const std::set<std::string> &mechanisms, std::string *error) {
  if (::access(suite.c_str(), X_OK) != 0) {
    *error = suite.string() + ": no attack suite there (build it: cmake --build build --target attack_test, or name it with --attack-suite)";
    return std::nullopt;
  }
  auto capture = [](const std::string &cmd, std::string *out) {
    FILE *p = ::popen(cmd.c_str(), "r");
    if (!p) return -1;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out->append(buf, n);
    return ::pclose(p);
  };
  std::string listing;
  if (capture("'" + suite.string() + "' --gtest_list_tests 2>/dev/null", &listing) != 0) {
    *error = suite.string() + ": --gtest_list_tests failed";
    return std::nullopt;
  }
  suite_run run{suite, parse_gtest_list(listing), json::object()};
  char tmpl[] = "/tmp/flex_attacks_XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) {
    *error = "cannot create a temporary file for the suite's results";
    return std::nullopt;
  }
  ::close(fd);
  std::fprintf(stderr, "flexbuild: attacks: running %s for %s\n", suite.c_str(), attack_filter(mechanisms).c_str());
  std::string ignored;
  // A failing test makes the suite exit 1: its results still say which.
  capture(fmt::format("'{}' --gtest_filter='{}' --gtest_output=json:{} >/dev/null 2>&1", suite.string(),
                      attack_filter(mechanisms), tmpl),
          &ignored);
  if (auto text = read_file(tmpl)) run.output = json::parse(*text, nullptr, false);
  std::remove(tmpl);
  if (run.output.is_discarded() || !run.output.contains("testsuites")) {
    *error = suite.string() + ": the suite wrote no results";
    return std::nullopt;
  }
  return run;
}

json attack_results(const suite_run &run, const std::set<std::string> &mechanisms) {
  json r = attack_results(run.listed, run.output, mechanisms);
  r["suite"] = run.suite.string();
  return r;
}

json run_attack_suite(const fs::path &suite, const std::set<std::string> &mechanisms, std::string *error) {
  auto run = run_suite(suite, mechanisms, error);
  if (!run) return nullptr;
  return attack_results(*run, mechanisms);
}

std::set<std::string> report_mechanisms(const json &report) {
  std::set<std::string> m;
  for (const json &c : report["compartments"]) m.insert(c.value("isolation", "none"));
  return m;
}

}  // namespace flex::build
