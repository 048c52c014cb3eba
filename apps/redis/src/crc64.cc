// CRC-64 (ECMA-182, bit-reflected) of a snapshot body.
#include <array>
#include <cstdint>
#include <string_view>

#include "snapshot_format.h"

namespace flex::redis {
namespace {

constexpr std::array<uint64_t, 256> make_crc_table() {
  std::array<uint64_t, 256> t{};
  for (uint64_t i = 0; i < 256; i++) {
    uint64_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xC96C5795D7870F42ull : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr auto crc_table = make_crc_table();

}  // namespace

uint64_t crc64(std::string_view data) {
  uint64_t c = ~0ull;
  for (unsigned char b : data) c = crc_table[(c ^ b) & 0xFF] ^ (c >> 8);
  return ~c;
}

}  // namespace flex::redis
