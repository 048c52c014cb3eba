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
    const config_record &r = x.rec[static_cast<std::size_t>(p)];
    json e = {{"id", c.id()}, {"hash", c.hash}, {"label", c.label(*x.s)}, {"value", r.value.value_or(0)},
              {"interval", {r.ci.lo, r.ci.hi}}, {"profile", "picks/" + profile_name(*x.s, c) + ".yaml"}};
    if (!r.report.empty()) e["report"] = r.report;
    picks.push_back(std::move(e));
  }
  return picks;
}

// The floor's ends: its interval (a floor relative to a measured baseline), or the floor itself.
std::pair<double, double> floor_ends(const exploration &x) {
  if (x.floor_interval.lo < x.floor_interval.hi) return {x.floor_interval.lo, x.floor_interval.hi};
  return {*x.threshold, *x.threshold};
}

// A pick's distance to the floor from the near end of its interval, relative to the floor (>= 0: clear),
// measured to the far end of the floor's own interval.
double margin(const exploration &x, const config_record &r) {
  const double t = *x.threshold;
  const auto [lo, hi] = floor_ends(x);
  return x.s->bench.metric.higher_is_better ? (r.ci.lo - hi) / t : (lo - r.ci.hi) / t;
}

// ", within [lo, hi]" when the floor carries the baseline's interval.
std::string floor_range_text(const exploration &x) {
  if (!(x.floor_interval.lo < x.floor_interval.hi)) return {};
  return fmt::format(" (within [{:.6g}, {:.6g}], from the baseline's interval)", x.floor_interval.lo, x.floor_interval.hi);
}

// Fastest: the measured candidates whose interval overlaps the pick's (tied with it within the noise).
std::vector<int> tied_with_pick(const exploration &x) {
  std::vector<int> out;
  if (x.s->q.g != goal::fastest || x.picks.empty()) return out;
  const config_record &p = x.rec[static_cast<std::size_t>(x.picks[0])];
  for (std::size_t i = 0; i < x.rec.size(); ++i) {
    const config_record &r = x.rec[i];
    if (static_cast<int>(i) == x.picks[0] || !r.candidate || !r.value || r.samples.empty()) continue;
    if (r.ci.hi >= p.ci.lo && r.ci.lo <= p.ci.hi) out.push_back(static_cast<int>(i));
  }
  return out;
}

// Runs beyond `max` taken because an interval straddled the floor (the baseline's own runs, which set the
// floor, are not counted).
int runs_near_floor(const exploration &x) {
  int n = 0;
  for (std::size_t i = 0; i < x.rec.size(); ++i) {
    if (static_cast<int>(i) == x.baseline_config) continue;
    n += std::max(0, static_cast<int>(x.rec[i].samples.size()) - x.s->bench.reps.max);
  }
  return n;
}

