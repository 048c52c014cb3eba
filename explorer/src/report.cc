#include "flex/explore/report.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flex/build/fs_util.h"
#include "flex/build/report.h"

namespace flex::explore {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

std::string status_of(const exploration &x, int config) {
  const config_record &r = x.rec[static_cast<std::size_t>(config)];
  if (r.cat != category::explorable && r.cat != category::outside) return std::string(to_string(r.cat));
  if (!x.result) return "unknown";
  return std::string(to_string(x.result->state(r.member).st));
}

std::string because_of(const exploration &x, int config) {
  const config_record &r = x.rec[static_cast<std::size_t>(config)];
  if (r.member < 0 || !x.result) return "";
  int b = x.result->state(r.member).because;
  return b >= 0 ? x.order->at(b).id() : "";
}

int enumerated(const exploration &x) {
  return static_cast<int>(x.configs.size()) - (x.rec.back().cat == category::outside ? 1 : 0);
}

std::string csv_field(const std::string &s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string html(const std::string &s) {
  return build::escape_html(s);
}

std::string figure(const exploration &x, std::optional<double> v) {
  return v ? fmt::format("{:.6g}", *v) : "";
}

json totals(const exploration &x) {
  const int total = enumerated(x);
  const int measured = x.benchmarks + x.benchmarks_cached - x.verify_benchmarks;
  return {{"configurations", total},
          {"explorable", x.count(category::explorable)},
          {"candidates", x.result ? x.result->candidates().count() : 0},
          {"not_runnable_here", x.count(category::not_runnable)},
          {"refused_by_flexbuild", x.count(category::refused)},
          {"built", x.builds},
          {"built_up_to_date", x.builds_cached},
          {"benchmarked", measured},
          {"benchmarked_now", x.benchmarks},
          {"benchmarked_from_cache", x.benchmarks_cached},
          {"benchmarked_for_verify", x.verify_benchmarks},
          {"benchmark_runs", x.runs},
          {"benchmarked_fraction", total ? static_cast<double>(measured) / total : 0.0},
          {"wall_s", x.wall_s}};
}

int verified_count(const exploration &x) {
  return static_cast<int>(std::count_if(x.rec.begin(), x.rec.end(), [](const config_record &r) { return r.verified; }));
}

// What results.json says about the space and the question, before the figures.
void describe_space(const exploration &x, json &j) {
  const space &s = *x.s;
  j["space"] = s.name;
  j["file"] = s.file.string();
  j["app"] = s.app;
  j["libraries"] = s.libraries;
  j["default"] = s.libraries[static_cast<std::size_t>(s.default_lib)];
  j["unplaced"] = s.rest;
  j["max_compartments"] = s.max_compartments;
  std::vector<std::string> mechs;
  for (isolation m : s.mechanisms) mechs.emplace_back(build::to_string(m));
  j["mechanisms"] = mechs;
  std::vector<std::string> lockdowns;
  for (lockdown_mode m : s.lockdowns) lockdowns.emplace_back(build::to_string(m));
  j["lockdowns"] = lockdowns;
  j["goal"] = s.q.g == goal::fastest ? "fastest" : "most-secure";
  j["metric"] = {{"unit", s.bench.metric.unit}, {"higher_is_better", s.bench.metric.higher_is_better}};
  if (s.q.floor) j["floor"] = {{"relative", s.q.floor->relative}, {"value", s.q.floor->value}};
}

json picks_json(const exploration &x) {
  json picks = json::array();
  for (int p : x.picks) {
    const configuration &c = x.configs[static_cast<std::size_t>(p)];
    picks.push_back({{"id", c.id()}, {"hash", c.hash}, {"label", c.label(*x.s)}, {"value", x.rec[static_cast<std::size_t>(p)].value.value_or(0)},
                     {"profile", "picks/" + profile_name(*x.s, c) + ".yaml"}});
  }
  return picks;
}

json violations_json(const exploration &x) {
  json viol = json::array();
  for (const violation &v : x.violations) {
    viol.push_back({{"id", x.order->at(v.member).id()},
                    {"value", v.value},
                    {"against", v.against >= 0 ? x.order->at(v.against).id() : ""},
                    {"against_value", v.against_value},
                    {"what", v.what}});
  }
  return viol;
}

json configurations_json(const exploration &x) {
  const space &s = *x.s;
  json configs = json::array();
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    const configuration &c = x.configs[i];
    const config_record &r = x.rec[i];
    json e = {{"id", c.id()}, {"hash", c.hash}, {"profile", "profiles/" + profile_name(s, c) + ".yaml"},
              {"label", c.label(s)}, {"compartments", c.blocks()}, {"lockdown", build::to_string(c.lockdown)},
              {"category", to_string(r.cat)}, {"candidate", r.candidate}, {"status", status_of(x, c.index)}};
    if (auto b = because_of(x, c.index); !b.empty()) e["because"] = b;
    if (r.value) e["value"] = *r.value;
    if (!r.samples.empty()) e["samples"] = r.samples;
    if (r.built || r.build_cached) e["build_s"] = r.build_s;
    if (r.pick) e["pick"] = true;
    if (r.verified) e["verified"] = true;
    if (!r.reason.empty()) e["reason"] = r.reason;
    configs.push_back(std::move(e));
  }
  return configs;
}

json hasse_edges_json(const exploration &x) {
  json edges = json::array();
  for (int i = 0; i < x.order->size(); ++i) {
    for (int k : x.order->covers(i)) edges.push_back({x.order->at(i).id(), x.order->at(k).id()});
  }
  return edges;
}

// report.html's title and the list of totals.
std::string html_summary(const exploration &x) {
  const space &s = *x.s;
  const json t = totals(x);
  std::string h = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>flexexplore: " + html(s.name) +
                  "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                  "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}tr.pick{background:#dde6ff}"
                  "td.n{text-align:right}</style></head><body>\n";
  h += "<h1>flexexplore: " + html(s.name) + "</h1>\n<p>app <b>" + html(s.app) + "</b>; placed: " + html(fmt::format("{}", fmt::join(s.libraries, ", "))) +
       (s.rest.empty() ? "" : "; unplaced (with " + html(s.libraries[static_cast<std::size_t>(s.default_lib)]) + "): " + html(fmt::format("{}", fmt::join(s.rest, ", ")))) +
       "; goal <b>" + std::string(s.q.g == goal::fastest ? "fastest" : "most-secure") + "</b>";
  if (x.threshold) h += fmt::format("; floor {:.6g} {}", *x.threshold, html(s.bench.metric.unit));
  if (x.baseline) h += fmt::format(" (baseline {:.6g})", *x.baseline);
  h += ".</p>\n<ul>\n";
  h += fmt::format("<li>{} configurations: {} explorable ({} meet the requirements), {} not runnable here{}, {} refused by flexbuild</li>\n",
                   t["configurations"].get<int>(), t["explorable"].get<int>(), t["candidates"].get<int>(),
                   t["not_runnable_here"].get<int>(), x.pku ? "" : " (no PKU)", t["refused_by_flexbuild"].get<int>());
  h += fmt::format("<li>built {} (+{} up to date), benchmarked {} ({:.0f}% of all; {} from the cache), {} runs, wall time {:.0f} s</li>\n",
                   x.builds, x.builds_cached, t["benchmarked"].get<int>(), 100 * t["benchmarked_fraction"].get<double>(),
                   x.benchmarks_cached, x.runs, x.wall_s);
  h += fmt::format("<li>verified {} pruned configurations: {} disagreements</li>\n", verified_count(x), x.violations.size());
  h += std::string("<li>") + (x.complete ? "complete" : x.interrupted ? "interrupted: run again to resume" : "failed: " + html(x.failure)) + "</li>\n</ul>\n";
  return h;
}

// The picks, and where monotonicity failed (when --verify found it).
std::string html_picks(const exploration &x) {
  const space &s = *x.s;
  std::string h = "<h2>Picks</h2>\n<ul>\n";
  for (int p : x.picks) {
    const configuration &c = x.configs[static_cast<std::size_t>(p)];
    h += fmt::format("<li><b>{}</b> {} = {} {} &mdash; <a href=\"picks/{}.yaml\">profile</a></li>\n", c.id(), html(c.label(s)),
                     figure(x, x.rec[static_cast<std::size_t>(p)].value), html(s.bench.metric.unit), profile_name(s, c));
  }
  h += "</ul>\n";
  if (!x.violations.empty()) {
    h += "<h2>Where monotonicity failed</h2>\n<ul>\n";
    for (const violation &v : x.violations) {
      h += fmt::format("<li>{} ({:.6g}): {} ({} {:.6g})</li>\n", x.order->at(v.member).id(), v.value, html(v.what),
                       v.against >= 0 ? x.order->at(v.against).id() : "", v.against_value);
    }
    h += "</ul>\n";
  }
  return h;
}

std::string html_table(const exploration &x) {
  const space &s = *x.s;
  std::string h = "<h2>Configurations</h2>\n<table><tr><th>id</th><th>compartments</th><th>category</th><th>status</th><th>from</th>"
                  "<th>" + html(s.bench.metric.unit) + "</th><th>runs</th><th>note</th></tr>\n";
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    const configuration &c = x.configs[i];
    const config_record &r = x.rec[i];
    h += fmt::format("<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>\n",
                     r.pick ? " class=pick" : "", c.id(), html(c.label(s)), to_string(r.cat), status_of(x, c.index),
                     because_of(x, c.index), figure(x, r.value), r.samples.empty() ? "" : std::to_string(r.samples.size()),
                     html(r.reason));
  }
  return h + "</table>\n";
}

