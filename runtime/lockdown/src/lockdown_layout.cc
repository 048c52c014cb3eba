// The layout wall (DESIGN.md §8): in a process whose address space holds several MPK domains, no system
// call may change the memory the image laid out at boot. Protection keys stop loads and stores, but the
// kernel would let any domain munmap, mmap(MAP_FIXED) over, mremap or madvise(MADV_DONTNEED) another
// domain's pages (its statics, heap, stacks), replacing or wiping them with pages of key 0, or mprotect a
// read-only page the runtime or glibc trusts (the runtime page, a GOT) writable. So after boot these calls
// are refused on every registered region (fault.h's registry: each compartment's sections, heaps and
// stacks, the shared data and heap), on the executable's own mappings and on every mapping that is not
// writable at boot, whoever makes them; mprotect may add PROT_WRITE only inside the stack arenas, which
// the runtime commits lazily. Nothing in Flex remaps those ranges after boot. Files may no longer be mapped either: a descriptor is the
// whole process's, so mapping one would hand its contents to whichever domain asked (the vault's memfd).
//
// With MPK's signal wall (runtime/mpk/src/mpk_signals.cc) the same filter demands the wall's token of
// every rt_sigreturn and refuses any sigaltstack that would move a thread's signal stack.
//
// The check is a second seccomp filter, written in classic BPF because it compares 64-bit address
// intervals (libseccomp compares single arguments only). The kernel runs both filters and takes the
// stricter answer. A refused call raises SIGSYS with SECCOMP_RET_DATA kLayoutData or kFileMapData, which
// the lockdown's reporter names.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flex/runtime/binary.h"
#include "flex/runtime/fault.h"
#include "lockdown_impl.h"

namespace flex::runtime::lockdown_detail {
namespace {

constexpr std::uint64_t kPage = 4096;
// Lengths from here up are refused outright where a range is checked (no Flex image lays out 128 TiB),
// so that address + length never overflows in the filter's arithmetic.
constexpr std::uint32_t kHugeLenHigh = 0x8000;  // 2^47 >> 32

// Scratch words of the filter program.
enum : std::uint32_t { kAddrLo, kAddrHi, kEndLo, kEndHi, kLenLo, kLenHi };

constexpr std::uint32_t arg_lo(unsigned i) {
  return static_cast<std::uint32_t>(offsetof(seccomp_data, args) + 8 * i);
}
constexpr std::uint32_t arg_hi(unsigned i) {
  return arg_lo(i) + 4;
}

// A tiny assembler: conditional jumps are to labels within 255 instructions (patched at the end).
class program {
 public:
  void stmt(std::uint16_t code, std::uint32_t k) { insns_.push_back(BPF_STMT(code, k)); }
  // Jump to `yes` or `no` (labels), comparing A with k.
  void jump(std::uint16_t op, std::uint32_t k, int yes, int no) {
    fixups_.push_back({insns_.size(), yes, no});
    insns_.push_back(BPF_JUMP(static_cast<std::uint16_t>(BPF_JMP | op | BPF_K), k, 0, 0));
  }
  // The same comparing A with X.
  void jump_x(std::uint16_t op, int yes, int no) {
    fixups_.push_back({insns_.size(), yes, no});
    insns_.push_back(BPF_JUMP(static_cast<std::uint16_t>(BPF_JMP | op | BPF_X), 0, 0, 0));
  }
  // A conditional jump to labels at any distance: through two BPF_JA trampolines.
  void jump_far(std::uint16_t op, std::uint32_t k, int yes, int no) {
    const int t_yes = label(), t_no = label();
    jump(op, k, t_yes, t_no);
    place(t_yes);
    always(yes);
    place(t_no);
    always(no);
  }
  void always(int label) {  // BPF_JA: a 32-bit offset, for jumps over long stretches
    fixups_.push_back({insns_.size(), label, -1});
    insns_.push_back(BPF_STMT(BPF_JMP | BPF_JA, 0));
  }
  int label() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size() - 1);
  }
  void place(int label) { labels_[static_cast<std::size_t>(label)] = static_cast<long>(insns_.size()); }
  void ret(std::uint32_t action) { stmt(BPF_RET | BPF_K, action); }
  // False when a conditional jump is out of reach (the caller then has too many ranges).
  bool finish(std::vector<sock_filter> &out) {
    for (const fixup &f : fixups_) {
      sock_filter &insn = insns_[f.at];
      auto dist = [&](int label) { return labels_[static_cast<std::size_t>(label)] - static_cast<long>(f.at) - 1; };
      if (f.no < 0) {  // BPF_JA
        insn.k = static_cast<std::uint32_t>(dist(f.yes));
        continue;
      }
      const long yes = dist(f.yes), no = dist(f.no);
      if (yes < 0 || yes > 255 || no < 0 || no > 255) return false;
      insn.jt = static_cast<std::uint8_t>(yes);
      insn.jf = static_cast<std::uint8_t>(no);
    }
    out = insns_;
    return true;
  }

