#include "flex/explore/explore.h"

#include <fmt/format.h>
#include <algorithm>
#include <chrono>
#include <cmath>

#include <flex/pku/pku.h>
#include "flex/build/fs_util.h"
#include "flex/explore/explore_impl.h"

namespace flex::explore {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

bool uses(const configuration &c, isolation m) {
  return c.blocks() > 1 && std::find(c.iso.begin(), c.iso.end(), m) != c.iso.end();
}

}  // namespace

std::string_view to_string(category c) {
  switch (c) {
    case category::explorable:
      return "explorable";
    case category::refused:
      return "refused";
    case category::not_runnable:
      return "not-runnable-here";
    case category::outside:
      return "baseline";
  }
  return "?";
}

int exploration::count(category c) const {
  return static_cast<int>(
      std::count_if(rec.begin(), rec.end(), [&](const config_record &r) { return r.cat == c; }));
}

std::vector<std::pair<isolation, std::string>> missing_mechanisms(bool pku,
                                                                  const std::vector<isolation> &unavailable) {
  std::vector<std::pair<isolation, std::string>> missing;
  if (!pku) missing.emplace_back(isolation::mpk, "needs mpk: this machine has no PKU (pkey_alloc fails)");
  for (isolation m : unavailable)
    missing.emplace_back(m, fmt::format("needs {}: unavailable (--unavailable)", build::to_string(m)));
  return missing;
}

exploration classify(const space &s, const build::library_index &libs, bool pku,
                     const std::vector<isolation> &unavailable) {
  exploration x;
  x.s = &s;
  x.configs = enumerate(s);
  x.rec.resize(x.configs.size());
  x.pku = pku;
  const auto missing = missing_mechanisms(pku, unavailable);
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
  return x;
}

void add_baseline(exploration &x) {
  configuration base = baseline(*x.s, x.configs);
  if (base.index < 0) {
    base.index = static_cast<int>(x.configs.size());
    x.configs.push_back(base);
    x.rec.push_back({});
    x.rec.back().cat = category::outside;
  }
  x.baseline_config = base.index;
}

void write_profiles(const exploration &x, const fs::path &out) {
  for (const configuration &c : x.configs) {
    build::write_if_changed(out / "profiles" / (profile_name(*x.s, c) + ".yaml"), profile_yaml(*x.s, c));
  }
}

bitset order_explorable(exploration &x) {
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
  return cands;
}

void announce(const exploration &x, const bitset &candidates, progress &prog) {
  prog.event(
      fmt::format("{} configurations: {} explorable ({} meet the requirements), {} not runnable here, {} "
                  "refused by flexbuild; Hasse diagram: {} edges",
                  x.configs.size() - (x.rec.back().cat == category::outside ? 1 : 0),
                  x.count(category::explorable), candidates.count(), x.count(category::not_runnable),
                  x.count(category::refused), x.order->cover_count()));
  if (!x.pku && x.s->allows(isolation::mpk)) {
    prog.event(
        fmt::format("this machine has no PKU: the {} configurations with mpk compartments are left out "
                    "(never measured under emulation)",
                    x.count(category::not_runnable)));
  }
}

bool set_floor(exploration &x, runner &rn, search_spec &spec) {
  const space &s = *x.s;
  const metric_spec &m = s.bench.metric;
  spec = search_spec{s.q.g, m.higher_is_better, 0};
  if (s.q.g != goal::most_secure) return true;
  const floor_spec &f = *s.q.floor;
  if (f.relative) {
    const configuration &base = x.configs[static_cast<std::size_t>(x.baseline_config)];
    rn.prog().event("measuring the one-compartment baseline " + base.id() + " (the floor is relative to it)");
    // As many runs as a figure near the floor gets: the floor inherits the baseline's noise, and its
    // interval (below) is what every figure is judged against.
    auto near = rn.near_floor;
    rn.near_floor = [](const std::vector<double> &) { return true; };
    x.baseline = rn.evaluate({base.index})[0];
    rn.near_floor = near;
    if (!x.baseline) {
      x.failure = x.interrupted || g_interrupted ? "interrupted"
                                                 : "the baseline could not be measured: " +
                                                       x.rec[static_cast<std::size_t>(base.index)].reason;
      x.interrupted = x.interrupted || g_interrupted;
      return false;
    }
    const median_ci &ci = x.rec[static_cast<std::size_t>(base.index)].ci;
    auto scaled = [&](double v) { return m.higher_is_better ? v * f.value : v / f.value; };
    spec.threshold = scaled(*x.baseline);
    spec.threshold_lo = std::min(scaled(ci.lo), spec.threshold);
    spec.threshold_hi = std::max(scaled(ci.hi), spec.threshold);
  } else {
    spec.threshold = spec.threshold_lo = spec.threshold_hi = f.value;
  }
  x.threshold = spec.threshold;
  x.floor_interval = {spec.threshold_lo, spec.threshold_hi, f.relative ? x.rec[static_cast<std::size_t>(x.baseline_config)].ci.coverage : 1};
  rn.prog().event(fmt::format("floor: {:.6g} {} ({}){}", spec.threshold, m.unit, m.higher_is_better ? "at least" : "at most",
                              spec.threshold_lo < spec.threshold_hi
                                  ? fmt::format(", within [{:.6g}, {:.6g}] from the baseline's interval", spec.threshold_lo,
                                                spec.threshold_hi)
                                  : ""));
  return true;
}

