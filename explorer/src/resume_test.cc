// An exploration interrupted part-way resumes from its cache: nothing measured before is measured
// again, and the answer is the one an uninterrupted run gives. The images are not built: a fake
// evaluator stands for flexbuild and the benchmark (the figures of fake_space.h).
#include <gtest/gtest.h>

#include "fake_space.h"
#include "flex/explore/explore.h"
#include "flex/explore/report.h"

namespace flex::explore {
namespace {

namespace fs = std::filesystem;

using test::fake_evaluator;

class resume : public ::testing::Test {
 protected:
  void SetUp() override {
    s_ = test::redis_space();
    base_ = fs::path(FLEX_BINARY_DIR) / "explore-test" / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(base_);
    g_interrupted = false;
  }
  void TearDown() override {
    g_interrupted = false;
    fs::remove_all(base_);
  }
  explore_options options(const std::string &dir) {
    explore_options o;
    o.out = base_ / dir;
    o.jobs = 2;
    o.pku = false;
    o.progress = false;
    return o;
  }
  std::vector<std::string> pick_hashes(const exploration &x) {
    std::vector<std::string> out;
    for (int p : x.picks) out.push_back(x.configs[static_cast<std::size_t>(p)].hash);
    return out;
  }

  std::optional<space> s_;
  fs::path base_;
};

TEST_F(resume, stop_after_then_resume) {
  fake_evaluator whole(*s_);
  exploration ref = run(*s_, options("whole"), whole);
  ASSERT_TRUE(ref.complete);
  ASSERT_FALSE(ref.picks.empty());
  const int needed = ref.benchmarks;
  ASSERT_GT(needed, 3);
  EXPECT_EQ(ref.count(category::not_runnable), 34);  // the mpk ones: no PKU here by request

  explore_options o = options("parts");
  o.stop_after = 3;
  fake_evaluator first(*s_);
  exploration a = run(*s_, o, first);
  EXPECT_TRUE(a.interrupted);
  EXPECT_FALSE(a.complete);
  EXPECT_EQ(a.benchmarks, 3);
  EXPECT_TRUE(a.picks.empty());

  o.stop_after = -1;
  fake_evaluator second(*s_);
  exploration b = run(*s_, o, second);
  ASSERT_TRUE(b.complete);
  EXPECT_EQ(b.benchmarks_cached, 3);
  EXPECT_EQ(b.benchmarks, needed - 3);
  for (const auto &[hash, n] : second.runs) EXPECT_EQ(first.runs.count(hash), 0u) << hash << " measured again";
  EXPECT_EQ(pick_hashes(b), pick_hashes(ref));

  // A third run measures nothing and builds nothing.
  fake_evaluator third(*s_);
  exploration c = run(*s_, o, third);
  EXPECT_TRUE(c.complete);
  EXPECT_EQ(c.benchmarks, 0);
  EXPECT_EQ(third.runs_total, 0);
  EXPECT_TRUE(third.builds.empty());
  EXPECT_EQ(pick_hashes(c), pick_hashes(ref));
  EXPECT_EQ(write_report(c, o.out), "");
  EXPECT_TRUE(fs::exists(o.out / "results.json"));
}

TEST_F(resume, interrupted_mid_benchmark) {
  fake_evaluator whole(*s_);
  exploration ref = run(*s_, options("whole"), whole);
  ASSERT_TRUE(ref.complete);

  explore_options o = options("signal");
  fake_evaluator first(*s_, /*interrupt_at_run=*/7);  // as if SIGINT arrived during the 8th run
  exploration a = run(*s_, o, first);
  EXPECT_TRUE(a.interrupted);
  g_interrupted = false;

  fake_evaluator second(*s_);
  exploration b = run(*s_, o, second);
  ASSERT_TRUE(b.complete);
  // The configuration cut short keeps its finished runs and completes them.
  EXPECT_EQ(first.runs_total - 1 + second.runs_total, whole.runs_total);
  EXPECT_EQ(pick_hashes(b), pick_hashes(ref));
}

TEST_F(resume, changed_benchmark_measures_again) {
  explore_options o = options("changed");
  fake_evaluator first(*s_);
  ASSERT_TRUE(run(*s_, o, first).complete);
  space other = *s_;
  other.bench.command = "true # another command";
  fake_evaluator second(other);
  exploration b = run(other, o, second);
  EXPECT_TRUE(b.complete);
  EXPECT_EQ(b.benchmarks_cached, 0);
  EXPECT_GT(b.benchmarks, 0);
}

}  // namespace
}  // namespace flex::explore
