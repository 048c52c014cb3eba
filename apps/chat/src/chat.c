/* chat: a line-based TCP chat server. Each line a client sends goes to every other client as
 * "<nick>: <line>". Commands: "/nick NAME", "/who", "/history" (the transcript so far), "/quit".
 *
 *   chat [-p PORT] [-b ADDR] [-l TRANSCRIPT] [-n MAX_CLIENTS]
 *
 * Prints "chat: listening on ADDR:PORT" once it listens (port 0 picks one), and appends every line it
 * relays to the transcript file. A plain POSIX program: sockets, select(), open/write/pread. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define LINE_MAX_LEN 512

struct client {
  int fd;
  char nick[32];
  char in[LINE_MAX_LEN];
  size_t used;
};

static struct client clients[MAX_CLIENTS];
static int transcript = -1;
static long relayed;

static void send_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static void say(int fd, const char *s) {
  send_all(fd, s, strlen(s));
}

static void broadcast(int from, const char *line) {
  for (int i = 0; i < MAX_CLIENTS; i++) {
    if (clients[i].fd >= 0 && i != from) say(clients[i].fd, line);
  }
  if (transcript >= 0) send_all(transcript, line, strlen(line));
  relayed++;
}

static void drop(int i) {
  char msg[96];
  close(clients[i].fd);
  clients[i].fd = -1;
  snprintf(msg, sizeof msg, "* %s left\n", clients[i].nick);
  broadcast(i, msg);
}

static void history(int fd) {
  char buf[4096];
  off_t off = 0;
  ssize_t n;
  if (transcript < 0) return;
  while ((n = pread(transcript, buf, sizeof buf, off)) > 0) {
    send_all(fd, buf, (size_t)n);
    off += n;
  }
}

static void handle_line(int i, char *line) {
  char out[LINE_MAX_LEN + 64];
  if (strncmp(line, "/nick ", 6) == 0 && line[6]) {
    snprintf(out, sizeof out, "* %s is now %.31s\n", clients[i].nick, line + 6);
    snprintf(clients[i].nick, sizeof clients[i].nick, "%s", line + 6);
    broadcast(-1, out);
  } else if (strcmp(line, "/who") == 0) {
    for (int k = 0; k < MAX_CLIENTS; k++) {
      if (clients[k].fd < 0) continue;
      snprintf(out, sizeof out, "* %s\n", clients[k].nick);
      say(clients[i].fd, out);
    }
  } else if (strcmp(line, "/history") == 0) {
    history(clients[i].fd);
    say(clients[i].fd, "* end of history\n");
  } else if (strcmp(line, "/quit") == 0) {
    say(clients[i].fd, "* bye\n");
    drop(i);
  } else {
    snprintf(out, sizeof out, "%s: %s\n", clients[i].nick, line);
    broadcast(i, out);
  }
}

static void read_client(int i) {
  struct client *c = &clients[i];
  ssize_t n = read(c->fd, c->in + c->used, sizeof c->in - c->used - 1);
  if (n <= 0) {
    drop(i);
    return;
  }
  c->used += (size_t)n;
  c->in[c->used] = '\0';
  char *start = c->in, *nl;
  while (c->fd >= 0 && (nl = strchr(start, '\n')) != NULL) {
    *nl = '\0';
    if (nl > start && nl[-1] == '\r') nl[-1] = '\0';
    handle_line(i, start);
    start = nl + 1;
  }
  if (c->fd < 0) return;
  c->used = strlen(start);
  memmove(c->in, start, c->used);
  if (c->used == sizeof c->in - 1) c->used = 0; /* an overlong line is dropped */
}

static void accept_client(int listener, int max) {
  struct sockaddr_in peer;
  socklen_t len = sizeof peer;
  int fd = accept(listener, (struct sockaddr *)&peer, &len);
  if (fd < 0) return;
  for (int i = 0; i < max; i++) {
    if (clients[i].fd >= 0) continue;
    char addr[INET_ADDRSTRLEN], msg[96];
    clients[i].fd = fd;
    clients[i].used = 0;
    inet_ntop(AF_INET, &peer.sin_addr, addr, sizeof addr);
    snprintf(clients[i].nick, sizeof clients[i].nick, "guest%d", i);
    snprintf(msg, sizeof msg, "* welcome %s (from %s)\n", clients[i].nick, addr);
    say(fd, msg);
    snprintf(msg, sizeof msg, "* %s joined\n", clients[i].nick);
    broadcast(i, msg);
    return;
  }
  say(fd, "* server full\n");
  close(fd);
}

int main(int argc, char **argv) {
  const char *port = "0", *bind_addr = "127.0.0.1", *log_path = "/tmp/chat.log";
  int max = MAX_CLIENTS, opt, one = 1;
  while ((opt = getopt(argc, argv, "p:b:l:n:")) != -1) {
    if (opt == 'p') port = optarg;
    else if (opt == 'b') bind_addr = optarg;
    else if (opt == 'l') log_path = optarg;
    else if (opt == 'n') max = atoi(optarg) > 0 && atoi(optarg) < MAX_CLIENTS ? atoi(optarg) : MAX_CLIENTS;
    else {
      fprintf(stderr, "usage: %s [-p PORT] [-b ADDR] [-l TRANSCRIPT] [-n MAX_CLIENTS]\n", argv[0]);
      return 2;
    }
  }
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;

  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  int rc = getaddrinfo(bind_addr, port, &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "chat: %s:%s: %s\n", bind_addr, port, gai_strerror(rc));
    return 1;
  }
  int listener = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(listener, res->ai_addr, res->ai_addrlen) < 0 || listen(listener, 16) < 0) {
    perror("chat: listen");
    return 1;
  }
  freeaddrinfo(res);
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  getsockname(listener, (struct sockaddr *)&me, &len);
  transcript = open(log_path, O_RDWR | O_CREAT | O_APPEND, 0644);
  if (transcript < 0) fprintf(stderr, "chat: %s: %s (no transcript)\n", log_path, strerror(errno));
  printf("chat: listening on %s:%d\n", bind_addr, ntohs(me.sin_port));
  fflush(stdout);

  for (;;) {
    fd_set rd;
    int top = listener;
    FD_ZERO(&rd);
    FD_SET(listener, &rd);
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (clients[i].fd < 0) continue;
      FD_SET(clients[i].fd, &rd);
      if (clients[i].fd > top) top = clients[i].fd;
    }
    if (select(top + 1, &rd, NULL, NULL, NULL) < 0) {
      if (errno == EINTR) continue;
      perror("chat: select");
      return 1;
    }
    if (FD_ISSET(listener, &rd)) accept_client(listener, max);
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (clients[i].fd >= 0 && FD_ISSET(clients[i].fd, &rd)) read_client(i);
    }
  }
  printf("chat: relayed %ld lines\n", relayed);
  return 0;
}