json stability_json(const exploration &x) {
  json j = {{"confidence", 0.95}};
  auto entry = [&](int i) {
    const configuration &c = x.configs[static_cast<std::size_t>(i)];
    const config_record &r = x.rec[static_cast<std::size_t>(i)];
    return json{{"id", c.id()}, {"label", c.label(*x.s)}, {"value", r.value.value_or(0)},
                {"interval", {r.ci.lo, r.ci.hi}}, {"coverage", r.ci.coverage}, {"runs", r.samples.size()}};
  };
  json picks = json::array();
  for (int p : x.picks) {
    json e = entry(p);
    if (x.threshold) e["margin"] = margin(x, x.rec[static_cast<std::size_t>(p)]);
    picks.push_back(std::move(e));
  }
  j["picks"] = std::move(picks);
  json border = json::array();
  for (int b : x.borderline) border.push_back(entry(b));
  j["borderline"] = std::move(border);
  json tied = json::array();
  for (int t : tied_with_pick(x)) tied.push_back(entry(t));
  j["tied_with_pick"] = std::move(tied);
  j["extra_runs_near_floor"] = runs_near_floor(x);
  return j;
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
  const std::vector<int> levels = x.order ? x.order->levels() : std::vector<int>{};
  json configs = json::array();
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    const configuration &c = x.configs[i];
    const config_record &r = x.rec[i];
    json e = {{"id", c.id()}, {"hash", c.hash}, {"profile", "profiles/" + profile_name(s, c) + ".yaml"},
              {"label", c.label(s)}, {"compartments", c.blocks()}, {"lockdown", build::to_string(c.lockdown)},
              {"category", to_string(r.cat)}, {"candidate", r.candidate}, {"status", status_of(x, c.index)}};
    if (auto b = because_of(x, c.index); !b.empty()) e["because"] = b;
    if (r.member >= 0) e["level"] = levels[static_cast<std::size_t>(r.member)];
    if (r.value) e["value"] = *r.value;
    if (!r.samples.empty()) {
      e["samples"] = r.samples;
      e["interval"] = {r.ci.lo, r.ci.hi};
      e["coverage"] = r.ci.coverage;
    }
    if (r.borderline) e["borderline"] = true;
    if (!r.report.empty()) e["report"] = r.report;
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
  std::string h = "<h1>flexexplore: " + html(s.name) + "</h1>\n<p>app <b>" + html(s.app) + "</b>; placed: " +
                  html(fmt::format("{}", fmt::join(s.libraries, ", "))) +
                  (s.rest.empty() ? "" : "; unplaced (with " + html(s.libraries[static_cast<std::size_t>(s.default_lib)]) + "): " + html(fmt::format("{}", fmt::join(s.rest, ", ")))) +
                  "; goal <b>" + std::string(s.q.g == goal::fastest ? "fastest" : "most-secure") + "</b>";
  if (x.threshold) h += fmt::format("; floor {:.6g} {}{}", *x.threshold, html(s.bench.metric.unit), html(floor_range_text(x)));
  if (x.baseline) h += fmt::format(" (baseline {:.6g})", *x.baseline);
  h += ".</p>\n<ul id=\"totals\">\n";
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

// The picks (each with its profile and flexbuild report), how stable they are, and where monotonicity
// failed (when --verify found it).
std::string html_picks(const exploration &x) {
  const space &s = *x.s;
  std::string h = "<h2>Picks</h2>\n<ul id=\"picks\">\n";
  for (int p : x.picks) {
    const configuration &c = x.configs[static_cast<std::size_t>(p)];
    const config_record &r = x.rec[static_cast<std::size_t>(p)];
    h += fmt::format("<li><b>{}</b> {} = {} {} [{}, {}] &mdash; <a href=\"picks/{}.yaml\">profile</a>", c.id(), html(c.label(s)),
                     figure(x, r.value), html(s.bench.metric.unit), figure(x, r.ci.lo), figure(x, r.ci.hi), profile_name(s, c));
    if (!r.report.empty()) h += fmt::format(", <a href=\"{}\">flexbuild report</a>", html(r.report));
    h += "</li>\n";
  }
  if (x.complete && x.picks.empty()) h += "<li>no configuration meets the question</li>\n";
  h += "</ul>\n<h2>Stability</h2>\n<pre id=\"stability\">" + html(stability_text(x)) + "</pre>\n";
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

// The mechanisms of a configuration's boundaries and the hardening of its compartments, as words.
std::string mechanisms_of(const configuration &c) {
  std::string out;
  if (c.blocks() < 2) return "none";
  for (isolation m : {isolation::none, isolation::mpk, isolation::process}) {
    if (std::count(c.iso.begin(), c.iso.end(), m)) out += (out.empty() ? "" : " ") + std::string(build::to_string(m));
  }
  return out;
}

std::string hardening_of(const configuration &c) {
  hardening_set all = 0;
  for (hardening_set h : c.hard) all |= h;
  std::string t = hardening_text(all, "none");
  std::replace(t.begin(), t.end(), '+', ' ');
  return t;
}

// The filters and the table of every configuration; the page's script hides the rows (and dims the
// scatter plot's points) the filters leave out.
std::string html_table(const exploration &x) {
  const space &s = *x.s;
  const std::vector<int> levels = x.order ? x.order->levels() : std::vector<int>{};
  const bitset front = x.order && x.result ? frontier(x) : bitset();
  std::string mech_opts, hard_opts, lock_opts;
  for (isolation m : s.mechanisms) mech_opts += fmt::format("<option>{}</option>", build::to_string(m));
  hardening_set offered = 0;
  for (const auto &choices : s.hardening) {
    for (hardening_set h : choices) offered |= h;
  }
  for (int bit = 0; bit < 8; ++bit) {
    if (offered & (1u << bit)) hard_opts += "<option>" + hardening_text(1u << bit) + "</option>";
  }
  for (lockdown_mode m : s.lockdowns) lock_opts += fmt::format("<option>{}</option>", build::to_string(m));
  std::string h = "<h2>Configurations</h2>\n<form id=\"filters\" onsubmit=\"return false\">"
                  "<label>placement contains <input id=\"f-text\" size=\"18\"></label> "
                  "<label>mechanism <select id=\"f-mech\"><option value=\"\">any</option>" + mech_opts + "</select></label> "
                  "<label>hardening <select id=\"f-hard\"><option value=\"\">any</option><option>none</option>" + hard_opts + "</select></label> "
                  "<label>lockdown <select id=\"f-lock\"><option value=\"\">any</option>" + lock_opts + "</select></label> "
                  "<label>show <select id=\"f-show\"><option value=\"frontier\">measured (the graph)</option>"
                  "<option value=\"\">all</option><option value=\"pick\">picks</option><option value=\"borderline\">borderline</option>"
                  "<option value=\"inferred\">inferred</option><option value=\"other\">refused or not runnable</option></select></label> "
                  "<span id=\"f-count\"></span></form>\n";
  h += "<table id=\"configs\"><thead><tr><th>id</th><th>compartments</th><th>level</th><th>category</th><th>status</th><th>from</th>"
       "<th>" + html(s.bench.metric.unit) + "</th><th>interval</th><th>runs</th><th>note</th></tr></thead><tbody>\n";
  for (std::size_t i = 0; i < x.configs.size(); ++i) {
    const configuration &c = x.configs[i];
    const config_record &r = x.rec[i];
    const std::string st = status_of(x, c.index);
    std::string show = r.cat != category::explorable && r.cat != category::outside ? "other"
                       : st.rfind("inferred", 0) == 0 || st == "dominated" || st == "bounded" ? "inferred" : "";
    if (r.member >= 0 && front.size() > 0 && front.test(r.member)) show += " frontier";
    if (r.pick) show += " pick";
    if (r.borderline) show += " borderline";
    const std::string cls = r.pick ? " class=\"pick\"" : r.borderline ? " class=\"borderline\"" : "";
    h += fmt::format("<tr{} data-id=\"{}\" data-label=\"{}\" data-mech=\"{}\" data-hard=\"{}\" data-lock=\"{}\" data-show=\"{}\">"
                     "<td>{}</td><td>{}</td><td class=n>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td>{}</td><td class=n>{}</td><td>{}</td></tr>\n",
                     cls, c.id(), html(c.label(s)), mechanisms_of(c), hardening_of(c), build::to_string(c.lockdown), show,
                     c.id(), html(c.label(s)), r.member >= 0 && !levels.empty() ? std::to_string(levels[static_cast<std::size_t>(r.member)]) : "",
                     to_string(r.cat), st, because_of(x, c.index), figure(x, r.value),
                     r.samples.size() > 1 ? figure(x, r.ci.lo) + "&ndash;" + figure(x, r.ci.hi) : "",
                     r.samples.empty() ? "" : std::to_string(r.samples.size()), html(r.reason));
  }
  return h + "</tbody></table>\n";
}

const char *const kStyle = R"(body{font-family:sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}
tr.pick{background:#dde6ff}tr.borderline{background:#fff1d6}td.n{text-align:right}
#frontier svg{max-width:100%;height:auto}#filters{margin:.5em 0 1em}#filters label{margin-right:1em}
#scatter .pt.dim{opacity:.12}pre{background:#f6f6f6;padding:.6em}
)";

const char *const kScript = R"(<script>
(function () {
  const f = id => document.getElementById(id);
  function apply() {
    const text = f('f-text').value.trim(), mech = f('f-mech').value, hard = f('f-hard').value,
          lock = f('f-lock').value, show = f('f-show').value;
    const shown = new Set();
    let n = 0, total = 0;
    for (const row of document.querySelectorAll('#configs tbody tr')) {
      const d = row.dataset;
      const ok = (!text || d.label.includes(text)) && (!mech || d.mech.split(' ').includes(mech)) &&
                 (!hard || d.hard.split(' ').includes(hard)) && (!lock || d.lock === lock) &&
                 (!show || d.show.split(' ').includes(show));
      row.hidden = !ok;
      total++;
      if (ok) { n++; shown.add(d.id); }
    }
    for (const pt of document.querySelectorAll('#scatter .pt')) pt.classList.toggle('dim', !shown.has(pt.dataset.id));
    f('f-count').textContent = n + ' of ' + total + ' shown';
  }
  for (const id of ['f-text', 'f-mech', 'f-hard', 'f-lock', 'f-show']) {
    f(id).addEventListener('input', apply);
    f(id).addEventListener('change', apply);
  }
  apply();
  // Nothing measured (a dry run, or nothing built yet): show every configuration.
  if (!document.querySelector('#configs tbody tr:not([hidden])')) {
    f('f-show').value = '';
    apply();
  }
})();
</script>
)";

// write_atomically's error as a line of the report's problems, or nothing.
std::string write_file(const fs::path &path, const std::string &text) {
  auto err = build::write_atomically(path, text);
  return err ? *err + "\n" : "";
}

}  // namespace

