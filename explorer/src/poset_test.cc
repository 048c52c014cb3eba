// Enumeration, identity, the safety order and its Hasse diagram, on synthetic spaces.
#include <gtest/gtest.h>

#include <deque>
#include <set>

#include "fake_space.h"
#include "flex/explore/poset.h"

namespace flex::explore {
namespace {

using build::isolation;
using test::kAsan;
using test::kUbsan;
using test::synthetic_space;

const std::vector<isolation> kAll = {isolation::none, isolation::mpk, isolation::process};

std::vector<const configuration *> pointers(const std::vector<configuration> &v) {
  std::vector<const configuration *> out;
  for (const auto &c : v) out.push_back(&c);
  return out;
}

TEST(enumerate, counts_partitions_mechanisms_and_hardening) {
  // 2 libraries, <= 2 compartments: {ab} with 2 hardenings; {a}{b} with 3 distinct boundaries x 2 x 2.
  EXPECT_EQ(enumerate(synthetic_space(2, 2, kAll, {0, kUbsan})).size(), 14u);
  // 3 libraries, none|process, no hardening: 1 + 3 partitions x 2 boundaries + 5 three-way assignments.
  EXPECT_EQ(enumerate(synthetic_space(3, 3, {isolation::none, isolation::process}, {0})).size(), 12u);
  // 4 libraries in <= 3 compartments, three mechanisms, hardening on/off: 1x2 + 7x3x4 + 6x12x8.
  EXPECT_EQ(enumerate(synthetic_space(4, 3, kAll, {0, kUbsan})).size(), 662u);
  // One compartment at most: the mechanism does not matter.
  EXPECT_EQ(enumerate(synthetic_space(3, 1, kAll, {0})).size(), 1u);
}

TEST(enumerate, every_configuration_is_distinct) {
  auto all = enumerate(synthetic_space(4, 4, kAll, {0, kUbsan, kAsan | kUbsan}));
  std::set<std::pair<std::vector<std::int8_t>, std::vector<hardening_set>>> seen;
  std::set<std::string> hashes;
  for (const auto &c : all) {
    EXPECT_TRUE(seen.insert({c.pairs, c.lib_hard}).second) << c.key;
    EXPECT_TRUE(hashes.insert(c.hash).second) << c.key;
  }
}

TEST(enumerate, equivalent_mechanisms_share_one_representative) {
  space s = synthetic_space(2, 2, kAll, {0});
  auto all = enumerate(s);
  // {l0}{l1} under none, mpk, process: (mpk, none) stands for (none, mpk) and (mpk, mpk) too, and the
  // weakest side lowered to none is the default compartment (l1's).
  std::vector<std::vector<isolation>> reps;
  for (const auto &c : all) {
    if (c.blocks() == 2) reps.push_back(c.iso);
  }
  ASSERT_EQ(reps.size(), 3u);
  EXPECT_EQ(reps[0], (std::vector<isolation>{isolation::none, isolation::none}));
  EXPECT_EQ(reps[1], (std::vector<isolation>{isolation::mpk, isolation::none}));
  EXPECT_EQ(reps[2], (std::vector<isolation>{isolation::process, isolation::none}));
  // Without none, both sides carry the mechanism.
  auto strong = enumerate(synthetic_space(2, 2, {isolation::mpk, isolation::process}, {0}));
  ASSERT_EQ(strong.size(), 3u);
  EXPECT_EQ(strong[1].iso, (std::vector<isolation>{isolation::mpk, isolation::mpk}));
}

TEST(enumerate, compartment_hardening_must_suit_every_library) {
  space s = synthetic_space(2, 2, {isolation::none}, {0, kUbsan});
  s.hardening[1] = {0};  // l1 cannot be hardened
  auto all = enumerate(s);
  for (const auto &c : all) EXPECT_EQ(c.lib_hard[1], 0u) << c.key;
  // {l0 l1} unhardened; {l0}{l1} with l0 on or off.
  EXPECT_EQ(all.size(), 3u);
}

TEST(order, is_a_partial_order_with_the_baseline_at_the_bottom) {
  space s = synthetic_space(4, 3, kAll, {0, kUbsan});
  auto all = enumerate(s);
  poset p(pointers(all));
  const int n = p.size();
  for (int a = 0; a < n; ++a) {
    EXPECT_TRUE(all[a].leq(all[a]));
    for (int b : p.above(a).members()) {
      EXPECT_FALSE(p.less(b, a)) << "antisymmetry: " << all[a].key << " / " << all[b].key;
      // Transitivity: everything above b is above a.
      EXPECT_EQ(p.above(b).minus(p.above(a)).count(), 0);
    }
  }
  configuration base = baseline(s, all);
  ASSERT_GE(base.index, 0);
  EXPECT_EQ(p.above(base.index).count(), n - 1);
  EXPECT_EQ(p.minimal(p.all()).members(), std::vector<int>{base.index});
}

TEST(order, follows_refinement_boundaries_and_hardening) {
  space s = synthetic_space(3, 3, kAll, {0, kUbsan});
  auto all = enumerate(s);
  auto find = [&](std::vector<int> blocks, std::vector<isolation> iso, std::vector<hardening_set> hard) -> const configuration * {
    for (const auto &c : all) {
      if (c.block_of == blocks && c.iso == iso && c.hard == hard) return &c;
    }
    ADD_FAILURE() << "missing configuration";
    return &all[0];
  };
  const auto *one = find({0, 0, 0}, {isolation::none}, {0});
  const auto *two_none = find({0, 0, 1}, {isolation::none, isolation::none}, {0, 0});
  const auto *two_mpk = find({0, 0, 1}, {isolation::mpk, isolation::none}, {0, 0});
  const auto *two_mpk_h = find({0, 0, 1}, {isolation::mpk, isolation::none}, {kUbsan, 0});
  const auto *other_split = find({0, 1, 1}, {isolation::process, isolation::none}, {0, 0});
  EXPECT_TRUE(one->leq(*two_none));
  EXPECT_TRUE(two_none->leq(*two_mpk));
  EXPECT_TRUE(two_mpk->leq(*two_mpk_h));
  EXPECT_FALSE(two_mpk_h->leq(*two_mpk));
  // Different partitions, neither refining the other: incomparable.
  EXPECT_FALSE(two_mpk->leq(*other_split));
  EXPECT_FALSE(other_split->leq(*two_mpk));
}

TEST(hasse, covers_generate_the_order_and_skip_nothing) {
  auto all = enumerate(synthetic_space(4, 3, kAll, {0, kUbsan}));
  poset p(pointers(all));
  const int n = p.size();
  int edges = 0;
  for (int i = 0; i < n; ++i) {
    for (int j : p.covers(i)) {
      ++edges;
      ASSERT_TRUE(p.less(i, j));
      bitset between = p.above(i);
      between &= p.below(j);
      EXPECT_FALSE(between.any()) << all[i].key << " -< " << all[j].key;
    }
    // Reachability through covers is the order.
    bitset reach(n);
    std::deque<int> todo(p.covers(i).begin(), p.covers(i).end());
    while (!todo.empty()) {
      int k = todo.front();
      todo.pop_front();
      if (reach.test(k)) continue;
      reach.set(k);
      for (int m : p.covers(k)) todo.push_back(m);
    }
    EXPECT_EQ(reach.members(), p.above(i).members());
  }
  EXPECT_EQ(edges, p.cover_count());
  EXPECT_LT(edges, n * 8);  // a diagram, not the whole order
}

TEST(requirements, separation_and_hardening) {
  space s = synthetic_space(3, 3, kAll, {0, kUbsan});
  s.q.separate.push_back({0, 1, isolation::mpk, {}});
  s.q.harden.push_back({0, kUbsan, {}});
  auto all = enumerate(s);
  int ok = 0;
  for (const auto &c : all) {
    bool expect = separation(c, 0, 1) >= static_cast<std::int8_t>(isolation::mpk) && (c.lib_hard[0] & kUbsan);
    EXPECT_EQ(meets_requirements(s, c), expect) << c.key;
    ok += expect;
  }
  EXPECT_GT(ok, 0);
  // The feasible set is an up-set: whatever is safer than a feasible configuration is feasible.
  poset p(pointers(all));
  for (int i = 0; i < p.size(); ++i) {
    if (!meets_requirements(s, all[i])) continue;
    for (int j : p.above(i).members()) EXPECT_TRUE(meets_requirements(s, all[j]));
  }
}

}  // namespace
}  // namespace flex::explore
