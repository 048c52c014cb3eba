// Tests of the process gate backend and of the region registry / fault reporter it uses. What every gate
// backend promises (arguments and results, nesting, callbacks, the callee's process and stack, isolation
// of private memory, refusal of unknown export ids and compartments) is the gate conformance suite's
// (runtime/core/src/conformance.h); these are the process backend's own behaviours.
//
// boot() forks and never un-boots, so every scenario runs in its own gtest death-test child
// (EXPECT_EXIT): the child builds a small image from mmap'ed pages standing in for each compartment's
// statics and heap, boots it and runs the scenario; gtest failures inside it turn into exit status 1.
// Scenarios that must end the image check its exit status and the report line on stderr.
// gate.h's typed call erases the callee's type by design (see its header); silence clang's warning about
// that cast, which is reported at gate.h's line but instantiated here.
#pragma clang diagnostic ignored "-Wcast-function-type-mismatch"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "flex/runtime/fault.h"
#include "flex/runtime/process_impl.h"

#include "flex/runtime/backend_testing.h"
#include <flexos/isolation.h>

namespace flex::runtime {
void install_termination_handlers();  // termination.cc, called by the image's boot
}

namespace fg = flex::runtime;
using fg::word;
using gate = fg::gate<fg::process_backend>;

namespace {

// The image: "app" and "lib" stay in the main process, "a" and "b" get processes of their own.
enum : unsigned { kApp = 0, kA = 1, kB = 2, kLib = 3, kWorld = 4 };
// A chain image for the many-compartments test: main plus five processes.
constexpr unsigned kChain = 6;

constexpr std::size_t kPage = 4096;

// Every compartment's private heap (one page each) and a shared page, mapped before boot, so the
// addresses are the same in every process of the image.
char *g_heap[kChain];
char *g_shared_page;
// A page of this binary's own .data (file-backed MAP_PRIVATE), shared at boot with its content kept.
alignas(4096) char g_static_shared[4096] = "flex static shared";
// A page of .data private to compartment b.
alignas(4096) char g_b_static[4096] = "b's secret";

using flex::runtime::testing::erase;

template <typename R, typename... Args, typename... X>
R call(unsigned comp, unsigned id, R (*fn)(Args...), X... x) {
  return gate::call(fg::process_backend::target{comp, id}, nullptr, fn, x...);
}

// ---- exports (every compartment exports the same table; behaviour depends on who runs it) ----
using flex::runtime::testing::f0, flex::runtime::testing::f1, flex::runtime::testing::f2, flex::runtime::testing::f3,
    flex::runtime::testing::f4, flex::runtime::testing::f5, flex::runtime::testing::f6;
int my_pid() {
  return getpid();
}
unsigned who() {
  return fg::current_compartment();
}
long read_word(const long *p) {
  return *p;
}
long write_word(long *p, long v) {
  *p = v;
  return 0;
}
int is_mapped(char *p) {
  return msync(p, kPage, MS_ASYNC) == 0 ? 1 : 0;
}  // ENOMEM: nothing mapped there
void die_by_kill() {
  kill(getpid(), SIGKILL);
}
void exit_with(int status) {
  _exit(status);
}
void *alloc_shared(unsigned long n) {
  return fg::shared_alloc(n);
}
int sigchld_default() {
  signal(SIGCHLD, SIG_DFL);
  return 0;
}
int watch_termination() {
  flexos_watch_termination();
  return 0;
}
int termination_requested() {
  return flexos_termination_requested();
}

enum : unsigned {
  kF0,
  kF1,
  kF2,
  kF3,
  kF4,
  kF5,
  kF6,
  kPid,
  kWho,
  kRead,
  kWrite,
  kMapped,
  kKill,
  kExit,
  kAlloc,
  kBounce,
  kCallback,
  kChainStep,
  kCallBad,
  kNull,
  kWatch,
  kRequested,
  kExports
};

// Alternates between compartments x and y until depth reaches 0; each level adds (its index + 1), so the
// sum shows the calls really alternated.
long bounce(long depth, unsigned x, unsigned y) {
  const unsigned self = fg::current_compartment();
  if (depth == 0) return 0;
  const long rest = call(self == x ? y : x, kBounce, &bounce, depth - 1, x, y);
  return rest + static_cast<long>(self) + 1;
}

// Calls back export `id` of compartment `comp` with x and adds 1000 to what it returns.
long callback(unsigned comp, unsigned id, long x) {
  return call(comp, id, &f1, x) + 1000;
}

// The chain image: compartment i calls i+1 until the last; each appends its digit and checks that the
// previous compartment's heap is not mapped here.
long chain_step(long acc) {
  const unsigned self = fg::current_compartment();
  if (self > 1 && is_mapped(g_heap[self - 1])) return -1;
  acc = acc * 10 + self;
  return self + 1 < kChain ? call(self + 1, kChainStep, &chain_step, acc) : acc;
}

long call_bad(unsigned comp, unsigned id) {
  return call(comp, id, &f0);
}

const fg::erased_fn g_exports[kExports] = {erase(&f0),
                                           erase(&f1),
                                           erase(&f2),
                                           erase(&f3),
                                           erase(&f4),
                                           erase(&f5),
                                           erase(&f6),
                                           erase(&my_pid),
                                           erase(&who),
                                           erase(&read_word),
                                           erase(&write_word),
                                           erase(&is_mapped),
                                           erase(&die_by_kill),
                                           erase(&exit_with),
                                           erase(&alloc_shared),
                                           erase(&bounce),
                                           erase(&callback),
                                           erase(&chain_step),
                                           erase(&call_bad),
                                           nullptr,
                                           erase(&watch_termination),
                                           erase(&termination_requested)};

char *map_page() {
  void *p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::abort();
  return static_cast<char *>(p);
}

// Builds and boots the 4-compartment image; returns in the main process only.
void boot_world(unsigned spin = 1000) {
  static fg::process_region regions[kWorld][2];
  static fg::process_compartment comps[kWorld];
  static fg::process_region shared[2];
  static const char *const names[kWorld] = {"app", "a", "b", "lib"};
  for (unsigned c = 0; c < kWorld; ++c) {
    g_heap[c] = map_page();
    std::strcpy(g_heap[c], names[c]);
    regions[c][0] = {g_heap[c], g_heap[c] + kPage, fg::region_kind::heap, "heap"};
    comps[c] = {.name = names[c],
                .own_process = (c == kA || c == kB),
                .exports = g_exports,
                .n_exports = kExports,
                .regions = regions[c],
                .n_regions = 1};
  }
  regions[kB][1] = {g_b_static, g_b_static + sizeof g_b_static, fg::region_kind::data, "b.data"};
  comps[kB].n_regions = 2;
  g_shared_page = map_page();
  std::strcpy(g_shared_page, "shared before boot");
  shared[0] = {g_shared_page, g_shared_page + kPage, fg::region_kind::shared, "test.shared"};
  shared[1] = {g_static_shared, g_static_shared + sizeof g_static_shared, fg::region_kind::data,
               "test.static_shared"};
  fg::process_config cfg{.compartments = comps,
                         .n_compartments = kWorld,
                         .shared = shared,
                         .n_shared = 2,
                         .arena_bytes = 1 << 16,
                         .spin_iterations = spin,
                         .main_compartment = kApp};
  if (auto st = fg::process_boot(cfg); !st.ok()) {
    std::fprintf(stderr, "boot failed: %s\n", st.message().c_str());
    std::_Exit(2);
  }
}

// Boots the chain image: "main" in the main process, c1..c5 in processes of their own.
void boot_chain() {
  static fg::process_region regions[kChain];
  static fg::process_compartment comps[kChain];
  static const char *const names[kChain] = {"main", "c1", "c2", "c3", "c4", "c5"};
  for (unsigned c = 0; c < kChain; ++c) {
    g_heap[c] = map_page();
    regions[c] = {g_heap[c], g_heap[c] + kPage, fg::region_kind::heap, "heap"};
    comps[c] = {.name = names[c],
                .own_process = c > 0,
                .exports = g_exports,
                .n_exports = kExports,
                .regions = &regions[c],
                .n_regions = 1};
  }
  fg::process_config cfg{.compartments = comps, .n_compartments = kChain, .spin_iterations = 200};
  if (!fg::process_boot(cfg).ok()) std::_Exit(2);
}


// Usage: const auto body = [&] { ... }; FLEX_SCENARIO(body);
#define FLEX_SCENARIO(body) EXPECT_EXIT(flex::runtime::testing::run_in_child(body), ::testing::ExitedWithCode(0), "")

}  // namespace

