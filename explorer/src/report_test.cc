// The report's writers one by one (report.h): what each file holds, and that a folder or a file that
// cannot be written leaves nothing half-written behind. The exploration comes from a run on the small
// redis space with a fake evaluator, some of whose builds and benchmarks fail.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fake_space.h"
#include "flex/build/fs_util.h"
#include "flex/explore/explore.h"
#include "flex/explore/report.h"

namespace flex::explore {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A benchmark error with every character the CSV and the HTML must escape.
const char *const kOddError = "the output has no figure matching '\"<rps>\", GET'";

int count_lines(const std::string &text, const std::string &prefix) {
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0;
  return n;
}

// Every file under `dir`, as paths relative to it.
std::vector<std::string> files_under(const fs::path &dir) {
  std::vector<std::string> out;
  for (const auto &e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_directory()) out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class report : public ::testing::Test {
 protected:
  void SetUp() override {
    g_interrupted = false;
    s_ = test::redis_space();
    dir_ = test::scratch_dir();
    test::fake_evaluator ev(s_);
    for (const configuration &c : enumerate(s_)) {
      if (c.index % 5 == 2) ev.failing_builds.insert(c.hash);
      if (c.index % 7 == 3) ev.failing_runs[c.hash] = kOddError;
    }
    explore_options o;
    o.out = dir_ / "run";
    o.jobs = 2;
    o.pku = false;
    o.progress = false;
    o.verify = 2;
    x_ = run(s_, o, ev);
    x_.wall_s = 12.25;
    ASSERT_TRUE(x_.complete);
    ASSERT_FALSE(x_.picks.empty());
    out_ = dir_ / "report";
  }
  const config_record *first_failed(const std::string &reason) const {
    for (const config_record &r : x_.rec) {
      if (r.reason == reason) return &r;
    }
    return nullptr;
  }

  space s_;
  fs::path dir_, out_;
  exploration x_;
};

TEST_F(report, results_csv_has_a_row_per_configuration_and_quotes_what_needs_it) {
  ASSERT_TRUE(first_failed(kOddError)) << "the search measured no configuration whose benchmark fails";
  ASSERT_TRUE(first_failed("flexbuild exited with status 1: error: planted"));
  const std::string csv = results_csv(x_);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "id,hash,profile,compartments,label,category,candidate,status,because,value,unit,samples,pick,"
            "verified,reason");
  EXPECT_EQ(count_lines(csv, "c"), static_cast<int>(x_.configs.size()));
  for (int p : x_.picks) {
    const configuration &c = x_.configs[static_cast<std::size_t>(p)];
    EXPECT_EQ(count_lines(csv, c.id() + "," + c.hash + ","), 1);
  }
  // A field holding a comma or a quote is quoted, its quotes doubled.
  EXPECT_NE(csv.find(",\"the output has no figure matching '\"\"<rps>\"\", GET'\"\n"), std::string::npos);
  EXPECT_NE(csv.find(",failed,"), std::string::npos);
  EXPECT_NE(csv.find(",not-runnable-here,0,not-runnable-here,"), std::string::npos);
}

TEST_F(report, results_json_holds_the_question_totals_picks_and_every_configuration) {
  const json j = json::parse(results_json(x_));
  EXPECT_EQ(j["space"], "resume");
  EXPECT_EQ(j["goal"], "most-secure");
  EXPECT_EQ(j["libraries"], json({"redis", "net", "console"}));
  EXPECT_EQ(j["lockdowns"], json({"enforce"}));
  EXPECT_EQ(j["threshold"].get<double>(), *x_.threshold);
  EXPECT_EQ(j["baseline"]["value"].get<double>(), *x_.baseline);
  EXPECT_TRUE(j["complete"].get<bool>());
  EXPECT_FALSE(j.contains("failure"));
  EXPECT_EQ(j["totals"]["configurations"], 67);
  EXPECT_EQ(j["totals"]["not_runnable_here"], 34);
  EXPECT_EQ(j["totals"]["wall_s"], 12.25);
  ASSERT_EQ(j["picks"].size(), x_.picks.size());
  for (std::size_t k = 0; k < x_.picks.size(); ++k) {
    const configuration &c = x_.configs[static_cast<std::size_t>(x_.picks[k])];
    EXPECT_EQ(j["picks"][k]["hash"], c.hash);
    EXPECT_EQ(j["picks"][k]["profile"], "picks/" + profile_name(s_, c) + ".yaml");
  }
  EXPECT_EQ(j["verify"]["checked"].get<int>(),
            static_cast<int>(std::count_if(x_.rec.begin(), x_.rec.end(),
                                           [](const config_record &r) { return r.verified; })));
  ASSERT_EQ(j["configurations"].size(), x_.configs.size());
  for (const json &e : j["configurations"]) {
    const config_record &r = x_.rec[std::stoul(e["id"].get<std::string>().substr(1))];
    EXPECT_EQ(e.contains("value"), r.value.has_value()) << e["id"];
    EXPECT_EQ(e.value("reason", ""), r.reason) << e["id"];
    EXPECT_EQ(e["lockdown"], "enforce") << e["id"];
  }
  EXPECT_EQ(static_cast<int>(j["hasse"].size()), x_.order->cover_count());
}

TEST_F(report, hasse_dot_draws_every_member_and_cover_and_outlines_the_picks) {
  const std::string dot = hasse_dot(x_);
  EXPECT_EQ(dot.rfind("digraph hasse {\n", 0), 0u);
  int nodes = 0, edges = 0;
  std::istringstream in(dot);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  m", 0) != 0) continue;
    (line.find(" -> ") != std::string::npos ? edges : nodes) += 1;
  }
  EXPECT_EQ(nodes, x_.order->size());
  EXPECT_EQ(edges, x_.order->cover_count());
  size_t picked = 0;
  for (std::size_t at = dot.find("penwidth=4"); at != std::string::npos; at = dot.find("penwidth=4", at + 1))
    ++picked;
  EXPECT_EQ(picked, x_.picks.size());
  EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
}

