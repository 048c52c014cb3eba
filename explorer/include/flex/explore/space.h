// Space files (explorer/spaces/*.yaml): what flexexplore explores and the question it answers.
//
//   name: hello                      # names the output folder and the generated profiles
//   app: hello
//   libraries: [hello, console]      # placed by the explorer; every other required library joins
//   default: console                 #   the compartment holding `default` (the profile's default one)
//   max_compartments: 2
//   mechanisms: [none, mpk, process] # what a compartment may be walled off with
//   hardening:                       # per library, the choices; a library not listed: none only
//     hello: [none, ubsan]
//   lockdown: [off, enforce]         # the profile lockdowns to explore (off | log | enforce); default
//                                    #   [enforce]: the weaker ones only when a space asks for them
//   benchmark:
//     command: "for i in $(seq 20); do {image} >/dev/null || exit 1; done"
//     metric: {from: time}           # time | redis-benchmark | regex
//     repetitions: {min: 3, max: 5, tolerance: 5%}
//   question:
//     goal: most-secure              # or fastest
//     floor: 50%                     # most-secure: of the one-compartment baseline, or an absolute figure
//     require:                       # security constraints (both goals)
//       - {separate: [hello, console], by: mpk}
//       - {harden: hello, with: [ubsan]}
//       - {lockdown: enforce}        # that lockdown or a stronger one (off < log < enforce)
//
// load_space() checks the schema as strictly as flexbuild checks profiles (unknown keys with "did you
// mean", types, enum values) and then the libraries against the app's `requires` closure; every error
// names file:line:col and says how to fix it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flex/build/manifest.h"
#include "flex/build/profile.h"
#include "flex/yaml/diag.h"

namespace flex::explore {

using build::isolation;
using build::lockdown_mode;
using yaml::diag_sink;
using yaml::source_pos;

// A set of hardening options: bit i is flex::build::hardening value i.
using hardening_set = std::uint32_t;
std::string hardening_text(hardening_set h, std::string_view empty = "none");  // "asan+ubsan"
std::vector<std::string> hardening_names(hardening_set h);

enum class goal { fastest, most_secure };

enum class metric_source { time, redis_benchmark, regex };

struct metric_spec {
  metric_source from = metric_source::time;
  std::string test;     // redis-benchmark: the test whose rps is read (GET)
  std::string pattern;  // regex: the first group is the figure
  bool higher_is_better = false;
  std::string unit;     // for reports: "s", "rps", or the space's `unit`
};

// Runs repeat until the median settles (or `max`); under most-secure, a first figure far below the floor
// (by 5 tolerances, at least 20%) decides at once.
struct repetition_spec {
  int min = 3;
  int max = 7;
  double tolerance = 0.03;  // the median is stable once it moves by less than this, relatively
  // Under most-secure, a configuration whose median's interval (median_interval) still straddles the
  // floor after `max` runs is run again, up to this many runs in all; if it still straddles then, it is
  // borderline (runner.h).
  int max_near_floor = 15;
};

// Command templates may use {image} (the executable), {port} (a free TCP port), {dir} (a scratch
// folder), {root} (the source tree) and {id} (the configuration).
struct benchmark_spec {
  std::string server;   // optional: started before each run, stopped with SIGTERM after it
  std::string ready;    // optional: run until it succeeds before the command (needs server)
  std::string command;  // the measured command
  metric_spec metric;
  repetition_spec reps;
  double timeout_s = 300;       // for the command (and the server's readiness)
  std::string fingerprint() const;  // changes whenever a figure would mean something else
};

struct separation_req {
  int a = 0, b = 0;  // placed library indices
  isolation by = isolation::none;
  source_pos pos;
};

struct hardening_req {
  int lib = 0;
  hardening_set with = 0;
  source_pos pos;
};

// The image's lockdown must be at least `at_least` (DESIGN.md §8a: enforce > log > off).
struct lockdown_req {
  lockdown_mode at_least = lockdown_mode::enforce;
  source_pos pos;
};

struct floor_spec {
  bool relative = true;  // value is a fraction of the one-compartment baseline
  double value = 0;
  source_pos pos;
};

struct question {
  goal g = goal::fastest;
  std::optional<floor_spec> floor;  // most-secure only
  std::vector<separation_req> separate;
  std::vector<hardening_req> harden;
  std::vector<lockdown_req> lockdown;
};

struct space {
  std::filesystem::path file;
  std::filesystem::path root;  // the source tree (apps/, libos/)
  std::string name;
  std::string app;
  std::vector<std::string> libraries;  // placed, as written
  int default_lib = 0;                 // index into libraries
  std::vector<std::string> rest;       // the other non-replicated libraries of the closure
  int max_compartments = 1;
  std::vector<isolation> mechanisms;   // sorted, weakest first
  std::vector<std::vector<hardening_set>> hardening;  // per placed library, its choices
  // The profile lockdowns to explore, sorted, weakest first. Only [enforce] (flexbuild's default) keeps
  // the configurations, their hashes and their profiles what they were before spaces could choose it.
  std::vector<lockdown_mode> lockdowns = {lockdown_mode::enforce};
  std::optional<std::string> stack_sharing;  // passed through to the profiles
  std::optional<std::string> mpk_gate;
  std::map<std::string, std::uint64_t> heap_mib;  // per library
  benchmark_spec bench;
  question q;

  int index_of(std::string_view library) const;  // placed index; rest libraries map to default_lib; -1
  bool allows(isolation m) const;
  bool offers(lockdown_mode m) const;
};

// Parses and validates a space file; `root` overrides the source tree (default: the nearest folder
// above the file holding apps/ or libos/, else the tree flexexplore was built from).
std::optional<space> parse_space(const std::filesystem::path &file, std::string_view text,
                                 const std::optional<std::filesystem::path> &root, diag_sink &diags);
std::optional<space> load_space(const std::filesystem::path &file,
                                const std::optional<std::filesystem::path> &root, diag_sink &diags);

}  // namespace flex::explore
