// The gate front end: one call across a compartment boundary, whatever the mechanism.
//
// A backend is a type satisfying `flex::runtime::backend` (RLBox style: a template parameter, not a virtual
// interface, so the plain-call backend costs nothing). Every backend receives the callee as a type-erased
// function of six machine words and the arguments as six words: gate arguments are at most six integers
// or pointers (DESIGN.md §6), which the x86-64 SysV ABI passes in rdi, rsi, rdx, rcx, r8, r9 whatever
// their C types, so erasing them loses nothing and lets one backend serve every signature.
//
//   using gate = flex::runtime::gate<flex::runtime::call_backend>;
//   long n = gate::call(target, &counter, &console_write, buf, len);
//
// Counting lives here, not in the backends: when counting is off (the default), a gate pays one
// predictable branch; `--gate-stats` turns it on at boot.
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <type_traits>

namespace flex::runtime {

using word = std::uintptr_t;
inline constexpr int kMaxArgs = 6;

// The callee, erased: the ABI passes the first six integer/pointer arguments in registers, so calling a
// function of fewer arguments through this type passes the extra words in registers it never reads.
using erased_fn = word (*)(word, word, word, word, word, word);

struct call_args {
  word a[kMaxArgs] = {};
};

template <typename B>
concept backend = requires(const typename B::target &t, erased_fn fn, const call_args &args) {
  { B::kName } -> std::convertible_to<const char *>;
  { B::invoke(t, fn, args) } -> std::same_as<word>;
};

// A plain call: what `isolation: none` instantiates. No trace left once inlined.
struct call_backend {
  static constexpr const char *kName = "call";
  struct target {};
  static word invoke(const target &, erased_fn fn, const call_args &a) {
    return fn(a.a[0], a.a[1], a.a[2], a.a[3], a.a[4], a.a[5]);
  }
};
static_assert(backend<call_backend>);

// Per-boundary statistics, kept by the front end.
struct gate_counter {
  std::atomic<std::uint64_t> calls{0};
};

// Off unless the image was started with --gate-stats.
extern bool g_count_gates;

template <typename T>
concept gate_word = std::is_integral_v<T> || std::is_pointer_v<T> || std::is_enum_v<T> ||
                    std::is_null_pointer_v<T>;

template <typename T>
word to_word(T v) {
  if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<word>(v);
  } else if constexpr (std::is_null_pointer_v<T>) {
    return 0;
  } else {
    return static_cast<word>(v);  // sign-extends signed integers, as the ABI's callers may
  }
}

template <typename R>
R from_word(word w) {
  if constexpr (std::is_void_v<R>) {
    return;
  } else if constexpr (std::is_pointer_v<R>) {
    return reinterpret_cast<R>(w);
  } else {
    return static_cast<R>(w);
  }
}

template <backend B>
struct gate {
  // The erased form: what generated wrappers call.
  static word call_erased(const typename B::target &t, gate_counter *counter, erased_fn fn,
                          const call_args &args) {
    if (g_count_gates && counter) [[unlikely]] {
      counter->calls.fetch_add(1, std::memory_order_relaxed);
    }
    return B::invoke(t, fn, args);
  }

  // The typed form, for C++ callers.
  template <typename R, gate_word... Args, typename... Actual>
    requires(sizeof...(Args) <= kMaxArgs && sizeof...(Args) == sizeof...(Actual))
  static R call(const typename B::target &t, gate_counter *counter, R (*fn)(Args...), Actual... args) {
    static_assert(std::is_void_v<R> || gate_word<R>, "a gate returns void, an integer or a pointer");
    call_args a;
    int i = 0;
    ((a.a[i++] = to_word(static_cast<Args>(args))), ...);
    // Through void(*)(): a deliberate change of function type (see erased_fn).
    word r = call_erased(t, counter, reinterpret_cast<erased_fn>(reinterpret_cast<void (*)()>(fn)), a);
    return from_word<R>(r);
  }
};

}  // namespace flex::runtime
