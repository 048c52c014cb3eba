// Test helpers: an engine with a fake clock, and builders for the exact RESP bytes expected.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flex/redis/engine.h"

namespace flex::redis::testing {

inline std::string bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }
inline std::string err(std::string_view s) { return "-" + std::string(s) + "\r\n"; }
inline std::string num(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
inline std::string simple(std::string_view s) { return "+" + std::string(s) + "\r\n"; }
inline const std::string ok = "+OK\r\n";
inline const std::string nil = "$-1\r\n";
inline const std::string nil_array = "*-1\r\n";
inline const std::string wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
inline const std::string not_int = "-ERR value is not an integer or out of range\r\n";
inline const std::string syntax = "-ERR syntax error\r\n";
inline std::string arity(std::string_view cmd) { return err("ERR wrong number of arguments for '" + std::string(cmd) + "' command"); }

// An array of bulk strings.
inline std::string arr(std::initializer_list<std::string_view> items) {
  std::string s = "*" + std::to_string(items.size()) + "\r\n";
  for (auto i : items) s += bulk(i);
  return s;
}

// Decodes a flat array of bulk strings (nulls become "(nil)"); empty vector on anything else.
inline std::vector<std::string> decode_array(const std::string& r) {
  std::vector<std::string> out;
  if (r.empty() || r[0] != '*') return out;
  size_t p = r.find("\r\n");
  long n = std::stol(r.substr(1, p - 1));
  p += 2;
  for (long i = 0; i < n; i++) {
    size_t e = r.find("\r\n", p);
    if (r[p] == '$') {
      long len = std::stol(r.substr(p + 1, e - p - 1));
      if (len < 0) {
        out.push_back("(nil)");
        p = e + 2;
      } else {
        out.push_back(r.substr(e + 2, static_cast<size_t>(len)));
        p = e + 2 + static_cast<size_t>(len) + 2;
      }
    } else {
      out.push_back(r.substr(p, e - p));
      p = e + 2;
    }
  }
  return out;
}

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class engine_test : public ::testing::Test {
 protected:
  void SetUp() override { make_engine(); }
  void make_engine() {
    if (!cfg.files) cfg.files = posix_file_ops();  // the host's files, in the test's folder
    eng = std::make_unique<engine>(cfg, [this] { return now; });
    client = client_state{};
  }
  std::string run(std::initializer_list<std::string_view> args) {
    std::vector<std::string> argv(args.begin(), args.end());
    return run_v(argv);
  }
  std::string run_v(const std::vector<std::string>& argv) {
    reply_buffer out;
    eng->execute(client, argv, out);
    return out.take();
  }
  std::vector<std::string> run_arr(std::initializer_list<std::string_view> args) { return decode_array(run(args)); }

  int64_t now = 1'700'000'000'000;
  engine_config cfg;
  std::unique_ptr<engine> eng;
  client_state client;
};

}  // namespace flex::redis::testing