 private:
  struct fixup {
    std::size_t at;
    int yes, no;
  };
  std::vector<sock_filter> insns_;
  std::vector<fixup> fixups_;
  std::vector<long> labels_;
};

// Loads argument pair (addr, len) into scratch as addr and end = addr + max(len, 1). An address at or
// above 2^47 jumps to `done` (the kernel refuses it); a length from 2^47 up returns `trap`.
void load_interval(program &p, unsigned addr, unsigned len, std::uint32_t trap, int done) {
  p.stmt(BPF_LD | BPF_W | BPF_ABS, arg_hi(addr));
  const int addr_high = p.label(), addr_ok = p.label();
  p.jump(BPF_JGE, kHugeLenHigh, addr_high, addr_ok);
  p.place(addr_high);
  p.always(done);
  p.place(addr_ok);
  p.stmt(BPF_ST, kAddrHi);
  p.stmt(BPF_LD | BPF_W | BPF_ABS, arg_lo(addr));
  p.stmt(BPF_ST, kAddrLo);
  p.stmt(BPF_LD | BPF_W | BPF_ABS, arg_hi(len));
  const int huge = p.label(), len_ok = p.label();
  p.jump(BPF_JGE, kHugeLenHigh, huge, len_ok);
  p.place(huge);
  p.ret(trap);
  p.place(len_ok);
  p.stmt(BPF_ST, kLenHi);
  p.stmt(BPF_LD | BPF_W | BPF_ABS, arg_lo(len));
  p.stmt(BPF_ST, kLenLo);
  // A zero length counts as one byte (mremap with old_size 0 duplicates the mapping at addr).
  const int zero_lo = p.label(), nonzero = p.label(), add = p.label();
  p.jump(BPF_JEQ, 0, zero_lo, add);
  p.place(zero_lo);
  p.stmt(BPF_LD | BPF_MEM, kLenHi);
  p.jump(BPF_JEQ, 0, nonzero, add);
  p.place(nonzero);
  p.stmt(BPF_LD | BPF_IMM, 1);
  p.stmt(BPF_ST, kLenLo);
  p.place(add);
  // end = addr + len, in 32-bit halves with the carry.
  p.stmt(BPF_LD | BPF_MEM, kLenLo);
  p.stmt(BPF_MISC | BPF_TAX, 0);
  p.stmt(BPF_LD | BPF_MEM, kAddrLo);
  p.stmt(BPF_ALU | BPF_ADD | BPF_X, 0);
  p.stmt(BPF_ST, kEndLo);
  p.stmt(BPF_LD | BPF_MEM, kAddrHi);
  p.stmt(BPF_MISC | BPF_TAX, 0);
  p.stmt(BPF_LD | BPF_MEM, kLenHi);
  p.stmt(BPF_ALU | BPF_ADD | BPF_X, 0);
  p.stmt(BPF_ST, kEndHi);
  p.stmt(BPF_LD | BPF_MEM, kAddrLo);  // carry: end_lo < addr_lo
  p.stmt(BPF_MISC | BPF_TAX, 0);
  p.stmt(BPF_LD | BPF_MEM, kEndLo);
  const int carry = p.label(), spans_start = p.label();
  p.jump_x(BPF_JGE, spans_start, carry);
  p.place(carry);
  p.stmt(BPF_LD | BPF_MEM, kEndHi);
  p.stmt(BPF_ALU | BPF_ADD | BPF_K, 1);
  p.stmt(BPF_ST, kEndHi);
  p.place(spans_start);
}

