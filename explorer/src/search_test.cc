// The searches against exhaustive search, on synthetic spaces with a deterministic fake benchmark.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "fake_space.h"
#include "flex/explore/search.h"

namespace flex::explore {
namespace {

using build::isolation;
using test::fake_metric;
using test::kAsan;
using test::kUbsan;
using test::synthetic_space;

const std::vector<isolation> kAll = {isolation::none, isolation::mpk, isolation::process};

struct world {
  space s;
  std::vector<configuration> all;
  std::unique_ptr<poset> p;
  std::vector<std::optional<double>> figures;
  bitset candidates;

  world(space sp, std::uint64_t seed) : s(std::move(sp)), all(enumerate(s)) {
    std::vector<const configuration *> ptrs;
    for (const auto &c : all) ptrs.push_back(&c);
    p = std::make_unique<poset>(ptrs);
    fake_metric f(s, seed);
    candidates = bitset(p->size());
    for (int i = 0; i < p->size(); ++i) {
      figures.push_back(f(all[static_cast<std::size_t>(i)]));
      if (meets_requirements(s, all[static_cast<std::size_t>(i)])) candidates.set(i);
    }
  }

  // Runs the search to its end; returns how many members it measured.
  int drive(search &srch, int batch) {
    int measured = 0;
    for (auto b = srch.next(batch); !b.empty(); b = srch.next(batch)) {
      EXPECT_LE(static_cast<int>(b.size()), batch);
      for (std::size_t i = 0; i < b.size(); ++i) {
        for (std::size_t j = i + 1; j < b.size(); ++j) {
          if (srch.spec().g == goal::most_secure) EXPECT_FALSE(p->comparable(b[i], b[j])) << "a batch of comparable members";
        }
      }
      for (int m : b) {
        EXPECT_EQ(srch.state(m).st, status::unknown) << "measured twice";
        srch.record(m, figures[static_cast<std::size_t>(m)]);
        ++measured;
      }
    }
    return measured;
  }
};

space redis_like(std::uint64_t seed) {
  space s = synthetic_space(4, 3, kAll, {0, kUbsan});
  if (seed % 2) s.q.separate.push_back({0, 1, isolation::mpk, {}});
  if (seed % 3 == 0) s.q.harden.push_back({0, kUbsan, {}});
  return s;
}

// Three libraries under every lockdown; some seeds ask for a lockdown of at least log.
space locked_like(std::uint64_t seed) {
  space s = synthetic_space(3, 3, kAll, {0, kUbsan});
  s.lockdowns = {lockdown_mode::off, lockdown_mode::log, lockdown_mode::enforce};
  if (seed % 2) s.q.lockdown.push_back({lockdown_mode::log, {}});
  if (seed % 3 == 0) s.q.separate.push_back({0, 1, isolation::mpk, {}});
  return s;
}

// Runs the fastest search over w in batches of `batch` and checks that it picks what an exhaustive search
// picks, having measured the minimal candidates only; `pick` is its pick.
void expect_fastest_is_exhaustive(world &w, int batch, std::uint64_t seed, int &pick) {
  search_spec spec{goal::fastest, true, 0};
  search srch(*w.p, w.candidates, spec);
  int measured = w.drive(srch, batch);
  auto picks = srch.picks();
  auto truth = exhaustive_picks(*w.p, w.candidates, spec, w.figures);
  ASSERT_EQ(picks.size(), 1u);
  ASSERT_EQ(truth.size(), 1u);
  EXPECT_DOUBLE_EQ(*w.figures[picks[0]], *w.figures[truth[0]]) << "seed " << seed;
  // Only minimal candidates are worth measuring.
  EXPECT_EQ(measured, w.p->minimal(w.candidates).count());
  EXPECT_LT(measured, w.candidates.count() / 4) << "seed " << seed;
  pick = picks[0];
}

TEST(fastest, equals_exhaustive_search) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    world w(redis_like(seed), seed);
    for (int batch : {1, 3}) {
      int pick = -1;
      expect_fastest_is_exhaustive(w, batch, seed, pick);
    }
  }
}

