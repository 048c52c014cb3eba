// Enumeration, identity, the safety order and its Hasse diagram, on synthetic spaces.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
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
const std::vector<lockdown_mode> kOffEnforce = {lockdown_mode::off, lockdown_mode::enforce};
const std::vector<lockdown_mode> kEveryLockdown = {lockdown_mode::off, lockdown_mode::log,
                                                   lockdown_mode::enforce};

space with_lockdowns(space s, std::vector<lockdown_mode> modes) {
  s.lockdowns = std::move(modes);
  return s;
}

// The member of `all` with these blocks, mechanisms, hardening and lockdown.
const configuration *find_config(const std::vector<configuration> &all, const std::vector<int> &blocks,
                                 const std::vector<isolation> &iso, const std::vector<hardening_set> &hard,
                                 lockdown_mode lockdown = lockdown_mode::enforce) {
  for (const auto &c : all) {
    if (c.block_of == blocks && c.iso == iso && c.hard == hard && c.lockdown == lockdown) return &c;
  }
  ADD_FAILURE() << "missing configuration";
  return &all[0];
}

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

TEST(enumerate, multiplies_by_the_lockdowns_the_space_offers) {
  EXPECT_EQ(enumerate(with_lockdowns(synthetic_space(2, 2, kAll, {0, kUbsan}), kOffEnforce)).size(), 2 * 14u);
  EXPECT_EQ(enumerate(with_lockdowns(synthetic_space(4, 3, kAll, {0, kUbsan}), kEveryLockdown)).size(),
            3 * 662u);
  EXPECT_EQ(enumerate(with_lockdowns(synthetic_space(3, 1, kAll, {0}), kOffEnforce)).size(), 2u);
  // Each point of the space once per lockdown, weakest first.
  auto all = enumerate(with_lockdowns(synthetic_space(2, 2, kAll, {0}), kEveryLockdown));
  ASSERT_EQ(all.size(), 3 * 4u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].lockdown, kEveryLockdown[i % 3]) << all[i].key;
    EXPECT_EQ(all[i].block_of, all[i - i % 3].block_of);
    EXPECT_EQ(all[i].iso, all[i - i % 3].iso);
    EXPECT_EQ(all[i].index, static_cast<int>(i));
  }
}

TEST(enumerate, every_configuration_is_distinct) {
  auto all = enumerate(synthetic_space(4, 4, kAll, {0, kUbsan, kAsan | kUbsan}));
  std::set<std::pair<std::vector<std::int8_t>, std::vector<hardening_set>>> seen;
  std::set<std::string> hashes;
  for (const auto &c : all) {
    EXPECT_TRUE(seen.insert({c.pairs, c.lib_hard}).second) << c.key;
    EXPECT_TRUE(hashes.insert(c.hash).second) << c.key;
  }
  // The lockdown is part of the identity: the same point under another lockdown is another configuration.
  auto locked = enumerate(with_lockdowns(synthetic_space(3, 3, kAll, {0, kUbsan}), kEveryLockdown));
  std::set<std::string> keys;
  hashes.clear();
  for (const auto &c : locked) {
    EXPECT_TRUE(keys.insert(c.key).second) << c.key;
    EXPECT_TRUE(hashes.insert(c.hash).second) << c.key;
  }
}