// ---- the region registry and the report line, in this process (no boot) ----

TEST(fault_registry, finds_owner_and_rejects_overlaps) {
  fg::clear_regions();
  ASSERT_EQ(fg::register_compartment(3, "net"), 0);
  ASSERT_EQ(fg::register_region({0x10000, 0x20000, 3, fg::region_kind::heap, "net.heap"}), 0);
  EXPECT_EQ(fg::register_region({0x10000, 0x20000, 3, fg::region_kind::heap, "net.heap"}), 0);  // same: no-op
  EXPECT_EQ(fg::register_region({0x1f000, 0x21000, 2, fg::region_kind::data, "x"}), -EEXIST);
  EXPECT_EQ(fg::register_region({0x30000, 0x30000, 2, fg::region_kind::data, "empty"}), -EINVAL);
  EXPECT_EQ(fg::register_region({0x30000, 0x31000, fg::kMaxCompartments, fg::region_kind::data, "x"}),
            -EINVAL);
  ASSERT_EQ(fg::register_region({0x40000, 0x41000, fg::kSharedOwner, fg::region_kind::shared, "s"}), 0);
  EXPECT_EQ(fg::region_count(), 2u);
  const fg::region *r = fg::find_region(0x1ffff);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->owner, 3u);
  EXPECT_STREQ(fg::compartment_name(r->owner), "net");
  EXPECT_EQ(fg::find_region(0x20000), nullptr);
  EXPECT_EQ(fg::find_region(0x40800)->owner, fg::kSharedOwner);
  EXPECT_STREQ(fg::compartment_name(fg::kNoCompartment), "runtime");
  EXPECT_STREQ(fg::compartment_name(7), "?");
  EXPECT_STREQ(fg::signal_description(SIGKILL), "Killed");
  fg::clear_regions();
  EXPECT_EQ(fg::region_count(), 0u);
}

