// The gate conformance suite: every backend passes the same typed tests (STYLE.md, from RLBox).
//
// A scenario is a lambda that makes gate calls between three compartments: "app" (the caller), "callee"
// and "peer". harness<B> says how backend B runs it:
//   - in-process backends (call, and the MPK backends) run it right here;
//   - process_backend boots an image in a gtest death-test child (boot forks and never un-boots), with
//     callee and peer in processes of their own, and runs the scenario in that image's main process.
// Adding a backend is one line in `conformance_backends` when its target is `{}` or
// `{callee, export_id}`; otherwise specialise harness<B>. Backends named "mpk*" are skipped, with the
// reason, where the CPU or kernel has no protection keys.
//
// The exports take their own compartment index as an argument rather than asking the runtime, so the
// same code checks the plain-call backend, which keeps no notion of a running compartment.

// gate.h's typed call erases the callee's type by design; clang warns about that cast at gate.h's line.
#pragma clang diagnostic ignored "-Wcast-function-type-mismatch"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <functional>
#include <thread>
#include <vector>

#include "flex/runtime/gate.h"
#include "flex/runtime/mpk_gate.h"
#include "flex/runtime/process.h"

#include "flex/runtime/backend_testing.h"

namespace fg = flex::runtime;

namespace {

enum : unsigned { kApp = 0, kCallee = 1, kPeer = 2, kComps = 3 };

template <typename B>
struct harness;

template <typename B>
typename B::target make_target(unsigned callee, unsigned id) {
  return harness<B>::make_target(callee, id);
}

template <typename B, typename R, typename... Args, typename... X>
R conf_call(unsigned callee, unsigned id, R (*fn)(Args...), X... x) {
  return fg::gate<B>::call(make_target<B>(callee, id), nullptr, fn, x...);
}

// ---- exports (one table per backend, the same in every compartment) ----
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
  kExports
};

using flex::runtime::testing::f0, flex::runtime::testing::f1, flex::runtime::testing::f2, flex::runtime::testing::f3,
    flex::runtime::testing::f4, flex::runtime::testing::f5, flex::runtime::testing::f6;