// Jumps to `yes` when the 64-bit value in scratch (hi, lo) is above `value` (BPF_JGT) or at least it
// (BPF_JGE), to `no` otherwise: the high words decide unless they are equal.
void compare64(program &p, std::uint32_t hi, std::uint32_t lo, std::uint64_t value, std::uint16_t op, int yes,
               int no) {
  const auto v_hi = static_cast<std::uint32_t>(value >> 32), v_lo = static_cast<std::uint32_t>(value);
  const int not_above = p.label(), equal = p.label();
  p.stmt(BPF_LD | BPF_MEM, hi);
  p.jump(BPF_JGT, v_hi, yes, not_above);
  p.place(not_above);
  p.jump(BPF_JEQ, v_hi, equal, no);
  p.place(equal);
  p.stmt(BPF_LD | BPF_MEM, lo);
  p.jump(op, v_lo, yes, no);
}

// [addr, end) in scratch against every span: intersecting one (addr < hi and end > lo) returns `trap`,
// none jumps to `done`.
void intersects_any(program &p, const std::vector<layout_span> &spans, std::uint32_t trap, int done) {
  for (const layout_span &s : spans) {
    const int next = p.label(), below_hi = p.label(), hit = p.label();
    compare64(p, kAddrHi, kAddrLo, s.hi, BPF_JGE, next, below_hi);
    p.place(below_hi);
    compare64(p, kEndHi, kEndLo, s.lo, BPF_JGT, hit, next);
    p.place(hit);
    p.ret(trap);
    p.place(next);
  }
  p.always(done);
}

// [addr, end) in scratch: jumps to `yes` when it lies inside one span (addr >= lo and end <= hi), to `no`
// otherwise.
void inside_any(program &p, const std::vector<layout_span> &spans, int yes, int no) {
  for (const layout_span &s : spans) {
    const int next = p.label(), from_ok = p.label(), inside = p.label();
    compare64(p, kAddrHi, kAddrLo, s.lo, BPF_JGE, from_ok, next);
    p.place(from_ok);
    compare64(p, kEndHi, kEndLo, s.hi, BPF_JGT, next, inside);
    p.place(inside);
    p.always(yes);
    p.place(next);
  }
  p.always(no);
}

void check_interval(program &p, unsigned addr, unsigned len, const std::vector<layout_span> &spans,
                    std::uint32_t trap, int done) {
  load_interval(p, addr, len, trap, done);
  intersects_any(p, spans, trap, done);
}

}  // namespace

std::vector<layout_span> merge_spans(std::vector<layout_span> spans) {
  for (layout_span &s : spans) {
    s.lo &= ~(kPage - 1);
    s.hi = (s.hi + kPage - 1) & ~(kPage - 1);
  }
  std::erase_if(spans, [](const layout_span &s) { return s.hi <= s.lo; });
  std::sort(spans.begin(), spans.end(), [](const layout_span &a, const layout_span &b) { return a.lo < b.lo; });
  std::vector<layout_span> out;
  for (const layout_span &s : spans) {
    if (!out.empty() && s.lo <= out.back().hi) {
      out.back().hi = std::max(out.back().hi, s.hi);
    } else {
      out.push_back(s);
    }
  }
  return out;
}

