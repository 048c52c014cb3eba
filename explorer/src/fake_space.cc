#include "fake_space.h"

#include <random>

namespace flex::explore::test {

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
    if (c.pairs[p] != kSame) v *= pair_factor_[p * 3 + static_cast<std::size_t>(c.pairs[p])];
  }
  for (std::size_t l = 0; l < c.lib_hard.size(); ++l) {
    for (int b = 0; b < 6; ++b) {
      if (c.lib_hard[l] & (1u << b)) v *= hard_factor_[l * 6 + static_cast<std::size_t>(b)];
    }
  }
  return v;
}

}  // namespace flex::explore::test
