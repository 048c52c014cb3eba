// Transparent string hashing so maps keyed by std::string can be searched with a string_view.
// Internal.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace flex::redis {

struct string_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  size_t operator()(const std::string& s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace flex::redis
