// The engine object: command dispatch, the per-command context helpers, lazy and active expiry,
// and the public wrappers that keep exceptions inside the library.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <new>
#include <thread>

#include "engine_impl.h"
#include "util.h"

namespace flex::redis {

// ---- cmd_ctx ----

entry* cmd_ctx::lookup_write(std::string_view key) {
  database& d = db();
  entry* e = d.find(key);
  if (e != nullptr && eng.expire_if_needed(d, e, now)) return nullptr;
  return e;
}

entry* cmd_ctx::lookup(std::string_view key) {
  entry* e = lookup_write(key);
  if (e == nullptr) {
    eng.keyspace_misses++;
  } else {
    eng.keyspace_hits++;
  }
  return e;
}

bool cmd_ctx::check_type(const entry* e, value_type t) {
  if (type_of(e->val) == t) return true;
  out.add_error(wrongtype_err);
  return false;
}

entry* cmd_ctx::set_key(std::string_view key, value v) {
  database& d = db();
  entry* e = d.find(key);
  if (e != nullptr) {
    e->val = std::move(v);
    d.remove_expire(e);
    return e;
  }
  return d.insert(std::string(key), std::move(v));
}

bool cmd_ctx::delete_key(std::string_view key) {
  database& d = db();
  entry* e = d.find(key);
  if (e == nullptr) return false;
  if (eng.expire_if_needed(d, e, now)) return false;
  d.erase(key);
  return true;
}

bool cmd_ctx::arg_ll(std::string_view s, int64_t& v) {
  if (string_to_ll(s, v)) return true;
  out.add_error(not_integer_err);
  return false;
}

bool cmd_ctx::arg_double(std::string_view s, double& v) {
  if (string_to_double(s, v)) return true;
  out.add_error(not_float_err);
  return false;
}

void cmd_ctx::wrong_args() {
  out.add_error("ERR wrong number of arguments for '" + to_lower(argv[0]) + "' command");
}

bool clamp_range(int64_t& start, int64_t& end, int64_t len) {
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (start > end || start >= len) return false;
  if (end >= len) end = len - 1;
  return true;
}

// ---- no_file_ops ----

namespace {

class no_files final : public file_ops {
 public:
  int open_write(const std::string&) override { return -ENOSYS; }
  int64_t write(int, const void*, size_t) override { return -ENOSYS; }
  int fsync(int) override { return -ENOSYS; }
  int close(int) override { return -ENOSYS; }
  int rename(const std::string&, const std::string&) override { return -ENOSYS; }
  int fsync_dir(const std::string&) override { return -ENOSYS; }
  int unlink(const std::string&) override { return -ENOSYS; }
  int read_file(const std::string&, std::string&) override { return -ENOSYS; }
};

}  // namespace

std::shared_ptr<file_ops> no_file_ops() { return std::make_shared<no_files>(); }

// ---- engine_impl ----

engine_impl::engine_impl(engine_config config, clock_fn clk)
    : cfg(std::move(config)), clock(std::move(clk)), rng(cfg.seed) {
  if (cfg.databases < 1) cfg.databases = 1;
  dbs.resize(static_cast<size_t>(cfg.databases));
  if (!cfg.files) cfg.files = no_file_ops();
  if (!cfg.sleep) cfg.sleep = [](int64_t us) { std::this_thread::sleep_for(std::chrono::microseconds(us)); };
  flushed_epoch.assign(dbs.size(), 0);
  for (auto family : {server_commands(), admin_commands(), string_commands(), key_commands(), list_commands(), hash_commands(),
                      set_commands(), zset_commands(), stream_commands(), multi_commands()}) {
    for (const command_def& c : family) {
      commands.emplace(c.name, &c);
      command_list.push_back(&c);
    }
  }
  start_ms = clock();
  last_save_s = start_ms / 1000;
}

file_ops& engine_impl::files() { return *cfg.files; }

const command_def* engine_impl::find_command(std::string_view name) const {
  char tmp[32];
  if (name.size() >= sizeof tmp) return nullptr;
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    tmp[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  auto it = commands.find(std::string_view(tmp, name.size()));
  return it == commands.end() ? nullptr : it->second;
}

void engine_impl::execute(client_state& client, const std::vector<std::string>& argv, reply_buffer& out) {
  if (argv.empty()) return;
  if (client.id == 0) client.id = next_client_id++;
  const command_def* cmd = find_command(argv[0]);
  if (cmd == nullptr) {
    std::string args;
    for (size_t i = 1; i < argv.size() && args.size() < 128; i++) {
      size_t room = 128 - args.size();
      args += "'" + argv[i].substr(0, room) + "' ";
    }
    out.add_error("ERR unknown command '" + argv[0].substr(0, 128) + "', with args beginning with: " + args);
    client.multi_refused |= client.in_multi;  // a refused command inside MULTI makes EXEC fail
    return;
  }
  int argc = static_cast<int>(argv.size());
  if ((cmd->arity > 0 && cmd->arity != argc) || (cmd->arity < 0 && argc < -cmd->arity)) {
    std::string why = std::string("wrong number of arguments for '") + cmd->name + "' command";
    if (std::string_view(cmd->name) == "exec") {  // as Redis: EXEC's own error ends the transaction
      end_transaction(client);
      out.add_error("EXECABORT Transaction discarded because of: " + why);
      return;
    }
    out.add_error("ERR " + why);
    client.multi_refused |= client.in_multi;
    return;
  }
  // Inside MULTI every command but the transaction's own (and QUIT) waits for EXEC.
  if (client.in_multi && !(cmd->flags & cmd_multi_control)) {
    client.queued.push_back(argv);
    out.add_simple("QUEUED");
    return;
  }
  run(cmd, client, argv, out);
}

void engine_impl::run(const command_def* cmd, client_state& client, const std::vector<std::string>& argv,
                      reply_buffer& out) {
  if (client.db < 0 || static_cast<size_t>(client.db) >= dbs.size()) client.db = 0;
  cmd_ctx ctx{*this, client, argv, out, clock()};
  total_commands++;
  const bool write = (cmd->flags & cmd_write) != 0;
  if (write) write_epoch++;  // this command's epoch (FLUSHDB and FLUSHALL stamp their databases with it)
  cmd->handler(ctx);
  if (!write) return;
  dirty++;
  // Stamp the keys the command names (those that exist now) for WATCH: a write that changed nothing
  // stamps them too, so EXEC may fail where Redis would not, never the other way round. Until a first
  // WATCH no key needs a stamp, and writes skip the second lookup.
  if (!watch_used || cmd->first_key <= 0) return;
  int last = cmd->last_key < 0 ? static_cast<int>(argv.size()) + cmd->last_key : cmd->last_key;
  database& d = dbs[static_cast<size_t>(client.db)];
  for (int i = cmd->first_key; i <= last && i < static_cast<int>(argv.size()); i += std::max(cmd->key_step, 1)) {
    if (entry* e = d.find(argv[static_cast<size_t>(i)])) e->write_epoch = write_epoch;
  }
}

bool engine_impl::expire_if_needed(database& d, entry* e, int64_t now) {
  if (e->expire_ms < 0 || e->expire_ms > now) return false;
  d.erase(e->key);
  expired_keys++;
  return true;
}

size_t engine_impl::active_expire(int64_t now, size_t budget) {
  // Redis's cycle: per database, sample up to 20 keys with a TTL, delete the expired ones, and
  // sample again while more than a quarter of a sample had expired.
  constexpr size_t sample = 20;
  size_t deleted = 0, examined = 0;
  for (size_t n = 0; n < dbs.size() && examined < budget; n++) {
    database& d = dbs[expire_db_cursor];
    expire_db_cursor = (expire_db_cursor + 1) % dbs.size();
    for (;;) {
      size_t batch = std::min({sample, d.expires_size(), budget - examined});
      if (batch == 0) break;
      size_t expired = 0;
      for (size_t i = 0; i < batch; i++) {
        entry* e = d.random_expiring(rng);
        examined++;
        if (e != nullptr && expire_if_needed(d, e, now)) expired++;
      }
      deleted += expired;
      if (expired * 4 <= batch || examined >= budget) break;
    }
  }
  return deleted;
}

std::string engine_impl::snapshot_path() const {
  if (cfg.dir.empty()) return cfg.dbfilename;
  return cfg.dir + (cfg.dir.back() == '/' ? "" : "/") + cfg.dbfilename;
}

// ---- engine ----

engine::engine(engine_config config, clock_fn clock)
    : impl_(std::make_unique<engine_impl>(std::move(config), std::move(clock))) {}

engine::~engine() = default;

void engine::execute(client_state& client, const std::vector<std::string>& argv, reply_buffer& out) {
  size_t mark = out.size();
  try {
    impl_->execute(client, argv, out);
  } catch (const std::bad_alloc&) {
    out.truncate(mark);
    out.add_error("ERR out of memory while running the command");
  } catch (...) {
    out.truncate(mark);
    out.add_error("ERR internal error");
  }
}

bool engine::feed(client_state& client, std::string_view bytes, reply_buffer& out) {
  try {
    client.parser.set_limits(impl_->cfg.limits);
    client.parser.append(bytes);
    std::vector<std::string> argv;
    while (!client.close_after_reply) {
      parse_status st = client.parser.next(argv);
      if (st == parse_status::need_more) break;
      if (st == parse_status::error) {
        out.add_error(client.parser.error());
        client.close_after_reply = true;
        break;
      }
      execute(client, argv, out);
    }
  } catch (...) {
    out.add_error("ERR internal error");
    client.close_after_reply = true;
  }
  return client.close_after_reply;
}

size_t engine::active_expire(int64_t now_ms, size_t budget) {
  try {
    return impl_->active_expire(now_ms, budget);
  } catch (...) {
    return 0;
  }
}

void engine::sample_ops(int64_t now_ms) {
  engine_impl& e = *impl_;
  if (e.ops_last_ms >= 0 && now_ms > e.ops_last_ms) {
    // CONFIG RESETSTAT may have zeroed the count since the last sample.
    uint64_t ran = e.total_commands >= e.ops_last_count ? e.total_commands - e.ops_last_count : e.total_commands;
    e.ops_samples[e.ops_next] = ran * 1000 / static_cast<uint64_t>(now_ms - e.ops_last_ms);
    e.ops_next = (e.ops_next + 1) % engine_impl::kOpsSamples;
  }
  e.ops_last_ms = now_ms;
  e.ops_last_count = e.total_commands;
}

uint64_t engine_impl::instantaneous_ops() const {
  uint64_t sum = 0;
  for (uint64_t s : ops_samples) sum += s;
  return sum / kOpsSamples;
}

std::string engine::save() {
  try {
    return impl_->save(impl_->clock());
  } catch (...) {
    return "failed to save " + impl_->snapshot_path() + ": out of memory";
  }
}

std::string engine::load() {
  try {
    return impl_->load();
  } catch (...) {
    return "failed to load " + impl_->snapshot_path() + ": out of memory";
  }
}

bool engine::shutdown_requested() const { return impl_->shutdown_requested; }

size_t engine::dbsize(int db) const {
  if (db < 0 || static_cast<size_t>(db) >= impl_->dbs.size()) return 0;
  return impl_->dbs[static_cast<size_t>(db)].size();
}

const engine_config& engine::config() const { return impl_->cfg; }

}  // namespace flex::redis
