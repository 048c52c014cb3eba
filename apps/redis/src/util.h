// Number parsing and formatting, glob matching and case folding with Redis's exact rules. Internal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flex::redis {

// Strict decimal integer: no spaces, no '+', no leading zeros, fits in int64 (Redis string2ll).
bool string_to_ll(std::string_view s, int64_t& out);
// Double as ZADD and ZINCRBY accept it (strtod over the whole string, no NaN, no leading space).
bool string_to_double(std::string_view s, double& out);
// A score range bound as ZRANGEBYSCORE and ZCOUNT accept it after an optional '(': strtod over the
// whole string, where leading space, an empty string (0) and out-of-range values (+-inf, 0) are
// accepted; only NaN and trailing characters are not.
bool string_to_range_bound(std::string_view s, double& out);
// Long double as INCRBYFLOAT accepts it.
bool string_to_long_double(std::string_view s, long double& out);

std::string ll_to_string(int64_t v);
// Redis 7.0 reply formatting of a double: "%.17g", or "inf" / "-inf".
std::string format_double(double d);
// INCRBYFLOAT formatting: "%.17Lf" with trailing zeros (and a trailing '.') removed.
std::string format_long_double_human(long double d);

// Glob match with *, ?, [abc], [^a-z] and backslash escapes (KEYS, SCAN MATCH, CONFIG GET).
bool glob_match(std::string_view pattern, std::string_view str, bool nocase = false);

bool eq_nocase(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);

}  // namespace flex::redis