TEST(fault_registry, report_line_and_exit_status) {
  EXPECT_EXIT(
      {
        fg::register_compartment(0, "app");
        fg::set_current_compartment(0);
        fg::fault_line().str("x=").dec(-12).str(" y=").hex(0xbeef).str(" ").who(0).emit();
        fg::terminate_image(fg::kExitBadCall);
      },
      ::testing::ExitedWithCode(fg::kExitBadCall), R"(^x=-12 y=0xbeef compartment 'app' \(pid [0-9]+\)
$)");
}

TEST(fault_registry, reporter_names_owner_without_processes) {
  EXPECT_EXIT(
      {
        char *p = map_page();
        fg::register_compartment(0, "app");
        fg::register_compartment(1, "net");
        fg::register_region({reinterpret_cast<std::uintptr_t>(p), reinterpret_cast<std::uintptr_t>(p) + kPage,
                             1, fg::region_kind::stack, "net.stack"});
        fg::set_current_compartment(0);
        ASSERT_EQ(fg::install_fault_reporter(), 0);
        mprotect(p, kPage, PROT_READ);
        *reinterpret_cast<volatile char *>(p) = 1;
      },
      ::testing::ExitedWithCode(fg::kExitFault),
      R"(flex: compartment 'app' \(pid [0-9]+\) faulted at 0x[0-9a-f]+ at pc 0x[0-9a-f]+ \(SIGSEGV, write, SEGV_ACCERR\): address belongs to compartment 'net' \(stack\))");
}

