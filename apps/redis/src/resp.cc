// RESP2 request parser and reply writer (see flex/redis/resp.h).
#include "flex/redis/resp.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "util.h"

namespace flex::redis {

void resp_parser::append(std::string_view bytes) {
  compact();
  buf_.append(bytes.data(), bytes.size());
}

void resp_parser::compact() {
  // Drop consumed bytes once they dominate the buffer, so a long pipelined stream stays bounded.
  if (pos_ > 0 && (pos_ == buf_.size() || (pos_ > 4096 && pos_ * 2 > buf_.size()))) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

namespace {
// How much of the argument strings a parser keeps for the next request.
constexpr size_t kKeptArgs = 64;
constexpr size_t kKeptArgBytes = 4096;
}  // namespace

parse_status resp_parser::fail(std::string msg) {
  error_ = std::move(msg);
  return parse_status::error;
}

parse_status resp_parser::next(std::vector<std::string>& argv) {
  if (!error_.empty()) return parse_status::error;
  for (;;) {
    if (!in_multibulk_) {
      if (pos_ >= buf_.size()) {
        compact();
        return parse_status::need_more;
      }
      if (buf_[pos_] != '*') {
        parse_status st = parse_inline(argv);
        if (st == parse_status::command && argv.empty()) continue;  // blank line
        return st;
      }
    }
    parse_status st = parse_multibulk(argv);
    if (st == parse_status::command && argv.empty()) continue;  // *0 or *-1
    return st;
  }
}

parse_status resp_parser::parse_inline(std::vector<std::string>& argv) {
  const char* start = buf_.data() + pos_;
  size_t avail = buf_.size() - pos_;
  const void* nl = std::memchr(start, '\n', avail);
  if (nl == nullptr) {
    if (avail > limits_.max_inline_len) return fail("ERR Protocol error: too big inline request");
    return parse_status::need_more;
  }
  size_t len = static_cast<const char*>(nl) - start;
  if (len > limits_.max_inline_len) return fail("ERR Protocol error: too big inline request");
  size_t line_len = len;
  if (line_len > 0 && start[line_len - 1] == '\r') line_len--;
  argv.clear();
  if (!split_inline_args(std::string_view(start, line_len), argv)) {
    return fail("ERR Protocol error: unbalanced quotes in request");
  }
  pos_ += len + 1;
  return parse_status::command;
}

parse_status resp_parser::parse_multibulk(std::vector<std::string>& argv) {
  if (!in_multibulk_) {
    const char* start = buf_.data() + pos_;
    size_t avail = buf_.size() - pos_;
    const void* cr = std::memchr(start, '\r', avail);
    if (cr == nullptr) {
      if (avail > limits_.max_inline_len) return fail("ERR Protocol error: too big mbulk count string");
      return parse_status::need_more;
    }
    size_t line = static_cast<const char*>(cr) - start;
    if (line + 2 > avail) return parse_status::need_more;  // the '\n' has not arrived
    int64_t n = 0;
    if (!string_to_ll(std::string_view(start + 1, line - 1), n) ||
        (n > 0 && static_cast<uint64_t>(n) > limits_.max_multibulk_len) || n > INT32_MAX) {
      return fail("ERR Protocol error: invalid multibulk length");
    }
    pos_ += line + 2;
    argv.clear();
    if (n <= 0) return parse_status::command;
    in_multibulk_ = true;
    multibulk_left_ = n;
    bulk_len_ = -1;
    nargs_ = 0;
    args_.reserve(static_cast<size_t>(n < 1024 ? n : 1024));  // no-op once the strings are there
  }
  while (multibulk_left_ > 0) {
    if (bulk_len_ < 0) {
      const char* start = buf_.data() + pos_;
      size_t avail = buf_.size() - pos_;
      if (avail == 0) return parse_status::need_more;
      const void* cr = std::memchr(start, '\r', avail);
      if (cr == nullptr) {
        if (avail > limits_.max_inline_len) return fail("ERR Protocol error: too big bulk count string");
        return parse_status::need_more;  // the '$' is checked once the whole line is here, as Redis does
      }
      size_t line = static_cast<const char*>(cr) - start;
      if (line + 2 > avail) return parse_status::need_more;
      if (start[0] != '$') return fail(std::string("ERR Protocol error: expected '$', got '") + start[0] + "'");
      int64_t n = 0;
      if (!string_to_ll(std::string_view(start + 1, line - 1), n) || n < 0 ||
          static_cast<uint64_t>(n) > limits_.max_bulk_len) {
        return fail("ERR Protocol error: invalid bulk length");
      }
      pos_ += line + 2;
      bulk_len_ = n;
    }
    size_t need = static_cast<size_t>(bulk_len_) + 2;
    if (buf_.size() - pos_ < need) {
      // Reserve room for a large argument once, so it is not regrown as it trickles in.
      if (buf_.capacity() < pos_ + need && need > 64 * 1024) buf_.reserve(pos_ + need);
      return parse_status::need_more;
    }
    if (nargs_ < args_.size()) {
      args_[nargs_].assign(buf_.data() + pos_, static_cast<size_t>(bulk_len_));
    } else {
      args_.emplace_back(buf_.data() + pos_, static_cast<size_t>(bulk_len_));
    }
    nargs_++;
    pos_ += need;
    bulk_len_ = -1;
    multibulk_left_--;
  }
  in_multibulk_ = false;
  argv.resize(nargs_);
  for (size_t i = 0; i < nargs_; i++) {
    argv[i].swap(args_[i]);
    // What comes back is the caller's old string: keep small buffers, not large ones.
    if (args_[i].capacity() > kKeptArgBytes) std::string().swap(args_[i]);
  }
  if (args_.size() > kKeptArgs) args_.resize(kKeptArgs);
  nargs_ = 0;
  return parse_status::command;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'; }

}  // namespace

bool split_inline_args(std::string_view line, std::vector<std::string>& out) {
  size_t i = 0, n = line.size();
  for (;;) {
    while (i < n && is_space(line[i])) i++;
    if (i >= n) return true;
    std::string cur;
    bool in_dq = false, in_sq = false, done = false;
    while (!done) {
      if (in_dq) {
        if (i >= n) return false;
        char c = line[i];
        if (c == '\\' && i + 3 < n + 0 && line[i + 1] == 'x' && hex_value(line[i + 2]) >= 0 &&
            hex_value(line[i + 3]) >= 0) {
          cur.push_back(static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3])));
          i += 3;
        } else if (c == '\\' && i + 1 < n) {
          i++;
          char e = line[i];
          switch (e) {
            case 'n': e = '\n'; break;
            case 'r': e = '\r'; break;
            case 't': e = '\t'; break;
            case 'b': e = '\b'; break;
            case 'a': e = '\a'; break;
            default: break;
          }
          cur.push_back(e);
        } else if (c == '"') {
          if (i + 1 < n && !is_space(line[i + 1])) return false;
          done = true;
        } else {
          cur.push_back(c);
        }
      } else if (in_sq) {
        if (i >= n) return false;
        char c = line[i];
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          i++;
          cur.push_back('\'');
        } else if (c == '\'') {
          if (i + 1 < n && !is_space(line[i + 1])) return false;
          done = true;
        } else {
          cur.push_back(c);
        }
      } else {
        if (i >= n) break;
        char c = line[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0') {
          done = true;
        } else if (c == '"') {
          in_dq = true;
        } else if (c == '\'') {
          in_sq = true;
        } else {
          cur.push_back(c);
        }
      }
      if (i < n) i++;
    }
    out.push_back(std::move(cur));
  }
}

