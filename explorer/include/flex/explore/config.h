// Configurations: one point of a space (how the placed libraries are partitioned into compartments, the
// mechanism walling off each compartment, the hardening of each, the image's lockdown), their
// enumeration, the order between them, and the profile each one becomes.
//
//   auto all = flex::explore::enumerate(space);
//   if (all[3].leq(all[7])) ...                 // c7 is at least as safe as c3
//   std::string yaml = profile_yaml(space, all[7]);
//
// Identity: two configurations are the same when they isolate the same way, i.e. when they have the same
// partition, the same mechanism on every boundary (the stronger of its two sides), the same hardening
// of every library and the same lockdown. Mechanism assignments that give the same boundaries are one
// configuration: it is built with the representative described at `enumerate`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flex/build/manifest.h"
#include "flex/build/order.h"
#include "flex/explore/space.h"

namespace flex::explore {

// A library pair's separation: kSame when they share a compartment, else the boundary's isolation.
inline constexpr std::int8_t kSame = -1;

struct configuration {
  int index = 0;                      // position in the enumeration ("c<index>")
  std::vector<int> block_of;          // per placed library: its compartment, numbered by first library
  std::vector<isolation> iso;         // per compartment: the mechanism the profile names
  std::vector<hardening_set> hard;    // per compartment
  std::vector<std::int8_t> pairs;     // per library pair i < j: kSame or the boundary's isolation
  std::vector<hardening_set> lib_hard;  // per placed library: its compartment's hardening
  lockdown_mode lockdown = lockdown_mode::enforce;  // the image's (one for all its processes)
  build::order::point safety;         // its place in the safer-than order (flexbuild's order.h)
  // Canonical text of the above. The lockdown is written only when it is not enforce (flexbuild's
  // default), so the configurations of a space without `lockdown:` keep the keys and hashes they had.
  std::string key;
  std::string hash;                   // of key and everything else the profile says; names the cache
  // Configurations that differ only in hardening or lockdown share a build folder (named by this):
  // flexbuild's incremental build then recompiles only the compartments whose hardening changed (the
  // lockdown is one field of the generated image layout), and transforms nothing. Their executables
  // have different names, so each stays valid.
  std::string build_slot;

  int blocks() const { return static_cast<int>(iso.size()); }
  bool needs_mpk() const;
  bool has_asan() const;
  // This one is below (or equal to) `o` in flexbuild's safer-than order (flex/build/order.h, the one
  // `flexbuild compare` uses): every pair of libraries is walled off at least as strongly in `o` (a `none`
  // boundary is no wall), every library's hardening in `o` is a superset of its hardening here, and the
  // lockdown of `o` is at least as strong (off < log < enforce; DESIGN.md §8a).
  bool leq(const configuration &o) const;
  std::string id() const { return "c" + std::to_string(index); }
  // "{hello}:process+ubsan {console*}:none" (* marks the default compartment), then " lockdown=off"
  // when the space offers more than one lockdown.
  std::string label(const space &s) const;
};

// The separation of placed libraries a < b in c.
std::int8_t separation(const configuration &c, int a, int b);

// Every distinct configuration: set partitions of the placed libraries into at most max_compartments
// compartments (restricted growth strings), times the mechanism assignments that give distinct
// boundaries, times the hardening choices each compartment allows (a compartment's hardening applies to
// all its libraries, so it must be a choice of each of them), times the space's lockdowns (innermost,
// weakest first). A single compartment has no boundary: it
// is `none`. The representative of a set of equivalent mechanism assignments raises a unique weakest
// compartment to the next weakest (which changes no boundary), then, when `none` is allowed, lowers one
// weakest compartment (the default one if it is one of them, else the first) to `none`.
std::vector<configuration> enumerate(const space &s);

// One compartment, no hardening, the weakest lockdown the space offers: the baseline of relative floors
// (an image locked down less than the space
// offers is never built unasked). `index` is -1 unless it is part of `all`,
// in which case the member is returned.
configuration baseline(const space &s, const std::vector<configuration> &all);

// Whether c satisfies the question's `require` constraints.
bool meets_requirements(const space &s, const configuration &c);

std::string profile_name(const space &s, const configuration &c);  // "<space>-<hash>"
std::string compartment_name(const space &s, const configuration &c, int block);
// `lockdown:` is written only when it is not enforce, flexbuild's default: the profiles of a space
// without `lockdown:` stay byte for byte what they were.
std::string profile_yaml(const space &s, const configuration &c);

// What flexbuild would say about c's profile without building: nullopt when it accepts it, else the
// reason. Runs flexbuild's own profile validation and resolution (what `flexbuild check` runs) and the
// build step's refusal of asan in an image with mpk domains (which `check` does not cover).
std::optional<std::string> refusal(const space &s, const configuration &c, const build::library_index &libs);

}  // namespace flex::explore