namespace {

// The lowest and highest figure among the members (to colour them).
std::pair<double, double> figure_range(const exploration &x) {
  double lo = 0, hi = 0;
  bool any = false;
  for (int i = 0; i < x.order->size(); ++i) {
    if (auto v = x.rec[static_cast<std::size_t>(x.order->at(i).index)].value) {
      lo = any ? std::min(lo, *v) : *v;
      hi = any ? std::max(hi, *v) : *v;
      any = true;
    }
  }
  return {lo, hi};
}

// One member as a Graphviz node: its id, figure and compartments, filled by the figure.
std::string dot_node(const exploration &x, int member, std::pair<double, double> range) {
  const space &s = *x.s;
  const configuration &c = x.order->at(member);
  const config_record &r = x.rec[static_cast<std::size_t>(c.index)];
  member_state st = x.result ? x.result->state(member) : member_state{};
  st.value = r.value;  // measured by the search or by --verify
  std::string label = c.id();
  if (st.value) label += fmt::format(" = {:.4g}", *st.value);
  std::string blocks = c.label(s);
  std::replace(blocks.begin(), blocks.end(), ' ', '\n');
  label += "\n" + blocks;
  std::string attrs;
  const auto [lo, hi] = range;
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
  else if (r.borderline) attrs += ", penwidth=3, color=\"#e08e0b\"";
  if (r.verified) attrs += ", peripheries=2";
  std::string esc;
  for (char ch : label) esc += ch == '\n' ? std::string("\\n") : ch == '"' ? std::string("\\\"") : std::string(1, ch);
  return fmt::format("  m{} [label=\"{}\", tooltip=\"{}\"{}];\n", member, esc, c.id(), attrs);
}

std::string dot_header(const exploration &x, const std::string &name, const std::string &what) {
  const space &s = *x.s;
  return "digraph " + name + " {\n  rankdir=BT;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", "
         "fontsize=10, fillcolor=white];\n  edge [arrowhead=none, color=\"#888888\"];\n" +
         fmt::format("  label=\"{}: {}; safer is higher; fill: {} ({} is better; red worst, green best); grey: inferred; "
                     "thick blue: pick\";\n  labelloc=t;\n",
                     s.name, what, s.bench.metric.unit, s.bench.metric.higher_is_better ? "higher" : "lower");
}

}  // namespace

