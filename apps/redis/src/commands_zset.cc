// Sorted set commands.
#include <cmath>

#include "engine_impl.h"
#include "util.h"

namespace flex::redis {

namespace {

zset* read_zset(cmd_ctx& c, bool& bad) {
  bad = false;
  entry* e = c.lookup(c.argv[1]);
  if (e == nullptr) return nullptr;
  if (!c.check_type(e, value_type::zset)) {
    bad = true;
    return nullptr;
  }
  return &std::get<zset>(e->val);
}

// A ZRANGEBYSCORE bound: a float, optionally preceded by '(' for an exclusive bound.
bool parse_bound(std::string_view s, double& v, bool& ex) {
  ex = false;
  if (!s.empty() && s[0] == '(') {
    ex = true;
    s.remove_prefix(1);
  }
  return string_to_range_bound(s, v);
}

void add_member(cmd_ctx& c, const zset::node* n, bool scores) {
  c.out.add_bulk(n->member);
  if (scores) c.out.add_double(n->score);
}

void cmd_zadd(cmd_ctx& c) {
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
  size_t i = 2;
  for (; i < c.argc(); i++) {
    const std::string& a = c.argv[i];
    if (eq_nocase(a, "nx")) nx = true;
    else if (eq_nocase(a, "xx")) xx = true;
    else if (eq_nocase(a, "gt")) gt = true;
    else if (eq_nocase(a, "lt")) lt = true;
    else if (eq_nocase(a, "ch")) ch = true;
    else if (eq_nocase(a, "incr")) incr = true;
    else break;
  }
  size_t elements = c.argc() - i;
  if (elements % 2 != 0 || elements == 0) {
    c.syntax_error();
    return;
  }
  elements /= 2;
  if (nx && xx) {
    c.out.add_error("ERR XX and NX options at the same time are not compatible");
    return;
  }
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    c.out.add_error("ERR GT, LT, and/or NX options at the same time are not compatible");
    return;
  }
  if (incr && elements > 1) {
    c.out.add_error("ERR INCR option supports a single increment-element pair");
    return;
  }
  std::vector<double> scores(elements);
  for (size_t j = 0; j < elements; j++) {
    if (!c.arg_double(c.argv[i + j * 2], scores[j])) return;
  }
  entry* e = c.lookup_write(c.argv[1]);
  if (e != nullptr && !c.check_type(e, value_type::zset)) return;
  if (e == nullptr) {
    if (xx) {
      if (incr) c.out.add_null(); else c.out.add_integer(0);
      return;
    }
    e = c.db().insert(c.argv[1], value(std::in_place_type<zset>));
  }
  auto& z = std::get<zset>(e->val);
  int64_t added = 0, updated = 0;
  bool applied = false;
  double last = 0;
  for (size_t j = 0; j < elements; j++) {
    const std::string& m = c.argv[i + j * 2 + 1];
    double score = scores[j];
    const double* cur = z.score(m);
    if (cur != nullptr) {
      if (nx) continue;
      double old = *cur;
      if (incr) {
        score += old;
        if (std::isnan(score)) {
          c.out.add_error("ERR resulting score is not a number (NaN)");
          return;
        }
      }
      if ((gt && score <= old) || (lt && score >= old)) continue;
      applied = true;
      last = score;
      if (score != old) {
        z.set(m, score);
        updated++;
      }
    } else {
      if (xx) continue;
      z.set(m, score);
      added++;
      applied = true;
      last = score;
    }
  }
  if (z.size() == 0) c.db().erase(c.argv[1]);
  if (incr) {
    if (applied) c.out.add_double(last); else c.out.add_null();
  } else {
    c.out.add_integer(ch ? added + updated : added);
  }
}

void cmd_zincrby(cmd_ctx& c) {
  double by;
  if (!c.arg_double(c.argv[2], by)) return;
  zset* z = c.lookup_or_create<zset>(c.argv[1]);
  if (z == nullptr) return;
  const double* cur = z->score(c.argv[3]);
  // A new member takes the increment itself (so -0 stays -0 in the reply, as in Redis).
  double score = cur != nullptr ? *cur + by : by;
  if (std::isnan(score)) {
    c.out.add_error("ERR resulting score is not a number (NaN)");
    if (z->size() == 0) c.db().erase(c.argv[1]);
    return;
  }
  z->set(c.argv[3], score);
  c.out.add_double(score);
}

void cmd_zscore(cmd_ctx& c) {
  bool bad;
  zset* z = read_zset(c, bad);
  if (bad) return;
  const double* s = z == nullptr ? nullptr : z->score(c.argv[2]);
  if (s == nullptr) c.out.add_null(); else c.out.add_double(*s);
}

void cmd_zmscore(cmd_ctx& c) {
  bool bad;
  zset* z = read_zset(c, bad);
  if (bad) return;
  c.out.add_array_len(c.argc() - 2);
  for (size_t i = 2; i < c.argc(); i++) {
    const double* s = z == nullptr ? nullptr : z->score(c.argv[i]);
    if (s == nullptr) c.out.add_null(); else c.out.add_double(*s);
  }
}

void cmd_zcard(cmd_ctx& c) {
  bool bad;
  zset* z = read_zset(c, bad);
  if (!bad) c.out.add_integer(z == nullptr ? 0 : static_cast<int64_t>(z->size()));
}

void rank_generic(cmd_ctx& c, bool rev) {
  bool bad;
  zset* z = read_zset(c, bad);
  if (bad) return;
  int64_t r = z == nullptr ? -1 : z->rank(c.argv[2]);
  if (r < 0) {
    c.out.add_null();
    return;
  }
  c.out.add_integer(rev ? static_cast<int64_t>(z->size()) - 1 - r : r);
}

void cmd_zrank(cmd_ctx& c) { rank_generic(c, false); }
void cmd_zrevrank(cmd_ctx& c) { rank_generic(c, true); }

void cmd_zrem(cmd_ctx& c) {
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.out.add_integer(0);
    return;
  }
  if (!c.check_type(e, value_type::zset)) return;
  auto& z = std::get<zset>(e->val);
  int64_t n = 0;
  for (size_t i = 2; i < c.argc(); i++) n += z.erase(c.argv[i]) ? 1 : 0;
  if (z.size() == 0) c.db().erase(c.argv[1]);
  c.out.add_integer(n);
}

