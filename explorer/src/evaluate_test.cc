// The runner's stages one by one (explore_impl.h): the cache, the builds, the measurements, on the small
// redis space with a fake evaluator standing for flexbuild and the benchmark.
#include <gtest/gtest.h>

#include <map>

#include "fake_space.h"
#include "flex/build/fs_util.h"
#include "flex/explore/explore_impl.h"

namespace flex::explore {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::fake_evaluator;

class evaluate : public ::testing::Test {
 protected:
  void SetUp() override {
    g_interrupted = false;
    s_ = test::redis_space();
    opt_.out = test::scratch_dir();
    opt_.jobs = 2;
    opt_.progress = false;
    x_ = fresh_exploration();
  }
  void TearDown() override { g_interrupted = false; }

  exploration fresh_exploration() {
    yaml::diag_sink diags;
    exploration x = classify(s_, build::load_library_index(s_.root, diags), /*pku=*/false, {});
    add_baseline(x);
    order_explorable(x);
    return x;
  }
  // The first explorable configuration with more than one compartment (so not the baseline).
  int some_config(int skip = 0) const {
    for (std::size_t i = 0; i < x_.configs.size(); ++i) {
      if (x_.rec[i].cat == category::explorable && x_.configs[i].blocks() > 1 && skip-- == 0)
        return static_cast<int>(i);
    }
    return -1;
  }
  const configuration &config(int i) const { return x_.configs[static_cast<std::size_t>(i)]; }
  const config_record &record(int i) const { return x_.rec[static_cast<std::size_t>(i)]; }
  json cache_on_disk(runner &rn, int i) {
    auto text = build::read_file(rn.cache_file(config(i)));
    return text ? json::parse(*text) : json();
  }

  space s_;
  explore_options opt_;
  exploration x_;
};

TEST_F(evaluate, caches_start_empty_and_hold_the_current_profile) {
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x_);
  const int c = some_config();
  auto caches = rn.load_caches({0, c});
  ASSERT_EQ(caches.size(), 2u);
  EXPECT_EQ(caches[0], json({{"profile", profile_yaml(s_, config(0))}}));
  EXPECT_EQ(caches[1], json({{"profile", profile_yaml(s_, config(c))}}));
}

TEST_F(evaluate, a_cache_entry_counts_only_for_the_same_profile) {
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x_);
  const int c = some_config();
  const std::string profile = profile_yaml(s_, config(c));
  const json bench = {{"fingerprint", s_.bench.fingerprint()}, {"samples", {1.0, 2.0, 3.0}}};
  auto load_with = [&](const std::string &text) {
    build::write_atomically(rn.cache_file(config(c)), text);
    return rn.load_caches({c})[0];
  };
  // Another profile, a file that is not JSON, JSON that is not an object: nothing is kept.
  EXPECT_FALSE(load_with(json({{"profile", "name: other\n"}, {"bench", bench}}).dump()).contains("bench"));
  EXPECT_FALSE(load_with("{ not json").contains("bench"));
  EXPECT_FALSE(load_with("[1, 2]").contains("bench"));
  // The same profile with other comments still describes the same image.
  json kept = load_with(json({{"profile", "# another space file\n" + profile}, {"bench", bench}}).dump());
  EXPECT_EQ(kept["bench"], bench);
  EXPECT_EQ(kept["profile"], profile);
  // --fresh ignores even a good entry.
  explore_options fresh = opt_;
  fresh.fresh = true;
  runner again(s_, fresh, ev, x_);
  EXPECT_FALSE(again.load_caches({c})[0].contains("bench"));
}

TEST_F(evaluate, only_configurations_without_a_complete_benchmark_need_an_image) {
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x_);
  const std::string fp = s_.bench.fingerprint();
  std::vector<json> caches = {
      json::object(),                                                            // never measured
      {{"bench", {{"fingerprint", fp}, {"samples", {1.0, 1.0, 1.0}}}}},          // settled (3 of at most 3)
      {{"bench", {{"fingerprint", fp}, {"samples", {1.0}}}}},                    // cut short
      {{"bench", {{"fingerprint", fp}, {"error", "the benchmark timed out"}}}},  // failed: settled too
      {{"bench", {{"fingerprint", fp}, {"samples", {1.0, 1.0}}, {"decided", true}}}},
      {{"bench", {{"fingerprint", "another benchmark"}, {"samples", {1.0, 1.0, 1.0}}}}},
  };
  EXPECT_EQ(rn.needing_build(caches), (std::vector<std::size_t>{0, 2, 5}));
}

