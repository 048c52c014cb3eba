// Generic key commands: DEL, EXISTS, expiry, TYPE, KEYS, SCAN, RENAME, RANDOMKEY.
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "engine_impl.h"
#include "util.h"

namespace flex::redis {

namespace {

void cmd_del(cmd_ctx& c) {
  int64_t n = 0;
  for (size_t i = 1; i < c.argc(); i++) n += c.delete_key(c.argv[i]) ? 1 : 0;
  c.out.add_integer(n);
}

void cmd_exists(cmd_ctx& c) {
  int64_t n = 0;
  for (size_t i = 1; i < c.argc(); i++) n += c.lookup(c.argv[i]) != nullptr ? 1 : 0;
  c.out.add_integer(n);
}

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX | XX | GT | LT. The options are checked before the time,
// as Redis checks them.
void expire_generic(cmd_ctx& c, bool seconds, bool absolute) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t i = 3; i < c.argc(); i++) {
    const std::string& a = c.argv[i];
    if (eq_nocase(a, "nx")) nx = true;
    else if (eq_nocase(a, "xx")) xx = true;
    else if (eq_nocase(a, "gt")) gt = true;
    else if (eq_nocase(a, "lt")) lt = true;
    else {
      c.out.add_error("ERR Unsupported option " + a);
      return;
    }
  }
  if (nx && (xx || gt || lt)) {
    c.out.add_error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if (gt && lt) {
    c.out.add_error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  int64_t when;
  if (!c.arg_ll(c.argv[2], when)) return;
  std::string bad = "ERR invalid expire time in '" + to_lower(c.argv[0]) + "' command";
  if (seconds) {
    if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) {
      c.out.add_error(bad);
      return;
    }
    when *= 1000;
  }
  if (!absolute) {
    if ((when > 0 && c.now > INT64_MAX - when) || (when < 0 && c.now < INT64_MIN - when)) {
      c.out.add_error(bad);
      return;
    }
    when += c.now;
  }
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.out.add_integer(0);
    return;
  }
  int64_t cur = e->expire_ms;
  if ((nx && cur >= 0) || (xx && cur < 0) || (gt && (cur < 0 || when <= cur)) || (lt && cur >= 0 && when >= cur)) {
    c.out.add_integer(0);
    return;
  }
  database& d = c.db();
  if (when <= c.now) {
    d.erase(c.argv[1]);
  } else {
    d.set_expire(e, when);
  }
  c.out.add_integer(1);
}

void cmd_expire(cmd_ctx& c) { expire_generic(c, true, false); }
void cmd_pexpire(cmd_ctx& c) { expire_generic(c, false, false); }
void cmd_expireat(cmd_ctx& c) { expire_generic(c, true, true); }
void cmd_pexpireat(cmd_ctx& c) { expire_generic(c, false, true); }

void ttl_generic(cmd_ctx& c, bool ms) {
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.out.add_integer(-2);
  } else if (e->expire_ms < 0) {
    c.out.add_integer(-1);
  } else {
    int64_t left = e->expire_ms - c.now;
    if (left < 0) left = 0;
    c.out.add_integer(ms ? left : (left + 500) / 1000);
  }
}

void cmd_ttl(cmd_ctx& c) { ttl_generic(c, false); }
void cmd_pttl(cmd_ctx& c) { ttl_generic(c, true); }

void cmd_persist(cmd_ctx& c) {
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr || e->expire_ms < 0) {
    c.out.add_integer(0);
    return;
  }
  c.db().remove_expire(e);
  c.out.add_integer(1);
}

void cmd_type(cmd_ctx& c) {
  entry* e = c.lookup_write(c.argv[1]);
  c.out.add_simple(e == nullptr ? "none" : type_name(type_of(e->val)));
}

void cmd_keys(cmd_ctx& c) {
  std::vector<const std::string*> found;
  const std::string& pat = c.argv[1];
  bool all = pat == "*";
  c.db().for_each([&](const entry& e) {
    if (e.expire_ms >= 0 && e.expire_ms <= c.now) return;
    if (all || glob_match(pat, e.key)) found.push_back(&e.key);
  });
  c.out.add_array_len(found.size());
  for (const std::string* k : found) c.out.add_bulk(*k);
}