// The frontier graph: the picks and every configuration measured, with the order between them reduced.
TEST_F(report, frontier_dot_draws_the_measured_configurations_and_the_order_between_them) {
  const std::string dot = frontier_dot(x_);
  EXPECT_EQ(dot.rfind("digraph frontier {\n", 0), 0u);
  const bitset front = frontier(x_);
  int nodes = 0, edges = 0;
  std::istringstream in(dot);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  m", 0) != 0) continue;
    const bool edge = line.find(" -> ") != std::string::npos;
    (edge ? edges : nodes) += 1;
    if (!edge) continue;
    // Each edge joins two members of the frontier, the lower first, with no member of it between.
    int a = -1, b = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "  m%d -> m%d;", &a, &b), 2) << line;
    EXPECT_TRUE(front.test(a) && front.test(b)) << line;
    EXPECT_TRUE(x_.order->less(a, b)) << line;
    for (int c : front.members()) EXPECT_FALSE(x_.order->less(a, c) && x_.order->less(c, b)) << line;
  }
  EXPECT_EQ(nodes, front.count());
  EXPECT_LT(nodes, x_.order->size()) << "the frontier leaves out what was inferred";
  for (int p : x_.picks) EXPECT_TRUE(front.test(x_.rec[static_cast<std::size_t>(p)].member));
  for (std::size_t i = 0; i < x_.rec.size(); ++i) {
    if (x_.rec[i].value) EXPECT_TRUE(front.test(x_.rec[i].member)) << x_.configs[i].id();
  }
}

