// Set commands.
#include <algorithm>

#include "engine_impl.h"
#include "util.h"

namespace flex::redis {

namespace {

set_value* read_set(cmd_ctx& c, std::string_view key, bool& bad) {
  bad = false;
  entry* e = c.lookup(key);
  if (e == nullptr) return nullptr;
  if (!c.check_type(e, value_type::set)) {
    bad = true;
    return nullptr;
  }
  return &std::get<set_value>(e->val);
}

// A uniformly random member: a random non-empty bucket, then a random position in it (the same
// approximation Redis makes with its own dict).
set_value::const_iterator random_member(const set_value& s, std::mt19937_64& rng) {
  size_t nb = s.bucket_count();
  for (;;) {
    size_t b = rng() % nb;
    size_t len = s.bucket_size(b);
    if (len == 0) continue;
    auto it = s.begin(b);
    std::advance(it, static_cast<long>(rng() % len));
    return s.find(*it);
  }
}

void cmd_sadd(cmd_ctx& c) {
  set_value* s = c.lookup_or_create<set_value>(c.argv[1]);
  if (s == nullptr) return;
  int64_t n = 0;
  for (size_t i = 2; i < c.argc(); i++) n += s->insert(c.argv[i]).second ? 1 : 0;
  c.out.add_integer(n);
}

void cmd_srem(cmd_ctx& c) {
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.out.add_integer(0);
    return;
  }
  if (!c.check_type(e, value_type::set)) return;
  auto& s = std::get<set_value>(e->val);
  int64_t n = 0;
  for (size_t i = 2; i < c.argc(); i++) {
    auto it = s.find(std::string_view(c.argv[i]));
    if (it != s.end()) {
      s.erase(it);
      n++;
    }
  }
  if (s.empty()) c.db().erase(c.argv[1]);
  c.out.add_integer(n);
}

void cmd_smembers(cmd_ctx& c) {
  bool bad;
  set_value* s = read_set(c, c.argv[1], bad);
  if (bad) return;
  if (s == nullptr) {
    c.out.add_array_len(0);
    return;
  }
  c.out.add_array_len(s->size());
  for (const auto& m : *s) c.out.add_bulk(m);
}

void cmd_sismember(cmd_ctx& c) {
  bool bad;
  set_value* s = read_set(c, c.argv[1], bad);
  if (!bad) c.out.add_integer(s != nullptr && s->count(std::string_view(c.argv[2])) ? 1 : 0);
}

void cmd_smismember(cmd_ctx& c) {
  bool bad;
  set_value* s = read_set(c, c.argv[1], bad);
  if (bad) return;
  c.out.add_array_len(c.argc() - 2);
  for (size_t i = 2; i < c.argc(); i++) c.out.add_integer(s != nullptr && s->count(std::string_view(c.argv[i])) ? 1 : 0);
}

void cmd_scard(cmd_ctx& c) {
  bool bad;
  set_value* s = read_set(c, c.argv[1], bad);
  if (!bad) c.out.add_integer(s == nullptr ? 0 : static_cast<int64_t>(s->size()));
}

void cmd_spop(cmd_ctx& c) {
  if (c.argc() > 3) {
    c.syntax_error();
    return;
  }
  bool has_count = c.argc() == 3;
  int64_t count = 1;
  if (has_count && (!string_to_ll(c.argv[2], count) || count < 0)) {
    c.out.add_error("ERR value is out of range, must be positive");
    return;
  }
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    if (has_count) c.out.add_array_len(0); else c.out.add_null();
    return;
  }
  if (!c.check_type(e, value_type::set)) return;
  auto& s = std::get<set_value>(e->val);
  size_t n = has_count ? std::min(static_cast<size_t>(count), s.size()) : 1;
  if (has_count) c.out.add_array_len(n);
  if (n == s.size()) {
    for (const auto& m : s) c.out.add_bulk(m);
    c.db().erase(c.argv[1]);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (s.bucket_count() > 64 && s.size() * 16 < s.bucket_count()) s.rehash(0);
    auto it = random_member(s, c.eng.rng);
    c.out.add_bulk(*it);
    s.erase(it);
  }
  if (s.empty()) c.db().erase(c.argv[1]);
}

