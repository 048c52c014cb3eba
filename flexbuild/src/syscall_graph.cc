// The system-call scan's walk (see syscall_scan.h): each compartment's sections linked by their
// relocations, reached from its roots, and what the reached code calls outside the objects charged.
#include <algorithm>
#include <deque>
#include <tuple>

#include "flex/build/syscall_scan.h"
#include "flex/build/syscall_scan_impl.h"
#include "flex/syscalls/syscalls.h"

namespace flex::build {

namespace {

using scan_impl::object_facts;
using scan_impl::object_section;
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// One compartment's objects as one graph: node n is section `slot` of object `object`.
struct graph {
  const std::vector<scan_object> *inputs = nullptr;
  const std::vector<object_facts> *objects = nullptr;
  struct node {
    std::size_t object;
    std::size_t slot;
  };
  std::vector<node> nodes;
  std::vector<std::size_t> first;  // per object: its first node
  std::unordered_map<std::string, std::size_t> globals;  // defined names: strong ones, else the first weak
  std::unordered_map<std::string, std::size_t> scoped;   // ... by scoped objects, for those that see them

  // Where a reference from `object` to `name` binds: kNone for outside the compartment.
  std::size_t bind(std::size_t object, const std::string &name) const {
    if ((*inputs)[object].sees_scoped) {
      if (auto it = scoped.find(name); it != scoped.end()) return it->second;
    }
    auto it = globals.find(name);
    return it == globals.end() ? kNone : it->second;
  }

  const object_section &section(std::size_t n) const { return (*objects)[nodes[n].object].sections[nodes[n].slot]; }
  std::size_t node_of(std::size_t object, std::uint32_t index) const {
    const auto &secs = (*objects)[object].sections;
    auto it = std::lower_bound(secs.begin(), secs.end(), index,
                               [](const object_section &s, std::uint32_t i) { return s.index < i; });
    return it != secs.end() && it->index == index ? first[object] + static_cast<std::size_t>(it - secs.begin()) : kNone;
  }
};

graph build_graph(const std::vector<scan_object> &inputs, const std::vector<object_facts> &objects) {
  graph g;
  g.inputs = &inputs;
  g.objects = &objects;
  for (std::size_t o = 0; o < objects.size(); ++o) {
    g.first.push_back(g.nodes.size());
    for (std::size_t s = 0; s < objects[o].sections.size(); ++s) g.nodes.push_back({o, s});
  }
  for (bool weak : {false, true}) {
    for (std::size_t o = 0; o < objects.size(); ++o) {
      for (const auto &[name, index] : weak ? objects[o].weak : objects[o].strong) {
        std::size_t n = g.node_of(o, index);
        if (n != kNone) (inputs[o].scoped ? g.scoped : g.globals).emplace(name, n);  // the first one wins
      }
    }
  }
  return g;
}

bool is_root(const scan_object &in, const object_section &s) {
  return s.constructor_table || (!in.replicated && !s.unwind_table);
}

// Every node reached from the roots; parent[n]: the node it was first reached from (kNone for roots and
// nodes not reached; reached[n] tells them apart).
struct walk {
  std::vector<bool> reached;
  std::vector<std::size_t> parent;
  std::vector<std::size_t> order;  // reached nodes, in the order reached
};

walk reach(const graph &g) {
  walk w{std::vector<bool>(g.nodes.size(), false), std::vector<std::size_t>(g.nodes.size(), kNone), {}};
  std::deque<std::size_t> queue;
  auto visit = [&](std::size_t n, std::size_t from) {
    if (n == kNone || w.reached[n]) return;
    w.reached[n] = true;
    w.parent[n] = from;
    w.order.push_back(n);
    queue.push_back(n);
  };
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    if (is_root((*g.inputs)[g.nodes[n].object], g.section(n))) visit(n, kNone);
  }
  while (!queue.empty()) {
    const std::size_t n = queue.front();
    queue.pop_front();
    for (const scan_impl::reference &r : g.section(n).refs) {
      if (r.local_section != 0) {
        visit(g.node_of(g.nodes[n].object, r.local_section), n);
      } else {
        visit(g.bind(g.nodes[n].object, r.name), n);
      }
    }
  }
  return w;
}

// Charges one reached node's calls: its references outside the compartment and its sites.
class charger {
 public:
  charger(const graph &g, const walk &w, const scan_session &session, const std::unordered_set<std::string> &elsewhere,
          compartment_calls &out)
      : g_(g), w_(w), session_(session), elsewhere_(elsewhere), out_(out) {}

  void charge(std::size_t n) {
    const object_section &s = g_.section(n);
    for (const scan_impl::reference &r : s.refs) {
      if (r.local_section == 0 && g_.bind(g_.nodes[n].object, r.name) == kNone) charge_external(n, r);
    }
    if (g_.globals.count("syscall")) return;  // the compartment defines its own syscall()
    for (const object_site &site : s.sites) {
      found_call c = base(n, site.offset);
      c.kind = site.kind;
      c.number = site.number;
      c.syscall = site.number >= 0 ? flex::syscalls::name(site.number) : "";
      if (site.kind == call_kind::syscall_function) c.via = "syscall";
      out_.calls.push_back(std::move(c));
    }
  }

