// One database's hash table and expiry index (see keyspace.h).
#include "keyspace.h"

#include <utility>

namespace flex::redis {

const char* type_name(value_type t) {
  switch (t) {
    case value_type::string: return "string";
    case value_type::list: return "list";
    case value_type::hash: return "hash";
    case value_type::set: return "set";
    case value_type::zset: return "zset";
    case value_type::stream: return "stream";
  }
  return "none";
}

uint64_t hash_key(std::string_view key) {
  // FNV-1a, then a murmur finalizer so the low bits (the bucket index) mix well.
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

database::~database() { clear(); }

database::database(database&& o) noexcept
    : buckets_(std::move(o.buckets_)), size_(std::exchange(o.size_, 0)), expires_(std::move(o.expires_)) {
  o.buckets_.clear();
  o.expires_.clear();
}

database& database::operator=(database&& o) noexcept {
  if (this != &o) {
    clear();
    buckets_ = std::move(o.buckets_);
    size_ = std::exchange(o.size_, 0);
    expires_ = std::move(o.expires_);
    o.buckets_.clear();
    o.expires_.clear();
  }
  return *this;
}

entry* database::find(std::string_view key) const {
  if (size_ == 0) return nullptr;
  uint64_t h = hash_key(key);
  for (entry* e = buckets_[h & mask()]; e != nullptr; e = e->next) {
    if (e->hash == h && e->key == key) return e;
  }
  return nullptr;
}

void database::resize(size_t n) {
  std::vector<entry*> nb(n, nullptr);
  for (entry* b : buckets_) {
    while (b != nullptr) {
      entry* next = b->next;
      size_t i = b->hash & (n - 1);
      b->next = nb[i];
      nb[i] = b;
      b = next;
    }
  }
  buckets_.swap(nb);
}

entry* database::insert(std::string key, value v) {
  if (buckets_.empty()) buckets_.assign(4, nullptr);
  if (size_ >= buckets_.size()) resize(buckets_.size() * 2);
  auto* e = new entry;
  e->key = std::move(key);
  e->val = std::move(v);
  e->hash = hash_key(e->key);
  size_t i = e->hash & mask();
  e->next = buckets_[i];
  buckets_[i] = e;
  size_++;
  return e;
}

bool database::erase(std::string_view key) {
  if (size_ == 0) return false;
  uint64_t h = hash_key(key);
  entry** link = &buckets_[h & mask()];
  while (*link != nullptr) {
    entry* e = *link;
    if (e->hash == h && e->key == key) {
      *link = e->next;
      remove_expire(e);
      delete e;
      size_--;
      if (buckets_.size() > 16 && size_ * 8 < buckets_.size()) resize(buckets_.size() / 2);
      return true;
    }
    link = &e->next;
  }
  return false;
}

void database::clear() {
  for (entry*& b : buckets_) {
    while (b != nullptr) {
      entry* next = b->next;
      delete b;
      b = next;
    }
  }
  buckets_.clear();
  expires_.clear();
  size_ = 0;
}

void database::set_expire(entry* e, int64_t when_ms) {
  if (e->expire_ms < 0) {
    e->expire_slot = expires_.size();
    expires_.push_back(e);
  }
  e->expire_ms = when_ms;
}

void database::remove_expire(entry* e) {
  if (e->expire_ms < 0) return;
  entry* last = expires_.back();
  expires_[e->expire_slot] = last;
  last->expire_slot = e->expire_slot;
  expires_.pop_back();
  e->expire_ms = -1;
}

entry* database::random_expiring(std::mt19937_64& rng) const {
  if (expires_.empty()) return nullptr;
  return expires_[rng() % expires_.size()];
}

entry* database::random_entry(std::mt19937_64& rng) const {
  if (size_ == 0) return nullptr;
  entry* b = nullptr;
  while (b == nullptr) b = buckets_[rng() & mask()];
  size_t len = 0;
  for (entry* e = b; e != nullptr; e = e->next) len++;
  size_t k = rng() % len;
  while (k-- > 0) b = b->next;
  return b;
}

}  // namespace flex::redis
