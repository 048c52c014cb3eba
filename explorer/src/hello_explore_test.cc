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

namespace {

namespace fs = std::filesystem;

struct result {
  int status = -1;
  std::string out;
};

result sh(const std::string &cmd) {
  result r;
  std::FILE *p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string slurp(const fs::path &p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const fs::path kExplore = fs::path(FLEX_BINARY_DIR) / "bin" / "flexexplore";
const fs::path kBuild = fs::path(FLEX_BINARY_DIR) / "bin" / "flexbuild";
const fs::path kSpace = fs::path(FLEX_SOURCE_DIR) / "explorer" / "spaces" / "hello.yaml";

TEST(HelloExploration, RunsToCompletionAndWritesTheFolder) {
  fs::path out = fs::path(FLEX_BINARY_DIR) / "explore-test" / "hello";
  fs::remove_all(out);
  result r = sh(kExplore.string() + " --space " + kSpace.string() + " -o " + out.string() + " --verify 2 -q");
  ASSERT_EQ(r.status, 0) << r.out;

  for (const char *f : {"results.csv", "results.json", "report.html", "hasse.dot"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  const bool graphviz = sh("command -v dot").status == 0;  // the figure needs Graphviz
  if (graphviz) {
    EXPECT_TRUE(fs::exists(out / "hasse.svg"));
    EXPECT_TRUE(fs::exists(out / "hasse.png"));
    EXPECT_NE(slurp(out / "hasse.svg").find("<svg"), std::string::npos);
  }
  auto j = nlohmann::json::parse(slurp(out / "results.json"));
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
  EXPECT_NE(slurp(out / "results.csv").find("id,hash,profile"), std::string::npos);
  if (graphviz) EXPECT_NE(slurp(out / "report.html").find("hasse.svg"), std::string::npos);

  // The picks are profiles flexbuild accepts.
  for (const auto &p : j["picks"]) {
    fs::path profile = out / p["profile"].get<std::string>();
    ASSERT_TRUE(fs::exists(profile)) << profile;
    result check = sh(kBuild.string() + " check --profile " + profile.string() + " --root " FLEX_SOURCE_DIR);
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
  result again = sh(kExplore.string() + " --space " + kSpace.string() + " -o " + out.string() + " --verify 2 -q");
  ASSERT_EQ(again.status, 0) << again.out;
  auto k = nlohmann::json::parse(slurp(out / "results.json"));
  EXPECT_EQ(k["totals"]["benchmarked_now"].get<int>(), 0);
  EXPECT_EQ(k["picks"], j["picks"]);
  fs::remove_all(out);
}

TEST(HelloExploration, BadSpaceFileNamesTheLine) {
  fs::path dir = fs::path(FLEX_BINARY_DIR) / "explore-test" / "bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string text = slurp(kSpace);
  auto at = text.find("mechanisms: [none, mpk, process]");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 32, "mechanisms: [none, mkp, process]");
  std::ofstream(dir / "bad.yaml") << text;
  result r = sh(kExplore.string() + " --space " + (dir / "bad.yaml").string() + " --root " FLEX_SOURCE_DIR " -o " +
                (dir / "out").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("bad.yaml:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": error: unknown isolation mechanism 'mkp'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean 'mpk'?"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "out"));
  fs::remove_all(dir);
}

}  // namespace
