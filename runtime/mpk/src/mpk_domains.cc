// Booting the mpk domains of an image: keys, tagging of static data, heaps, stack arenas, and the
// read-only runtime page. Runs once, single-threaded, before any gate.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "flex/runtime/fault.h"
#include "flex/runtime/mpk_impl.h"

namespace flex::runtime {
namespace {

mpk_plan g_plan;

std::string hex(std::uintptr_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  return "0x" + std::string(buf, end);
}

std::string errno_text(int e) {
  return std::strerror(e);
}

// The domains' names, for messages: "app, net (none), core".
std::string domain_names(const flex_image_layout &img, const mpk_plan &plan) {
  std::string out;
  for (unsigned i = 0; i < plan.n_domains; ++i) {
    if (i) out += ", ";
    out += img.compartments[plan.domains[i].compartment].name;
  }
  return out;
}

status read_maps(std::string &out) {
  int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return status::error("cannot open /proc/self/maps: " + errno_text(errno));
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return status::error("cannot read /proc/self/maps: " + errno_text(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return {};
}

// A heap region of `mib` MiB tagged with `key`. Mapped once and never remapped.
status make_heap(std::size_t mib, int key, heap *&out, unsigned owner) {
  std::size_t bytes = mib << 20;
  void *p =
      ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return status::error("cannot map a " + std::to_string(mib) + " MiB heap: " + errno_text(errno));
  if (::pkey_mprotect(p, bytes, PROT_READ | PROT_WRITE, key) != 0) {
    int e = errno;
    ::munmap(p, bytes);
    return status::error("cannot tag a heap with key " + std::to_string(key) + ": " + errno_text(e));
  }
  out = heap::create({p, bytes});
  if (!out) return status::error("a " + std::to_string(mib) + " MiB heap is too small");
  // Named for fault reports: an access from another domain is reported as hitting this heap.
  const auto b = reinterpret_cast<std::uintptr_t>(p);
  region r{b, b + bytes, owner, owner == kSharedOwner ? region_kind::shared : region_kind::heap,
           owner == kSharedOwner ? "flex.shared_heap" : "heap"};
  if (int rc = register_region(r); rc < 0) return status::error("cannot register the heap: " + errno_text(-rc));
  return {};
}

// Which compartment holds these rights: the domain whose PKRU they are; the runtime for any other value.
unsigned compartment_of_pkru(std::uint32_t pkru) {
  for (unsigned i = 0; i < g_plan.n_domains; ++i) {
    if (g_plan.domains[i].pkru == pkru) return g_plan.domains[i].compartment;
  }
  return kNoCompartment;
}

unsigned compartment_of_this_thread() {
  std::uint32_t eax = 0;
  asm volatile("rdpkru" : "=a"(eax) : "c"(0) : "rdx");
  return compartment_of_pkru(eax);
}

void free_keys(int up_to) {
  for (int k = 1; k <= up_to; ++k) ::pkey_free(k);
}

}  // namespace

status plan_mpk(const flex_image_layout &img, mpk_plan &out) {
  int iso[64] = {};
  if (img.n_compartments > 64) {
    return status::error("image '" + std::string(img.name) + "' has " + std::to_string(img.n_compartments) +
           " compartments; the mpk runtime handles at most 64");
  }
  for (unsigned i = 0; i < img.n_compartments; ++i) iso[i] = img.compartments[i].isolation;
  if (!plan_mpk(iso, img.n_compartments, out)) {
    unsigned members = 0;
    for (unsigned i = 0; i < img.n_compartments; ++i) members += iso[i] != FLEX_ISO_PROCESS;
    return status::error("image '" + std::string(img.name) + "' puts " + std::to_string(members) +
           " compartments in one address space under mpk, but x86-64 has " + std::to_string(kMaxMpkDomains) +
           " protection keys for compartments (16, minus key 0, the shared key and the runtime's key); merge "
           "compartments or move some to isolation: process");
  }
  return {};
}

status plan_tagging(std::string_view maps, std::uintptr_t begin, std::uintptr_t end,
                                        std::vector<tag_piece> &out) {
  out.clear();
  const std::uintptr_t page = 4096;
  if ((begin | end) & (page - 1)) return status::error("range " + hex(begin) + "-" + hex(end) + " is not page-aligned");
  if (begin >= end) return {};
  std::uintptr_t next = begin;  // the first byte not yet covered
  while (!maps.empty() && next < end) {
    std::size_t eol = maps.find('\n');
    std::string_view line = maps.substr(0, eol);
    maps = eol == std::string_view::npos ? std::string_view{} : maps.substr(eol + 1);
    // "start-end perms offset dev inode path"
    std::uintptr_t lo = 0, hi = 0;
    auto r1 = std::from_chars(line.data(), line.data() + line.size(), lo, 16);
    if (r1.ec != std::errc() || r1.ptr == line.data() + line.size() || *r1.ptr != '-') continue;
    auto r2 = std::from_chars(r1.ptr + 1, line.data() + line.size(), hi, 16);
    if (r2.ec != std::errc() || line.data() + line.size() - r2.ptr < 5 || *r2.ptr != ' ') continue;
    if (hi <= next || lo >= end) continue;
    if (lo > next) break;  // a hole
    const char *perms = r2.ptr + 1;
    int prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
               (perms[2] == 'x' ? PROT_EXEC : 0);
    std::uintptr_t piece_end = hi < end ? hi : end;
    if (!out.empty() && out.back().end == next && out.back().prot == prot) {
      out.back().end = piece_end;
    } else {
      out.push_back({next, piece_end, prot});
    }
    next = piece_end;
  }
  if (next < end) return status::error("range " + hex(next) + "-" + hex(end) + " is not mapped");
  return {};
}

status mpk_tag_range(void *begin, void *end, int key) {
  std::string maps;
  if (status s = read_maps(maps); !s.ok()) return s;
  std::vector<tag_piece> pieces;
  if (status s = plan_tagging(maps, reinterpret_cast<std::uintptr_t>(begin),
                              reinterpret_cast<std::uintptr_t>(end), pieces);
      !s.ok()) {
    return s;
  }
  for (const tag_piece &p : pieces) {
    if (::pkey_mprotect(reinterpret_cast<void *>(p.begin), p.end - p.begin, p.prot, key) != 0) {
      return status::error("pkey_mprotect(" + hex(p.begin) + "-" + hex(p.end) + ", key " + std::to_string(key) +
             ") failed: " + errno_text(errno));
    }
  }
  return {};
}

const mpk_plan &mpk_booted_plan() {
  return g_plan;
}

namespace {
// Static data: each domain's sections with its key, .data_shared and .rodata_shared with the shared key.
status tag_static_data(const flex_image_layout &img, const mpk_plan &plan,
                                           const std::string &image) {
  for (unsigned i = 0; i < plan.n_domains; ++i) {
    const flex_compartment_layout &c = img.compartments[plan.domains[i].compartment];
    for (const flex_section &s : c.sections) {
      if (!s.start || s.start == s.end) continue;
      if (status st = mpk_tag_range(s.start, s.end, plan.domains[i].key); !st.ok()) {
        return status::error(image + ": tagging " + s.name + " of compartment " + c.name + ": " + st.message());
      }
    }
  }
  for (const flex_section *sh : {&img.shared_data, &img.shared_rodata}) {
    if (!sh->start || sh->start == sh->end) continue;
    if (status s = mpk_tag_range(sh->start, sh->end, plan.shared_key); !s.ok()) {  // keeps rodata read-only
      return status::error(image + ": tagging " + sh->name + ": " + s.message());
    }
  }

  return {};
}

// A heap per domain and the shared heap (the process backend's, when it has one), and each domain's stack
// arena, registered with the fault reporter.
status make_heaps_and_arenas(const flex_image_layout &img, const mpk_plan &plan,
                                                 const mpk_boot_options &opt, const std::string &image,
                                                 heap_dispatch &d) {
  d.shared_key = plan.shared_key;
  flex_mpk_runtime.light_gates = img.mpk_gate && std::strcmp(img.mpk_gate, "light") == 0 ? 1 : 0;
  for (unsigned i = 0; i < plan.n_domains; ++i) {
    const mpk_domain &dom = plan.domains[i];
    const flex_compartment_layout &c = img.compartments[dom.compartment];
    std::size_t mib = c.heap_mib ? c.heap_mib : opt.default_heap_mib;
    if (status s = make_heap(mib, dom.key, d.by_key[dom.key], dom.compartment); !s.ok()) {
      return status::error(image + ": heap of compartment " + c.name + ": " + s.message());
    }
    d.pkru_by_key[dom.key] = dom.pkru;
    // Under light gates a callee runs on its caller's stack, so a domain's stacks (the app's, which the
    // runtime enters through a full gate) are every domain's: the shared key.
    const bool light = img.mpk_gate && std::strcmp(img.mpk_gate, "light") == 0;
    if (!detail::reserve_stack_arena(static_cast<unsigned>(dom.key), plan.shared_key,
                                     light ? plan.shared_key : dom.key)) {
      return status::error(image + ": cannot reserve the stack arena of compartment " + c.name + ": " + errno_text(errno));
    }
    const auto k = static_cast<unsigned>(dom.key);
    // From its slot page, the page under the arena: the layout wall keeps both where boot put them.
    region stacks{flex_mpk_runtime.slots[k], flex_mpk_runtime.stack_hi[k], dom.compartment,
                  region_kind::stack, "stacks"};
    if (int rc = register_region(stacks); rc < 0) {
      return status::error(image + ": cannot register the stacks of compartment " + c.name + ": " + errno_text(-rc));
    }
  }
  if (opt.shared_heap_region.base) {
    const heap_region &r = opt.shared_heap_region;
    if (status s = mpk_tag_range(r.base, static_cast<char *>(r.base) + r.bytes, plan.shared_key); !s.ok()) {
      return status::error(image + ": shared heap: " + s.message());
    }
    d.shared = opt.shared_heap ? opt.shared_heap : heap::create(r);
    if (!d.shared) return status::error(image + ": the shared heap region is too small or not 64-byte aligned");
  } else if (status s = make_heap(opt.shared_heap_mib, plan.shared_key, d.shared, kSharedOwner); !s.ok()) {
    return status::error(image + ": shared heap: " + s.message());
  }

  return {};
}

// The steps of mpk_boot, each failure a message.
status boot_domains(const flex_image_layout &img, const mpk_boot_options &opt) {
  mpk_plan plan;
  if (status s = plan_mpk(img, plan); !s.ok()) return s;
  if (plan.n_domains == 0) return {};  // no mpk compartment: nothing to do, malloc stays glibc's
  const std::string image = "image '" + std::string(img.name) + "'";

  const pku_support &pku = pku_status();
  if (!pku.available) {
    return status::error(image + " isolates compartments with Intel MPK (" + domain_names(img, plan) + "), but " +
           pku.reason +
           ". Refusing to run them unprotected; run it on a machine with PKU, or build a profile "
           "with isolation: process");
  }
  if (flex_mpk_runtime.mode != detail::kModeOff) return status::error(image + ": mpk_boot() ran twice");

  // Keys: the gates carry PKRU values as immediates, so the keys must be exactly the planned ones. The
  // kernel probe of the signal arena takes a key of its own for a moment: before ours.
  (void)mpk_kernel_delivers_onto_keyed_stacks();
  const int runtime_key = runtime_key_for(plan.n_domains);
  const int last_key = syscall_key_for(plan.n_domains);
  for (int want = 1; want <= last_key; ++want) {
    int got = ::pkey_alloc(0, 0);  // this (boot) thread keeps full access while it sets the domains up
    if (got == want) continue;
    int e = errno;
    if (got > 0) ::pkey_free(got);
    free_keys(want - 1);
    if (got < 0) {
      return status::error(image + ": pkey_alloc() failed for key " + std::to_string(want) + " of " +
             std::to_string(last_key) + ": " + errno_text(e));
    }
    return status::error(image + ": pkey_alloc() returned key " + std::to_string(got) + " where Flex needs key " +
           std::to_string(want) +
           ": something in this process allocated protection keys before boot (an "
           "execute-only mapping makes the kernel take one). Flex assigns keys at build time so that gate "
           "PKRU values are constants; remove that allocation");
  }

  if (status s = detail::make_signal_arena(runtime_key); !s.ok()) return status::error(image + ": " + s.message());
  if (status s = tag_static_data(img, plan, image); !s.ok()) return s;
  heap_dispatch d;
  if (status s = make_heaps_and_arenas(img, plan, opt, image, d); !s.ok()) return s;

  detail::mpk_runtime_page &page = flex_mpk_runtime;
  page.cpu_flags = detail::detect_cpu_flags();
  page.shared_key = static_cast<std::uint32_t>(plan.shared_key);
  page.mode = detail::kModeHardware;
  page.n_domains = plan.n_domains;
  for (unsigned i = 0; i < plan.n_domains; ++i) {
    page.domain_pkru[i] = plan.domains[i].pkru;
    page.domain_compartment[i] = plan.domains[i].compartment;
  }
  heap_install(d);
  g_plan = plan;
  set_pkru_owner(&compartment_of_pkru);
  set_current_compartment_source(&compartment_of_this_thread);
  detail::mpk_lock_runtime();
  return {};
}
}  // namespace

status mpk_boot(const flex_image_layout &img, const mpk_boot_options &opt) {
  return boot_domains(img, opt);
}

}  // namespace flex::runtime
