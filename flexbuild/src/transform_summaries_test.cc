#include "flex/build/transform_summaries.h"

#include <gtest/gtest.h>

namespace flex::build {
namespace {

using ordered_json = nlohmann::ordered_json;

TEST(merge_summaries, lists_follow_the_sources_in_order_and_counts_add) {
  auto a = ordered_json::parse(R"({"library": "redis", "files": [{"source": "a.cc"}], "gates": [{"line": 3}],
                                   "shared_literals": 2, "diagnostics": []})");
  auto b = ordered_json::parse(R"({"library": "redis", "files": [{"source": "b.cc"}], "gates": [{"line": 7}],
                                   "shared_literals": 1, "diagnostics": [{"message": "w"}]})");
  ordered_json merged = merge_summaries("redis", {a, b});
  EXPECT_EQ(merged["library"], "redis");
  EXPECT_EQ(merged["files"], ordered_json::parse(R"([{"source": "a.cc"}, {"source": "b.cc"}])"));
  EXPECT_EQ(merged["gates"], ordered_json::parse(R"([{"line": 3}, {"line": 7}])"));
  EXPECT_EQ(merged["shared_literals"], 3);
  EXPECT_EQ(merged["diagnostics"].size(), 1u);
}

TEST(merge_summaries, keeps_the_key_order_of_the_sources_summaries) {
  auto a = ordered_json::parse(R"({"library": "x", "files": [], "gates": [], "shared_literals": 0})");
  EXPECT_EQ(merge_summaries("x", {a, a}).dump(), a.dump());
}

TEST(merge_summaries, library_without_sources_has_only_its_name) {
  EXPECT_EQ(merge_summaries("alloc", {}).dump(), R"({"library":"alloc"})");
}

}  // namespace
}  // namespace flex::build
