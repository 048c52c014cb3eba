// What the backend test suites share: gate targets of every arity (0 to 6 arguments), whose results
// encode their arguments in order (f3(1, 2, 3) == 123, so a swapped or dropped argument shows), export
// table entries from typed functions, and a way to run a scenario that boots compartments in a death-test
// child.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "flex/runtime/gate.h"

namespace flex::runtime::testing {

inline long f0() { return 42; }
inline long f1(long a) { return a; }
inline long f2(long a, long b) { return a * 10 + b; }
inline long f3(long a, long b, long c) { return f2(a, b) * 10 + c; }
inline long f4(long a, long b, long c, long d) { return f3(a, b, c) * 10 + d; }
inline long f5(long a, long b, long c, long d, long e) { return f4(a, b, c, d) * 10 + e; }
inline long f6(long a, long b, long c, long d, long e, long f) { return f5(a, b, c, d, e) * 10 + f; }

// An export table entry from a typed function (through void(*)(): the ABI trick of gate.h, spelled the way
// compilers accept without a warning).
template <typename F>
erased_fn erase(F *f) {
  return reinterpret_cast<erased_fn>(reinterpret_cast<void (*)()>(f));
}

// Runs `body` in a death-test child (a booted image cannot be un-booted) and exits 0 when every
// expectation held; failures are repeated on stderr, which the parent's EXPECT_EXIT shows.
template <typename F>
[[noreturn]] void run_in_child(const F &body) {
  body();
  const ::testing::TestResult *r = ::testing::UnitTest::GetInstance()->current_test_info()->result();
  for (int i = 0; i < r->total_part_count(); ++i) {
    const ::testing::TestPartResult &p = r->GetTestPartResult(i);
    if (p.failed()) std::fprintf(stderr, "%s:%d: %s\n", p.file_name(), p.line_number(), p.message());
  }
  std::exit(r->Failed() ? 1 : 0);
}

}  // namespace flex::runtime::testing