long neg(long a) {
  return -a;
}
int neg_int(int a) {
  return -a;
}
short to_short(long a) {
  return static_cast<short>(a);
}
const char *ptr_plus(const char *p, long n) {
  return p + n;
}
unsigned long big(unsigned long x) {
  return x ^ 0xffffffff00000000UL;
}
long g_stored;  // private to each compartment (one copy per process under process_backend)
void store(long v) {
  g_stored = v;
}
long load() {
  return g_stored;
}
long twice(long x) {
  return 2 * x;
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

template <typename F>
fg::erased_fn erase(F *f) {
  return reinterpret_cast<fg::erased_fn>(reinterpret_cast<void (*)()>(f));
}

template <typename B>
const fg::erased_fn g_exports[kExports] = {
    erase(&f0),    erase(&f1),   erase(&f2),      erase(&f3),        erase(&f4),       erase(&f5),
    erase(&f6),    erase(&neg),  erase(&neg_int), erase(&to_short),  erase(&ptr_plus), erase(&big),
    erase(&store), erase(&load), erase(&nest<B>), erase(&bounce<B>), erase(&apply<B>), erase(&twice)};


bool pku_available() {
  return fg::pku_status().available;
}

// The MPK backends carry the caller's and the callee's PKRU as immediates, so one gate type serves one
// pair of compartments. mpk_matrix<Full> adapts them to the suite's one-type-per-backend shape: app,
// callee and peer are mpk domains 1, 2 and 3 (keys 1-3, shared key 4), and each call runs the real gate
// instantiated for (the running compartment, the callee), from a 3x3 table made at compile time.
constexpr std::uint32_t kDomainPkru[kComps] = {fg::pkru_for(1, 4), fg::pkru_for(2, 4), fg::pkru_for(3, 4)};

template <bool Full>
struct mpk_matrix {
  static constexpr const char *kName = Full ? "mpk-full" : "mpk-light";
  struct target {
    unsigned callee = 0;
    unsigned export_id = 0;  // unused: MPK gates call the function itself
  };
  static inline thread_local unsigned running = kApp;  // which domain's rights this thread holds

  template <unsigned From, unsigned To>
  static fg::word hop(fg::erased_fn fn, const fg::call_args &a) {
    if constexpr (Full) {
      return fg::mpk_full<kDomainPkru[From], kDomainPkru[To], To>::invoke({}, fn, a);
    } else {
      return fg::mpk_light<kDomainPkru[From], kDomainPkru[To]>::invoke({}, fn, a);
    }
  }
  using hop_fn = fg::word (*)(fg::erased_fn, const fg::call_args &);
  template <unsigned From>
  static constexpr hop_fn row[kComps] = {&hop<From, 0>, &hop<From, 1>, &hop<From, 2>};
  static constexpr const hop_fn *table[kComps] = {row<0>, row<1>, row<2>};

  static fg::word invoke(const target &t, fg::erased_fn fn, const fg::call_args &a) {
    const unsigned from = running;
    running = t.callee;
    const fg::word r = table[from][t.callee](fn, a);
    running = from;
    return r;
  }
};
using mpk_light_matrix = mpk_matrix<false>;
using mpk_full_matrix = mpk_matrix<true>;
static_assert(fg::backend<mpk_full_matrix>);

// In-process backends: call, and the MPK backends (below).
template <typename B>
struct harness {
  static const char *unavailable() {
    if (std::strncmp(B::kName, "mpk", 3) == 0 && !pku_available()) {
      return "needs Intel MPK: this CPU or kernel has no protection keys (pkey_alloc failed)";
    }
    return nullptr;
  }
  static typename B::target make_target(unsigned callee, unsigned id) {
    if constexpr (requires { (typename B::target{callee, id}); }) {
      return typename B::target{callee, id};
    } else {
      return typename B::target{};
    }
  }
  template <typename F>
  static void run(const F &body) {
    body();
  }
};

// Three mpk domains, booted once per process for both MPK backends; empty on success.
const std::string &mpk_boot_once() {
  static const std::string err = [] {
    static const char *const none[] = {nullptr};
    static flex_compartment_layout comps[kComps] = {};
    const char *names[kComps] = {"app", "callee", "peer"};
    for (unsigned i = 0; i < kComps; ++i) comps[i] = {names[i], FLEX_ISO_MPK, i == 0, "", none, none, 1, {}};
    static flex_image_layout img = {};
    img.name = "conformance";
    img.n_compartments = kComps;
    img.compartments = comps;
    return fg::mpk_boot(img).message();
  }();
  return err;
}

// The MPK backends: boots three domains once per test process (keys cannot be given back once a gate
// holds them as immediates), then runs the scenario inside the app's domain, entered from the runtime.
template <bool Full>
struct harness<mpk_matrix<Full>> {
  static const char *unavailable() {
    if (!fg::pku_status().available) return "PKU not available: this CPU or kernel has no protection keys";
    return nullptr;
  }
  static typename mpk_matrix<Full>::target make_target(unsigned callee, unsigned) { return {callee, 0}; }

  static void boot() { ASSERT_EQ(mpk_boot_once(), ""); }

  static inline std::function<void()> body_;
  static long enter() {
    body_();
    return 0;
  }

  template <typename F>
  static void run(const F &body) {
    boot();
    body_ = body;
    using entry = std::conditional_t<Full, fg::mpk_full<fg::kPkruRuntime, kDomainPkru[kApp], kApp>,
                                     fg::mpk_light<fg::kPkruRuntime, kDomainPkru[kApp]>>;
    fg::gate<entry>::call({}, nullptr, &enter);
    body_ = nullptr;
  }
};

template <>
struct harness<fg::process_backend> {
  static const char *unavailable() { return nullptr; }
  static fg::process_backend::target make_target(unsigned callee, unsigned id) { return {callee, id}; }

  static void boot_image() {
    static fg::process_compartment comps[kComps] = {
        {.name = "app", .exports = g_exports<fg::process_backend>, .n_exports = kExports},
        {.name = "callee",
         .own_process = true,
         .exports = g_exports<fg::process_backend>,
         .n_exports = kExports},
        {.name = "peer",
         .own_process = true,
         .exports = g_exports<fg::process_backend>,
         .n_exports = kExports},
    };
    const fg::process_config cfg{.compartments = comps, .n_compartments = kComps, .spin_iterations = 1000};
    if (auto st = fg::process_boot(cfg); !st.ok()) {
      std::fprintf(stderr, "boot failed: %s\n", st.message().c_str());
      std::_Exit(2);
    }
  }

  template <typename F>
  static void run(const F &body) {
    const auto image = [&] {
      boot_image();
      body();
    };
    EXPECT_EXIT(flex::runtime::testing::run_in_child(image), ::testing::ExitedWithCode(0), "");
  }
};

template <typename B>
class gate_conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char *why = harness<B>::unavailable()) GTEST_SKIP() << why;
  }
};

struct backend_names {
  template <typename B>
  static std::string GetName(int) {
    return B::kName;
  }
};

// The backends under test: add one here.
using conformance_backends =
    ::testing::Types<fg::call_backend, fg::process_backend, mpk_light_matrix, mpk_full_matrix>;
TYPED_TEST_SUITE(gate_conformance, conformance_backends, backend_names);

}  // namespace

