// Function names for fault reports (see fault.h): the image's own .symtab, read at boot through flex::elf.
// It allocates with malloc, which at boot (before mpk_boot installs the compartment heaps) is glibc's, and
// frees all but the table before any compartment runs.
#include <link.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "flex/elf/elf.h"
#include "flex/runtime/fault.h"

namespace flex::runtime {
namespace {

struct sym {
  std::uintptr_t begin, end;  // run-time addresses
  const char *name;           // into a block of names kept for the image's lifetime
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
  auto exe = flex::elf::file::open("/proc/self/exe", nullptr);
  if (!exe) return -ENOEXEC;
  std::vector<flex::elf::symbol> functions = exe->function_symbols();
  std::erase_if(functions, [](const flex::elf::symbol &s) { return s.value == 0; });
  // The names move into one block of their own: the file and its reader are gone when a fault is reported.
  std::size_t name_bytes = 0;
  for (const flex::elf::symbol &s : functions) name_bytes += s.name.size() + 1;
  char *names = new char[name_bytes ? name_bytes : 1];
  auto *table = new sym[functions.empty() ? 1 : functions.size()];
  const std::uintptr_t bias = load_bias();
  char *next = names;
  for (std::size_t i = 0; i < functions.size(); ++i) {
    const flex::elf::symbol &s = functions[i];
    std::memcpy(next, s.name.c_str(), s.name.size() + 1);
    table[i] = {bias + s.value, bias + s.value + (s.size ? s.size : 1), next};
    next += s.name.size() + 1;
  }
  std::sort(table, table + functions.size(), [](const sym &a, const sym &b) { return a.begin < b.begin; });
  g_n_syms = functions.size();
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
