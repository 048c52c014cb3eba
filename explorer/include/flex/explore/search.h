// The searches. Both rest on one assumption, monotonicity: a safer configuration is never faster
// (c1 <= c2 implies f(c2) is no better than f(c1)). It holds of lockdown too: under log and enforce
// every system call of a compartment is checked against its set, under off none is. They ask for
// batches of members to measure (next()), are told the figures (record()), and stop when nothing is
// left to learn (next() is empty).
//
//   fastest     the best figure among the candidates: only the minimal candidates can hold it, and of
//               those only the ones whose bound (the best figure measured below them) can still beat
//               the best found are measured.
//   most-secure the maximal candidates whose figure meets the floor: a success settles everything below
//               it, a failure everything above it. Each step measures the open members next to what is
//               settled (the lower frontier while failures are the likelier outcome, else the upper),
//               where the likelier outcome lies on the border any search must measure; a batch holds
//               only incomparable members.
//
//   flex::explore::search s(poset, candidates, spec);
//   for (auto batch = s.next(2); !batch.empty(); batch = s.next(2))
//     for (int m : batch) s.record(m, measure(m));
//   s.picks();
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "flex/explore/poset.h"

namespace flex::explore {

enum class status {
  unknown,
  measured,
  failed,     // could not be built or run: left out
  inferred_pass,  // most-secure: below a success
  inferred_fail,  // most-secure: above a failure
  dominated,  // fastest: above a minimal candidate, so no faster than it
  bounded,    // fastest: a minimal candidate whose bound cannot beat the best found
  borderline,  // most-secure: measured, its interval straddles the floor; settles what is above it as
               // failing (safer is never faster, so nothing above meets the floor beyond the noise)
};
std::string_view to_string(status s);

struct search_spec {
  goal g = goal::fastest;
  bool higher_is_better = true;
  double threshold = 0;  // most-secure: the absolute floor (a ceiling when lower is better)
  // The floor's interval: [threshold, threshold] for an absolute floor; for one relative to the baseline,
  // the fraction of the baseline median's interval, which a figure must clear to pass beyond the noise.
  double threshold_lo = 0, threshold_hi = 0;
};

struct member_state {
  status st = status::unknown;
  std::optional<double> value;  // measured
  int because = -1;             // the member an inference came from
};

class search {
 public:
  search(const poset &p, bitset candidates, search_spec spec);

  std::vector<int> next(int max_batch);
  // A figure, or nullopt when the member could not be built or run. Members outside the candidates may
  // be recorded too (the baseline): they bound and settle the others the same way. `borderline`
  // (most-secure): the figure's interval straddles the floor, whatever side its median is on.
  void record(int member, std::optional<double> value, bool borderline = false);

  const member_state &state(int member) const { return state_[static_cast<std::size_t>(member)]; }
  bool better(double a, double b) const { return spec_.higher_is_better ? a > b : a < b; }
  bool passes(double v) const { return spec_.higher_is_better ? v >= spec_.threshold : v <= spec_.threshold; }
  // fastest: the best measured candidate; most-secure: the maximal candidates that pass.
  std::vector<int> picks() const;
  // most-secure: the borderline candidates not below a pick (the ones that might have been picks).
  std::vector<int> borderline() const;
  int measured() const;
  const bitset &candidates() const { return cand_; }
  const search_spec &spec() const { return spec_; }
  // Candidates not measured, whose outcome was inferred (the pool --verify draws from).
  std::vector<int> inferred() const;
  // An estimate of the measurements still to come (for the ETA).
  int remaining_estimate() const;

 private:
  std::vector<int> next_fastest(int max_batch);
  std::vector<int> next_secure(int max_batch);
  std::optional<double> bound(int member) const;  // best figure measured at or below it

  const poset &p_;
  bitset cand_;
  search_spec spec_;
  std::vector<member_state> state_;
  std::vector<int> order_;  // fastest: the minimal candidates, cheapest-looking first
  std::size_t cursor_ = 0;
  std::optional<int> best_;
};

// The exhaustive answers, for checking the searches: every candidate's figure is given.
std::vector<int> exhaustive_picks(const poset &p, const bitset &candidates, const search_spec &spec,
                                  const std::vector<std::optional<double>> &figures);

struct violation {
  int member = -1;   // the verified one
  int against = -1;  // what its inference came from (or the pick it beat)
  double value = 0, against_value = 0;
  std::string what;
};

// --verify: whether the measured figures of some inferred members agree with what was inferred.
// `tolerance` absorbs noise (relative).
std::vector<violation> check_inferences(const search &s, const poset &p, const std::vector<int> &verified,
                                        const std::vector<double> &values, double tolerance);

}  // namespace flex::explore
