/* kv: a small key-value server over TCP, one line per request, and its client.
 *
 *   kv [-p PORT] [-b ADDR] [-f FILE]          serve; FILE: where SAVE writes and start-up reads the data
 *   kv -c ADDR PORT COMMAND...                send one request, print the reply
 *
 * Requests: "SET key value", "GET key", "DEL key", "KEYS", "SAVE", "QUIT". Replies: "+OK", "$value",
 * "$-" (no such key), ":N" (a count), "-ERR reason". The server is one epoll loop over non-blocking
 * sockets; SAVE writes FILE.tmp, fsyncs it and renames it over FILE. Prints "kv: listening on ADDR:PORT"
 * and "kv: loaded N keys". A plain Linux program: sockets, epoll, getaddrinfo, open/read/write/rename. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_KEYS 1024
#define MAX_CONNS 256
#define LINE 1024

struct entry {
  char *key, *value;
};
struct conn {
  int fd;
  size_t used;
  char in[LINE];
};

static struct entry table[MAX_KEYS];
static int nkeys;
static const char *data_file = "/kv.db";

static int find(const char *key) {
  for (int i = 0; i < nkeys; i++)
    if (strcmp(table[i].key, key) == 0) return i;
  return -1;
}

static int set(const char *key, const char *value) {
  int i = find(key);
  if (i < 0) {
    if (nkeys == MAX_KEYS) return -1;
    i = nkeys++;
    table[i].key = strdup(key);
  } else {
    free(table[i].value);
  }
  table[i].value = strdup(value);
  return 0;
}

static int save(void) {
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s.tmp", data_file);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  for (int i = 0; i < nkeys; i++) {
    char line[2 * LINE];
    int n = snprintf(line, sizeof line, "%s %s\n", table[i].key, table[i].value);
    if (write(fd, line, (size_t)n) != n) {
      close(fd);
      return -1;
    }
  }
  if (fsync(fd) < 0 || close(fd) < 0) return -1;
  return rename(tmp, data_file);
}

static int load(void) {
  int fd = open(data_file, O_RDONLY);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  static char all[1 << 20];
  size_t used = 0;
  ssize_t n;
  while (used < sizeof all - 1 && (n = read(fd, all + used, sizeof all - 1 - used)) > 0) used += (size_t)n;
  close(fd);
  all[used] = '\0';
  for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
    char *space = strchr(line, ' ');
    if (!space) continue;
    *space = '\0';
    set(line, space + 1);
  }
  return nkeys;
}

static void reply(int fd, const char *fmt, const char *arg) {
  char out[2 * LINE];
  int n = snprintf(out, sizeof out, fmt, arg);
  if (n > 0) send(fd, out, (size_t)n, MSG_NOSIGNAL);
}

/* One request; returns 0 to keep the connection, -1 to close it. */
static int serve(int fd, char *line) {
  char *cmd = strtok(line, " "), *key = strtok(NULL, " "), *value = strtok(NULL, "");
  if (!cmd) return 0;
  if (strcmp(cmd, "SET") == 0 && key && value) {
    if (set(key, value) < 0) reply(fd, "-ERR %s\n", "table full");
    else reply(fd, "+OK\n", NULL);
  } else if (strcmp(cmd, "GET") == 0 && key) {
    int i = find(key);
    if (i < 0) reply(fd, "$-\n", NULL);
    else reply(fd, "$%s\n", table[i].value);
  } else if (strcmp(cmd, "DEL") == 0 && key) {
    int i = find(key);
    if (i >= 0) {
      free(table[i].key);
      free(table[i].value);
      table[i] = table[--nkeys];
    }
    reply(fd, i >= 0 ? ":1\n" : ":0\n", NULL);
  } else if (strcmp(cmd, "KEYS") == 0) {
    char count[16];
    snprintf(count, sizeof count, "%d", nkeys);
    reply(fd, ":%s\n", count);
  } else if (strcmp(cmd, "SAVE") == 0) {
    if (save() < 0) reply(fd, "-ERR %s\n", strerror(errno));
    else reply(fd, "+OK\n", NULL);
  } else if (strcmp(cmd, "QUIT") == 0) {
    reply(fd, "+OK\n", NULL);
    return -1;
  } else {
    reply(fd, "-ERR %s\n", "unknown command or missing argument");
  }
  return 0;
}

static int client(const char *host, const char *port, int argc, char **argv) {
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "kv: %s: %s\n", host, gai_strerror(rc));
    return 2;
  }
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    fprintf(stderr, "kv: connect: %s\n", strerror(errno));
    return 2;
  }
  freeaddrinfo(res);
  char request[LINE] = "";
  for (int i = 0; i < argc; i++) {
    strncat(request, argv[i], sizeof request - strlen(request) - 2);
    strcat(request, i + 1 < argc ? " " : "\n");
  }
  if (write(fd, request, strlen(request)) < 0) return 2;
  char answer[2 * LINE];
  ssize_t n = read(fd, answer, sizeof answer - 1);
  if (n <= 0) return 2;
  answer[n] = '\0';
  fputs(answer, stdout);
  close(fd);
  return answer[0] == '-' ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "-c") == 0) return client(argv[2], argv[3], argc - 4, argv + 4);
  const char *port = "0", *addr = "127.0.0.1";
  int opt;
  while ((opt = getopt(argc, argv, "p:b:f:")) != -1) {
    if (opt == 'p') port = optarg;
    else if (opt == 'b') addr = optarg;
    else if (opt == 'f') data_file = optarg;
    else return 2;
  }
  int loaded = load();
  if (loaded < 0) {
    fprintf(stderr, "kv: %s: %s\n", data_file, strerror(errno));
    return 1;
  }
  printf("kv: loaded %d keys\n", loaded);

  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  if (getaddrinfo(addr, port, &hints, &res) != 0) return 1;
  int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, res->ai_addr, res->ai_addrlen) < 0 || listen(lfd, 64) < 0) {
    perror("kv: listen");
    return 1;
  }
  freeaddrinfo(res);
  struct sockaddr_storage me;
  socklen_t len = sizeof me;
  getsockname(lfd, (struct sockaddr *)&me, &len);
  char host[64], serv[16];
  getnameinfo((struct sockaddr *)&me, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
  printf("kv: listening on %s:%s\n", host, serv);
  fflush(stdout);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event ready[64];
  for (;;) {
    int n = epoll_wait(ep, ready, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("kv: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = ready[i].data.ptr;
      if (!c) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          struct conn *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      ssize_t got = read(c->fd, c->in + c->used, sizeof c->in - 1 - c->used);
      int keep = got > 0 || (got < 0 && errno == EAGAIN);
      if (got > 0) {
        c->used += (size_t)got;
        c->in[c->used] = '\0';
        char *start = c->in, *nl;
        while (keep && (nl = strchr(start, '\n')) != NULL) {
          *nl = '\0';
          if (nl > start && nl[-1] == '\r') nl[-1] = '\0';
          keep = serve(c->fd, start) == 0;
          start = nl + 1;
        }
        c->used = strlen(start);
        memmove(c->in, start, c->used + 1);
        if (c->used == sizeof c->in - 1) keep = 0; /* a line longer than a request may be */
      }
      if (!keep) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        free(c);
      }
    }
  }
}