TEST(enumerate, enforce_keeps_its_key_hash_and_build_slot_when_a_space_adds_weaker_lockdowns) {
  auto plain = enumerate(synthetic_space(3, 3, kAll, {0, kUbsan}));
  auto locked = enumerate(with_lockdowns(synthetic_space(3, 3, kAll, {0, kUbsan}), kEveryLockdown));
  ASSERT_EQ(locked.size(), 3 * plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(plain[i].lockdown, lockdown_mode::enforce);
    const configuration &enforce = locked[3 * i + 2];
    EXPECT_EQ(enforce.key, plain[i].key);
    EXPECT_EQ(enforce.hash, plain[i].hash);
    EXPECT_EQ(enforce.key.find(";l="), std::string::npos);
    // The weaker lockdowns: other keys and hashes, the same build folder (only the image layout differs).
    for (int m = 0; m < 2; ++m) {
      const configuration &weaker = locked[3 * i + static_cast<std::size_t>(m)];
      EXPECT_EQ(weaker.key, plain[i].key + ";l=" +
                                std::string(build::to_string(kEveryLockdown[static_cast<std::size_t>(m)])));
      EXPECT_NE(weaker.hash, plain[i].hash);
      EXPECT_EQ(weaker.build_slot, plain[i].build_slot);
    }
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
  // At the bottom with the configurations equally safe as it (a `none` boundary is no wall: one
  // compartment split by `none` boundaries only, unhardened), every other one above it.
  std::vector<int> bottom;
  for (int i = 0; i < n; ++i) {
    if (all[i].leq(base) && base.leq(all[i])) bottom.push_back(i);
  }
  EXPECT_GT(bottom.size(), 1u);
  EXPECT_EQ(p.above(base.index).count(), n - static_cast<int>(bottom.size()));
  EXPECT_EQ(p.minimal(p.all()).members(), bottom);
}

// The order's laws over every pair (and triple) of the hello exploration's configurations, read from its
// space file: reflexive, transitive, and antisymmetric up to equal safety (two configurations below each
// other are the same point of flexbuild's order, e.g. {hello}:none {console}:none and {hello,console}).
TEST(order, laws_hold_over_every_configuration_of_the_hello_space) {
  yaml::diag_sink diags;
  auto s = load_space(std::filesystem::path(FLEX_SOURCE_DIR) / "explorer" / "spaces" / "hello.yaml", std::nullopt, diags);
  ASSERT_TRUE(s);
  auto all = enumerate(*s);
  ASSERT_EQ(all.size(), 7u);
  int equal_pairs = 0;
  for (const auto &a : all) {
    EXPECT_TRUE(a.leq(a)) << a.label(*s);
    for (const auto &b : all) {
      if (a.leq(b) && b.leq(a)) {
        // The same point: the same walls between every pair, hardening and lockdown.
        EXPECT_EQ(a.safety.walls, b.safety.walls) << a.label(*s) << " / " << b.label(*s);
        EXPECT_EQ(a.safety.hardening, b.safety.hardening) << a.label(*s) << " / " << b.label(*s);
        EXPECT_EQ(a.safety.lockdown, b.safety.lockdown);
        equal_pairs += &a != &b;
      }
      for (const auto &c : all) {
        if (a.leq(b) && b.leq(c)) EXPECT_TRUE(a.leq(c)) << a.label(*s) << " / " << b.label(*s) << " / " << c.label(*s);
      }
    }
  }
  EXPECT_GT(equal_pairs, 0) << "the none split equals the one compartment";
}

TEST(order, is_a_partial_order_with_the_baseline_at_the_bottom_under_lockdowns_too) {
  space s = with_lockdowns(synthetic_space(3, 3, kAll, {0, kUbsan}), kEveryLockdown);
  auto all = enumerate(s);
  poset p(pointers(all));
  for (int a = 0; a < p.size(); ++a) {
    for (int b : p.above(a).members()) {
      EXPECT_FALSE(p.less(b, a)) << "antisymmetry: " << all[a].key << " / " << all[b].key;
      EXPECT_EQ(p.above(b).minus(p.above(a)).count(), 0);
    }
  }
  // The baseline takes the weakest lockdown the space offers: the bottom of the order.
  configuration base = baseline(s, all);
  ASSERT_GE(base.index, 0);
  EXPECT_EQ(base.lockdown, lockdown_mode::off);
  std::vector<int> bottom;
  for (int i = 0; i < p.size(); ++i) {
    if (all[i].leq(base) && base.leq(all[i])) bottom.push_back(i);
  }
  EXPECT_EQ(p.minimal(p.all()).members(), bottom);
  EXPECT_EQ(baseline(with_lockdowns(s, {lockdown_mode::log, lockdown_mode::enforce}), {}).lockdown,
            lockdown_mode::log);
  EXPECT_EQ(baseline(synthetic_space(3, 3, kAll, {0}), {}).lockdown, lockdown_mode::enforce);
}

TEST(order, places_off_below_log_below_enforce_at_the_same_point) {
  auto all = enumerate(with_lockdowns(synthetic_space(2, 2, kAll, {0, kUbsan}), kEveryLockdown));
  const std::vector<int> split = {0, 1};
  const std::vector<isolation> mpk = {isolation::mpk, isolation::none};
  const auto *off = find_config(all, split, mpk, {0, 0}, lockdown_mode::off);
  const auto *log = find_config(all, split, mpk, {0, 0}, lockdown_mode::log);
  const auto *enforce = find_config(all, split, mpk, {0, 0}, lockdown_mode::enforce);
  EXPECT_TRUE(off->leq(*log));
  EXPECT_TRUE(log->leq(*enforce));
  EXPECT_TRUE(off->leq(*enforce));
  EXPECT_FALSE(enforce->leq(*off));
  EXPECT_FALSE(enforce->leq(*log));
  EXPECT_FALSE(log->leq(*off));
  // Stronger partition, boundary and hardening do not make up for a weaker lockdown.
  const auto *one_enforce = find_config(all, {0, 0}, {isolation::none}, {0}, lockdown_mode::enforce);
  EXPECT_TRUE(one_enforce->leq(*enforce));
  EXPECT_FALSE(one_enforce->leq(*off));
  EXPECT_FALSE(off->leq(*one_enforce));
  // Incomparable: a stronger mechanism (or hardening) under a weaker lockdown, and the reverse.
  const auto *process_off =
      find_config(all, split, {isolation::process, isolation::none}, {0, 0}, lockdown_mode::off);
  EXPECT_FALSE(process_off->leq(*enforce));
  EXPECT_FALSE(enforce->leq(*process_off));
  const auto *ubsan_log = find_config(all, split, mpk, {kUbsan, 0}, lockdown_mode::log);
  EXPECT_FALSE(ubsan_log->leq(*enforce));
  EXPECT_FALSE(enforce->leq(*ubsan_log));
  EXPECT_TRUE(off->leq(*ubsan_log));
  // In the diagram, off -< log -< enforce: enforce does not cover off directly.
  poset p(pointers(all));
  const auto &off_covers = p.covers(p.find(off->index));
  EXPECT_NE(std::find(off_covers.begin(), off_covers.end(), p.find(log->index)), off_covers.end());
  EXPECT_EQ(std::find(off_covers.begin(), off_covers.end(), p.find(enforce->index)), off_covers.end());
}

// A `none` boundary is no wall (flexbuild's order.h): {l0,l1}{l2} split by `none` is exactly as safe as
// one compartment, neither above nor below it in the poset.
TEST(order, a_none_boundary_is_no_wall) {
  space s = synthetic_space(3, 3, kAll, {0, kUbsan});
  auto all = enumerate(s);
  const auto *one = find_config(all, {0, 0, 0}, {isolation::none}, {0});
  const auto *two_none = find_config(all, {0, 0, 1}, {isolation::none, isolation::none}, {0, 0});
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two_none, nullptr);
  EXPECT_TRUE(one->leq(*two_none));
  EXPECT_TRUE(two_none->leq(*one));
  poset p(pointers(all));
  EXPECT_FALSE(p.less(p.find(one->index), p.find(two_none->index)));
  EXPECT_FALSE(p.less(p.find(two_none->index), p.find(one->index)));
}