TEST(process_boot, rejects_bad_configs_without_forking) {
  fg::process_compartment comps[2] = {{.name = "app"}, {.name = "net", .own_process = true}};
  fg::process_config cfg{.compartments = comps, .n_compartments = 2};
  cfg.main_compartment = 1;  // the main process cannot run a process compartment
  EXPECT_EQ(fg::process_boot(cfg).message(),
            "invalid configuration: the main process's compartment must be one without a process of its own");
  cfg.main_compartment = 0;
  char *p = map_page();
  fg::process_region unaligned{p + 8, p + kPage, fg::region_kind::heap, "h"};
  comps[1].regions = &unaligned;
  comps[1].n_regions = 1;
  EXPECT_EQ(fg::process_boot(cfg).message(), "invalid configuration: compartment 1's region 0 is not page-aligned");
  cfg.n_compartments = 0;
  EXPECT_EQ(fg::process_boot(cfg).message(), "invalid configuration: an image has 1 to 64 compartments");
  EXPECT_FALSE(fg::process_booted());
  munmap(p, kPage);
}

// ---- calls ----

TEST(process_gate, futex_mode_without_spinning) {
  const auto body = [&] {
    boot_world(/*spin=*/0);
    EXPECT_EQ(call(kA, kF6, &f6, 6L, 5L, 4L, 3L, 2L, 1L), 654321);
    EXPECT_EQ(call(kA, kBounce, &bounce, 20L, kA, kB), 10 * (kA + 1) + 10 * (kB + 1));
  };
  FLEX_SCENARIO(body);
}

TEST(process_gate, call_in_the_same_process_is_a_plain_call) {
  const auto body = [&] {
    boot_world();
    const auto &links = fg::detail::g_process.links;
    const std::uint32_t sent = links[kA].sent + links[kB].sent;
    EXPECT_EQ(call(kLib, kPid, &my_pid), getpid());
    EXPECT_EQ(call(kLib, kWho, &who), kLib);
    EXPECT_EQ(call(kLib, kF3, &f3, 3L, 2L, 1L), 321);
    EXPECT_EQ(links[kA].sent + links[kB].sent, sent) << "a same-process call went through a channel";
    EXPECT_EQ(fg::current_compartment(), kApp);
  };
  FLEX_SCENARIO(body);
}

TEST(process_gate, a_callback_reaches_another_compartment_of_the_main_process) {
  const auto body = [&] {
    boot_world();
    EXPECT_EQ(call(kB, kCallback, &callback, kLib, kF1, 8L), 1008);  // b -> lib, served by the main process
    EXPECT_EQ(call(kB, kCallback, &callback, kLib, kWho, 0L), 1000 + kLib);
    EXPECT_EQ(fg::current_compartment(), kApp);
  };
  FLEX_SCENARIO(body);
}

TEST(process_gate, many_compartments_in_a_chain) {
  const auto body = [&] {
    boot_chain();
    EXPECT_EQ(call(1, kChainStep, &chain_step, 0L), 12345);
    for (unsigned c = 1; c < kChain; ++c) EXPECT_EQ(call(c, kWho, &who), c);
  };
  FLEX_SCENARIO(body);
}

// ---- memory ----

TEST(process_memory, shared_regions_and_arena_are_shared_at_identical_addresses) {
  const auto body = [&] {
    boot_world();
    // Content from before boot survived the remap, in every process.
    EXPECT_STREQ(g_shared_page, "shared before boot");
    EXPECT_STREQ(g_static_shared, "flex static shared");
    EXPECT_EQ(call(kA, kRead, &read_word, reinterpret_cast<const long *>(g_static_shared)),
              *reinterpret_cast<const long *>(g_static_shared));
    // a writes, the main process and b see it; the main process writes, a sees it.
    auto *sp = reinterpret_cast<long *>(g_shared_page + 64);
    auto *ss = reinterpret_cast<long *>(g_static_shared + 64);
    EXPECT_EQ(call(kA, kWrite, &write_word, sp, 1111L), 0);
    EXPECT_EQ(call(kA, kWrite, &write_word, ss, 2222L), 0);
    EXPECT_EQ(*sp, 1111);
    EXPECT_EQ(*ss, 2222);
    EXPECT_EQ(call(kB, kRead, &read_word, sp), 1111);
    EXPECT_EQ(call(kB, kRead, &read_word, ss), 2222);
    *sp = 3333;
    EXPECT_EQ(call(kA, kRead, &read_word, sp), 3333);
    // The arena: a allocates, writes; main and b read the same pointer.
    auto *p = static_cast<long *>(call(kA, kAlloc, &alloc_shared, 64UL));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(call(kA, kWrite, &write_word, p, 4444L), 0);
    EXPECT_EQ(*p, 4444);
    EXPECT_EQ(call(kB, kRead, &read_word, p), 4444);
    auto *q = static_cast<long *>(fg::shared_alloc(64));
    EXPECT_NE(q, p);  // allocation is image-wide
    EXPECT_EQ(fg::shared_alloc(std::size_t{1} << 40), nullptr);
  };
  FLEX_SCENARIO(body);
}

