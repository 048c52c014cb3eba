// One benchmark run and one build through the real evaluator (runner.h), with small shell commands
// standing for the image, its server and flexbuild: the figure, and each way a run can fail.
#include <gtest/gtest.h>

#include "fake_space.h"
#include "flex/build/fs_util.h"
#include "flex/explore/runner.h"

namespace flex::explore {
namespace {

namespace fs = std::filesystem;

metric_spec regex_metric() {
  metric_spec m;
  m.from = metric_source::regex;
  m.pattern = "([0-9.]+) ops";
  m.higher_is_better = true;
  return m;
}

class benchmark_run : public ::testing::Test {
 protected:
  void SetUp() override {
    g_interrupted = false;
    dir_ = test::scratch_dir();
    s_ = test::synthetic_space(2, 2, {isolation::none}, {0});
    s_.root = dir_;
    s_.bench.metric = regex_metric();
    config_ = enumerate(s_).front();
  }
  void TearDown() override { g_interrupted = false; }
  // One run of `command`, with `server` and `ready` when given.
  run_result run(const std::string &command, const std::string &server = "", const std::string &ready = "",
                 double timeout_s = 10) {
    s_.bench.command = command;
    s_.bench.timeout_s = timeout_s;
    s_.bench.server = server;
    s_.bench.ready = ready;
    flex_evaluator ev(s_, "/bin/false", dir_ / "logs");
    return ev.run_once(config_, "/bin/echo");
  }

  fs::path dir_;
  space s_;
  configuration config_;
};

// The distribution-free interval of the median: the order statistics whose coverage reaches 95%.
TEST(median_interval, takes_the_order_statistics_that_cover_the_median) {
  const median_ci five = median_interval({5, 1, 4, 2, 3});
  EXPECT_EQ(five.lo, 1);  // fewer than 6 samples: [min, max] with the coverage it has
  EXPECT_EQ(five.hi, 5);
  EXPECT_NEAR(five.coverage, 1 - 2.0 / 32, 1e-12);
  std::vector<double> fifteen;
  for (int i = 15; i >= 1; --i) fifteen.push_back(i);
  const median_ci f = median_interval(fifteen);
  EXPECT_EQ(f.lo, 4);  // P(Bin(15, 1/2) < 4) = 576/32768: 96.5%; k = 5 would give 88.2%
  EXPECT_EQ(f.hi, 12);
  EXPECT_NEAR(f.coverage, 1 - 2 * 576.0 / 32768, 1e-12);
  EXPECT_GE(median_interval(fifteen, 0.8).lo, 5);  // a lower confidence narrows it
  const median_ci one = median_interval({7});
  EXPECT_EQ(one.lo, 7);
  EXPECT_EQ(one.coverage, 0);
}

TEST(median_interval, straddles_a_floor_when_only_one_end_meets_it) {
  EXPECT_TRUE(straddles({90, 110, 0.95}, 100, true));
  EXPECT_FALSE(straddles({101, 110, 0.95}, 100, true));
  EXPECT_FALSE(straddles({80, 99, 0.95}, 100, true));
  EXPECT_TRUE(straddles({90, 110, 0.95}, 100, false));
  EXPECT_FALSE(straddles({90, 99, 0.95}, 100, false));
}

// A floor known within a range (relative to a measured baseline): clear only above all of it (below all
// of it for a ceiling), missed only below all of it; anything touching the range straddles.
TEST(median_interval, straddles_a_floor_range_unless_it_clears_or_misses_all_of_it) {
  EXPECT_FALSE(straddles({121, 130, 0.95}, 100, 120, true));  // clears the top
  EXPECT_TRUE(straddles({110, 130, 0.95}, 100, 120, true));   // inside the range: might not meet it
  EXPECT_TRUE(straddles({110, 115, 0.95}, 100, 120, true));   // a figure between the floor's ends
  EXPECT_TRUE(straddles({90, 100, 0.95}, 100, 120, true));    // touches the bottom
  EXPECT_FALSE(straddles({80, 99, 0.95}, 100, 120, true));    // misses all of it
  EXPECT_FALSE(straddles({80, 99, 0.95}, 100, 120, false));   // a ceiling: below all of it
  EXPECT_TRUE(straddles({110, 115, 0.95}, 100, 120, false));
  EXPECT_FALSE(straddles({121, 130, 0.95}, 100, 120, false));
  // A point range is the point floor.
  for (const median_ci ci : {median_ci{90, 110, 1}, median_ci{100, 110, 1}, median_ci{80, 100, 1}, median_ci{101, 110, 1}}) {
    for (bool hi : {true, false}) EXPECT_EQ(straddles(ci, 100, 100, hi), straddles(ci, 100, hi));
  }
}

TEST_F(benchmark_run, run_outcome_reads_the_figure_of_a_command_that_succeeded) {
  run_result r = run_outcome(regex_metric(), 0, "warming up\n12.5 ops\n", 3.0);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.value, 12.5);
  metric_spec time;
  r = run_outcome(time, 0, "anything", 3.0);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.value, 3.0);
}

