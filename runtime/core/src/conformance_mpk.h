// The conformance suite's MPK rows (included by conformance.h): the mpk-light and mpk-full gates, on the
// hardware (WRPKRU) and emulated (PKRU kept in a thread-local variable, for machines without PKU).
#pragma once

#include <string>

#include "flex/runtime/mpk_gate.h"

namespace flex::runtime::conformance {

// The MPK gates carry the caller's and the callee's PKRU as immediates, so one gate type serves one pair
// of compartments. mpk_matrix adapts them to the suite's one-type-per-backend shape: app, callee and peer
// are mpk domains 0, 1 and 2 (keys 1-3, shared key 4), and each call runs the real gate instantiated for
// (the running compartment, the callee), from a 3x3 table made at compile time.
inline constexpr std::uint32_t kDomainPkru[kComps] = {fg::pkru_for(1, 4), fg::pkru_for(2, 4),
                                                      fg::pkru_for(3, 4)};

template <bool Full, fg::pkru_insn Insn>
struct mpk_matrix {
  template <unsigned From, unsigned To>
  using gate_type = std::conditional_t<Full, fg::mpk_full<kDomainPkru[From], kDomainPkru[To], To, Insn>,
                                       fg::mpk_light<kDomainPkru[From], kDomainPkru[To], Insn>>;
  static constexpr const char *kName = gate_type<0, 0>::kName;  // mpk-light, mpk-full-emulated, ...
  struct target {
    unsigned callee = 0;
    unsigned export_id = 0;  // unused: MPK gates call the function itself
  };
  static inline thread_local unsigned running = kApp;  // which domain's rights this thread holds

  template <unsigned From, unsigned To>
  static word hop(fg::erased_fn fn, const fg::call_args &a) {
    return gate_type<From, To>::invoke({}, fn, a);
  }
  using hop_fn = word (*)(fg::erased_fn, const fg::call_args &);
  template <unsigned From>
  static constexpr hop_fn row[kComps] = {&hop<From, 0>, &hop<From, 1>, &hop<From, 2>};
  static constexpr const hop_fn *table[kComps] = {row<0>, row<1>, row<2>};

  static word invoke(const target &t, fg::erased_fn fn, const fg::call_args &a) {
    const unsigned from = running;
    running = t.callee;
    const word r = table[from][t.callee](fn, a);
    running = from;
    return r;
  }
};
static_assert(fg::backend<mpk_matrix<true, fg::pkru_insn::hardware>>);

inline std::uint32_t rdpkru() {
  std::uint32_t eax;
  asm volatile("rdpkru" : "=a"(eax) : "c"(0) : "rdx");
  return eax;
}

// Where the gate's code writes PKRU: WRPKRU (0f 01 ef), or its emulation, `mov %eax, %fs:disp32`
// (64 89 04 25). The first one in a gate is the write of the callee's rights.
inline const unsigned char *first_pkru_write(fg::detail::mpk_entry_fn gate, bool hardware) {
  const auto *code = reinterpret_cast<const unsigned char *>(gate);
  for (int i = 0; i < 256; ++i) {
    const unsigned char *c = code + i;
    if (hardware ? (c[0] == 0x0f && c[1] == 0x01 && c[2] == 0xef)
                 : (c[0] == 0x64 && c[1] == 0x89 && c[2] == 0x04 && c[3] == 0x25)) {
      return c;
    }
  }
  return nullptr;
}

template <bool Full, fg::pkru_insn Insn>
struct harness<mpk_matrix<Full, Insn>> {
  using matrix = mpk_matrix<Full, Insn>;
  static constexpr bool kHardware = Insn == fg::pkru_insn::hardware;
  // The emulation runs the gates' code and checks with PKRU in a variable: nothing enforces the rights.
  static constexpr bool kIsolatesMemory = kHardware;
  static constexpr const char *kFaultCode = "SEGV_PKUERR";
  static constexpr bool kSeparatesRights = true;  // each domain its own PKRU, emulated or not
  static constexpr stack_use kStacks = Full ? stack_use::own : stack_use::callers;
  static constexpr bool kConcurrentThreads = true;
  static constexpr bool kRefusesForeignEntries = true;  // the ERIM check after each WRPKRU, stack checks

  static const char *unavailable() {
    static const std::string why = "PKU not available: " + fg::pku_status().reason;
    return kHardware && !fg::pku_status().available ? why.c_str() : nullptr;
  }
  static typename matrix::target make_target(unsigned callee, unsigned) { return {callee, 0}; }
  static word rights() { return kHardware ? rdpkru() : fg::testing::emulated_pkru(); }
  static word rights_of(unsigned c) { return kDomainPkru[c]; }
  static stack_range stack_of(unsigned c) {
    const fg::mpk_stack_range s = fg::mpk_thread_stack(static_cast<int>(c) + 1);
    return {s.lo, s.hi};
  }