void pop_generic(cmd_ctx& c, bool max) {
  if (c.argc() > 3) {
    c.syntax_error();
    return;
  }
  int64_t count = 1;
  if (c.argc() == 3 && (!string_to_ll(c.argv[2], count) || count < 0)) {
    c.out.add_error("ERR value is out of range, must be positive");
    return;
  }
  entry* e = c.lookup_write(c.argv[1]);
  if (e == nullptr) {
    c.out.add_array_len(0);
    return;
  }
  if (!c.check_type(e, value_type::zset)) return;
  auto& z = std::get<zset>(e->val);
  size_t n = std::min(static_cast<size_t>(count), z.size());
  c.out.add_array_len(n * 2);
  for (size_t i = 0; i < n; i++) {
    zset::node* x = max ? z.last() : z.first();
    add_member(c, x, true);
    std::string m = x->member;
    z.erase(m);
  }
  if (z.size() == 0) c.db().erase(c.argv[1]);
}

void cmd_zpopmin(cmd_ctx& c) { pop_generic(c, false); }
void cmd_zpopmax(cmd_ctx& c) { pop_generic(c, true); }

// Replies with the members of z whose scores fall in r, in order, after skipping `offset`
// and up to `limit` (negative: no limit).
void reply_score_range(cmd_ctx& c, zset* z, const score_range& r, bool rev, bool scores, int64_t offset,
                       int64_t limit) {
  std::vector<const zset::node*> found;
  if (z != nullptr && offset >= 0) {
    const zset::node* x = rev ? z->last_in_range(r) : z->first_in_range(r);
    while (x != nullptr && offset > 0) {
      x = rev ? x->backward : x->next();
      offset--;
    }
    while (x != nullptr && limit != 0) {
      if (rev ? !r.value_gte_min(x->score) : !r.value_lte_max(x->score)) break;
      found.push_back(x);
      if (limit > 0) limit--;
      x = rev ? x->backward : x->next();
    }
  }
  c.out.add_array_len(found.size() * (scores ? 2 : 1));
  for (const zset::node* n : found) add_member(c, n, scores);
}

void reply_rank_range(cmd_ctx& c, zset* z, int64_t start, int64_t end, bool rev, bool scores) {
  int64_t len = z == nullptr ? 0 : static_cast<int64_t>(z->size());
  if (z == nullptr || !clamp_range(start, end, len)) {
    c.out.add_array_len(0);
    return;
  }
  size_t n = static_cast<size_t>(end - start + 1);
  c.out.add_array_len(n * (scores ? 2 : 1));
  const zset::node* x = rev ? z->at_rank(static_cast<size_t>(len - 1 - start)) : z->at_rank(static_cast<size_t>(start));
  for (size_t i = 0; i < n && x != nullptr; i++) {
    add_member(c, x, scores);
    x = rev ? x->backward : x->next();
  }
}

