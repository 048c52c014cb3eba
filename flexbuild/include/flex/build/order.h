// The "safer than" order between two images of the same libraries: FlexOS's partial order, generalised
// (DESIGN.md §7). One definition, used by `flexbuild compare` and by the explorer's poset.
//
//   flex::build::order::point a = ..., b = ...;    // per library pair the wall, per library the hardening
//   auto c = flex::build::order::compare(a, b);
//   if (c.verdict == flex::build::order::verdict::b_safer) ...
//   for (const std::string &why : c.a_wins) ...    // each point where a is the safer
//
// B is at least as safe as A when, for the same libraries:
//   - every pair of libraries is walled off at least as strongly in B: same compartment < mpk-light <
//     mpk-full < process. A `none` boundary is no wall: its two sides count as one compartment, so
//     {hello}:none {console}:none is exactly as safe as {hello,console};
//   - every library's hardening in B includes its hardening in A;
//   - every library's compartment may make no system call in B that it may not make in A (its set in B
//     is a subset), when both points carry sets;
//   - the lockdown of B is at least as strong (off < log < enforce).
// Otherwise the two are incomparable, and each point where one wins is listed.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flex/build/profile.h"

namespace flex::build::order {

// How strongly two libraries are walled off from each other.
enum class wall : std::int8_t { same = 0, mpk_light = 1, mpk_full = 2, process = 3 };
std::string_view to_string(wall w);
// The wall a boundary gives; no boundary (the same compartment) and `none` give wall::same.
wall wall_of(std::optional<isolation> boundary, mpk_gate_kind gate);

struct point {
  std::vector<std::string> libraries;          // the libraries placed, in a fixed order
  std::vector<wall> walls;                     // per pair i < j (pair_index)
  std::vector<std::set<std::string>> hardening;  // per library: its compartment's hardening
  std::vector<std::set<std::string>> syscalls;   // per library: its compartment's set (empty vector: unknown)
  lockdown_mode lockdown = lockdown_mode::enforce;
};
std::size_t pair_index(std::size_t n, std::size_t a, std::size_t b);  // a < b < n

// A point from compartments: each library's compartment index, each compartment's wall against the
// others (the stronger side of a boundary gives it: max of both compartments' walls), hardening and set.
struct compartment_view {
  std::vector<std::string> libraries;
  wall strength = wall::same;  // of its walls: what its isolation and the image's mpk gate give
  std::set<std::string> hardening;
  std::optional<std::set<std::string>> syscalls;
};
point point_of(const std::vector<compartment_view> &compartments, lockdown_mode lockdown);

enum class verdict { equal, a_safer, b_safer, incomparable, different_libraries };
std::string_view to_string(verdict v);

struct comparison {
  verdict result = verdict::equal;
  std::vector<std::string> a_wins;  // each point where A is safer, in words
  std::vector<std::string> b_wins;
};
comparison compare(const point &a, const point &b);
// A is at most as safe as B (the explorer's poset: B at or above A).
bool leq(const point &a, const point &b);

}  // namespace flex::build::order