TEST(order, follows_refinement_boundaries_and_hardening) {
  space s = synthetic_space(3, 3, kAll, {0, kUbsan});
  auto all = enumerate(s);
  auto find = [&](std::vector<int> blocks, std::vector<isolation> iso, std::vector<hardening_set> hard) {
    return find_config(all, blocks, iso, hard);
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

void expect_covers_generate_the_order(const std::vector<configuration> &all) {
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

TEST(hasse, covers_generate_the_order_and_skip_nothing) {
  expect_covers_generate_the_order(enumerate(synthetic_space(4, 3, kAll, {0, kUbsan})));
  expect_covers_generate_the_order(
      enumerate(with_lockdowns(synthetic_space(3, 3, kAll, {0, kUbsan}), kEveryLockdown)));
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

TEST(requirements, a_lockdown_is_met_by_it_and_every_stronger_one) {
  space s = with_lockdowns(synthetic_space(3, 3, kAll, {0, kUbsan}), kEveryLockdown);
  s.q.lockdown.push_back({lockdown_mode::log, {}});
  auto all = enumerate(s);
  std::map<lockdown_mode, int> met;
  for (const auto &c : all) {
    EXPECT_EQ(meets_requirements(s, c), c.lockdown != lockdown_mode::off) << c.key;
    met[c.lockdown] += meets_requirements(s, c);
  }
  EXPECT_EQ(met[lockdown_mode::off], 0);
  EXPECT_EQ(met[lockdown_mode::log], static_cast<int>(all.size() / 3));
  EXPECT_EQ(met[lockdown_mode::enforce], static_cast<int>(all.size() / 3));
  // With a separation too, still an up-set.
  s.q.separate.push_back({0, 1, isolation::mpk, {}});
  poset p(pointers(all));
  for (int i = 0; i < p.size(); ++i) {
    if (!meets_requirements(s, all[i])) continue;
    EXPECT_NE(all[i].lockdown, lockdown_mode::off);
    for (int j : p.above(i).members()) EXPECT_TRUE(meets_requirements(s, all[j]));
  }
}

}  // namespace
}  // namespace flex::explore
