// Function names for fault reports (see fault.h): the image's own .symtab, read at boot.
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "flex/runtime/fault.h"

namespace flex::runtime {
namespace {

struct sym {
  std::uintptr_t begin, end;  // run-time addresses
  const char *name;           // into the mapped file, kept for the image's lifetime
};

// Written once at boot, then only read (by the signal handler among others).
const sym *g_syms = nullptr;
std::size_t g_n_syms = 0;

// Where the executable was loaded: the image is position independent.
std::uintptr_t load_bias() {
  std::uintptr_t bias = 0;
  dl_iterate_phdr(
      [](dl_phdr_info *info, std::size_t, void *out) {
        *static_cast<std::uintptr_t *>(out) = info->dlpi_addr;
        return 1;  // the first entry is the executable
      },
      &bias);
  return bias;
}

}  // namespace

int load_symbols() {
  if (g_syms) return 0;
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) {
    close(fd);
    return -EINVAL;
  }
  auto size = static_cast<std::size_t>(st.st_size);
  void *map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return -errno;
  const auto *base = static_cast<const unsigned char *>(map);
  const auto *eh = reinterpret_cast<const Elf64_Ehdr *>(base);
  auto in_file = [&](std::uint64_t off, std::uint64_t len) { return off <= size && len <= size - off; };
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_shentsize != sizeof(Elf64_Shdr) || !in_file(eh->e_shoff, std::uint64_t{eh->e_shnum} * sizeof(Elf64_Shdr))) {
    munmap(map, size);
    return -ENOEXEC;
  }
  const auto *sh = reinterpret_cast<const Elf64_Shdr *>(base + eh->e_shoff);
  std::vector<sym> syms;
  const std::uintptr_t bias = load_bias();
  for (unsigned i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
    const Elf64_Shdr &strs = sh[sh[i].sh_link];
    if (!in_file(sh[i].sh_offset, sh[i].sh_size) || !in_file(strs.sh_offset, strs.sh_size) || strs.sh_size == 0) continue;
    const auto *st_begin = reinterpret_cast<const Elf64_Sym *>(base + sh[i].sh_offset);
    const std::size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
    const char *names = reinterpret_cast<const char *>(base + strs.sh_offset);
    if (names[strs.sh_size - 1] != '\0') continue;  // an unterminated table: names could run off it
    for (std::size_t k = 0; k < n; ++k) {
      const Elf64_Sym &s = st_begin[k];
      if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_value == 0 || s.st_name >= strs.sh_size) continue;
      syms.push_back({bias + s.st_value, bias + s.st_value + (s.st_size ? s.st_size : 1), names + s.st_name});
    }
  }
  std::sort(syms.begin(), syms.end(), [](const sym &a, const sym &b) { return a.begin < b.begin; });
  auto *table = new sym[syms.size() ? syms.size() : 1];
  std::copy(syms.begin(), syms.end(), table);
  g_n_syms = syms.size();
  g_syms = table;
  return 0;
}

const char *symbol_at(std::uintptr_t pc, std::uintptr_t &offset) {
  if (!g_syms || g_n_syms == 0) return nullptr;
  std::size_t lo = 0, hi = g_n_syms;  // the last symbol that begins at or before pc
  while (hi - lo > 1) {
    std::size_t mid = lo + (hi - lo) / 2;
    (g_syms[mid].begin <= pc ? lo : hi) = mid;
  }
  const sym &s = g_syms[lo];
  if (pc < s.begin || pc >= s.end) return nullptr;
  offset = pc - s.begin;
  return s.name;
}

}  // namespace flex::runtime
