// The region registry and the SIGSEGV/SIGBUS/SIGILL reporter (see fault.h).
#include "flex/runtime/fault.h"

#include <cpuid.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>

namespace flex::runtime {

unsigned detail::g_current_compartment = kNoCompartment;
FLEX_SEALED current_compartment_fn detail::g_current_source = nullptr;

namespace {

// Filled at boot, read by the handler: plain arrays, no allocation, no locks.
region g_regions[kMaxRegions];
unsigned g_n_regions = 0;
const char *g_names[kMaxCompartments] = {};
FLEX_SEALED image_terminator g_terminator = nullptr;
FLEX_SEALED pkru_owner_fn g_pkru_owner = nullptr;
bool g_sealed = false;
volatile sig_atomic_t g_in_handler = 0;

constexpr std::size_t kAltStackBytes = 64 * 1024;

bool overlaps(const region &a, const region &b) {
  return a.begin < b.end && b.begin < a.end;
}

bool same(const region &a, const region &b) {
  return a.begin == b.begin && a.end == b.end && a.owner == b.owner && a.kind == b.kind;
}

const char *si_code_name(int sig, int code) {
  if (sig == SIGSEGV) {
    switch (code) {
      case SEGV_MAPERR:
        return "SEGV_MAPERR";
      case SEGV_ACCERR:
        return "SEGV_ACCERR";
      case SEGV_PKUERR:
        return "SEGV_PKUERR";
    }
  } else if (sig == SIGBUS) {
    switch (code) {
      case BUS_ADRALN:
        return "BUS_ADRALN";
      case BUS_ADRERR:
        return "BUS_ADRERR";
      case BUS_OBJERR:
        return "BUS_OBJERR";
    }
  } else if (sig == SIGILL) {
    switch (code) {
      case ILL_ILLOPC:
        return "ILL_ILLOPC";
      case ILL_ILLOPN:
        return "ILL_ILLOPN";
      case ILL_PRVOPC:
        return "ILL_PRVOPC";
    }
  }
  return code <= 0 ? "sent by a process" : "?";
}

}  // namespace

unsigned compartment_of_frame(const void *ctx) {
  std::uint32_t pkru = 0;
  if (g_pkru_owner && ctx && pkru_of_frame(ctx, pkru)) return g_pkru_owner(pkru);
  return current_compartment();
}

namespace {

void on_fault(int sig, siginfo_t *info, void *ctx) {
  if (g_in_handler) _exit(kExitFault);  // faulted while reporting: never loop
  g_in_handler = 1;
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  fault_line line;
  // Under MPK the compartment is the one whose rights were in PKRU when the access faulted.
  const unsigned who = compartment_of_frame(ctx);
  line.str("flex: ").who(who).str(" faulted at ").hex(addr);
  if (ctx) {
    const auto pc = static_cast<std::uintptr_t>(static_cast<const ucontext_t *>(ctx)->uc_mcontext.gregs[REG_RIP]);
    std::uintptr_t off = 0;
    if (const char *fn = symbol_at(pc, off)) {
      line.str(" in ").str(fn).str("+").hex(off);
    } else {
      line.str(" at pc ").hex(pc);
    }
  }
  line.str(" (").str(sig == SIGBUS ? "SIGBUS" : sig == SIGILL ? "SIGILL" : "SIGSEGV");
  if (ctx && info->si_code > 0 && sig != SIGILL) {
    // x86-64 page-fault error code: bit 1 set for a write, bit 4 for an instruction fetch.
    const auto err = static_cast<const ucontext_t *>(ctx)->uc_mcontext.gregs[REG_ERR];
    line.str((err & 16) ? ", exec" : (err & 2) ? ", write" : ", read");
  }
  line.str(", ").str(si_code_name(sig, info->si_code));
  if (sig == SIGSEGV && info->si_code == SEGV_PKUERR) line.str(", pkey ").dec(info->si_pkey);
  line.str("): ");
  const region *r = find_region(addr);
  if (!r) {
    line.str("address belongs to no compartment");
  } else if (r->owner == kSharedOwner) {
    line.str("address belongs to shared region '").str(r->name).str("'");
  } else {
    line.str("address belongs to compartment '").str(compartment_name(r->owner)).str("' (");
    line.str(region_kind_name(r->kind)).str(")");
  }
  line.emit();
  terminate_image(kExitFault);
}

}  // namespace

const char *region_kind_name(region_kind k) {
  switch (k) {
    case region_kind::rodata:
      return "rodata";
    case region_kind::data:
      return "data";
    case region_kind::bss:
      return "bss";
    case region_kind::heap:
      return "heap";
    case region_kind::stack:
      return "stack";
    case region_kind::shared:
      return "shared";
    case region_kind::program:
      return "program code";
    case region_kind::other:
      return "other";
  }
  return "?";
}

int register_compartment(unsigned index, const char *name) {
  if (index >= kMaxCompartments || !name) return -EINVAL;
  g_names[index] = name;
  return 0;
}

int register_region(const region &r) {
  if (r.begin >= r.end) return -EINVAL;
  if (r.owner != kSharedOwner && r.owner >= kMaxCompartments) return -EINVAL;
  for (unsigned i = 0; i < g_n_regions; ++i) {
    if (same(g_regions[i], r)) return 0;
    if (overlaps(g_regions[i], r) && !g_regions[i].absent && !r.absent) return -EEXIST;
  }
  if (g_n_regions == kMaxRegions) return -ENOSPC;
  g_regions[g_n_regions++] = r;
  return 0;
}

void clear_regions() {
  g_n_regions = 0;
  for (auto &n : g_names) n = nullptr;
}

void mark_absent(std::uintptr_t begin, std::uintptr_t end) {
  for (unsigned i = 0; i < g_n_regions; ++i) {
    if (g_regions[i].begin >= begin && g_regions[i].end <= end) g_regions[i].absent = true;
  }
}

const region *find_region(std::uintptr_t addr) {
  const region *absent = nullptr;
  for (unsigned i = 0; i < g_n_regions; ++i) {
    if (addr < g_regions[i].begin || addr >= g_regions[i].end) continue;
    if (!g_regions[i].absent) return &g_regions[i];
    if (!absent) absent = &g_regions[i];
  }
  return absent;
}

const char *compartment_name(unsigned index) {
  if (index == kNoCompartment) return "runtime";
  if (index >= kMaxCompartments || !g_names[index]) return "?";
  return g_names[index];
}

unsigned region_count() {
  return g_n_regions;
}
const region *region_at(unsigned i) {
  return i < g_n_regions ? &g_regions[i] : nullptr;
}

void set_current_compartment_source(current_compartment_fn fn) {
  detail::g_current_source = fn;
}

void set_pkru_owner(pkru_owner_fn fn) {
  g_pkru_owner = fn;
}

extern "C" {
extern char __flex_sealed_start[] __attribute__((weak, visibility("hidden")));
extern char __flex_sealed_end[] __attribute__((weak, visibility("hidden")));
}

void seal_runtime_data() {
  if (g_sealed || !__flex_sealed_start || +__flex_sealed_end <= +__flex_sealed_start) return;
  if (mprotect(__flex_sealed_start, static_cast<std::size_t>(__flex_sealed_end - __flex_sealed_start), PROT_READ) == 0) {
    g_sealed = true;
  }
}

bool runtime_data_sealed() {
  return g_sealed;
}

// The kernel saves the interrupted thread's extended state in the frame in XSAVE (standard) format and
// marks it with FP_XSTATE_MAGIC1 in the FXSAVE area's software-reserved bytes. PKRU is state component
// 9, at the offset CPUID.(EAX=0xD, ECX=9).EBX gives; a clear bit 9 in XSTATE_BV means PKRU was in its
// initial state (0).
bool pkru_of_frame(const void *ucontext, std::uint32_t &pkru) {
  constexpr std::uint32_t kMagic1 = 0x46505853;  // FP_XSTATE_MAGIC1
  constexpr unsigned kPkruBit = 9;
  const auto *uc = static_cast<const ucontext_t *>(ucontext);
  const auto *fx = reinterpret_cast<const unsigned char *>(uc->uc_mcontext.fpregs);
  if (!fx) return false;
  std::uint32_t magic = 0, xstate_size = 0;
  std::uint64_t features = 0, xstate_bv = 0;
  __builtin_memcpy(&magic, fx + 464, 4);  // struct _fpx_sw_bytes at offset 464 of the FXSAVE area
  __builtin_memcpy(&features, fx + 472, 8);
  __builtin_memcpy(&xstate_size, fx + 480, 4);
  if (magic != kMagic1 || !((features >> kPkruBit) & 1)) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(0xd, kPkruBit, &eax, &ebx, &ecx, &edx) || eax < 4 || ebx + 4 > xstate_size) return false;
  __builtin_memcpy(&xstate_bv, fx + 512, 8);  // the XSAVE header follows the 512-byte legacy area
  if (!((xstate_bv >> kPkruBit) & 1)) {
    pkru = 0;
    return true;
  }
  __builtin_memcpy(&pkru, fx + ebx, 4);
  return true;
}

