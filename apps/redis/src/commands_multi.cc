// Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH.
//
// Inside MULTI the engine queues every command but these (and QUIT) after checking its name and arity;
// a command refused there makes EXEC fail with EXECABORT. EXEC runs the queue as one step (no other
// client runs in between: the engine serves one command at a time) and replies with an array of the
// replies, errors of single commands included.
//
// WATCH records, per key, whether it existed and the engine's write epoch. EXEC replies with a null array
// and runs nothing when a watched key has changed since: it appeared, disappeared (deleted or expired),
// was named by a write command (the keys of every write command are stamped with its epoch, even when it
// changed nothing, so EXEC may fail where Redis would not, never the other way round), or its database
// was flushed. A key created and deleted again between WATCH and EXEC is not seen.
#include "engine_impl.h"

namespace flex::redis {

namespace {

bool live(const entry* e, int64_t now) { return e != nullptr && (e->expire_ms < 0 || e->expire_ms > now); }

void cmd_multi(cmd_ctx& c) {
  if (c.client.in_multi) {
    c.out.add_error("ERR MULTI calls can not be nested");
    return;
  }
  c.client.in_multi = true;
  c.out.add_ok();
}

void cmd_exec(cmd_ctx& c) {
  client_state& cl = c.client;
  if (!cl.in_multi) {
    c.out.add_error("ERR EXEC without MULTI");
    return;
  }
  if (cl.multi_refused) {
    end_transaction(cl);
    c.out.add_error("EXECABORT Transaction discarded because of previous errors.");
    return;
  }
  for (const watched_key& w : cl.watched) {
    if (watched_key_changed(c.eng, w, c.now)) {
      end_transaction(cl);
      c.out.add_null_array();
      return;
    }
  }
  std::vector<std::vector<std::string>> queued;
  queued.swap(cl.queued);
  end_transaction(cl);  // the commands run outside MULTI, with nothing watched
  c.out.add_array_len(queued.size());
  for (const auto& argv : queued) c.eng.run(c.eng.find_command(argv[0]), cl, argv, c.out);
}

void cmd_discard(cmd_ctx& c) {
  if (!c.client.in_multi) {
    c.out.add_error("ERR DISCARD without MULTI");
    return;
  }
  end_transaction(c.client);
  c.out.add_ok();
}

void cmd_watch(cmd_ctx& c) {
  if (c.client.in_multi) {
    c.out.add_error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  c.eng.watch_used = true;
  for (size_t i = 1; i < c.argc(); i++) {
    bool already = false;
    for (const watched_key& w : c.client.watched) already = already || (w.db == c.client.db && w.key == c.argv[i]);
    if (already) continue;
    const entry* e = c.db().find(c.argv[i]);
    c.client.watched.push_back({c.client.db, c.argv[i], live(e, c.now), c.eng.write_epoch});
  }
  c.out.add_ok();
}

void cmd_unwatch(cmd_ctx& c) {
  c.client.watched.clear();
  c.out.add_ok();
}

constexpr command_def table[] = {
    {"multi", 1, cmd_multi, cmd_noscript | cmd_loading | cmd_stale | cmd_fast | cmd_multi_control, 0, 0, 0,
     "transactions"},
    {"exec", 1, cmd_exec, cmd_noscript | cmd_loading | cmd_stale | cmd_multi_control, 0, 0, 0, "transactions"},
    {"discard", 1, cmd_discard, cmd_noscript | cmd_loading | cmd_stale | cmd_fast | cmd_multi_control, 0, 0, 0,
     "transactions"},
    {"watch", -2, cmd_watch, cmd_noscript | cmd_loading | cmd_stale | cmd_fast | cmd_multi_control, 1, -1, 1,
     "transactions"},
    {"unwatch", 1, cmd_unwatch, cmd_noscript | cmd_loading | cmd_stale | cmd_fast, 0, 0, 0, "transactions"},
};

}  // namespace

void end_transaction(client_state& c) {
  c.in_multi = false;
  c.multi_refused = false;
  c.queued.clear();
  c.watched.clear();
}

bool watched_key_changed(engine_impl& e, const watched_key& w, int64_t now) {
  if (w.db < 0 || static_cast<size_t>(w.db) >= e.dbs.size()) return true;
  const entry* k = e.dbs[static_cast<size_t>(w.db)].find(w.key);
  const bool exists = live(k, now);
  if (exists != w.existed) return true;
  if (exists && k->write_epoch > w.epoch) return true;
  return w.existed && e.flushed_epoch[static_cast<size_t>(w.db)] > w.epoch;
}

std::span<const command_def> multi_commands() { return table; }

}  // namespace flex::redis