std::string hasse_dot(const exploration &x) {
  const poset &p = *x.order;
  const auto range = figure_range(x);
  std::string d = dot_header(x, "hasse", "every explorable configuration");
  for (int i = 0; i < p.size(); ++i) d += dot_node(x, i, range);
  for (int i = 0; i < p.size(); ++i) {
    for (int j : p.covers(i)) d += fmt::format("  m{} -> m{};\n", i, j);
  }
  return d + "}\n";
}

bitset frontier(const exploration &x) {
  const poset &p = *x.order;
  bitset out(p.size());
  for (int i = 0; i < p.size(); ++i) {
    const config_record &r = x.rec[static_cast<std::size_t>(p.at(i).index)];
    const bool failed = x.result && x.result->state(i).st == status::failed;
    if (r.value || r.pick || failed) out.set(i);
  }
  return out;
}

std::string frontier_dot(const exploration &x) {
  const poset &p = *x.order;
  const bitset front = frontier(x);
  const auto range = figure_range(x);
  std::string d = dot_header(x, "frontier", "the picks and what was measured to settle them");
  for (int i : front.members()) d += dot_node(x, i, range);
  // The order restricted to these members, transitively reduced.
  for (int i : front.members()) {
    bitset up = p.above(i);
    up &= front;
    bitset indirect(p.size());
    for (int k : up.members()) indirect |= p.above(k);
    for (int j : up.minus(indirect).members()) d += fmt::format("  m{} -> m{};\n", i, j);
  }
  return d + "}\n";
}

