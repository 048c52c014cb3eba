/* An unmodified static Linux program that attacks, from the compartment it runs in, another compartment of
 * the image that runs it (tests/security/attack_test.cc, attack_mpk_binary). ADDR is hexadecimal, an
 * address in the other compartment's private statics.
 *
 *   bin-attacker read ADDR      a plain load
 *   bin-attacker rekey ADDR     its dispatch's selector (its thread's record at %gs:0, key-0 memory) set to
 *                               ALLOW, so its system calls go to the kernel uncaught; then pkey_mprotect of
 *                               the page to key 0 and the load
 *   bin-attacker pkey-set ADDR  its C library's pkey_set (a WRPKRU) opening every key, then the load
 *   bin-attacker sigframe ADDR  a handler of its own that sets the PKRU in its signal frame to 0 (every key
 *                               open), which the signal's return loads; then the load
 *   bin-attacker fresh 0        no attack: maps 1 MiB after boot, writes it, prints "fresh: " and its
 *                               address, and waits 60 s (the test reads the mapping's key meanwhile)
 *   bin-attacker altstack 0     no attack: sets a signal stack of its own (SS_ONSTACK in its flags, which
 *                               Linux takes as 0), reads it back, and raises a signal whose handler asks
 *                               for it; prints "altstack: kept" or "lost", then "handler ran" or not
 *
 * It prints "read: " and the word it loaded when the attack goes through. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>

static long raw_syscall4(long nr, long a, long b, long c, long d) {
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}

static volatile sig_atomic_t g_ran;
static void note_ran(int sig) {
  (void)sig;
  g_ran = 1;
}

/* The frame's XSAVE area holds PKRU (state component 9) at CPUID.(EAX=0xD,ECX=9).EBX; XSTATE_BV bit 9 says
 * the return loads it. */
static void open_every_key(int sig, siginfo_t *info, void *ucv) {
  (void)sig;
  (void)info;
  ucontext_t *uc = ucv;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid_count(0xd, 9, eax, ebx, ecx, edx);
  char *fp = (char *)uc->uc_mcontext.fpregs;
  uint64_t bv;
  memcpy(&bv, fp + 512, sizeof bv);
  bv |= 1u << 9;
  memcpy(fp + 512, &bv, sizeof bv);
  const uint32_t all = 0;
  memcpy(fp + ebx, &all, sizeof all);
}

/* Installs `handler` for `sig` with `flags` (SA_SIGINFO: a three-argument one), then raises it. */
static void handle_and_raise(int sig, void *handler, int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  if (flags & SA_SIGINFO) {
    sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))handler;
  } else {
    sa.sa_handler = (void (*)(int))handler;
  }
  sa.sa_flags = flags;
  sigaction(sig, &sa, NULL);
  raise(sig);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bin-attacker read|rekey|pkey-set|sigframe ADDR\n");
    return 2;
  }
  const unsigned long addr = strtoul(argv[2], NULL, 16);
  if (strcmp(argv[1], "altstack") == 0) {
    static char own[1 << 16];
    stack_t ss = {.ss_sp = own, .ss_flags = SS_ONSTACK, .ss_size = sizeof own}, back;
    const int set = sigaltstack(&ss, NULL);
    memset(&back, 0, sizeof back);
    sigaltstack(NULL, &back);
    handle_and_raise(SIGUSR2, (void *)note_ran, SA_ONSTACK);
    printf("altstack: %s %s\n", set == 0 && back.ss_sp == own && back.ss_size == sizeof own ? "kept" : "lost",
           g_ran ? "handler ran" : "no handler");
    return 0;
  }
  if (strcmp(argv[1], "fresh") == 0) {
    char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    memset(p, 0x5a, 1 << 20);
    printf("fresh: %lx\n", (unsigned long)p);
    fflush(stdout);
    const struct timespec wait = {60, 0};
    nanosleep(&wait, NULL);
    return 0;
  }
  if (strcmp(argv[1], "rekey") == 0) {
    __asm__ volatile("movb $0, %%gs:0" ::: "memory");
    const long r = raw_syscall4(SYS_pkey_mprotect, (long)(addr & ~4095ul), 4096, PROT_READ | PROT_WRITE, 0);
    __asm__ volatile("movb $1, %%gs:0" ::: "memory");
    printf("pkey_mprotect: %ld\n", r);
    fflush(stdout);
  } else if (strcmp(argv[1], "pkey-set") == 0) {
    for (int key = 1; key < 16; ++key) pkey_set(key, 0);
  } else if (strcmp(argv[1], "sigframe") == 0) {
    handle_and_raise(SIGUSR1, (void *)open_every_key, SA_SIGINFO);
  } else if (strcmp(argv[1], "read") != 0) {
    fprintf(stderr, "bin-attacker: unknown attack %s\n", argv[1]);
    return 2;
  }
  const unsigned long word = *(volatile const unsigned long *)addr;
  printf("read: %016lx\n", word);
  return 0;
}
