#include "flex/explore/explore.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include <flex/pku/pku.h>
#include "flex/build/fs_util.h"

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

// One line per event, or a bar redrawn in place on a terminal.
class progress {
 public:
  explicit progress(bool on) : on_(on), tty_(on && ::isatty(2)), start_(clock_type::now()) {}
  void event(const std::string &what) {
    if (!on_) return;
    if (tty_) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "flexexplore: %s\n", what.c_str());
    redraw();
  }
  void status(int done, int estimate_left, const std::string &doing) {
    done_ = done;
    left_ = estimate_left;
    doing_ = doing;
    redraw();
  }
  void mark_step() { ++steps_; }
  // "12 measured, ~7 to go, ETA 3m20s"
  std::string eta(int done, int left) const {
    std::string t = steps_ > 0 ? duration_text(since(start_) / steps_ * left) : "?";
    return fmt::format("{} measured, ~{} to go, ETA {}", done, left, t);
  }
  void finish() {
    if (tty_) std::fputs("\r\033[K", stderr);
  }

 private:
  void redraw() {
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
  bool on_, tty_;
  clock_type::time_point start_;
  int done_ = 0, left_ = 0, steps_ = 0;
  std::string doing_;
};

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

class runner {
 public:
  runner(const space &s, const explore_options &opt, evaluator &ev, exploration &x)
      : s_(s), opt_(opt), ev_(ev), x_(x), prog_(opt.progress) {
    cpus_ = std::max(1u, std::thread::hardware_concurrency());
    jobs_ = opt.jobs > 0 ? opt.jobs : static_cast<int>(cpus_);
  }
  // Builds what needs building (in parallel), then measures one at a time. Returns each figure.
  std::vector<std::optional<double>> evaluate(const std::vector<int> &configs);
  int jobs() const { return jobs_; }
  progress &prog() { return prog_; }
  std::function<int()> remaining = [] { return 0; };
  // Whether the samples so far already settle the question (a figure far below the floor): no more runs.
  std::function<bool(const std::vector<double> &)> decided = [](const std::vector<double> &) { return false; };

 private:
  fs::path cache_file(const configuration &c) const { return opt_.out / "cache" / (c.hash + ".json"); }
  json load_cache(const configuration &c) const;
  void save_cache(const configuration &c, const json &j) const;
  bool bench_complete(const json &cache) const;

  const space &s_;
  const explore_options &opt_;
  evaluator &ev_;
  exploration &x_;
  progress prog_;
  unsigned cpus_;
  int jobs_;
};

json runner::load_cache(const configuration &c) const {
  if (opt_.fresh) return json::object();
  auto text = build::read_file(cache_file(c));
  if (!text) return json::object();
  json j = json::parse(*text, nullptr, false);
  // Comments do not change the image: a profile regenerated from another space file still matches.
  if (j.is_discarded() || !j.is_object() || without_comments(j.value("profile", "")) != without_comments(profile_yaml(s_, c))) {
    return json::object();
  }
  return j;
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
  return settled(samples, s_.bench.reps);
}