// write_atomically's error as a line of the report's problems, or nothing.
std::string write_file(const fs::path &path, const std::string &text) {
  auto err = build::write_atomically(path, text);
  return err ? *err + "\n" : "";
}

}  // namespace

std::string hasse_dot(const exploration &x) {
  const space &s = *x.s;
  const poset &p = *x.order;
  double lo = 0, hi = 0;
  bool any = false;
  for (int i = 0; i < p.size(); ++i) {
    if (auto v = x.rec[static_cast<std::size_t>(p.at(i).index)].value) {
      lo = any ? std::min(lo, *v) : *v;
      hi = any ? std::max(hi, *v) : *v;
      any = true;
    }
  }
  std::string d = "digraph hasse {\n  rankdir=BT;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", "
                  "fontsize=10, fillcolor=white];\n  edge [arrowhead=none, color=\"#888888\"];\n";
  d += fmt::format("  label=\"{}: safer is higher; fill: {} ({} is better; red worst, green best); grey: inferred; "
                   "thick blue: pick\";\n  labelloc=t;\n",
                   s.name, s.bench.metric.unit, s.bench.metric.higher_is_better ? "higher" : "lower");
  for (int i = 0; i < p.size(); ++i) {
    const configuration &c = p.at(i);
    const config_record &r = x.rec[static_cast<std::size_t>(c.index)];
    member_state st = x.result ? x.result->state(i) : member_state{};
    st.value = r.value;  // measured by the search or by --verify
    std::string label = c.id();
    if (st.value) label += fmt::format(" = {:.4g}", *st.value);
    std::string blocks = c.label(s);
    std::replace(blocks.begin(), blocks.end(), ' ', '\n');
    label += "\n" + blocks;
    std::string attrs;
    if (st.value) {
      double t = hi > lo ? (*st.value - lo) / (hi - lo) : 1.0;
      if (!s.bench.metric.higher_is_better) t = 1 - t;
      attrs += fmt::format(", fillcolor=\"{:.3f} 0.55 0.95\"", 0.33 * t);
    } else if (st.st == status::inferred_pass) {
      attrs += ", fillcolor=\"#e8f4e8\", style=\"rounded,filled,dashed\"";
    } else if (st.st == status::inferred_fail) {
      attrs += ", fillcolor=\"#f6e6e6\", style=\"rounded,filled,dashed\"";
    } else if (st.st == status::failed) {
      attrs += ", fillcolor=\"#999999\"";
    } else {
      attrs += ", fillcolor=\"#f2f2f2\", style=\"rounded,filled,dashed\"";
    }
    if (!r.candidate) attrs += ", fontcolor=\"#777777\"";
    if (r.pick) attrs += ", penwidth=4, color=\"#1f4fd1\"";
    if (r.verified) attrs += ", peripheries=2";
    std::string esc;
    for (char ch : label) esc += ch == '\n' ? std::string("\\n") : ch == '"' ? std::string("\\\"") : std::string(1, ch);
    d += fmt::format("  m{} [label=\"{}\"{}];\n", i, esc, attrs);
  }
  for (int i = 0; i < p.size(); ++i) {
    for (int j : p.covers(i)) d += fmt::format("  m{} -> m{};\n", i, j);
  }
  return d + "}\n";
}