TYPED_TEST(gate_conformance, zero_to_six_arguments) {
  using B = TypeParam;
  harness<B>::run([] {
    EXPECT_EQ(conf_call<B>(kCallee, kF0, &f0), 42);
    EXPECT_EQ(conf_call<B>(kCallee, kF1, &f1, 1L), 1);
    EXPECT_EQ(conf_call<B>(kCallee, kF2, &f2, 1L, 2L), 12);
    EXPECT_EQ(conf_call<B>(kCallee, kF3, &f3, 1L, 2L, 3L), 123);
    EXPECT_EQ(conf_call<B>(kCallee, kF4, &f4, 1L, 2L, 3L, 4L), 1234);
    EXPECT_EQ(conf_call<B>(kCallee, kF5, &f5, 1L, 2L, 3L, 4L, 5L), 12345);
    EXPECT_EQ(conf_call<B>(kCallee, kF6, &f6, 1L, 2L, 3L, 4L, 5L, 6L), 123456);
    EXPECT_EQ(conf_call<B>(kCallee, kF6, &f6, 9L, 8L, 7L, 6L, 5L, 4L), 987654);
    EXPECT_EQ(conf_call<B>(kCallee, kF2, &f2, -3, -4), -34);  // int arguments sign-extend into long
  });
}

TYPED_TEST(gate_conformance, return_values) {
  using B = TypeParam;
  harness<B>::run([] {
    EXPECT_EQ(conf_call<B>(kCallee, kNeg, &neg, 5L), -5);
    EXPECT_EQ(conf_call<B>(kCallee, kNeg, &neg, -(1L << 62)), 1L << 62);
    EXPECT_EQ(conf_call<B>(kCallee, kNegInt, &neg_int, 7), -7);
    EXPECT_EQ(conf_call<B>(kCallee, kShort, &to_short, 0x12345L), static_cast<short>(0x2345));
    EXPECT_EQ(conf_call<B>(kCallee, kShort, &to_short, -2L), -2);
    static const char text[] = "conformance";
    EXPECT_EQ(conf_call<B>(kCallee, kPtr, &ptr_plus, text, 4L), text + 4);
    EXPECT_EQ(conf_call<B>(kCallee, kPtr, &ptr_plus, static_cast<const char *>(nullptr), 0L), nullptr);
    EXPECT_EQ(conf_call<B>(kCallee, kBig, &big, 0x0123456789abcdefUL), 0xfedcba9889abcdefUL);
    conf_call<B>(kCallee, kStore, &store, 99L);  // void
    EXPECT_EQ(conf_call<B>(kCallee, kLoad, &load), 99);
  });
}

TYPED_TEST(gate_conformance, nesting) {
  using B = TypeParam;
  harness<B>::run([] {
    EXPECT_EQ(conf_call<B>(kCallee, kNest, &nest<B>, 3L), 38);  // app -> callee -> peer
    EXPECT_EQ(conf_call<B>(kCallee, kNest, &nest<B>, -3L), -22);
  });
}

TYPED_TEST(gate_conformance, recursion_across_boundaries) {
  using B = TypeParam;
  harness<B>::run([] {
    // app -> callee -> app -> ... 50 crossings.
    EXPECT_EQ(conf_call<B>(kCallee, kBounce, &bounce<B>, 50L, kCallee, kApp),
              25 * (kCallee + 1) + 25 * (kApp + 1));
    // callee <-> peer, entered from app: 51 crossings.
    EXPECT_EQ(conf_call<B>(kCallee, kBounce, &bounce<B>, 51L, kCallee, kPeer),
              26 * (kCallee + 1) + 25 * (kPeer + 1));
  });
}

TYPED_TEST(gate_conformance, callbacks) {
  using B = TypeParam;
  harness<B>::run([] {
    EXPECT_EQ(conf_call<B>(kCallee, kApply, &apply<B>, kApp, kTwice, 21L), 43);   // back into the caller
    EXPECT_EQ(conf_call<B>(kCallee, kApply, &apply<B>, kPeer, kTwice, -5L), -9);  // on to a third one
  });
}

TYPED_TEST(gate_conformance, threads) {
  using B = TypeParam;
  if constexpr (std::is_same_v<B, fg::process_backend>) {
    GTEST_SKIP() << "the process backend serves one host thread per image (process.h)";
  } else {
    harness<B>::run([] {
      // Each thread crosses on its own (under mpk_full, on its own stacks) while the others do too.
      std::vector<long> got(4, 0);
      std::vector<std::thread> threads;
      for (unsigned i = 0; i < got.size(); ++i) {
        threads.emplace_back([&got, i] {
          long sum = 0;
          for (int round = 0; round < 50; ++round) {
            sum += conf_call<B>(kCallee, kBounce, &bounce<B>, 9L, kCallee, kPeer);
            sum += conf_call<B>(kCallee, kApply, &apply<B>, kApp, kTwice, static_cast<long>(i));
          }
          got[i] = sum;
        });
      }
      for (auto &t : threads) t.join();
      for (unsigned i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i], 50 * (5 * (kCallee + 1) + 4 * (kPeer + 1)) + 50 * (2 * static_cast<long>(i) + 1)) << i;
      }
    });
  }
}
