// run()'s stages one by one (explore_impl.h): sorting the configurations out, the baseline, the
// profiles, the order, the floor, the search, the picks and --verify, on the small redis space with a
// fake evaluator standing for flexbuild and the benchmark.
#include <gtest/gtest.h>

#include <algorithm>

#include "fake_space.h"
#include "flex/build/fs_util.h"
#include "flex/explore/explore_impl.h"

namespace flex::explore {
namespace {

namespace fs = std::filesystem;
using test::fake_evaluator;

class run_stages : public ::testing::Test {
 protected:
  void SetUp() override {
    g_interrupted = false;
    s_ = test::redis_space();
    yaml::diag_sink diags;
    libs_ = build::load_library_index(s_.root, diags);
    opt_.out = test::scratch_dir();
    opt_.jobs = 2;
    opt_.progress = false;
  }
  void TearDown() override { g_interrupted = false; }

  // classify -> add_baseline -> order_explorable, no PKU.
  exploration ordered(const space &s, bitset *candidates = nullptr) {
    exploration x = classify(s, libs_, /*pku=*/false, {});
    add_baseline(x);
    bitset c = order_explorable(x);
    if (candidates) *candidates = c;
    return x;
  }
  // Then the floor and the search, as run() does them.
  void search_to_the_end(exploration &x, runner &rn, const bitset &candidates) {
    search_spec spec;
    ASSERT_TRUE(set_floor(x, rn, spec));
    if (spec.g == goal::most_secure) {
      rn.decided = far_below_floor(*x.s, spec);
      rn.near_floor = straddling_floor(spec);
    }
    x.result = std::make_unique<search>(*x.order, candidates, spec);
    if (x.baseline) x.result->record(x.rec[static_cast<std::size_t>(x.baseline_config)].member, x.baseline);
    search_all(x, rn);
  }

  // The whole search on the fake benchmark with noise (fake_evaluator::add_noise), to the end.
  exploration noisy_exploration(double noise, std::uint64_t seed) {
    bitset candidates;
    exploration x = ordered(s_, &candidates);
    fake_evaluator ev(s_);
    ev.add_noise(noise, seed);
    runner rn(s_, opt_, ev, x);
    search_to_the_end(x, rn, candidates);
    collect_results(x);
    return x;
  }

  space s_;
  build::library_index libs_;
  explore_options opt_;
};

TEST_F(run_stages, missing_mechanisms_name_pku_and_the_unavailable_ones) {
  EXPECT_TRUE(missing_mechanisms(true, {}).empty());
  auto missing = missing_mechanisms(false, {isolation::process});
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_EQ(missing[0].first, isolation::mpk);
  EXPECT_EQ(missing[0].second, "needs mpk: this machine has no PKU (pkey_alloc fails)");
  EXPECT_EQ(missing[1].first, isolation::process);
  EXPECT_EQ(missing[1].second, "needs process: unavailable (--unavailable)");
}

TEST_F(run_stages, classify_leaves_out_what_this_machine_cannot_run) {
  exploration with_pku = classify(s_, libs_, true, {});
  EXPECT_EQ(with_pku.configs.size(), 67u);
  EXPECT_EQ(with_pku.count(category::explorable), 67);

  exploration x = classify(s_, libs_, false, {isolation::process});
  EXPECT_FALSE(x.pku);
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    const configuration &c = x.configs[i];
    const bool walls = c.blocks() > 1;
    const bool mpk = walls && std::count(c.iso.begin(), c.iso.end(), isolation::mpk) > 0;
    const bool process = walls && std::count(c.iso.begin(), c.iso.end(), isolation::process) > 0;
    if (mpk) {
      EXPECT_EQ(x.rec[i].cat, category::not_runnable) << c.label(s_);
      EXPECT_EQ(x.rec[i].reason, "needs mpk: this machine has no PKU (pkey_alloc fails)");
    } else if (process) {
      EXPECT_EQ(x.rec[i].cat, category::not_runnable) << c.label(s_);
      EXPECT_EQ(x.rec[i].reason, "needs process: unavailable (--unavailable)");
    } else {
      EXPECT_EQ(x.rec[i].cat, category::explorable) << c.label(s_);
      EXPECT_TRUE(x.rec[i].candidate) << "no requirements: every explorable one is a candidate";
    }
  }
}

TEST_F(run_stages, classify_refuses_what_flexbuild_refuses_and_marks_the_candidates) {
  s_.hardening[0] = {0, test::kAsan};  // redis may have ASan: flexbuild refuses it beside mpk domains
  s_.q.separate.push_back({0, 1, isolation::process, {}});
  exploration x = classify(s_, libs_, true, {});
  int refused = 0;
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    const configuration &c = x.configs[i];
    if (c.has_asan() && c.needs_mpk()) {
      ++refused;
      EXPECT_EQ(x.rec[i].cat, category::refused);
      EXPECT_NE(x.rec[i].reason.find("flexbuild refuses asan"), std::string::npos) << x.rec[i].reason;
      EXPECT_FALSE(x.rec[i].candidate);
    } else {
      EXPECT_EQ(x.rec[i].cat, category::explorable);
      EXPECT_EQ(x.rec[i].candidate, separation(c, 0, 1) == static_cast<std::int8_t>(isolation::process));
    }
  }
  EXPECT_GT(refused, 0);
}

