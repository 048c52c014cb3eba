// CONFIG GET / SET / RESETSTAT / REWRITE, COMMAND [COUNT | DOCS | INFO | LIST], and the connection's own
// CLIENT ID / GETNAME / SETNAME, HELLO (RESP2 only) and AUTH (no password is ever configured: the default
// user takes any password, as in a stock server without requirepass).
#include <cstdlib>

#include "engine_impl.h"
#include "util.h"

namespace flex::redis {

namespace {

// A memory value like Redis accepts: digits with an optional b, k, kb, m, mb, g, gb suffix.
bool parse_memory(std::string_view s, uint64_t& out) {
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') i++;
  if (i == 0 || i > 19) return false;
  uint64_t mul = 1;
  std::string unit = to_lower(s.substr(i));
  if (unit.empty() || unit == "b") mul = 1;
  else if (unit == "k") mul = 1000;
  else if (unit == "kb") mul = 1024;
  else if (unit == "m") mul = 1000 * 1000;
  else if (unit == "mb") mul = 1024 * 1024;
  else if (unit == "g") mul = 1000ull * 1000 * 1000;
  else if (unit == "gb") mul = 1024ull * 1024 * 1024;
  else return false;
  uint64_t v = std::strtoull(std::string(s.substr(0, i)).c_str(), nullptr, 10);
  if (v > UINT64_MAX / mul) return false;
  out = v * mul;
  return true;
}

bool parse_uint(std::string_view s, uint64_t& out) {
  int64_t v;
  if (!string_to_ll(s, v) || v < 0) return false;
  out = static_cast<uint64_t>(v);
  return true;
}

// One CONFIG parameter. set returns "" or the reason the value was refused; a null set marks an
// immutable parameter. A hidden parameter (Redis's testing knobs) answers CONFIG GET by its exact name
// only, never a pattern.
struct config_param {
  const char* name;
  std::string (*get)(const engine_impl&);
  const char* (*set)(engine_impl&, std::string_view);
  bool hidden = false;
};

const char* yes_no(std::string_view v, std::string& dst) {
  if (eq_nocase(v, "yes") || eq_nocase(v, "no")) {
    dst = to_lower(v);
    return "";
  }
  return "argument must be 'yes' or 'no'";
}

std::string fixed(const char* v) { return v; }

const config_param params[] = {
    {"save", [](const engine_impl& e) { return e.cfg.save; },
     [](engine_impl& e, std::string_view v) -> const char* { e.cfg.save = std::string(v); return ""; }},
    {"appendonly", [](const engine_impl& e) { return e.cfg.appendonly; },
     [](engine_impl& e, std::string_view v) { return yes_no(v, e.cfg.appendonly); }},
    {"maxmemory", [](const engine_impl& e) { return std::to_string(e.cfg.maxmemory); },
     [](engine_impl& e, std::string_view v) -> const char* {
       return parse_memory(v, e.cfg.maxmemory) ? "" : "argument must be a memory value";
     }},
    {"proto-max-bulk-len", [](const engine_impl& e) { return std::to_string(e.cfg.limits.max_bulk_len); },
     [](engine_impl& e, std::string_view v) -> const char* {
       uint64_t n;
       if (!parse_memory(v, n)) return "argument must be a memory value";
       if (n < 1024 * 1024) return "argument must be between 1048576 and 9223372036854775807 inclusive";
       e.cfg.limits.max_bulk_len = n;
       return "";
     }},
    {"databases", [](const engine_impl& e) { return std::to_string(e.dbs.size()); }, nullptr},
    {"port", [](const engine_impl& e) { return std::to_string(e.cfg.port); },
     [](engine_impl& e, std::string_view v) -> const char* {
       uint64_t n;
       if (!parse_uint(v, n)) return "argument couldn't be parsed into an integer";
       if (n > 65535) return "argument must be between 0 and 65535 inclusive";
       e.cfg.port = static_cast<int>(n);
       return "";
     }},
    {"bind", [](const engine_impl& e) { return e.cfg.bind; },
     [](engine_impl& e, std::string_view v) -> const char* { e.cfg.bind = std::string(v); return ""; }},
    {"maxclients", [](const engine_impl& e) { return std::to_string(e.cfg.maxclients); },
     [](engine_impl& e, std::string_view v) -> const char* {
       uint64_t n;
       if (!parse_uint(v, n)) return "argument couldn't be parsed into an integer";
       if (n < 1) return "argument must be between 1 and 4294967295 inclusive";
       e.cfg.maxclients = n;
       return "";
     }},
    {"dir", [](const engine_impl& e) { return e.cfg.dir; },
     [](engine_impl& e, std::string_view v) -> const char* { e.cfg.dir = std::string(v); return ""; }},
    {"dbfilename", [](const engine_impl& e) { return e.cfg.dbfilename; },
     [](engine_impl& e, std::string_view v) -> const char* {
       if (v.find('/') != std::string_view::npos) return "dbfilename can't be a path, just a filename";
       e.cfg.dbfilename = std::string(v);
       return "";
     }},
    {"rdb-key-save-delay", [](const engine_impl& e) { return std::to_string(e.cfg.rdb_key_save_delay); },
     [](engine_impl& e, std::string_view v) -> const char* {
       int64_t n;
       if (!string_to_ll(v, n)) return "argument couldn't be parsed into an integer";
       if (n < INT32_MIN || n > INT32_MAX) {
         return "argument must be between -2147483648 and 2147483647 inclusive";
       }
       e.cfg.rdb_key_save_delay = static_cast<int>(n);
       return "";
     },
     true},
    {"timeout", [](const engine_impl&) { return fixed("0"); }, nullptr},
    {"tcp-keepalive", [](const engine_impl&) { return fixed("300"); }, nullptr},
    {"maxmemory-policy", [](const engine_impl&) { return fixed("noeviction"); }, nullptr},
    {"hz", [](const engine_impl&) { return fixed("10"); }, nullptr},
    {"io-threads", [](const engine_impl&) { return fixed("1"); }, nullptr},
    {"protected-mode", [](const engine_impl&) { return fixed("no"); }, nullptr},
    {"daemonize", [](const engine_impl&) { return fixed("no"); }, nullptr},
};

void config_get(cmd_ctx& c) {
  // (parameter, name to reply with): an exact name is echoed as the client spelled it, as Redis does.
  std::vector<std::pair<const config_param*, std::string_view>> hits;
  for (size_t i = 2; i < c.argc(); i++) {
    const std::string& pat = c.argv[i];
    bool is_glob = pat.find_first_of("*?[\\") != std::string::npos;
    for (const config_param& p : params) {
      if (is_glob ? p.hidden || !glob_match(pat, p.name, true) : !eq_nocase(pat, p.name)) continue;
      bool dup = false;
      for (auto& h : hits) dup = dup || h.first == &p;
      if (!dup) hits.emplace_back(&p, is_glob ? std::string_view(p.name) : std::string_view(pat));
    }
  }
  c.out.add_array_len(hits.size() * 2);
  for (auto& [p, name] : hits) {
    c.out.add_bulk(name);
    c.out.add_bulk(p->get(c.eng));
  }
}

void config_set(cmd_ctx& c) {
  if (c.argc() % 2 != 0) {
    c.syntax_error();
    return;
  }
  // Validate every pair before applying any, so a failing CONFIG SET changes nothing.
  std::vector<std::pair<const config_param*, std::string_view>> todo;
  for (size_t i = 2; i < c.argc(); i += 2) {
    const config_param* found = nullptr;
    for (const config_param& p : params) {
      if (eq_nocase(c.argv[i], p.name)) found = &p;
    }
    if (found == nullptr) {
      c.out.add_error("ERR Unknown option or number of arguments for CONFIG SET - '" + c.argv[i] + "'");
      return;
    }
    if (found->set == nullptr) {
      c.out.add_error(std::string("ERR CONFIG SET failed (possibly related to argument '") + found->name +
                      "') - can't set immutable config");
      return;
    }
    todo.emplace_back(found, c.argv[i + 1]);
  }
  engine_config backup = c.eng.cfg;
  for (auto& [p, v] : todo) {
    const char* err = p->set(c.eng, v);
    if (*err != '\0') {
      c.eng.cfg = backup;
      c.out.add_error(std::string("ERR CONFIG SET failed (possibly related to argument '") + p->name + "') - " + err);
      return;
    }
  }
  c.out.add_ok();
}

bool check_sub_arity(cmd_ctx& c, const char* full, int arity) {
  int argc = static_cast<int>(c.argc());
  if ((arity > 0 && argc != arity) || (arity < 0 && argc < -arity)) {
    c.out.add_error(std::string("ERR wrong number of arguments for '") + full + "' command");
    return false;
  }
  return true;
}

void unknown_sub(cmd_ctx& c, const char* upper) {
  c.out.add_error("ERR unknown subcommand '" + c.argv[1].substr(0, 128) + "'. Try " + upper + " HELP.");
}

void cmd_config(cmd_ctx& c) {
  std::string sub = to_lower(c.argv[1]);
  if (sub == "get") {
    if (check_sub_arity(c, "config|get", -3)) config_get(c);
  } else if (sub == "set") {
    if (check_sub_arity(c, "config|set", -4)) config_set(c);
  } else if (sub == "resetstat") {
    if (!check_sub_arity(c, "config|resetstat", 2)) return;
    c.eng.total_commands = c.eng.keyspace_hits = c.eng.keyspace_misses = c.eng.expired_keys = 0;
    c.out.add_ok();
  } else if (sub == "rewrite") {
    if (check_sub_arity(c, "config|rewrite", 2)) c.out.add_error("ERR The server is running without a config file");
  } else if (sub == "help") {
    c.out.add_array_len(3);
    c.out.add_simple("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    c.out.add_simple("GET <pattern>");
    c.out.add_simple("SET <directive> <value>");
  } else {
    unknown_sub(c, "CONFIG");
  }
}

void reply_flags(cmd_ctx& c, uint32_t f) {
  static constexpr std::pair<uint32_t, const char*> names[] = {
      {cmd_write, "write"}, {cmd_readonly, "readonly"}, {cmd_denyoom, "denyoom"}, {cmd_admin, "admin"},
      {cmd_noscript, "noscript"}, {cmd_loading, "loading"}, {cmd_stale, "stale"}, {cmd_fast, "fast"},
  };
  size_t n = 0;
  for (auto& [bit, name] : names) n += (f & bit) ? 1 : 0;
  c.out.add_array_len(n);
  for (auto& [bit, name] : names) {
    if (f & bit) c.out.add_simple(name);
  }
}

// The ten-element reply of COMMAND INFO in Redis 7 (ACL categories, tips, key specs and
// subcommands are left empty).
void reply_command_info(cmd_ctx& c, const command_def& d) {
  c.out.add_array_len(10);
  c.out.add_bulk(d.name);
  c.out.add_integer(d.arity);
  reply_flags(c, d.flags);
  c.out.add_integer(d.first_key);
  c.out.add_integer(d.last_key);
  c.out.add_integer(d.key_step);
  for (int i = 0; i < 4; i++) c.out.add_array_len(0);
}

void cmd_command(cmd_ctx& c) {
  const auto& list = c.eng.command_list;
  if (c.argc() == 1) {
    c.out.add_array_len(list.size());
    for (const command_def* d : list) reply_command_info(c, *d);
    return;
  }
  std::string sub = to_lower(c.argv[1]);
  if (sub == "count") {
    if (check_sub_arity(c, "command|count", 2)) c.out.add_integer(static_cast<int64_t>(list.size()));
  } else if (sub == "list") {
    c.out.add_array_len(list.size());
    for (const command_def* d : list) c.out.add_bulk(d->name);
  } else if (sub == "info") {
    if (c.argc() == 2) {
      c.out.add_array_len(list.size());
      for (const command_def* d : list) reply_command_info(c, *d);
      return;
    }
    c.out.add_array_len(c.argc() - 2);
    for (size_t i = 2; i < c.argc(); i++) {
      const command_def* d = c.eng.find_command(c.argv[i]);
      if (d == nullptr) c.out.add_null(); else reply_command_info(c, *d);
    }
  } else if (sub == "docs") {
    // Docs are optional for clients; an empty map lets redis-cli 7 start without hints.
    c.out.add_array_len(0);
  } else if (sub == "help") {
    c.out.add_array_len(4);
    c.out.add_simple("COMMAND [<subcommand> [<arg> [value] [opt] ...]]. Subcommands are:");
    c.out.add_simple("COUNT");
    c.out.add_simple("INFO [<command-name> ...]");
    c.out.add_simple("DOCS [<command-name> ...]");
  } else {
    unknown_sub(c, "COMMAND");
  }
}

// Client names are printable ASCII without spaces, as in Redis.
bool set_client_name(cmd_ctx& c, const std::string& name) {
  for (char ch : name) {
    if (ch < '!' || ch > '~') {
      c.out.add_error("ERR Client names cannot contain spaces, newlines or special characters.");
      return false;
    }
  }
  c.client.name = name;
  return true;
}

void cmd_client(cmd_ctx& c) {
  std::string sub = to_lower(c.argv[1]);
  if (sub == "id") {
    if (check_sub_arity(c, "client|id", 2)) c.out.add_integer(static_cast<int64_t>(c.client.id));
  } else if (sub == "getname") {
    if (!check_sub_arity(c, "client|getname", 2)) return;
    if (c.client.name.empty()) c.out.add_null(); else c.out.add_bulk(c.client.name);
  } else if (sub == "setname") {
    if (check_sub_arity(c, "client|setname", 3) && set_client_name(c, c.argv[2])) c.out.add_ok();
  } else {
    unknown_sub(c, "CLIENT");
  }
}

const char* const wrongpass = "WRONGPASS invalid username-password pair or user is disabled.";

// HELLO [protover [AUTH username password] [SETNAME clientname]]: RESP2 only (3 is refused with NOPROTO,
// and clients fall back to RESP2).
void cmd_hello(cmd_ctx& c) {
  size_t i = 1;
  if (c.argc() > 1) {
    int64_t ver;
    if (!string_to_ll(c.argv[1], ver)) {
      c.out.add_error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (ver != 2) {
      c.out.add_error("NOPROTO unsupported protocol version");
      return;
    }
    i = 2;
  }
  const std::string* name = nullptr;
  for (; i < c.argc(); i++) {
    bool more = i + 1 < c.argc();
    if (eq_nocase(c.argv[i], "auth") && i + 2 < c.argc()) {
      if (c.argv[i + 1] != "default") {
        c.out.add_error(wrongpass);
        return;
      }
      i += 2;
    } else if (eq_nocase(c.argv[i], "setname") && more) {
      name = &c.argv[++i];
    } else {
      c.out.add_error("ERR Syntax error in HELLO option '" + c.argv[i].substr(0, 128) + "'");
      return;
    }
  }
  if (name != nullptr && !set_client_name(c, *name)) return;
  auto field = [&](const char* name, const char* v) {
    c.out.add_bulk(name);
    c.out.add_bulk(v);
  };
  c.out.add_array_len(14);  // a map in RESP3, flat name/value pairs in RESP2
  field("server", "redis");
  field("version", "7.0.15");
  c.out.add_bulk("proto");
  c.out.add_integer(2);
  c.out.add_bulk("id");
  c.out.add_integer(static_cast<int64_t>(c.client.id));
  field("mode", "standalone");
  field("role", "master");
  c.out.add_bulk("modules");
  c.out.add_array_len(0);
}

void cmd_auth(cmd_ctx& c) {
  if (c.argc() > 3) return c.syntax_error();
  if (c.argc() == 2) {
    c.out.add_error(
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your "
        "configuration is correct?");
  } else if (c.argv[1] == "default") {
    c.out.add_ok();
  } else {
    c.out.add_error(wrongpass);
  }
}

constexpr command_def table[] = {
    {"client", -2, cmd_client, cmd_admin | cmd_noscript | cmd_loading | cmd_stale, 0, 0, 0, "connection"},
    {"hello", -1, cmd_hello, cmd_noscript | cmd_loading | cmd_stale | cmd_fast, 0, 0, 0, "connection"},
    {"auth", -2, cmd_auth, cmd_noscript | cmd_loading | cmd_stale | cmd_fast, 0, 0, 0, "connection"},
    {"config", -2, cmd_config, cmd_admin | cmd_noscript | cmd_loading | cmd_stale, 0, 0, 0, "server"},
    {"command", -1, cmd_command, cmd_loading | cmd_stale, 0, 0, 0, "server"},
};

}  // namespace

std::span<const command_def> admin_commands() { return table; }

}  // namespace flex::redis