TEST(process_memory, private_memory_is_unmapped_not_protected) {
  const auto body = [&] {
    boot_world();
    // In the main process: the process compartments' memory is gone, the main ones' is there.
    EXPECT_FALSE(is_mapped(g_heap[kA]));
    EXPECT_FALSE(is_mapped(g_heap[kB]));
    EXPECT_FALSE(is_mapped(g_b_static));
    EXPECT_TRUE(is_mapped(g_heap[kApp]));
    EXPECT_STREQ(g_heap[kLib], "lib");
    // In a: only its own.
    EXPECT_TRUE(call(kA, kMapped, &is_mapped, g_heap[kA]));
    EXPECT_FALSE(call(kA, kMapped, &is_mapped, g_heap[kB]));
    EXPECT_FALSE(call(kA, kMapped, &is_mapped, g_b_static));
    EXPECT_FALSE(call(kA, kMapped, &is_mapped, g_heap[kApp]));
    EXPECT_FALSE(call(kA, kMapped, &is_mapped, g_heap[kLib]));
    EXPECT_EQ(call(kA, kRead, &read_word, reinterpret_cast<const long *>(g_heap[kA])),
              *reinterpret_cast<const long *>("a\0\0\0\0\0\0"));
    // In b: its heap and static data, with their content from before boot.
    EXPECT_TRUE(call(kB, kMapped, &is_mapped, g_b_static));
    EXPECT_EQ(call(kB, kRead, &read_word, reinterpret_cast<const long *>(g_b_static)),
              *reinterpret_cast<const long *>("b's secret"));
  };
  FLEX_SCENARIO(body);
}

TEST(process_memory, process_writing_another_compartments_statics_is_reported) {
  EXPECT_EXIT(
      {
        boot_world();
        call(kA, kWrite, &write_word, reinterpret_cast<long *>(g_b_static + 8), 1L);
      },
      ::testing::ExitedWithCode(fg::kExitFault),
      R"(flex: compartment 'a' \(pid [0-9]+\) faulted at 0x[0-9a-f]+ at pc 0x[0-9a-f]+ \(SIGSEGV, write, SEGV_MAPERR\): address belongs to compartment 'b' \(data\))");
}

// ---- refused calls ----

TEST(process_refusal, null_export_entry_is_refused) {
  EXPECT_EXIT(
      {
        boot_world();
        call(kA, kNull, &f0);
      },
      ::testing::ExitedWithCode(fg::kExitBadCall),
      "refused a call from 'app' to 'a' export " + std::to_string(kNull) + ": no such export id");
}

TEST(process_refusal, invalid_callback_id_is_refused_by_the_main_process) {
  EXPECT_EXIT(
      {
        boot_world();
        call(kB, kCallBad, &call_bad, kApp, 77u);
      },
      ::testing::ExitedWithCode(fg::kExitBadCall),
      R"(flex: compartment 'app' \(pid [0-9]+\) refused a call from 'b' to 'app' export 77)");
}

// ---- death ----

TEST(process_death, child_killed_mid_call_ends_the_image) {
  EXPECT_EXIT(
      {
        boot_world();
        call(kB, kKill, &die_by_kill);
      },
      ::testing::ExitedWithCode(fg::kExitDied),
      R"(flex: compartment 'b' \(pid [0-9]+\) died: killed by signal 9 \(Killed\))");
}

TEST(process_death, child_killed_in_a_nested_call_without_sigchld_handler) {
  // SIGCHLD back to default: the waiter's futex timeout and liveness check must find the death.
  EXPECT_EXIT(
      {
        boot_world(/*spin=*/0);
        sigchld_default();
        call(kA, kCallback, &callback, kB, kKill, 0L);  // main -> a -> b, and b dies
      },
      ::testing::ExitedWithCode(fg::kExitDied),
      R"(flex: compartment 'b' \(pid [0-9]+\) died: killed by signal 9 \(Killed\))");
}

