// String commands: GET, SET and its options, counters, ranges.
#include <cmath>

#include "engine_impl.h"
#include "util.h"

namespace flex::redis {

namespace {

constexpr int64_t max_string = 512ll * 1024 * 1024;

// The string at key, or null: replies WRONGTYPE (and sets bad) when the key has another type.
std::string* get_string(cmd_ctx& c, std::string_view key, bool& bad) {
  bad = false;
  entry* e = c.lookup(key);
  if (e == nullptr) return nullptr;
  if (!c.check_type(e, value_type::string)) {
    bad = true;
    return nullptr;
  }
  return &std::get<std::string>(e->val);
}

void cmd_get(cmd_ctx& c) {
  bool bad;
  std::string* s = get_string(c, c.argv[1], bad);
  if (bad) return;
  if (s == nullptr) {
    c.out.add_null();
  } else {
    c.out.add_bulk(*s);
  }
}

enum set_flags : unsigned {
  f_nx = 1, f_xx = 2, f_get = 4, f_keepttl = 8, f_ex = 16, f_px = 32, f_exat = 64, f_pxat = 128,
};

// Converts an expire argument to an absolute time in ms; replies with the error on failure.
bool parse_expire(cmd_ctx& c, std::string_view arg, unsigned unit_flag, int64_t& when) {
  int64_t v;
  if (!c.arg_ll(arg, v)) return false;
  bool seconds = unit_flag & (f_ex | f_exat);
  if (v <= 0 || (seconds && v > INT64_MAX / 1000)) {
    c.out.add_error("ERR invalid expire time in '" + to_lower(c.argv[0]) + "' command");
    return false;
  }
  if (seconds) v *= 1000;
  if (unit_flag & (f_ex | f_px)) {
    if (v > INT64_MAX - c.now) {
      c.out.add_error("ERR invalid expire time in '" + to_lower(c.argv[0]) + "' command");
      return false;
    }
    v += c.now;
  }
  when = v;
  return true;
}

// Shared tail of SET, SETEX, PSETEX and SETNX.
void do_set(cmd_ctx& c, unsigned flags, bool has_expire, int64_t when, bool reply_int) {
  std::string_view key = c.argv[1];
  entry* e = c.lookup_write(key);
  if (flags & f_get) {
    if (e != nullptr && !c.check_type(e, value_type::string)) return;
  }
  bool exists = e != nullptr;
  if (((flags & f_nx) && exists) || ((flags & f_xx) && !exists)) {
    if (flags & f_get) {
      if (exists) c.out.add_bulk(std::get<std::string>(e->val)); else c.out.add_null();
    } else if (reply_int) {
      c.out.add_integer(0);
    } else {
      c.out.add_null();
    }
    return;
  }
  if (flags & f_get) {
    if (exists) c.out.add_bulk(std::get<std::string>(e->val)); else c.out.add_null();
  }
  database& d = c.db();
  if (e != nullptr) {
    e->val = c.argv[2];
    if (!(flags & f_keepttl)) d.remove_expire(e);
  } else {
    e = d.insert(std::string(key), c.argv[2]);
  }
  if (has_expire) {
    if (when <= c.now) {
      d.erase(key);
    } else {
      d.set_expire(e, when);
    }
  }
  if (flags & f_get) return;
  if (reply_int) {
    c.out.add_integer(1);
  } else {
    c.out.add_ok();
  }
}

void cmd_set(cmd_ctx& c) {
  unsigned flags = 0;
  std::string_view expire_arg;
  unsigned unit = 0;
  for (size_t i = 3; i < c.argc(); i++) {
    const std::string& a = c.argv[i];
    bool has_next = i + 1 < c.argc();
    unsigned timed = f_ex | f_px | f_exat | f_pxat;
    if (eq_nocase(a, "nx") && !(flags & f_xx)) {
      flags |= f_nx;
    } else if (eq_nocase(a, "xx") && !(flags & f_nx)) {
      flags |= f_xx;
    } else if (eq_nocase(a, "get")) {
      flags |= f_get;
    } else if (eq_nocase(a, "keepttl") && !(flags & timed)) {
      flags |= f_keepttl;
    } else if (has_next && !(flags & f_keepttl) &&
               ((eq_nocase(a, "ex") && !(flags & (timed & ~f_ex))) || (eq_nocase(a, "px") && !(flags & (timed & ~f_px))) ||
                (eq_nocase(a, "exat") && !(flags & (timed & ~f_exat))) ||
                (eq_nocase(a, "pxat") && !(flags & (timed & ~f_pxat))))) {
      unit = eq_nocase(a, "ex") ? f_ex : eq_nocase(a, "px") ? f_px : eq_nocase(a, "exat") ? f_exat : f_pxat;
      flags |= unit;
      expire_arg = c.argv[++i];
    } else {
      c.syntax_error();
      return;
    }
  }
  int64_t when = 0;
  if (unit != 0 && !parse_expire(c, expire_arg, unit, when)) return;
  do_set(c, flags, unit != 0, when, false);
}

void cmd_setnx(cmd_ctx& c) { do_set(c, f_nx, false, 0, true); }

void setex_common(cmd_ctx& c, unsigned unit) {
  int64_t when;
  if (!parse_expire(c, c.argv[2], unit, when)) return;
  std::vector<std::string> argv = {c.argv[0], c.argv[1], c.argv[3]};
  cmd_ctx c2{c.eng, c.client, argv, c.out, c.now};
  do_set(c2, 0, true, when, false);
}

void cmd_setex(cmd_ctx& c) { setex_common(c, f_ex); }
void cmd_psetex(cmd_ctx& c) { setex_common(c, f_px); }

void cmd_getset(cmd_ctx& c) { do_set(c, f_get, false, 0, false); }

void cmd_getdel(cmd_ctx& c) {
  bool bad;
  std::string* s = get_string(c, c.argv[1], bad);
  if (bad) return;
  if (s == nullptr) {
    c.out.add_null();
    return;
  }
  c.out.add_bulk(*s);
  c.db().erase(c.argv[1]);
}

void cmd_mget(cmd_ctx& c) {
  c.out.add_array_len(c.argc() - 1);
  for (size_t i = 1; i < c.argc(); i++) {
    entry* e = c.lookup(c.argv[i]);
    if (e == nullptr || type_of(e->val) != value_type::string) {
      c.out.add_null();
    } else {
      c.out.add_bulk(std::get<std::string>(e->val));
    }
  }
}

void cmd_mset(cmd_ctx& c) {
  if (c.argc() % 2 == 0) {
    c.wrong_args();
    return;
  }
  for (size_t i = 1; i < c.argc(); i += 2) c.set_key(c.argv[i], c.argv[i + 1]);
  c.out.add_ok();
}

void cmd_msetnx(cmd_ctx& c) {
  if (c.argc() % 2 == 0) {
    c.wrong_args();
    return;
  }
  for (size_t i = 1; i < c.argc(); i += 2) {
    if (c.lookup_write(c.argv[i]) != nullptr) {
      c.out.add_integer(0);
      return;
    }
  }
  for (size_t i = 1; i < c.argc(); i += 2) c.set_key(c.argv[i], c.argv[i + 1]);
  c.out.add_integer(1);
}

void incr_by(cmd_ctx& c, int64_t by) {
  entry* e = c.lookup_write(c.argv[1]);
  int64_t v = 0;
  if (e != nullptr) {
    if (!c.check_type(e, value_type::string)) return;
    if (!string_to_ll(std::get<std::string>(e->val), v)) {
      c.out.add_error(not_integer_err);
      return;
    }
  }
  int64_t r;
  if (__builtin_add_overflow(v, by, &r)) {
    c.out.add_error("ERR increment or decrement would overflow");
    return;
  }
  if (e != nullptr) {
    e->val = ll_to_string(r);  // keeps the TTL
  } else {
    c.db().insert(c.argv[1], ll_to_string(r));
  }
  c.out.add_integer(r);
}

void cmd_incr(cmd_ctx& c) { incr_by(c, 1); }
void cmd_decr(cmd_ctx& c) { incr_by(c, -1); }

void cmd_incrby(cmd_ctx& c) {
  int64_t by;
  if (c.arg_ll(c.argv[2], by)) incr_by(c, by);
}

void cmd_decrby(cmd_ctx& c) {
  int64_t by;
  if (!c.arg_ll(c.argv[2], by)) return;
  if (by == INT64_MIN) {
    c.out.add_error("ERR decrement would overflow");
    return;
  }
  incr_by(c, -by);
}

void cmd_incrbyfloat(cmd_ctx& c) {
  entry* e = c.lookup_write(c.argv[1]);
  long double v = 0, by;
  if (e != nullptr) {
    if (!c.check_type(e, value_type::string)) return;
    if (!string_to_long_double(std::get<std::string>(e->val), v)) {
      c.out.add_error(not_float_err);
      return;
    }
  }
  if (!string_to_long_double(c.argv[2], by)) {
    c.out.add_error(not_float_err);
    return;
  }
  long double r = v + by;
  if (std::isnan(r) || std::isinf(r)) {
    c.out.add_error("ERR increment would produce NaN or Infinity");
    return;
  }
  std::string s = format_long_double_human(r);
  if (e != nullptr) {
    e->val = s;
  } else {
    c.db().insert(c.argv[1], s);
  }
  c.out.add_bulk(s);
}

void cmd_append(cmd_ctx& c) {
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.db().insert(c.argv[1], c.argv[2]);
    c.out.add_integer(static_cast<int64_t>(c.argv[2].size()));
    return;
  }
  if (!c.check_type(e, value_type::string)) return;
  auto& s = std::get<std::string>(e->val);
  if (static_cast<int64_t>(s.size() + c.argv[2].size()) > max_string) {
    c.out.add_error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return;
  }
  s += c.argv[2];
  c.out.add_integer(static_cast<int64_t>(s.size()));
}

void cmd_strlen(cmd_ctx& c) {
  bool bad;
  std::string* s = get_string(c, c.argv[1], bad);
  if (bad) return;
  c.out.add_integer(s == nullptr ? 0 : static_cast<int64_t>(s->size()));
}

void cmd_getrange(cmd_ctx& c) {
  int64_t start, end;
  if (!c.arg_ll(c.argv[2], start) || !c.arg_ll(c.argv[3], end)) return;
  bool bad;
  std::string* s = get_string(c, c.argv[1], bad);
  if (bad) return;
  if (s == nullptr) {
    c.out.add_bulk("");
    return;
  }
  int64_t len = static_cast<int64_t>(s->size());
  if (start < 0 && end < 0 && start > end) {
    c.out.add_bulk("");
    return;
  }
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) {
    c.out.add_bulk("");
    return;
  }
  c.out.add_bulk(std::string_view(*s).substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

void cmd_setrange(cmd_ctx& c) {
  int64_t offset;
  if (!c.arg_ll(c.argv[2], offset)) return;
  if (offset < 0) {
    c.out.add_error("ERR offset is out of range");
    return;
  }
  const std::string& val = c.argv[3];
  entry* e = c.lookup_write(c.argv[1]);
  if (e != nullptr && !c.check_type(e, value_type::string)) return;
  int64_t olen = e == nullptr ? 0 : static_cast<int64_t>(std::get<std::string>(e->val).size());
  if (val.empty()) {
    c.out.add_integer(olen);
    return;
  }
  if (offset + static_cast<int64_t>(val.size()) > max_string) {
    c.out.add_error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return;
  }
  if (e == nullptr) e = c.db().insert(c.argv[1], std::string());
  auto& s = std::get<std::string>(e->val);
  size_t need = static_cast<size_t>(offset) + val.size();
  if (s.size() < need) s.resize(need, '\0');
  s.replace(static_cast<size_t>(offset), val.size(), val);
  c.out.add_integer(static_cast<int64_t>(s.size()));
}

constexpr command_def table[] = {
    {"get", 2, cmd_get, cmd_readonly | cmd_fast, 1, 1, 1, "string"},
    {"set", -3, cmd_set, cmd_write | cmd_denyoom, 1, 1, 1, "string"},
    {"setnx", 3, cmd_setnx, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "string"},
    {"setex", 4, cmd_setex, cmd_write | cmd_denyoom, 1, 1, 1, "string"},
    {"psetex", 4, cmd_psetex, cmd_write | cmd_denyoom, 1, 1, 1, "string"},
    {"getset", 3, cmd_getset, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "string"},
    {"getdel", 2, cmd_getdel, cmd_write | cmd_fast, 1, 1, 1, "string"},
    {"mget", -2, cmd_mget, cmd_readonly | cmd_fast, 1, -1, 1, "string"},
    {"mset", -3, cmd_mset, cmd_write | cmd_denyoom, 1, -1, 2, "string"},
    {"msetnx", -3, cmd_msetnx, cmd_write | cmd_denyoom, 1, -1, 2, "string"},
    {"incr", 2, cmd_incr, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "string"},
    {"decr", 2, cmd_decr, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "string"},
    {"incrby", 3, cmd_incrby, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "string"},
    {"decrby", 3, cmd_decrby, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "string"},
    {"incrbyfloat", 3, cmd_incrbyfloat, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "string"},
    {"append", 3, cmd_append, cmd_write | cmd_denyoom, 1, 1, 1, "string"},
    {"strlen", 2, cmd_strlen, cmd_readonly | cmd_fast, 1, 1, 1, "string"},
    {"getrange", 4, cmd_getrange, cmd_readonly, 1, 1, 1, "string"},
    {"substr", 4, cmd_getrange, cmd_readonly, 1, 1, 1, "string"},
    {"setrange", 4, cmd_setrange, cmd_write | cmd_denyoom, 1, 1, 1, "string"},
};

}  // namespace

std::span<const command_def> string_commands() { return table; }

}  // namespace flex::redis