TEST_F(run_stages, the_baseline_is_appended_only_when_the_space_lacks_it) {
  exploration x = classify(s_, libs_, false, {});
  const std::size_t n = x.configs.size();
  add_baseline(x);
  ASSERT_EQ(x.configs.size(), n);
  const configuration &base = x.configs[static_cast<std::size_t>(x.baseline_config)];
  EXPECT_EQ(base.blocks(), 1);
  EXPECT_EQ(base.hard, std::vector<hardening_set>{0});

  s_.hardening[0] = {test::kUbsan};  // redis always hardened: the plain one-compartment image is outside
  exploration y = classify(s_, libs_, false, {});
  const std::size_t m = y.configs.size();
  add_baseline(y);
  ASSERT_EQ(y.configs.size(), m + 1);
  EXPECT_EQ(y.baseline_config, static_cast<int>(m));
  EXPECT_EQ(y.configs.back().index, static_cast<int>(m));
  EXPECT_EQ(y.rec.back().cat, category::outside);
}

TEST_F(run_stages, write_profiles_writes_every_profile_and_keeps_unchanged_ones) {
  exploration x = ordered(s_);
  write_profiles(x, opt_.out);
  std::size_t files = 0;
  for (const auto &e : fs::directory_iterator(opt_.out / "profiles")) files += e.is_regular_file();
  EXPECT_EQ(files, x.configs.size());
  const configuration &c = x.configs[5];
  const fs::path p = opt_.out / "profiles" / (profile_name(s_, c) + ".yaml");
  EXPECT_EQ(build::read_file(p), profile_yaml(s_, c));
  const auto before = fs::last_write_time(p) - std::chrono::hours(1);
  fs::last_write_time(p, before);
  write_profiles(x, opt_.out);
  EXPECT_EQ(fs::last_write_time(p), before)
      << "an unchanged profile is not rewritten (flexbuild would rebuild)";
}

TEST_F(run_stages, the_order_holds_the_explorable_ones_and_the_baseline) {
  bitset candidates;
  exploration x = ordered(s_, &candidates);
  ASSERT_TRUE(x.order);
  EXPECT_EQ(x.order->size(), x.count(category::explorable) + x.count(category::outside));
  int members = 0;
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    const config_record &r = x.rec[i];
    if (r.cat == category::not_runnable) {
      EXPECT_EQ(r.member, -1);
      continue;
    }
    ASSERT_GE(r.member, 0);
    EXPECT_EQ(&x.order->at(r.member), &x.configs[i]);
    EXPECT_EQ(candidates.test(r.member), r.candidate);
    ++members;
  }
  EXPECT_EQ(members, x.order->size());
}

