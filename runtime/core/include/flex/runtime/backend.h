// One lifecycle for every isolation backend of an image (none, mpk-light and mpk-full, process; and the
// system-call monitor that lockdown adds): how the image's boot starts it from the layout table, how it
// ends, and what --describe says about it. The gate call itself is the backend's gate type (gate.h:
// `flex::runtime::backend`), instantiated per boundary by flexbuild; this is everything around it.
//
// A lifecycle is a type with static members (RLBox style, as the gates: no virtual interface):
//
//   struct my_lifecycle {
//     static constexpr const char *kName = "mpk";            // "cannot boot its mpk compartments: ..."
//     static constexpr const char *kGates[] = {"mpk-light", "mpk-full"};
//     static bool applies(const flex_image_layout &img);     // does this image use it?
//     static status check(const flex_image_layout &img);     // can this machine run it? (nothing changed)
//     static status boot(boot_context &ctx);                 // once, single-threaded, before the app
//     static void teardown();                                // the image ends normally
//     static void describe(const flex_image_layout &img, std::FILE *out);  // its part of --describe
//   };
//
// The image's boot (core/src/boot.cc) checks every backend that applies before it boots any, so an image
// that cannot be protected refuses before it forks or tags anything, then boots them in the order of
// `image_backends` (processes fork before keys, tagged memory and domain heaps exist), then tears them down
// in reverse.
#pragma once

#include <concepts>
#include <cstdio>

#include "flex/runtime/heap.h"
#include "flex/runtime/layout.h"
#include "flex/runtime/status.h"

namespace flex::runtime {

// What boot passes from one backend to the next.
struct boot_context {
  const flex_image_layout &img;
  // Set by the process backend: the shared heap every process maps (mpk then tags it with the shared
  // key instead of making its own), and the main process compartment's own stack, where the app runs
  // (nullptr: on the thread's stack).
  heap *shared_heap = nullptr;
  heap_region shared_heap_region = {};
  void *app_stack_top = nullptr;
  // Run by a backend in each process it starts for a compartment, once booted and before the
  // compartment's first instruction (the lockdown's; nullptr: nothing).
  void (*on_compartment_start)(unsigned compartment) = nullptr;
};

template <typename L>
concept lifecycle = requires(const flex_image_layout &img, boot_context &ctx, std::FILE *out) {
  { L::kName } -> std::convertible_to<const char *>;
  { L::kGates[0] } -> std::convertible_to<const char *>;
  { L::applies(img) } -> std::same_as<bool>;
  { L::check(img) } -> std::same_as<status>;
  { L::boot(ctx) } -> std::same_as<status>;
  { L::teardown() } -> std::same_as<void>;
  { L::describe(img, out) } -> std::same_as<void>;
};

// `isolation: none`: plain calls, nothing to boot.
struct call_lifecycle {
  static constexpr const char *kName = "call";
  static constexpr const char *kGates[] = {"call"};
  static bool applies(const flex_image_layout &) { return true; }
  static status check(const flex_image_layout &) { return {}; }
  static status boot(boot_context &) { return {}; }
  static void teardown() {}
  static void describe(const flex_image_layout &, std::FILE *) {}
};
static_assert(lifecycle<call_lifecycle>);

}  // namespace flex::runtime
