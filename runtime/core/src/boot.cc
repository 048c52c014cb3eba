// Boots an image's compartments from its layout table (flex_image) and gate tables (flex_image_exports):
// registers every compartment's static sections with the fault reporter, then starts the backends the
// profile asked for. Part of libflex_runtime (it needs the tables only an image defines).
#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "flex/runtime/boot.h"
#include "flex/runtime/fault.h"
#include "flex/runtime/heap.h"
#include "flex/runtime/image_gates.h"
#include "flex/runtime/layout.h"
#include "flex/runtime/mpk.h"
#include "flex/runtime/process.h"

extern "C" int flex_malloc_override_anchor __attribute__((weak));

namespace flex::runtime {
void install_termination_handlers();  // termination.cc
namespace {

constexpr region_kind kSectionKinds[FLEX_SEC_COUNT] = {region_kind::rodata, region_kind::data, region_kind::bss};

bool any_isolation(int iso) {
  for (unsigned i = 0; i < flex_image.n_compartments; ++i) {
    if (flex_image.compartments[i].isolation == iso) return true;
  }
  return false;
}

int register_layout() {
  const flex_image_layout &img = flex_image;
  for (unsigned i = 0; i < img.n_compartments; ++i) {
    if (int rc = register_compartment(i, img.compartments[i].name); rc < 0) return rc;
    for (int k = 0; k < FLEX_SEC_COUNT; ++k) {
      const flex_section &s = img.compartments[i].sections[k];
      if (s.start == s.end) continue;
      region r{reinterpret_cast<std::uintptr_t>(s.start), reinterpret_cast<std::uintptr_t>(s.end), i,
               kSectionKinds[k], s.name};
      if (int rc = register_region(r); rc < 0) return rc;
    }
  }
  for (const flex_section *sh : {&img.shared_data, &img.shared_rodata}) {
    if (sh->start == sh->end) continue;
    region r{reinterpret_cast<std::uintptr_t>(sh->start), reinterpret_cast<std::uintptr_t>(sh->end), kSharedOwner,
             region_kind::shared, sh->name};
    if (int rc = register_region(r); rc < 0) return rc;
  }
  return 0;
}

// The process backend's configuration, from the tables. Static storage: boot keeps pointers into it.
process_compartment g_comps[kMaxCompartments];
process_region g_regions[kMaxCompartments][FLEX_SEC_COUNT + 2];
void *g_main_stack_top = nullptr;  // the main process compartment's stack (process images without mpk)
process_region g_shared[1];

// The shared heap of process images (flexos_malloc_whitelist), carved from the arena mapped shared in
// every process; channels and other shared_alloc users get the rest. Pages are committed when touched.
constexpr std::size_t kSharedHeapBytes = std::size_t{64} << 20;
constexpr std::size_t kChannelArenaBytes = std::size_t{1} << 20;

constexpr std::size_t kDefaultHeapMib = 64;
constexpr std::size_t kStackBytes = std::size_t{8} << 20;
constexpr std::size_t kStackGuard = std::size_t{64} << 10;

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

// Whether this image routes malloc (libflex_malloc.a is linked: not in ASan images, whose runtime owns
// malloc). Its anchor is a weak reference here.
bool heap_routing_linked() {
  return &flex_malloc_override_anchor != nullptr;
}

int boot_processes() {
  const flex_image_layout &img = flex_image;
  if (img.n_compartments > kMaxCompartments) return -E2BIG;
  unsigned main_comp = kNoCompartment;
  for (unsigned i = 0; i < img.n_compartments; ++i) {
    const flex_compartment_layout &c = img.compartments[i];
    process_compartment &pc = g_comps[i];
    pc.name = c.name;
    pc.own_process = c.isolation == FLEX_ISO_PROCESS;
    pc.exports = flex_image_exports[i].fns;
    pc.n_exports = flex_image_exports[i].n;
    unsigned n = 0;
    for (int k = 0; k < FLEX_SEC_COUNT; ++k) {
      const flex_section &s = c.sections[k];
      if (s.start == s.end) continue;
      g_regions[i][n++] = {s.start, s.end, kSectionKinds[k], s.name};
    }
    if (pc.own_process && heap_routing_linked()) {
      // Its heap: mapped here, before the fork, so every process knows the range and all but its own
      // unmap it.
      const std::size_t bytes = (c.heap_mib ? c.heap_mib : kDefaultHeapMib) << 20;
      void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) return -errno;
      g_regions[i][n++] = {p, static_cast<char *>(p) + bytes, region_kind::heap, "heap"};
      pc.heap_base = p;
      pc.heap_bytes = bytes;
    }
    pc.regions = g_regions[i];
    pc.n_regions = n;
    if (pc.own_process && !(pc.stack_top = make_stack(pc, g_regions[i]))) return -errno;
    // The main process's compartment: the default one, or, when that has a process of its own, the first
    // of the others the main process holds (one trust domain without mpk), for its heap and stack.
    if (!pc.own_process && (c.is_default || main_comp == kNoCompartment)) main_comp = i;
  }
  // Without mpk domains, the main process's compartment gets a heap of its own the same way (with them,
  // PKRU picks each domain's heap there).
  void *main_heap = nullptr;
  std::size_t main_heap_bytes = 0;
  if (main_comp != kNoCompartment && heap_routing_linked() && !any_isolation(FLEX_ISO_MPK)) {
    const flex_compartment_layout &c = img.compartments[main_comp];
    main_heap_bytes = (c.heap_mib ? c.heap_mib : kDefaultHeapMib) << 20;
    main_heap = mmap(nullptr, main_heap_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (main_heap == MAP_FAILED) return -errno;
    process_compartment &pc = g_comps[main_comp];
    g_regions[main_comp][pc.n_regions++] = {main_heap, static_cast<char *>(main_heap) + main_heap_bytes,
                                            region_kind::heap, "heap"};
  }
  if (main_comp != kNoCompartment && !any_isolation(FLEX_ISO_MPK)) {
    // With mpk domains, each has its own stacks already (made after the fork, so absent from children).
    if (!(g_main_stack_top = make_stack(g_comps[main_comp], g_regions[main_comp]))) return -errno;
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
  cfg.shared_heap_bytes = kSharedHeapBytes;
  cfg.arena_bytes = kChannelArenaBytes + kSharedHeapBytes;
  if (int rc = boot(cfg); rc < 0) return rc;
  if (main_heap) {
    heap *h = heap::create({main_heap, main_heap_bytes});
    if (!h) return -ENOMEM;
    heap_install_process_own(h);
  }
  return 0;
}

}  // namespace

int boot_image() {
  if (int rc = register_layout(); rc < 0) {
    std::fprintf(stderr, "flex: cannot register the compartments' memory: %s\n", std::strerror(-rc));
    return rc;
  }
  load_symbols();  // best effort: without them, reports give the faulting pc instead of a function
  if (int rc = install_fault_reporter(); rc < 0) {
    std::fprintf(stderr, "flex: cannot install the fault reporter: %s\n", std::strerror(-rc));
    return rc;
  }
  const bool mpk = any_isolation(FLEX_ISO_MPK);
  auto refuse = [](const std::string &why) {
    std::fprintf(stderr, "flex: image %s cannot boot its mpk compartments: %s\n", flex_image.name, why.c_str());
    return -ENOTSUP;
  };
  // Checked before anything forks: without PKU, mpk_boot refuses before it touches anything.
  if (mpk && !pku_status().available) return refuse(mpk_boot(flex_image).value_or("no PKU"));
  // Processes first: they fork before any key, tagged range or domain heap exists, so a compartment
  // process holds none of the mpk domains' memory (their statics it unmaps at boot).
  if (any_isolation(FLEX_ISO_PROCESS)) {
    if (int rc = boot_processes(); rc < 0) {
      std::fprintf(stderr, "flex: cannot start the process compartments: %s\n", std::strerror(-rc));
      return rc;
    }
  }
  if (mpk) {
    // Refuses without exactly the keys the gates were built for: never runs unprotected. The shared heap
    // of a mixed image is the process backend's, tagged here with the shared key.
    mpk_boot_options opt;
    if (heap *shared = process_shared_heap()) {
      opt.shared_heap = shared;
      opt.shared_heap_region = {shared, kSharedHeapBytes};
    }
    if (auto err = mpk_boot(flex_image, opt)) return refuse(*err);
  }
  install_termination_handlers();
  return 0;
}

// Calls fn(argc, argv) with the stack pointer at `top`, and returns its result on the caller's stack.
[[gnu::naked, gnu::noinline]] int call_on_stack(void * /*top*/, int (* /*fn*/)(int, char **), int /*argc*/,
                                                char ** /*argv*/) {
  asm volatile(
      "push %rbp\n\t"
      "mov %rsp, %rbp\n\t"
      "mov %rdi, %rsp\n\t"
      "mov %rsi, %rax\n\t"
      "mov %edx, %edi\n\t"
      "mov %rcx, %rsi\n\t"
      "call *%rax\n\t"
      "mov %rbp, %rsp\n\t"
      "pop %rbp\n\t"
      "ret\n\t");
}

int enter_app(int argc, char **argv) {
  if (g_main_stack_top) return call_on_stack(g_main_stack_top, &flex_enter_app, argc, argv);
  return flex_enter_app(argc, argv);
}

}  // namespace flex::runtime