std::function<bool(const std::vector<double> &)> far_below_floor(const space &s, const search_spec &spec) {
  // Two runs this far below the floor settle it: more will not climb over it. One is not enough: where
  // the processes of an image outnumber the cores, a run's figure depends on where the kernel placed
  // them (Redis with two process boundaries on 2 cores: about 20k or 70-90k GET/s from run to run).
  const double margin = std::max(0.2, 5 * s.bench.reps.tolerance);
  // Far from the whole of the floor's interval: below its bottom (above its top for a ceiling).
  return [margin, hi = spec.higher_is_better,
          t = spec.higher_is_better ? spec.threshold_lo : spec.threshold_hi](const std::vector<double> &v) {
    if (v.size() < 2) return false;
    return std::all_of(v.begin(), v.end(),
                       [&](double x) { return hi ? x < t * (1 - margin) : x > t * (1 + margin); });
  };
}

std::function<bool(const std::vector<double> &)> straddling_floor(const search_spec &spec) {
  return [hi = spec.higher_is_better, lo = spec.threshold_lo, top = spec.threshold_hi](const std::vector<double> &v) {
    return v.size() > 1 && straddles(median_interval(v), lo, top, hi);
  };
}

void search_all(exploration &x, runner &rn) {
  search &srch = *x.result;
  while (!x.interrupted && !g_interrupted) {
    std::vector<int> batch = srch.next(rn.jobs());
    if (batch.empty()) break;
    std::vector<int> ids;
    for (int b : batch) ids.push_back(x.order->at(b).index);
    auto values = rn.evaluate(ids);
    if (x.interrupted || g_interrupted) break;
    for (std::size_t k = 0; k < batch.size(); ++k) {
      config_record &r = x.rec[static_cast<std::size_t>(ids[k])];
      r.borderline = values[k] && x.threshold && r.samples.size() > 1 &&
                     straddles(r.ci, x.floor_interval.lo, x.floor_interval.hi, x.s->bench.metric.higher_is_better);
      srch.record(batch[k], values[k], r.borderline);
    }
  }
}

void collect_results(exploration &x) {
  const search &srch = *x.result;
  x.interrupted = x.interrupted || g_interrupted;
  if (!x.interrupted) {
    x.complete = true;
    for (int p : srch.picks()) {
      int ci = x.order->at(p).index;
      x.picks.push_back(ci);
      x.rec[static_cast<std::size_t>(ci)].pick = true;
    }
    for (int b : srch.borderline()) x.borderline.push_back(x.order->at(b).index);
  }
  // Copy what the search settled into the records.
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    if (x.rec[i].member >= 0 && srch.state(x.rec[i].member).value)
      x.rec[i].value = srch.state(x.rec[i].member).value;
  }
}

std::vector<int> spread(const std::vector<int> &pool, int n) {
  std::vector<int> chosen;
  n = std::min<int>(n, static_cast<int>(pool.size()));
  for (int k = 0; k < n; ++k) {
    std::size_t at =
        n == 1 ? pool.size() / 2
               : static_cast<std::size_t>(std::llround(static_cast<double>(k) * (pool.size() - 1) / (n - 1)));
    if (std::find(chosen.begin(), chosen.end(), pool[at]) == chosen.end()) chosen.push_back(pool[at]);
  }
  return chosen;
}

void verify(exploration &x, runner &rn, int n) {
  const search &srch = *x.result;
  std::vector<int> chosen = spread(srch.inferred(), n);
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
  x.violations = check_inferences(srch, *x.order, ok_members, ok_values, x.s->bench.reps.tolerance);
  x.interrupted = x.interrupted || g_interrupted;
}

exploration run(const space &s, const explore_options &opt, evaluator &ev) {
  const auto start = clock_type::now();
  auto finish = [&](exploration &x, runner &rn) {
    rn.prog().finish();
    x.wall_s = std::chrono::duration<double>(clock_type::now() - start).count();
  };
  yaml::diag_sink diags;
  const build::library_index libs = build::load_library_index(s.root, diags);
  exploration x = classify(s, libs, opt.pku.value_or(flex::pku::pku_status().available), opt.unavailable);
  add_baseline(x);
  write_profiles(x, opt.out);
  const bitset cands = order_explorable(x);
  runner rn(s, opt, ev, x);
  announce(x, cands, rn.prog());
  search_spec spec;
  if (opt.dry_run || !set_floor(x, rn, spec)) {
    finish(x, rn);
    return x;
  }
  x.result = std::make_unique<search>(*x.order, cands, spec);
  if (x.baseline) x.result->record(x.rec[static_cast<std::size_t>(x.baseline_config)].member, x.baseline);
  rn.remaining = [&x] { return x.result->remaining_estimate(); };
  if (s.q.g == goal::most_secure) {
    rn.decided = far_below_floor(s, spec);
    rn.near_floor = straddling_floor(spec);
  }
  search_all(x, rn);
  collect_results(x);
  if (x.complete && opt.verify > 0) verify(x, rn, opt.verify);
  finish(x, rn);
  return x;
}

}  // namespace flex::explore
