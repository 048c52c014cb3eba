// The gate conformance suite's shared part (conformance_*_test.cc): every backend passes the same typed
// tests (STYLE.md, from RLBox), and each backend's harness states what it guarantees, so the table of
// guarantees is written down once and tested both ways (a backend that does not isolate memory is
// checked to let the read through, not skipped).
//
// A scenario is a lambda that makes gate calls between three compartments: "app" (the caller), "callee"
// and "peer". harness<B> says how backend B runs it and what B promises:
//   run(body)                      body runs as app; every expectation in it must hold
//   ends_image(body, status, re)   body runs as app and must end the image with `status`, `re` on stderr
//   kIsolatesMemory, kFaultCode    whether another compartment's private memory is out of reach, and the
//                                  si_code of the runtime's fault report when it is
//   kSeparatesRights, rights()     whether each compartment runs with rights of its own; which it holds
//   kStacks, stack_of(c)           where a callee's frames go
//   kConcurrentThreads             whether several host threads may cross at once
//   refusals()                     the entries B must refuse, each with the status that ends the image
// Rows: call; process (callee and peer in processes of their own, booted in a death-test child);
// mpk_light and mpk_full on the hardware (booted in a fresh death-test child, skipped with the reason
// where the CPU or kernel has no protection keys); mpk_light_emulated and mpk_full_emulated (the same
// gate code with PKRU kept in a variable, pkru_insn::emulated: they run everywhere). Adding a backend is
// a harness<B> stating its guarantees and one line in `conformance_backends`.
//
// The exports take their own compartment index as an argument rather than asking the runtime, so the
// same code checks the plain-call backend, which keeps no notion of a running compartment.
#pragma once

// gate.h's typed call erases the callee's type by design; clang warns about that cast at gate.h's line.
#pragma clang diagnostic ignored "-Wcast-function-type-mismatch"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "flex/runtime/backend_testing.h"
#include "flex/runtime/fault.h"
#include "flex/runtime/gate.h"
#include "flex/runtime/mpk_gate.h"
#include "flex/runtime/process.h"