std::string scatter_svg(const exploration &x) {
  const space &s = *x.s;
  const bool hi_better = s.bench.metric.higher_is_better;
  if (!x.order) return "<p>(no measurements)</p>";
  const std::vector<int> levels = x.order->levels();
  struct point {
    int config, level;
    double v, lo, hi;
  };
  std::vector<point> pts;
  int max_level = 0;
  double ymin = 0, ymax = 0;
  for (int m = 0; m < x.order->size(); ++m) {
    const int i = x.order->at(m).index;
    const config_record &r = x.rec[static_cast<std::size_t>(i)];
    max_level = std::max(max_level, levels[static_cast<std::size_t>(m)]);
    if (!r.value) continue;
    const double lo = r.samples.size() > 1 ? r.ci.lo : *r.value, hi = r.samples.size() > 1 ? r.ci.hi : *r.value;
    pts.push_back({i, levels[static_cast<std::size_t>(m)], *r.value, lo, hi});
    ymin = pts.size() == 1 ? lo : std::min(ymin, lo);
    ymax = pts.size() == 1 ? hi : std::max(ymax, hi);
  }
  if (pts.empty()) return "<p>(no measurements)</p>";
  if (x.threshold) {
    ymin = std::min(ymin, floor_ends(x).first);
    ymax = std::max(ymax, floor_ends(x).second);
  }
  if (ymax <= ymin) ymax = ymin + std::max(1.0, std::fabs(ymin) * 0.1);
  const double pad = (ymax - ymin) * 0.06;
  ymin = std::max(0.0, ymin - pad);
  ymax += pad;
  const double W = 960, H = 440, L = 80, R = 20, T = 20, B = 50;
  auto X = [&](double level) { return L + (W - L - R) * (level + 0.5) / (max_level + 1); };
  auto Y = [&](double v) { return T + (H - T - B) * (1 - (v - ymin) / (ymax - ymin)); };
  std::string o = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
                              "font-family=\"sans-serif\" font-size=\"11\">\n",
                              W, H, W, H);
  o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#bbb\"/>\n", L, T, W - L - R, H - T - B);
  // Axes: a tick per level (every few when there are many), five figures.
  const int step = std::max(1, (max_level + 1) / 20);
  for (int l = 0; l <= max_level; l += step) {
    o += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", X(l), H - B + 16, l);
  }
  o += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">level in the safer-than order (safer to the right)</text>\n",
                   L + (W - L - R) / 2, H - 8);
  for (int k = 0; k <= 4; ++k) {
    const double v = ymin + (ymax - ymin) * k / 4;
    o += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e4e4e4\"/><text x=\"{}\" y=\"{:.1f}\" "
                     "text-anchor=\"end\">{:.4g}</text>\n",
                     L, W - R, Y(v), Y(v), L - 6, Y(v) + 4, v);
  }
  o += fmt::format("<text x=\"14\" y=\"{:.1f}\" transform=\"rotate(-90 14 {:.1f})\" text-anchor=\"middle\">{} ({} is better)</text>\n",
                   T + (H - T - B) / 2, T + (H - T - B) / 2, html(s.bench.metric.unit), hi_better ? "higher" : "lower");
  if (x.threshold) {
    o += fmt::format("<line id=\"floor\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#c0392b\" stroke-dasharray=\"6 4\"/>"
                     "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#c0392b\">floor {:.4g}</text>\n",
                     L, W - R, Y(*x.threshold), Y(*x.threshold), W - R - 4, Y(*x.threshold) - 4, *x.threshold);
    const auto [flo, fhi] = floor_ends(x);
    for (double v : {flo, fhi}) {  // the floor's interval, when it has one
      if (flo < fhi) {
        o += fmt::format("<line class=\"floor-range\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#c0392b\" "
                         "stroke-opacity=\"0.4\" stroke-dasharray=\"2 4\"/>\n",
                         L, W - R, Y(v), Y(v));
      }
    }
  }
  // Points of one level spread sideways, in figure order, so that they do not hide each other.
  std::stable_sort(pts.begin(), pts.end(), [](const point &a, const point &b) { return a.level != b.level ? a.level < b.level : a.v < b.v; });
  const double slot = (W - L - R) / (max_level + 1);
  for (std::size_t a = 0; a < pts.size();) {
    std::size_t b = a;
    while (b < pts.size() && pts[b].level == pts[a].level) ++b;
    const double n = static_cast<double>(b - a);
    for (std::size_t k = a; k < b; ++k) {
      const point &pt = pts[k];
      const config_record &r = x.rec[static_cast<std::size_t>(pt.config)];
      const configuration &c = x.configs[static_cast<std::size_t>(pt.config)];
      const double cx = X(pt.level) + (n > 1 ? (static_cast<double>(k - a) / (n - 1) - 0.5) * std::min(slot * 0.7, 8.0 * n) : 0);
      const bool passes = !x.threshold || (hi_better ? pt.v >= *x.threshold : pt.v <= *x.threshold);
      const char *fill = r.borderline ? "#e08e0b" : !x.threshold ? "#4a7bd0" : passes ? "#2a9d2a" : "#c0392b";
      o += fmt::format("<g class=\"pt{}{}\" data-id=\"{}\"><title>{} {} = {:.6g} [{:.6g}, {:.6g}], {} runs</title>", r.pick ? " pick" : "",
                       r.borderline ? " borderline" : "", c.id(), c.id(), html(c.label(s)), pt.v, pt.lo, pt.hi, r.samples.size());
      if (pt.hi > pt.lo) {
        o += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"1.5\"/>", cx, cx,
                         Y(pt.lo), Y(pt.hi), fill);
      }
      if (pt.config == x.baseline_config) {
        o += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"8\" height=\"8\" fill=\"#333\"/>", cx - 4, Y(pt.v) - 4);
      } else {
        o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"/>", cx, Y(pt.v), fill);
      }
      if (r.pick) o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"9\" fill=\"none\" stroke=\"#1f4fd1\" stroke-width=\"3\"/>", cx, Y(pt.v));
      o += "</g>\n";
    }
    a = b;
  }
  // The legend.
  o += fmt::format("<g transform=\"translate({},{})\"><circle cx=\"0\" cy=\"0\" r=\"4\" fill=\"#2a9d2a\"/><text x=\"8\" y=\"4\">meets the floor</text>"
                   "<circle cx=\"110\" cy=\"0\" r=\"4\" fill=\"#c0392b\"/><text x=\"118\" y=\"4\">misses it</text>"
                   "<circle cx=\"190\" cy=\"0\" r=\"4\" fill=\"#e08e0b\"/><text x=\"198\" y=\"4\">borderline</text>"
                   "<circle cx=\"280\" cy=\"0\" r=\"8\" fill=\"none\" stroke=\"#1f4fd1\" stroke-width=\"3\"/><text x=\"292\" y=\"4\">pick</text>"
                   "<rect x=\"336\" y=\"-4\" width=\"8\" height=\"8\" fill=\"#333\"/><text x=\"350\" y=\"4\">baseline</text>"
                   "<text x=\"420\" y=\"4\">bars: the median's interval</text></g>\n",
                   L + 10, T + 12);
  return o + "</svg>";
}

