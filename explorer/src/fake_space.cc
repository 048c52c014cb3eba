#include "fake_space.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

namespace flex::explore::test {

namespace fs = std::filesystem;

space synthetic_space(int libs, int max_compartments, std::vector<isolation> mechanisms,
                      std::vector<hardening_set> choices) {
  space s;
  s.name = "synthetic";
  s.app = "l0";
  for (int i = 0; i < libs; ++i) s.libraries.push_back("l" + std::to_string(i));
  s.default_lib = libs - 1;
  s.max_compartments = max_compartments;
  s.mechanisms = std::move(mechanisms);
  s.hardening.assign(static_cast<std::size_t>(libs), std::move(choices));
  s.bench.metric.higher_is_better = true;
  s.bench.metric.unit = "rps";
  return s;
}

fake_metric::fake_metric(const space &s, std::uint64_t seed) : libs_(static_cast<int>(s.libraries.size())) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> step(0.6, 0.99);
  const int pairs = libs_ * (libs_ - 1) / 2;
  for (int p = 0; p < pairs; ++p) {
    double f = 1.0;
    for (int m = 0; m < 3; ++m) {
      f *= step(rng);  // each stronger boundary costs more
      pair_factor_.push_back(f);
    }
  }
  for (int l = 0; l < libs_; ++l) {
    for (int b = 0; b < 6; ++b) hard_factor_.push_back(step(rng));
  }
}

double fake_metric::operator()(const configuration &c) const {
  double v = 100000.0;
  for (std::size_t p = 0; p < c.pairs.size(); ++p) {
    // A none boundary is a plain call, as in one compartment (and no wall in the order): it costs nothing.
    if (c.pairs[p] != kSame && c.pairs[p] != static_cast<std::int8_t>(isolation::none)) {
      v *= pair_factor_[p * 3 + static_cast<std::size_t>(c.pairs[p])];
    }
  }
  for (std::size_t l = 0; l < c.lib_hard.size(); ++l) {
    for (int b = 0; b < 6; ++b) {
      if (c.lib_hard[l] & (1u << b)) v *= hard_factor_[l * 6 + static_cast<std::size_t>(b)];
    }
  }
  static constexpr double kLockdownGain[] = {1.03, 1.01, 1.0};  // off, log, enforce
  return v * kLockdownGain[static_cast<int>(c.lockdown)];
}

fake_evaluator::fake_evaluator(const space &s, int interrupt_at_run) : metric_(s, 42), interrupt_at_(interrupt_at_run) {}

build_result fake_evaluator::build(const configuration &c, const fs::path &, const fs::path &dir, int) {
  std::lock_guard lock(builds_mu_);
  ++builds[c.hash];
  if (failing_builds.count(c.hash)) return {false, 0.0, "flexbuild exited with status 1: error: planted", {}};
  return {true, 0.0, "", dir / "image"};
}

run_result fake_evaluator::run_once(const configuration &c, const fs::path &) {
  if (interrupt_at_ >= 0 && runs_total == interrupt_at_) g_interrupted = true;
  ++runs_total;
  ++runs[c.hash];
  if (g_interrupted) return {false, 0, "interrupted"};
  if (auto it = failing_runs.find(c.hash); it != failing_runs.end()) return {false, 0, it->second};
  double v = metric_(c);
  if (noise_ > 0) v *= 1 + noise_ * std::uniform_real_distribution<double>(-1, 1)(rng_);
  return {true, v, ""};
}

void fake_evaluator::add_noise(double noise, std::uint64_t noise_seed) {
  noise_ = noise;
  rng_.seed(noise_seed);
}

space redis_space() {
  static const char *const kSpace = R"(name: resume
app: redis
libraries: [redis, net, console]
default: console
max_compartments: 3
mechanisms: [none, mpk, process]
hardening:
  redis: [none, ubsan]
  net: [none, ubsan]
benchmark:
  command: "true"
  metric: {from: redis-benchmark, test: GET}
  repetitions: {min: 3, max: 3}
question:
  goal: most-secure
  floor: 55%
)";
  yaml::diag_sink diags;
  auto s = parse_space("resume.yaml", kSpace, fs::path(FLEX_SOURCE_DIR), diags);
  if (!s) throw std::runtime_error(diags.all().empty() ? "the test space does not parse" : yaml::render(diags.all()[0], false));
  return *s;
}

fs::path scratch_dir() {
  const ::testing::TestInfo *t = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(FLEX_BINARY_DIR) / "explore-test" / (std::string(t->test_suite_name()) + "." + t->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace flex::explore::test