void cmd_srandmember(cmd_ctx& c) {
  if (c.argc() > 3) {
    c.syntax_error();
    return;
  }
  bool has_count = c.argc() == 3;
  int64_t count = 1;
  if (has_count) {
    if (!c.arg_ll(c.argv[2], count)) return;
    // Checked before the key, as Redis does: -INT64_MIN picks would not fit in a count.
    if (count == INT64_MIN) {
      c.out.add_error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
      return;
    }
  }
  bool bad;
  set_value* s = read_set(c, c.argv[1], bad);
  if (bad) return;
  if (s == nullptr) {
    if (has_count) c.out.add_array_len(0); else c.out.add_null();
    return;
  }
  if (!has_count) {
    c.out.add_bulk(*random_member(*s, c.eng.rng));
    return;
  }
  if (count < 0) {
    // Negative count: that many picks, repetitions allowed.
    size_t n = static_cast<size_t>(-count);
    c.out.add_array_len(n);
    for (size_t i = 0; i < n; i++) c.out.add_bulk(*random_member(*s, c.eng.rng));
    return;
  }
  size_t n = std::min(static_cast<size_t>(count), s->size());
  if (n == s->size()) {
    c.out.add_array_len(n);
    for (const auto& m : *s) c.out.add_bulk(m);
    return;
  }
  // Distinct members: pick random ones until n distinct have been found.
  std::unordered_set<const std::string*> picked;
  while (picked.size() < n) picked.insert(&*random_member(*s, c.eng.rng));
  c.out.add_array_len(n);
  for (const std::string* m : picked) c.out.add_bulk(*m);
}

enum class set_op { inter, uni, diff };

void set_algebra(cmd_ctx& c, set_op op) {
  std::vector<set_value*> sets;
  for (size_t i = 1; i < c.argc(); i++) {
    bool bad;
    set_value* s = read_set(c, c.argv[i], bad);
    if (bad) return;
    sets.push_back(s);
  }
  std::vector<const std::string*> result;
  std::unordered_set<std::string_view> seen;
  if (op == set_op::inter) {
    if (std::find(sets.begin(), sets.end(), nullptr) == sets.end()) {
      std::sort(sets.begin(), sets.end(), [](auto* a, auto* b) { return a->size() < b->size(); });
      for (const auto& m : *sets[0]) {
        bool all = true;
        for (size_t j = 1; j < sets.size() && all; j++) all = sets[j]->count(std::string_view(m)) != 0;
        if (all) result.push_back(&m);
      }
    }
  } else if (op == set_op::uni) {
    for (set_value* s : sets) {
      if (s == nullptr) continue;
      for (const auto& m : *s)
        if (seen.insert(m).second) result.push_back(&m);
    }
  } else if (sets[0] != nullptr) {
    for (const auto& m : *sets[0]) {
      bool keep = true;
      for (size_t j = 1; j < sets.size() && keep; j++) keep = sets[j] == nullptr || !sets[j]->count(std::string_view(m));
      if (keep) result.push_back(&m);
    }
  }
  c.out.add_array_len(result.size());
  for (const std::string* m : result) c.out.add_bulk(*m);
}

void cmd_sinter(cmd_ctx& c) { set_algebra(c, set_op::inter); }
void cmd_sunion(cmd_ctx& c) { set_algebra(c, set_op::uni); }
void cmd_sdiff(cmd_ctx& c) { set_algebra(c, set_op::diff); }

constexpr command_def table[] = {
    {"sadd", -3, cmd_sadd, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "set"},
    {"srem", -3, cmd_srem, cmd_write | cmd_fast, 1, 1, 1, "set"},
    {"smembers", 2, cmd_smembers, cmd_readonly, 1, 1, 1, "set"},
    {"sismember", 3, cmd_sismember, cmd_readonly | cmd_fast, 1, 1, 1, "set"},
    {"smismember", -3, cmd_smismember, cmd_readonly | cmd_fast, 1, 1, 1, "set"},
    {"scard", 2, cmd_scard, cmd_readonly | cmd_fast, 1, 1, 1, "set"},
    {"spop", -2, cmd_spop, cmd_write | cmd_fast, 1, 1, 1, "set"},
    {"srandmember", -2, cmd_srandmember, cmd_readonly, 1, 1, 1, "set"},
    {"sinter", -2, cmd_sinter, cmd_readonly, 1, -1, 1, "set"},
    {"sunion", -2, cmd_sunion, cmd_readonly, 1, -1, 1, "set"},
    {"sdiff", -2, cmd_sdiff, cmd_readonly, 1, -1, 1, "set"},
};

}  // namespace

std::span<const command_def> set_commands() { return table; }

}  // namespace flex::redis