std::string stability_text(const exploration &x) {
  const space &s = *x.s;
  std::string o;
  auto line = [&](int i) {
    const configuration &c = x.configs[static_cast<std::size_t>(i)];
    const config_record &r = x.rec[static_cast<std::size_t>(i)];
    return fmt::format("{} {} = {} [{}, {}] from {} runs", c.id(), c.label(s), figure(x, r.value), figure(x, r.ci.lo),
                       figure(x, r.ci.hi), r.samples.size());
  };
  if (!x.complete) return "the exploration did not complete: no answer to judge\n";
  if (x.picks.empty()) return "no picks\n";
  bool thin = false;
  for (int p : x.picks) thin = thin || x.rec[static_cast<std::size_t>(p)].ci.coverage < 0.95;
  if (x.threshold) {
    int closest = x.picks[0];
    for (int p : x.picks) {
      if (margin(x, x.rec[static_cast<std::size_t>(p)]) < margin(x, x.rec[static_cast<std::size_t>(closest)])) closest = p;
    }
    o += fmt::format("every pick's interval clears the floor; the closest by {:.1f}%: {}\n",
                     100 * margin(x, x.rec[static_cast<std::size_t>(closest)]), line(closest));
    if (x.borderline.empty()) {
      o += "no borderline configuration: another run of the exploration gives the same picks unless a figure moves "
           "past the floor beyond its interval\n";
    } else {
      o += fmt::format("{} borderline (interval still straddling the floor after {} runs; might meet it on another day):\n",
                       x.borderline.size(), std::max(s.bench.reps.max, s.bench.reps.max_near_floor));
      for (int b : x.borderline) o += "  " + line(b) + "\n";
    }
    o += fmt::format("{} extra runs were taken where an interval straddled the floor\n", runs_near_floor(x));
  } else {
    const std::vector<int> tied = tied_with_pick(x);
    o += "the pick: " + line(x.picks[0]) + "\n";
    if (tied.empty()) {
      o += "no other measured candidate's interval overlaps the pick's: the pick is clear\n";
    } else {
      o += fmt::format("{} measured candidates are tied with it within the noise (their intervals overlap):\n", tied.size());
      for (int t : tied) o += "  " + line(t) + "\n";
    }
  }
  if (thin) o += "intervals from fewer than 6 runs are [min, max] and cover the median with less than 95%\n";
  return o;
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
  if (x.threshold) {
    j["threshold"] = *x.threshold;
    j["floor_interval"] = {floor_ends(x).first, floor_ends(x).second};
  }
  if (x.baseline) j["baseline"] = {{"id", x.configs[static_cast<std::size_t>(x.baseline_config)].id()}, {"value", *x.baseline}};
  j["machine"] = {{"pku", x.pku}};
  j["complete"] = x.complete;
  j["interrupted"] = x.interrupted;
  if (!x.failure.empty()) j["failure"] = x.failure;
  j["totals"] = totals(x);
  j["picks"] = picks_json(x);
  j["stability"] = stability_json(x);
  j["verify"] = {{"checked", verified_count(x)}, {"violations", violations_json(x)}};
  j["configurations"] = configurations_json(x);
  j["hasse"] = hasse_edges_json(x);
  return j.dump(2) + "\n";
}

