#include "flex/explore/search.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace flex::explore {
namespace {

// How much isolation, hardening and lockdown a configuration carries; the cheapest-looking are measured
// first. (A space with one lockdown adds the same to every weight: the order stays what it was.)
long weight(const configuration &c) {
  long w = static_cast<long>(c.lockdown);
  for (std::int8_t p : c.pairs) w += p + 1;
  for (hardening_set h : c.lib_hard) w += std::popcount(h);
  return w;
}

}  // namespace

std::string_view to_string(status s) {
  switch (s) {
    case status::unknown: return "unknown";
    case status::measured: return "measured";
    case status::failed: return "failed";
    case status::inferred_pass: return "inferred-pass";
    case status::inferred_fail: return "inferred-fail";
    case status::dominated: return "dominated";
    case status::bounded: return "bounded";
    case status::borderline: return "borderline";
  }
  return "?";
}

search::search(const poset &p, bitset candidates, search_spec spec)
    : p_(p), cand_(std::move(candidates)), spec_(spec), state_(static_cast<std::size_t>(p.size())) {
  if (spec_.g != goal::fastest) return;
  bitset mins = p_.minimal(cand_);
  order_ = mins.members();
  std::stable_sort(order_.begin(), order_.end(), [&](int a, int b) {
    const configuration &ca = p_.at(a), &cb = p_.at(b);
    if (ca.blocks() != cb.blocks()) return ca.blocks() < cb.blocks();
    return weight(ca) < weight(cb);
  });
  for (int c : cand_.minus(mins).members()) {
    member_state &s = state_[static_cast<std::size_t>(c)];
    s.st = status::dominated;
    bitset under = p_.below(c);
    under &= mins;
    auto m = under.members();
    s.because = m.empty() ? -1 : m.front();
  }
}

std::optional<double> search::bound(int member) const {
  std::optional<double> out;
  auto consider = [&](int d) {
    const member_state &s = state_[static_cast<std::size_t>(d)];
    if (s.st == status::measured && s.value && (!out || better(*out, *s.value))) out = s.value;
  };
  consider(member);
  for (int d : p_.below(member).members()) consider(d);
  return out;
}

std::vector<int> search::next(int max_batch) {
  max_batch = std::max(1, max_batch);
  return spec_.g == goal::fastest ? next_fastest(max_batch) : next_secure(max_batch);
}

std::vector<int> search::next_fastest(int max_batch) {
  std::vector<int> batch;
  while (cursor_ < order_.size() && static_cast<int>(batch.size()) < max_batch) {
    int m = order_[cursor_++];
    member_state &s = state_[static_cast<std::size_t>(m)];
    if (s.st != status::unknown) continue;
    if (best_) {
      auto b = bound(m);
      double best = *state_[static_cast<std::size_t>(*best_)].value;
      if (b && !better(*b, best)) {
        s.st = status::bounded;
        for (int d : p_.below(m).members()) {
          const member_state &ds = state_[static_cast<std::size_t>(d)];
          if (ds.st == status::measured && ds.value && *ds.value == *b) s.because = d;
        }
        continue;
      }
    }
    batch.push_back(m);
  }
  return batch;
}

// The open members next to what is settled: the minimal open ones (everything below them passed) and
// the maximal open ones (everything above them failed). A failure on the lower frontier, or a success on
// the upper one, is on the border between success and failure, which any search must measure; so the
// frontier more likely to give such an outcome is taken, judged by the outcomes so far. Within it, the
// member whose likelier outcome settles the most goes first.
std::vector<int> search::next_secure(int max_batch) {
  bitset open(p_.size());
  for (int c : cand_.members()) {
    if (state_[static_cast<std::size_t>(c)].st == status::unknown) open.set(c);
  }
  if (!open.any()) return {};
  int passed = 0, failed = 0;
  for (int i = 0; i < p_.size(); ++i) {
    const member_state &s = state_[static_cast<std::size_t>(i)];
    if (s.st == status::measured && s.value) (passes(*s.value) ? passed : failed)++;
    if (s.st == status::borderline) ++failed;
  }
  // Laplace's rule, the baseline (which passes by construction) left out of the count.
  const double p_pass = (std::max(0, passed - 1) + 1.0) / (std::max(0, passed - 1) + failed + 2.0);
  const bool upward = p_pass < 0.5;  // failures are likely: measure the lower frontier
  bitset frontier = upward ? p_.minimal(open) : p_.maximal(open);
  struct scored {
    int member;
    int settles;
  };
  std::vector<scored> all;
  for (int u : frontier.members()) {
    bitset reach = upward ? p_.above(u) : p_.below(u);
    reach &= open;
    all.push_back({u, reach.count()});
  }
  std::stable_sort(all.begin(), all.end(), [](const scored &x, const scored &y) { return x.settles > y.settles; });
  std::vector<int> batch;
  for (const scored &s : all) {
    if (static_cast<int>(batch.size()) >= max_batch) break;
    batch.push_back(s.member);  // members of one frontier are incomparable
  }
  return batch;
}

void search::record(int member, std::optional<double> value, bool borderline) {
  member_state &s = state_[static_cast<std::size_t>(member)];
  if (!value) {
    s.st = status::failed;
    return;
  }
  s.st = status::measured;
  s.value = value;
  s.because = -1;
  if (spec_.g == goal::fastest) {
    if (cand_.test(member) && (!best_ || better(*value, *state_[static_cast<std::size_t>(*best_)].value))) best_ = member;
    return;
  }
  if (borderline) s.st = status::borderline;
  const bool pass = !borderline && passes(*value);
  for (int d : (pass ? p_.below(member) : p_.above(member)).members()) {
    member_state &ds = state_[static_cast<std::size_t>(d)];
    if (ds.st != status::unknown) continue;
    ds.st = pass ? status::inferred_pass : status::inferred_fail;
    ds.because = member;
  }
}

