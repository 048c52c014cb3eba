#include "flex/transform/summary.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace flex::transform {
namespace {

TEST(make_path, escapes_as_clang_does) {
  EXPECT_EQ(escape_make_path("/a/plain.h"), "/a/plain.h");
  EXPECT_EQ(escape_make_path("/a dir/x.h"), "/a\\ dir/x.h");
  EXPECT_EQ(escape_make_path("/a#1/x.h"), "/a\\#1/x.h");
  EXPECT_EQ(escape_make_path("/a$b/x.h"), "/a$$b/x.h");
  EXPECT_EQ(escape_make_path("/a\\ b"), "/a\\\\\\ b");  // a backslash before a space is doubled
}

TEST(depfile, lists_one_prerequisite_per_line) {
  EXPECT_EQ(render_depfile("out/s.json", {"/p/plan.json", "/p/a b.c"}),
            "out/s.json: \\\n  /p/plan.json \\\n  /p/a\\ b.c\n");
  EXPECT_EQ(render_depfile("t", {}), "t:\n");
}

TEST(summary_json, has_the_documented_schema) {
  transform_summary summary{.library = "hello"};
  summary.files.push_back({.source = "/s/a.c", .output = "/o/a.c"});
  summary.gates.push_back({.file = "/s/a.c",
                           .line = 3,
                           .column = 5,
                           .from = "hello",
                           .to = "console",
                           .from_compartment = "app",
                           .to_compartment = "core",
                           .function = "console_write",
                           .kind = gate_kind::mpk_light,
                           .has_result = true});
  summary.whitelisted.push_back(
      {.file = "/s/a.c", .line = 2, .name = "buf", .bytes = 8, .storage = "static", .inferred = true});
  summary.diagnostics.push_back({.file = "/s/a.c", .line = 1, .column = 1, .message = "bad"});
  auto json = nlohmann::json::parse(render_summary_json(summary));
  EXPECT_EQ(json["library"], "hello");
  EXPECT_EQ(json["files"][0]["output"], "/o/a.c");
  EXPECT_EQ(json["gates"][0]["kind"], "mpk-light");
  const nlohmann::json &has_result = json["gates"][0]["has_result"];
  EXPECT_TRUE(has_result.is_boolean() && has_result.get<bool>()) << "has_result: " << has_result.dump();
  EXPECT_EQ(json["gates"][0]["to_compartment"], "core");
  EXPECT_EQ(json["whitelisted"][0]["name"], "buf");
  EXPECT_EQ(json["whitelisted"][0]["inferred"], true);
  EXPECT_EQ(json["diagnostics"][0]["severity"], "error");
}

}  // namespace
}  // namespace flex::transform
