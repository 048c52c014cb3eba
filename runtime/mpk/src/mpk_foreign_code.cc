// The shared objects an image links (the C library, the C++ runtime, ld.so, the vDSO) are not the image's
// file, so the build's gadget scan never saw them. glibc holds a WRPKRU of its own, in pkey_set: any
// domain could call it and open every key (tests/security: libc-pkey-set). Before the lockdown, the
// runtime overwrites every WRPKRU in every executable segment of those objects with UD2, so the only
// WRPKRUs left in the process are the image's gates, which the build checked.
//
// The objects' code is read byte by byte, as the gadget scan reads the image: a WRPKRU (0f 01 ef) starting
// at any offset counts, even inside another instruction, since a jump can land there. The bytes become
// 0f 0b cc (UD2, INT3): an instruction that happened to contain them would fault instead of going on, which
// an image would show at once. glibc 2.36 on x86-64 has one, at pkey_set, which the runtime calls only
// before this (its signal probe). XRSTOR, which can load PKRU from memory, stays: ld.so's lazy-binding
// trampolines need it (DESIGN.md §8, not defended yet).
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>

#include "flex/runtime/mpk.h"

namespace flex::runtime {
namespace {

constexpr unsigned char kWrpkru[3] = {0x0f, 0x01, 0xef};
constexpr unsigned char kTrap[3] = {0x0f, 0x0b, 0xcc};  // UD2, INT3

struct walk {
  std::uintptr_t image_text = 0;  // an address in the image's own code: its object is skipped
  int patched = 0;
  std::string error;
};

// Overwrites the WRPKRU at p (the page stays executable throughout: another thread may run there).
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

int visit(dl_phdr_info *info, std::size_t, void *data) {
  auto &w = *static_cast<walk *>(data);
  if (!w.error.empty()) return 1;
  for (int i = 0; i < info->dlpi_phnum; ++i) {  // the image's own object: its gates are the allowed WRPKRUs
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && w.image_text >= lo && w.image_text < lo + ph.p_memsz) return 0;
  }
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) &ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) || ph.p_memsz < sizeof kWrpkru) continue;
    auto *code = reinterpret_cast<unsigned char *>(info->dlpi_addr + ph.p_vaddr);
    for (std::size_t k = 0; k + sizeof kWrpkru <= ph.p_memsz; ++k) {
      if (code[k] != kWrpkru[0] || std::memcmp(code + k, kWrpkru, sizeof kWrpkru) != 0) continue;
      std::string why;
      if (!disarm_at(code + k, why)) {
        char where[32];
        std::snprintf(where, sizeof where, " at +0x%lx: ", static_cast<unsigned long>(ph.p_vaddr + k));
        w.error = std::string("a WRPKRU in ") + (info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "an object") +
                  where + why;
        return 1;
      }
      ++w.patched;
    }
  }
  return 0;
}

}  // namespace

status mpk_disarm_foreign_wrpkru(int &patched) {
  (void)mpk_kernel_delivers_onto_keyed_stacks();  // its probe calls glibc's pkey_set: answered before
  walk w;
  w.image_text = reinterpret_cast<std::uintptr_t>(&mpk_disarm_foreign_wrpkru);
  ::dl_iterate_phdr(&visit, &w);
  patched = w.patched;
  if (!w.error.empty()) return status::error(w.error);
  return {};
}

}  // namespace flex::runtime