std::vector<std::optional<double>> runner::evaluate(const std::vector<int> &configs) {
  std::vector<std::optional<double>> out(configs.size());
  std::vector<json> caches;
  for (int i : configs) caches.push_back(load_cache(x_.configs[static_cast<std::size_t>(i)]));
  for (std::size_t k = 0; k < configs.size(); ++k) caches[k]["profile"] = profile_yaml(s_, x_.configs[static_cast<std::size_t>(configs[k])]);

  // Builds, in parallel: only for what still has to be measured.
  std::vector<std::size_t> to_build;
  for (std::size_t k = 0; k < configs.size(); ++k) {
    if (!bench_complete(caches[k])) to_build.push_back(k);
  }
  std::vector<build_result> built(configs.size());
  if (!to_build.empty()) {
    std::string names;
    for (std::size_t k : to_build) names += (names.empty() ? "" : ", ") + x_.configs[static_cast<std::size_t>(configs[k])].id();
    prog_.status(x_.benchmarks + x_.benchmarks_cached, remaining(), "building " + names);
    // One worker per build folder at a time: configurations sharing a folder build one after another.
    std::vector<std::vector<std::size_t>> groups;
    std::map<std::string, std::size_t> group_of;
    for (std::size_t k : to_build) {
      const std::string &slot = x_.configs[static_cast<std::size_t>(configs[k])].build_slot;
      auto [it, fresh] = group_of.emplace(slot, groups.size());
      if (fresh) groups.emplace_back();
      groups[it->second].push_back(k);
    }
    const int at_once = std::min<int>(jobs_, static_cast<int>(groups.size()));
    const int per_build = std::max(1, static_cast<int>(cpus_) / at_once);
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < at_once; ++t) {
      pool.emplace_back([&] {
        for (std::size_t n = next++; n < groups.size() && !g_interrupted; n = next++) {
          for (std::size_t k : groups[n]) {
            if (g_interrupted) break;
            const configuration &c = x_.configs[static_cast<std::size_t>(configs[k])];
            fs::path profile = opt_.out / "profiles" / (profile_name(s_, c) + ".yaml");
            built[k] = ev_.build(c, profile, opt_.out / "images" / c.build_slot, per_build);
          }
        }
      });
    }
    for (auto &t : pool) t.join();
    for (std::size_t k : to_build) {
      const int i = configs[k];
      const configuration &c = x_.configs[static_cast<std::size_t>(i)];
      config_record &r = x_.rec[static_cast<std::size_t>(i)];
      if (g_interrupted) break;
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
      prog_.event(fmt::format("{} {}: {} in {:.1f} s", b.ok ? "built" : "FAILED to build", c.id(), c.label(s_), b.seconds));
    }
  }

  // Benchmarks, one at a time.
  for (std::size_t k = 0; k < configs.size() && !g_interrupted && !x_.interrupted; ++k) {
    const int i = configs[k];
    const configuration &c = x_.configs[static_cast<std::size_t>(i)];
    config_record &r = x_.rec[static_cast<std::size_t>(i)];
    json &cache = caches[k];
    if (cache.contains("build") && !cache["build"].value("ok", false)) {
      r.reason = cache["build"].value("error", "build failed");
      continue;
    }
    json &b = cache["bench"];
    if (!b.is_object() || b.value("fingerprint", "") != s_.bench.fingerprint()) b = {{"fingerprint", s_.bench.fingerprint()}};
    std::vector<double> samples = b.value("samples", std::vector<double>{});
    if (b.contains("error")) {
      r.reason = b["error"];
      r.bench_cached = true;
      ++x_.benchmarks_cached;
      continue;
    }
    const bool from_cache = settled(samples, s_.bench.reps) || b.value("decided", false);
    if (!from_cache) {
      if (opt_.stop_after >= 0 && x_.benchmarks >= opt_.stop_after) {
        x_.interrupted = true;
        break;
      }
      prog_.status(x_.benchmarks + x_.benchmarks_cached, remaining(), "benchmarking " + c.id());
      fs::path exe = built[k].ok ? built[k].executable : opt_.out / "images" / c.build_slot / profile_name(s_, c);
      while (!settled(samples, s_.bench.reps) && !g_interrupted) {
        if (!samples.empty() && decided(samples)) {
          b["decided"] = true;
          break;
        }
        run_result rr = ev_.run_once(c, exe);
        ++x_.runs;
        if (g_interrupted) break;
        if (!rr.ok) {
          b["error"] = rr.error;
          r.reason = rr.error;
          break;
        }
        samples.push_back(rr.value);
        b["samples"] = samples;
        save_cache(c, cache);
      }
      if (g_interrupted) break;
      save_cache(c, cache);
      ++x_.benchmarks;
      prog_.mark_step();
    } else {
      r.bench_cached = true;
      ++x_.benchmarks_cached;
    }
    r.samples = samples;
    if (!b.contains("error") && !samples.empty()) {
      r.value = median(samples);
      out[k] = r.value;
      prog_.event(fmt::format("{} {}: {:.6g} {} (median of {}{}) [{}]", from_cache ? "cached " : "measured", c.id(), *r.value,
                              s_.bench.metric.unit, samples.size(), from_cache ? "" : " runs",
                              prog_.eta(x_.benchmarks + x_.benchmarks_cached, remaining())));
    } else {
      prog_.event(fmt::format("FAILED {}: {}", c.id(), r.reason));
    }
  }
  return out;
}

