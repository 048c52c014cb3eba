// The engine of Flex's Redis-compatible server: the RESP2 protocol, a 16-database keyspace with
// strings, lists, hashes, sets, sorted sets and streams, expiry, the command table and snapshot
// persistence. It does no socket I/O and owns no event loop: the network layer feeds it the bytes
// of each connection and sends back what it writes into a reply_buffer.
//
//   flex::redis::engine_config cfg;
//   cfg.dir = "/data";
//   flex::redis::engine eng(cfg, [] { return now_in_ms(); });
//   if (auto err = eng.load(); !err.empty()) fail(err);      // refuses corrupt snapshots
//
//   flex::redis::client_state client;                       // one per connection
//   flex::redis::reply_buffer out;
//   bool close = eng.feed(client, received_bytes, out);     // runs every complete command
//   send(out.take());
//   if (close) close_connection();
//
//   eng.active_expire(now_in_ms(), 200);                    // from a periodic timer
//
// Nothing in this API throws: allocation failures inside a command become an error reply.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flex/redis/resp.h"

namespace flex::redis {

// Milliseconds since the Unix epoch. The engine never reads the system clock itself.
using clock_fn = std::function<int64_t()>;

// Pauses the engine for `us` microseconds (rdb-key-save-delay). The engine never sleeps by itself: the
// caller says how, so that a pause can block one libOS thread instead of the host thread.
using sleep_fn = std::function<void(int64_t us)>;

// Figures only the caller knows, reported by INFO.
struct server_stats {
  uint64_t connected_clients = 0;
  uint64_t blocked_clients = 0;
  uint64_t total_connections_received = 0;
  uint64_t rejected_connections = 0;
  uint64_t total_net_input_bytes = 0;
  uint64_t total_net_output_bytes = 0;
  uint64_t used_memory = 0;       // bytes the server's allocator has handed out
  uint64_t used_memory_rss = 0;   // the server process's resident set
  uint64_t used_memory_peak = 0;
  std::string mem_allocator = "unknown";
  int64_t process_id = 0;
};
using stats_fn = std::function<server_stats()>;

// File operations used by SAVE and load. Every function returns 0 (or a handle >= 0, or a byte
// count) on success and a negative errno on failure. Without any, SAVE and load fail with -ENOSYS.
// posix_file_ops() (src/file_ops.cc, host builds: the tests) works on the host's files; the Flex image
// serves files through vfs (server/vfs_files.cc) and leaves src/file_ops.cc out, so its app
// compartment makes no file system call of its own.
class file_ops {
 public:
  virtual ~file_ops() = default;
  virtual int open_write(const std::string& path) = 0;  // create or truncate, write only
  virtual int64_t write(int handle, const void* data, size_t len) = 0;
  virtual int fsync(int handle) = 0;
  virtual int close(int handle) = 0;
  virtual int rename(const std::string& from, const std::string& to) = 0;
  virtual int fsync_dir(const std::string& dir) = 0;
  virtual int unlink(const std::string& path) = 0;
  virtual int read_file(const std::string& path, std::string& out) = 0;  // -ENOENT when missing
};
std::shared_ptr<file_ops> posix_file_ops();
std::shared_ptr<file_ops> no_file_ops();  // every operation fails with -ENOSYS

struct engine_config {
  int databases = 16;
  parser_limits limits;
  std::string dir = ".";
  std::string dbfilename = "dump.flexdb";
  // Reported and settable through CONFIG; the engine itself only stores them.
  int port = 6379;
  std::string bind = "* -::*";
  uint64_t maxclients = 10000;
  uint64_t maxmemory = 0;
  std::string save = "";
  std::string appendonly = "no";
  // rdb-key-save-delay, as in Redis (for tests that must catch a save while it runs): a pause of this many
  // microseconds after each key a save writes, so a save of N keys costs N pauses and the server answers
  // no one meanwhile; -N pauses 1 us after every Nth key; 0, the default, never pauses.
  int rdb_key_save_delay = 0;
  std::shared_ptr<file_ops> files;  // null: no_file_ops()
  sleep_fn sleep;                   // null: the host thread sleeps
  stats_fn stats;                   // null: all zero
  uint64_t seed = 0x5eed;           // for RANDOMKEY, SPOP, SRANDMEMBER and expiry sampling
};

// A key under WATCH: what it was when watched (see commands_multi.cc).
struct watched_key {
  int db = 0;
  std::string key;
  bool existed = false;
  uint64_t epoch = 0;  // the engine's write epoch at WATCH
};

// Per-connection state.
struct client_state {
  int db = 0;
  bool close_after_reply = false;  // set by QUIT and by protocol errors
  resp_parser parser;
  // MULTI ... EXEC: the queued commands, and whether one of them was refused when queued.
  bool in_multi = false;
  bool multi_refused = false;
  std::vector<std::vector<std::string>> queued;
  std::vector<watched_key> watched;
  // CLIENT ID (given at the first command) and CLIENT SETNAME.
  uint64_t id = 0;
  std::string name;
};

class engine_impl;

class engine {
 public:
  engine(engine_config config, clock_fn clock);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Runs one command and appends its reply.
  void execute(client_state& client, const std::vector<std::string>& argv, reply_buffer& out);
  // Parses the bytes (appended to what the client sent before) and runs every complete command.
  // Returns true when the connection must be closed once `out` is sent; commands after a QUIT or
  // a protocol error are not run.
  bool feed(client_state& client, std::string_view bytes, reply_buffer& out);
  // One active expiry cycle: samples keys with a TTL in every database, Redis style, and deletes
  // those expired at now_ms, examining at most `budget` keys. Returns the number deleted.
  size_t active_expire(int64_t now_ms, size_t budget);
  // Records how many commands have run by now_ms; the caller calls it every tick. INFO's
  // instantaneous_ops_per_sec is the mean rate over the last 16 samples, as in Redis.
  void sample_ops(int64_t now_ms);

  // Snapshot persistence at <dir>/<dbfilename>. Both return "" on success or an error message
  // naming the file. load() leaves the keyspace untouched unless the whole file is valid; a missing
  // file is not an error (empty keyspace).
  std::string save();
  std::string load();

  // True once SHUTDOWN has succeeded: the caller stops serving and exits.
  bool shutdown_requested() const;

  // Introspection for the caller and tests.
  size_t dbsize(int db) const;
  const engine_config& config() const;

 private:
  std::unique_ptr<engine_impl> impl_;
};

}  // namespace flex::redis