std::string results_csv(const exploration &x) {
  const space &s = *x.s;
  std::string csv = "id,hash,profile,compartments,label,category,candidate,status,because,value,unit,samples,pick,verified,reason\n";
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    const configuration &c = x.configs[i];
    const config_record &r = x.rec[i];
    std::string samples;
    for (double v : r.samples) samples += (samples.empty() ? "" : " ") + fmt::format("{:.6g}", v);
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", c.id(), c.hash, profile_name(s, c), c.blocks(),
                       csv_field(c.label(s)), to_string(r.cat), r.candidate ? 1 : 0, status_of(x, c.index),
                       because_of(x, c.index), figure(x, r.value), s.bench.metric.unit, samples, r.pick ? 1 : 0,
                       r.verified ? 1 : 0, csv_field(r.reason));
  }
  return csv;
}

std::string results_json(const exploration &x) {
  json j;
  describe_space(x, j);
  if (x.threshold) j["threshold"] = *x.threshold;
  if (x.baseline) j["baseline"] = {{"id", x.configs[static_cast<std::size_t>(x.baseline_config)].id()}, {"value", *x.baseline}};
  j["machine"] = {{"pku", x.pku}};
  j["complete"] = x.complete;
  j["interrupted"] = x.interrupted;
  if (!x.failure.empty()) j["failure"] = x.failure;
  j["totals"] = totals(x);
  j["picks"] = picks_json(x);
  j["verify"] = {{"checked", verified_count(x)}, {"violations", violations_json(x)}};
  j["configurations"] = configurations_json(x);
  j["hasse"] = hasse_edges_json(x);
  return j.dump(2) + "\n";
}

