// Test helpers: synthetic spaces (no source tree needed for enumeration, order and search), a
// deterministic fake benchmark that obeys monotonicity (safer is never faster), a fake evaluator that
// stands for flexbuild and the benchmark, a small real space, and a scratch folder per test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "flex/explore/config.h"
#include "flex/explore/runner.h"

namespace flex::explore::test {

constexpr hardening_set kAsan = 1u << 0, kUbsan = 1u << 1, kStackProtector = 1u << 2, kFortify = 1u << 3;

// `libs` libraries named l0, l1, ...; every library gets the same hardening choices.
space synthetic_space(int libs, int max_compartments, std::vector<isolation> mechanisms,
                      std::vector<hardening_set> choices);

// A figure in requests per second: a base rate times a factor below 1 for every separated library pair
// (smaller the stronger the boundary) and for every hardening option of every library, all drawn
// from `seed`, and a little more under a lockdown weaker than enforce (so enforce's figures are the
// ones a space without `lockdown:` always had).
class fake_metric {
 public:
  fake_metric(const space &s, std::uint64_t seed);
  double operator()(const configuration &c) const;

 private:
  int libs_;
  std::vector<double> pair_factor_;  // per pair, per isolation (none, mpk, process)
  std::vector<double> hard_factor_;  // per library, per hardening bit
};

// Builds succeed at once and runs give fake_metric's figure (seed 42), except where a test plants a
// failure; counts what it is asked. With `interrupt_at_run` >= 0, that run (counting from 0) is
// interrupted as if by SIGINT.
class fake_evaluator : public evaluator {
 public:
  explicit fake_evaluator(const space &s, int interrupt_at_run = -1);
  build_result build(const configuration &c, const std::filesystem::path &profile,
                     const std::filesystem::path &image_dir, int jobs) override;
  run_result run_once(const configuration &c, const std::filesystem::path &executable) override;

  std::set<std::string> failing_builds;             // configuration hashes whose build fails
  std::map<std::string, std::string> failing_runs;  // configuration hash -> the error of its every run
  std::map<std::string, int> builds, runs;          // per configuration hash
  int runs_total = 0;
  // Each run's figure times (1 + noise * u), u uniform in [-1, 1] drawn from `noise_seed`.
  void add_noise(double noise, std::uint64_t noise_seed);

 private:
  fake_metric metric_;
  double noise_ = 0;
  std::mt19937_64 rng_;
  int interrupt_at_;
  std::mutex builds_mu_;  // build() runs on the runner's build threads
};

// Redis, net and console (the libraries of the redis app) in up to 3 compartments, none, mpk or
// process, redis and net with or without UBSan: 67 configurations, the most secure keeping 55% of the
// baseline's GET rate. Read against the source tree, like a space file.
space redis_space();

// build/explore-test/<suite>.<test>, empty.
std::filesystem::path scratch_dir();

}  // namespace flex::explore::test