TEST_F(run_stages, a_relative_floor_is_set_from_the_measured_baseline) {
  exploration x = ordered(s_);
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x);
  search_spec spec;
  ASSERT_TRUE(set_floor(x, rn, spec));
  const double base = test::fake_metric(s_, 42)(x.configs[static_cast<std::size_t>(x.baseline_config)]);
  EXPECT_EQ(x.baseline, base);
  EXPECT_DOUBLE_EQ(spec.threshold, base * 0.55);
  EXPECT_EQ(x.threshold, spec.threshold);
  EXPECT_EQ(spec.g, goal::most_secure);
  EXPECT_TRUE(spec.higher_is_better);
  // Without noise the baseline's interval is a point: so is the floor's.
  EXPECT_DOUBLE_EQ(spec.threshold_lo, spec.threshold);
  EXPECT_DOUBLE_EQ(spec.threshold_hi, spec.threshold);
  // The baseline gets as many runs as a figure near the floor.
  EXPECT_EQ(ev.runs[x.configs[static_cast<std::size_t>(x.baseline_config)].hash], s_.bench.reps.max_near_floor);
}

// The floor relative to a noisy baseline carries the baseline's interval: a figure is judged against all
// of it, so a pick clears its top and a figure whose interval touches it is run again, then borderline.
// Three explorations with different noise give the same picks.
TEST_F(run_stages, a_floor_relative_to_a_noisy_baseline_is_judged_with_the_baselines_interval) {
  s_.bench.reps.max_near_floor = 15;
  std::vector<std::vector<int>> picks;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    exploration x = noisy_exploration(0.15, seed);
    ASSERT_TRUE(x.complete);
    const config_record &base = x.rec[static_cast<std::size_t>(x.baseline_config)];
    ASSERT_EQ(base.samples.size(), 15u);
    EXPECT_DOUBLE_EQ(x.floor_interval.lo, 0.55 * base.ci.lo);
    EXPECT_DOUBLE_EQ(x.floor_interval.hi, 0.55 * base.ci.hi);
    EXPECT_LT(x.floor_interval.lo, x.floor_interval.hi);
    picks.push_back(x.picks);
    for (int p : x.picks) {
      EXPECT_GE(x.rec[static_cast<std::size_t>(p)].ci.lo, x.floor_interval.hi)
          << x.configs[static_cast<std::size_t>(p)].id() << ": a pick clears the whole floor";
    }
    for (std::size_t i = 0; i < x.configs.size(); ++i) {
      const config_record &r = x.rec[i];
      if (r.samples.empty() || static_cast<int>(i) == x.baseline_config) continue;
      EXPECT_EQ(r.borderline, r.samples.size() == 15u && straddles(r.ci, x.floor_interval.lo, x.floor_interval.hi, true))
          << x.configs[i].id();
    }
  }
  EXPECT_EQ(picks[0], picks[1]);
  EXPECT_EQ(picks[0], picks[2]);
}

TEST_F(run_stages, the_floor_fails_when_the_baseline_cannot_be_built) {
  exploration x = ordered(s_);
  fake_evaluator ev(s_);
  ev.failing_builds.insert(x.configs[static_cast<std::size_t>(x.baseline_config)].hash);
  runner rn(s_, opt_, ev, x);
  search_spec spec;
  EXPECT_FALSE(set_floor(x, rn, spec));
  EXPECT_EQ(x.failure, "the baseline could not be measured: flexbuild exited with status 1: error: planted");
  EXPECT_FALSE(x.interrupted);
  EXPECT_FALSE(x.threshold);
}

TEST_F(run_stages, an_absolute_floor_or_the_fastest_question_measures_nothing_first) {
  s_.q.floor->relative = false;
  s_.q.floor->value = 70000;
  exploration x = ordered(s_);
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x);
  search_spec spec;
  ASSERT_TRUE(set_floor(x, rn, spec));
  EXPECT_EQ(spec.threshold, 70000);
  EXPECT_EQ(x.threshold, 70000);
  EXPECT_FALSE(x.baseline);

  s_.q.g = goal::fastest;
  s_.q.floor.reset();
  exploration y = ordered(s_);
  runner rn2(s_, opt_, ev, y);
  ASSERT_TRUE(set_floor(y, rn2, spec));
  EXPECT_EQ(spec.g, goal::fastest);
  EXPECT_FALSE(y.threshold);
  EXPECT_EQ(ev.runs_total, 0);
}

