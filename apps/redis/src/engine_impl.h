// Internals shared by the engine and the command files: the engine's state, the command context
// and table entry, and helpers for the replies every command family uses. Internal.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flex/redis/engine.h"
#include "hashing.h"
#include "keyspace.h"

namespace flex::redis {

class engine_impl;

struct cmd_ctx {
  engine_impl& eng;
  client_state& client;
  const std::vector<std::string>& argv;
  reply_buffer& out;
  int64_t now;  // the clock, read once per command

  database& db();
  size_t argc() const { return argv.size(); }
  // Lookup with lazy expiry; counts keyspace hits and misses.
  entry* lookup(std::string_view key);
  // Lookup with lazy expiry, no statistics (for writes).
  entry* lookup_write(std::string_view key);
  // Replies WRONGTYPE and returns false when e holds another type.
  bool check_type(const entry* e, value_type t);
  // Stores v under key, replacing any old value and its TTL.
  entry* set_key(std::string_view key, value v);
  // The entry for key of type T, created empty when missing; null (after a WRONGTYPE reply) when
  // the key holds another type.
  template <typename T>
  T* lookup_or_create(std::string_view key);
  bool delete_key(std::string_view key);

  // Argument parsers that reply with Redis's error text on failure.
  bool arg_ll(std::string_view s, int64_t& out);
  bool arg_double(std::string_view s, double& out);

  void wrong_args();
  void syntax_error() { out.add_error("ERR syntax error"); }
};

// Redis-style command flags, reported by COMMAND INFO.
enum cmd_flags : uint32_t {
  cmd_write = 1,
  cmd_readonly = 2,
  cmd_denyoom = 4,
  cmd_fast = 8,
  cmd_admin = 16,
  cmd_noscript = 32,
  cmd_loading = 64,
  cmd_stale = 128,
  cmd_multi_control = 256,  // runs at once inside MULTI instead of being queued (MULTI, EXEC, DISCARD, WATCH, QUIT)
};

struct command_def {
  const char* name;  // lower case
  int arity;         // Redis convention: N exactly N arguments (name included), -N at least N
  void (*handler)(cmd_ctx&);
  uint32_t flags;
  int first_key, last_key, key_step;
  const char* group;
};

std::span<const command_def> server_commands();
std::span<const command_def> admin_commands();
std::span<const command_def> string_commands();
std::span<const command_def> key_commands();
std::span<const command_def> list_commands();
std::span<const command_def> hash_commands();
std::span<const command_def> set_commands();
std::span<const command_def> zset_commands();
std::span<const command_def> stream_commands();
std::span<const command_def> multi_commands();

// Leaves MULTI: drops the queue, the refusal mark and every watched key (commands_multi.cc).
void end_transaction(client_state& c);
// WATCH: whether a watched key changed since it was watched (commands_multi.cc).
bool watched_key_changed(engine_impl& e, const watched_key& w, int64_t now);

class engine_impl {
 public:
  engine_impl(engine_config config, clock_fn clock);

  void execute(client_state& client, const std::vector<std::string>& argv, reply_buffer& out);
  // Runs one command whose name and arity have been checked (directly, or from EXEC).
  void run(const command_def* cmd, client_state& client, const std::vector<std::string>& argv, reply_buffer& out);
  // Deletes e when its TTL has passed; returns true if it did.
  bool expire_if_needed(database& d, entry* e, int64_t now);
  size_t active_expire(int64_t now_ms, size_t budget);
  std::string save(int64_t now_ms);
  // What a save runs after each key it writes: rdb-key-save-delay's pause, or nothing.
  std::function<void()> key_save_pause();
  std::string load();
  std::string snapshot_path() const;
  file_ops& files();
  server_stats stats() const { return cfg.stats ? cfg.stats() : server_stats{}; }
  const command_def* find_command(std::string_view name) const;

  engine_config cfg;
  clock_fn clock;
  std::vector<database> dbs;
  std::mt19937_64 rng;
  std::unordered_map<std::string, const command_def*, string_hash, std::equal_to<>> commands;
  std::vector<const command_def*> command_list;

  int64_t start_ms = 0;
  int64_t last_save_s = 0;
  uint64_t dirty = 0;
  uint64_t total_commands = 0;
  uint64_t keyspace_hits = 0, keyspace_misses = 0;
  uint64_t expired_keys = 0;
  size_t expire_db_cursor = 0;
  bool shutdown_requested = false;  // by SHUTDOWN
  // WATCH: every write command takes the next epoch and stamps the keys it names with it; FLUSHDB and
  // FLUSHALL stamp their databases.
  uint64_t write_epoch = 0;
  std::vector<uint64_t> flushed_epoch;
  bool watch_used = false;  // set by the first WATCH: from then on write commands stamp their keys
  uint64_t next_client_id = 1;
  // sample_ops: commands per second between consecutive samples, the last 16 of them.
  static constexpr size_t kOpsSamples = 16;
  uint64_t ops_samples[kOpsSamples] = {};
  size_t ops_next = 0;
  int64_t ops_last_ms = -1;
  uint64_t ops_last_count = 0;
  uint64_t instantaneous_ops() const;
};

inline database& cmd_ctx::db() { return eng.dbs[static_cast<size_t>(client.db)]; }

template <typename T>
T* cmd_ctx::lookup_or_create(std::string_view key) {
  entry* e = lookup_write(key);
  if (e == nullptr) e = db().insert(std::string(key), value(std::in_place_type<T>));
  T* v = std::get_if<T>(&e->val);
  if (v == nullptr) out.add_error("WRONGTYPE Operation against a key holding the wrong kind of value");
  return v;
}

// Reply helpers shared by list, set and zset commands.
inline constexpr std::string_view wrongtype_err = "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view not_integer_err = "ERR value is not an integer or out of range";
inline constexpr std::string_view not_float_err = "ERR value is not a valid float";

// Clamps a Redis [start, end] index pair (negative from the end) to a container of length len;
// returns false when the range is empty.
bool clamp_range(int64_t& start, int64_t& end, int64_t len);

}  // namespace flex::redis
