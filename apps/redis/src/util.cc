// Number parsing and formatting and glob matching (see util.h).
#include "util.h"

#include <charconv>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace flex::redis {

bool string_to_ll(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() == 1 && s[0] == '0') {
    out = 0;
    return true;
  }
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = 0;
  for (; i < s.size(); i++) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    out = static_cast<int64_t>(v);
  }
  return true;
}

bool string_to_double(std::string_view s, double& out) {
  if (s.empty() || s.size() > 5 * 1024 || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(tmp.c_str(), &end);
  if (static_cast<size_t>(end - tmp.c_str()) != tmp.size()) return false;
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0)) return false;
  if (std::isnan(v)) return false;
  out = v;
  return true;
}

bool string_to_range_bound(std::string_view s, double& out) {
  std::string tmp(s);
  char* end = nullptr;
  double v = std::strtod(tmp.c_str(), &end);
  if (static_cast<size_t>(end - tmp.c_str()) != tmp.size() || std::isnan(v)) return false;
  out = v;
  return true;
}

bool string_to_long_double(std::string_view s, long double& out) {
  if (s.empty() || s.size() >= 5 * 1024 || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  long double v = std::strtold(tmp.c_str(), &end);
  if (static_cast<size_t>(end - tmp.c_str()) != tmp.size()) return false;
  if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) return false;
  if (std::isnan(v)) return false;
  out = v;
  return true;
}

std::string ll_to_string(int64_t v) {
  char tmp[24];
  return std::string(tmp, std::to_chars(tmp, tmp + sizeof tmp, v).ptr);
}

std::string format_double(double d) {
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char tmp[64];
  int n = std::snprintf(tmp, sizeof tmp, "%.17g", d);
  return std::string(tmp, static_cast<size_t>(n));
}

std::string format_long_double_human(long double d) {
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char tmp[5 * 1024];
  int n = std::snprintf(tmp, sizeof tmp, "%.17Lf", d);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof tmp) return "0";
  size_t l = static_cast<size_t>(n);
  if (std::memchr(tmp, '.', l) != nullptr) {
    while (l > 0 && tmp[l - 1] == '0') l--;
    if (l > 0 && tmp[l - 1] == '.') l--;
  }
  if (l == 2 && tmp[0] == '-' && tmp[1] == '0') return "0";
  return std::string(tmp, l);
}

namespace {

char fold(char c, bool nocase) {
  return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// Matches one [...] class at pattern[p] (just after '['); sets p past the closing ']'.
bool match_class(std::string_view pat, size_t& p, char c, bool nocase) {
  bool negate = false, match = false;
  if (p < pat.size() && pat[p] == '^') {
    negate = true;
    p++;
  }
  for (;;) {
    if (p >= pat.size()) break;  // unterminated class: treat the end as ']'
    if (pat[p] == '\\' && p + 1 < pat.size()) {
      p++;
      if (fold(pat[p], nocase) == fold(c, nocase)) match = true;
    } else if (pat[p] == ']') {
      break;
    } else if (p + 2 < pat.size() && pat[p + 1] == '-') {
      char lo = fold(pat[p], nocase), hi = fold(pat[p + 2], nocase);
      if (lo > hi) std::swap(lo, hi);
      char fc = fold(c, nocase);
      if (fc >= lo && fc <= hi) match = true;
      p += 2;
    } else if (fold(pat[p], nocase) == fold(c, nocase)) {
      match = true;
    }
    p++;
  }
  if (p < pat.size()) p++;  // the ']'
  return negate ? !match : match;
}

}  // namespace

bool glob_match(std::string_view pat, std::string_view str, bool nocase) {
  // Iterative matcher: on a mismatch, backtrack to the most recent '*' and let it absorb one more
  // character. This is complete for these patterns and bounded by O(|pat| * |str|).
  size_t p = 0, s = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (s < str.size()) {
    if (p < pat.size()) {
      char pc = pat[p];
      if (pc == '*') {
        while (p < pat.size() && pat[p] == '*') p++;
        if (p == pat.size()) return true;
        star_p = p;
        star_s = s;
        continue;
      }
      if (pc == '?') {
        p++;
        s++;
        continue;
      }
      if (pc == '[') {
        size_t q = p + 1;
        if (match_class(pat, q, str[s], nocase)) {
          p = q;
          s++;
          continue;
        }
      } else {
        size_t q = p;
        if (pc == '\\' && q + 1 < pat.size()) q++;
        if (fold(pat[q], nocase) == fold(str[s], nocase)) {
          p = q + 1;
          s++;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    s = ++star_s;
  }
  while (p < pat.size() && pat[p] == '*') p++;
  return p == pat.size();
}

bool eq_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string to_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace flex::redis