TEST_F(run_stages, two_runs_far_below_the_floor_decide_it) {
  s_.bench.reps.tolerance = 0.03;  // the margin is then 20%
  const auto higher = far_below_floor(s_, search_spec{goal::most_secure, true, 100, 100, 100});
  EXPECT_FALSE(higher({70}));
  EXPECT_TRUE(higher({70, 79}));
  EXPECT_FALSE(higher({70, 81}));
  const auto lower = far_below_floor(s_, search_spec{goal::most_secure, false, 100, 100, 100});
  EXPECT_FALSE(lower({130}));
  EXPECT_TRUE(lower({130, 121}));
  EXPECT_FALSE(lower({130, 119}));
  s_.bench.reps.tolerance = 0.1;  // 5 tolerances: 50%
  EXPECT_FALSE(far_below_floor(s_, search_spec{goal::most_secure, true, 100, 100, 100})({70, 60}));
}

// A figure whose interval straddles the floor gets more runs, and if it still straddles it is borderline:
// not a pick, and it settles what is above it. Two explorations with different noise then give the same
// picks, and every pick clears the floor beyond the noise.
TEST_F(run_stages, a_figure_near_the_floor_is_borderline_instead_of_flipping) {
  // The floor: the true figure of a configuration in the middle of the explorable ones.
  exploration probe = ordered(s_);
  test::fake_metric truth(s_, 42);
  std::vector<std::pair<double, int>> figures;
  for (std::size_t i = 0; i < probe.configs.size(); ++i) {
    if (probe.rec[i].cat == category::explorable) figures.push_back({truth(probe.configs[i]), static_cast<int>(i)});
  }
  std::sort(figures.begin(), figures.end());
  const auto [floor, at_floor] = figures[figures.size() / 2];
  s_.q.floor->relative = false;
  s_.q.floor->value = floor;
  s_.bench.reps.max_near_floor = 15;

  std::vector<std::vector<int>> picks;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    exploration x = noisy_exploration(0.04, seed);
    ASSERT_TRUE(x.complete);
    picks.push_back(x.picks);
    for (int p : x.picks) {
      const config_record &r = x.rec[static_cast<std::size_t>(p)];
      EXPECT_GT(r.ci.lo, floor) << x.configs[static_cast<std::size_t>(p)].id() << ": a pick clears the floor";
      EXPECT_FALSE(r.borderline);
    }
    for (std::size_t i = 0; i < x.configs.size(); ++i) {
      const config_record &r = x.rec[i];
      if (r.samples.empty()) continue;
      // More runs only where the interval straddles the floor.
      if (r.samples.size() > 3u) EXPECT_TRUE(straddles(median_interval({r.samples.begin(), r.samples.end() - 1}), floor, true));
      EXPECT_EQ(r.borderline, r.samples.size() == 15u && straddles(r.ci, floor, true)) << x.configs[i].id();
    }
    // The configuration at the floor, if it was measured, is borderline.
    const config_record &mid = x.rec[static_cast<std::size_t>(at_floor)];
    if (!mid.samples.empty()) EXPECT_TRUE(mid.borderline);
    EXPECT_FALSE(x.borderline.empty());
    for (int b : x.borderline) EXPECT_TRUE(x.rec[static_cast<std::size_t>(b)].borderline);
  }
  EXPECT_EQ(picks[0], picks[1]);
  EXPECT_EQ(picks[0], picks[2]);
}

TEST_F(run_stages, spread_takes_the_ends_and_evenly_between) {
  const std::vector<int> pool = {10, 11, 12, 13, 14, 15, 16, 17, 18};
  EXPECT_EQ(spread(pool, 3), (std::vector<int>{10, 14, 18}));
  EXPECT_EQ(spread(pool, 1), (std::vector<int>{14}));
  EXPECT_EQ(spread(pool, 0), std::vector<int>{});
  EXPECT_EQ(spread({7, 8}, 5), (std::vector<int>{7, 8}));
  EXPECT_EQ(spread({}, 2), std::vector<int>{});
}

