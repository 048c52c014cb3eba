// RESP2 parser and reply writer tests.
#include "flex/redis/resp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flex::redis {
namespace {

using argv_t = std::vector<std::string>;

// Feeds all bytes at once and collects every command until need_more or error.
parse_status parse_all(resp_parser& p, std::string_view bytes, std::vector<argv_t>& cmds) {
  p.append(bytes);
  argv_t argv;
  for (;;) {
    parse_status st = p.next(argv);
    if (st != parse_status::command) return st;
    cmds.push_back(argv);
  }
}

std::string error_of(std::string_view bytes, parser_limits lim = {}) {
  resp_parser p(lim);
  std::vector<argv_t> cmds;
  if (parse_all(p, bytes, cmds) != parse_status::error) return "(no error)";
  return p.error();
}

TEST(resp_parser, single_multibulk) {
  resp_parser p;
  std::vector<argv_t> cmds;
  EXPECT_EQ(parse_all(p, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", cmds), parse_status::need_more);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0], (argv_t{"GET", "k"}));
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(resp_parser, binary_safe_bulk) {
  resp_parser p;
  std::vector<argv_t> cmds;
  std::string payload("a\0b\r\nc", 6);
  std::string frame = "*2\r\n$3\r\nSET\r\n$6\r\n" + payload + "\r\n";
  parse_all(p, frame, cmds);
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0][1], payload);
}

TEST(resp_parser, byte_by_byte) {
  std::string frame = "*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$0\r\n\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
  resp_parser p;
  std::vector<argv_t> cmds;
  for (char c : frame) {
    parse_status st = parse_all(p, std::string_view(&c, 1), cmds);
    ASSERT_EQ(st, parse_status::need_more);
  }
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[0], (argv_t{"SET", "hello", ""}));
  EXPECT_EQ(cmds[1], (argv_t{"PING"}));
  EXPECT_EQ(cmds[2], (argv_t{"PING"}));
}

TEST(resp_parser, pipeline_of_1000) {
  std::string bytes;
  for (int i = 0; i < 1000; i++) {
    std::string k = "key:" + std::to_string(i);
    bytes += "*3\r\n$3\r\nSET\r\n$" + std::to_string(k.size()) + "\r\n" + k + "\r\n$1\r\nv\r\n";
  }
  resp_parser p;
  std::vector<argv_t> cmds;
  EXPECT_EQ(parse_all(p, bytes, cmds), parse_status::need_more);
  ASSERT_EQ(cmds.size(), 1000u);
  EXPECT_EQ(cmds[999][1], "key:999");
  // The same pipeline split at odd places.
  resp_parser q;
  std::vector<argv_t> cmds2;
  for (size_t i = 0; i < bytes.size(); i += 7) parse_all(q, std::string_view(bytes).substr(i, 7), cmds2);
  EXPECT_EQ(cmds2, cmds);
}

TEST(resp_parser, empty_multibulk_is_skipped) {
  resp_parser p;
  std::vector<argv_t> cmds;
  parse_all(p, "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", cmds);
  ASSERT_EQ(cmds.size(), 1u);
}

TEST(resp_parser, inline_commands) {
  resp_parser p;
  std::vector<argv_t> cmds;
  parse_all(p, "SET k v\r\n\r\n  GET   k  \nPING\r\n", cmds);
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[0], (argv_t{"SET", "k", "v"}));
  EXPECT_EQ(cmds[1], (argv_t{"GET", "k"}));
  EXPECT_EQ(cmds[2], (argv_t{"PING"}));
}