// The scatter plot: one point per measured configuration at its level, the floor and the picks marked.
TEST_F(report, scatter_svg_has_a_point_per_measured_configuration_the_floor_and_the_picks) {
  const std::string svg = scatter_svg(x_);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  int measured = 0;
  for (const config_record &r : x_.rec) measured += r.value.has_value();
  size_t points = 0, picks = 0;
  for (auto at = svg.find("<g class=\"pt"); at != std::string::npos; at = svg.find("<g class=\"pt", at + 1)) {
    ++points;
    picks += svg.compare(at, 17, "<g class=\"pt pick") == 0;
  }
  EXPECT_EQ(points, static_cast<size_t>(measured));
  EXPECT_EQ(picks, x_.picks.size());
  EXPECT_NE(svg.find("<line id=\"floor\""), std::string::npos);
  EXPECT_NE(svg.find(fmt::format("floor {:.4g}", *x_.threshold)), std::string::npos);
  // Levels grow along every chain of the order.
  const std::vector<int> levels = x_.order->levels();
  for (int a = 0; a < x_.order->size(); ++a) {
    for (int b : x_.order->above(a).members()) EXPECT_LT(levels[static_cast<std::size_t>(a)], levels[static_cast<std::size_t>(b)]);
  }
}

TEST_F(report, report_html_escapes_and_inlines_the_frontier_only_when_drawn) {
  figure_result figures{.problems = "", .frontier_svg = "<svg id=\"planted\"></svg>", .hasse_svg = true};
  const std::string drawn = report_html(x_, figures), not_drawn = report_html(x_, figure_result{});
  EXPECT_NE(drawn.find("<div id=\"frontier\"><svg id=\"planted\"></svg></div>"), std::string::npos);
  EXPECT_NE(drawn.find("<a href=\"hasse.svg\">"), std::string::npos);
  EXPECT_EQ(not_drawn.find("hasse.svg"), std::string::npos);
  EXPECT_NE(not_drawn.find("<div id=\"frontier\">(not drawn)</div>"), std::string::npos);
  EXPECT_NE(drawn.find("<div id=\"scatter\"><svg"), std::string::npos);
  EXPECT_NE(drawn.find("&quot;&lt;rps&gt;&quot;, GET"), std::string::npos) << "the reason is escaped";
  EXPECT_EQ(drawn.find("<rps>"), std::string::npos);
  EXPECT_NE(drawn.find("<table id=\"configs\">"), std::string::npos);
  EXPECT_EQ(count_lines(drawn, "<tr "), static_cast<int>(x_.configs.size()));
  EXPECT_EQ(count_lines(drawn, "<tr class=\"pick\""), static_cast<int>(x_.picks.size()));
  EXPECT_NE(drawn.find("<pre id=\"stability\">every pick's interval clears the floor"), std::string::npos)
      << drawn.substr(drawn.find("<pre id=\"stability\">"), 200);
  EXPECT_NE(drawn.find("wall time 12 s"), std::string::npos);
  EXPECT_EQ(drawn.substr(drawn.size() - 15), "</body></html>\n");
}

TEST_F(report, results_json_says_how_stable_the_answer_is) {
  const json j = json::parse(results_json(x_));
  const json &st = j["stability"];
  ASSERT_EQ(st["picks"].size(), x_.picks.size());
  for (const json &p : st["picks"]) {
    EXPECT_GE(p["margin"].get<double>(), 0) << p.dump();
    EXPECT_GE(p["interval"][0].get<double>(), *x_.threshold);
  }
  EXPECT_TRUE(st["borderline"].empty()) << "the fake benchmark has no noise";
  EXPECT_EQ(st["extra_runs_near_floor"], 0);
  for (const json &c : j["configurations"]) {
    if (c.contains("samples")) {
      EXPECT_LE(c["interval"][0].get<double>(), c["value"].get<double>());
      EXPECT_GE(c["interval"][1].get<double>(), c["value"].get<double>());
    }
    if (c["category"] == "explorable") EXPECT_TRUE(c.contains("level")) << c["id"];
  }
}

