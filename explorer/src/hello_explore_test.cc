// End to end: build/bin/flexexplore over the hello app's tiny space (explorer/spaces/hello.yaml) builds
// real images with flexbuild, benchmarks them, and writes the whole folder; a second run comes from the
// cache. Also: the command line reports a bad space file with file:line:col.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <flex/pku/pku.h>
#include "flex/explore/runner.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;

using flex::test::command_result;
using flex::test::run;

const fs::path kExplore = fs::path(FLEX_BINARY_DIR) / "bin" / "flexexplore";
const fs::path kBuild = fs::path(FLEX_BINARY_DIR) / "bin" / "flexbuild";
const fs::path kSpace = fs::path(FLEX_SOURCE_DIR) / "explorer" / "spaces" / "hello.yaml";

TEST(hello_exploration, runs_to_completion_and_writes_the_folder) {
  fs::path out = fs::path(FLEX_BINARY_DIR) / "explore-test" / "hello";
  fs::remove_all(out);
  command_result r = run(kExplore.string() + " --space " + kSpace.string() + " -o " + out.string() + " --verify 2 -q");
  ASSERT_EQ(r.status, 0) << r.out;

  for (const char *f : {"results.csv", "results.json", "report.html", "hasse.dot"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  const bool graphviz = run("command -v dot").status == 0;  // the figure needs Graphviz
  if (graphviz) {
    EXPECT_TRUE(fs::exists(out / "hasse.svg"));
    EXPECT_TRUE(fs::exists(out / "hasse.png"));
    EXPECT_NE(flex::test::read(out / "hasse.svg").find("<svg"), std::string::npos);
  }
  auto j = nlohmann::json::parse(flex::test::read(out / "results.json"));
  EXPECT_TRUE(j["complete"].get<bool>());
  const auto &t = j["totals"];
  EXPECT_EQ(t["configurations"].get<int>(), 7);
  const bool pku = flex::pku::pku_status().available;
  EXPECT_EQ(t["not_runnable_here"].get<int>(), pku ? 0 : 2);
  EXPECT_EQ(t["explorable"].get<int>(), pku ? 7 : 5);
  EXPECT_GE(t["benchmarked"].get<int>(), 1);
  EXPECT_LE(j["verify"]["checked"].get<int>(), 2);  // fewer when fewer were pruned
  ASSERT_FALSE(j["picks"].empty());
  EXPECT_EQ(j["configurations"].size(), 7u);
  EXPECT_NE(flex::test::read(out / "results.csv").find("id,hash,profile"), std::string::npos);
  if (graphviz) EXPECT_NE(flex::test::read(out / "report.html").find("hasse.svg"), std::string::npos);

  // Each pick links to its flexbuild report, made from the image the exploration built.
  const std::string page = flex::test::read(out / "report.html");
  for (const auto &p : j["picks"]) {
    ASSERT_TRUE(p.contains("report")) << p.dump();
    const std::string report = p["report"].get<std::string>();
    EXPECT_NE(flex::test::read(out / report).find("<h1>Image "), std::string::npos) << report;
    EXPECT_NE(page.find("<a href=\"" + report + "\">flexbuild report</a>"), std::string::npos) << report;
  }
  if (graphviz) {
    // The page in a real browser: the frontier graph, the scatter plot with its floor, and the table whose
    // filter shows the measured configurations at first.
    ASSERT_EQ(run("command -v chromium >/dev/null").status, 0) << "chromium is missing: scripts/bootstrap.sh installs it";
    const std::string chromium = "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1600 ";
    command_result dom = run(chromium + "--dump-dom file://" + (out / "report.html").string() + " 2>/dev/null");
    ASSERT_EQ(dom.status, 0) << dom.out;
    EXPECT_NE(dom.out.find("<div id=\"frontier\"><svg"), std::string::npos) << dom.out.substr(0, 2000);
    EXPECT_NE(dom.out.find("<div id=\"scatter\"><svg"), std::string::npos);
    EXPECT_NE(dom.out.find("<line id=\"floor\""), std::string::npos);
    int measured = 0;
    for (const auto &c : j["configurations"]) measured += c.contains("value");
    // The script ran: it counted the rows its filter shows (the measured ones, and failures).
    EXPECT_NE(dom.out.find("<span id=\"f-count\">"), std::string::npos);
    const auto count = dom.out.find("<span id=\"f-count\">");
    int shown = -1, total = -1;
    ASSERT_EQ(std::sscanf(dom.out.c_str() + count, "<span id=\"f-count\">%d of %d shown", &shown, &total), 2)
        << dom.out.substr(count, 80);
    EXPECT_EQ(total, 7);
    EXPECT_GE(shown, measured);
    EXPECT_LT(shown, total + 1);
    const fs::path shot = fs::path(::testing::TempDir()) / "flexexplore-report-hello.png";
    command_result s = run(chromium + "--screenshot=" + shot.string() + " file://" + (out / "report.html").string() + " 2>&1");
    ASSERT_EQ(s.status, 0) << s.out;
    EXPECT_GT(fs::file_size(shot), 30000u) << "an empty page?";
    std::printf("screenshot: %s\n", shot.c_str());
  }

  // The picks are profiles flexbuild accepts.
  for (const auto &p : j["picks"]) {
    fs::path profile = out / p["profile"].get<std::string>();
    ASSERT_TRUE(fs::exists(profile)) << profile;
    command_result check = run(kBuild.string() + " check --profile " + profile.string() + " --root " FLEX_SOURCE_DIR);
    EXPECT_EQ(check.status, 0) << check.out;
  }
  // No mpk configuration is measured without PKU.
  for (const auto &c : j["configurations"]) {
    if (!pku && c["label"].get<std::string>().find(":mpk") != std::string::npos) {
      EXPECT_EQ(c["category"], "not-runnable-here");
      EXPECT_FALSE(c.contains("value"));
    }
  }

  // Again: everything comes from the cache.
  command_result again = run(kExplore.string() + " --space " + kSpace.string() + " -o " + out.string() + " --verify 2 -q");
  ASSERT_EQ(again.status, 0) << again.out;
  auto k = nlohmann::json::parse(flex::test::read(out / "results.json"));
  EXPECT_EQ(k["totals"]["benchmarked_now"].get<int>(), 0);
  EXPECT_EQ(k["picks"], j["picks"]);
  fs::remove_all(out);
}

TEST(hello_exploration, bad_space_file_names_the_line) {
  fs::path dir = fs::path(FLEX_BINARY_DIR) / "explore-test" / "bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string text = flex::test::read(kSpace);
  auto at = text.find("mechanisms: [none, mpk, process]");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 32, "mechanisms: [none, mkp, process]");
  std::ofstream(dir / "bad.yaml") << text;
  command_result r = run(kExplore.string() + " --space " + (dir / "bad.yaml").string() + " --root " FLEX_SOURCE_DIR " -o " +
                (dir / "out").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("bad.yaml:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": error: unknown isolation mechanism 'mkp'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean 'mpk'?"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "out"));
  fs::remove_all(dir);
}

}  // namespace
