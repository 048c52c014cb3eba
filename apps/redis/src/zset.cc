// Skiplist with spans, in the style of Pugh's paper with the rank extension (see zset.h).
#include "zset.h"

#include <utility>

namespace flex::redis {

namespace {

// Order of the skiplist: by score, then by member bytes.
bool less(double s1, const std::string& m1, double s2, std::string_view m2) {
  return s1 < s2 || (s1 == s2 && std::string_view(m1) < m2);
}

}  // namespace

zset::zset() : head_(new node) { head_->levels.resize(max_level); }

zset::~zset() { destroy(); }

void zset::destroy() {
  if (head_ == nullptr) return;
  node* x = head_->levels[0].forward;
  while (x != nullptr) {
    node* n = x->levels[0].forward;
    delete x;
    x = n;
  }
  delete head_;
  head_ = nullptr;
}

zset::zset(zset&& o) noexcept
    : head_(std::exchange(o.head_, nullptr)),
      tail_(std::exchange(o.tail_, nullptr)),
      level_(o.level_),
      length_(std::exchange(o.length_, 0)),
      dict_(std::move(o.dict_)) {
  o.dict_.clear();
}

zset& zset::operator=(zset&& o) noexcept {
  if (this != &o) {
    destroy();
    head_ = std::exchange(o.head_, nullptr);
    tail_ = std::exchange(o.tail_, nullptr);
    level_ = o.level_;
    length_ = std::exchange(o.length_, 0);
    dict_ = std::move(o.dict_);
    o.dict_.clear();
  }
  return *this;
}

int zset::random_level() {
  int lvl = 1;
  while (lvl < max_level && (rng_() & 0xFFFF) < 0xFFFF / 4) lvl++;
  return lvl;
}

const double* zset::score(std::string_view member) const {
  auto it = dict_.find(member);
  return it == dict_.end() ? nullptr : &it->second;
}

zset::node* zset::insert_node(std::string_view member, double score) {
  node* update[max_level];
  size_t rank[max_level];
  node* x = head_;
  for (int i = level_ - 1; i >= 0; i--) {
    rank[i] = i == level_ - 1 ? 0 : rank[i + 1];
    while (x->levels[i].forward != nullptr &&
           less(x->levels[i].forward->score, x->levels[i].forward->member, score, member)) {
      rank[i] += x->levels[i].span;
      x = x->levels[i].forward;
    }
    update[i] = x;
  }
  int lvl = random_level();
  if (lvl > level_) {
    for (int i = level_; i < lvl; i++) {
      rank[i] = 0;
      update[i] = head_;
      update[i]->levels[i].span = length_;
    }
    level_ = lvl;
  }
  node* n = new node;
  n->member.assign(member.data(), member.size());
  n->score = score;
  n->levels.resize(static_cast<size_t>(lvl));
  for (int i = 0; i < lvl; i++) {
    n->levels[i].forward = update[i]->levels[i].forward;
    update[i]->levels[i].forward = n;
    n->levels[i].span = update[i]->levels[i].span - (rank[0] - rank[i]);
    update[i]->levels[i].span = (rank[0] - rank[i]) + 1;
  }
  for (int i = lvl; i < level_; i++) update[i]->levels[i].span++;
  n->backward = update[0] == head_ ? nullptr : update[0];
  if (n->levels[0].forward != nullptr) {
    n->levels[0].forward->backward = n;
  } else {
    tail_ = n;
  }
  length_++;
  return n;
}

void zset::unlink(node* x, node** update) {
  for (int i = 0; i < level_; i++) {
    if (update[i]->levels[i].forward == x) {
      update[i]->levels[i].span += x->levels[i].span - 1;
      update[i]->levels[i].forward = x->levels[i].forward;
    } else {
      update[i]->levels[i].span -= 1;
    }
  }
  if (x->levels[0].forward != nullptr) {
    x->levels[0].forward->backward = x->backward;
  } else {
    tail_ = x->backward;
  }
  while (level_ > 1 && head_->levels[level_ - 1].forward == nullptr) level_--;
  length_--;
}

void zset::set(std::string_view member, double score) {
  // A score of -0 is kept as 0, as Redis's small-set encoding keeps it.
  score += 0.0;
  auto it = dict_.find(member);
  if (it == dict_.end()) {
    insert_node(member, score);
    dict_.emplace(std::string(member), score);
    return;
  }
  double old = it->second;
  if (old == score) return;
  node* update[max_level];
  node* x = head_;
  for (int i = level_ - 1; i >= 0; i--) {
    while (x->levels[i].forward != nullptr &&
           less(x->levels[i].forward->score, x->levels[i].forward->member, old, member)) {
      x = x->levels[i].forward;
    }
    update[i] = x;
  }
  x = x->levels[0].forward;
  // When the node stays between its neighbours, only the score changes.
  if ((x->backward == nullptr || x->backward->score < score ||
       (x->backward->score == score && x->backward->member < member)) &&
      (x->levels[0].forward == nullptr || x->levels[0].forward->score > score ||
       (x->levels[0].forward->score == score && std::string_view(x->levels[0].forward->member) > member))) {
    x->score = score;
  } else {
    unlink(x, update);
    delete x;
    insert_node(member, score);
  }
  it->second = score;
}

bool zset::erase(std::string_view member) {
  auto it = dict_.find(member);
  if (it == dict_.end()) return false;
  double sc = it->second;
  node* update[max_level];
  node* x = head_;
  for (int i = level_ - 1; i >= 0; i--) {
    while (x->levels[i].forward != nullptr &&
           less(x->levels[i].forward->score, x->levels[i].forward->member, sc, member)) {
      x = x->levels[i].forward;
    }
    update[i] = x;
  }
  x = x->levels[0].forward;
  unlink(x, update);
  delete x;
  dict_.erase(it);
  return true;
}

int64_t zset::rank(std::string_view member) const {
  auto it = dict_.find(member);
  if (it == dict_.end()) return -1;
  double sc = it->second;
  size_t r = 0;
  node* x = head_;
  for (int i = level_ - 1; i >= 0; i--) {
    while (x->levels[i].forward != nullptr &&
           (less(x->levels[i].forward->score, x->levels[i].forward->member, sc, member) ||
            (x->levels[i].forward->score == sc && x->levels[i].forward->member == member))) {
      r += x->levels[i].span;
      x = x->levels[i].forward;
    }
    if (x != head_ && x->member == member) return static_cast<int64_t>(r) - 1;
  }
  return -1;
}

zset::node* zset::at_rank(size_t rank) const {
  size_t target = rank + 1, traversed = 0;
  node* x = head_;
  for (int i = level_ - 1; i >= 0; i--) {
    while (x->levels[i].forward != nullptr && traversed + x->levels[i].span <= target) {
      traversed += x->levels[i].span;
      x = x->levels[i].forward;
    }
    if (traversed == target) return x;
  }
  return nullptr;
}

zset::node* zset::first_in_range(const score_range& r) const {
  if (r.min > r.max || (r.min == r.max && (r.min_ex || r.max_ex))) return nullptr;
  node* x = head_;
  for (int i = level_ - 1; i >= 0; i--) {
    while (x->levels[i].forward != nullptr && !r.value_gte_min(x->levels[i].forward->score)) {
      x = x->levels[i].forward;
    }
  }
  x = x->levels[0].forward;
  if (x == nullptr || !r.value_lte_max(x->score)) return nullptr;
  return x;
}

zset::node* zset::last_in_range(const score_range& r) const {
  if (r.min > r.max || (r.min == r.max && (r.min_ex || r.max_ex))) return nullptr;
  node* x = head_;
  for (int i = level_ - 1; i >= 0; i--) {
    while (x->levels[i].forward != nullptr && r.value_lte_max(x->levels[i].forward->score)) {
      x = x->levels[i].forward;
    }
  }
  if (x == head_ || !r.value_gte_min(x->score)) return nullptr;
  return x;
}

}  // namespace flex::redis
