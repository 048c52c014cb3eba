// Hash commands.
#include <cmath>

#include "engine_impl.h"
#include "util.h"

namespace flex::redis {

namespace {

hash_value* read_hash(cmd_ctx& c, bool& bad) {
  bad = false;
  entry* e = c.lookup(c.argv[1]);
  if (e == nullptr) return nullptr;
  if (!c.check_type(e, value_type::hash)) {
    bad = true;
    return nullptr;
  }
  return &std::get<hash_value>(e->val);
}

void hset_generic(cmd_ctx& c, bool reply_ok) {
  if (c.argc() % 2 != 0) {
    c.wrong_args();
    return;
  }
  hash_value* h = c.lookup_or_create<hash_value>(c.argv[1]);
  if (h == nullptr) return;
  int64_t created = 0;
  for (size_t i = 2; i < c.argc(); i += 2) {
    auto [it, fresh] = h->try_emplace(c.argv[i], c.argv[i + 1]);
    if (fresh) {
      created++;
    } else {
      it->second = c.argv[i + 1];
    }
  }
  if (reply_ok) c.out.add_ok(); else c.out.add_integer(created);
}

void cmd_hset(cmd_ctx& c) { hset_generic(c, false); }
void cmd_hmset(cmd_ctx& c) { hset_generic(c, true); }

void cmd_hsetnx(cmd_ctx& c) {
  hash_value* h = c.lookup_or_create<hash_value>(c.argv[1]);
  if (h == nullptr) return;
  c.out.add_integer(h->try_emplace(c.argv[2], c.argv[3]).second ? 1 : 0);
}

void cmd_hget(cmd_ctx& c) {
  bool bad;
  hash_value* h = read_hash(c, bad);
  if (bad) return;
  if (h == nullptr) {
    c.out.add_null();
    return;
  }
  auto it = h->find(std::string_view(c.argv[2]));
  if (it == h->end()) c.out.add_null(); else c.out.add_bulk(it->second);
}

void cmd_hmget(cmd_ctx& c) {
  bool bad;
  hash_value* h = read_hash(c, bad);
  if (bad) return;
  c.out.add_array_len(c.argc() - 2);
  for (size_t i = 2; i < c.argc(); i++) {
    if (h == nullptr) {
      c.out.add_null();
      continue;
    }
    auto it = h->find(std::string_view(c.argv[i]));
    if (it == h->end()) c.out.add_null(); else c.out.add_bulk(it->second);
  }
}

void cmd_hdel(cmd_ctx& c) {
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.out.add_integer(0);
    return;
  }
  if (!c.check_type(e, value_type::hash)) return;
  auto& h = std::get<hash_value>(e->val);
  int64_t n = 0;
  for (size_t i = 2; i < c.argc(); i++) {
    auto it = h.find(std::string_view(c.argv[i]));
    if (it != h.end()) {
      h.erase(it);
      n++;
    }
  }
  if (h.empty()) c.db().erase(c.argv[1]);
  c.out.add_integer(n);
}

// HGETALL, HKEYS, HVALS.
void hget_all(cmd_ctx& c, bool keys, bool vals) {
  bool bad;
  hash_value* h = read_hash(c, bad);
  if (bad) return;
  if (h == nullptr) {
    c.out.add_array_len(0);
    return;
  }
  c.out.add_array_len(h->size() * ((keys ? 1 : 0) + (vals ? 1 : 0)));
  for (const auto& [k, v] : *h) {
    if (keys) c.out.add_bulk(k);
    if (vals) c.out.add_bulk(v);
  }
}

void cmd_hgetall(cmd_ctx& c) { hget_all(c, true, true); }
void cmd_hkeys(cmd_ctx& c) { hget_all(c, true, false); }
void cmd_hvals(cmd_ctx& c) { hget_all(c, false, true); }

void cmd_hlen(cmd_ctx& c) {
  bool bad;
  hash_value* h = read_hash(c, bad);
  if (!bad) c.out.add_integer(h == nullptr ? 0 : static_cast<int64_t>(h->size()));
}

void cmd_hstrlen(cmd_ctx& c) {
  bool bad;
  hash_value* h = read_hash(c, bad);
  if (bad) return;
  auto it = h == nullptr ? hash_value::iterator() : h->find(std::string_view(c.argv[2]));
  c.out.add_integer(h == nullptr || it == h->end() ? 0 : static_cast<int64_t>(it->second.size()));
}

void cmd_hexists(cmd_ctx& c) {
  bool bad;
  hash_value* h = read_hash(c, bad);
  if (!bad) c.out.add_integer(h != nullptr && h->count(std::string_view(c.argv[2])) ? 1 : 0);
}

void cmd_hincrby(cmd_ctx& c) {
  int64_t by;
  if (!c.arg_ll(c.argv[3], by)) return;
  hash_value* h = c.lookup_or_create<hash_value>(c.argv[1]);
  if (h == nullptr) return;
  auto it = h->find(std::string_view(c.argv[2]));
  int64_t v = 0;
  if (it != h->end() && !string_to_ll(it->second, v)) {
    c.out.add_error("ERR hash value is not an integer");
    return;
  }
  int64_t r;
  if (__builtin_add_overflow(v, by, &r)) {
    c.out.add_error("ERR increment or decrement would overflow");
    if (h->empty()) c.db().erase(c.argv[1]);
    return;
  }
  (*h)[c.argv[2]] = ll_to_string(r);
  c.out.add_integer(r);
}

void cmd_hincrbyfloat(cmd_ctx& c) {
  long double by;
  if (!string_to_long_double(c.argv[3], by)) {
    c.out.add_error(not_float_err);
    return;
  }
  // An infinite increment is refused before the key is looked at, as in Redis.
  if (std::isinf(by)) {
    c.out.add_error("ERR value is NaN or Infinity");
    return;
  }
  hash_value* h = c.lookup_or_create<hash_value>(c.argv[1]);
  if (h == nullptr) return;
  auto it = h->find(std::string_view(c.argv[2]));
  long double v = 0;
  if (it != h->end() && !string_to_long_double(it->second, v)) {
    c.out.add_error("ERR hash value is not a float");
    return;
  }
  long double r = v + by;
  if (std::isnan(r) || std::isinf(r)) {
    c.out.add_error("ERR increment would produce NaN or Infinity");
    if (h->empty()) c.db().erase(c.argv[1]);
    return;
  }
  std::string s = format_long_double_human(r);
  (*h)[c.argv[2]] = s;
  c.out.add_bulk(s);
}

constexpr command_def table[] = {
    {"hset", -4, cmd_hset, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "hash"},
    {"hmset", -4, cmd_hmset, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "hash"},
    {"hsetnx", 4, cmd_hsetnx, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "hash"},
    {"hget", 3, cmd_hget, cmd_readonly | cmd_fast, 1, 1, 1, "hash"},
    {"hmget", -3, cmd_hmget, cmd_readonly | cmd_fast, 1, 1, 1, "hash"},
    {"hdel", -3, cmd_hdel, cmd_write | cmd_fast, 1, 1, 1, "hash"},
    {"hgetall", 2, cmd_hgetall, cmd_readonly, 1, 1, 1, "hash"},
    {"hkeys", 2, cmd_hkeys, cmd_readonly, 1, 1, 1, "hash"},
    {"hvals", 2, cmd_hvals, cmd_readonly, 1, 1, 1, "hash"},
    {"hlen", 2, cmd_hlen, cmd_readonly | cmd_fast, 1, 1, 1, "hash"},
    {"hstrlen", 3, cmd_hstrlen, cmd_readonly | cmd_fast, 1, 1, 1, "hash"},
    {"hexists", 3, cmd_hexists, cmd_readonly | cmd_fast, 1, 1, 1, "hash"},
    {"hincrby", 4, cmd_hincrby, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "hash"},
    {"hincrbyfloat", 4, cmd_hincrbyfloat, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "hash"},
};

}  // namespace

std::span<const command_def> hash_commands() { return table; }

}  // namespace flex::redis