bool uses(const configuration &c, isolation m) {
  return c.blocks() > 1 && std::find(c.iso.begin(), c.iso.end(), m) != c.iso.end();
}

}  // namespace

std::string_view to_string(category c) {
  switch (c) {
    case category::explorable: return "explorable";
    case category::refused: return "refused";
    case category::not_runnable: return "not-runnable-here";
    case category::outside: return "baseline";
  }
  return "?";
}

int exploration::count(category c) const {
  return static_cast<int>(std::count_if(rec.begin(), rec.end(), [&](const config_record &r) { return r.cat == c; }));
}

exploration run(const space &s, const explore_options &opt, evaluator &ev) {
  auto start = clock_type::now();
  exploration x;
  x.s = &s;
  x.configs = enumerate(s);
  x.rec.resize(x.configs.size());
  x.pku = opt.pku.value_or(flex::pku::pku_status().available);
  std::vector<std::pair<isolation, std::string>> missing;
  if (!x.pku) missing.emplace_back(isolation::mpk, "needs mpk: this machine has no PKU (pkey_alloc fails)");
  for (isolation m : opt.unavailable) missing.emplace_back(m, fmt::format("needs {}: unavailable (--unavailable)", build::to_string(m)));

  yaml::diag_sink diags;
  build::library_index libs = build::load_library_index(s.root, diags);
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    const configuration &c = x.configs[i];
    config_record &r = x.rec[i];
    if (auto why = refusal(s, c, libs)) {
      r.cat = category::refused;
      r.reason = *why;
      continue;
    }
    for (const auto &[m, why] : missing) {
      if (uses(c, m)) {
        r.cat = category::not_runnable;
        r.reason = why;
        break;
      }
    }
    if (r.cat == category::explorable) r.candidate = meets_requirements(s, c);
  }
  configuration base = baseline(s, x.configs);
  if (base.index < 0) {
    base.index = static_cast<int>(x.configs.size());
    x.configs.push_back(base);
    x.rec.push_back({});
    x.rec.back().cat = category::outside;
  }
  x.baseline_config = base.index;

  // Every profile, ready for flexbuild.
  for (const configuration &c : x.configs) {
    build::write_if_changed(opt.out / "profiles" / (profile_name(s, c) + ".yaml"), profile_yaml(s, c));
  }

  std::vector<const configuration *> members;
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    category cat = x.rec[i].cat;
    if (cat == category::explorable || cat == category::outside) {
      x.rec[i].member = static_cast<int>(members.size());
      members.push_back(&x.configs[i]);
    }
  }
  x.order = std::make_unique<poset>(members);
  bitset cands(x.order->size());
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    if (x.rec[i].candidate) cands.set(x.rec[i].member);
  }

  runner rn(s, opt, ev, x);
  rn.prog().event(fmt::format("{} configurations: {} explorable ({} meet the requirements), {} not runnable here, {} "
                              "refused by flexbuild; Hasse diagram: {} edges",
                              x.configs.size() - (x.rec.back().cat == category::outside ? 1 : 0), x.count(category::explorable),
                              cands.count(), x.count(category::not_runnable), x.count(category::refused),
                              x.order->cover_count()));
  if (!x.pku && s.allows(isolation::mpk)) {
    rn.prog().event(fmt::format("this machine has no PKU: the {} configurations with mpk compartments are left out "
                                "(never measured under emulation)", x.count(category::not_runnable)));
  }

  if (opt.dry_run) {
    rn.prog().finish();
    x.wall_s = since(start);
    return x;
  }
  const metric_spec &m = s.bench.metric;
  search_spec spec{s.q.g, m.higher_is_better, 0};
  const int base_member = x.rec[static_cast<std::size_t>(base.index)].member;
  if (s.q.g == goal::most_secure) {
    const floor_spec &f = *s.q.floor;
    if (f.relative) {
      rn.prog().event("measuring the one-compartment baseline " + base.id() + " (the floor is relative to it)");
      x.baseline = rn.evaluate({base.index})[0];
      if (!x.baseline) {
        x.failure = x.interrupted || g_interrupted ? "interrupted" : "the baseline could not be measured: " + x.rec[static_cast<std::size_t>(base.index)].reason;
        x.interrupted = x.interrupted || g_interrupted;
        x.wall_s = since(start);
        rn.prog().finish();
        return x;
      }
      spec.threshold = m.higher_is_better ? *x.baseline * f.value : *x.baseline / f.value;
    } else {
      spec.threshold = f.value;
    }
    x.threshold = spec.threshold;
    rn.prog().event(fmt::format("floor: {:.6g} {} ({})", spec.threshold, m.unit,
                                m.higher_is_better ? "at least" : "at most"));
  }
  x.result = std::make_unique<search>(*x.order, cands, spec);
  if (x.baseline) x.result->record(base_member, x.baseline);
  search &srch = *x.result;
  rn.remaining = [&] { return srch.remaining_estimate(); };
  if (s.q.g == goal::most_secure) {
    // Two runs this far below the floor settle it: more will not climb over it. One is not enough: where
    // the processes of an image outnumber the cores, a run's figure depends on where the kernel placed
    // them (Redis with two process boundaries on 2 cores: about 20k or 70-90k GET/s from run to run).
    const double margin = std::max(0.2, 5 * s.bench.reps.tolerance);
    rn.decided = [margin, hi = m.higher_is_better, t = spec.threshold](const std::vector<double> &v) {
      if (v.size() < 2) return false;
      return std::all_of(v.begin(), v.end(),
                         [&](double x) { return hi ? x < t * (1 - margin) : x > t * (1 + margin); });
    };
  }

  while (!x.interrupted && !g_interrupted) {
    std::vector<int> batch = srch.next(rn.jobs());
    if (batch.empty()) break;
    std::vector<int> ids;
    for (int b : batch) ids.push_back(x.order->at(b).index);
    auto values = rn.evaluate(ids);
    if (x.interrupted || g_interrupted) break;
    for (std::size_t k = 0; k < batch.size(); ++k) srch.record(batch[k], values[k]);
  }
  x.interrupted = x.interrupted || g_interrupted;
  if (!x.interrupted) {
    x.complete = true;
    for (int p : srch.picks()) {
      int ci = x.order->at(p).index;
      x.picks.push_back(ci);
      x.rec[static_cast<std::size_t>(ci)].pick = true;
    }
  }
  // Copy what the search settled into the records.
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    if (x.rec[i].member >= 0 && srch.state(x.rec[i].member).value) x.rec[i].value = srch.state(x.rec[i].member).value;
  }

  if (x.complete && opt.verify > 0) {
    std::vector<int> pool = srch.inferred();
    std::vector<int> chosen;
    const int n = std::min<int>(opt.verify, static_cast<int>(pool.size()));
    for (int k = 0; k < n; ++k) {
      // Spread over the pool: first, last and evenly between.
      std::size_t at = n == 1 ? pool.size() / 2 : static_cast<std::size_t>(std::llround(static_cast<double>(k) * (pool.size() - 1) / (n - 1)));
      if (std::find(chosen.begin(), chosen.end(), pool[at]) == chosen.end()) chosen.push_back(pool[at]);
    }
    rn.prog().event(fmt::format("verifying {} pruned configurations", chosen.size()));
    std::vector<int> ids;
    for (int c : chosen) ids.push_back(x.order->at(c).index);
    const int before = x.benchmarks + x.benchmarks_cached;
    auto values = rn.evaluate(ids);
    x.verify_benchmarks = x.benchmarks + x.benchmarks_cached - before;
    std::vector<int> ok_members;
    std::vector<double> ok_values;
    for (std::size_t k = 0; k < chosen.size(); ++k) {
      x.rec[static_cast<std::size_t>(ids[k])].verified = values[k].has_value();
      if (values[k]) {
        ok_members.push_back(chosen[k]);
        ok_values.push_back(*values[k]);
      }
    }
    x.violations = check_inferences(srch, *x.order, ok_members, ok_values, s.bench.reps.tolerance);
    x.interrupted = x.interrupted || g_interrupted;
  }
  rn.prog().finish();
  x.wall_s = since(start);
  return x;
}

}  // namespace flex::explore
