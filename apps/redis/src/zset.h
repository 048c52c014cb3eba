// Sorted set: a skiplist with spans ordered by (score, member), for O(log n) rank and range
// queries, plus a hash map from member to score. Internal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hashing.h"

namespace flex::redis {

struct score_range {
  double min = 0, max = 0;
  bool min_ex = false, max_ex = false;
  bool value_gte_min(double v) const { return min_ex ? v > min : v >= min; }
  bool value_lte_max(double v) const { return max_ex ? v < max : v <= max; }
};

class zset {
 public:
  struct node;
  struct level {
    node* forward = nullptr;
    size_t span = 0;
  };
  struct node {
    std::string member;
    double score = 0;
    node* backward = nullptr;
    std::vector<level> levels;
    node* next() const { return levels[0].forward; }
  };

  zset();
  ~zset();
  zset(zset&& o) noexcept;
  zset& operator=(zset&& o) noexcept;
  zset(const zset&) = delete;
  zset& operator=(const zset&) = delete;

  size_t size() const { return dict_.size(); }
  const double* score(std::string_view member) const;
  // Inserts a new member or moves an existing one to a new score.
  void set(std::string_view member, double score);
  bool erase(std::string_view member);
  // 0-based rank in ascending order; -1 when absent.
  int64_t rank(std::string_view member) const;
  // Node at 0-based ascending rank, or null.
  node* at_rank(size_t rank) const;
  node* first() const { return head_->levels[0].forward; }
  node* last() const { return tail_; }
  // First node with score in range (ascending) and last node in range; null when none.
  node* first_in_range(const score_range& r) const;
  node* last_in_range(const score_range& r) const;

 private:
  static constexpr int max_level = 32;
  int random_level();
  void unlink(node* x, node** update);
  node* insert_node(std::string_view member, double score);
  void destroy();

  node* head_;
  node* tail_ = nullptr;
  int level_ = 1;
  size_t length_ = 0;
  std::unordered_map<std::string, double, string_hash, std::equal_to<>> dict_;
  std::minstd_rand rng_{12345};
};

}  // namespace flex::redis
