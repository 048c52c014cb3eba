// The safety order on a set of configurations and its Hasse diagram.
//
//   flex::explore::poset p(configs);          // configs: the members, by pointer
//   if (p.below(3).test(7)) ...                // member 3 < member 7 (7 is safer)
//   for (int j : p.covers(3)) ...              // the Hasse diagram: 3 -< j
//
// Members are numbered 0..size()-1 in the order given. Sets of members are bitsets.
#pragma once

#include <cstdint>
#include <vector>

#include "flex/explore/config.h"

namespace flex::explore {

class bitset {
 public:
  bitset() = default;
  explicit bitset(int n) : n_(n), w_(static_cast<std::size_t>((n + 63) / 64), 0) {}
  int size() const { return n_; }
  bool test(int i) const { return (w_[static_cast<std::size_t>(i) / 64] >> (i % 64)) & 1; }
  void set(int i) { w_[static_cast<std::size_t>(i) / 64] |= std::uint64_t{1} << (i % 64); }
  void reset(int i) { w_[static_cast<std::size_t>(i) / 64] &= ~(std::uint64_t{1} << (i % 64)); }
  int count() const;
  bool any() const;
  bitset &operator|=(const bitset &o);
  bitset &operator&=(const bitset &o);
  bitset minus(const bitset &o) const;
  std::vector<int> members() const;

 private:
  int n_ = 0;
  std::vector<std::uint64_t> w_;
};

class poset {
 public:
  explicit poset(std::vector<const configuration *> members);
  int size() const { return static_cast<int>(members_.size()); }
  const configuration &at(int i) const { return *members_[static_cast<std::size_t>(i)]; }
  // Strictly above (safer than) / strictly below i.
  const bitset &above(int i) const { return up_[static_cast<std::size_t>(i)]; }
  const bitset &below(int i) const { return down_[static_cast<std::size_t>(i)]; }
  bool less(int a, int b) const { return up_[static_cast<std::size_t>(a)].test(b); }
  bool comparable(int a, int b) const { return a == b || less(a, b) || less(b, a); }
  // The Hasse diagram: the members j that cover i (i < j with nothing in between).
  const std::vector<int> &covers(int i) const { return covers_[static_cast<std::size_t>(i)]; }
  int cover_count() const;
  // The minimal / maximal members of `set` (under the order restricted to it).
  bitset minimal(const bitset &set) const;
  bitset maximal(const bitset &set) const;
  bitset all() const;
  int find(int config_index) const;  // the member holding that configuration, or -1
  // Each member's level: the length of the longest chain below it (0 at the bottom). A member's level
  // is above every level below it, so the level is a number that grows with safety along every chain.
  std::vector<int> levels() const;

 private:
  std::vector<const configuration *> members_;
  std::vector<bitset> up_, down_;
  std::vector<std::vector<int>> covers_;
};

}  // namespace flex::explore
