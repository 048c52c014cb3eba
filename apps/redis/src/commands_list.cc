// List commands.
#include "engine_impl.h"
#include "util.h"

namespace flex::redis {

namespace {

// The list at key for reading: null when missing; sets bad after a WRONGTYPE reply.
list_value* read_list(cmd_ctx& c, bool& bad) {
  bad = false;
  entry* e = c.lookup(c.argv[1]);
  if (e == nullptr) return nullptr;
  if (!c.check_type(e, value_type::list)) {
    bad = true;
    return nullptr;
  }
  return &std::get<list_value>(e->val);
}

void push(cmd_ctx& c, bool left) {
  list_value* l = c.lookup_or_create<list_value>(c.argv[1]);
  if (l == nullptr) return;
  for (size_t i = 2; i < c.argc(); i++) {
    if (left) l->push_front(c.argv[i]); else l->push_back(c.argv[i]);
  }
  c.out.add_integer(static_cast<int64_t>(l->size()));
}

void cmd_lpush(cmd_ctx& c) { push(c, true); }
void cmd_rpush(cmd_ctx& c) { push(c, false); }

void pushx(cmd_ctx& c, bool left) {
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.out.add_integer(0);
    return;
  }
  if (!c.check_type(e, value_type::list)) return;
  auto& l = std::get<list_value>(e->val);
  for (size_t i = 2; i < c.argc(); i++) {
    if (left) l.push_front(c.argv[i]); else l.push_back(c.argv[i]);
  }
  c.out.add_integer(static_cast<int64_t>(l.size()));
}

void cmd_lpushx(cmd_ctx& c) { pushx(c, true); }
void cmd_rpushx(cmd_ctx& c) { pushx(c, false); }

void pop(cmd_ctx& c, bool left) {
  if (c.argc() > 3) {
    c.wrong_args();
    return;
  }
  bool has_count = c.argc() == 3;
  int64_t count = 1;
  if (has_count) {
    if (!string_to_ll(c.argv[2], count) || count < 0) {
      c.out.add_error("ERR value is out of range, must be positive");
      return;
    }
  }
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    if (has_count) c.out.add_null_array(); else c.out.add_null();
    return;
  }
  if (!c.check_type(e, value_type::list)) return;
  auto& l = std::get<list_value>(e->val);
  if (!has_count) {
    if (left) {
      c.out.add_bulk(l.front());
      l.pop_front();
    } else {
      c.out.add_bulk(l.back());
      l.pop_back();
    }
  } else {
    size_t n = std::min(static_cast<size_t>(count), l.size());
    c.out.add_array_len(n);
    for (size_t i = 0; i < n; i++) {
      if (left) {
        c.out.add_bulk(l.front());
        l.pop_front();
      } else {
        c.out.add_bulk(l.back());
        l.pop_back();
      }
    }
  }
  if (l.empty()) c.db().erase(c.argv[1]);
}

void cmd_lpop(cmd_ctx& c) { pop(c, true); }
void cmd_rpop(cmd_ctx& c) { pop(c, false); }

void cmd_llen(cmd_ctx& c) {
  bool bad;
  list_value* l = read_list(c, bad);
  if (!bad) c.out.add_integer(l == nullptr ? 0 : static_cast<int64_t>(l->size()));
}

void cmd_lrange(cmd_ctx& c) {
  int64_t start, end;
  if (!c.arg_ll(c.argv[2], start) || !c.arg_ll(c.argv[3], end)) return;
  bool bad;
  list_value* l = read_list(c, bad);
  if (bad) return;
  if (l == nullptr || !clamp_range(start, end, static_cast<int64_t>(l->size()))) {
    c.out.add_array_len(0);
    return;
  }
  c.out.add_array_len(static_cast<size_t>(end - start + 1));
  for (int64_t i = start; i <= end; i++) c.out.add_bulk((*l)[static_cast<size_t>(i)]);
}

