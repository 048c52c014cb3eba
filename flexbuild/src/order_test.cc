// The safer-than order (order.h): walls, hardening, system-call sets, lockdown, and `none` as no wall.
#include "flex/build/order.h"

#include <gtest/gtest.h>

namespace flex::build::order {
namespace {

compartment_view comp(std::vector<std::string> libs, wall w, std::set<std::string> hard = {},
                      std::optional<std::set<std::string>> calls = std::nullopt) {
  return {std::move(libs), w, std::move(hard), std::move(calls)};
}

TEST(order, a_none_boundary_is_no_wall) {
  // {hello}:none {console}:none against {hello,console}: the same image for a reviewer.
  const point split = point_of({comp({"hello"}, wall_of(isolation::none, mpk_gate_kind::full)),
                                comp({"console"}, wall_of(isolation::none, mpk_gate_kind::full))},
                               lockdown_mode::enforce);
  const point one = point_of({comp({"hello", "console"}, wall::same)}, lockdown_mode::enforce);
  EXPECT_EQ(compare(split, one).result, verdict::equal);
  EXPECT_TRUE(leq(split, one));
  EXPECT_TRUE(leq(one, split));
}

TEST(order, walls_rank_process_over_mpk_full_over_light_over_none) {
  auto two = [](wall w) {
    return point_of({comp({"app"}, w), comp({"net"}, wall::same)}, lockdown_mode::enforce);
  };
  const wall ranked[] = {wall::same, wall::mpk_light, wall::mpk_full, wall::process};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      const comparison c = compare(two(ranked[i]), two(ranked[j]));
      const verdict want = i == j ? verdict::equal : i > j ? verdict::a_safer : verdict::b_safer;
      EXPECT_EQ(c.result, want) << i << " vs " << j;
      EXPECT_EQ(leq(two(ranked[i]), two(ranked[j])), i <= j) << i << " vs " << j;
    }
  }
  EXPECT_EQ(wall_of(isolation::mpk, mpk_gate_kind::light), wall::mpk_light);
  EXPECT_EQ(wall_of(std::nullopt, mpk_gate_kind::full), wall::same);
}

TEST(order, a_finer_partition_is_safer_only_where_its_walls_are) {
  // A: {app}{net,console} under mpk; B: {app,net}{console} under process. Each wins a pair.
  const point a = point_of({comp({"app"}, wall::mpk_full), comp({"net", "console"}, wall::mpk_full)},
                           lockdown_mode::enforce);
  const point b = point_of({comp({"app", "net"}, wall::process), comp({"console"}, wall::process)},
                           lockdown_mode::enforce);
  const comparison c = compare(a, b);
  EXPECT_EQ(c.result, verdict::incomparable);
  ASSERT_EQ(c.a_wins.size(), 1u);
  EXPECT_EQ(c.a_wins[0], "app | net: mpk-full in A, no wall in B");
  EXPECT_EQ(c.b_wins.size(), 2u);  // app | console and console | net: mpk-full in A, process in B
  EXPECT_FALSE(leq(a, b));
  EXPECT_FALSE(leq(b, a));
}

TEST(order, hardening_system_calls_and_lockdown_count_per_library) {
  const point plain = point_of({comp({"app"}, wall::process, {}, std::set<std::string>{"read", "write"})},
                               lockdown_mode::enforce);
  const point hardened = point_of({comp({"app"}, wall::process, {"asan"}, std::set<std::string>{"read"})},
                                  lockdown_mode::enforce);
  comparison c = compare(plain, hardened);
  EXPECT_EQ(c.result, verdict::b_safer);
  ASSERT_EQ(c.b_wins.size(), 2u);
  EXPECT_EQ(c.b_wins[0], "app: asan in B only");
  EXPECT_EQ(c.b_wins[1], "app: 1 system calls allowed in A only (write)");
  EXPECT_TRUE(leq(plain, hardened));
  const point off = point_of({comp({"app"}, wall::process, {"asan"}, std::set<std::string>{"read"})},
                             lockdown_mode::off);
  c = compare(hardened, off);
  EXPECT_EQ(c.result, verdict::a_safer);
  ASSERT_EQ(c.a_wins.size(), 1u);
  EXPECT_EQ(c.a_wins[0], "lockdown: enforce in A, off in B");
}

TEST(order, different_libraries_are_not_compared) {
  const point a = point_of({comp({"app"}, wall::same)}, lockdown_mode::enforce);
  const point b = point_of({comp({"app", "net"}, wall::same)}, lockdown_mode::enforce);
  EXPECT_EQ(compare(a, b).result, verdict::different_libraries);
  EXPECT_FALSE(leq(a, b));
}

}  // namespace
}  // namespace flex::build::order
