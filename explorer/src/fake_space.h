// Test helpers: synthetic spaces (no source tree needed for enumeration, order and search) and a
// deterministic fake benchmark that obeys monotonicity (safer is never faster).
#pragma once

#include <cstdint>
#include <vector>

#include "flex/explore/config.h"

namespace flex::explore::test {

constexpr hardening_set kAsan = 1u << 0, kUbsan = 1u << 1, kStackProtector = 1u << 2, kFortify = 1u << 3;

// `libs` libraries named l0, l1, ...; every library gets the same hardening choices.
space synthetic_space(int libs, int max_compartments, std::vector<isolation> mechanisms,
                      std::vector<hardening_set> choices);

// A figure in requests per second: a base rate times a factor below 1 for every separated library pair
// (smaller the stronger the boundary) and for every hardening option of every library, all drawn
// from `seed`.
class fake_metric {
 public:
  fake_metric(const space &s, std::uint64_t seed);
  double operator()(const configuration &c) const;

 private:
  int libs_;
  std::vector<double> pair_factor_;  // per pair, per isolation (none, mpk, process)
  std::vector<double> hard_factor_;  // per library, per hardening bit
};

}  // namespace flex::explore::test
