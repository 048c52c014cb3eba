// The POSIX layer's descriptors: each number the application sees names the library that owns the
// object (net's socket, vfs's open file, the console, an epoll instance of this layer) and that
// library's own number for it. One table per compartment that links posix.
#ifndef FLEX_POSIX_FD_TABLE_H
#define FLEX_POSIX_FD_TABLE_H

#include <atomic>
#include <climits>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include <flex/net/net.h>

// Unit tests build the layer under prefixed names (px_socket, ...) so that it does not replace the C
// library of the test program itself; images build it under the POSIX names.
#ifdef FLEX_POSIX_TEST_NAMES
#define PX(name) px_##name
#else
#define PX(name) name
#endif

namespace flex::posix {

enum class kind : std::uint8_t { free, net, vfs, console, host, epoll };

struct fd_entry {
  kind k = kind::free;
  int id = -1;             // the owner's number: net's socket, vfs's fd, the host fd, the epoll index
  bool nonblock = false;   // O_NONBLOCK as the application set it
  bool cloexec = false;    // FD_CLOEXEC, kept for F_GETFD
  // Readiness (net sockets only): what is registered in net's readiness set for this descriptor, the
  // union of what its epoll instances want, and what the poll/select calls now waiting want.
  std::uint32_t registered = 0;
  std::uint32_t epoll_events = 0;
  std::uint32_t call_events = 0;
  int calls_waiting = 0;
};

struct ahead {
  std::string bytes;
  bool eof = false;
  int error = 0;  // a negative errno the receive returned
};

struct epoll_interest {
  std::uint32_t events;  // EPOLLIN | EPOLLOUT | ... as given (EPOLLET is served as level-triggered)
  std::uint64_t data;    // epoll_data, handed back as it was given
};

struct epoll_instance {
  bool live = false;
  std::map<int, epoll_interest> interest;  // by descriptor
};

constexpr int kMaxFds = 1024;  // FD_SETSIZE: select() can name every descriptor
constexpr int kMaxEpolls = 64;

struct table {
  std::mutex mu;
  fd_entry fds[kMaxFds];
  epoll_instance epolls[kMaxEpolls];
  // The owners' objects that more than one descriptor names (dup, dup2, dup3, F_DUPFD): how many
  // descriptors name each beyond the first, by (kind, owner's number). The object is closed with the last.
  std::map<std::pair<kind, int>, int> shared;
  // Read ahead (see read_ahead_pays): what a socket's receive in the readiness wait's batch took, by net's
  // number, for the reads that follow. It is data, or the end of the stream, or an error, in that order.
  std::map<int, ahead> taken;
  // Held writes (hold.cc): how many sends the arena holds, whether a round carries them now (made without
  // the lock), and what the rounds said of each socket, by net's number: a held send's error (for the
  // socket's next write) and the sockets net may keep bytes for (their writes are not held).
  std::atomic<int> held{0};
  bool round_out = false;
  std::map<int, int> send_error;
  std::set<int> kept;
};

// Reads of sockets ahead of the application, in the readiness wait's own crossing (net_poll_wait_ahead),
// so an event loop pays one gate crossing for a wait and its round's reads instead of one per read. Only
// where a crossing to net is costly (net in a process of its own): read_ahead_pays().
bool read_ahead_pays();
// The taken bytes (or end of stream, or error) of socket `id`, served to a read of up to len bytes into
// buf: true with *n set when something was taken, false when the read must go to net. Takes the lock.
bool read_taken(int id, void *buf, std::size_t len, int flags, long *n);
// Whether socket `id` has something taken (a read would not block). Called with the lock held.
bool has_taken(int id);
// Keeps what net_poll_wait_ahead received for each event (its cookie: the descriptor). Called with the
// lock held.
void keep_taken(const struct net_event *ev, int n, const char *const *data, const std::int64_t *result);

// Writes held for the next round (hold.cc): where net is across a process boundary and every call of the
// program is announced (posix_before_call), a non-blocking socket's write is kept in a shared arena and sent
// in the next crossing to net: epoll_wait's (its round: the sends, then the wait), or the next announced
// call that may block or that is not socket I/O. What the socket does not take at once net keeps and
// sends in order (net_round).
bool hold_pays();
constexpr long kNotHeld = LONG_MIN;
// A write of buf to net's socket `id` with send flags: its length when held, a held send's error for the
// socket, or kNotHeld when the caller must send it (what was held has gone first). Takes the lock.
long write_held(int id, const void *buf, std::size_t len, int flags);
// A send the caller made to socket `id` took n bytes: net keeps none for it. Takes the lock.
void sent_directly(int id, long n);
// Sends what is held now. Takes the lock.
void flush_held();
// epoll_wait's round: whether this wait carries the held sends (then round_back after it). Take the lock.
bool round_takes_held();
void round_back();

table &fds();

// The lowest free descriptor, claimed for (k, id); -EMFILE when none is left. Takes the lock.
int claim(kind k, int id, bool nonblock, bool cloexec);
// A copy of fd's entry, or nullopt-like kind::free for a bad number. Takes the lock.
fd_entry lookup(int fd);
// Frees fd and removes it from every epoll instance. Takes the lock. Returns the entry it held.
fd_entry release(int fd);

// The readiness set: makes net's registration of `fd` cover what its epoll instances and waiting calls
// want (adds, changes or removes it). Called with the lock held.
int sync_registration(int fd);

// Whether p is null, asked so that the compiler cannot answer "no" from the C library's nonnull
// declarations of the names this layer defines (a null from the application is EFAULT, not a crash).
template <typename T>
inline bool missing(T *p) {
  asm volatile("" : "+r"(p));
  return p == nullptr;
}

// Sets errno from a negative result and returns -1; returns r itself otherwise.
long result(long r);

}  // namespace flex::posix

#endif  // FLEX_POSIX_FD_TABLE_H
