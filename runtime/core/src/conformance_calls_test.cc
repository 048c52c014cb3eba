// The gate conformance suite, calls: arguments and results, nesting, recursion, callbacks, threads, and
// the rights and stack each callee runs with (conformance.h says how each backend runs them).
#include <thread>
#include <vector>

#include "conformance.h"

namespace flex::runtime::conformance {
namespace {

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
    // Deep: 500 crossings, every callee's frames live at once.
    EXPECT_EQ(conf_call<B>(kPeer, kBounce, &bounce<B>, 500L, kPeer, kCallee),
              250 * (kPeer + 1) + 250 * (kCallee + 1));
  });
}

TYPED_TEST(gate_conformance, callbacks) {
  using B = TypeParam;
  harness<B>::run([] {
    EXPECT_EQ(conf_call<B>(kCallee, kApply, &apply<B>, kApp, kTwice, 21L), 43);    // back into the caller
    EXPECT_EQ(conf_call<B>(kCallee, kApply, &apply<B>, kPeer, kTwice, -5L), -9);   // on to a third one
    EXPECT_EQ(conf_call<B>(kCallee, kApply, &apply<B>, kCallee, kTwice, 8L), 17);  // into itself
  });
}

// Four workers, each crossing 50 times into a bounce and a callback. Where the backend serves several host
// threads they run at once (under mpk_full, each on its own stacks); the process backend serves one host
// thread per image, so there they run one after the other on the app's thread.
TYPED_TEST(gate_conformance, threads) {
  using B = TypeParam;
  harness<B>::run([] {
    std::vector<long> got(4, 0);
    const auto work = [&got](unsigned i) {
      long sum = 0;
      for (int round = 0; round < 50; ++round) {
        sum += conf_call<B>(kCallee, kBounce, &bounce<B>, 9L, kCallee, kPeer);
        sum += conf_call<B>(kCallee, kApply, &apply<B>, kApp, kTwice, static_cast<long>(i));
      }
      got[i] = sum;
    };
    if constexpr (harness<B>::kConcurrentThreads) {
      std::vector<std::thread> threads;
      for (unsigned i = 0; i < got.size(); ++i) threads.emplace_back(work, i);
      for (auto &t : threads) t.join();
    } else {
      for (unsigned i = 0; i < got.size(); ++i) work(i);
    }
    for (unsigned i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i], 50 * (5 * (kCallee + 1) + 4 * (kPeer + 1)) + 50 * (2 * static_cast<long>(i) + 1))
          << i;
    }
  });
}

// The callee holds its own rights (its PKRU, its process) while it runs, with any number of arguments,
// and the caller's come back after each return, nested calls included.
TYPED_TEST(gate_conformance, a_callee_runs_with_its_own_rights) {
  using B = TypeParam;
  using H = harness<B>;
  H::run([] {
    const word app = H::rights_of(kApp), callee = H::rights_of(kCallee), peer = H::rights_of(kPeer);
    if constexpr (H::kSeparatesRights) {
      EXPECT_NE(app, callee);
      EXPECT_NE(callee, peer);
    } else {
      EXPECT_EQ(app, callee);
      EXPECT_EQ(callee, peer);
    }
    EXPECT_EQ(H::rights(), app);
    EXPECT_EQ(conf_call<B>(kCallee, kRights, &rights<B>), callee);
    EXPECT_EQ(H::rights(), app);
    EXPECT_EQ(conf_call<B>(kCallee, kRights6, &rights6<B>, 1L, 2L, 3L, 4L, 5L, 6L), callee);
    EXPECT_EQ(conf_call<B>(kPeer, kRights, &rights<B>), peer);
    EXPECT_EQ(conf_call<B>(kCallee, kRightsAcross, &rights_across<B>, kPeer), peer);  // app -> callee -> peer
    EXPECT_EQ(conf_call<B>(kCallee, kRightsAcross, &rights_across<B>, kApp), app);    // and back into app
    EXPECT_EQ(H::rights(), app);
  });
}

// mpk-full and process callees run on a stack of their own; call and mpk-light ones below the caller's
// frame on the caller's stack. Either way the stack unwinds: the next call starts where the last did.
TYPED_TEST(gate_conformance, a_callee_runs_on_the_stack_its_backend_promises) {
  using B = TypeParam;
  using H = harness<B>;
  H::run([] {
    const auto here = reinterpret_cast<word>(__builtin_frame_address(0));
    const word there = conf_call<B>(kCallee, kFrame, &frame);
    EXPECT_EQ(conf_call<B>(kCallee, kFrame, &frame), there);
    if constexpr (H::kStacks == stack_use::own) {
      const stack_range own = H::stack_of(kCallee);
      EXPECT_TRUE(own.contains(there)) << std::hex << there << " outside " << own.lo << "-" << own.hi;
      EXPECT_FALSE(own.contains(here));
      EXPECT_FALSE(H::stack_of(kPeer).contains(there));
    } else {
      EXPECT_LT(there, here);
      EXPECT_LT(here - there, word{64} << 10) << "the callee's frame is not near the caller's";
    }
  });
}

}  // namespace
}  // namespace flex::runtime::conformance