TEST(fastest, equals_exhaustive_search_across_lockdowns) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    world w(locked_like(seed), seed);
    int pick = -1;
    expect_fastest_is_exhaustive(w, 2, seed, pick);
    ASSERT_GE(pick, 0);
    // The weakest lockdown the question allows is the fastest.
    EXPECT_EQ(w.all[static_cast<std::size_t>(pick)].lockdown, seed % 2 ? lockdown_mode::log : lockdown_mode::off);
  }
}

TEST(fastest, lower_is_better_too) {
  world w(redis_like(5), 5);
  for (auto &f : w.figures) f = 1.0 / *f;  // seconds: safer takes longer
  search_spec spec{goal::fastest, false, 0};
  search srch(*w.p, w.candidates, spec);
  w.drive(srch, 2);
  auto truth = exhaustive_picks(*w.p, w.candidates, spec, w.figures);
  EXPECT_DOUBLE_EQ(*w.figures[srch.picks().at(0)], *w.figures[truth.at(0)]);
}

TEST(fastest, bounds_skip_what_cannot_beat_the_best) {
  world w(synthetic_space(3, 3, kAll, {0, kUbsan}), 7);
  // Something measured below a candidate bounds it: measure the bottom first with a poor figure.
  search_spec spec{goal::fastest, true, 0};
  bitset cands = w.candidates;
  cands.reset(0);  // the baseline is not a candidate, but it was measured
  search srch(*w.p, cands, spec);
  auto first = srch.next(1);
  ASSERT_EQ(first.size(), 1u);
  srch.record(first[0], 1e9);  // a best no one can beat
  srch.record(0, 1.0);         // the baseline: every candidate above it is bounded by 1.0
  int measured = w.drive(srch, 1);
  // Those equally safe as the baseline ({a}:none {b}:none is {a,b}) are not above it: they are measured.
  int equals = 0;
  for (int m : cands.members()) {
    if (m == first[0]) continue;  // measured before the baseline
    equals += w.all[0].leq(w.all[static_cast<std::size_t>(m)]) && w.all[static_cast<std::size_t>(m)].leq(w.all[0]);
  }
  EXPECT_GT(equals, 0);
  EXPECT_EQ(measured, equals);
  EXPECT_EQ(srch.picks(), first);
  EXPECT_GT(static_cast<int>(srch.inferred().size()), 0);
}

TEST(most_secure, equals_exhaustive_search) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    world w(redis_like(seed), seed);
    const double base = *w.figures[0];
    for (double floor : {0.3, 0.5, 0.7, 0.9}) {
      search_spec spec{goal::most_secure, true, base * floor};
      auto truth = exhaustive_picks(*w.p, w.candidates, spec, w.figures);
      for (int batch : {1, 2}) {
        search srch(*w.p, w.candidates, spec);
        srch.record(0, w.figures[0]);  // the baseline, measured first for the relative floor
        int measured = w.drive(srch, batch) + 1;
        auto picks = srch.picks();
        EXPECT_EQ(picks, truth) << "seed " << seed << " floor " << floor << " batch " << batch;
        EXPECT_LT(measured, w.p->size() / 2) << "seed " << seed << " floor " << floor;
        for (int c : w.candidates.members()) EXPECT_NE(srch.state(c).st, status::unknown);
      }
    }
  }
}

TEST(most_secure, equals_exhaustive_search_across_lockdowns) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    world w(locked_like(seed), seed);
    const double base = *w.figures[0];  // one compartment, unhardened, lockdown off
    for (double floor : {0.4, 0.7, 0.95}) {
      search_spec spec{goal::most_secure, true, base * floor};
      auto truth = exhaustive_picks(*w.p, w.candidates, spec, w.figures);
      search srch(*w.p, w.candidates, spec);
      srch.record(0, w.figures[0]);
      w.drive(srch, 2);
      EXPECT_EQ(srch.picks(), truth) << "seed " << seed << " floor " << floor;
      for (int c : w.candidates.members()) EXPECT_NE(srch.state(c).st, status::unknown);
    }
  }
}

TEST(most_secure, nothing_meets_the_floor) {
  world w(redis_like(4), 4);
  search_spec spec{goal::most_secure, true, 1e12};
  search srch(*w.p, w.candidates, spec);
  int measured = w.drive(srch, 1);
  EXPECT_TRUE(srch.picks().empty());
  EXPECT_GE(measured, w.p->minimal(w.candidates).count());  // every minimal one must fail
  for (int c : w.candidates.members()) EXPECT_NE(srch.state(c).st, status::unknown);
}