void cmd_scan(cmd_ctx& c) {
  const std::string& cs = c.argv[1];
  char* end = nullptr;
  errno = 0;
  uint64_t cursor = std::strtoull(cs.c_str(), &end, 10);
  if (cs.empty() || std::isspace(static_cast<unsigned char>(cs[0])) || end != cs.c_str() + cs.size() || errno == ERANGE) {
    c.out.add_error("ERR invalid cursor");
    return;
  }
  int64_t count = 10;
  const std::string* pattern = nullptr;
  const std::string* type = nullptr;
  for (size_t i = 2; i < c.argc(); i += 2) {
    const std::string& a = c.argv[i];
    if (i + 1 >= c.argc()) {
      c.syntax_error();
      return;
    }
    if (eq_nocase(a, "count")) {
      if (!c.arg_ll(c.argv[i + 1], count)) return;
      if (count < 1) {
        c.syntax_error();
        return;
      }
    } else if (eq_nocase(a, "match")) {
      pattern = &c.argv[i + 1];
    } else if (eq_nocase(a, "type")) {
      type = &c.argv[i + 1];
    } else {
      c.syntax_error();
      return;
    }
  }
  database& d = c.db();
  std::vector<std::string> keys;
  int64_t max_iter = count * 10;
  do {
    cursor = d.scan(cursor, [&](const entry& e) { keys.push_back(e.key); });
  } while (cursor != 0 && max_iter-- > 0 && static_cast<int64_t>(keys.size()) < count);
  // Filter after collecting, as Redis does, so lazy expiry cannot disturb the table being walked.
  std::vector<std::string> kept;
  for (std::string& k : keys) {
    if (pattern != nullptr && !(*pattern == "*") && !glob_match(*pattern, k)) continue;
    entry* e = c.lookup_write(k);
    if (e == nullptr) continue;
    if (type != nullptr && !eq_nocase(*type, type_name(type_of(e->val)))) continue;
    kept.push_back(std::move(k));
  }
  c.out.add_array_len(2);
  c.out.add_bulk(std::to_string(cursor));
  c.out.add_array_len(kept.size());
  for (const std::string& k : kept) c.out.add_bulk(k);
}

void rename_generic(cmd_ctx& c, bool nx) {
  entry* src = c.lookup_write(c.argv[1]);
  if (src == nullptr) {
    c.out.add_error("ERR no such key");
    return;
  }
  if (c.argv[1] == c.argv[2]) {
    if (nx) c.out.add_integer(0); else c.out.add_ok();
    return;
  }
  entry* dst = c.lookup_write(c.argv[2]);
  if (nx && dst != nullptr) {
    c.out.add_integer(0);
    return;
  }
  database& d = c.db();
  value v = std::move(src->val);
  int64_t when = src->expire_ms;
  d.erase(c.argv[1]);
  if (dst != nullptr) d.erase(c.argv[2]);
  entry* e = d.insert(c.argv[2], std::move(v));
  if (when >= 0) d.set_expire(e, when);
  if (nx) c.out.add_integer(1); else c.out.add_ok();
}

void cmd_rename(cmd_ctx& c) { rename_generic(c, false); }
void cmd_renamenx(cmd_ctx& c) { rename_generic(c, true); }

void cmd_randomkey(cmd_ctx& c) {
  database& d = c.db();
  // Like Redis, give up on expired picks after a bounded number of tries when every key has a TTL.
  for (int tries = 0; tries < 100; tries++) {
    entry* e = d.random_entry(c.eng.rng);
    if (e == nullptr) break;
    if (e->expire_ms >= 0 && e->expire_ms <= c.now) {
      if (d.expires_size() == d.size() && tries >= 99) {
        c.out.add_bulk(e->key);
        return;
      }
      c.eng.expire_if_needed(d, e, c.now);
      continue;
    }
    c.out.add_bulk(e->key);
    return;
  }
  c.out.add_null();
}

constexpr command_def table[] = {
    {"del", -2, cmd_del, cmd_write, 1, -1, 1, "generic"},
    {"unlink", -2, cmd_del, cmd_write | cmd_fast, 1, -1, 1, "generic"},
    {"exists", -2, cmd_exists, cmd_readonly | cmd_fast, 1, -1, 1, "generic"},
    {"expire", -3, cmd_expire, cmd_write | cmd_fast, 1, 1, 1, "generic"},
    {"pexpire", -3, cmd_pexpire, cmd_write | cmd_fast, 1, 1, 1, "generic"},
    {"expireat", -3, cmd_expireat, cmd_write | cmd_fast, 1, 1, 1, "generic"},
    {"pexpireat", -3, cmd_pexpireat, cmd_write | cmd_fast, 1, 1, 1, "generic"},
    {"ttl", 2, cmd_ttl, cmd_readonly | cmd_fast, 1, 1, 1, "generic"},
    {"pttl", 2, cmd_pttl, cmd_readonly | cmd_fast, 1, 1, 1, "generic"},
    {"persist", 2, cmd_persist, cmd_write | cmd_fast, 1, 1, 1, "generic"},
    {"type", 2, cmd_type, cmd_readonly | cmd_fast, 1, 1, 1, "generic"},
    {"keys", 2, cmd_keys, cmd_readonly, 0, 0, 0, "generic"},
    {"scan", -2, cmd_scan, cmd_readonly, 0, 0, 0, "generic"},
    {"rename", 3, cmd_rename, cmd_write, 1, 2, 1, "generic"},
    {"renamenx", 3, cmd_renamenx, cmd_write | cmd_fast, 1, 2, 1, "generic"},
    {"randomkey", 1, cmd_randomkey, cmd_readonly, 0, 0, 0, "generic"},
};

}  // namespace

std::span<const command_def> key_commands() { return table; }

}  // namespace flex::redis