int install_fault_altstack() {
  stack_t old{};
  if (sigaltstack(nullptr, &old) == 0 && !(old.ss_flags & SS_DISABLE) && old.ss_size >= kAltStackBytes) {
    return 0;  // this thread already has one big enough
  }
  // One guard page below the stack, so an overflow of the handler faults instead of scribbling.
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  void *mem =
      mmap(nullptr, kAltStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return -errno;
  if (mprotect(mem, page, PROT_NONE) != 0) return -errno;
  stack_t ss{};
  ss.ss_sp = static_cast<char *>(mem) + page;
  ss.ss_size = kAltStackBytes;
  if (sigaltstack(&ss, nullptr) != 0) return -errno;
  return 0;
}

int install_fault_reporter() {
  if (int rc = install_fault_altstack(); rc != 0) return rc;
  struct sigaction sa {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  // SIGILL too: the traps that replaced the shared objects' WRPKRUs and XRSTORs under MPK (mpk_disarm_foreign_gadgets).
  if (sigaction(SIGSEGV, &sa, nullptr) != 0 || sigaction(SIGBUS, &sa, nullptr) != 0 ||
      sigaction(SIGILL, &sa, nullptr) != 0) {
    return -errno;
  }
  return 0;
}

void set_image_terminator(image_terminator fn) {
  g_terminator = fn;
}

void terminate_image(int status) {
  if (g_terminator) g_terminator(status);
  _exit(status);
}

fault_line &fault_line::str(const char *s) {
  if (!s) s = "(null)";
  while (*s && n_ < sizeof buf_ - 1) buf_[n_++] = *s++;
  return *this;
}

fault_line &fault_line::dec(long long v) {
  char tmp[24];
  int i = 0;
  unsigned long long u =
      v < 0 ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
  do {
    tmp[i++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[i++] = '-';
  while (i > 0 && n_ < sizeof buf_ - 1) buf_[n_++] = tmp[--i];
  return *this;
}

fault_line &fault_line::hex(std::uintptr_t v) {
  char tmp[18];
  int i = 0;
  do {
    tmp[i++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  str("0x");
  while (i > 0 && n_ < sizeof buf_ - 1) buf_[n_++] = tmp[--i];
  return *this;
}

fault_line &fault_line::who(unsigned compartment) {
  if (compartment == kNoCompartment) {
    str("runtime");
  } else {
    str("compartment '").str(compartment_name(compartment)).str("'");
  }
  return str(" (pid ").dec(getpid()).str(")");
}

void fault_line::emit() {
  buf_[n_++] = '\n';  // n_ <= sizeof buf_ - 1 always holds, so this fits
  const char *p = buf_;
  std::size_t left = n_;
  while (left > 0) {
    ssize_t w = write(STDERR_FILENO, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  n_ = 0;
}

const char *signal_description(int sig) {
  switch (sig) {
    case SIGHUP:
      return "Hangup";
    case SIGINT:
      return "Interrupt";
    case SIGQUIT:
      return "Quit";
    case SIGILL:
      return "Illegal instruction";
    case SIGTRAP:
      return "Trace/breakpoint trap";
    case SIGABRT:
      return "Aborted";
    case SIGBUS:
      return "Bus error";
    case SIGFPE:
      return "Floating point exception";
    case SIGKILL:
      return "Killed";
    case SIGUSR1:
      return "User defined signal 1";
    case SIGSEGV:
      return "Segmentation fault";
    case SIGUSR2:
      return "User defined signal 2";
    case SIGPIPE:
      return "Broken pipe";
    case SIGALRM:
      return "Alarm clock";
    case SIGTERM:
      return "Terminated";
    case SIGSYS:
      return "Bad system call";
    case SIGXCPU:
      return "CPU time limit exceeded";
    case SIGXFSZ:
      return "File size limit exceeded";
  }
  return "unknown signal";
}

}  // namespace flex::runtime