// A borderline figure (its interval straddles the floor) is no pick whatever side its median is on, and
// settles what is above it as failing; it is listed unless a pick is above it.
TEST(most_secure, a_borderline_member_is_no_pick_and_settles_what_is_above_it) {
  world w(synthetic_space(3, 3, {isolation::none, isolation::process}, {0}), 3);
  search_spec spec{goal::most_secure, true, 0};  // every figure meets the floor
  search srch(*w.p, w.candidates, spec);
  auto top = w.p->maximal(w.p->all()).members();
  ASSERT_EQ(top.size(), 1u);
  // One member just below the top, borderline although its median passes.
  auto under = w.p->below(top[0]).members();
  int b = -1;
  for (int m : under) {
    if (w.p->above(m).count() == 1) b = m;
  }
  ASSERT_GE(b, 0);
  srch.record(b, w.figures[static_cast<std::size_t>(b)], /*borderline=*/true);
  EXPECT_EQ(srch.state(b).st, status::borderline);
  EXPECT_EQ(srch.state(top[0]).st, status::inferred_fail);
  EXPECT_EQ(srch.state(top[0]).because, b);
  w.drive(srch, 1);
  auto picks = srch.picks();
  EXPECT_FALSE(picks.empty());
  for (int p : picks) {
    EXPECT_NE(p, b);
    EXPECT_NE(p, top[0]);
  }
  EXPECT_EQ(srch.borderline(), std::vector<int>{b});
}

TEST(most_secure, failed_builds_are_left_out) {
  world w(synthetic_space(3, 3, {isolation::none, isolation::process}, {0}), 3);
  search_spec spec{goal::most_secure, true, 0};  // everything passes: the answer is the top
  search srch(*w.p, w.candidates, spec);
  auto top = w.p->maximal(w.p->all()).members();
  ASSERT_EQ(top.size(), 1u);
  for (auto b = srch.next(1); !b.empty(); b = srch.next(1)) {
    for (int m : b) srch.record(m, m == top[0] ? std::nullopt : w.figures[m]);
  }
  EXPECT_EQ(srch.state(top[0]).st, status::failed);
  for (int p : srch.picks()) EXPECT_TRUE(w.p->less(p, top[0]));
  EXPECT_FALSE(srch.picks().empty());
}

TEST(verify, agrees_when_monotone_and_says_where_it_is_not) {
  world w(redis_like(2), 2);
  const double base = *w.figures[0];
  search_spec spec{goal::most_secure, true, base * 0.6};
  search srch(*w.p, w.candidates, spec);
  srch.record(0, w.figures[0]);
  w.drive(srch, 1);
  std::vector<int> pool = srch.inferred();
  ASSERT_FALSE(pool.empty());
  std::vector<double> honest;
  for (int m : pool) honest.push_back(*w.figures[m]);
  EXPECT_TRUE(check_inferences(srch, *w.p, pool, honest, 0.01).empty());
  // One inferred failure that is in fact fast: reported, against the failure it was inferred from.
  int liar = -1;
  for (int m : pool) {
    if (srch.state(m).st == status::inferred_fail) liar = m;
  }
  ASSERT_GE(liar, 0);
  auto v = check_inferences(srch, *w.p, {liar}, {base * 2}, 0.01);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].member, liar);
  EXPECT_EQ(v[0].against, srch.state(liar).because);
  EXPECT_NE(v[0].what.find("meets"), std::string::npos);
}

TEST(verify, fastest_checks_the_order_itself) {
  world w(redis_like(3), 3);
  search_spec spec{goal::fastest, true, 0};
  search srch(*w.p, w.candidates, spec);
  w.drive(srch, 1);
  std::vector<int> pool = srch.inferred();
  ASSERT_FALSE(pool.empty());
  std::vector<double> honest;
  for (int m : pool) honest.push_back(*w.figures[m]);
  EXPECT_TRUE(check_inferences(srch, *w.p, pool, honest, 0.01).empty());
  // A dominated configuration measured faster than the minimal one below it.
  int m = pool.front();
  auto v = check_inferences(srch, *w.p, {m}, {1e9}, 0.01);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(w.p->less(v[0].against, m));
}

}  // namespace
}  // namespace flex::explore
