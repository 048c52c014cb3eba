// The region registry and the fault reporter: who owns an address, and a clear report when a
// compartment touches memory it has no right to. Backend-neutral: the process backend and the MPK
// backends register the same regions and share the reporter.
//
//   flex::runtime::register_compartment(1, "net");
//   flex::runtime::register_region({heap_begin, heap_end, 1, flex::runtime::region_kind::heap, "net.heap"});
//   flex::runtime::install_fault_reporter();
//   // a stray access then prints one line and ends the image with kExitFault:
//   // flex: compartment 'app' (pid 123) faulted at 0x7f3a2c001000 (SIGSEGV, write, SEGV_MAPERR):
//   //       address belongs to compartment 'net' (heap)
//
// Everything here that the signal handler touches is a fixed-size table filled at boot (single-threaded,
// before any compartment runs) and only read afterwards, so the handler can read it without locks and
// calls nothing but write(2), getpid(2) and _exit(2).
//
// Who is "running": a per-process variable that the process backend sets while it serves a call. The MPK
// backend replaces it with a function reading PKRU (set_current_compartment_source), since with MPK the
// running compartment is a property of the thread's rights, not of the process.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flex::runtime {

// Exit statuses of an image ended by the runtime (documented so tests and scripts can tell them apart).
inline constexpr int kExitFault = 139;    // a compartment touched memory it has no right to (128+SIGSEGV)
inline constexpr int kExitBadCall = 134;  // a gate was entered at a non-exported point (128+SIGABRT)
inline constexpr int kExitDied = 70;      // a compartment process died (EX_SOFTWARE, sysexits.h)
inline constexpr int kExitSyscall = 159;  // a system call outside the set, under lockdown (128+SIGSYS)

inline constexpr unsigned kMaxCompartments = 64;
inline constexpr unsigned kMaxRegions = 512;
inline constexpr unsigned kNoCompartment = ~0u;    // the runtime itself, outside every compartment
inline constexpr unsigned kSharedOwner = ~0u - 1;  // owner of a region every compartment may touch

// program: the code of an unmodified program an image runs (runtime/binary), mapped by its loader and its
// interpreter, not by the image's own linker.
enum class region_kind : std::uint8_t { rodata, data, bss, heap, stack, shared, program, other };
const char *region_kind_name(region_kind k);

// One named address range [begin, end).
struct region {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
  unsigned owner = kSharedOwner;  // compartment index, or kSharedOwner
  region_kind kind = region_kind::other;
  const char *name = "";  // must outlive the image (a literal or a layout-table string)
  bool absent = false;    // unmapped in this process (another process's memory): its range may be reused
};

// Boot-time registration; returns 0 or a negative errno (-EINVAL: bad range or index, -ENOSPC: table full,
// -EEXIST: overlaps a region of another owner). Registering an identical region twice is a no-op, so the
// integration and a backend may both register what they know.
int register_compartment(unsigned index, const char *name);
int register_region(const region &r);
void clear_regions();
// Marks the regions lying in [begin, end) absent from this process (the process backend, once it has
// unmapped them). A later registration may overlap an absent region; lookups prefer present ones, so
// memory this process maps there later is reported as its own.
void mark_absent(std::uintptr_t begin, std::uintptr_t end);  // for tests that build several registries in one process

// Lookups (async-signal-safe).
const region *find_region(std::uintptr_t addr);
const char *compartment_name(unsigned index);  // "runtime" for kNoCompartment, "?" when unregistered
unsigned region_count();
const region *region_at(unsigned i);

// The running compartment of this process (thread, under MPK).
using current_compartment_fn = unsigned (*)();
namespace detail {
extern unsigned g_current_compartment;
extern current_compartment_fn g_current_source;
}  // namespace detail
inline unsigned current_compartment() {
  return detail::g_current_source ? detail::g_current_source() : detail::g_current_compartment;
}
inline void set_current_compartment(unsigned c) {
  detail::g_current_compartment = c;
}
// The MPK backend installs a PKRU reader here; nullptr restores the variable.
void set_current_compartment_source(current_compartment_fn fn);

// Under MPK the fault handler does not run with the rights of the code that faulted (the kernel enters
// handlers with its default PKRU), so it reads the interrupted PKRU from the signal frame's XSAVE area
// and asks this function which compartment held those rights. The MPK backend installs it at boot.
using pkru_owner_fn = unsigned (*)(std::uint32_t pkru);
void set_pkru_owner(pkru_owner_fn fn);
// The PKRU saved in a signal frame (a ucontext_t *); false when the frame carries none.
bool pkru_of_frame(const void *ucontext, std::uint32_t &pkru);
// The compartment whose code a signal interrupted: the one whose rights the frame's PKRU holds under MPK,
// the running one otherwise. Async-signal-safe.
unsigned compartment_of_frame(const void *ucontext);

// Function names for reports: load_symbols() reads the image's own symbol table (.symtab of
// /proc/self/exe) once at boot into a sorted table; symbol_at() is async-signal-safe.
//   flex: compartment 'app' (pid 7) faulted at 0x... in probe_main+0x2c (SIGSEGV, read, ...): ...
int load_symbols();
const char *symbol_at(std::uintptr_t pc, std::uintptr_t &offset);  // nullptr when unknown

// Installs the SIGSEGV/SIGBUS/SIGILL reporter on an alternate signal stack for the calling thread (other threads
// call install_fault_altstack themselves). Idempotent; returns 0 or a negative errno.
int install_fault_reporter();
int install_fault_altstack();

// Ending the image. A backend whose image spans several processes installs a terminator that tells the
// others (the process backend marks the image dead in shared memory and kills or wakes its peers); the
// default just _exits. Both are async-signal-safe, so the fault handler may call them.
using image_terminator = void (*)(int status);
void set_image_terminator(image_terminator fn);
[[noreturn]] void terminate_image(int status);

// The runtime's sealed data: pointers it follows with every right (the terminator, the fault reporter's
// callbacks, the lockdown's image), set at boot, then read-only. FLEX_SEALED places a variable there; the
// image's linker script collects them into their own pages (__flex_sealed_start/_end), and
// seal_runtime_data() makes those pages read-only (the lockdown does, before its layout wall, which
// keeps them so: no compartment can rewrite them, being key-0 memory, to have the runtime jump where it
// chose). Outside an image (tests) there is no such range and nothing happens.
#define FLEX_SEALED __attribute__((section(".data.flex_sealed")))
void seal_runtime_data();
bool runtime_data_sealed();

// A report line built without printf, for signal handlers and the gates' own checks:
//   fault_line().str("flex: compartment '").str(name).str("' (pid ").dec(getpid()).str(")").emit();
// emit() appends '\n' and writes the line to stderr in one write(2). Lines longer than the buffer are cut.
class fault_line {
 public:
  fault_line &str(const char *s);
  fault_line &dec(long long v);
  fault_line &hex(std::uintptr_t v);      // 0x-prefixed, lower case
  fault_line &who(unsigned compartment);  // "compartment 'x' (pid N)" or "runtime (pid N)"
  void emit();

 private:
  char buf_[512];
  std::size_t n_ = 0;
};

// The name of a signal (for "killed by signal 9 (Killed)"); async-signal-safe, never null.
const char *signal_description(int sig);

}  // namespace flex::runtime
