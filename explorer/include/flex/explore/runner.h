// Building and measuring one configuration. An evaluator builds an image from a profile and runs the
// benchmark once; the real one drives flexbuild and the space's command templates, tests use fakes.
//
//   flex::explore::flex_evaluator ev(space, flexbuild_path, logs_dir);
//   auto b = ev.build(config, profile_path, image_dir, 1);
//   auto r = ev.run_once(config, b.executable);   // r.value: the figure of this run
//
// flex_evaluator::run_once: start the server (if any) -> wait until it is ready -> run the measured
// command -> stop the server -> run_outcome (the figure read from the output, or the error).
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "flex/explore/config.h"

namespace flex::explore {

struct build_result {
  bool ok = false;
  double seconds = 0;
  std::string error;
  std::filesystem::path executable;
};

struct run_result {
  bool ok = false;
  double value = 0;
  std::string error;
};

class evaluator {
 public:
  virtual ~evaluator() = default;
  // Called from several threads at once (one per build slot); run_once from one thread at a time.
  virtual build_result build(const configuration &c, const std::filesystem::path &profile,
                             const std::filesystem::path &image_dir, int jobs) = 0;
  virtual run_result run_once(const configuration &c, const std::filesystem::path &executable) = 0;
};

class flex_evaluator : public evaluator {
 public:
  flex_evaluator(const space &s, std::filesystem::path flexbuild, std::filesystem::path logs)
      : s_(s), flexbuild_(std::move(flexbuild)), logs_(std::move(logs)) {}
  build_result build(const configuration &c, const std::filesystem::path &profile,
                     const std::filesystem::path &image_dir, int jobs) override;
  run_result run_once(const configuration &c, const std::filesystem::path &executable) override;

 private:
  const space &s_;
  std::filesystem::path flexbuild_;
  std::filesystem::path logs_;
};

// Set by SIGINT/SIGTERM (see install_interrupt_handlers): running commands are stopped and the
// exploration ends at the next step, its cache intact.
extern std::atomic<bool> g_interrupted;
void install_interrupt_handlers();

// Runs `cmd` with /bin/sh in a process group of its own; its output goes to `log` (appended) and, when
// `output` is given, to it as well. Returns the exit status (128+signal), or -1 when it ran past
// `timeout_s` or was interrupted (the whole group is then killed).
int run_command(const std::string &cmd, const std::filesystem::path &log, double timeout_s,
                std::string *output = nullptr, double *seconds = nullptr);

// {image}, {port}, ... replaced.
std::string expand(const std::string &tmpl, const std::vector<std::pair<std::string, std::string>> &vars);

// The figure a metric reads from a command's output (and its wall time).
std::optional<double> read_metric(const metric_spec &m, const std::string &output, double seconds,
                                  std::string *error);

// One run's outcome from the measured command's exit status (-1: it timed out or was interrupted), its
// output and its wall time: the figure, or why there is none.
run_result run_outcome(const metric_spec &m, int status, const std::string &output, double seconds);

// The median of a set of samples, and whether it has settled (see repetition_spec).
double median(std::vector<double> v);
bool settled(const std::vector<double> &samples, const repetition_spec &r);

// An interval that holds the true median with probability `coverage`, from the samples' order
// statistics alone (no assumption on their distribution): [x(k), x(n+1-k)] for the largest k whose
// coverage, 1 - 2 P(Binomial(n, 1/2) < k), is at least `confidence`. Fewer than 6 samples never reach
// 95%: they give [min, max] with the coverage it has (5 samples: 93.8%, 3: 75%).
struct median_ci {
  double lo = 0, hi = 0;
  double coverage = 0;
};
median_ci median_interval(std::vector<double> samples, double confidence = 0.95);

// Whether an interval straddles a floor: one end meets it and the other does not.
bool straddles(const median_ci &ci, double floor, bool higher_is_better);
// The same against a floor known only within [floor_lo, floor_hi] (a floor relative to a measured
// baseline: its interval): the interval neither clears the whole range nor misses all of it.
bool straddles(const median_ci &ci, double floor_lo, double floor_hi, bool higher_is_better);

// A free TCP port on 127.0.0.1.
int free_port();

}  // namespace flex::explore
