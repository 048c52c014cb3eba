#include "flex/explore/config.h"

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>

#include "flex/build/profile.h"
#include "flex/build/resolve.h"

namespace flex::explore {
namespace {

std::size_t pair_index(int n, int a, int b) {
  return static_cast<std::size_t>(a * n - a * (a + 1) / 2 + (b - a - 1));
}

std::string hex64(std::uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kHex[v & 15];
  return out;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Set partitions as restricted growth strings: rgs[0] = 0, rgs[i] <= 1 + max(rgs[0..i-1]).
void partitions(int n, int max_blocks, std::vector<int> &rgs, int i, int used,
                const std::function<void(const std::vector<int> &, int)> &emit) {
  if (i == n) {
    emit(rgs, used);
    return;
  }
  for (int b = 0; b <= used && b < max_blocks; ++b) {
    rgs[static_cast<std::size_t>(i)] = b;
    partitions(n, max_blocks, rgs, i + 1, std::max(used, b + 1), emit);
  }
}

// The representative of the mechanism assignments equivalent to `m` (see enumerate()).
std::vector<isolation> representative(std::vector<isolation> m, int default_block, const space &s) {
  const int k = static_cast<int>(m.size());
  if (k == 1) return {isolation::none};
  std::vector<isolation> raised(m.size());
  for (int i = 0; i < k; ++i) {
    isolation lo = isolation::process;
    for (int j = 0; j < k; ++j) {
      if (j != i) lo = std::min(lo, std::max(m[static_cast<std::size_t>(i)], m[static_cast<std::size_t>(j)]));
    }
    raised[static_cast<std::size_t>(i)] = lo;
  }
  isolation weakest = *std::min_element(raised.begin(), raised.end());
  if (s.allows(isolation::none) && weakest != isolation::none) {
    int lower = raised[static_cast<std::size_t>(default_block)] == weakest
                    ? default_block
                    : static_cast<int>(std::find(raised.begin(), raised.end(), weakest) - raised.begin());
    raised[static_cast<std::size_t>(lower)] = isolation::none;
  }
  return raised;
}

void finish(const space &s, configuration &c) {
  const int n = static_cast<int>(c.block_of.size());
  c.pairs.assign(static_cast<std::size_t>(n * (n - 1) / 2), kSame);
  for (int a = 0; a < n; ++a) {
    for (int b = a + 1; b < n; ++b) {
      int ba = c.block_of[static_cast<std::size_t>(a)], bb = c.block_of[static_cast<std::size_t>(b)];
      c.pairs[pair_index(n, a, b)] =
          ba == bb ? kSame
                   : static_cast<std::int8_t>(std::max(c.iso[static_cast<std::size_t>(ba)], c.iso[static_cast<std::size_t>(bb)]));
    }
  }
  c.lib_hard.clear();
  for (int b : c.block_of) c.lib_hard.push_back(c.hard[static_cast<std::size_t>(b)]);
  const build::mpk_gate_kind gate =
      s.mpk_gate.value_or("full") == "light" ? build::mpk_gate_kind::light : build::mpk_gate_kind::full;
  std::vector<build::order::compartment_view> views(static_cast<std::size_t>(c.blocks()));
  for (int b = 0; b < c.blocks(); ++b) {
    auto &v = views[static_cast<std::size_t>(b)];
    v.strength = c.blocks() > 1 ? build::order::wall_of(c.iso[static_cast<std::size_t>(b)], gate) : build::order::wall::same;
    for (int h = 0; h < 32; ++h) {
      if ((c.hard[static_cast<std::size_t>(b)] >> h) & 1u) v.hardening.insert(std::string(build::to_string(static_cast<build::hardening>(h))));
    }
  }
  for (int l = 0; l < n; ++l) views[static_cast<std::size_t>(c.block_of[static_cast<std::size_t>(l)])].libraries.push_back(s.libraries[static_cast<std::size_t>(l)]);
  c.safety = build::order::point_of(views, c.lockdown);
  std::ostringstream key;
  key << "p=";
  for (int b : c.block_of) key << b << ',';
  key << ";m=";
  for (isolation i : c.iso) key << build::to_string(i) << ',';
  key << ";h=";
  for (hardening_set h : c.hard) key << h << ',';
  if (c.lockdown != lockdown_mode::enforce) key << ";l=" << build::to_string(c.lockdown);
  c.key = key.str();
  std::ostringstream all;
  all << c.key << "|app=" << s.app << "|libs=";
  for (const auto &l : s.libraries) all << l << ',';
  all << "|default=" << s.default_lib << "|stack=" << s.stack_sharing.value_or("") << "|mpk=" << s.mpk_gate.value_or("")
      << "|heap=";
  for (const auto &[l, mib] : s.heap_mib) all << l << ':' << mib << ',';
  c.hash = hex64(fnv1a(all.str()), 10);
  // The slot leaves out the hardening and the lockdown (";h=...;l=...", the key's last parts).
  std::string slot = all.str();
  slot.erase(slot.find(";h="), slot.find('|') - slot.find(";h="));
  c.build_slot = hex64(fnv1a(slot), 10);
}

}  // namespace

bool configuration::needs_mpk() const {
  return blocks() > 1 && std::find(iso.begin(), iso.end(), isolation::mpk) != iso.end();
}

bool configuration::has_asan() const {
  hardening_set asan = 1u << static_cast<int>(build::hardening::asan);
  return std::any_of(hard.begin(), hard.end(), [&](hardening_set h) { return (h & asan) != 0; });
}

bool configuration::leq(const configuration &o) const {
  return build::order::leq(safety, o.safety);
}

std::string configuration::label(const space &s) const {
  std::string out;
  const int def = block_of[static_cast<std::size_t>(s.default_lib)];
  for (int b = 0; b < blocks(); ++b) {
    std::string libs;
    for (std::size_t l = 0; l < block_of.size(); ++l) {
      if (block_of[l] == b) libs += (libs.empty() ? "" : ",") + s.libraries[l];
    }
    if (b == def && !s.rest.empty()) libs += "*";
    if (!out.empty()) out += ' ';
    out += "{" + libs + "}";
    if (blocks() > 1) out += ":" + std::string(build::to_string(iso[static_cast<std::size_t>(b)]));
    if (hard[static_cast<std::size_t>(b)] != 0) out += "+" + hardening_text(hard[static_cast<std::size_t>(b)]);
  }
  if (s.lockdowns.size() > 1) out += " lockdown=" + std::string(build::to_string(lockdown));
  return out;
}

std::int8_t separation(const configuration &c, int a, int b) {
  if (a == b) return kSame;
  if (a > b) std::swap(a, b);
  return c.pairs[pair_index(static_cast<int>(c.block_of.size()), a, b)];
}

std::vector<configuration> enumerate(const space &s) {
  std::vector<configuration> out;
  const int n = static_cast<int>(s.libraries.size());
  std::vector<int> rgs(static_cast<std::size_t>(n), 0);
  partitions(n, s.max_compartments, rgs, 0, 0, [&](const std::vector<int> &p, int k) {
    // The hardening choices of each compartment: those every one of its libraries allows.
    std::vector<std::vector<hardening_set>> choices(static_cast<std::size_t>(k));
    for (int b = 0; b < k; ++b) {
      bool first = true;
      for (int l = 0; l < n; ++l) {
        if (p[static_cast<std::size_t>(l)] != b) continue;
        const auto &mine = s.hardening[static_cast<std::size_t>(l)];
        auto &cur = choices[static_cast<std::size_t>(b)];
        if (first) {
          cur = mine;
          first = false;
        } else {
          std::erase_if(cur, [&](hardening_set h) { return std::find(mine.begin(), mine.end(), h) == mine.end(); });
        }
      }
      if (choices[static_cast<std::size_t>(b)].empty()) return;  // no compartment can hold these together
    }
    // Distinct mechanism representatives.
    std::set<std::vector<isolation>> reps;
    std::vector<isolation> m(static_cast<std::size_t>(k), s.mechanisms.front());
    std::vector<std::size_t> digit(static_cast<std::size_t>(k), 0);
    const int def = p[static_cast<std::size_t>(s.default_lib)];
    while (true) {
      for (int b = 0; b < k; ++b) m[static_cast<std::size_t>(b)] = s.mechanisms[digit[static_cast<std::size_t>(b)]];
      reps.insert(representative(m, def, s));
      int b = 0;
      while (b < k && ++digit[static_cast<std::size_t>(b)] == s.mechanisms.size()) digit[static_cast<std::size_t>(b++)] = 0;
      if (b == k) break;
    }
    for (const auto &iso : reps) {
      std::vector<std::size_t> h(static_cast<std::size_t>(k), 0);
      while (true) {
        for (lockdown_mode mode : s.lockdowns) {
          configuration c;
          c.index = static_cast<int>(out.size());
          c.block_of = p;
          c.iso = iso;
          for (int b = 0; b < k; ++b)
            c.hard.push_back(choices[static_cast<std::size_t>(b)][h[static_cast<std::size_t>(b)]]);
          c.lockdown = mode;
          finish(s, c);
          out.push_back(std::move(c));
        }
        int b = 0;
        while (b < k && ++h[static_cast<std::size_t>(b)] == choices[static_cast<std::size_t>(b)].size()) h[static_cast<std::size_t>(b++)] = 0;
        if (b == k) break;
      }
    }
  });
  return out;
}

configuration baseline(const space &s, const std::vector<configuration> &all) {
  configuration c;
  c.index = -1;
  c.block_of.assign(s.libraries.size(), 0);
  c.iso = {isolation::none};
  c.hard = {0};
  c.lockdown = s.lockdowns.empty() ? lockdown_mode::enforce : s.lockdowns.front();
  finish(s, c);
  for (const configuration &a : all) {
    if (a.key == c.key) return a;
  }
  return c;
}

bool meets_requirements(const space &s, const configuration &c) {
  for (const separation_req &r : s.q.separate) {
    if (separation(c, r.a, r.b) < static_cast<std::int8_t>(r.by)) return false;
  }
  for (const hardening_req &r : s.q.harden) {
    if ((c.lib_hard[static_cast<std::size_t>(r.lib)] & r.with) != r.with) return false;
  }
  for (const lockdown_req &r : s.q.lockdown) {
    if (c.lockdown < r.at_least) return false;
  }
  return true;
}

std::string profile_name(const space &s, const configuration &c) {
  return s.name + "-" + c.hash;
}

std::string compartment_name(const space &s, const configuration &c, int block) {
  std::string name;
  for (std::size_t l = 0; l < c.block_of.size(); ++l) {
    if (c.block_of[l] == block) name += (name.empty() ? "" : "_") + s.libraries[l];
  }
  if (name == "shared") name = "shared_lib";  // reserved by profiles for shared memory
  return name;
}

std::string profile_yaml(const space &s, const configuration &c) {
  std::ostringstream y;
  y << "# " << c.label(s) << "\n";
  y << "# Generated by flexexplore from " << s.file.filename().string() << " (configuration " << c.hash << ").\n";
  y << "name: " << profile_name(s, c) << "\n";
  y << "app: " << s.app << "\n";
  y << "compartments:\n";
  const int def = c.block_of[static_cast<std::size_t>(s.default_lib)];
  std::map<std::string, std::uint64_t> heaps;
  for (int b = 0; b < c.blocks(); ++b) {
    std::string name = compartment_name(s, c, b);
    y << "  - name: " << name << "\n";
    if (b == def && c.blocks() > 1) y << "    default: true\n";
    y << "    isolation: " << build::to_string(c.iso[static_cast<std::size_t>(b)]) << "\n";
    if (c.hard[static_cast<std::size_t>(b)] != 0) {
      std::string list;
      for (const auto &h : hardening_names(c.hard[static_cast<std::size_t>(b)])) list += (list.empty() ? "" : ", ") + h;
      y << "    hardening: [" << list << "]\n";
    }
    std::string libs;
    std::uint64_t heap = 0;
    for (std::size_t l = 0; l < c.block_of.size(); ++l) {
      if (c.block_of[l] != b) continue;
      libs += (libs.empty() ? "" : ", ") + s.libraries[l];
      if (auto it = s.heap_mib.find(s.libraries[l]); it != s.heap_mib.end()) heap += it->second;
    }
    if (b == def) {
      for (const auto &r : s.rest) {
        if (auto it = s.heap_mib.find(r); it != s.heap_mib.end()) heap += it->second;
      }
    }
    if (heap) heaps[name] = heap;
    y << "    libraries: [" << libs << "]\n";
  }
  if (s.stack_sharing) y << "sharing:\n  stack: " << *s.stack_sharing << "\n";
  if (s.mpk_gate) y << "gates:\n  mpk: " << *s.mpk_gate << "\n";
  if (!heaps.empty()) {
    std::string list;
    for (const auto &[name, mib] : heaps) list += (list.empty() ? "" : ", ") + name + ": " + std::to_string(mib);
    y << "memory:\n  heap_mib: {" << list << "}\n";
  }
  if (c.lockdown != lockdown_mode::enforce) y << "lockdown: " << build::to_string(c.lockdown) << "\n";
  return y.str();
}

std::optional<std::string> refusal(const space &s, const configuration &c, const build::library_index &libs) {
  yaml::diag_sink diags;
  std::filesystem::path file = profile_name(s, c) + ".yaml";
  auto p = build::parse_profile(file, profile_yaml(s, c), diags);
  if (p && build::validate_profile(*p, libs, diags)) build::resolve(*p, libs, diags);
  if (diags.has_errors()) {
    for (const auto &d : diags.all()) {
      if (d.level == yaml::severity::error) return "flexbuild check: " + d.message;
    }
  }
  // flexbuild's build step refuses this, `check` does not (flexbuild/src/driver.cc).
  if (c.has_asan() && c.needs_mpk()) {
    return "flexbuild refuses asan in an image with mpk domains (ASan's allocator would pool every heap "
           "under key 0)";
  }
  return std::nullopt;
}

}  // namespace flex::explore
