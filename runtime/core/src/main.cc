// The image's entry point: reads the runtime's own flags, boots the compartments and enters the app.
//
// Runtime flags are taken out of argv before the app sees it:
//   --describe     print the compartment layout of this image and exit
//   --gate-stats   count the calls through every gate and print them per boundary at exit
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "flex/runtime/binary.h"
#include "flex/runtime/boot.h"
#include "flex/runtime/fault.h"
#include "flex/runtime/image_gates.h"
#include "flex/runtime/layout.h"
#include "flex/runtime/mpk.h"
#include "flex/runtime/process.h"  // process_booted
#include "flex/syscalls/syscalls.h"

#include <unistd.h>

namespace flex::runtime {
namespace {

const char *isolation_name(int iso) {
  switch (iso) {
    case FLEX_ISO_NONE: return "none";
    case FLEX_ISO_MPK: return "mpk";
    case FLEX_ISO_PROCESS: return "process";
  }
  return "?";
}

const char *gate_name(int gate) {
  switch (gate) {
    case FLEX_GATE_CALL: return "call";
    case FLEX_GATE_MPK_LIGHT: return "mpk-light";
    case FLEX_GATE_MPK_FULL: return "mpk-full";
    case FLEX_GATE_PROCESS: return "process";
  }
  return "?";
}

void print_list(std::FILE *out, const char *const *names) {
  bool first = true;
  for (const char *const *n = names; n && *n; ++n) {
    std::fprintf(out, "%s%s", first ? "" : ", ", *n);
    first = false;
  }
  if (first) std::fputs("-", out);
}

void print_section(std::FILE *out, const flex_section &s) {
  std::fprintf(out, "    %-24s %p-%p %8zu bytes\n", s.name, static_cast<void *>(s.start),
               static_cast<void *>(s.end), static_cast<size_t>(s.end - s.start));
}

// Prints the layout with the addresses this process actually got (the image is position independent).
void describe(std::FILE *out) {
  const flex_image_layout &img = flex_image;
  std::fprintf(out, "image %s: app %s, %u compartment%s, built from %s\n", img.name, img.app,
               img.n_compartments, img.n_compartments == 1 ? "" : "s", img.profile);
  std::fprintf(out, "sharing: stack=%s; mpk gates: %s\n", img.stack_sharing, img.mpk_gate);
  for (unsigned i = 0; i < img.n_compartments; ++i) {
    const flex_compartment_layout &c = img.compartments[i];
    std::fprintf(out, "compartment %u: %s%s\n", i, c.name, c.is_default ? " (default)" : "");
    std::fprintf(out, "  isolation: %s\n", isolation_name(c.isolation));
    std::fprintf(out, "  hardening: %s\n", c.hardening[0] ? c.hardening : "-");
    std::fputs("  libraries: ", out);
    print_list(out, c.libraries);
    std::fputs("\n  replicated: ", out);
    print_list(out, c.replicated);
    if (c.heap_mib) {
      std::fprintf(out, "\n  heap: %lu MiB", c.heap_mib);
    }
    std::fputs("\n  sections:\n", out);
    for (const flex_section &s : c.sections) print_section(out, s);
  }
  std::fputs("shared:\n", out);
  print_section(out, img.shared_data);
  print_section(out, img.shared_rodata);
  std::fputs("boundaries:\n", out);
  if (img.n_boundaries == 0) std::fputs("  -\n", out);
  for (unsigned i = 0; i < img.n_boundaries; ++i) {
    const flex_boundary_layout &b = img.boundaries[i];
    std::fprintf(out, "  %s -> %s: %s (gate: %s)\n", img.compartments[b.from].name,
                 img.compartments[b.to].name, isolation_name(b.mechanism), gate_name(b.gate));
  }
  describe_backends(out);
}

// Called at the image's end when --gate-stats was given. Formatted without printf: in an image with MPK
// domains this runs with the runtime's rights, and printf's conversions are tables every compartment may
// rewrite (image_end.cc).
void print_gate_stats() {
  const flex_image_layout &img = flex_image;
  fault_line().str("gate-stats: image ").str(img.name).emit();
  if (flex_image_n_counters == 0) fault_line().str("gate-stats: no boundary has a gate").emit();
  for (unsigned i = 0; i < flex_image_n_counters; ++i) {
    const flex_counter_ref &c = flex_image_counters[i];
    int gate = FLEX_GATE_CALL;
    for (unsigned b = 0; b < img.n_boundaries; ++b) {
      if (img.boundaries[b].from == c.from && img.boundaries[b].to == c.to) gate = img.boundaries[b].gate;
    }
    fault_line()
        .str("gate-stats: ")
        .str(img.compartments[c.from].name)
        .str(" -> ")
        .str(img.compartments[c.to].name)
        .str(" (")
        .str(gate_name(gate))
        .str("): ")
        .dec(static_cast<long long>(c.counter->calls.load(std::memory_order_relaxed)))
        .str(" calls")
        .emit();
  }
  if (img.binary_path) {  // how the program's system calls came to the runtime
    const binary::call_counts n = binary::counts();
    fault_line()
        .str("gate-stats: program ")
        .str(img.binary_path)
        .str(": ")
        .dec(static_cast<long long>(n.bound))
        .str(" bound calls (")
        .dec(static_cast<long long>(n.bound_slots))
        .str(" imports bound), ")
        .dec(static_cast<long long>(n.caught))
        .str(" caught calls")
        .emit();
    flex::syscalls::name_table_init();
    for (int nr = 0; nr < flex::syscalls::kMaxSyscall; ++nr) {
      if (const std::uint64_t k = binary::unanswered(nr)) {
        const char *name = flex::syscalls::name_of(nr);
        fault_line()
            .str("gate-stats: program answered ENOSYS: ")
            .str(name ? name : "?")
            .str(" (")
            .dec(nr)
            .str("): ")
            .dec(static_cast<long long>(k))
            .str(" calls")
            .emit();
      }
    }
  }
}

bool has_mpk_domains() {
  return mpk_booted_plan().n_domains > 0;
}

}  // namespace
}  // namespace flex::runtime