TEST_F(run_stages, the_stages_in_order_give_what_run_gives) {
  fake_evaluator whole(s_);
  explore_options o = opt_;
  o.out = opt_.out / "whole";
  o.pku = false;
  exploration ref = run(s_, o, whole);
  ASSERT_TRUE(ref.complete);

  bitset candidates;
  exploration x = ordered(s_, &candidates);
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x);
  search_to_the_end(x, rn, candidates);
  collect_results(x);
  EXPECT_TRUE(x.complete);
  EXPECT_EQ(x.picks, ref.picks);
  EXPECT_EQ(x.benchmarks, ref.benchmarks);
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    EXPECT_EQ(x.rec[i].value, ref.rec[i].value) << x.configs[i].id();
    EXPECT_EQ(x.rec[i].pick, std::count(x.picks.begin(), x.picks.end(), static_cast<int>(i)) == 1);
  }
}

TEST_F(run_stages, a_space_offering_lockdowns_measures_its_baseline_unlocked_and_picks_what_it_requires) {
  space s = s_;
  s.lockdowns = {lockdown_mode::off, lockdown_mode::enforce};
  s.q.lockdown.push_back({lockdown_mode::enforce, {}});
  fake_evaluator ev(s);
  explore_options o = opt_;
  o.pku = false;
  exploration x = run(s, o, ev);
  ASSERT_TRUE(x.complete);
  EXPECT_EQ(x.configs.size(), 2 * enumerate(s_).size());
  // A relative floor is of the least locked-down image the space holds.
  const configuration &base = x.configs[static_cast<std::size_t>(x.baseline_config)];
  EXPECT_EQ(base.blocks(), 1);
  EXPECT_EQ(base.lockdown, lockdown_mode::off);
  ASSERT_FALSE(x.picks.empty());
  for (int p : x.picks) EXPECT_EQ(x.configs[static_cast<std::size_t>(p)].lockdown, lockdown_mode::enforce);
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    const configuration &c = x.configs[i];
    EXPECT_EQ(x.rec[i].candidate,
              x.rec[i].cat == category::explorable && c.lockdown == lockdown_mode::enforce);
    auto text = build::read_file(o.out / "profiles" / (profile_name(s, c) + ".yaml"));
    ASSERT_TRUE(text) << c.id();
    EXPECT_EQ(text->find("\nlockdown: off\n") != std::string::npos, c.lockdown == lockdown_mode::off)
        << c.id();
  }
}

TEST_F(run_stages, an_interrupted_search_has_no_picks) {
  bitset candidates;
  exploration x = ordered(s_, &candidates);
  // After the baseline's runs (as many as a figure near the floor gets), a few into the search.
  fake_evaluator ev(s_, /*interrupt_at_run=*/std::max(s_.bench.reps.max, s_.bench.reps.max_near_floor) + 5);
  runner rn(s_, opt_, ev, x);
  search_to_the_end(x, rn, candidates);
  collect_results(x);
  EXPECT_TRUE(x.interrupted);
  EXPECT_FALSE(x.complete);
  EXPECT_TRUE(x.picks.empty());
  EXPECT_EQ(x.baseline, x.rec[static_cast<std::size_t>(x.baseline_config)].value)
      << "what was settled is kept";
}

TEST_F(run_stages, verify_measures_inferred_configurations_and_finds_no_violation_where_none_is) {
  bitset candidates;
  exploration x = ordered(s_, &candidates);
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x);
  search_to_the_end(x, rn, candidates);
  collect_results(x);
  const std::vector<int> chosen = spread(x.result->inferred(), 2);
  ASSERT_EQ(chosen.size(), 2u);
  for (int m : chosen) EXPECT_EQ(ev.runs.count(x.order->at(m).hash), 0u) << "inferred, so never measured";
  verify(x, rn, 2);
  EXPECT_EQ(x.verify_benchmarks, 2);
  for (int m : chosen) {
    EXPECT_GE(ev.runs[x.order->at(m).hash], 2);
    EXPECT_TRUE(x.rec[static_cast<std::size_t>(x.order->at(m).index)].verified);
  }
  EXPECT_TRUE(x.violations.empty()) << "the fake benchmark is monotone";
  EXPECT_FALSE(x.interrupted);
}

}  // namespace
}  // namespace flex::explore
