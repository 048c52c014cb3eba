// The skiplist against a sorted reference.
#include "zset.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace flex::redis {
namespace {

TEST(zset, matches_reference_under_random_operations) {
  zset z;
  std::map<std::string, double> ref;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; step++) {
    std::string m = "m" + std::to_string(rng() % 500);
    int op = static_cast<int>(rng() % 3);
    if (op < 2) {
      double s = static_cast<double>(rng() % 100);
      z.set(m, s);
      ref[m] = s;
    } else {
      EXPECT_EQ(z.erase(m), ref.erase(m) == 1);
    }
    if (step % 1000 == 0) {
      std::set<std::pair<double, std::string>> order;
      for (auto& [k, v] : ref) order.insert({v, k});
      ASSERT_EQ(z.size(), ref.size());
      size_t r = 0;
      const zset::node* n = z.first();
      for (auto& [s, k] : order) {
        ASSERT_NE(n, nullptr);
        EXPECT_EQ(n->member, k);
        EXPECT_EQ(n->score, s);
        EXPECT_EQ(z.rank(k), static_cast<int64_t>(r));
        EXPECT_EQ(z.at_rank(r), n);
        n = n->next();
        r++;
      }
      EXPECT_EQ(n, nullptr);
    }
  }
}

TEST(zset, ranges) {
  zset z;
  for (int i = 0; i < 10; i++) z.set("m" + std::to_string(i), i);
  score_range r{2, 5, true, false};
  EXPECT_EQ(z.first_in_range(r)->member, "m3");
  EXPECT_EQ(z.last_in_range(r)->member, "m5");
  score_range empty{5, 5, true, false};
  EXPECT_EQ(z.first_in_range(empty), nullptr);
  score_range out{20, 30, false, false};
  EXPECT_EQ(z.first_in_range(out), nullptr);
  EXPECT_EQ(z.last_in_range(out), nullptr);
  zset moved = std::move(z);
  EXPECT_EQ(moved.size(), 10u);
  EXPECT_EQ(moved.rank("m9"), 9);
}

}  // namespace
}  // namespace flex::redis
