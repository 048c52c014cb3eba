// The runner: builds and measures batches of configurations through the cache (explore_impl.h).
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <thread>

#include "flex/build/fs_util.h"
#include "flex/explore/explore_impl.h"

namespace flex::explore {

namespace fs = std::filesystem;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::string duration_text(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return fmt::format("{}h{:02d}m", static_cast<int>(s) / 3600, static_cast<int>(s) % 3600 / 60);
}

}  // namespace

progress::progress(bool on) : on_(on), tty_(on && ::isatty(2)), start_(clock_type::now()) {}

void progress::event(const std::string &what) {
  if (!on_) return;
  if (tty_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "flexexplore: %s\n", what.c_str());
  redraw();
}

void progress::status(int done, int estimate_left, const std::string &doing) {
  done_ = done;
  left_ = estimate_left;
  doing_ = doing;
  redraw();
}

std::string progress::eta(int done, int left) const {
  std::string t = steps_ > 0 ? duration_text(since(start_) / steps_ * left) : "?";
  return fmt::format("{} measured, ~{} to go, ETA {}", done, left, t);
}

void progress::finish() {
  if (tty_) std::fputs("\r\033[K", stderr);
}

void progress::redraw() {
  if (!tty_) return;
  const int total = done_ + left_;
  const int width = 30;
  int fill = total > 0 ? width * done_ / total : 0;
  double elapsed = since(start_);
  std::string eta = steps_ > 0 ? duration_text(elapsed / steps_ * left_) : "?";
  std::fprintf(stderr, "\r\033[K[%s%s] %d measured, ~%d to go, ETA %s  %s", std::string(fill, '#').c_str(),
               std::string(width - fill, '.').c_str(), done_, left_, eta.c_str(), doing_.c_str());
  std::fflush(stderr);
}

std::string without_comments(const std::string &yaml) {
  std::string out;
  std::size_t start = 0;
  while (start < yaml.size()) {
    std::size_t end = yaml.find('\n', start);
    if (end == std::string::npos) end = yaml.size();
    if (yaml[start] != '#') out += yaml.substr(start, end - start + 1);
    start = end + 1;
  }
  return out;
}

std::vector<std::vector<std::size_t>> build_groups(const exploration &x, const std::vector<int> &configs,
                                                   const std::vector<std::size_t> &to_build) {
  std::vector<std::vector<std::size_t>> groups;
  std::map<std::string, std::size_t> group_of;
  for (std::size_t k : to_build) {
    const std::string &slot = x.configs[static_cast<std::size_t>(configs[k])].build_slot;
    auto [it, fresh] = group_of.emplace(slot, groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(k);
  }
  return groups;
}

runner::runner(const space &s, const explore_options &opt, evaluator &ev, exploration &x)
    : s_(s), opt_(opt), ev_(ev), x_(x), prog_(opt.progress) {
  cpus_ = std::max(1u, std::thread::hardware_concurrency());
  jobs_ = opt.jobs > 0 ? opt.jobs : static_cast<int>(cpus_);
}

fs::path runner::cache_file(const configuration &c) const {
  return opt_.out / "cache" / (c.hash + ".json");
}

void runner::save_cache(const configuration &c, const json &j) const {
  build::write_atomically(cache_file(c), j.dump(1) + "\n");
}

bool runner::bench_complete(const json &cache) const {
  if (!cache.contains("bench")) return false;
  const json &b = cache["bench"];
  if (b.value("fingerprint", "") != s_.bench.fingerprint()) return false;
  if (b.contains("error") || b.value("decided", false)) return true;
  std::vector<double> samples = b.value("samples", std::vector<double>{});
  return enough(samples);
}

bool runner::enough(const std::vector<double> &samples) const {
  if (!settled(samples, s_.bench.reps)) return false;
  const int most = std::max(s_.bench.reps.max, s_.bench.reps.max_near_floor);
  return static_cast<int>(samples.size()) >= most || !near_floor(samples);
}

std::vector<json> runner::load_caches(const std::vector<int> &configs) const {
  std::vector<json> caches;
  for (int i : configs) {
    const configuration &c = config(i);
    const std::string profile = profile_yaml(s_, c);
    json j = json::object();
    if (!opt_.fresh) {
      if (auto text = build::read_file(cache_file(c))) {
        j = json::parse(*text, nullptr, false);
        // Comments do not change the image: a profile regenerated from another space file still matches.
        if (j.is_discarded() || !j.is_object() ||
            without_comments(j.value("profile", "")) != without_comments(profile)) {
          j = json::object();
        }
      }
    }
    j["profile"] = profile;
    caches.push_back(std::move(j));
  }
  return caches;
}

std::vector<std::size_t> runner::needing_build(const std::vector<json> &caches) const {
  std::vector<std::size_t> to_build;
  for (std::size_t k = 0; k < caches.size(); ++k) {
    if (!bench_complete(caches[k])) to_build.push_back(k);
  }
  return to_build;
}

std::vector<build_result> runner::build(const std::vector<int> &configs,
                                        const std::vector<std::size_t> &to_build) {
  std::vector<build_result> built(configs.size());
  if (to_build.empty()) return built;
  std::string names;
  for (std::size_t k : to_build) names += (names.empty() ? "" : ", ") + config(configs[k]).id();
  prog_.status(x_.benchmarks + x_.benchmarks_cached, remaining(), "building " + names);
  const std::vector<std::vector<std::size_t>> groups = build_groups(x_, configs, to_build);
  const int at_once = std::min<int>(jobs_, static_cast<int>(groups.size()));
  const int per_build = std::max(1, static_cast<int>(cpus_) / at_once);
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < at_once; ++t) {
    pool.emplace_back([&] {
      for (std::size_t n = next++; n < groups.size() && !g_interrupted; n = next++) {
        for (std::size_t k : groups[n]) {
          if (g_interrupted) break;
          const configuration &c = config(configs[k]);
          fs::path profile = opt_.out / "profiles" / (profile_name(s_, c) + ".yaml");
          built[k] = ev_.build(c, profile, opt_.out / "images" / c.build_slot, per_build);
        }
      }
    });
  }
  for (auto &t : pool) t.join();
  return built;
}