TEST(process_death, child_exiting_mid_call_ends_the_image) {
  EXPECT_EXIT(
      {
        boot_world();
        call(kA, kExit, &exit_with, 3);
      },
      ::testing::ExitedWithCode(fg::kExitDied),
      R"(flex: compartment 'a' \(pid [0-9]+\) died: exited with status 3)");
}

TEST(process_death, idle_child_killed_from_outside_ends_the_image) {
  EXPECT_EXIT(
      {
        boot_world();
        kill(fg::compartment_pid(kA), SIGKILL);
        for (;;) pause();  // SIGCHLD ends the image while the main process is not in a gate
      },
      ::testing::ExitedWithCode(fg::kExitDied),
      R"(flex: compartment 'a' \(pid [0-9]+\) died: killed by signal 9)");
}

// Shared between the test and its death-test child (MAP_SHARED before the fork).
pid_t *shared_pids() {
  static pid_t *p =
      static_cast<pid_t *>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  return p;
}

bool gone(pid_t pid) {
  return kill(pid, 0) == -1 && errno == ESRCH;
}

TEST(process_death, normal_exit_reaps_every_compartment_process) {
  pid_t *pids = shared_pids();
  pids[0] = pids[1] = 0;
  const auto body = [&] {
    boot_world();
    pids[0] = fg::compartment_pid(kA);
    pids[1] = fg::compartment_pid(kB);
  };
  FLEX_SCENARIO(body);
  ASSERT_GT(pids[0], 0);
  ASSERT_GT(pids[1], 0);
  EXPECT_TRUE(gone(pids[0]));
  EXPECT_TRUE(gone(pids[1]));
}

TEST(process_death, killing_the_main_process_kills_every_compartment_process) {
  // The death-test child becomes a subreaper, runs an image below it and SIGKILLs the image's main
  // process: the compartment processes, reparented to us, must die of PR_SET_PDEATHSIG.
  const auto body = [&] {
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    pid_t *pids = shared_pids();
    pids[0] = pids[1] = 0;
    const pid_t image = fork();
    ASSERT_GE(image, 0);
    if (image == 0) {
      boot_world();
      pids[1] = fg::compartment_pid(kB);
      __atomic_store_n(&pids[0], fg::compartment_pid(kA), __ATOMIC_RELEASE);
      for (;;) pause();
    }
    while (__atomic_load_n(&pids[0], __ATOMIC_ACQUIRE) == 0) usleep(1000);
    kill(image, SIGKILL);
    int killed = 0;
    for (int i = 0; i < 3; ++i) {
      int status = 0;
      const pid_t p = waitpid(-1, &status, 0);
      ASSERT_GT(p, 0);
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "pid " << p;
      killed += (p == pids[0] || p == pids[1]) ? 1 : 0;
    }
    EXPECT_EQ(killed, 2);
  };
  FLEX_SCENARIO(body);
}

// ---- termination requests ----

TEST(process_termination, a_request_reaches_the_compartment_process_that_watches) {
  const auto body = [&] {
    boot_world();
    fg::install_termination_handlers();
    EXPECT_EQ(call(kB, kWatch, &watch_termination), 0);  // in b's process: the main process must learn it
    EXPECT_EQ(call(kB, kRequested, &termination_requested), 0);
    kill(getpid(), SIGTERM);  // without the watch, this would end the main process
    EXPECT_EQ(call(kB, kRequested, &termination_requested), 1);
    EXPECT_EQ(call(kA, kRequested, &termination_requested), 1);
    EXPECT_EQ(flexos_termination_requested(), 1);
  };
  FLEX_SCENARIO(body);
}

TEST(process_termination, without_a_watch_the_signal_ends_the_image) {
  EXPECT_EXIT(
      {
        boot_world();
        fg::install_termination_handlers();
        kill(getpid(), SIGTERM);
        for (;;) pause();
      },
      ::testing::KilledBySignal(SIGTERM), "");
}
