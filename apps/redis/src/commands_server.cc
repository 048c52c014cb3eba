// Connection and server commands: PING, ECHO, QUIT, SELECT, DBSIZE, FLUSHDB, FLUSHALL, INFO,
// SAVE, BGSAVE, LASTSAVE, TIME. CONFIG and COMMAND live in commands_admin.cc.
#include <cstdio>

#include "engine_impl.h"
#include "util.h"

namespace flex::redis {

namespace {

void cmd_ping(cmd_ctx& c) {
  if (c.argc() > 2) {
    c.wrong_args();
  } else if (c.argc() == 2) {
    c.out.add_bulk(c.argv[1]);
  } else {
    c.out.add_simple("PONG");
  }
}

void cmd_echo(cmd_ctx& c) { c.out.add_bulk(c.argv[1]); }

void cmd_quit(cmd_ctx& c) {
  c.out.add_ok();
  c.client.close_after_reply = true;
}

void cmd_select(cmd_ctx& c) {
  int64_t id;
  if (!c.arg_ll(c.argv[1], id)) return;
  if (id < INT32_MIN || id > INT32_MAX) {
    c.out.add_error(not_integer_err);
    return;
  }
  if (id < 0 || id >= static_cast<int64_t>(c.eng.dbs.size())) {
    c.out.add_error("ERR DB index is out of range");
    return;
  }
  c.client.db = static_cast<int>(id);
  c.out.add_ok();
}

void cmd_dbsize(cmd_ctx& c) { c.out.add_integer(static_cast<int64_t>(c.db().size())); }

// FLUSHDB / FLUSHALL [ASYNC | SYNC]: both run synchronously.
bool flush_args_ok(cmd_ctx& c) {
  if (c.argc() > 2 || (c.argc() == 2 && !eq_nocase(c.argv[1], "sync") && !eq_nocase(c.argv[1], "async"))) {
    c.syntax_error();
    return false;
  }
  return true;
}

void cmd_flushdb(cmd_ctx& c) {
  if (!flush_args_ok(c)) return;
  c.db().clear();
  c.eng.flushed_epoch[static_cast<size_t>(c.client.db)] = c.eng.write_epoch;
  c.out.add_ok();
}

void cmd_flushall(cmd_ctx& c) {
  if (!flush_args_ok(c)) return;
  for (database& d : c.eng.dbs) d.clear();
  for (uint64_t& f : c.eng.flushed_epoch) f = c.eng.write_epoch;
  c.out.add_ok();
}

std::string human_bytes(uint64_t n) {
  char tmp[64];
  double d = static_cast<double>(n);
  if (n < 1024) {
    std::snprintf(tmp, sizeof tmp, "%lluB", static_cast<unsigned long long>(n));
  } else if (n < 1024ull * 1024) {
    std::snprintf(tmp, sizeof tmp, "%.2fK", d / 1024);
  } else if (n < 1024ull * 1024 * 1024) {
    std::snprintf(tmp, sizeof tmp, "%.2fM", d / (1024 * 1024));
  } else {
    std::snprintf(tmp, sizeof tmp, "%.2fG", d / (1024.0 * 1024 * 1024));
  }
  return tmp;
}

void line(std::string& s, const char* name, const std::string& v) {
  s += name;
  s += ':';
  s += v;
  s += "\r\n";
}

void line(std::string& s, const char* name, uint64_t v) { line(s, name, std::to_string(v)); }

std::string info_section(engine_impl& e, const server_stats& st, std::string_view name, int64_t now) {
  std::string s;
  if (name == "server") {
    int64_t up = (now - e.start_ms) / 1000;
    s += "# Server\r\n";
    line(s, "redis_version", "7.0.15");
    line(s, "redis_git_sha1", "00000000");
    line(s, "redis_git_dirty", "0");
    line(s, "redis_mode", "standalone");
    line(s, "os", "Flex");
    line(s, "arch_bits", "64");
    line(s, "multiplexing_api", "flex");
    line(s, "process_id", static_cast<uint64_t>(st.process_id));
    line(s, "tcp_port", static_cast<uint64_t>(e.cfg.port));
    line(s, "server_time_usec", static_cast<uint64_t>(now) * 1000);
    line(s, "uptime_in_seconds", static_cast<uint64_t>(up));
    line(s, "uptime_in_days", static_cast<uint64_t>(up / 86400));
    line(s, "hz", "10");
    line(s, "executable", "");
    line(s, "config_file", "");
  } else if (name == "clients") {
    s += "# Clients\r\n";
    line(s, "connected_clients", st.connected_clients);
    line(s, "maxclients", e.cfg.maxclients);
    line(s, "blocked_clients", st.blocked_clients);
  } else if (name == "memory") {
    s += "# Memory\r\n";
    line(s, "used_memory", st.used_memory);
    line(s, "used_memory_human", human_bytes(st.used_memory));
    line(s, "used_memory_rss", st.used_memory_rss);
    line(s, "used_memory_rss_human", human_bytes(st.used_memory_rss));
    line(s, "used_memory_peak", st.used_memory_peak);
    line(s, "used_memory_peak_human", human_bytes(st.used_memory_peak));
    line(s, "maxmemory", e.cfg.maxmemory);
    line(s, "maxmemory_human", human_bytes(e.cfg.maxmemory));
    line(s, "maxmemory_policy", "noeviction");
    line(s, "mem_allocator", st.mem_allocator);
  } else if (name == "persistence") {
    s += "# Persistence\r\n";
    line(s, "loading", "0");
    line(s, "rdb_changes_since_last_save", e.dirty);
    line(s, "rdb_bgsave_in_progress", "0");
    line(s, "rdb_last_save_time", static_cast<uint64_t>(e.last_save_s));
    line(s, "rdb_last_bgsave_status", "ok");
    line(s, "aof_enabled", "0");
  } else if (name == "stats") {
    s += "# Stats\r\n";
    line(s, "total_connections_received", st.total_connections_received);
    line(s, "total_commands_processed", e.total_commands);
    line(s, "instantaneous_ops_per_sec", e.instantaneous_ops());
    line(s, "total_net_input_bytes", st.total_net_input_bytes);
    line(s, "total_net_output_bytes", st.total_net_output_bytes);
    line(s, "rejected_connections", st.rejected_connections);
    line(s, "expired_keys", e.expired_keys);
    line(s, "evicted_keys", "0");
    line(s, "keyspace_hits", e.keyspace_hits);
    line(s, "keyspace_misses", e.keyspace_misses);
  } else if (name == "replication") {
    s += "# Replication\r\n";
    line(s, "role", "master");
    line(s, "connected_slaves", "0");
  } else if (name == "keyspace") {
    s += "# Keyspace\r\n";
    for (size_t i = 0; i < e.dbs.size(); i++) {
      const database& d = e.dbs[i];
      if (d.size() == 0) continue;
      s += "db" + std::to_string(i) + ":keys=" + std::to_string(d.size()) +
           ",expires=" + std::to_string(d.expires_size()) + ",avg_ttl=0\r\n";
    }
  }
  return s;
}

void cmd_info(cmd_ctx& c) {
  static constexpr std::string_view all[] = {"server", "clients", "memory", "persistence", "stats",
                                             "replication", "keyspace"};
  std::vector<std::string> wanted;
  for (size_t i = 1; i < c.argc(); i++) {
    std::string s = to_lower(c.argv[i]);
    if (s == "all" || s == "default" || s == "everything") {
      wanted.assign(std::begin(all), std::end(all));
      break;
    }
    wanted.push_back(s);
  }
  if (wanted.empty()) wanted.assign(std::begin(all), std::end(all));
  const server_stats st = c.eng.stats();  // once: the caller's figures may cost system calls
  std::string text;
  for (const std::string& w : wanted) {
    std::string sec = info_section(c.eng, st, w, c.now);
    if (sec.empty() || text.find(sec) != std::string::npos) continue;
    if (!text.empty()) text += "\r\n";
    text += sec;
  }
  c.out.add_bulk(text);
}

void cmd_save(cmd_ctx& c) {
  std::string err = c.eng.save(c.now);
  if (err.empty()) c.out.add_ok(); else c.out.add_error("ERR " + err);
}

void cmd_bgsave(cmd_ctx& c) {
  if (c.argc() > 2 || (c.argc() == 2 && !eq_nocase(c.argv[1], "schedule"))) {
    c.syntax_error();
    return;
  }
  std::string err = c.eng.save(c.now);
  if (err.empty()) c.out.add_simple("Background saving started"); else c.out.add_error("ERR " + err);
}

// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE]: saves when told to (SAVE), or when save points are configured and
// NOSAVE is not given, then asks the server to stop. No reply when it stops: the connection just closes.
// NOW changes nothing (nothing waits for replicas); FORCE stops even when the save failed.
void cmd_shutdown(cmd_ctx& c) {
  bool nosave = false, save = false, force = false, abort = false;
  for (size_t i = 1; i < c.argc(); i++) {
    const std::string& a = c.argv[i];
    if (eq_nocase(a, "nosave")) nosave = true;
    else if (eq_nocase(a, "save")) save = true;
    else if (eq_nocase(a, "force")) force = true;
    else if (eq_nocase(a, "abort")) abort = true;
    else if (!eq_nocase(a, "now")) return c.syntax_error();
  }
  if ((nosave && save) || (abort && c.argc() > 2)) return c.syntax_error();
  if (abort) {
    c.out.add_error("ERR No shutdown in progress.");
    return;
  }
  if (save || (!nosave && !c.eng.cfg.save.empty())) {
    std::string err = c.eng.save(c.now);
    if (!err.empty() && !force) {
      c.out.add_error("ERR Errors trying to SHUTDOWN. Check logs.");
      return;
    }
  }
  c.eng.shutdown_requested = true;
  c.client.close_after_reply = true;
}

void cmd_lastsave(cmd_ctx& c) { c.out.add_integer(c.eng.last_save_s); }

void cmd_time(cmd_ctx& c) {
  c.out.add_array_len(2);
  c.out.add_bulk(std::to_string(c.now / 1000));
  c.out.add_bulk(std::to_string((c.now % 1000) * 1000));
}

constexpr command_def table[] = {
    {"ping", -1, cmd_ping, cmd_fast | cmd_stale, 0, 0, 0, "connection"},
    {"echo", 2, cmd_echo, cmd_fast | cmd_stale, 0, 0, 0, "connection"},
    {"quit", -1, cmd_quit, cmd_fast | cmd_stale | cmd_loading | cmd_multi_control, 0, 0, 0, "connection"},
    {"select", 2, cmd_select, cmd_fast | cmd_stale | cmd_loading, 0, 0, 0, "connection"},
    {"dbsize", 1, cmd_dbsize, cmd_readonly | cmd_fast, 0, 0, 0, "server"},
    {"flushdb", -1, cmd_flushdb, cmd_write, 0, 0, 0, "server"},
    {"flushall", -1, cmd_flushall, cmd_write, 0, 0, 0, "server"},
    {"info", -1, cmd_info, cmd_loading | cmd_stale, 0, 0, 0, "server"},
    {"save", 1, cmd_save, cmd_admin | cmd_noscript, 0, 0, 0, "server"},
    {"bgsave", -1, cmd_bgsave, cmd_admin | cmd_noscript, 0, 0, 0, "server"},
    {"shutdown", -1, cmd_shutdown, cmd_admin | cmd_noscript | cmd_loading | cmd_stale, 0, 0, 0, "server"},
    {"lastsave", 1, cmd_lastsave, cmd_fast | cmd_loading | cmd_stale, 0, 0, 0, "server"},
    {"time", 1, cmd_time, cmd_fast | cmd_loading | cmd_stale, 0, 0, 0, "server"},
};

}  // namespace

std::span<const command_def> server_commands() { return table; }

}  // namespace flex::redis