std::string report_html(const exploration &x, bool figure_drawn) {
  std::string h = html_summary(x) + html_picks(x);
  h += "<h2>Hasse diagram</h2>\n";
  h += figure_drawn ? "<p><a href=\"hasse.svg\"><img src=\"hasse.svg\" style=\"max-width:100%\"></a></p>\n" : "<p>(not drawn)</p>\n";
  return h + html_table(x) + "</body></html>\n";
}

std::string write_results_csv(const exploration &x, const fs::path &out) {
  return write_file(out / "results.csv", results_csv(x));
}

std::string write_results_json(const exploration &x, const fs::path &out) {
  return write_file(out / "results.json", results_json(x));
}

std::string write_picks(const exploration &x, const fs::path &out) {
  // Only this run's picks: one left from an earlier answer would read as part of this one.
  std::error_code ec;
  fs::remove_all(out / "picks", ec);
  std::string problems;
  for (int p : x.picks) {
    const configuration &c = x.configs[static_cast<std::size_t>(p)];
    problems += write_file(out / "picks" / (profile_name(*x.s, c) + ".yaml"), profile_yaml(*x.s, c));
  }
  return problems;
}

figure_result write_hasse(const exploration &x, const fs::path &out) {
  figure_result r;
  r.problems = write_file(out / "hasse.dot", hasse_dot(x));
  if (x.order->size() > 2000) {
    r.problems += "the Hasse diagram has too many nodes to draw\n";
    return r;
  }
  r.svg = run_command(fmt::format("dot -Tsvg '{}' -o '{}'", (out / "hasse.dot").string(), (out / "hasse.svg").string()),
                      out / "logs" / "dot.log", 600) == 0;
  const bool png = run_command(fmt::format("dot -Tpng -Gdpi=72 '{}' -o '{}'", (out / "hasse.dot").string(), (out / "hasse.png").string()),
                               out / "logs" / "dot.log", 600) == 0;
  if (!r.svg || !png) r.problems += "Graphviz `dot` failed (see logs/dot.log): no hasse.svg/png\n";
  return r;
}

