/* The porting API of Flex (FlexOS-compatible spelling, DESIGN.md §3), for C and C++.
 *
 * A ported source marks every call that leaves its library with a gate placeholder and every datum that
 * crosses a compartment boundary with flexos_whitelist. flexbuild runs flex-transform on the source, which
 * replaces each placeholder by the gate the profile chose for that boundary. Compiled any other way, the
 * placeholders do not compile: a missed rewrite is a build error, never a silent plain call.
 *
 *   #include <flexos/isolation.h>
 *
 *   char buf[512] __attribute__((flexos_whitelist));             // shared with other compartments
 *   flexos_gate(libconsole, console_write, msg, len);            // console_write(msg, len)
 *   flexos_gate_r(libnet, rc, net_recv, fd, buf, sizeof buf, 0); // rc = net_recv(fd, buf, sizeof buf, 0)
 *   flexos_gate(libsched, sched_yield_now);                      // a gate with no arguments
 *
 * `lib` is the callee's library, spelled as its lib.yaml name prefixed with "lib"; `fn` must be in that
 * library's `exports`. The macros below take one form when flex-transform parses the source (the tool
 * predefines __FLEX_TRANSFORM__ itself; never define it) and another in every other compilation.
 */
#ifndef FLEXOS_ISOLATION_H
#define FLEXOS_ISOLATION_H

#ifdef __FLEX_TRANSFORM__

/* Seen only by flex-transform: plain expressions, so the gate's call, arguments and result stay visible
 * (and type-checked) in the AST. The tool finds the placeholders by these macros' expansions. */
#define flexos_gate(lib, fn, ...) ((void)(fn)(__VA_ARGS__))
#define flexos_gate_r(lib, ret, fn, ...) ((ret) = (fn)(__VA_ARGS__))
#define flexos_whitelist annotate("flexos_whitelist")

#else /* !__FLEX_TRANSFORM__ */

#ifdef __cplusplus
#define FLEXOS_NOT_INSTANTIATED_(what) \
  static_assert(false, what " was not instantiated: build this source with flexbuild")
#else
#define FLEXOS_NOT_INSTANTIATED_(what) \
  _Static_assert(0, what " was not instantiated: build this source with flexbuild")
#endif

/* Un-instantiated placeholders: a statement expression whose only content is a failing static assertion
 * naming the gate. The arguments are not evaluated, so that assertion is the first error. */
#define flexos_gate(lib, fn, ...) \
  (__extension__({ FLEXOS_NOT_INSTANTIATED_("flexos_gate(" #lib ", " #fn ")"); (void)0; }))
#define flexos_gate_r(lib, ret, fn, ...) \
  (__extension__({ FLEXOS_NOT_INSTANTIATED_("flexos_gate_r(" #lib ", " #ret ", " #fn ")"); (void)0; }))
#define flexos_whitelist \
  unavailable("flexos_whitelist was not instantiated: build this source with flexbuild")

#endif /* __FLEX_TRANSFORM__ */

/* A string literal in shared read-only data (.rodata_shared), readable by every compartment: for literals
 * that cross a boundary other than as a gate argument (a gate argument moves by itself), e.g.
 *   static const char *const greeting = ...;  ->  const char *g = FLEXOS_SHARED_LITERAL("hello");
 * An expression of type `const char *`, inside a function. */
#define FLEXOS_SHARED_LITERAL(str)                                                                    \
  (__extension__({                                                                                    \
    static const char __flexos_shared_literal[] __attribute__((section(".rodata_shared"))) = str;     \
    &__flexos_shared_literal[0];                                                                      \
  }))

#ifdef __cplusplus
extern "C" {
#endif

/* (__SIZE_TYPE__ is size_t, spelled so that this header includes nothing.) */

/* The shared heap: memory every compartment of the image may read and write (tagged with the shared key
 * under MPK, mapped shared at one address in every process of a process image). */
void *flexos_malloc_whitelist(__SIZE_TYPE__ size);
void *flexos_calloc_whitelist(__SIZE_TYPE__ n, __SIZE_TYPE__ size);
void *flexos_realloc_whitelist(void *p, __SIZE_TYPE__ size);
void flexos_free_whitelist(void *p);

/* The data shadow stack (DSS) mirror of a local on this thread's stack in an mpk compartment with full
 * gates: the same offset in a shared-key copy of that stack, readable and writable by every compartment
 * while the local's frame is live. NULL when `local` is not on such a stack. */
void *flexos_dss_address(const void *local);

/* Storage for a whitelisted local (what flex-transform writes for sharing.stack; see
 * runtime/heap/src/shared_locals.cc): shared memory holding a copy of the `size` bytes at `init`, given back by
 * flexos_wl_release(&pointer) when the local's scope ends. */
enum { FLEXOS_WL_DSS = 0, FLEXOS_WL_HEAP = 1, FLEXOS_WL_SHARED = 2 };
void *flexos_wl_alloc(const void *init, __SIZE_TYPE__ size, __SIZE_TYPE__ align, int mode);
void flexos_wl_release(void *const *pointer);
/* Termination (SIGTERM, SIGINT to the image) as a request an app polls, instead of a handler of its own:
 * a handler runs with the kernel's signal-time rights (no compartment's memory), so the runtime's handler
 * records the request where every compartment, in every process of the image, can read it. Until an app
 * calls flexos_watch_termination, the signals keep their default action. */
void flexos_watch_termination(void);
int flexos_termination_requested(void);

/* Bytes of shared memory now held for whitelisted data: the shared heap's blocks in use plus this
 * thread's shared-stack depth (for tests and leak checks). */
__SIZE_TYPE__ flexos_whitelist_bytes_in_use(void);

/* What the running compartment's allocator holds, for reports such as Redis's INFO memory. Any compartment
 * may call it without a gate: it reads only its own heap's header and its process's /proc/self/statm. */
struct flexos_mem_stats {
  __SIZE_TYPE__ in_use_bytes;      /* bytes in allocated blocks */
  __SIZE_TYPE__ peak_in_use_bytes; /* the most ever in use; 0 where the allocator does not keep it */
  __SIZE_TYPE__ heap_bytes;        /* the heap's fixed size; 0 where it grows on demand (glibc, ASan) */
  __SIZE_TYPE__ resident_bytes;    /* the calling process's resident set; 0 if it cannot be read */
  const char *allocator;           /* "tlsf" (a compartment heap), "glibc" or "asan" */
};
void flexos_memory_usage(struct flexos_mem_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* FLEXOS_ISOLATION_H */
