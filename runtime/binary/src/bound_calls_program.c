/* The dynamic program runtime_binary_test runs to see its C library calls bound (binary.h, "Bound calls").
 *   bound-calls errno     write, a read that fails (errno), getppid, a send on no socket
 *   bound-calls signal    a read during which the test's dispatcher signals this thread: the handler must
 *                         run after the read returns, in this program's state (its thread-local counter)
 *   bound-calls getppid N N getppid() calls through the C library (binary-bench's imported_getppid)
 *   bound-calls thread    a second thread writes and reads errno through the same bound imports */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static __thread int tls_handled;
static volatile int in_read;
static volatile int handled_in_read;

static void on_usr1(int sig) {
  (void)sig;
  ++tls_handled; /* this thread's block: the program's %fs, not the runtime's */
  if (in_read) handled_in_read = 1;
  write(1, "handler\n", 8);
}

static volatile int info_code = 1;
static void on_usr1_info(int sig, siginfo_t *info, void *uc) {
  (void)uc;
  info_code = info->si_code; /* SI_TKILL: the test's dispatcher sent it with tgkill */
  on_usr1(sig);
}

static void say(const char *what, long v, int e) {
  char line[96];
  int n = snprintf(line, sizeof line, "%s %ld %d\n", what, v, e);
  write(1, line, (size_t)n);
}

static void *second_thread(void *arg) {
  (void)arg;
  for (int i = 0; i < 3; ++i) {
    errno = 0;
    long r = read(-1, NULL, 0);
    say("thread read", r, errno); /* its own errno: the thread's block */
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "thread") == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, second_thread, NULL) != 0) return 3;
    pthread_join(t, NULL);
    errno = 0;
    say("main read", read(-1, NULL, 0), errno);
    return 0;
  }
  if (argc > 2 && strcmp(argv[1], "getppid") == 0) {
    long n = atol(argv[2]);
    for (long i = 0; i < n; ++i) getppid();
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "errno") == 0) {
    write(1, "bound\n", 6);
    errno = 0;
    long r = read(-1, NULL, 0);
    say("read", r, errno);
    errno = 0;
    r = send(-1, "x", 1, 0);
    say("send", r, errno);
    say("getppid", getppid() == getppid(), 0);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "signal") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    const int siginfo = argc > 2 && strcmp(argv[2], "siginfo") == 0;
    if (siginfo) {
      sa.sa_sigaction = on_usr1_info;
      sa.sa_flags = SA_SIGINFO;
    } else {
      sa.sa_handler = on_usr1;
      sa.sa_flags = argc > 2 && strcmp(argv[2], "resethand") == 0 ? SA_RESETHAND : 0;
    }
    sigaction(SIGUSR1, &sa, NULL);
    struct sigaction back;
    sigaction(SIGUSR1, NULL, &back);
    /* what it installed reads back as it was given: its handler and its flags */
    say("installed", back.sa_handler == sa.sa_handler && (back.sa_flags & (SA_SIGINFO | SA_RESETHAND)) == sa.sa_flags, 0);
    char c = 0;
    in_read = 1;
    long r = read(100, &c, 1); /* the test's dispatcher signals this thread while it answers */
    in_read = 0;
    say("read", r, c);
    say("handled", tls_handled, handled_in_read);
    sigaction(SIGUSR1, NULL, &back);
    say("reset", back.sa_handler == SIG_DFL, 0);
    if (siginfo) say("si_code", info_code, 0);
    return 0;
  }
  return 2;
}