TEST_F(evaluate, hardening_variants_share_a_build_folder_and_its_worker) {
  // Two configurations that differ only in hardening, and one that does not share their folder.
  int a = -1, b = -1, other = -1;
  for (std::size_t i = 0; i < x_.configs.size() && b < 0; ++i) {
    for (std::size_t j = i + 1; j < x_.configs.size() && b < 0; ++j) {
      if (x_.configs[i].build_slot == x_.configs[j].build_slot) {
        a = static_cast<int>(i);
        b = static_cast<int>(j);
      }
    }
  }
  for (std::size_t i = 0; i < x_.configs.size() && a >= 0 && other < 0; ++i) {
    if (x_.configs[i].build_slot != config(a).build_slot) other = static_cast<int>(i);
  }
  ASSERT_GE(b, 0);
  ASSERT_GE(other, 0);
  const std::vector<int> configs = {a, other, b};
  EXPECT_EQ(build_groups(x_, configs, {0, 1, 2}), (std::vector<std::vector<std::size_t>>{{0, 2}, {1}}));
  EXPECT_EQ(build_groups(x_, configs, {1, 2}), (std::vector<std::vector<std::size_t>>{{1}, {2}}));
}

TEST_F(evaluate, build_builds_only_the_positions_it_is_given) {
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x_);
  const int a = some_config(0), b = some_config(1);
  auto built = rn.build({a, b}, {1});
  ASSERT_EQ(built.size(), 2u);
  EXPECT_FALSE(built[0].ok);
  EXPECT_TRUE(built[1].ok);
  EXPECT_EQ(built[1].executable, opt_.out / "images" / config(b).build_slot / "image");
  EXPECT_EQ(ev.builds, (std::map<std::string, int>{{config(b).hash, 1}}));
}

TEST_F(evaluate, a_failed_build_is_recorded_cached_and_never_measured) {
  fake_evaluator ev(s_);
  const int c = some_config();
  ev.failing_builds.insert(config(c).hash);
  runner rn(s_, opt_, ev, x_);
  auto values = rn.evaluate({c});
  ASSERT_EQ(values.size(), 1u);
  EXPECT_FALSE(values[0]);
  EXPECT_FALSE(record(c).built);
  EXPECT_EQ(record(c).reason, "flexbuild exited with status 1: error: planted");
  EXPECT_EQ(x_.builds, 0);
  EXPECT_EQ(x_.benchmarks, 0);
  EXPECT_EQ(ev.runs_total, 0);
  json cache = cache_on_disk(rn, c);
  EXPECT_FALSE(cache["build"]["ok"].get<bool>());
  EXPECT_EQ(cache["build"]["error"], "flexbuild exited with status 1: error: planted");
  EXPECT_FALSE(cache.contains("bench"));
}

TEST_F(evaluate, a_build_that_was_up_to_date_is_counted_apart) {
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x_);
  const int c = some_config();
  std::vector<json> caches = rn.load_caches({c});
  caches[0]["build"] = {{"ok", true}, {"seconds", 9.0}};
  rn.record_builds({c}, {0}, {build_result{true, 0.5, "", "image"}}, caches);
  EXPECT_TRUE(record(c).built);
  EXPECT_TRUE(record(c).build_cached);
  EXPECT_EQ(record(c).build_s, 0.5);
  EXPECT_EQ(x_.builds, 0);
  EXPECT_EQ(x_.builds_cached, 1);
  EXPECT_EQ(cache_on_disk(rn, c)["build"], json({{"ok", true}, {"seconds", 0.5}}));
}

TEST_F(evaluate, measure_runs_until_the_median_settles_and_saves_every_run) {
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x_);
  const int c = some_config();
  auto values = rn.evaluate({c});
  ASSERT_TRUE(values[0]);
  EXPECT_EQ(ev.runs_total, 3);  // repetitions: {min: 3, max: 3}
  EXPECT_EQ(x_.runs, 3);
  EXPECT_EQ(x_.benchmarks, 1);
  EXPECT_EQ(x_.builds, 1);
  EXPECT_EQ(record(c).samples.size(), 3u);
  EXPECT_EQ(*record(c).value, *values[0]);
  EXPECT_EQ(*values[0], test::fake_metric(s_, 42)(config(c)));
  json cache = cache_on_disk(rn, c);
  EXPECT_EQ(cache["bench"]["fingerprint"], s_.bench.fingerprint());
  EXPECT_EQ(cache["bench"]["samples"].size(), 3u);

  // Measured again: from the cache, nothing built or run.
  exploration again = fresh_exploration();
  fake_evaluator second(s_);
  runner rn2(s_, opt_, second, again);
  EXPECT_EQ(rn2.evaluate({c})[0], values[0]);
  EXPECT_EQ(second.runs_total, 0);
  EXPECT_TRUE(second.builds.empty());
  EXPECT_EQ(again.benchmarks_cached, 1);
  EXPECT_TRUE(again.rec[static_cast<std::size_t>(c)].bench_cached);
}