bool layout_program(const std::vector<layout_span> &spans, const std::vector<layout_span> &stacks,
                    const std::uint64_t *token, std::vector<sock_filter> &out, const std::vector<mpk_sud_site> &pins) {
  const std::uint32_t trap_layout = SECCOMP_RET_TRAP | kLayoutData;
  const std::uint32_t trap_file = SECCOMP_RET_TRAP | kFileMapData;
  program p;
  const int allow = p.label(), x86 = p.label();
  p.stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  p.jump_far(BPF_JEQ, AUDIT_ARCH_X86_64, x86, allow);  // the main filter refuses other architectures
  p.place(x86);
  // The runtime's pinned sites: at each, its own call number only.
  // To `yes` when the call was made at `ip`, else to `no`.
  const auto ip_is = [&p](std::uint64_t ip, int yes, int no) {
    const std::uint32_t ip_lo = offsetof(seccomp_data, instruction_pointer), ip_hi = ip_lo + 4;
    const int lo_eq = p.label();
    p.stmt(BPF_LD | BPF_W | BPF_ABS, ip_lo);
    p.jump_far(BPF_JEQ, static_cast<std::uint32_t>(ip), lo_eq, no);
    p.place(lo_eq);
    p.stmt(BPF_LD | BPF_W | BPF_ABS, ip_hi);
    p.jump_far(BPF_JEQ, static_cast<std::uint32_t>(ip >> 32), yes, no);
  };
  for (const mpk_sud_site &pin : pins) {
    const int hi_eq = p.label(), next = p.label(), bad = p.label();
    ip_is(pin.ip, hi_eq, next);
    p.place(hi_eq);
    p.stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
    p.jump_far(BPF_JEQ, static_cast<std::uint32_t>(pin.nr), next, bad);
    p.place(bad);
    p.ret(SECCOMP_RET_TRAP | kSudSiteData);
    p.place(next);
  }
  // pkey_mprotect: only at its pinned site (the system-call wall's tagging of fresh memory).
  for (const mpk_sud_site &pin : pins) {
    if (pin.nr != SYS_pkey_mprotect) continue;
    const int is_pkey = p.label(), other = p.label(), bad = p.label();
    p.stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
    p.jump_far(BPF_JEQ, SYS_pkey_mprotect, is_pkey, other);
    p.place(is_pkey);
    ip_is(pin.ip, allow, bad);
    p.place(bad);
    p.ret(trap_layout);
    p.place(other);
  }
  p.stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  const int range01 = p.label(), mmap = p.label(), mremap = p.label(), n1 = p.label(), n2 = p.label(),
            n3 = p.label();
  p.jump_far(BPF_JEQ, SYS_munmap, range01, n1);
  p.place(n1);
  p.jump_far(BPF_JEQ, SYS_madvise, range01, n2);
  p.place(n2);
  p.jump_far(BPF_JEQ, SYS_mmap, mmap, n3);
  p.place(n3);
  const int n4 = p.label(), mprotect = p.label(), n6 = p.label(), shmat = p.label(), n7 = p.label();
  p.jump_far(BPF_JEQ, SYS_mremap, mremap, n4);
  p.place(n4);
  p.jump_far(BPF_JEQ, SYS_mprotect, mprotect, n6);
  p.place(n6);
  p.jump_far(BPF_JEQ, SYS_shmat, shmat, n7);
  p.place(n7);
  if (token) {
    // rt_sigreturn: (arg0, arg1) must be the token; sigaltstack: a query only (arg0 == NULL).
    const std::uint32_t trap_signal = SECCOMP_RET_TRAP | kSignalData;
    const int sigreturn = p.label(), altstack = p.label(), n5 = p.label(), refuse = p.label();
    p.jump_far(BPF_JEQ, SYS_rt_sigreturn, sigreturn, n5);
    p.place(n5);
    p.jump_far(BPF_JEQ, SYS_sigaltstack, altstack, allow);
    p.place(sigreturn);
    const std::uint32_t words[4] = {static_cast<std::uint32_t>(token[0]), static_cast<std::uint32_t>(token[0] >> 32),
                                    static_cast<std::uint32_t>(token[1]), static_cast<std::uint32_t>(token[1] >> 32)};
    const std::uint32_t at[4] = {arg_lo(0), arg_hi(0), arg_lo(1), arg_hi(1)};
    for (int i = 0; i < 4; ++i) {
      const int next = p.label();
      p.stmt(BPF_LD | BPF_W | BPF_ABS, at[i]);
      p.jump(BPF_JEQ, words[i], next, refuse);
      p.place(next);
    }
    p.always(allow);
    p.place(altstack);
    const int low = p.label();
    p.stmt(BPF_LD | BPF_W | BPF_ABS, arg_hi(0));
    p.jump(BPF_JEQ, 0, low, refuse);
    p.place(low);
    p.stmt(BPF_LD | BPF_W | BPF_ABS, arg_lo(0));
    p.jump_far(BPF_JEQ, 0, allow, refuse);
    p.place(refuse);
    p.ret(trap_signal);
  } else {
    p.always(allow);
  }
  // mmap: anonymous only; MAP_FIXED only outside the layout (MAP_FIXED_NOREPLACE never replaces).
  p.place(mmap);
  p.stmt(BPF_LD | BPF_W | BPF_ABS, arg_lo(3));
  const int anon = p.label(), file = p.label();
  p.jump(BPF_JSET, MAP_ANONYMOUS, anon, file);
  p.place(file);
  p.ret(trap_file);
  p.place(anon);
  p.jump_far(BPF_JSET, MAP_FIXED, range01, allow);
  // mremap: the old range, and the new one when MREMAP_FIXED places it.
  p.place(mremap);
  const int old_ok = p.label(), new_range = p.label();
  check_interval(p, 0, 1, spans, trap_layout, old_ok);
  p.place(old_ok);
  p.stmt(BPF_LD | BPF_W | BPF_ABS, arg_lo(3));
  p.jump_far(BPF_JSET, MREMAP_FIXED, new_range, allow);
  p.place(new_range);
  check_interval(p, 4, 2, spans, trap_layout, allow);
  // mprotect: making laid-out memory writable (the read-only runtime page, a RELRO table) is refused, but
  // for the stack arenas, whose stacks the runtime commits as threads first enter a domain (their pages
  // keep their keys). Removing rights only costs the process itself.
  p.place(mprotect);
  const int writable = p.label(), not_in_stacks = p.label();
  p.stmt(BPF_LD | BPF_W | BPF_ABS, arg_lo(2));
  p.jump_far(BPF_JSET, PROT_WRITE, writable, allow);
  p.place(writable);
  load_interval(p, 0, 1, trap_layout, allow);
  inside_any(p, stacks, allow, not_in_stacks);
  p.place(not_in_stacks);
  intersects_any(p, spans, trap_layout, allow);
  // shmat: SHM_REMAP replaces whatever lies at its address, so never.
  p.place(shmat);
  p.stmt(BPF_LD | BPF_W | BPF_ABS, arg_lo(2));
  const int remap = p.label();
  p.jump_far(BPF_JSET, SHM_REMAP, remap, allow);
  p.place(remap);
  p.ret(trap_layout);
  // munmap, madvise, mmap(MAP_FIXED): [arg0, arg0 + arg1).
  p.place(range01);
  check_interval(p, 0, 1, spans, trap_layout, allow);
  p.place(allow);
  p.ret(SECCOMP_RET_ALLOW);
  return p.finish(out);
}

