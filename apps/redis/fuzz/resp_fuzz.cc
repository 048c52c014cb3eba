// libFuzzer target: arbitrary bytes, split at fuzzer-chosen points, through the RESP parser and
// the engine (so every command handler sees hostile argument vectors too). Checks that the
// parser agrees with itself whether the bytes arrive at once or in pieces.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "flex/redis/engine.h"

using namespace flex::redis;

namespace {

std::vector<std::vector<std::string>> parse(std::string_view data, size_t chunk, std::string& error) {
  parser_limits lim;
  lim.max_bulk_len = 1 << 20;
  resp_parser p(lim);
  std::vector<std::vector<std::string>> cmds;
  std::vector<std::string> argv;
  for (size_t off = 0; off < data.size(); off += chunk) {
    p.append(data.substr(off, chunk));
    for (;;) {
      parse_status st = p.next(argv);
      if (st == parse_status::command) {
        cmds.push_back(argv);
        continue;
      }
      if (st == parse_status::error) {
        error = p.error();
        return cmds;
      }
      break;
    }
  }
  return cmds;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = (data[0] % 16) + 1;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string e1, e2;
  auto whole = parse(bytes, bytes.size() + 1, e1);
  auto pieces = parse(bytes, chunk, e2);
  if (whole != pieces || e1 != e2) __builtin_trap();

  int64_t now = 1'700'000'000'000;
  engine_config cfg;
  cfg.dir = "/nonexistent-flex-fuzz";  // SAVE fails cleanly instead of writing files
  engine eng(cfg, [&] { return now; });
  client_state client;
  reply_buffer out;
  for (size_t off = 0; off < bytes.size(); off += chunk) {
    now += 7;
    if (eng.feed(client, bytes.substr(off, chunk), out)) break;
    if (out.size() > (1 << 22)) out.clear();
  }
  eng.active_expire(now + 1'000'000, 100);
  return 0;
}
