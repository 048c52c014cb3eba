// Boots an image's compartments from its layout table (flex_image): registers every compartment's static
// sections with the fault reporter, then checks, boots and at the end tears down each backend the image
// uses, through the one lifecycle they share (backend.h). Part of libflex_runtime (it needs the tables
// only an image defines).
#include "flex/runtime/boot.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <tuple>

#include "flex/runtime/backend.h"
#include "flex/runtime/binary.h"
#include "flex/runtime/fault.h"
#include "flex/runtime/image_gates.h"
#include "flex/runtime/layout.h"
#include "flex/runtime/lockdown.h"
#include "flex/runtime/mpk.h"
#include "flex/runtime/process.h"

// Defined only in images that run an unmodified program (their binary app).
#pragma weak flex_binary_answer

namespace flex::runtime {
void install_termination_handlers();  // termination.cc
namespace {

// Boot order: processes fork before any key, tagged range or domain heap exists, so a compartment process
// holds none of the mpk domains' memory (their statics it unmaps at boot).
using image_backends = std::tuple<call_lifecycle, process_lifecycle, mpk_lifecycle>;
// What confines the booted image, after everything else, immediately before the app's first instruction.
using image_monitors = std::tuple<lockdown_lifecycle>;

constexpr region_kind kSectionKinds[FLEX_SEC_COUNT] = {region_kind::rodata, region_kind::data, region_kind::bss};

void *g_app_stack_top = nullptr;  // where the app runs, when a backend gave it a stack of its own

void lock_down_compartment(unsigned compartment) {
  lockdown_compartment_process(flex_image, compartment);
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

template <lifecycle L>
bool refused(const status &s) {
  if (s.ok()) return false;
  std::fprintf(stderr, "flex: image %s cannot boot its %s compartments: %s\n", flex_image.name, L::kName,
               s.message().c_str());
  return true;
}

// Every backend that applies is checked before any boots: an image that cannot be protected refuses
// before it forks or tags anything.
template <lifecycle... L>
bool check_all(std::tuple<L...> *) {
  return (... && (!L::applies(flex_image) || !refused<L>(L::check(flex_image))));
}

template <lifecycle... L>
bool boot_all(boot_context &ctx, std::tuple<L...> *) {
  return (... && (!L::applies(flex_image) || !refused<L>(L::boot(ctx))));
}

template <lifecycle... L>
void describe_all(std::FILE *out, std::tuple<L...> *) {
  (..., (L::applies(flex_image) ? L::describe(flex_image, out) : void()));
}

// In reverse boot order.
template <lifecycle First, lifecycle... Rest>
void teardown_all(std::tuple<First, Rest...> *) {
  if constexpr (sizeof...(Rest) > 0) teardown_all(static_cast<std::tuple<Rest...> *>(nullptr));
  if (First::applies(flex_image)) First::teardown();
}

}  // namespace

int boot_image(int argc, char **argv) {
  if (int rc = register_layout(); rc < 0) {
    std::fprintf(stderr, "flex: cannot register the compartments' memory: %s\n", std::strerror(-rc));
    return rc;
  }
  load_symbols();  // best effort: without them, reports give the faulting pc instead of a function
  if (int rc = install_fault_reporter(); rc < 0) {
    std::fprintf(stderr, "flex: cannot install the fault reporter: %s\n", std::strerror(-rc));
    return rc;
  }
  image_backends *backends = nullptr;
  image_monitors *monitors = nullptr;
  if (!check_all(backends) || !check_all(monitors)) return -ENOTSUP;
  boot_context ctx{flex_image};
  if (flex_image.lockdown != FLEX_LOCKDOWN_OFF) ctx.on_compartment_start = lock_down_compartment;
  if (!boot_all(ctx, backends)) return -ENOTSUP;
  g_app_stack_top = ctx.app_stack_top;
  // An unmodified program is mapped and linked now, its calls answered by the image's dispatcher, before
  // the lockdown refuses new executable memory.
  if (flex_image.binary_path) {
    if (&flex_binary_answer == nullptr) {
      std::fprintf(stderr, "flex: image %s names a program but links no binary app to answer its calls\n",
                   flex_image.name);
      return -ENOEXEC;
    }
    if (status s = binary::link(binary::image_program(argc, argv), &flex_binary_answer, nullptr); !s.ok()) {
      std::fprintf(stderr, "flex: %s\n", s.message().c_str());
      return -ENOEXEC;
    }
  }
  install_termination_handlers();
  if (!boot_all(ctx, monitors)) return -ENOTSUP;
  return 0;
}

void describe_backends(std::FILE *out) {
  describe_all(out, static_cast<image_backends *>(nullptr));
  describe_all(out, static_cast<image_monitors *>(nullptr));
}

void shutdown_backends() {
  teardown_all(static_cast<image_backends *>(nullptr));
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

namespace {
int enter_and_finish(int argc, char **argv) {
  finish_image(flex_enter_app(argc, argv));
}
}  // namespace

int enter_app(int argc, char **argv) {
  if (g_app_stack_top) return call_on_stack(g_app_stack_top, &flex_enter_app, argc, argv);
  if (void *top = mpk_runtime_stack_top()) {
    // The frames below this one lie on the main thread's stack, key-0 memory every compartment may
    // write while the app runs: the runtime never returns through them.
    call_on_stack(top, &enter_and_finish, argc, argv);
    __builtin_unreachable();
  }
  return flex_enter_app(argc, argv);
}

}  // namespace flex::runtime