namespace {

void append_sanitized(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

// Every integer, bulk and array reply starts with one (std::to_chars: no locale, no format string).
void append_header(std::string& out, char type, int64_t v) {
  char tmp[24];
  tmp[0] = type;
  char* end = std::to_chars(tmp + 1, tmp + sizeof tmp - 2, v).ptr;
  end[0] = '\r';
  end[1] = '\n';
  out.append(tmp, static_cast<size_t>(end + 2 - tmp));
}

}  // namespace

void reply_buffer::add_simple(std::string_view s) {
  out_.push_back('+');
  append_sanitized(out_, s);
  out_.append("\r\n");
}

void reply_buffer::add_error(std::string_view s) {
  out_.push_back('-');
  append_sanitized(out_, s);
  out_.append("\r\n");
}

void reply_buffer::add_integer(int64_t v) { append_header(out_, ':', v); }

void reply_buffer::add_bulk(std::string_view s) {
  append_header(out_, '$', static_cast<int64_t>(s.size()));
  out_.append(s.data(), s.size());
  out_.append("\r\n");
}

void reply_buffer::add_null() { out_.append("$-1\r\n"); }

void reply_buffer::add_array_len(size_t n) { append_header(out_, '*', static_cast<int64_t>(n)); }

void reply_buffer::add_null_array() { out_.append("*-1\r\n"); }

void reply_buffer::add_double(double d) { add_bulk(format_double(d)); }

}  // namespace flex::redis
