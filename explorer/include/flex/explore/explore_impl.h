// For the explorer's own sources and tests only: the stages that run() and the runner's evaluate() are
// made of, each callable on its own. Everything else uses explore.h.
//
//   run      = classify -> add_baseline -> write_profiles -> order_explorable -> announce
//              -> set_floor -> search_all -> collect_results -> verify
//   evaluate = load_caches -> needing_build -> build -> record_builds -> measure (one at a time)
//   measure  = the cached figure, or run_until_settled (evaluator::run_once: start the server, wait until
//              it is ready, run the command, stop the server, read the figure) -> record_figure
//
//   flex::explore::exploration x = flex::explore::classify(space, libs, /*pku=*/false, {});
//   flex::explore::add_baseline(x);
//   flex::explore::bitset candidates = flex::explore::order_explorable(x);
//   flex::explore::runner rn(space, options, fake_evaluator, x);
//   auto figures = rn.evaluate({x.baseline_config});
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flex/build/manifest.h"
#include "flex/explore/explore.h"

namespace flex::explore {

// One line per event, or a bar redrawn in place on a terminal (stderr).
class progress {
 public:
  explicit progress(bool on);
  void event(const std::string &what);
  void status(int done, int estimate_left, const std::string &doing);
  void mark_step() { ++steps_; }
  // "12 measured, ~7 to go, ETA 3m20s"
  std::string eta(int done, int left) const;
  void finish();

 private:
  void redraw();
  bool on_, tty_;
  std::chrono::steady_clock::time_point start_;
  int done_ = 0, left_ = 0, steps_ = 0;
  std::string doing_;
};

// What one configuration's measurement came to.
struct measurement {
  std::optional<double> value;  // the median, when the configuration was built and measured
  bool stop = false;            // interrupted, or --stop-after reached: measure nothing more
};

// Builds and measures batches of configurations of one exploration, through its cache
// (<out>/cache/<hash>.json: the profile, the build's outcome, the benchmark's samples or error).
class runner {
 public:
  runner(const space &s, const explore_options &opt, evaluator &ev, exploration &x);

  // Builds what needs building (in parallel), then measures one at a time. Returns each figure.
  std::vector<std::optional<double>> evaluate(const std::vector<int> &configs);

  // evaluate's stages, in order. Positions (k) index `configs`; configurations are indices into x.configs.
  // The cache entries, each holding the configuration's current profile (empty entries where there is
  // none, where it is unreadable or holds another profile, or under --fresh).
  std::vector<nlohmann::json> load_caches(const std::vector<int> &configs) const;
  // The positions whose benchmark is not complete in the cache: only those need an image.
  std::vector<std::size_t> needing_build(const std::vector<nlohmann::json> &caches) const;
  // Builds those, as many build folders at once as --jobs allows. Per position (default where not built).
  std::vector<build_result> build(const std::vector<int> &configs, const std::vector<std::size_t> &to_build);
  // Writes the builds' outcomes into the records, the totals and the (saved) cache entries.
  void record_builds(const std::vector<int> &configs, const std::vector<std::size_t> &to_build,
                     const std::vector<build_result> &built, std::vector<nlohmann::json> &caches);
  // Measures configuration `config` (its cache entry and its build from above), or takes its figure from
  // the cache; records the outcome.
  measurement measure(int config, nlohmann::json &cache, const build_result &built);

  // measure's stages. Runs the benchmark until the samples settle, the question is decided, a run
  // fails (its error goes to the record and the cache) or an interruption; saves the cache after each run.
  void run_until_settled(int config, const std::filesystem::path &executable, nlohmann::json &cache,
                         std::vector<double> &samples);
  // The record's samples and figure (the median, unless the benchmark failed), with a progress line.
  std::optional<double> record_figure(int config, const nlohmann::json &bench,
                                      const std::vector<double> &samples, bool from_cache);

  std::filesystem::path cache_file(const configuration &c) const;
  int jobs() const { return jobs_; }
  progress &prog() { return prog_; }
  std::function<int()> remaining = [] { return 0; };
  // Whether the samples so far already settle the question (a figure far below the floor): no more runs.
  std::function<bool(const std::vector<double> &)> decided = [](const std::vector<double> &) {
    return false;
  };
  // Whether the samples' interval still straddles the question's floor: more runs, up to
  // repetition_spec::max_near_floor.
  std::function<bool(const std::vector<double> &)> near_floor = [](const std::vector<double> &) {
    return false;
  };
  // Enough runs: settled, and not near the floor with runs left to take.
  bool enough(const std::vector<double> &samples) const;

 private:
  void save_cache(const configuration &c, const nlohmann::json &j) const;
  bool bench_complete(const nlohmann::json &cache) const;
  const configuration &config(int i) const { return x_.configs[static_cast<std::size_t>(i)]; }
  config_record &record(int i) { return x_.rec[static_cast<std::size_t>(i)]; }

  const space &s_;
  const explore_options &opt_;
  evaluator &ev_;
  exploration &x_;
  progress prog_;
  unsigned cpus_;
  int jobs_;
};

// The positions in `to_build`, grouped by build folder (first appearance first): one worker builds a
// group's configurations one after another, since they share the folder.
std::vector<std::vector<std::size_t>> build_groups(const exploration &x, const std::vector<int> &configs,
                                                   const std::vector<std::size_t> &to_build);

// A profile without its comment lines (comments do not change the image).
std::string without_comments(const std::string &yaml);

// run's stages, in order.
// The mechanisms this machine cannot run, each with the reason a configuration using it is left out.
std::vector<std::pair<isolation, std::string>> missing_mechanisms(bool pku,
                                                                  const std::vector<isolation> &unavailable);
// Every configuration of the space, sorted out: refused by flexbuild, not runnable here (a mechanism of
// missing_mechanisms), or explorable (and a candidate when it meets the requirements).
exploration classify(const space &s, const build::library_index &libs, bool pku,
                     const std::vector<isolation> &unavailable);
// Appends the one-compartment baseline when it is not part of the space; sets x.baseline_config.
void add_baseline(exploration &x);
// Every configuration's profile under <out>/profiles/, ready for flexbuild.
void write_profiles(const exploration &x, const std::filesystem::path &out);
// The safety order over the explorable configurations and the baseline; returns the candidates in it.
bitset order_explorable(exploration &x);
// The counts, on the progress display.
void announce(const exploration &x, const bitset &candidates, progress &prog);
// The search's question; under most-secure with a relative floor, measures the baseline first. Returns
// false (x.failure says why) when the floor cannot be set.
bool set_floor(exploration &x, runner &rn, search_spec &spec);
// Under most-secure: whether some samples already settle a failure (see the comment inside).
std::function<bool(const std::vector<double> &)> far_below_floor(const space &s, const search_spec &spec);
// Under most-secure: whether some samples' interval straddles the floor (median_interval).
std::function<bool(const std::vector<double> &)> straddling_floor(const search_spec &spec);
// Batches from the search, evaluated, until it is done or interrupted.
void search_all(exploration &x, runner &rn);
// Whether the exploration completed, its picks and every figure the search settled.
void collect_results(exploration &x);
// `n` members of `pool` spread over it: first, last and evenly between.
std::vector<int> spread(const std::vector<int> &pool, int n);
// Measures `n` inferred members and checks the inferences against their figures (--verify).
void verify(exploration &x, runner &rn, int n);

}  // namespace flex::explore