TEST_F(report, write_report_is_its_writers_in_turn) {
  const std::string problems = write_report(x_, out_);
  const bool graphviz = std::system("command -v dot >/dev/null 2>&1") == 0;
  if (graphviz) {
    EXPECT_EQ(problems, "");
  } else {
    EXPECT_EQ(problems, "Graphviz `dot` failed (see logs/dot.log): no frontier.svg\n"
                        "Graphviz `dot` failed (see logs/dot.log): no hasse.svg/png\n");
  }
  EXPECT_EQ(build::read_file(out_ / "results.csv"), results_csv(x_));
  EXPECT_EQ(build::read_file(out_ / "results.json"), results_json(x_));
  EXPECT_EQ(build::read_file(out_ / "hasse.dot"), hasse_dot(x_));
  EXPECT_EQ(build::read_file(out_ / "frontier.dot"), frontier_dot(x_));
  figure_result figures;
  figures.hasse_svg = graphviz;
  if (graphviz) {
    const std::string svg = build::read_file(out_ / "frontier.svg").value_or("");
    figures.frontier_svg = svg.substr(svg.find("<svg"));
  }
  EXPECT_EQ(build::read_file(out_ / "report.html"), report_html(x_, figures));
  EXPECT_EQ(fs::exists(out_ / "hasse.svg"), graphviz);
  EXPECT_EQ(fs::exists(out_ / "hasse.png"), graphviz);
  for (int p : x_.picks) {
    const configuration &c = x_.configs[static_cast<std::size_t>(p)];
    EXPECT_EQ(build::read_file(out_ / "picks" / (profile_name(s_, c) + ".yaml")), profile_yaml(s_, c));
  }
}

TEST_F(report, write_picks_leaves_only_this_runs_picks) {
  ASSERT_EQ(build::write_atomically(out_ / "picks" / "an-earlier-answer.yaml", "name: old\n"), std::nullopt);
  EXPECT_EQ(write_picks(x_, out_), "");
  std::vector<std::string> expected;
  for (int p : x_.picks)
    expected.push_back("picks/" + profile_name(s_, x_.configs[static_cast<std::size_t>(p)]) + ".yaml");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(files_under(out_), expected);
}

TEST_F(report, a_folder_that_cannot_be_made_leaves_nothing_behind) {
  // The output folder's parent is a file: no writer can create anything (this holds for root too).
  const fs::path blocked = dir_ / "blocked";
  ASSERT_EQ(build::write_atomically(blocked / "a-file", "x"), std::nullopt);
  const fs::path out = blocked / "a-file" / "report";
  for (const std::string &problem : {write_results_csv(x_, out), write_results_json(x_, out),
                                     write_picks(x_, out), write_report_html(x_, out, figure_result{})}) {
    EXPECT_EQ(problem.rfind("cannot create " + out.string(), 0), 0u) << problem;
    EXPECT_EQ(problem.back(), '\n');
  }
  figure_result figure = write_figures(x_, out);
  EXPECT_FALSE(figure.hasse_svg);
  EXPECT_TRUE(figure.frontier_svg.empty());
  EXPECT_EQ(count_lines(figure.problems, "cannot create " + out.string()), 2) << figure.problems;  // both .dot files
  const std::string all = write_report(x_, out);
  EXPECT_EQ(count_lines(all, "cannot create "), 5 + static_cast<int>(x_.picks.size()));
  EXPECT_EQ(build::read_file(blocked / "a-file"), "x");
  EXPECT_EQ(files_under(blocked), std::vector<std::string>{"a-file"});
}

TEST_F(report, a_file_that_cannot_be_replaced_stays_as_it_was_and_no_temporary_remains) {
  // Where results.csv, results.json and report.html should go there are folders: each writer writes its
  // temporary file, fails to rename it over the folder, and removes it.
  for (const char *name : {"results.csv", "results.json", "report.html"})
    fs::create_directories(out_ / name / "kept");
  EXPECT_EQ(write_results_csv(x_, out_).rfind("cannot write " + (out_ / "results.csv").string() + ": ", 0),
            0u);
  EXPECT_EQ(write_results_json(x_, out_).rfind("cannot write " + (out_ / "results.json").string() + ": ", 0),
            0u);
  EXPECT_EQ(
      write_report_html(x_, out_, figure_result{}).rfind("cannot write " + (out_ / "report.html").string() + ": ", 0),
      0u);
  for (const char *name : {"results.csv", "results.json", "report.html"}) {
    EXPECT_TRUE(fs::is_directory(out_ / name / "kept")) << name;
  }
  EXPECT_TRUE(files_under(out_).empty()) << "a temporary file was left: " << files_under(out_).front();
}

}  // namespace
}  // namespace flex::explore
