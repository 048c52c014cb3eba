#include "flex/explore/poset.h"

#include <algorithm>
#include <bit>

namespace flex::explore {

int bitset::count() const {
  int n = 0;
  for (std::uint64_t w : w_) n += std::popcount(w);
  return n;
}

bool bitset::any() const {
  for (std::uint64_t w : w_) {
    if (w) return true;
  }
  return false;
}

bitset &bitset::operator|=(const bitset &o) {
  for (std::size_t i = 0; i < w_.size(); ++i) w_[i] |= o.w_[i];
  return *this;
}

bitset &bitset::operator&=(const bitset &o) {
  for (std::size_t i = 0; i < w_.size(); ++i) w_[i] &= o.w_[i];
  return *this;
}

bitset bitset::minus(const bitset &o) const {
  bitset r = *this;
  for (std::size_t i = 0; i < w_.size(); ++i) r.w_[i] &= ~o.w_[i];
  return r;
}

std::vector<int> bitset::members() const {
  std::vector<int> out;
  for (std::size_t i = 0; i < w_.size(); ++i) {
    for (std::uint64_t w = w_[i]; w; w &= w - 1) out.push_back(static_cast<int>(i * 64) + std::countr_zero(w));
  }
  return out;
}

poset::poset(std::vector<const configuration *> members) : members_(std::move(members)) {
  const int n = size();
  up_.assign(static_cast<std::size_t>(n), bitset(n));
  down_.assign(static_cast<std::size_t>(n), bitset(n));
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      // Strictly safer only: equally safe configurations (a `none` boundary is no wall, so {a}:none {b}:none
      // is {a,b}) are neither above nor below each other.
      if (a != b && at(a).leq(at(b)) && !at(b).leq(at(a))) {
        up_[static_cast<std::size_t>(a)].set(b);
        down_[static_cast<std::size_t>(b)].set(a);
      }
    }
  }
  // Transitive reduction: j covers i when j is above i and above nothing that is above i.
  covers_.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    bitset indirect(n);
    for (int k : up_[static_cast<std::size_t>(i)].members()) indirect |= up_[static_cast<std::size_t>(k)];
    covers_[static_cast<std::size_t>(i)] = up_[static_cast<std::size_t>(i)].minus(indirect).members();
  }
}

std::vector<int> poset::levels() const {
  std::vector<int> order(static_cast<std::size_t>(size()));
  for (int i = 0; i < size(); ++i) order[static_cast<std::size_t>(i)] = i;
  // Fewer members below first: a linear extension of the order.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return below(a).count() < below(b).count(); });
  std::vector<int> level(static_cast<std::size_t>(size()), 0);
  for (int j : order) {
    for (int i : below(j).members()) {
      level[static_cast<std::size_t>(j)] = std::max(level[static_cast<std::size_t>(j)], level[static_cast<std::size_t>(i)] + 1);
    }
  }
  return level;
}

int poset::cover_count() const {
  int n = 0;
  for (const auto &c : covers_) n += static_cast<int>(c.size());
  return n;
}

bitset poset::minimal(const bitset &set) const {
  bitset out(size());
  for (int i : set.members()) {
    bitset b = down_[static_cast<std::size_t>(i)];
    b &= set;
    if (!b.any()) out.set(i);
  }
  return out;
}

bitset poset::maximal(const bitset &set) const {
  bitset out(size());
  for (int i : set.members()) {
    bitset b = up_[static_cast<std::size_t>(i)];
    b &= set;
    if (!b.any()) out.set(i);
  }
  return out;
}

bitset poset::all() const {
  bitset b(size());
  for (int i = 0; i < size(); ++i) b.set(i);
  return b;
}

int poset::find(int config_index) const {
  for (int i = 0; i < size(); ++i) {
    if (at(i).index == config_index) return i;
  }
  return -1;
}

}  // namespace flex::explore