 private:
  void charge_external(std::size_t n, const scan_impl::reference &r) {
    const link_model &m = session_.model();
    if (r.name == "syscall" || m.runtime.count(r.name) || elsewhere_.count(r.name)) return;
    const bool c_function = m.libc.count(r.name) != 0;
    if (!c_function && !m.cxx.count(r.name)) return;
    const syscall_table::function *fn = session_.table().find(r.name);
    if (!fn) {
      if (c_function) out_.unlisted.push_back({r.name, g_.section(n).name_at(r.offset), g_.nodes[n].object});
      return;
    }
    for (const std::string &call : fn->calls) {
      found_call c = base(n, r.offset);
      c.syscall = call;
      c.number = flex::syscalls::number(call);
      c.via = r.name;
      out_.calls.push_back(std::move(c));
    }
  }

  found_call base(std::size_t n, std::uint64_t offset) const {
    found_call c;
    c.function = g_.section(n).name_at(offset);
    c.object = g_.nodes[n].object;
    std::size_t root = n;
    while (w_.parent[root] != kNone) root = w_.parent[root];
    if (root != n) {
      c.root_function = g_.section(root).name_at(0);
      c.root_object = g_.nodes[root].object;
    } else {
      c.root_object = c.object;
    }
    return c;
  }

  const graph &g_;
  const walk &w_;
  const scan_session &session_;
  const std::unordered_set<std::string> &elsewhere_;
  compartment_calls &out_;
};

auto call_key(const found_call &c) {
  return std::tie(c.syscall, c.kind, c.via, c.number, c.object, c.function);
}

bool same_way(const found_call &a, const found_call &b) {
  return a.syscall == b.syscall && a.kind == b.kind && a.via == b.via && a.number == b.number;
}

// Keeps kMaxCallersListed functions of each way a call is made; the last one kept counts the others.
void cap_callers(std::vector<found_call> &calls) {
  std::vector<found_call> kept;
  for (std::size_t i = 0, n = 0; i < calls.size(); i += n) {
    for (n = 1; i + n < calls.size() && same_way(calls[i], calls[i + n]);) ++n;
    const std::size_t listed = std::min(n, kMaxCallersListed);
    for (std::size_t k = 0; k < listed; ++k) kept.push_back(std::move(calls[i + k]));
    kept.back().more = n - listed;
  }
  calls = std::move(kept);
}

void sort_and_merge(compartment_calls &out) {
  std::sort(out.calls.begin(), out.calls.end(), [](const found_call &a, const found_call &b) { return call_key(a) < call_key(b); });
  out.calls.erase(std::unique(out.calls.begin(), out.calls.end(),
                              [](const found_call &a, const found_call &b) { return call_key(a) == call_key(b); }),
                  out.calls.end());
  cap_callers(out.calls);
  auto unlisted_key = [](const unlisted_function &u) { return std::tie(u.name, u.object, u.function); };
  std::sort(out.unlisted.begin(), out.unlisted.end(),
            [&](const unlisted_function &a, const unlisted_function &b) { return unlisted_key(a) < unlisted_key(b); });
  out.unlisted.erase(std::unique(out.unlisted.begin(), out.unlisted.end(),
                                 [&](const auto &a, const auto &b) { return unlisted_key(a) == unlisted_key(b); }),
                     out.unlisted.end());
}

}  // namespace

std::optional<std::vector<compartment_calls>> scan_session::scan(
    const std::vector<std::vector<scan_object>> &compartments, std::string *error) {
  std::vector<std::vector<object_facts>> facts(compartments.size());
  // Names the placed libraries of each compartment define: another compartment's reference to one is
  // not its own call (a gate, or code the other compartment runs).
  std::vector<std::unordered_set<std::string>> defines(compartments.size());
  for (std::size_t c = 0; c < compartments.size(); ++c) {
    for (const scan_object &in : compartments[c]) {
      auto f = scan_impl::read_object(in.path, *this, error);
      if (!f) return std::nullopt;
      if (!in.replicated && !in.scoped) {
        for (const auto &[name, index] : f->strong) defines[c].insert(name);
      }
      facts[c].push_back(std::move(*f));
    }
  }
  std::vector<compartment_calls> out(compartments.size());
  for (std::size_t c = 0; c < compartments.size(); ++c) {
    std::unordered_set<std::string> elsewhere;
    for (std::size_t other = 0; other < compartments.size(); ++other) {
      if (other != c) elsewhere.insert(defines[other].begin(), defines[other].end());
    }
    const graph g = build_graph(compartments[c], facts[c]);
    const walk w = reach(g);
    charger ch(g, w, *this, elsewhere, out[c]);
    for (std::size_t n : w.order) ch.charge(n);
    sort_and_merge(out[c]);
  }
  return out;
}

}  // namespace flex::build