void runner::record_builds(const std::vector<int> &configs, const std::vector<std::size_t> &to_build,
                           const std::vector<build_result> &built, std::vector<json> &caches) {
  for (std::size_t k : to_build) {
    if (g_interrupted) break;
    const configuration &c = config(configs[k]);
    config_record &r = record(configs[k]);
    const build_result &b = built[k];
    bool cached = caches[k].contains("build") && caches[k]["build"].value("ok", false);
    r.built = b.ok;
    r.build_s = b.seconds;
    if (cached && b.ok) {
      r.build_cached = true;  // flexbuild found it up to date (or nearly)
      ++x_.builds_cached;
    } else if (b.ok) {
      ++x_.builds;
    }
    caches[k]["build"] = {{"ok", b.ok}, {"seconds", b.seconds}};
    if (!b.ok) {
      caches[k]["build"]["error"] = b.error;
      r.reason = b.error;
    }
    save_cache(c, caches[k]);
    prog_.event(fmt::format("{} {}: {} in {:.1f} s", b.ok ? "built" : "FAILED to build", c.id(), c.label(s_),
                            b.seconds));
  }
}

measurement runner::measure(int i, json &cache, const build_result &built) {
  const configuration &c = config(i);
  config_record &r = record(i);
  if (cache.contains("build") && !cache["build"].value("ok", false)) {
    r.reason = cache["build"].value("error", "build failed");
    return {};
  }
  json &b = cache["bench"];
  if (!b.is_object() || b.value("fingerprint", "") != s_.bench.fingerprint())
    b = {{"fingerprint", s_.bench.fingerprint()}};
  std::vector<double> samples = b.value("samples", std::vector<double>{});
  if (b.contains("error")) {
    r.reason = b["error"];
    r.bench_cached = true;
    ++x_.benchmarks_cached;
    return {};
  }
  const bool from_cache = enough(samples) || b.value("decided", false);
  if (!from_cache) {
    if (opt_.stop_after >= 0 && x_.benchmarks >= opt_.stop_after) {
      x_.interrupted = true;
      return {.value = std::nullopt, .stop = true};
    }
    prog_.status(x_.benchmarks + x_.benchmarks_cached, remaining(), "benchmarking " + c.id());
    fs::path exe = built.ok ? built.executable : opt_.out / "images" / c.build_slot / profile_name(s_, c);
    run_until_settled(i, exe, cache, samples);
    if (g_interrupted) return {.value = std::nullopt, .stop = true};
    save_cache(c, cache);
    ++x_.benchmarks;
    prog_.mark_step();
  } else {
    r.bench_cached = true;
    ++x_.benchmarks_cached;
  }
  return {.value = record_figure(i, b, samples, from_cache)};
}

void runner::run_until_settled(int i, const fs::path &executable, json &cache, std::vector<double> &samples) {
  const configuration &c = config(i);
  json &b = cache["bench"];
  while (!enough(samples) && !g_interrupted) {
    if (!samples.empty() && decided(samples)) {
      b["decided"] = true;
      break;
    }
    run_result rr = ev_.run_once(c, executable);
    ++x_.runs;
    if (g_interrupted) break;
    if (!rr.ok) {
      b["error"] = rr.error;
      record(i).reason = rr.error;
      break;
    }
    samples.push_back(rr.value);
    b["samples"] = samples;
    save_cache(c, cache);
  }
}

std::optional<double> runner::record_figure(int i, const json &bench, const std::vector<double> &samples,
                                            bool from_cache) {
  const configuration &c = config(i);
  config_record &r = record(i);
  r.samples = samples;
  if (bench.contains("error") || samples.empty()) {
    prog_.event(fmt::format("FAILED {}: {}", c.id(), r.reason));
    return std::nullopt;
  }
  r.value = median(samples);
  r.ci = median_interval(samples);
  prog_.event(fmt::format("{} {}: {:.6g} {} (median of {}{}) [{}]", from_cache ? "cached " : "measured",
                          c.id(), *r.value, s_.bench.metric.unit, samples.size(), from_cache ? "" : " runs",
                          prog_.eta(x_.benchmarks + x_.benchmarks_cached, remaining())));
  return r.value;
}

std::vector<std::optional<double>> runner::evaluate(const std::vector<int> &configs) {
  std::vector<json> caches = load_caches(configs);
  const std::vector<std::size_t> to_build = needing_build(caches);
  const std::vector<build_result> built = build(configs, to_build);
  record_builds(configs, to_build, built, caches);
  // Benchmarks, one at a time.
  std::vector<std::optional<double>> out(configs.size());
  for (std::size_t k = 0; k < configs.size() && !g_interrupted && !x_.interrupted; ++k) {
    measurement m = measure(configs[k], caches[k], built[k]);
    if (m.stop) break;
    out[k] = m.value;
  }
  return out;
}

}  // namespace flex::explore