std::vector<int> search::picks() const {
  if (spec_.g == goal::fastest) return best_ ? std::vector<int>{*best_} : std::vector<int>{};
  bitset ok(p_.size());
  for (int c : cand_.members()) {
    const member_state &s = state_[static_cast<std::size_t>(c)];
    if (s.st == status::inferred_pass || (s.st == status::measured && passes(*s.value))) ok.set(c);
  }
  return p_.maximal(ok).members();
}

std::vector<int> search::borderline() const {
  bitset picked(p_.size());
  for (int p : picks()) picked.set(p);
  std::vector<int> out;
  for (int c : cand_.members()) {
    if (state_[static_cast<std::size_t>(c)].st != status::borderline) continue;
    bitset above = p_.above(c);
    above &= picked;
    if (!above.any()) out.push_back(c);
  }
  return out;
}

int search::measured() const {
  return static_cast<int>(std::count_if(state_.begin(), state_.end(), [](const member_state &s) {
    return s.st == status::measured || s.st == status::failed || s.st == status::borderline;
  }));
}

std::vector<int> search::inferred() const {
  std::vector<int> out;
  for (int c : cand_.members()) {
    status st = state_[static_cast<std::size_t>(c)].st;
    if (st == status::inferred_pass || st == status::inferred_fail || st == status::dominated || st == status::bounded) {
      out.push_back(c);
    }
  }
  return out;
}

int search::remaining_estimate() const {
  if (spec_.g == goal::fastest) {
    int n = 0;
    for (std::size_t i = cursor_; i < order_.size(); ++i) n += state_[static_cast<std::size_t>(order_[i])].st == status::unknown;
    return n;
  }
  int open = 0, settled = 0, measured_here = 0;
  for (int c : cand_.members()) {
    status st = state_[static_cast<std::size_t>(c)].st;
    if (st == status::unknown) ++open;
    else ++settled;
    if (st == status::measured || st == status::failed || st == status::borderline) ++measured_here;
  }
  if (open == 0) return 0;
  double ratio = settled > 0 ? static_cast<double>(std::max(1, measured_here)) / settled : 0.25;
  return std::max(1, static_cast<int>(std::ceil(open * ratio)));
}

std::vector<int> exhaustive_picks(const poset &p, const bitset &candidates, const search_spec &spec,
                                  const std::vector<std::optional<double>> &figures) {
  auto better = [&](double a, double b) { return spec.higher_is_better ? a > b : a < b; };
  if (spec.g == goal::fastest) {
    std::optional<int> best;
    for (int c : candidates.members()) {
      const auto &v = figures[static_cast<std::size_t>(c)];
      if (v && (!best || better(*v, *figures[static_cast<std::size_t>(*best)]))) best = c;
    }
    return best ? std::vector<int>{*best} : std::vector<int>{};
  }
  bitset ok(p.size());
  for (int c : candidates.members()) {
    const auto &v = figures[static_cast<std::size_t>(c)];
    if (v && (spec.higher_is_better ? *v >= spec.threshold : *v <= spec.threshold)) ok.set(c);
  }
  return p.maximal(ok).members();
}

std::vector<violation> check_inferences(const search &s, const poset &p, const std::vector<int> &verified,
                                        const std::vector<double> &values, double tolerance) {
  std::vector<violation> out;
  // a is better than b beyond the noise.
  auto clearly_better = [&](double a, double b) {
    return s.better(a, b) && std::fabs(a - b) > tolerance * std::max(std::fabs(a), std::fabs(b));
  };
  for (std::size_t i = 0; i < verified.size(); ++i) {
    const int v = verified[i];
    const double x = values[i];
    const member_state &st = s.state(v);
    if (st.st == status::inferred_pass || st.st == status::inferred_fail) {
      // Within the noise of the floor, a figure agrees with either verdict.
      const double t = s.spec().threshold;
      const bool hi = s.spec().higher_is_better;
      const double slack = tolerance * std::fabs(t);
      const bool clearly_passes = hi ? x > t + slack : x < t - slack;
      const bool clearly_misses = hi ? x < t - slack : x > t + slack;
      const bool wrong = st.st == status::inferred_pass ? clearly_misses : clearly_passes;
      if (wrong) {
        const double from = st.because >= 0 ? s.state(st.because).value.value_or(0) : 0;
        out.push_back({v, st.because, x, from,
                       st.st == status::inferred_pass ? "inferred to meet the floor (below a success) but misses it"
                                                      : "inferred to miss the floor (above a failure) but meets it"});
        continue;
      }
    }
    // The assumption itself: nothing measured below is clearly worse, nothing above clearly better.
    const violation *worst = nullptr;
    violation found;
    for (int d : p.below(v).members()) {
      const member_state &ds = s.state(d);
      if ((ds.st != status::measured && ds.st != status::borderline) || !ds.value || !clearly_better(x, *ds.value)) continue;
      found = {v, d, x, *ds.value, "safer than " + p.at(d).id() + " but measured better"};
      worst = &found;
    }
    for (int u : p.above(v).members()) {
      const member_state &us = s.state(u);
      if ((us.st != status::measured && us.st != status::borderline) || !us.value || !clearly_better(*us.value, x)) continue;
      found = {v, u, x, *us.value, "less safe than " + p.at(u).id() + " but measured worse"};
      worst = &found;
    }
    if (worst) out.push_back(*worst);
  }
  return out;
}

}  // namespace flex::explore
