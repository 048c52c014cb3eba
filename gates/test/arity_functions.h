// Gate targets of every arity (0 to 6 arguments), shared by the backend tests. Each result encodes its
// arguments in order (f3(1, 2, 3) == 123), so a swapped or dropped argument shows.
#pragma once

namespace flex::gates::testing {

inline long f0() { return 42; }
inline long f1(long a) { return a; }
inline long f2(long a, long b) { return a * 10 + b; }
inline long f3(long a, long b, long c) { return f2(a, b) * 10 + c; }
inline long f4(long a, long b, long c, long d) { return f3(a, b, c) * 10 + d; }
inline long f5(long a, long b, long c, long d, long e) { return f4(a, b, c, d) * 10 + e; }
inline long f6(long a, long b, long c, long d, long e, long f) { return f5(a, b, c, d, e) * 10 + f; }

}  // namespace flex::gates::testing