// ZRANGE key start stop [BYSCORE] [REV] [LIMIT offset count] [WITHSCORES], and the older
// ZRANGEBYSCORE / ZREVRANGEBYSCORE / ZREVRANGE forms, which map onto it.
void range_generic(cmd_ctx& c, bool modern, bool by_score, bool rev) {
  bool scores = false, by_lex = false, has_limit = false;
  int64_t offset = 0, limit = -1;
  for (size_t i = 4; i < c.argc(); i++) {
    const std::string& a = c.argv[i];
    if (eq_nocase(a, "withscores")) {
      scores = true;
    } else if (eq_nocase(a, "limit") && i + 2 < c.argc()) {
      if (!c.arg_ll(c.argv[i + 1], offset) || !c.arg_ll(c.argv[i + 2], limit)) return;
      has_limit = true;
      i += 2;
    } else if (modern && eq_nocase(a, "byscore")) {
      by_score = true;
    } else if (modern && eq_nocase(a, "bylex")) {
      by_lex = true;
    } else if (modern && eq_nocase(a, "rev")) {
      rev = true;
    } else {
      c.syntax_error();
      return;
    }
  }
  if (has_limit && !by_score && !by_lex) {
    c.out.add_error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    return;
  }
  if (by_lex && scores) {
    c.out.add_error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    return;
  }
  if (by_lex) {
    c.out.add_error("ERR BYLEX is not supported by this server");
    return;
  }
  std::string_view a1 = c.argv[2], a2 = c.argv[3];
  if (by_score) {
    // For the reverse forms the arguments are max then min.
    if (rev) std::swap(a1, a2);
    score_range r;
    if (!parse_bound(a1, r.min, r.min_ex) || !parse_bound(a2, r.max, r.max_ex)) {
      c.out.add_error("ERR min or max is not a float");
      return;
    }
    bool bad;
    zset* z = read_zset(c, bad);
    if (bad) return;
    reply_score_range(c, z, r, rev, scores, offset, limit);
    return;
  }
  int64_t start, end;
  if (!c.arg_ll(a1, start) || !c.arg_ll(a2, end)) return;
  bool bad;
  zset* z = read_zset(c, bad);
  if (bad) return;
  reply_rank_range(c, z, start, end, rev, scores);
}

void cmd_zrange(cmd_ctx& c) { range_generic(c, true, false, false); }
void cmd_zrevrange(cmd_ctx& c) { range_generic(c, false, false, true); }
void cmd_zrangebyscore(cmd_ctx& c) { range_generic(c, false, true, false); }
void cmd_zrevrangebyscore(cmd_ctx& c) { range_generic(c, false, true, true); }

void cmd_zcount(cmd_ctx& c) {
  score_range r;
  if (!parse_bound(c.argv[2], r.min, r.min_ex) || !parse_bound(c.argv[3], r.max, r.max_ex)) {
    c.out.add_error("ERR min or max is not a float");
    return;
  }
  bool bad;
  zset* z = read_zset(c, bad);
  if (bad) return;
  int64_t n = 0;
  if (z != nullptr) {
    zset::node* first = z->first_in_range(r);
    if (first != nullptr) {
      zset::node* last = z->last_in_range(r);
      n = z->rank(last->member) - z->rank(first->member) + 1;
    }
  }
  c.out.add_integer(n);
}

constexpr command_def table[] = {
    {"zadd", -4, cmd_zadd, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "sorted_set"},
    {"zincrby", 4, cmd_zincrby, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "sorted_set"},
    {"zscore", 3, cmd_zscore, cmd_readonly | cmd_fast, 1, 1, 1, "sorted_set"},
    {"zmscore", -3, cmd_zmscore, cmd_readonly | cmd_fast, 1, 1, 1, "sorted_set"},
    {"zcard", 2, cmd_zcard, cmd_readonly | cmd_fast, 1, 1, 1, "sorted_set"},
    {"zrank", 3, cmd_zrank, cmd_readonly | cmd_fast, 1, 1, 1, "sorted_set"},
    {"zrevrank", 3, cmd_zrevrank, cmd_readonly | cmd_fast, 1, 1, 1, "sorted_set"},
    {"zrem", -3, cmd_zrem, cmd_write | cmd_fast, 1, 1, 1, "sorted_set"},
    {"zpopmin", -2, cmd_zpopmin, cmd_write | cmd_fast, 1, 1, 1, "sorted_set"},
    {"zpopmax", -2, cmd_zpopmax, cmd_write | cmd_fast, 1, 1, 1, "sorted_set"},
    {"zrange", -4, cmd_zrange, cmd_readonly, 1, 1, 1, "sorted_set"},
    {"zrevrange", -4, cmd_zrevrange, cmd_readonly, 1, 1, 1, "sorted_set"},
    {"zrangebyscore", -4, cmd_zrangebyscore, cmd_readonly, 1, 1, 1, "sorted_set"},
    {"zrevrangebyscore", -4, cmd_zrevrangebyscore, cmd_readonly, 1, 1, 1, "sorted_set"},
    {"zcount", 4, cmd_zcount, cmd_readonly | cmd_fast, 1, 1, 1, "sorted_set"},
};

}  // namespace

std::span<const command_def> zset_commands() { return table; }

}  // namespace flex::redis
