// Snapshot encoding and decoding, separate from file handling so tests and fuzzers can use them
// on memory buffers. Internal.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "keyspace.h"

namespace flex::redis {

// CRC-64/XZ (ECMA-182 polynomial, reflected, initial and final value all ones).
uint64_t crc64(std::string_view data);

// after_key, when set, runs after each key is encoded (rdb-key-save-delay's pauses).
std::string encode_snapshot(const std::vector<database>& dbs, int64_t now_ms,
                            const std::function<void()>& after_key = {});
// Fills dbs (already sized, empty) from data; returns "" or what is wrong with the data. Keys
// whose TTL has passed at now_ms are dropped.
std::string decode_snapshot(std::string_view data, int64_t now_ms, std::vector<database>& dbs);

}  // namespace flex::redis
