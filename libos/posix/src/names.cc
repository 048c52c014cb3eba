// posix: name resolution for numeric hosts (getaddrinfo, freeaddrinfo, getnameinfo). A library OS has no resolver
// (no /etc/hosts, no DNS through the host's files): numeric IPv4 and IPv6 addresses, "localhost", and the
// wildcard of a passive socket are answered; any other name is EAI_NONAME. Also the checked forms of the
// POSIX calls that programs built with _FORTIFY_SOURCE call instead of read(), recv(), poll(), ...
#undef _FORTIFY_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fd_table.h"

namespace {

struct one_answer {
  addrinfo ai;
  sockaddr_storage sa;
};

// The port of `service`: a number in 0..65535, or -1.
int numeric_port(const char *service) {
  if (!service) return 0;
  char *end = nullptr;
  errno = 0;
  long p = std::strtol(service, &end, 10);
  if (errno || end == service || *end != '\0' || p < 0 || p > 65535) return -1;
  return static_cast<int>(p);
}

}  // namespace

extern "C" {

int PX(getaddrinfo)(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
  if (flex::posix::missing(res)) return EAI_SYSTEM;
  if (!node && !service) return EAI_NONAME;
  const int family = hints ? hints->ai_family : AF_UNSPEC;
  const int flags = hints ? hints->ai_flags : 0;
  const int socktype = hints && hints->ai_socktype ? hints->ai_socktype : SOCK_STREAM;
  if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) return EAI_FAMILY;
  if (socktype != SOCK_STREAM) return EAI_SOCKTYPE;
  const int port = numeric_port(service);
  if (port < 0) return EAI_SERVICE;

  in_addr v4{};
  in6_addr v6{};
  int got = AF_UNSPEC;
  if (!node) {
    // A passive socket binds the wildcard; an active one connects to loopback.
    if (family == AF_INET6) {
      v6 = (flags & AI_PASSIVE) ? in6addr_any : in6addr_loopback;
      got = AF_INET6;
    } else {
      v4.s_addr = htonl((flags & AI_PASSIVE) ? INADDR_ANY : INADDR_LOOPBACK);
      got = AF_INET;
    }
  } else if (family != AF_INET6 && inet_pton(AF_INET, node, &v4) == 1) {
    got = AF_INET;
  } else if (family != AF_INET && inet_pton(AF_INET6, node, &v6) == 1) {
    got = AF_INET6;
  } else if (!(flags & AI_NUMERICHOST) && std::strcmp(node, "localhost") == 0) {
    if (family == AF_INET6) {
      v6 = in6addr_loopback;
      got = AF_INET6;
    } else {
      v4.s_addr = htonl(INADDR_LOOPBACK);
      got = AF_INET;
    }
  } else {
    return EAI_NONAME;
  }

  auto *a = static_cast<one_answer *>(std::calloc(1, sizeof(one_answer)));
  if (!a) return EAI_MEMORY;
  a->ai.ai_family = got;
  a->ai.ai_socktype = SOCK_STREAM;
  a->ai.ai_protocol = IPPROTO_TCP;
  a->ai.ai_addr = reinterpret_cast<sockaddr *>(&a->sa);
  if (got == AF_INET) {
    auto *s = reinterpret_cast<sockaddr_in *>(&a->sa);
    s->sin_family = AF_INET;
    s->sin_port = htons(static_cast<uint16_t>(port));
    s->sin_addr = v4;
    a->ai.ai_addrlen = sizeof *s;
  } else {
    auto *s = reinterpret_cast<sockaddr_in6 *>(&a->sa);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(static_cast<uint16_t>(port));
    s->sin6_addr = v6;
    a->ai.ai_addrlen = sizeof *s;
  }
  *res = &a->ai;
  return 0;
}

// Numeric answers only (there is no resolver to ask for names): NI_NAMEREQD is EAI_NONAME.
int PX(getnameinfo)(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
                    socklen_t servlen, int flags) {
  if (flex::posix::missing(sa)) return EAI_FAIL;
  if (flags & NI_NAMEREQD) return EAI_NONAME;
  int port = 0;
  char text[INET6_ADDRSTRLEN] = "";
  if (sa->sa_family == AF_INET && salen >= sizeof(sockaddr_in)) {
    const auto *v4 = reinterpret_cast<const sockaddr_in *>(sa);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    port = ntohs(v4->sin_port);
  } else if (sa->sa_family == AF_INET6 && salen >= sizeof(sockaddr_in6)) {
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    port = ntohs(v6->sin6_port);
  } else {
    return EAI_FAMILY;
  }
  if (host && hostlen) {
    if (std::strlen(text) + 1 > hostlen) return EAI_OVERFLOW;
    std::memcpy(host, text, std::strlen(text) + 1);
  }
  if (serv && servlen) {
    char p[8];
    const int n = std::snprintf(p, sizeof p, "%d", port);
    if (n < 0 || static_cast<socklen_t>(n) + 1 > servlen) return EAI_OVERFLOW;
    std::memcpy(serv, p, static_cast<size_t>(n) + 1);
  }
  return 0;
}

void PX(freeaddrinfo)(struct addrinfo *res) {
  while (res) {
    addrinfo *next = res->ai_next;
    std::free(reinterpret_cast<one_answer *>(res));  // ai is the first member
    res = next;
  }
}

}  // extern "C"

#ifndef FLEX_POSIX_TEST_NAMES
// _FORTIFY_SOURCE: the checked calls end in the unchecked ones above once the length is known to fit.
extern "C" {
ssize_t __read_chk(int fd, void *buf, size_t len, size_t room) {
  if (len > room) std::abort();
  return read(fd, buf, len);
}
ssize_t __pread_chk(int fd, void *buf, size_t len, off_t off, size_t room) {
  if (len > room) std::abort();
  return pread(fd, buf, len, off);
}
ssize_t __pread64_chk(int fd, void *buf, size_t len, off_t off, size_t room) {
  if (len > room) std::abort();
  return pread(fd, buf, len, off);
}
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t room, int flags) {
  if (len > room) std::abort();
  return recv(fd, buf, len, flags);
}
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t room, int flags, struct sockaddr *from,
                       socklen_t *fromlen) {
  if (len > room) std::abort();
  return recvfrom(fd, buf, len, flags, from, fromlen);
}
int __poll_chk(struct pollfd *p, nfds_t n, int timeout, size_t room) {
  if (room / sizeof *p < n) std::abort();
  return poll(p, n, timeout);
}
}
#endif
