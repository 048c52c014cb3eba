// RESP2 wire format for the Redis-compatible engine: an incremental request parser (multibulk and
// inline commands) and a reply writer. Both are plain byte-level code with no I/O.
//
//   flex::redis::resp_parser p;
//   p.append("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPI");
//   std::vector<std::string> argv;
//   while (p.next(argv) == flex::redis::parse_status::command) { /* run argv */ }
//   // p.next() now says need_more until the rest of the second frame arrives.
//
//   flex::redis::reply_buffer out;
//   out.add_array_len(2);
//   out.add_bulk("a");
//   out.add_integer(7);        // out.data() == "*2\r\n$1\r\na\r\n:7\r\n"
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flex::redis {

// Limits on one request; each one turns an oversized request into a protocol error instead of an
// unbounded allocation. Defaults are Redis 7's.
struct parser_limits {
  size_t max_bulk_len = 512ull * 1024 * 1024;  // proto-max-bulk-len
  size_t max_inline_len = 64 * 1024;           // inline request and header line length
  size_t max_multibulk_len = 1024 * 1024;      // argument count of one multibulk request
};

enum class parse_status {
  command,    // argv holds one complete command
  need_more,  // the buffer ends inside a frame; append more bytes
  error,      // protocol error: error() has the text; the connection must be closed
};

class resp_parser {
 public:
  resp_parser() = default;
  explicit resp_parser(parser_limits limits) : limits_(limits) {}

  void set_limits(const parser_limits& limits) { limits_ = limits; }
  // Appends received bytes. Never fails (beyond allocation).
  void append(std::string_view bytes);
  // Extracts the next complete command into argv. Blank inline lines and empty multibulks
  // ("*0\r\n", "*-1\r\n") are consumed without yielding a command. After an error the parser stays
  // in the error state.
  parse_status next(std::vector<std::string>& argv);
  // The error text, without the leading '-' (for example "ERR Protocol error: invalid bulk length").
  const std::string& error() const { return error_; }
  // Bytes received and not yet consumed.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  parse_status parse_inline(std::vector<std::string>& argv);
  parse_status parse_multibulk(std::vector<std::string>& argv);
  parse_status fail(std::string msg);
  void compact();

  parser_limits limits_;
  std::string buf_;
  size_t pos_ = 0;
  // State of the multibulk request being read: remaining arguments, length of the bulk whose header
  // was read (-1 when none), the arguments so far: the first nargs_ of args_. The strings of args_ are
  // reused from request to request (they trade places with the caller's), so arguments longer than
  // the small-string buffer are not allocated anew each time.
  int64_t multibulk_left_ = 0;
  int64_t bulk_len_ = -1;
  bool in_multibulk_ = false;
  std::vector<std::string> args_;
  size_t nargs_ = 0;
  std::string error_;
};

// Splits an inline request line like redis-cli and Redis do: whitespace separates arguments,
// "double quotes" accept \n \r \t \b \a \xHH and \<char>, 'single quotes' accept \'. Returns false
// on unbalanced quotes or a closing quote not followed by a space.
bool split_inline_args(std::string_view line, std::vector<std::string>& out);

// Accumulates RESP2 replies. Error and simple-string text has CR/LF replaced by spaces so a reply
// can never break the framing.
class reply_buffer {
 public:
  void add_simple(std::string_view s);
  void add_error(std::string_view s);  // s without the '-', e.g. "ERR syntax error"
  void add_integer(int64_t v);
  void add_bulk(std::string_view s);
  void add_null();  // null bulk, $-1
  void add_array_len(size_t n);
  void add_null_array();  // *-1
  // A double as a bulk string, formatted like Redis 7.0 (%.17g, "inf" and "-inf").
  void add_double(double d);
  void add_ok() { add_simple("OK"); }

  const std::string& data() const { return out_; }
  std::string take() { return std::move(out_); }
  void clear() { out_.clear(); }
  // Drops everything after the first n bytes (a reply abandoned half-written).
  void truncate(size_t n) {
    if (n < out_.size()) out_.resize(n);
  }
  size_t size() const { return out_.size(); }

 private:
  std::string out_;
};

}  // namespace flex::redis
