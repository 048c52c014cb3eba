// The safer-than order (order.h).
#include "flex/build/order.h"

#include <algorithm>

namespace flex::build::order {

std::string_view to_string(wall w) {
  switch (w) {
    case wall::same: return "no wall";
    case wall::mpk_light: return "mpk-light";
    case wall::mpk_full: return "mpk-full";
    case wall::process: return "process";
  }
  return "?";
}

std::string_view to_string(verdict v) {
  switch (v) {
    case verdict::equal: return "equally safe";
    case verdict::a_safer: return "A is safer";
    case verdict::b_safer: return "B is safer";
    case verdict::incomparable: return "incomparable";
    case verdict::different_libraries: return "not comparable: different libraries";
  }
  return "?";
}

wall wall_of(std::optional<isolation> boundary, mpk_gate_kind gate) {
  if (!boundary) return wall::same;
  switch (*boundary) {
    case isolation::none: return wall::same;
    case isolation::mpk: return gate == mpk_gate_kind::light ? wall::mpk_light : wall::mpk_full;
    case isolation::process: return wall::process;
  }
  return wall::same;
}

std::size_t pair_index(std::size_t n, std::size_t a, std::size_t b) {
  return a * n - a * (a + 1) / 2 + (b - a - 1);
}

point point_of(const std::vector<compartment_view> &compartments, lockdown_mode lockdown) {
  struct placed {
    std::string lib;
    std::size_t comp;
  };
  std::vector<placed> libs;
  for (std::size_t c = 0; c < compartments.size(); ++c) {
    for (const std::string &l : compartments[c].libraries) libs.push_back({l, c});
  }
  std::sort(libs.begin(), libs.end(), [](const placed &x, const placed &y) { return x.lib < y.lib; });
  point p;
  p.lockdown = lockdown;
  const std::size_t n = libs.size();
  bool sets = true;
  for (const placed &l : libs) {
    p.libraries.push_back(l.lib);
    p.hardening.push_back(compartments[l.comp].hardening);
    sets = sets && compartments[l.comp].syscalls.has_value();
  }
  if (sets) {
    for (const placed &l : libs) p.syscalls.push_back(*compartments[l.comp].syscalls);
  }
  p.walls.assign(n * (n - 1) / 2, wall::same);
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      if (libs[a].comp == libs[b].comp) continue;
      p.walls[pair_index(n, a, b)] = std::max(compartments[libs[a].comp].strength, compartments[libs[b].comp].strength);
    }
  }
  return p;
}

namespace {

// `p` over `keep` (a subset of its libraries, in its order) only.
point restricted(const point &p, const std::vector<std::string> &keep) {
  point out;
  out.lockdown = p.lockdown;
  std::vector<std::size_t> at;
  for (const std::string &l : keep) {
    at.push_back(static_cast<std::size_t>(std::find(p.libraries.begin(), p.libraries.end(), l) - p.libraries.begin()));
  }
  const std::size_t n = p.libraries.size();
  out.libraries = keep;
  for (std::size_t i = 0; i < at.size(); ++i) {
    out.hardening.push_back(p.hardening[at[i]]);
    if (!p.syscalls.empty()) out.syscalls.push_back(p.syscalls[at[i]]);
    for (std::size_t j = i + 1; j < at.size(); ++j) {
      out.walls.push_back(p.walls[pair_index(n, std::min(at[i], at[j]), std::max(at[i], at[j]))]);
    }
  }
  return out;
}

}  // namespace

comparison compare(const point &a, const point &b) {
  comparison out;
  if (a.libraries != b.libraries) {
    // Not comparable in the order; each point on the libraries both place is still listed.
    std::vector<std::string> common;
    for (const std::string &l : a.libraries) {
      if (std::find(b.libraries.begin(), b.libraries.end(), l) != b.libraries.end()) common.push_back(l);
    }
    if (!common.empty()) {
      comparison part = compare(restricted(a, common), restricted(b, common));
      out.a_wins = std::move(part.a_wins);
      out.b_wins = std::move(part.b_wins);
    }
    out.result = verdict::different_libraries;
    return out;
  }
  const std::size_t n = a.libraries.size();
  auto note = [](std::vector<std::string> &to, std::string what) { to.push_back(std::move(what)); };
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      const wall wa = a.walls[pair_index(n, i, j)], wb = b.walls[pair_index(n, i, j)];
      if (wa == wb) continue;
      const std::string what = a.libraries[i] + " | " + a.libraries[j] + ": " + std::string(to_string(wa)) + " in A, " +
                               std::string(to_string(wb)) + " in B";
      note(wa > wb ? out.a_wins : out.b_wins, what);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (const std::string &h : a.hardening[i]) {
      if (!b.hardening[i].count(h)) note(out.a_wins, a.libraries[i] + ": " + h + " in A only");
    }
    for (const std::string &h : b.hardening[i]) {
      if (!a.hardening[i].count(h)) note(out.b_wins, b.libraries[i] + ": " + h + " in B only");
    }
  }
  if (!a.syscalls.empty() && !b.syscalls.empty()) {
    // Fewer calls is safer: the calls only B's set has are a point for A, one line per library.
    auto only = [](const std::set<std::string> &x, const std::set<std::string> &y) {
      std::string names;
      std::size_t count = 0;
      for (const std::string &s : x) {
        if (y.count(s)) continue;
        names += (count++ ? ", " : "") + s;
      }
      return std::make_pair(count, names);
    };
    for (std::size_t i = 0; i < n; ++i) {
      if (auto [k, names] = only(b.syscalls[i], a.syscalls[i]); k) {
        note(out.a_wins, a.libraries[i] + ": " + std::to_string(k) + " system calls allowed in B only (" + names + ")");
      }
      if (auto [k, names] = only(a.syscalls[i], b.syscalls[i]); k) {
        note(out.b_wins, a.libraries[i] + ": " + std::to_string(k) + " system calls allowed in A only (" + names + ")");
      }
    }
  }
  if (a.lockdown != b.lockdown) {
    const std::string what = "lockdown: " + std::string(to_string(a.lockdown)) + " in A, " +
                             std::string(to_string(b.lockdown)) + " in B";
    note(a.lockdown > b.lockdown ? out.a_wins : out.b_wins, what);
  }
  out.result = out.a_wins.empty() && out.b_wins.empty() ? verdict::equal
               : out.a_wins.empty()                      ? verdict::b_safer
               : out.b_wins.empty()                      ? verdict::a_safer
                                                         : verdict::incomparable;
  return out;
}

bool leq(const point &a, const point &b) {
  if (a.libraries != b.libraries || a.lockdown > b.lockdown) return false;
  for (std::size_t i = 0; i < a.walls.size(); ++i) {
    if (a.walls[i] > b.walls[i]) return false;
  }
  for (std::size_t i = 0; i < a.hardening.size(); ++i) {
    if (!std::includes(b.hardening[i].begin(), b.hardening[i].end(), a.hardening[i].begin(), a.hardening[i].end())) {
      return false;
    }
  }
  if (!a.syscalls.empty() && !b.syscalls.empty()) {
    for (std::size_t i = 0; i < a.syscalls.size(); ++i) {
      if (!std::includes(a.syscalls[i].begin(), a.syscalls[i].end(), b.syscalls[i].begin(), b.syscalls[i].end())) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace flex::build::order