TEST(resp_parser, inline_quoting) {
  argv_t out;
  ASSERT_TRUE(split_inline_args(R"(set "a b" 'c d' "\x41\n\"" 'it\'s' x"y z")", out));
  EXPECT_EQ(out, (argv_t{"set", "a b", "c d", "A\n\"", "it's", "xy z"}));
  out.clear();
  ASSERT_TRUE(split_inline_args(R"("" '' "\q")", out));
  EXPECT_EQ(out, (argv_t{"", "", "q"}));
  out.clear();
  EXPECT_FALSE(split_inline_args(R"(set "abc)", out));
  out.clear();
  EXPECT_FALSE(split_inline_args(R"(set 'abc)", out));
  out.clear();
  EXPECT_FALSE(split_inline_args(R"(set "a"b)", out));
}

TEST(resp_parser, errors_have_redis_text) {
  EXPECT_EQ(error_of("*abc\r\n"), "ERR Protocol error: invalid multibulk length");
  EXPECT_EQ(error_of("*3000000000\r\n"), "ERR Protocol error: invalid multibulk length");
  EXPECT_EQ(error_of("*1\r\nx3\r\nfoo\r\n"), "ERR Protocol error: expected '$', got 'x'");
  EXPECT_EQ(error_of("*1\r\n$-1\r\n"), "ERR Protocol error: invalid bulk length");
  EXPECT_EQ(error_of("*1\r\n$abc\r\n"), "ERR Protocol error: invalid bulk length");
  EXPECT_EQ(error_of("*1\r\n$1000000000\r\n"), "ERR Protocol error: invalid bulk length");
  EXPECT_EQ(error_of("set \"abc\r\n"), "ERR Protocol error: unbalanced quotes in request");
  EXPECT_EQ(error_of(std::string(70 * 1024, 'a')), "ERR Protocol error: too big inline request");
  EXPECT_EQ(error_of("*" + std::string(70 * 1024, '1')), "ERR Protocol error: too big mbulk count string");
  EXPECT_EQ(error_of("*1\r\n$" + std::string(70 * 1024, '1')), "ERR Protocol error: too big bulk count string");
}

TEST(resp_parser, configurable_limits) {
  parser_limits lim;
  lim.max_bulk_len = 10;
  lim.max_inline_len = 16;
  lim.max_multibulk_len = 4;
  EXPECT_EQ(error_of("*1\r\n$11\r\n", lim), "ERR Protocol error: invalid bulk length");
  EXPECT_EQ(error_of("*5\r\n", lim), "ERR Protocol error: invalid multibulk length");
  EXPECT_EQ(error_of("GET aaaaaaaaaaaaaaaaaaaa", lim), "ERR Protocol error: too big inline request");
  EXPECT_EQ(error_of("*1\r\n$10\r\n0123456789\r\n", lim), "(no error)");
}

// The '$' of a bulk header is checked once its line is complete, so the verdict does not depend
// on how the bytes were split (found by the fuzzer).
TEST(resp_parser, bulk_header_checked_on_complete_line) {
  resp_parser p;
  std::vector<argv_t> cmds;
  EXPECT_EQ(parse_all(p, "*1\r\nx", cmds), parse_status::need_more);
  EXPECT_EQ(parse_all(p, "yz\r", cmds), parse_status::need_more);
  EXPECT_EQ(parse_all(p, "\n", cmds), parse_status::error);
  EXPECT_EQ(p.error(), "ERR Protocol error: expected '$', got 'x'");
}

TEST(resp_parser, stays_in_error_state) {
  resp_parser p;
  std::vector<argv_t> cmds;
  EXPECT_EQ(parse_all(p, "*x\r\n", cmds), parse_status::error);
  EXPECT_EQ(parse_all(p, "*1\r\n$4\r\nPING\r\n", cmds), parse_status::error);
  EXPECT_TRUE(cmds.empty());
}

TEST(resp_parser, waits_for_line_feed) {
  resp_parser p;
  std::vector<argv_t> cmds;
  EXPECT_EQ(parse_all(p, "*1\r", cmds), parse_status::need_more);
  EXPECT_EQ(parse_all(p, "\n$4\r", cmds), parse_status::need_more);
  EXPECT_EQ(parse_all(p, "\nPING\r", cmds), parse_status::need_more);
  EXPECT_EQ(parse_all(p, "\n", cmds), parse_status::need_more);
  EXPECT_EQ(cmds.size(), 1u);
}

TEST(reply_buffer, every_type) {
  reply_buffer out;
  out.add_simple("OK");
  out.add_error("ERR bad\r\nthing");
  out.add_integer(-42);
  out.add_bulk(std::string_view("a\0b", 3));
  out.add_null();
  out.add_array_len(2);
  out.add_null_array();
  out.add_double(1.5);
  out.add_double(-1.0 / 0.0);
  using namespace std::string_literals;
  EXPECT_EQ(out.data(), "+OK\r\n-ERR bad  thing\r\n:-42\r\n$3\r\na\0b\r\n$-1\r\n*2\r\n*-1\r\n"
                        "$3\r\n1.5\r\n$4\r\n-inf\r\n"s);
}

}  // namespace
}  // namespace flex::redis
