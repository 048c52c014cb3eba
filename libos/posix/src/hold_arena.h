/* The arena of held writes (lower.h: posix_lo_net_hold ...), one implementation for the gates' lower layer
 * (images) and the plain calls' (unit tests). The includer defines hold_shared(len), memory net can read,
 * and hold_call(), the call to net_round with the arena's round; ahead blocks are the includer's too
 * (ahead_take, ahead_ev, ahead_bytes_of, ahead_result_of, posix_lo_net_poll_wait_ahead). */
#ifndef FLEX_POSIX_HOLD_ARENA_H
#define FLEX_POSIX_HOLD_ARENA_H

#include <errno.h>
#include <string.h>

#include <flex/net/net.h>

#include "lower.h"

struct hold_arena {
  struct net_io send[POSIX_HOLD_SENDS];
  struct net_round round;
  uint32_t sent;
  char bytes[POSIX_HOLD_BYTES];
};
static struct hold_arena *hold_arena_now;
static int hold_call(void);
static int hold_n;
static size_t hold_used;

int posix_lo_net_hold(int s, const void *buf, size_t len) {
  if (!hold_arena_now) {
    struct hold_arena *a = hold_shared(sizeof *hold_arena_now);
    if (!a) return -ENOBUFS;
    a->sent = 0;
    hold_arena_now = a;
  }
  if (hold_n == POSIX_HOLD_SENDS || len > POSIX_HOLD_BYTES - hold_used) return -ENOBUFS;
  struct hold_arena *a = hold_arena_now;
  memcpy(a->bytes + hold_used, buf, len);
  a->send[hold_n].s = s;
  a->send[hold_n].flags = 0;
  a->send[hold_n].buf = a->bytes + hold_used;
  a->send[hold_n].len = len;
  a->send[hold_n].result = 0;
  hold_used += len;
  ++hold_n;
  return 0;
}

int posix_lo_net_round(struct net_event *ev, int max, int timeout_ms, const char **data, int64_t *result, int *hold) {
  *hold = -1;
  struct hold_arena *a = hold_arena_now;
  if (!a) return max > 0 ? posix_lo_net_poll_wait_ahead(ev, max, timeout_ms, data, result, hold) : 0;
  if (max > POSIX_AHEAD_EVENTS) max = POSIX_AHEAD_EVENTS;
  const int k = max > 0 ? ahead_take() : -1;
  struct net_round *r = &a->round;
  r->send = a->send;
  r->n_send = hold_n;
  r->max = k >= 0 ? max : 0;
  r->ev = k >= 0 ? ahead_ev(k) : NULL;
  r->timeout_ms = timeout_ms;
  r->per = POSIX_AHEAD_BYTES;
  r->ahead = k >= 0 ? ahead_bytes_of(k) : NULL;
  r->result = k >= 0 ? ahead_result_of(k) : NULL;
  r->sent = &a->sent;  /* 0 since the last round's results were taken: a waiter never sees an old 1 */
  const int rc = hold_call();
  if (!__atomic_load_n(&a->sent, __ATOMIC_ACQUIRE)) {  /* the round was refused whole: nothing was sent */
    for (int i = 0; i < hold_n; ++i) a->send[i].result = rc < 0 ? rc : -EIO;
    __atomic_store_n(&a->sent, 1, __ATOMIC_RELEASE);
  }
  if (k < 0) return max > 0 ? -ENOBUFS : (rc < 0 ? rc : 0);
  *hold = k;
  const struct net_event *got = ahead_ev(k);
  const int64_t *res = ahead_result_of(k);
  for (int i = 0; i < rc; ++i) {
    ev[i] = got[i];
    result[i] = res[i];
    data[i] = ahead_bytes_of(k) + (size_t)i * POSIX_AHEAD_BYTES;
  }
  return rc;
}

int posix_lo_net_round_sent(void) {
  return !hold_arena_now || __atomic_load_n(&hold_arena_now->sent, __ATOMIC_ACQUIRE);
}

int posix_lo_net_round_results(struct net_io *out) {
  const int n = hold_n;
  if (n > 0) memcpy(out, hold_arena_now->send, sizeof *out * (size_t)n);
  hold_n = 0;
  hold_used = 0;
  if (hold_arena_now) __atomic_store_n(&hold_arena_now->sent, 0, __ATOMIC_RELEASE);
  return n;
}

#endif /* FLEX_POSIX_HOLD_ARENA_H */
