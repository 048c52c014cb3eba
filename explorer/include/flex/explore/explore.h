// One exploration: enumerate the space, sort out what cannot be built or run here, build the poset, run
// the search with builds in parallel and benchmarks one at a time, cache every result by configuration
// hash (an interrupted run resumes), and verify some inferences on request.
//
//   flex::explore::explore_options opt{.out = "build/explore/hello"};
//   flex::explore::flex_evaluator ev(space, flexbuild, opt.out / "logs");
//   flex::explore::exploration x = flex::explore::run(space, opt, ev);
//   flex::explore::write_report(x, opt.out);
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flex/explore/poset.h"
#include "flex/explore/runner.h"
#include "flex/explore/search.h"

namespace flex::explore {

struct explore_options {
  std::filesystem::path out;               // the output folder (cache, images, logs, report)
  int jobs = 0;                            // builds at once; 0: one per CPU core
  int verify = 0;                          // pruned configurations to measure as a check
  bool fresh = false;                      // ignore the cache
  int stop_after = -1;                     // end after this many new benchmarks, as if interrupted
  std::vector<isolation> unavailable;      // mechanisms to treat as not runnable here (beyond PKU)
  std::optional<bool> pku;                 // override the machine's PKU detection (tests)
  bool progress = true;                    // progress on stderr
  bool dry_run = false;                    // classify and write the profiles only
};

// Where a configuration stands.
enum class category {
  explorable,    // built and measured, or inferred
  refused,       // flexbuild would refuse its profile
  not_runnable,  // needs a mechanism this machine lacks
  outside,       // the baseline, when it is not part of the space
};
std::string_view to_string(category c);

struct config_record {
  category cat = category::explorable;
  std::string reason;          // why refused / not runnable / failed
  bool candidate = false;      // meets the question's requirements
  int member = -1;             // in the poset
  std::vector<double> samples;
  std::optional<double> value;  // median
  median_ci ci;                 // the median's interval, where there are samples
  // Most-secure: its interval still straddles the floor after max_near_floor runs. It is not a pick
  // (a pick meets the floor beyond the noise) and settles what is above it as failing.
  bool borderline = false;
  bool built = false, build_cached = false, bench_cached = false;
  double build_s = 0;
  bool pick = false, verified = false;
  std::string report;           // a pick's `flexbuild report` page, relative to the output folder
};

struct exploration {
  const space *s = nullptr;
  std::vector<configuration> configs;  // enumerated; the baseline is appended when outside the space
  std::vector<config_record> rec;
  std::unique_ptr<poset> order;        // over the explorable ones
  std::unique_ptr<search> result;
  std::vector<int> picks;              // configuration indices
  // most-secure: the candidates whose interval still straddled the floor after max_near_floor runs and
  // that no pick is above (the ones that might have been picks); configuration indices.
  std::vector<int> borderline;
  std::vector<violation> violations;   // members of `order`
  std::optional<double> baseline;      // its figure (relative floors)
  int baseline_config = -1;
  std::optional<double> threshold;
  median_ci floor_interval;            // the floor's interval (search_spec::threshold_lo/hi)
  bool pku = false;
  bool interrupted = false;
  bool complete = false;
  std::string failure;                 // why the exploration could not finish
  double wall_s = 0;
  int builds = 0, builds_cached = 0, benchmarks = 0, benchmarks_cached = 0, runs = 0;
  int verify_benchmarks = 0;            // of the above, measured for --verify
  int count(category c) const;
};

exploration run(const space &s, const explore_options &opt, evaluator &ev);

}  // namespace flex::explore
