// The process backend's channels and control words: which processes talk, the pages that carry their calls,
// mapped before the fork at one address in every process and narrowed after it, so that each process keeps
// only the pages it is a party to (process.h describes the design).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <utility>

#include "flex/runtime/process_impl.h"

namespace flex::runtime::detail {
namespace {

// A page of the channel block: the bell of process `a` (a == b), or the page of the pair a < b.
struct unit {
  std::uint8_t a = 0, b = 0;
};
constexpr unsigned kMaxUnits = kSlots + kSlots * (kSlots - 1) / 2;
unit g_units[kMaxUnits];

// The units' names in the region registry ("flex.channel app-net"), which must outlive the image.
char g_names[16384];
std::size_t g_names_used = 0;

bool is_process(const process_state &st, unsigned s) {
  return s == kMainSlot || (s < st.n && st.comps[s].own_process);
}

const char *slot_name(const process_state &st, unsigned s, unsigned main_comp) {
  if (s != kMainSlot) return st.comps[s].name;
  return main_comp < st.n ? st.comps[main_comp].name : "main";
}

const char *unit_name(const char *what, const char *a, const char *b) {
  char *name = g_names + g_names_used;
  const std::size_t room = sizeof g_names - g_names_used;
  const int n = b ? std::snprintf(name, room, "flex.%s %s-%s", what, a, b)
                  : std::snprintf(name, room, "flex.%s %s", what, a);
  if (n < 0 || static_cast<std::size_t>(n) >= room) return what[0] == 'b' ? "flex.bell" : "flex.channel";
  g_names_used += static_cast<std::size_t>(n) + 1;
  return name;
}

// Which processes have a channel: those whose compartments a boundary links (both directions), every pair
// with the old layout or without peers given, and the main process with every process when it holds no
// compartment (the runtime alone, which enters the app wherever the app lives).
void plan_peers(const process_config &cfg, process_state &st) {
  const bool everyone = !cfg.narrow_channels || !cfg.peers;
  for (unsigned x = 0; x < st.n; ++x) {
    for (unsigned y = 0; y < st.n; ++y) {
      const bool linked = everyone || (cfg.peers[x] >> y & 1) || (cfg.peers[y] >> x & 1);
      const unsigned p = st.slot_of[x], q = st.slot_of[y];
      if (!linked || p == q) continue;
      st.peers[p].add(q);
      st.peers[q].add(p);
    }
    if (cfg.main_compartment == kNoCompartment && st.comps[x].own_process) {
      st.peers[kMainSlot].add(x);
      st.peers[x].add(kMainSlot);
    }
  }
}

// Every bell first, then the pages of the pairs: main with each compartment process (its control words,
// and their channel when they are peers), and two compartment processes that are peers.
void plan_units(process_state &st) {
  st.n_units = 0;
  for (unsigned s = 0; s < kSlots; ++s) {
    if (is_process(st, s))
      g_units[st.n_units++] = {static_cast<std::uint8_t>(s), static_cast<std::uint8_t>(s)};
  }
  for (unsigned a = 0; a < st.n; ++a) {
    if (!is_process(st, a)) continue;
    for (unsigned b = a + 1; b <= kMainSlot; ++b) {
      if (is_process(st, b) && (b == kMainSlot || st.peers[a].has(b))) {
        g_units[st.n_units++] = {static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b)};
      }
    }
  }
}

// Who maps a unit: a bell, its process, its peers and the main process, and the main process's bell every
// process; a pair's page, the pair. With the old layout, everyone maps everything.
bool is_party(const process_state &st, const unit &u, unsigned s) {
  if (!st.narrow) return true;
  if (u.a != u.b) return s == u.a || s == u.b;
  return s == u.a || s == kMainSlot || u.a == kMainSlot || st.peers[u.a].has(s);
}

char *unit_at(const process_state &st, unsigned i) {
  return st.units + std::size_t{i} * st.unit_bytes;
}

int register_units(process_state &st, unsigned main_comp) {
  for (unsigned i = 0; i < st.n_units; ++i) {
    const unit &u = g_units[i];
    const char *a = slot_name(st, u.a, main_comp);
    const char *name =
        u.a == u.b ? unit_name("bell", a, nullptr) : unit_name("channel", a, slot_name(st, u.b, main_comp));
    const auto b = reinterpret_cast<std::uintptr_t>(unit_at(st, i));
    if (int rc = register_region({b, b + st.unit_bytes, kSharedOwner, region_kind::shared, name}); rc < 0)
      return rc;
  }
  return 0;
}

// The broadcast page, from a memfd that boot seals against new writable mappings: the main process keeps
// the writable mapping it makes here; compartment processes replace theirs by a read-only one.
int map_broadcast(process_state &st) {
  const int fd = memfd_create("flex.control", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  void *p = MAP_FAILED;
  if (ftruncate(fd, static_cast<off_t>(st.unit_bytes)) == 0) {
    p = mmap(nullptr, st.unit_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  // F_SEAL_FUTURE_WRITE (Linux 5.1): no new writable mapping, and read-only ones cannot be made writable.
  if (p == MAP_FAILED ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) != 0) {
    const int err = errno;
    if (p != MAP_FAILED) munmap(p, st.unit_bytes);
    close(fd);
    return -err;
  }
  const auto b = reinterpret_cast<std::uintptr_t>(p);
  if (int rc = register_region({b, b + st.unit_bytes, kSharedOwner, region_kind::shared, "flex.control"});
      rc < 0) {
    munmap(p, st.unit_bytes);
    close(fd);
    return rc;
  }
  st.bc = new (p) broadcast;
  st.bc_fd = fd;
  return 0;
}

// This process's view of the units it maps: its channels to its peers, the bells, the control words.
void bind(process_state &st) {
  const unsigned self = st.self_slot;
  for (auto &b : st.bells) b = nullptr;
  for (auto &c : st.ctl) c = nullptr;
  for (auto &l : st.links) l = {};
  st.n_peer_slots = 0;
  for (unsigned i = 0; i < st.n_units; ++i) {
    const unit &u = g_units[i];
    char *at = unit_at(st, i);
    if (!is_party(st, u, self)) continue;
    if (u.a == u.b) {
      st.bells[u.a] = reinterpret_cast<bell *>(at);
      continue;
    }
    auto *page = reinterpret_cast<pair_page *>(at);
    if (u.b == kMainSlot) st.ctl[u.a] = &page->ctl;
    if ((u.a != self && u.b != self) || !st.peers[u.a].has(u.b)) continue;
    const unsigned peer = u.a == self ? u.b : u.a, mine = u.a == self ? 0 : 1;
    st.links[peer] = {&page->box[mine].m, &page->box[1 - mine].m, nullptr, 0, 0};
    st.peer_slots[st.n_peer_slots++] = peer;
  }
  for (unsigned k = 0; k < st.n_peer_slots; ++k)
    st.links[st.peer_slots[k]].peer_bell = st.bells[st.peer_slots[k]];
}

}  // namespace

int map_channels(const process_config &cfg) {
  process_state &st = g_process;
  st.narrow = cfg.narrow_channels;
  st.unit_bytes = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  static_assert(sizeof(pair_page) <= 4096 && sizeof(broadcast) <= 4096);
  plan_peers(cfg, st);
  plan_units(st);
  void *mem =
      mmap(nullptr, st.n_units * st.unit_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return -errno;
  st.units = static_cast<char *>(mem);
  for (unsigned i = 0; i < st.n_units; ++i) {
    const unit &u = g_units[i];
    if (u.a == u.b)
      new (unit_at(st, i)) bell;
    else
      new (unit_at(st, i)) pair_page;
  }
  if (int rc = register_units(st, cfg.main_compartment); rc < 0) return rc;
  if (int rc = map_broadcast(st); rc < 0) return rc;
  st.bc->spin.store(cfg.spin_iterations, std::memory_order_relaxed);
  bind(st);
  return 0;
}

int narrow_channels_after_fork() {
  process_state &st = g_process;
  bind(st);
  for (unsigned i = 0; i < st.n_units; ++i) {
    if (is_party(st, g_units[i], st.self_slot)) continue;
    const auto b = reinterpret_cast<std::uintptr_t>(unit_at(st, i));
    if (munmap(unit_at(st, i), st.unit_bytes) != 0) return -errno;
    mark_absent(b, b + st.unit_bytes);
  }
  if (st.self_slot == kMainSlot) return 0;
  // Read-only from the sealed memfd: without write access to start with, mprotect cannot add it.
  if (st.narrow && mmap(st.bc, st.unit_bytes, PROT_READ, MAP_SHARED | MAP_FIXED, st.bc_fd, 0) == MAP_FAILED) {
    return -errno;
  }
  close(st.bc_fd);
  st.bc_fd = -1;
  return 0;
}

pair_page *pair_of(unsigned a, unsigned b) {
  const process_state &st = g_process;
  if (a > b) std::swap(a, b);
  for (unsigned i = 0; i < st.n_units; ++i) {
    if (g_units[i].a == a && g_units[i].b == b && a != b) {
      return is_party(st, g_units[i], st.self_slot) ? reinterpret_cast<pair_page *>(unit_at(st, i)) : nullptr;
    }
  }
  return nullptr;
}

}  // namespace flex::runtime::detail
