// The shared objects an image links (the C library, the C++ runtime, ld.so, the vDSO) are not the image's
// file, so the build's gadget scan never saw them. Two kinds of instruction there can load PKRU:
//   - glibc's pkey_set holds a WRPKRU: any domain could call it and open every key (tests/security:
//     libc-pkey-set);
//   - ld.so's lazy-binding trampolines (_dl_runtime_resolve_xsave, _xsavec) end in an XRSTOR of the
//     state they saved on the stack: entered at the XRSTOR with EAX bit 9 set and the stack pointing at a
//     forged XSAVE area, it loads any PKRU (tests/security: ldso-xrstor).
// Before the lockdown, the runtime overwrites every such instruction in every executable segment of those
// objects with a trap, so the only ones left in the process are the image's gates, which the build
// checked. The trampolines are only safe to lose when no object is bound lazily: the image re-executes
// itself with LD_BIND_NOW at start (main.cc), and the disarm checks every object's binding first.
//
// The objects' code is read byte by byte, with the build scan's patterns (flex/pku/gadgets.h): an
// instruction starting at any offset counts, even inside another instruction, since a jump can land there.
// Its first three bytes become 0f 0b cc (UD2, INT3): an instruction that happened to contain them would
// fault instead of going on, which an image would show at once. glibc 2.36 on x86-64 has three: pkey_set
// (which the runtime calls only before this, in its signal probe) and the two trampolines.
//
// Then every page of code, the image's included, becomes the process's own copy (privatize_object), so
// that no write to the files they were mapped from changes them afterwards.
//
// The code of an unmodified program the image runs (runtime/binary: its own segments, its interpreter's, and
// the libraries its interpreter mapped, registered as region_kind::program) is not in the dynamic linker's
// list: it gets the same two passes (its interpreter bound every object at load: the image passes its
// LD_BIND_NOW on).
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>

#include "flex/pku/gadgets.h"
#include "flex/runtime/fault.h"
#include "flex/runtime/mpk.h"

namespace flex::runtime {
namespace {

constexpr unsigned char kTrap[3] = {0x0f, 0x0b, 0xcc};  // UD2, INT3

struct walk {
  std::uintptr_t image_text = 0;  // an address in the image's own code: its object is skipped
  int patched = 0;
  std::string error;
};

// Overwrites the three bytes at p (the page stays executable throughout: another thread may run there).
bool disarm_at(unsigned char *p, std::string &error) {
  const long page = ::sysconf(_SC_PAGESIZE);
  const auto first = reinterpret_cast<std::uintptr_t>(p) & ~static_cast<std::uintptr_t>(page - 1);
  const auto last = (reinterpret_cast<std::uintptr_t>(p) + sizeof kTrap - 1) & ~static_cast<std::uintptr_t>(page - 1);
  const std::size_t len = last - first + static_cast<std::size_t>(page);
  void *at = reinterpret_cast<void *>(first);
  if (::mprotect(at, len, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
    error = "cannot make the page writable: " + std::string(std::strerror(errno));
    return false;
  }
  std::memcpy(p, kTrap, sizeof kTrap);
  __builtin___clear_cache(reinterpret_cast<char *>(p), reinterpret_cast<char *>(p) + sizeof kTrap);
  if (::mprotect(at, len, PROT_READ | PROT_EXEC) != 0) {
    error = "cannot make the page read-only again: " + std::string(std::strerror(errno));
    return false;
  }
  return true;
}

const char *object_name(const dl_phdr_info *info) {
  return info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "the program";
}

bool is_image(const dl_phdr_info *info, std::uintptr_t image_text) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && image_text >= lo && image_text < lo + ph.p_memsz) return true;
  }
  return false;
}

// Whether ld.so bound the object lazily: it then keeps its lazy-binding trampoline in the third word of
// the object's GOT (which stays 0 where every call was bound at load).
bool bound_lazily(const dl_phdr_info *info) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_DYNAMIC) continue;
    const auto *dyn = reinterpret_cast<const ElfW(Dyn) *>(info->dlpi_addr + ph.p_vaddr);
    std::uintptr_t pltgot = 0;
    bool jmprel = false;
    for (; dyn->d_tag != DT_NULL; ++dyn) {
      if (dyn->d_tag == DT_PLTGOT) pltgot = dyn->d_un.d_ptr;
      if (dyn->d_tag == DT_JMPREL) jmprel = true;
    }
    if (!pltgot || !jmprel) return false;
    // ld.so relocates a writable dynamic section's addresses in place; a read-only one keeps them relative.
    if (pltgot < info->dlpi_addr) pltgot += info->dlpi_addr;
    return reinterpret_cast<const std::uintptr_t *>(pltgot)[2] != 0;
  }
  return false;
}

// The first pass: every object but the image bound at load, or nothing is changed.
int check_binding(dl_phdr_info *info, std::size_t, void *data) {
  auto &w = *static_cast<walk *>(data);
  if (is_image(info, w.image_text) || !bound_lazily(info)) return 0;
  w.error = std::string(object_name(info)) +
            " is bound lazily, so ld.so's lazy-binding trampolines (an XRSTOR that loads PKRU) must stay: run "
            "the image with LD_BIND_NOW=1 (it re-executes itself so at start; was /proc unreachable?)";
  return 1;
}