// LINDEX and LSET look the key up before they parse the index, as Redis does: a missing key or one of
// another type answers first.
void cmd_lindex(cmd_ctx& c) {
  bool bad;
  list_value* l = read_list(c, bad);
  if (bad) return;
  if (l == nullptr) {
    c.out.add_null();
    return;
  }
  int64_t idx;
  if (!c.arg_ll(c.argv[2], idx)) return;
  int64_t len = static_cast<int64_t>(l->size());
  if (idx < 0) idx += len;
  if (idx < 0 || idx >= len) {
    c.out.add_null();
    return;
  }
  c.out.add_bulk((*l)[static_cast<size_t>(idx)]);
}

void cmd_lset(cmd_ctx& c) {
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.out.add_error("ERR no such key");
    return;
  }
  if (!c.check_type(e, value_type::list)) return;
  int64_t idx;
  if (!c.arg_ll(c.argv[2], idx)) return;
  auto& l = std::get<list_value>(e->val);
  int64_t len = static_cast<int64_t>(l.size());
  if (idx < 0) idx += len;
  if (idx < 0 || idx >= len) {
    c.out.add_error("ERR index out of range");
    return;
  }
  l[static_cast<size_t>(idx)] = c.argv[3];
  c.out.add_ok();
}

void cmd_lrem(cmd_ctx& c) {
  int64_t count;
  if (!c.arg_ll(c.argv[2], count)) return;
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.out.add_integer(0);
    return;
  }
  if (!c.check_type(e, value_type::list)) return;
  auto& l = std::get<list_value>(e->val);
  const std::string& v = c.argv[3];
  int64_t removed = 0;
  if (count >= 0) {
    list_value kept;
    for (auto& s : l) {
      if (s == v && (count == 0 || removed < count)) {
        removed++;
      } else {
        kept.push_back(std::move(s));
      }
    }
    l.swap(kept);
  } else {
    list_value kept;
    // -INT64_MIN does not fit: that count removes every match, as any count past the length does.
    int64_t limit = count == INT64_MIN ? INT64_MAX : -count;
    for (auto it = l.rbegin(); it != l.rend(); ++it) {
      if (*it == v && removed < limit) {
        removed++;
      } else {
        kept.push_front(std::move(*it));
      }
    }
    l.swap(kept);
  }
  if (l.empty()) c.db().erase(c.argv[1]);
  c.out.add_integer(removed);
}

void cmd_ltrim(cmd_ctx& c) {
  int64_t start, end;
  if (!c.arg_ll(c.argv[2], start) || !c.arg_ll(c.argv[3], end)) return;
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.out.add_ok();
    return;
  }
  if (!c.check_type(e, value_type::list)) return;
  auto& l = std::get<list_value>(e->val);
  if (!clamp_range(start, end, static_cast<int64_t>(l.size()))) {
    l.clear();
  } else {
    l.erase(l.begin() + end + 1, l.end());
    l.erase(l.begin(), l.begin() + start);
  }
  if (l.empty()) c.db().erase(c.argv[1]);
  c.out.add_ok();
}

constexpr command_def table[] = {
    {"lpush", -3, cmd_lpush, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "list"},
    {"rpush", -3, cmd_rpush, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "list"},
    {"lpushx", -3, cmd_lpushx, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "list"},
    {"rpushx", -3, cmd_rpushx, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "list"},
    {"lpop", -2, cmd_lpop, cmd_write | cmd_fast, 1, 1, 1, "list"},
    {"rpop", -2, cmd_rpop, cmd_write | cmd_fast, 1, 1, 1, "list"},
    {"llen", 2, cmd_llen, cmd_readonly | cmd_fast, 1, 1, 1, "list"},
    {"lrange", 4, cmd_lrange, cmd_readonly, 1, 1, 1, "list"},
    {"lindex", 3, cmd_lindex, cmd_readonly, 1, 1, 1, "list"},
    {"lset", 4, cmd_lset, cmd_write | cmd_denyoom, 1, 1, 1, "list"},
    {"lrem", 4, cmd_lrem, cmd_write, 1, 1, 1, "list"},
    {"ltrim", 4, cmd_ltrim, cmd_write, 1, 1, 1, "list"},
};

}  // namespace

std::span<const command_def> list_commands() { return table; }

}  // namespace flex::redis