TEST_F(benchmark_run, run_outcome_names_garbage_a_timeout_and_an_exit_status) {
  run_result garbage = run_outcome(regex_metric(), 0, "Segmentation fault\n", 1.0);
  EXPECT_FALSE(garbage.ok);
  EXPECT_EQ(garbage.error, "the output has no figure matching '([0-9.]+) ops'");
  metric_spec redis;
  redis.from = metric_source::redis_benchmark;
  redis.test = "GET";
  EXPECT_EQ(run_outcome(redis, 0, "\"SET\",\"9000.00\"\n", 1.0).error,
            "redis-benchmark printed no 'GET' figure");
  EXPECT_EQ(run_outcome(regex_metric(), -1, "7 ops", 1.0).error, "the benchmark timed out");
  EXPECT_EQ(run_outcome(regex_metric(), 3, "7 ops\nbad\n", 1.0).error,
            "the benchmark exited with status 3: 7 ops\nbad\n");
  g_interrupted = true;
  EXPECT_EQ(run_outcome(regex_metric(), -1, "", 1.0).error, "interrupted");
}

TEST_F(benchmark_run, a_run_gives_the_figure_the_command_prints) {
  run_result r = run("echo \"{id}: 41.5 ops\"");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value, 41.5);
  auto log = build::read_file(dir_ / "logs" / (config_.hash + ".bench.log"));
  ASSERT_TRUE(log);
  EXPECT_NE(log->find(config_.hash + ": 41.5 ops"), std::string::npos) << *log;
}

TEST_F(benchmark_run, a_run_that_prints_garbage_or_fails_has_no_figure) {
  run_result garbage = run("echo 'no figure here'");
  EXPECT_FALSE(garbage.ok);
  EXPECT_EQ(garbage.error, "the output has no figure matching '([0-9.]+) ops'");
  run_result failed = run("echo '3 ops'; exit 4");
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.error, "the benchmark exited with status 4: 3 ops\n");
}

TEST_F(benchmark_run, a_run_past_the_timeout_is_killed) {
  run_result r = run("sleep 30; echo '1 ops'", "", "", 0.5);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "the benchmark timed out");
}

TEST_F(benchmark_run, a_server_is_started_waited_for_and_stopped) {
  // The server ends cleanly on SIGTERM and writes a file once it is up; the command reads it.
  const std::string server =
      "sh -c 'trap \"exit 0\" TERM; echo up > {dir}/state; while :; do sleep 0.05; done'";
  run_result r = run("echo \"$(cat {dir}/state) 8 ops\"", server, "test -f {dir}/state");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value, 8);
}

TEST_F(benchmark_run, a_server_that_is_never_ready_or_exits_fails_the_run) {
  run_result never = run("echo '1 ops'", "sleep 30", "false", 0.5);
  EXPECT_EQ(never.error, "the server was not ready in time");
  run_result exits = run("echo '1 ops'", "sh -c 'echo cannot bind; exit 3'", "false");
  EXPECT_EQ(exits.error, "the server exited before it was ready: cannot bind\n");
  // Killed by SIGTERM instead of exiting cleanly: the figure is not trusted.
  run_result dies = run("echo '1 ops'", "sleep 30");
  EXPECT_EQ(dies.error, "the server exited with status 143: ");
}

TEST_F(benchmark_run, a_build_that_fails_names_flexbuilds_status) {
  flex_evaluator ev(s_, "/bin/false", dir_ / "logs");
  build_result b = ev.build(config_, dir_ / "profile.yaml", dir_ / "image", 1);
  EXPECT_FALSE(b.ok);
  EXPECT_EQ(b.error, "flexbuild exited with status 1: ");
  EXPECT_EQ(b.executable, dir_ / "image" / profile_name(s_, config_));
  EXPECT_TRUE(fs::exists(dir_ / "logs" / (config_.hash + ".build.log")));
}

}  // namespace
}  // namespace flex::explore