  // A jump onto the app-to-callee gate's first PKRU write with EAX = 0 (every key open), ECX = EDX = 0.
  static void attempt_pkru_write_with_another_value() {
    const unsigned char *write =
        first_pkru_write(matrix::template gate_type<kApp, kCallee>::entry(), kHardware);
    if (!write) {
      std::fprintf(stderr, "no PKRU write found in the gate's code\n");
      std::_Exit(3);
    }
    asm volatile("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\tjmp *%0" ::"r"(write)
                 : "rax", "rcx", "rdx", "memory");
  }
  // App writes that the callee's stack is somewhere else, into the callee's stack slot: on PKU hardware
  // the slot page is the callee's, so the write itself faults; emulated (no keys), the gate's check refuses
  // the forged stack after its switch.
  static void attempt_forged_callee_stack() {
    static char fake[4096];
    *detail::mpk_slot(kCallee + 1) = reinterpret_cast<std::uintptr_t>(fake + sizeof fake);
    conf_call<matrix>(kCallee, kF0, &f0);
  }
  static const char *forged_stack_report() {
    static const std::string hw = std::string("flex: compartment '") + kCompartmentNames[kApp] +
                                  R"(' \(pid [0-9]+\) faulted at 0x[0-9a-f]+ .*address belongs to compartment ')" +
                                  kCompartmentNames[kCallee] + R"(' \(stack\))";
    return kHardware ? hw.c_str() : "flex: mpk gate check failed: a compartment stack pointer lies outside its domain's stack";
  }
  static std::vector<refusal> refusals() {
    std::vector<refusal> r = {
        {"a jump onto the gate's WRPKRU with another EAX", &attempt_pkru_write_with_another_value,
         fg::kGateViolationExitCode,
         "flex: mpk gate check failed: a WRPKRU ran with a value other than its gate's"}};
    if (Full) {
      r.push_back(
          {"a forged stack for the callee", &attempt_forged_callee_stack,
           kHardware ? kExitFault : fg::kGateViolationExitCode, forged_stack_report()});
    }
    return r;
  }

  template <typename F>
  static void run(const F &body) {
    if constexpr (kHardware) {
      ends_image(body, 0, "");
    } else {
      boot();
      in_app(body);
    }
  }
  template <typename F>
  static void ends_image(const F &body, int status, const std::string &report) {
    const auto image = [&] {
      boot();
      in_app(body);
    };
    const auto child = [&] { fg::testing::run_in_child(image); };
    expect_image_exit(kHardware, child, status, report);
  }

 private:
  // Emulated: stack arenas for keys 1-3 and the runtime page in emulated mode, in this process (as often
  // as asked). Hardware: in a fresh death-test child, three real domains, the compartments' names, their
  // private pages tagged with their keys and registered, and the fault reporter, as an image's boot does.
  static void boot() {
    map_private_pages();
    if constexpr (!kHardware) {
      fg::testing::emulate_mpk(kComps);
      fg::testing::set_emulated_pkru(fg::kPkruRuntime);
    } else {
      static const char *const none[] = {nullptr};
      static flex_compartment_layout comps[kComps] = {};
      for (unsigned i = 0; i < kComps; ++i) {
        comps[i] = {kCompartmentNames[i], FLEX_ISO_MPK, i == kApp, "", none, none, 1, {}, 0, nullptr, 0, 0, nullptr, nullptr};
      }
      static flex_image_layout img = {};
      img.name = "conformance";
      img.n_compartments = kComps;
      img.compartments = comps;
      if (auto st = fg::mpk_boot(img); !st.ok()) fail("boot failed: " + st.message());
      for (unsigned c = 0; c < kComps; ++c) {
        char *page = reinterpret_cast<char *>(g_private[c]);
        if (fg::status st = fg::mpk_tag_range(page, page + kPrivateBytes, static_cast<int>(c) + 1); !st.ok()) {
          fail(st.message());
        }
        if (fg::register_compartment(c, kCompartmentNames[c]) != 0 ||
            fg::register_region(private_region(c)) != 0)
          fail("cannot register the private pages");
      }
      if (fg::install_fault_reporter() != 0) fail("cannot install the fault reporter");
    }
  }
  [[noreturn]] static void fail(const std::string &why) {
    std::fprintf(stderr, "%s\n", why.c_str());
    std::_Exit(2);
  }

  // Runs body inside app's domain, entered from the runtime through the backend's own kind of gate.
  static inline std::function<void()> body_;
  static long enter() {
    body_();
    return 0;
  }
  template <typename F>
  static void in_app(const F &body) {
    body_ = body;
    using entry = std::conditional_t<Full, fg::mpk_full<fg::kPkruRuntime, kDomainPkru[kApp], kApp, Insn>,
                                     fg::mpk_light<fg::kPkruRuntime, kDomainPkru[kApp], Insn>>;
    fg::gate<entry>::call({}, nullptr, &enter);
    body_ = nullptr;
  }
};

}  // namespace flex::runtime::conformance