namespace {

// The executable segments of every loaded object (the image, its shared objects, ld.so, the vDSO), out to
// whole pages.
std::vector<layout_span> loaded_code() {
  std::vector<layout_span> code;
  dl_iterate_phdr(
      [](dl_phdr_info *info, std::size_t, void *data) {
        auto *out = static_cast<std::vector<layout_span> *>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr, hi = lo + ph.p_memsz;
          out->push_back({lo & ~std::uintptr_t{4095}, (hi + 4095) & ~std::uintptr_t{4095}});
        }
        return 0;
      },
      &code);
  // The code of a program the image runs (runtime/binary), disarmed like the shared objects'.
  for (unsigned i = 0; i < region_count(); ++i) {
    const region *r = region_at(i);
    if (r && !r->absent && r->kind == region_kind::program && r->end > r->begin) code.push_back({r->begin, r->end});
  }
  return code;
}

}  // namespace

std::vector<layout_span> image_layout_spans(int maps_fd, std::string &foreign_code) {
  std::vector<layout_span> spans;
  for (unsigned i = 0; i < region_count(); ++i) {
    const region *r = region_at(i);
    if (r && !r->absent && r->end > r->begin) spans.push_back({r->begin, r->end});
  }
  // The executable's own mappings (its code, the gates, the runtime page): the first object is the program.
  dl_iterate_phdr(
      [](dl_phdr_info *info, std::size_t, void *data) {
        auto *out = static_cast<std::vector<layout_span> *>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          out->push_back({info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz});
        }
        return 1;  // the program only
      },
      &spans);
  // Every mapping that is not writable now (code, read-only data, RELRO tables, PROT_NONE reserves):
  // none may later be made writable, replaced or unmapped.
  std::string maps;
  char buf[4096];
  for (ssize_t n; (n = read(maps_fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    maps.append(buf, static_cast<std::size_t>(n));
  }
  // Executable memory other than the loaded objects' code, or code that stays writable (privately or
  // through a shared mapping): made before the lockdown (a constructor's mmap, mprotect or memfd), it
  // would let a compartment write a WRPKRU after boot and run it, past the gadget scan and W^X.
  const std::vector<layout_span> code = loaded_code();
  const std::vector<std::pair<std::uintptr_t, std::uintptr_t>> program = binary::memory_ranges();
  for (std::size_t at = 0; at < maps.size();) {
    unsigned long lo = 0, hi = 0;
    char perms[5] = {};
    const std::size_t newline = maps.find('\n', at);
    const std::size_t end = newline == std::string::npos ? maps.size() : newline;
    if (std::sscanf(maps.c_str() + at, "%lx-%lx %4s", &lo, &hi, perms) == 3) {
      // The program's own memory (runtime/binary) is its to commit and return; its code stays, registered
      // as a region above.
      const bool programs = std::any_of(program.begin(), program.end(), [&](const auto &r) {
        return r.first <= lo && hi <= r.second;
      });
      if (perms[1] != 'w' && !programs) spans.push_back({lo, hi});
      const std::string_view line(maps.data() + at, end - at);
      // The kernel's own code (its vDSO may map more pages than its segment spans, as Linux 6.1's does).
      const bool kernels = line.ends_with("[vsyscall]") || line.ends_with("[vdso]");
      const bool loaded = std::any_of(code.begin(), code.end(), [&](const layout_span &c) {
        return c.lo <= lo && hi <= c.hi;
      });
      if (foreign_code.empty() && perms[2] == 'x' && (perms[1] == 'w' || perms[3] != 'p' || !(loaded || kernels))) {
        for (char ch : line) {  // the line, its padding squeezed
          if (ch != ' ' || foreign_code.empty() || foreign_code.back() != ' ') foreign_code.push_back(ch);
        }
        while (!foreign_code.empty() && foreign_code.back() == ' ') foreign_code.pop_back();
      }
    }
    at = end == maps.size() ? end : end + 1;
  }
  return merge_spans(std::move(spans));
}

std::vector<layout_span> stack_spans() {
  std::vector<layout_span> spans;
  for (unsigned i = 0; i < region_count(); ++i) {
    const region *r = region_at(i);
    if (r && !r->absent && r->kind == region_kind::stack && r->end > r->begin) spans.push_back({r->begin, r->end});
  }
  return merge_spans(std::move(spans));
}

status install_layout_wall(const std::vector<layout_span> &spans, const std::vector<layout_span> &stacks,
                           const std::uint64_t *token, const std::vector<mpk_sud_site> &pins) {
  std::vector<sock_filter> insns;
  if (!layout_program(spans, stacks, token, insns, pins)) {
    return status::error("the image's memory layout has too many separate ranges for the layout filter (" +
                         std::to_string(spans.size()) + ")");
  }
  sock_fprog prog{static_cast<unsigned short>(insns.size()), insns.data()};
  const long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
  const int err = errno;
  explicit_bzero(insns.data(), insns.size() * sizeof(sock_filter));  // the token: compartments read key 0
  if (rc != 0) return status::from_errno("cannot load the layout filter", err);
  return {};
}

}  // namespace flex::runtime::lockdown_detail