std::string write_report_html(const exploration &x, const fs::path &out, bool figure_drawn) {
  return write_file(out / "report.html", report_html(x, figure_drawn));
}

std::string write_report(const exploration &x, const fs::path &out) {
  std::string problems = write_results_csv(x, out);
  problems += write_results_json(x, out);
  problems += write_picks(x, out);
  figure_result figure = write_hasse(x, out);
  problems += figure.problems;
  problems += write_report_html(x, out, figure.svg);
  return problems;
}

std::string summary_text(const exploration &x, const fs::path &out) {
  const space &s = *x.s;
  const json t = totals(x);
  std::string o = fmt::format("flexexplore: {}: {} configurations ({} explorable, {} not runnable here{}, {} refused by flexbuild)\n",
                              s.name, t["configurations"].get<int>(), t["explorable"].get<int>(), t["not_runnable_here"].get<int>(),
                              x.pku ? "" : ": no PKU", t["refused_by_flexbuild"].get<int>());
  o += fmt::format("  built {} (+{} up to date), benchmarked {} of {} ({:.0f}%; {} from the cache){}, {} runs, wall time {:.1f} s\n",
                   x.builds, x.builds_cached, t["benchmarked"].get<int>(), t["configurations"].get<int>(),
                   100 * t["benchmarked_fraction"].get<double>(), x.benchmarks_cached,
                   x.verify_benchmarks ? fmt::format(", +{} to verify", x.verify_benchmarks) : "", x.runs, x.wall_s);
  if (x.baseline) o += fmt::format("  baseline {} = {:.6g} {}\n", x.configs[static_cast<std::size_t>(x.baseline_config)].id(), *x.baseline, s.bench.metric.unit);
  if (x.threshold) o += fmt::format("  floor: {} {:.6g} {}\n", s.bench.metric.higher_is_better ? "at least" : "at most", *x.threshold, s.bench.metric.unit);
  for (int p : x.picks) {
    const configuration &c = x.configs[static_cast<std::size_t>(p)];
    o += fmt::format("  pick {} {} = {} {} -> {}\n", c.id(), c.label(s), figure(x, x.rec[static_cast<std::size_t>(p)].value),
                     s.bench.metric.unit, (out / "picks" / (profile_name(s, c) + ".yaml")).string());
  }
  if (x.complete && x.picks.empty()) o += "  no configuration meets the question\n";
  int failed = 0;
  std::string first_failure;
  for (const config_record &r : x.rec) {
    if (r.member >= 0 && x.result && x.result->state(r.member).st == status::failed) {
      if (failed++ == 0) first_failure = r.reason;
    }
  }
  if (failed) {
    std::string why = first_failure.substr(0, first_failure.find('\n'));
    if (auto at = first_failure.find("error:"); at != std::string::npos) {
      why = first_failure.substr(at, first_failure.find('\n', at) - at);
    }
    o += fmt::format("  {} configurations could not be built or run and were left out (first: {}; see results.csv)\n",
                     failed, why);
  }
  if (const int verified = verified_count(x)) {
    o += fmt::format("  verify: {} pruned configurations measured, {} disagree with the inference\n", verified, x.violations.size());
    for (const violation &v : x.violations) {
      o += fmt::format("    {} = {:.6g}: {} ({} = {:.6g})\n", x.order->at(v.member).id(), v.value, v.what,
                       v.against >= 0 ? x.order->at(v.against).id() : "-", v.against_value);
    }
  }
  if (!x.result) o += "  dry run: nothing built\n";
  if (x.interrupted) o += "  interrupted: run the same command again to resume from the cache\n";
  if (!x.failure.empty() && !x.interrupted) o += "  failed: " + x.failure + "\n";
  o += "  report: " + (out / "report.html").string() + "\n";
  return o;
}

}  // namespace flex::explore