// An ASan-hardened compartment in an image with process compartments: LeakSanitizer scans the whole
// address space at exit, and the memory of the other compartments is unmapped there (absent, by design),
// so leak detection is off in such images. It is off under lockdown too: LeakSanitizer stops the world
// with a non-thread clone and ptrace, which the lockdown refuses (DESIGN.md §8); build with
// `lockdown: off` to look for leaks. ASan calls this before main when it is linked in.
extern "C" void __asan_init() __attribute__((weak));

extern "C" const char *__asan_default_options() {
  if (flex_image.lockdown != FLEX_LOCKDOWN_OFF) return "detect_leaks=0";
  for (unsigned i = 0; i < flex_image.n_compartments; ++i) {
    if (flex_image.compartments[i].isolation == FLEX_ISO_PROCESS) return "detect_leaks=0";
  }
  return "";
}

namespace {

// Before every constructor (the C library's, the image's libraries', which may open descriptors): an image
// with mpk domains under enforce starts again with every object bound at load (mpk_bind_now_at_start).
void bind_now_first(int, char **argv, char **envp) {
  const flex_image_layout &img = flex_image;
  if (img.lockdown != FLEX_LOCKDOWN_ENFORCE) return;
  for (unsigned c = 0; c < img.n_compartments; ++c) {
    if (img.compartments[c].isolation == FLEX_ISO_MPK) return flex::runtime::mpk_bind_now_at_start(argv, envp);
  }
}
[[gnu::section(".preinit_array"), gnu::used]] void (*const g_bind_now_first)(int, char **, char **) = &bind_now_first;

}  // namespace

int main(int argc, char **argv) {
  std::vector<char *> app_argv;
  app_argv.reserve(static_cast<size_t>(argc) + 1);
  bool want_describe = false;
  for (int i = 0; i < argc; ++i) {
    if (i > 0 && std::strcmp(argv[i], "--describe") == 0) {
      want_describe = true;
      continue;
    }
    if (i > 0 && std::strcmp(argv[i], "--gate-stats") == 0) {
      flex::runtime::g_count_gates = true;
      continue;
    }
    app_argv.push_back(argv[i]);
  }
  if (want_describe) {
    flex::runtime::describe(stdout);
    return 0;
  }
  app_argv.push_back(nullptr);
  if (flex::runtime::boot_image(static_cast<int>(app_argv.size() - 1), app_argv.data()) < 0) return 1;
  if (flex::runtime::has_mpk_domains()) {
    flex::runtime::own_standard_output();
  } else if (flex::runtime::g_count_gates) {
    std::atexit(flex::runtime::print_gate_stats);  // the main process's exit
  }
  flex::runtime::finish_image(flex::runtime::enter_app(static_cast<int>(app_argv.size() - 1), app_argv.data()));
}

namespace flex::runtime {
void finish_image(int rc) {
  if (has_mpk_domains()) end_without_libc(rc, g_count_gates ? &print_gate_stats : nullptr);
  if (&__asan_init != nullptr && process_booted()) {
    // ASan's module destructors would read the metadata of instrumented compartments whose memory this
    // process has unmapped: finish the image without them.
    if (g_count_gates) print_gate_stats();
    shutdown_backends();
    std::fflush(nullptr);
    _exit(rc);
  }
  std::exit(rc);
}
}  // namespace flex::runtime
