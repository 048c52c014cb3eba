// The keyspace: values of every type, one database as a chained hash table with power-of-two
// buckets (so SCAN can use Redis's reverse-binary cursor and still visit every key present for the
// whole scan while the table grows or shrinks), and per-key expiry with a sampling index. Internal.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "hashing.h"
#include "zset.h"

namespace flex::redis {

struct stream_id {
  uint64_t ms = 0, seq = 0;
  auto operator<=>(const stream_id&) const = default;
};

struct stream_value {
  struct item {
    stream_id id;
    std::vector<std::string> fields;  // field, value, field, value, ...
  };
  std::deque<item> items;
  stream_id last_id;
};

using list_value = std::deque<std::string>;
using hash_value = std::unordered_map<std::string, std::string, string_hash, std::equal_to<>>;
using set_value = std::unordered_set<std::string, string_hash, std::equal_to<>>;

// The index of each alternative is its type tag in snapshots; do not reorder.
using value = std::variant<std::string, list_value, hash_value, set_value, zset, stream_value>;
enum class value_type : uint8_t { string = 0, list = 1, hash = 2, set = 3, zset = 4, stream = 5 };

inline value_type type_of(const value& v) { return static_cast<value_type>(v.index()); }
const char* type_name(value_type t);

struct entry {
  std::string key;
  value val;
  int64_t expire_ms = -1;  // absolute; -1 when the key has no TTL
  uint64_t write_epoch = 0;  // the engine's write epoch of the last write command naming this key (WATCH)
  size_t expire_slot = 0;  // index in database::expires_ while expire_ms >= 0
  uint64_t hash = 0;
  entry* next = nullptr;
};

class database {
 public:
  database() = default;
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  database(database&& o) noexcept;
  database& operator=(database&& o) noexcept;

  size_t size() const { return size_; }
  size_t expires_size() const { return expires_.size(); }
  // Raw lookup: ignores expiry.
  entry* find(std::string_view key) const;
  // Inserts a new key (it must not exist) and returns its entry.
  entry* insert(std::string key, value v);
  bool erase(std::string_view key);
  void clear();

  void set_expire(entry* e, int64_t when_ms);
  void remove_expire(entry* e);
  // A uniformly chosen entry with a TTL; null when none.
  entry* random_expiring(std::mt19937_64& rng) const;
  // An entry chosen at random (bucket, then chain position); null when empty.
  entry* random_entry(std::mt19937_64& rng) const;

  // Visits one bucket (and, across a resize, its counterparts) and returns the next cursor; 0 when
  // the scan is complete.
  template <typename F>
  uint64_t scan(uint64_t cursor, F&& fn) const;

  template <typename F>
  void for_each(F&& fn) const {
    for (entry* b : buckets_)
      for (entry* e = b; e != nullptr; e = e->next) fn(*e);
  }

 private:
  void resize(size_t n);
  size_t mask() const { return buckets_.size() - 1; }

  std::vector<entry*> buckets_;
  size_t size_ = 0;
  std::vector<entry*> expires_;
};

uint64_t hash_key(std::string_view key);

template <typename F>
uint64_t database::scan(uint64_t v, F&& fn) const {
  if (size_ == 0 || buckets_.empty()) return 0;
  uint64_t m = mask();
  for (entry* e = buckets_[v & m]; e != nullptr; e = e->next) fn(*e);
  // Increment the reversed cursor: set the bits above the mask, reverse, add one, reverse back.
  v |= ~m;
  v = __builtin_bitreverse64(v);
  v++;
  v = __builtin_bitreverse64(v);
  return v;
}

}  // namespace flex::redis