std::string report_html(const exploration &x, const figure_result &figures) {
  std::string h = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>flexexplore: " + html(x.s->name) +
                  "</title>\n<style>" + kStyle + "</style></head><body>\n";
  h += html_summary(x) + html_picks(x);
  h += "<h2>Frontier</h2>\n<p>The picks and every configuration measured to settle them, safer higher; a line "
       "joins two of them when one is safer than the other with none of them between. Fill: the figure (red worst, "
       "green best); orange outline: borderline; thick blue: pick.";
  if (figures.hasse_svg) h += " The whole order: <a href=\"hasse.svg\">hasse.svg</a>.";
  h += "</p>\n<div id=\"frontier\">" + (figures.frontier_svg.empty() ? std::string("(not drawn)") : figures.frontier_svg) + "</div>\n";
  h += "<h2>Figure against safety</h2>\n<div id=\"scatter\">" + scatter_svg(x) + "</div>\n";
  return h + html_table(x) + kScript + "</body></html>\n";
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

figure_result write_figures(const exploration &x, const fs::path &out) {
  figure_result r;
  auto draw = [&](const std::string &name, bool png) {
    const fs::path dot = out / (name + ".dot");
    bool ok = run_command(fmt::format("dot -Tsvg '{}' -o '{}'", dot.string(), (out / (name + ".svg")).string()),
                          out / "logs" / "dot.log", 600) == 0;
    if (png) {
      ok = run_command(fmt::format("dot -Tpng -Gdpi=72 '{}' -o '{}'", dot.string(), (out / (name + ".png")).string()),
                       out / "logs" / "dot.log", 600) == 0 && ok;
    }
    if (!ok) r.problems += "Graphviz `dot` failed (see logs/dot.log): no " + name + (png ? ".svg/png\n" : ".svg\n");
    return ok;
  };
  if (!x.order) return r;
  std::string problem = write_file(out / "frontier.dot", frontier_dot(x));
  r.problems += problem;
  if (problem.empty() && draw("frontier", false)) {
    if (auto svg = build::read_file(out / "frontier.svg")) {
      const auto at = svg->find("<svg");
      if (at != std::string::npos) r.frontier_svg = svg->substr(at);
    }
  }
  problem = write_file(out / "hasse.dot", hasse_dot(x));
  r.problems += problem;
  if (x.order->size() > 2000) {
    r.problems += "the Hasse diagram has too many nodes to draw\n";
    return r;
  }
  if (problem.empty()) r.hasse_svg = draw("hasse", true);
  return r;
}

std::string write_report_html(const exploration &x, const fs::path &out, const figure_result &figures) {
  return write_file(out / "report.html", report_html(x, figures));
}

std::string write_report(const exploration &x, const fs::path &out) {
  std::string problems = write_results_csv(x, out);
  problems += write_results_json(x, out);
  problems += write_picks(x, out);
  figure_result figures = write_figures(x, out);
  problems += figures.problems;
  problems += write_report_html(x, out, figures);
  return problems;
}

std::string write_pick_reports(exploration &x, const fs::path &out, const fs::path &flexbuild) {
  std::string problems;
  for (int p : x.picks) {
    const configuration &c = x.configs[static_cast<std::size_t>(p)];
    const std::string name = profile_name(*x.s, c);
    const fs::path dir = out / "reports";
    std::error_code ec;
    fs::create_directories(dir, ec);
    // The image the exploration built, from the profile it was built with: flexbuild finds it up to date.
    const std::string cmd = fmt::format("'{}' report --profile '{}' -o '{}' --root '{}' --html '{}'", flexbuild.string(),
                                        (out / "profiles" / (name + ".yaml")).string(),
                                        (out / "images" / c.build_slot).string(), x.s->root.string(),
                                        (dir / (name + ".html")).string());
    std::string text;
    const int st = run_command(cmd, out / "logs" / (c.hash + ".report.log"), 600, &text);
    if (st != 0) {
      problems += fmt::format("flexbuild report of pick {} failed (status {}; see logs/{}.report.log)\n", c.id(), st, c.hash);
      continue;
    }
    problems += write_file(dir / (name + ".txt"), text);
    x.rec[static_cast<std::size_t>(p)].report = "reports/" + name + ".html";
  }
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
  if (x.threshold) {
    o += fmt::format("  floor: {} {:.6g} {}{}\n", s.bench.metric.higher_is_better ? "at least" : "at most", *x.threshold,
                     s.bench.metric.unit, floor_range_text(x));
  }
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
