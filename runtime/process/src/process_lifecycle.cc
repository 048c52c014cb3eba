// The process backend's lifecycle (process.h, backend.h): an image's layout table turned into the
// backend's configuration, booted, and described.
#include <sched.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "flex/runtime/image_gates.h"
#include "flex/runtime/process.h"

extern "C" int flex_malloc_override_anchor __attribute__((weak));

namespace flex::runtime {
namespace {

constexpr region_kind kSectionKinds[FLEX_SEC_COUNT] = {region_kind::rodata, region_kind::data, region_kind::bss};

// The shared heap of process images (flexos_malloc_whitelist), carved from the arena mapped shared in
// every process; channels and other shared_alloc users get the rest. Pages are committed when touched.
constexpr std::size_t kSharedHeapBytes = std::size_t{64} << 20;
constexpr std::size_t kChannelArenaBytes = std::size_t{1} << 20;

constexpr std::size_t kDefaultHeapMib = 64;
constexpr std::size_t kStackBytes = std::size_t{8} << 20;
constexpr std::size_t kStackGuard = std::size_t{64} << 10;

// Static storage: the backend keeps pointers into it for the image's lifetime.
process_compartment g_comps[kMaxCompartments];
process_region g_regions[kMaxCompartments][FLEX_SEC_COUNT + 2];
process_region g_shared[1];
std::uint64_t g_peers[kMaxCompartments];

bool any_isolation(const flex_image_layout &img, int iso) {
  for (unsigned i = 0; i < img.n_compartments; ++i) {
    if (img.compartments[i].isolation == iso) return true;
  }
  return false;
}

// A compartment's stack, mapped before the fork: a guard below, the region (guard included) added to its
// private regions so that every other process unmaps it. Returns its 16-byte aligned top, or nullptr.
void *make_stack(process_compartment &pc, process_region *regions) {
  void *p = mmap(nullptr, kStackGuard + kStackBytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  if (mprotect(p, kStackGuard, PROT_NONE) != 0) {
    munmap(p, kStackGuard + kStackBytes);
    return nullptr;
  }
  char *end = static_cast<char *>(p) + kStackGuard + kStackBytes;
  regions[pc.n_regions++] = {p, end, region_kind::stack, "stack"};
  return end;
}

// Whether this image routes malloc (libflex_runtime_malloc.a is linked: not in ASan images, whose runtime
// owns malloc). Its anchor is a weak reference here.
// How long a gate's waiter spins before it sleeps. Spinning pays only while the other side runs on a CPU
// of its own: where the image's processes and the rest of the machine (the clients of a server) compete
// for fewer CPUs, a spinner holds the CPU the process it waits for was woken on, which then runs as late
// as the next scheduler tick. redis-server with net in a process, on 2 CPUs with redis-benchmark's 50
// clients beside it: 18 900 and 17 700 GETs/s without spinning, 10 500 and 15 400 with 20 000 spins (one
// client alone waits less with spinning: 46-58 us against 115 us at the median). So: spin only with a
// CPU for each process and one more.
unsigned spin_for_this_machine(const flex_image_layout &img, unsigned spin) {
  unsigned processes = 1;
  for (unsigned i = 0; i < img.n_compartments; ++i) processes += img.compartments[i].isolation == FLEX_ISO_PROCESS;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  const int n = ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
  return static_cast<unsigned>(n) >= processes + 1 ? spin : 0;
}

bool heap_routing_linked() {
  return &flex_malloc_override_anchor != nullptr;
}

void *map_heap(std::size_t bytes) {
  return mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

// One compartment's entry of the configuration: its statics, and for a process compartment its heap
// (mapped here, before the fork, so every process knows the range and all but its own unmap it) and stack.
status configure(const flex_compartment_layout &c, unsigned i) {
  process_compartment &pc = g_comps[i];
  pc.name = c.name;
  pc.own_process = c.isolation == FLEX_ISO_PROCESS;
  pc.exports = flex_image_exports[i].fns;
  pc.n_exports = flex_image_exports[i].n;
  unsigned n = 0;
  for (int k = 0; k < FLEX_SEC_COUNT; ++k) {
    const flex_section &s = c.sections[k];
    if (s.start != s.end) g_regions[i][n++] = {s.start, s.end, kSectionKinds[k], s.name};
  }
  if (pc.own_process && heap_routing_linked()) {
    const std::size_t bytes = (c.heap_mib ? c.heap_mib : kDefaultHeapMib) << 20;
    void *p = map_heap(bytes);
    if (p == MAP_FAILED) return status::from_errno(std::string("cannot map the heap of compartment '") + c.name + "'", errno);
    g_regions[i][n++] = {p, static_cast<char *>(p) + bytes, region_kind::heap, "heap"};
    pc.heap_base = p;
    pc.heap_bytes = bytes;
  }
  pc.regions = g_regions[i];
  pc.n_regions = n;
  if (pc.own_process && !(pc.stack_top = make_stack(pc, g_regions[i]))) {
    return status::from_errno(std::string("cannot map the stack of compartment '") + c.name + "'", errno);
  }
  return {};
}

// The main process's compartment: the default one, or, when that has a process of its own, the first of
// the others the main process holds (one trust domain without mpk), for its heap and stack.
unsigned main_compartment(const flex_image_layout &img) {
  unsigned main_comp = kNoCompartment;
  for (unsigned i = 0; i < img.n_compartments; ++i) {
    const flex_compartment_layout &c = img.compartments[i];
    if (c.isolation != FLEX_ISO_PROCESS && (c.is_default || main_comp == kNoCompartment)) main_comp = i;
  }
  return main_comp;
}

// The compartment holding the app library (kNoCompartment if none does).
unsigned app_compartment(const flex_image_layout &img) {
  for (unsigned i = 0; i < img.n_compartments; ++i) {
    for (const char *const *l = img.compartments[i].libraries; l && *l; ++l) {
      if (img.app && std::strcmp(*l, img.app) == 0) return i;
    }
  }
  return kNoCompartment;
}

// Which compartments talk: the peers flexbuild found (a library of one requires a library of the other;
// a layout without them: every boundary), and the main process's compartment with the app's, since the
// runtime enters the app from there.
const std::uint64_t *peers_of(const flex_image_layout &img, unsigned main_comp) {
  auto link = [](unsigned a, unsigned b) {
    g_peers[a] |= std::uint64_t{1} << b;
    g_peers[b] |= std::uint64_t{1} << a;
  };
  bool any = false;
  for (unsigned a = 0; a < img.n_compartments; ++a) {
    for (unsigned b = 0; b < img.n_compartments; ++b) {
      if (img.compartments[a].peers >> b & 1) {
        link(a, b);
        any = true;
      }
    }
  }
  for (unsigned i = 0; !any && i < img.n_boundaries; ++i) {
    const flex_boundary_layout &b = img.boundaries[i];
    if (b.from < img.n_compartments && b.to < img.n_compartments) link(b.from, b.to);
  }
  if (const unsigned app = app_compartment(img); app != kNoCompartment && main_comp != kNoCompartment) {
    link(app, main_comp);
  }
  return g_peers;
}

}  // namespace

bool process_lifecycle::applies(const flex_image_layout &img) {
  return any_isolation(img, FLEX_ISO_PROCESS);
}

status process_lifecycle::boot(boot_context &ctx) {
  const flex_image_layout &img = ctx.img;
  if (img.n_compartments > kMaxCompartments) {
    return status::error("an image has at most " + std::to_string(kMaxCompartments) + " compartments");
  }
  for (unsigned i = 0; i < img.n_compartments; ++i) {
    if (status s = configure(img.compartments[i], i); !s.ok()) return s;
  }
  const unsigned main_comp = main_compartment(img);
  const bool mpk = any_isolation(img, FLEX_ISO_MPK);
  // Without mpk domains, the main process's compartment gets a heap and a stack of its own the same way
  // (with them, PKRU picks each domain's heap, and each domain has its own stacks, made after the fork).
  void *main_heap = nullptr;
  std::size_t main_heap_bytes = 0;
  if (main_comp != kNoCompartment && !mpk) {
    const flex_compartment_layout &c = img.compartments[main_comp];
    process_compartment &pc = g_comps[main_comp];
    if (heap_routing_linked()) {
      main_heap_bytes = (c.heap_mib ? c.heap_mib : kDefaultHeapMib) << 20;
      main_heap = map_heap(main_heap_bytes);
      if (main_heap == MAP_FAILED) return status::from_errno("cannot map the main process's heap", errno);
      g_regions[main_comp][pc.n_regions++] = {main_heap, static_cast<char *>(main_heap) + main_heap_bytes,
                                              region_kind::heap, "heap"};
    }
    if (!(ctx.app_stack_top = make_stack(pc, g_regions[main_comp]))) {
      return status::from_errno("cannot map the main process's stack", errno);
    }
  }
  process_config cfg;
  cfg.compartments = g_comps;
  cfg.n_compartments = img.n_compartments;
  unsigned n_shared = 0;
  if (img.shared_data.start != img.shared_data.end) {
    g_shared[n_shared++] = {img.shared_data.start, img.shared_data.end, region_kind::shared, img.shared_data.name};
  }
  cfg.shared = g_shared;
  cfg.n_shared = n_shared;
  cfg.main_compartment = main_comp;
  cfg.peers = peers_of(img, main_comp);
  cfg.shared_heap_bytes = kSharedHeapBytes;
  cfg.on_start = ctx.on_compartment_start;
  cfg.arena_bytes = kChannelArenaBytes + kSharedHeapBytes;
  cfg.spin_iterations = spin_for_this_machine(img, cfg.spin_iterations);
  if (status s = process_boot(cfg); !s.ok()) return s;
  if (main_heap) {
    heap *h = heap::create({main_heap, main_heap_bytes});
    if (!h) return status::error("cannot set up the main process's heap");
    heap_install_process_own(h);
  }
  if (heap *shared = process_shared_heap()) {
    ctx.shared_heap = shared;
    ctx.shared_heap_region = {shared, kSharedHeapBytes};
  }
  return {};
}

void process_lifecycle::describe(const flex_image_layout &img, std::FILE *out) {
  std::fputs("process backend: processes of their own for ", out);
  bool first = true;
  for (unsigned i = 0; i < img.n_compartments; ++i) {
    if (img.compartments[i].isolation != FLEX_ISO_PROCESS) continue;
    std::fprintf(out, "%s%s", first ? "" : ", ", img.compartments[i].name);
    first = false;
  }
  const unsigned main_comp = main_compartment(img);
  std::fprintf(out, "; the main process holds %s\n",
               main_comp == kNoCompartment ? "no compartment" : img.compartments[main_comp].name);
  // Machine-readable (flexbuild report reads it); each process's stack is the kernel's, as for any process.
  std::fprintf(out, "memory: process default_heap_mib=%zu shared_heap_mib=%zu channel_arena_kib=%zu\n", kDefaultHeapMib,
               kSharedHeapBytes >> 20, kChannelArenaBytes >> 10);
}

}  // namespace flex::runtime