namespace flex::runtime::conformance {

namespace fg = flex::runtime;
using fg::word;

enum : unsigned { kApp = 0, kCallee = 1, kPeer = 2, kComps = 3 };
inline const char *const kCompartmentNames[kComps] = {"app", "callee", "peer"};

template <typename B>
struct harness;

template <typename B, typename R, typename... Args, typename... X>
R conf_call(unsigned callee, unsigned id, R (*fn)(Args...), X... x) {
  return fg::gate<B>::call(harness<B>::make_target(callee, id), nullptr, fn, x...);
}

// ---- Each compartment's private memory: one page, holding secret(c) --------------------------------

constexpr long secret(unsigned c) {
  return 0x5ec7e70 + c;
}
inline constexpr std::size_t kPrivateBytes = 4096;
inline long *g_private[kComps];  // mapped by the harness before boot, at the same address in every process

inline void map_private_pages() {
  if (g_private[kApp]) return;
  for (unsigned c = 0; c < kComps; ++c) {
    void *p = ::mmap(nullptr, kPrivateBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
    g_private[c] = static_cast<long *>(p);
    *g_private[c] = secret(c);
  }
}

inline fg::region private_region(unsigned c) {
  const auto b = reinterpret_cast<std::uintptr_t>(g_private[c]);
  return {b, b + kPrivateBytes, c, fg::region_kind::heap, "private"};
}

// ---- Exports (one table per backend, the same in every compartment) --------------------------------

enum : unsigned {
  kF0,
  kF1,
  kF2,
  kF3,
  kF4,
  kF5,
  kF6,
  kNeg,
  kNegInt,
  kShort,
  kPtr,
  kBig,
  kStore,
  kLoad,
  kNest,
  kBounce,
  kApply,
  kTwice,
  kRead,
  kRights,
  kRights6,
  kRightsAcross,
  kFrame,
  kExports
};
inline constexpr unsigned kNoSuchExport = 999;

using fg::testing::f0, fg::testing::f1, fg::testing::f2, fg::testing::f3, fg::testing::f4, fg::testing::f5,
    fg::testing::f6;
inline long neg(long a) {
  return -a;
}
inline int neg_int(int a) {
  return -a;
}
inline short to_short(long a) {
  return static_cast<short>(a);
}
inline const char *ptr_plus(const char *p, long n) {
  return p + n;
}
inline unsigned long big(unsigned long x) {
  return x ^ 0xffffffff00000000UL;
}
inline long g_stored;  // private to each compartment (one copy per process under process_backend)
inline void store(long v) {
  g_stored = v;
}
inline long load() {
  return g_stored;
}
inline long twice(long x) {
  return 2 * x;
}
inline long read_word(const long *p) {
  return *static_cast<const volatile long *>(p);
}

// callee -> peer -> back: two boundaries deep.
template <typename B>
long nest(long x) {
  return conf_call<B>(kPeer, kF2, &f2, x, 7L) + 1;
}

// Alternates between `self` and `other` until depth reaches 0; each level adds self + 1.
template <typename B>
long bounce(long depth, unsigned self, unsigned other) {
  if (depth == 0) return 0;
  return conf_call<B>(other, kBounce, &bounce<B>, depth - 1, other, self) + static_cast<long>(self) + 1;
}

// Calls back export `id` of compartment `comp`.
template <typename B>
long apply(unsigned comp, unsigned id, long x) {
  return conf_call<B>(comp, id, &twice, x) + 1;
}

// The rights the running compartment holds (harness<B>::rights()).
template <typename B>
word rights() {
  return harness<B>::rights();
}
// The same with every argument register in use: ~0 when an argument arrived wrong.
template <typename B>
word rights6(long a, long b, long c, long d, long e, long f) {
  return f6(a, b, c, d, e, f) == 123456 ? harness<B>::rights() : ~word{0};
}
// The rights `comp` runs with, as seen from here; ~0 when this compartment's own did not come back.
template <typename B>
word rights_across(unsigned comp) {
  const word mine = harness<B>::rights();
  const word theirs = conf_call<B>(comp, kRights, &rights<B>);
  return harness<B>::rights() == mine ? theirs : ~word{0};
}

[[gnu::noinline]] inline word frame() {
  return reinterpret_cast<word>(__builtin_frame_address(0));
}

using flex::runtime::testing::erase;

// In the order of the export enum above.
template <typename B>
inline const fg::erased_fn g_exports[kExports] = {
    // clang-format off
    erase(&f0), erase(&f1), erase(&f2), erase(&f3), erase(&f4), erase(&f5), erase(&f6),
    erase(&neg), erase(&neg_int), erase(&to_short), erase(&ptr_plus), erase(&big),
    erase(&store), erase(&load), erase(&nest<B>), erase(&bounce<B>), erase(&apply<B>), erase(&twice),
    erase(&read_word), erase(&rights<B>), erase(&rights6<B>), erase(&rights_across<B>), erase(&frame),
    // clang-format on
};

// ---- What a harness states -----------------------------------------------------------------------------

enum class stack_use {
  callers,  // the callee's frames go below the caller's, on the caller's stack
  own,      // the callee runs on a stack of its own (harness<B>::stack_of)
};
struct stack_range {
  word lo = 0, hi = 0;
  bool contains(word a) const { return a >= lo && a < hi; }
};

// An entry the backend must refuse: `attempt` runs as app and must end the image with `status`, printing
// a line that matches `report`.
struct refusal {
  const char *what;
  void (*attempt)();
  int status;
  const char *report;
};

// The line the runtime's fault reporter prints when `reader` touches `owner`'s private memory.
inline std::string fault_report(const char *si_code, unsigned reader, unsigned owner) {
  return std::string("flex: compartment '") + kCompartmentNames[reader] +
         R"(' \(pid [0-9]+\) faulted at 0x[0-9a-f]+ .*\(SIGSEGV, read, )" + si_code +
         R"([^)]*\): address belongs to compartment ')" + kCompartmentNames[owner] + R"(' \(heap\))";
}

// Runs `image` in a death-test child and expects its exit status and a stderr line matching `report`.
// `fresh`: the child re-executes the test binary (gtest's threadsafe style) instead of forking this
// process, so it starts from a runtime no earlier test touched (an emulated mpk boot in this process
// leaves the runtime page in emulated mode, and mpk_boot refuses to run twice).
template <typename F>
void expect_image_exit(bool fresh, const F &image, int status, const std::string &report) {
  const std::string style = GTEST_FLAG_GET(death_test_style);
  GTEST_FLAG_SET(death_test_style, fresh ? "threadsafe" : "fast");
  EXPECT_EXIT(image(), ::testing::ExitedWithCode(status), report);
  GTEST_FLAG_SET(death_test_style, style);
}

// ---- call: a plain call --------------------------------------------------------------------------------

template <>
struct harness<fg::call_backend> {
  static constexpr bool kIsolatesMemory = false;   // one address space, one set of rights
  static constexpr bool kSeparatesRights = false;  // every compartment runs as the caller: this process
  static constexpr stack_use kStacks = stack_use::callers;
  static constexpr bool kConcurrentThreads = true;
  static constexpr bool kRefusesForeignEntries = false;  // a plain call goes wherever it is pointed

  static const char *unavailable() { return nullptr; }
  static fg::call_backend::target make_target(unsigned, unsigned) { return {}; }
  static word rights() { return static_cast<word>(::getpid()); }
  static word rights_of(unsigned) { return static_cast<word>(::getpid()); }
  static stack_range stack_of(unsigned) { return {}; }
  static std::vector<refusal> refusals() { return {}; }

  template <typename F>
  static void run(const F &body) {
    map_private_pages();
    body();
  }
};

// ---- process: callee and peer in processes of their own ------------------------------------------------

template <>
struct harness<fg::process_backend> {
  static constexpr bool kIsolatesMemory = true;
  static constexpr const char *kFaultCode = "SEGV_MAPERR";  // unmapped, not merely protected
  static constexpr bool kSeparatesRights = true;            // each compartment process is its own
  static constexpr stack_use kStacks = stack_use::own;
  static constexpr bool kConcurrentThreads = false;  // one host thread per image (process.h)
  static constexpr bool kRefusesForeignEntries = true;

  static constexpr std::size_t kStackBytes = std::size_t{1} << 20;
  static inline char *stacks_[kComps];  // callee's and peer's: mapped before boot, theirs alone after

  static const char *unavailable() { return nullptr; }
  static fg::process_backend::target make_target(unsigned callee, unsigned id) { return {callee, id}; }
  static word rights() { return static_cast<word>(::getpid()); }
  static word rights_of(unsigned c) { return static_cast<word>(fg::compartment_pid(c)); }
  static stack_range stack_of(unsigned c) {
    const auto lo = reinterpret_cast<word>(stacks_[c]);
    return {lo, lo + kStackBytes};
  }

  static void attempt_unknown_export() { conf_call<fg::process_backend>(kCallee, kNoSuchExport, &f0); }
  static void attempt_unknown_compartment() { conf_call<fg::process_backend>(42, kF0, &f0); }
  static std::vector<refusal> refusals() {
    return {
        {"an export id outside the callee's table", &attempt_unknown_export, fg::kExitBadCall,
         R"(flex: compartment 'callee' \(pid [0-9]+\) refused a call from 'app' to 'callee' export 999: )"
         R"(no such export id)"},
        {"a compartment the image does not have", &attempt_unknown_compartment, fg::kExitBadCall,
         R"(flex: compartment 'app' \(pid [0-9]+\) refused a call from 'app' to '\?' export 0: no such compartment)"},
    };
  }

  // Each compartment's private page, and callee's and peer's stacks, are regions of theirs: boot unmaps
  // them in every other process.
  static void boot_image() {
    static fg::process_region regions[kComps][2];
    static fg::process_compartment comps[kComps];
    map_private_pages();
    for (unsigned c = 0; c < kComps; ++c) {
      regions[c][0] = {g_private[c], reinterpret_cast<char *>(g_private[c]) + kPrivateBytes,
                       fg::region_kind::heap, "private"};
      comps[c] = {.name = kCompartmentNames[c],
                  .own_process = c != kApp,
                  .exports = g_exports<fg::process_backend>,
                  .n_exports = kExports,
                  .regions = regions[c],
                  .n_regions = 1};
      if (c == kApp) continue;
      void *s = ::mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (s == MAP_FAILED) std::abort();
      stacks_[c] = static_cast<char *>(s);
      regions[c][1] = {s, stacks_[c] + kStackBytes, fg::region_kind::stack, "stack"};
      comps[c].n_regions = 2;
      comps[c].stack_top = stacks_[c] + kStackBytes;
    }
    const fg::process_config cfg{.compartments = comps, .n_compartments = kComps, .spin_iterations = 1000};
    if (auto st = fg::process_boot(cfg); !st.ok()) {
      std::fprintf(stderr, "boot failed: %s\n", st.message().c_str());
      std::_Exit(2);
    }
  }

  template <typename F>
  static void ends_image(const F &body, int status, const std::string &report) {
    const auto image = [&] {
      boot_image();
      body();
    };
    const auto child = [&] { fg::testing::run_in_child(image); };
    expect_image_exit(false, child, status, report);
  }
  template <typename F>
  static void run(const F &body) {
    ends_image(body, 0, "");
  }
};

}  // namespace flex::runtime::conformance

// The MPK rows (mpk_matrix and its harness), which build on everything above.
#include "conformance_mpk.h"

namespace flex::runtime::conformance {

template <typename B>
class gate_conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char *why = harness<B>::unavailable()) GTEST_SKIP() << why;
  }
};

// A row is named after its backend, with '_' for '-' (mpk-light: mpk_light): a '-' in a gtest filter
// starts the negative patterns, and death-test children (and tests/CMakeLists.txt) select tests by filter.
struct backend_names {
  template <typename B>
  static std::string GetName(int) {
    std::string name = B::kName;
    for (char &c : name) c = c == '-' ? '_' : c;
    return name;
  }
};

// The backends under test: add one here (and its harness above).
using conformance_backends =
    ::testing::Types<fg::call_backend, fg::process_backend, mpk_matrix<false, fg::pkru_insn::hardware>,
                     mpk_matrix<true, fg::pkru_insn::hardware>, mpk_matrix<false, fg::pkru_insn::emulated>,
                     mpk_matrix<true, fg::pkru_insn::emulated>>;
TYPED_TEST_SUITE(gate_conformance, conformance_backends, backend_names);

}  // namespace flex::runtime::conformance
