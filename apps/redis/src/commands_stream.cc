// Stream commands: XADD (with '*', "ms-*" and explicit ids, NOMKSTREAM, MAXLEN and MINID
// trimming) and XLEN. Approximate trimming (~) trims exactly.
#include <cerrno>
#include <cstdlib>

#include "engine_impl.h"
#include "util.h"

namespace flex::redis {

namespace {

constexpr std::string_view invalid_id_err = "ERR Invalid stream ID specified as stream command argument";

bool parse_u64(std::string_view s, uint64_t& v) {
  if (s.empty() || s.size() > 20 || s[0] == '-' || s[0] == '+') return false;
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  v = std::strtoull(tmp.c_str(), &end, 10);
  return errno == 0 && end == tmp.c_str() + tmp.size();
}

// "ms", "ms-seq" or (when allowed) "ms-*". seq_auto says the sequence is to be generated.
bool parse_id(std::string_view s, stream_id& id, bool* seq_auto) {
  if (seq_auto != nullptr) *seq_auto = false;
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    id.seq = 0;
    return parse_u64(s, id.ms);
  }
  if (!parse_u64(s.substr(0, dash), id.ms)) return false;
  std::string_view seq = s.substr(dash + 1);
  if (seq == "*" && seq_auto != nullptr) {
    *seq_auto = true;
    id.seq = 0;
    return true;
  }
  return parse_u64(seq, id.seq);
}

std::string id_string(const stream_id& id) { return std::to_string(id.ms) + "-" + std::to_string(id.seq); }

// XADD's options before the id: NOMKSTREAM, MAXLEN/MINID [=|~] N, LIMIT N.
struct xadd_options {
  bool no_mkstream = false, approx = false, has_maxlen = false, has_minid = false, has_limit = false;
  int64_t maxlen = 0;
  stream_id minid;
  size_t id_pos = 2;  // where the id is
};

// Reads the options; false once it has replied with the error (Redis's checks, in Redis's order).
bool parse_xadd_options(cmd_ctx& c, xadd_options& o) {
  size_t& i = o.id_pos;
  for (; i < c.argc(); i++) {
    const std::string& a = c.argv[i];
    bool more = i + 1 < c.argc() - 1;  // leaves room for the id
    if (eq_nocase(a, "nomkstream")) {
      o.no_mkstream = true;
    } else if ((eq_nocase(a, "maxlen") || eq_nocase(a, "minid")) && more) {
      bool is_maxlen = eq_nocase(a, "maxlen");
      const std::string* next = &c.argv[i + 1];
      if ((*next == "~" || *next == "=") && i + 2 < c.argc()) {
        o.approx = *next == "~";
        i++;
        next = &c.argv[i + 1];
      }
      if (is_maxlen) {
        if (!c.arg_ll(*next, o.maxlen)) return false;
        if (o.maxlen < 0) {
          c.out.add_error("ERR The MAXLEN argument must be >= 0.");
          return false;
        }
        o.has_maxlen = true;
      } else {
        if (!parse_id(*next, o.minid, nullptr)) {
          c.out.add_error(invalid_id_err);
          return false;
        }
        o.has_minid = true;
      }
      i++;
    } else if (eq_nocase(a, "limit") && more) {
      int64_t limit;
      if (!c.arg_ll(c.argv[i + 1], limit)) return false;
      if (limit < 0) {
        c.out.add_error("ERR The LIMIT argument must be >= 0.");
        return false;
      }
      o.has_limit = true;
      i++;
    } else {
      break;
    }
  }
  if (o.has_maxlen && o.has_minid) {
    c.syntax_error();
    return false;
  }
  if (o.has_limit && !o.approx) {
    c.out.add_error("ERR syntax error, LIMIT cannot be used without the special ~ option");
    return false;
  }
  return true;
}

// The id the new entry gets after `last`: `*` (auto_all), `ms-*` (auto_seq) or an explicit one. False
// once it has replied with the error.
bool next_stream_id(cmd_ctx& c, const stream_id& last, bool auto_all, bool auto_seq, stream_id& id) {
  constexpr std::string_view too_small = "ERR The ID specified in XADD is equal or smaller than the target stream top item";
  if (auto_all) {
    uint64_t now = c.now < 0 ? 0 : static_cast<uint64_t>(c.now);
    if (now > last.ms) {
      id = {now, 0};
    } else if (last.seq != UINT64_MAX) {
      id = {last.ms, last.seq + 1};
    } else if (last.ms != UINT64_MAX) {
      id = {last.ms + 1, 0};
    } else {
      c.out.add_error(too_small);
      return false;
    }
  } else if (auto_seq) {
    if (id.ms < last.ms || (id.ms == last.ms && last.seq == UINT64_MAX)) {
      c.out.add_error(too_small);
      return false;
    }
    id.seq = id.ms == last.ms ? last.seq + 1 : 0;
  } else if (id <= last) {
    c.out.add_error(too_small);
    return false;
  }
  return true;
}

void cmd_xadd(cmd_ctx& c) {
  xadd_options o;
  if (!parse_xadd_options(c, o)) return;
  const size_t i = o.id_pos;
  size_t field_pos = i + 1;
  if (i >= c.argc() || c.argc() < field_pos + 2 || (c.argc() - field_pos) % 2 == 1) {
    c.wrong_args();
    return;
  }
  const std::string& id_arg = c.argv[i];
  bool auto_all = id_arg == "*", auto_seq = false;
  stream_id id;
  if (!auto_all) {
    if (!parse_id(id_arg, id, &auto_seq)) {
      c.out.add_error(invalid_id_err);
      return;
    }
    if (!auto_seq && id.ms == 0 && id.seq == 0) {
      c.out.add_error("ERR The ID specified in XADD must be greater than 0-0");
      return;
    }
  }
  entry* e = c.lookup_write(c.argv[1]);
  if (e != nullptr && !c.check_type(e, value_type::stream)) return;
  if (e == nullptr && o.no_mkstream) {
    c.out.add_null();
    return;
  }
  if (e != nullptr) {
    const stream_id& top = std::get<stream_value>(e->val).last_id;
    if (top.ms == UINT64_MAX && top.seq == UINT64_MAX) {
      c.out.add_error("ERR The stream has exhausted the last possible ID, unable to add more items");
      return;
    }
  }
  const stream_id last = e != nullptr ? std::get<stream_value>(e->val).last_id : stream_value{}.last_id;
  if (!next_stream_id(c, last, auto_all, auto_seq, id)) return;
  if (e == nullptr) e = c.db().insert(c.argv[1], value(std::in_place_type<stream_value>));
  auto& st = std::get<stream_value>(e->val);
  stream_value::item it;
  it.id = id;
  it.fields.assign(c.argv.begin() + static_cast<long>(field_pos), c.argv.end());
  st.items.push_back(std::move(it));
  st.last_id = id;
  if (o.has_maxlen) {
    while (static_cast<int64_t>(st.items.size()) > o.maxlen) st.items.pop_front();
  } else if (o.has_minid) {
    while (!st.items.empty() && st.items.front().id < o.minid) st.items.pop_front();
  }
  c.out.add_bulk(id_string(id));
}

void cmd_xlen(cmd_ctx& c) {
  entry* e = c.lookup(c.argv[1]);
  if (e == nullptr) {
    c.out.add_integer(0);
    return;
  }
  if (!c.check_type(e, value_type::stream)) return;
  c.out.add_integer(static_cast<int64_t>(std::get<stream_value>(e->val).items.size()));
}

constexpr command_def table[] = {
    {"xadd", -5, cmd_xadd, cmd_write | cmd_denyoom | cmd_fast, 1, 1, 1, "stream"},
    {"xlen", 2, cmd_xlen, cmd_readonly | cmd_fast, 1, 1, 1, "stream"},
};

}  // namespace

std::span<const command_def> stream_commands() { return table; }

}  // namespace flex::redis