TEST_F(evaluate, a_benchmark_that_fails_is_recorded_and_not_run_again) {
  // A run that timed out, and one whose output held no figure: what flex_evaluator reports for each.
  const int timed_out = some_config(0), garbage = some_config(1);
  const std::map<int, std::string> errors = {{timed_out, "the benchmark timed out"},
                                             {garbage, "the output has no figure matching '([0-9]+) ops'"}};
  fake_evaluator ev(s_);
  for (const auto &[c, error] : errors) ev.failing_runs[config(c).hash] = error;
  runner rn(s_, opt_, ev, x_);
  auto values = rn.evaluate({timed_out, garbage});
  EXPECT_FALSE(values[0]);
  EXPECT_FALSE(values[1]);
  EXPECT_EQ(ev.runs_total, 2) << "a failed run is not repeated";
  EXPECT_EQ(x_.benchmarks, 2);
  for (const auto &[c, error] : errors) {
    EXPECT_EQ(record(c).reason, error);
    EXPECT_FALSE(record(c).value);
    EXPECT_EQ(cache_on_disk(rn, c)["bench"]["error"], error);
  }

  exploration again = fresh_exploration();
  fake_evaluator second(s_);
  runner rn2(s_, opt_, second, again);
  values = rn2.evaluate({timed_out, garbage});
  EXPECT_FALSE(values[0]);
  EXPECT_FALSE(values[1]);
  EXPECT_EQ(second.runs_total, 0);
  EXPECT_TRUE(second.builds.empty());
  EXPECT_EQ(again.benchmarks_cached, 2);
  for (const auto &[c, error] : errors) EXPECT_EQ(again.rec[static_cast<std::size_t>(c)].reason, error);
}

TEST_F(evaluate, a_decided_question_needs_no_more_runs) {
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x_);
  rn.decided = [](const std::vector<double> &v) { return v.size() >= 2; };
  const int c = some_config();
  auto values = rn.evaluate({c});
  EXPECT_EQ(ev.runs_total, 2);
  ASSERT_TRUE(values[0]);
  json bench = cache_on_disk(rn, c)["bench"];
  EXPECT_TRUE(bench["decided"].get<bool>());
  EXPECT_EQ(bench["samples"].size(), 2u);
}

TEST_F(evaluate, stop_after_ends_before_a_new_benchmark) {
  opt_.stop_after = 0;
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x_);
  auto values = rn.evaluate({some_config(0), some_config(1)});
  EXPECT_FALSE(values[0]);
  EXPECT_FALSE(values[1]);
  EXPECT_TRUE(x_.interrupted);
  EXPECT_EQ(ev.runs_total, 0);
  EXPECT_EQ(ev.builds.size(), 2u) << "the builds of the batch are done before the first benchmark";
}

TEST_F(evaluate, an_interruption_keeps_the_runs_already_done) {
  const int c = some_config();
  fake_evaluator first(s_, /*interrupt_at_run=*/1);
  runner rn(s_, opt_, first, x_);
  EXPECT_FALSE(rn.evaluate({c})[0]);
  EXPECT_EQ(cache_on_disk(rn, c)["bench"]["samples"].size(), 1u);
  EXPECT_EQ(x_.benchmarks, 0) << "an interrupted benchmark is not counted";
  g_interrupted = false;

  exploration again = fresh_exploration();
  fake_evaluator second(s_);
  runner rn2(s_, opt_, second, again);
  EXPECT_TRUE(rn2.evaluate({c})[0]);
  EXPECT_EQ(second.runs_total, 2);
}

TEST_F(evaluate, run_until_settled_continues_from_the_samples_it_is_given) {
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x_);
  const int c = some_config();
  json cache = {{"bench", {{"fingerprint", s_.bench.fingerprint()}}}};
  std::vector<double> samples = {5.0, 6.0};
  rn.run_until_settled(c, "image", cache, samples);
  EXPECT_EQ(ev.runs_total, 1);
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(cache["bench"]["samples"], json(samples));
}

TEST_F(evaluate, record_figure_takes_the_median_unless_the_benchmark_failed) {
  fake_evaluator ev(s_);
  runner rn(s_, opt_, ev, x_);
  const int c = some_config();
  EXPECT_EQ(rn.record_figure(c, json::object(), {3.0, 1.0, 2.0}, false), 2.0);
  EXPECT_EQ(record(c).samples, (std::vector<double>{3.0, 1.0, 2.0}));
  EXPECT_EQ(record(c).value, 2.0);

  const int d = some_config(1);
  EXPECT_FALSE(rn.record_figure(d, json({{"error", "the benchmark timed out"}}), {3.0}, false));
  EXPECT_FALSE(record(d).value);
  EXPECT_FALSE(rn.record_figure(d, json::object(), {}, true));
}

}  // namespace
}  // namespace flex::explore