// Every WRPKRU and XRSTOR in [code, code + bytes) of `name` becomes a trap (offsets in messages from `at`).
bool disarm_code(unsigned char *code, std::size_t bytes, std::uintptr_t at, const char *name, walk &w) {
  for (std::size_t k = 0; k + sizeof kTrap <= bytes; ++k) {
    const pku::gadget_match m = pku::gadget_at(code, bytes, k);
    if (m.kind == pku::gadget_kind::none) continue;
    std::string why;
    if (!disarm_at(code + m.opcode, why)) {  // a REX.W before a UD2 leaves it a UD2
      char where[48];
      std::snprintf(where, sizeof where, " at +0x%lx: ", static_cast<unsigned long>(at + m.opcode));
      w.error = std::string(m.kind == pku::gadget_kind::wrpkru ? "a WRPKRU in " : "an XRSTOR in ") + name + where + why;
      return false;
    }
    ++w.patched;
  }
  return true;
}

// The second pass: every WRPKRU and XRSTOR outside the image becomes a trap.
int disarm_object(dl_phdr_info *info, std::size_t, void *data) {
  auto &w = *static_cast<walk *>(data);
  if (!w.error.empty()) return 1;
  if (is_image(info, w.image_text)) return 0;  // its gates are the allowed WRPKRUs, the build checked the rest
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    if (!disarm_code(reinterpret_cast<unsigned char *>(info->dlpi_addr + ph.p_vaddr), ph.p_memsz, ph.p_vaddr,
                     object_name(info), w)) {
      return 1;
    }
  }
  return 0;
}

// Each range becomes the process's own copy (privatize_object says why): executable throughout.
bool privatize_range(std::uintptr_t lo, std::uintptr_t hi, const char *name, walk &w) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  void *at = reinterpret_cast<void *>(lo);
  if (::mprotect(at, hi - lo, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
    w.error = std::string("cannot copy the code of ") + name + ": " + std::strerror(errno);
    return false;
  }
  for (std::uintptr_t p = lo; p < hi; p += page) {
    auto *b = reinterpret_cast<volatile unsigned char *>(p);
    *b = *b;  // the write makes the page the process's own copy
  }
  if (::mprotect(at, hi - lo, PROT_READ | PROT_EXEC) != 0) {
    w.error = std::string("cannot make the code of ") + name + " read-only again: " + std::strerror(errno);
    return false;
  }
  return true;
}

// The code of an unmodified program the image runs (runtime/binary registers it: region_kind::program),
// which neither the build nor the dynamic linker's list saw: disarmed and made the process's own.
bool disarm_programs(walk &w) {
  for (unsigned i = 0; i < region_count() && w.error.empty(); ++i) {
    const region *r = region_at(i);
    if (!r || r->absent || r->kind != region_kind::program || r->end <= r->begin) continue;
    if (!disarm_code(reinterpret_cast<unsigned char *>(r->begin), r->end - r->begin, r->begin, "the program run by the image", w) ||
        !privatize_range(r->begin, r->end, "the program run by the image", w)) {
      return false;
    }
  }
  return w.error.empty();
}

// The third pass: every page of every object's code (the image's too) becomes a private copy. A file
// mapped privately still shows later writes to the file in the pages the process has not written, so a
// domain allowed to write files (hostfs's, in its directory) could otherwise rewrite the code of the
// process through the shared object's or the image's file: a WRPKRU past the scan and the disarm. The
// vDSO is the kernel's, in no file.
int privatize_object(dl_phdr_info *info, std::size_t, void *data) {
  auto &w = *static_cast<walk *>(data);
  if (!w.error.empty()) return 1;
  if (info->dlpi_addr == ::getauxval(AT_SYSINFO_EHDR)) return 0;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    const std::uintptr_t lo = (info->dlpi_addr + ph.p_vaddr) & ~(page - 1);
    const std::uintptr_t hi = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) & ~(page - 1);
    if (!privatize_range(lo, hi, object_name(info), w)) return 1;  // this very code may lie in the range
  }
  return 0;
}

}  // namespace

void mpk_bind_now_at_start(char **argv, char **envp) {
  // Before the C library's own initialisation: no getenv, setenv or malloc, only the arrays the kernel gave.
  constexpr char kBindNow[] = "LD_BIND_NOW=";
  std::size_t n = 0;
  for (; envp && envp[n]; ++n) {
    // ld.so had it: any value but the empty one binds every object at load.
    if (std::strncmp(envp[n], kBindNow, sizeof kBindNow - 1) == 0 && envp[n][sizeof kBindNow - 1]) return;
  }
  constexpr std::size_t kMost = 4096;
  if (n >= kMost) return;  // the disarm names the object bound lazily
  char *env[kMost + 1];
  for (std::size_t i = 0; i < n; ++i) env[i] = envp[i];
  char bind_now[] = "LD_BIND_NOW=1";
  env[n] = bind_now;
  env[n + 1] = nullptr;
  ::execve("/proc/self/exe", argv, env);  // returns only where it failed: the disarm says what it found
}

status mpk_disarm_foreign_gadgets(int &patched) {
  (void)mpk_kernel_delivers_onto_keyed_stacks();  // its probe calls glibc's pkey_set: answered before
  walk w;
  w.image_text = reinterpret_cast<std::uintptr_t>(&mpk_disarm_foreign_gadgets);
  ::dl_iterate_phdr(&check_binding, &w);
  if (w.error.empty()) ::dl_iterate_phdr(&disarm_object, &w);
  if (w.error.empty()) ::dl_iterate_phdr(&privatize_object, &w);
  if (w.error.empty()) disarm_programs(w);
  patched = w.patched;
  if (!w.error.empty()) return status::error(w.error);
  return {};
}

}  // namespace flex::runtime
