// work/gen/gates.cc: the gates of one image. For every boundary whose kind is not a plain call, one
// wrapper per export of the callee's compartment, `__flex_gate_<caller>__<function>`, which flex-transform
// makes the gate placeholders call; each runs the boundary's backend through the gate front end (counting
// lives there). Plus the export table of each compartment (what the process backend may call by id), the
// per-boundary counters, and the entry into the app's main. A callback (a function marked
// `libX_callback`, found by flex-transform) is one more export of its compartment, with a wrapper only
// from X's compartment.
//
//   extern "C" fg::word __flex_gate_app__console_write_line(fg::word a0, ..., fg::word a5) {
//     return fg::gate<BACKEND>::call_erased(TARGET, &counter_app__core, fn(console_write_line), {{a0..a5}});
//   }
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "flex/build/image_build.h"

namespace flex::build {

namespace {

constexpr const char *kAppEntry = "flex_app_main";

// The exports of a compartment, in id order: its libraries' exports in manifest order, its callbacks,
// then the app's entry for the app's compartment.
std::vector<std::string> compartment_exports(const resolved_image &img, const resolved_compartment &c,
                                             const std::vector<image_callback> &callbacks) {
  std::vector<std::string> out;
  for (const lib_manifest *l : c.libraries) {
    for (const auto &e : l->exports) out.push_back(e.value);
  }
  for (const image_callback &cb : callbacks) {
    if (cb.to_compartment == c.name() && std::find(out.begin(), out.end(), cb.function) == out.end())
      out.push_back(cb.function);
  }
  for (const lib_manifest *l : c.libraries) {
    if (l == img.app) out.push_back(kAppEntry);
  }
  return out;
}

// The backend type and target initialiser of a boundary's gate.
struct backend_spelling {
  std::string type;
  std::string target;
};

size_t index_of(const resolved_image &img, std::string_view name) {
  for (size_t i = 0; i < img.compartments.size(); ++i) {
    if (img.compartments[i].name() == name) return i;
  }
  return 0;
}

// MPK gates carry both PKRU values as immediates: the generated file computes them at compile time with
// the runtime's own key assignment (plan_mpk), so the gates and mpk_boot cannot disagree. `caller` is a
// compartment index, or empty for the runtime (which runs with every right before it enters the app).
// Each gate carries its callee `fn` too (a direct call): a jump onto its WRPKRU reaches nothing else.
std::string mpk_backend(gate_kind kind, std::optional<size_t> caller, size_t callee, const std::string &fn) {
  std::string from = caller ? fmt::format("pkru_of({}u)", *caller) : "fg::kPkruRuntime";
  if (kind == gate_kind::mpk_light) return fmt::format("fg::mpk_light_to<{}, pkru_of({}u), &{}>", from, callee, fn);
  // A domain caller's key as an immediate too: the gate's way back cannot be steered to another domain's
  // stack. The runtime's comes from the thread table (its code may run on a domain's stack).
  if (!caller) return fmt::format("fg::mpk_full_to<{}, pkru_of({}u), domain_of({}u), &{}>", from, callee, callee, fn);
  return fmt::format("fg::mpk_full_to<{}, pkru_of({}u), domain_of({}u), &{}, fg::pkru_insn::hardware, domain_of({}u) + 1>",
                     from, callee, callee, fn, *caller);
}

// The runtime into a domain from its own stack (the app's entry, a compartment's signal handler): a full gate
// naming caller key 0, whatever the image's gates, so its way back returns through the runtime's return cell
// (mpk_gate.h). Never a light gate: a light gate's way back trusts the stack it shares with its callee, so a
// jump onto it would take the runtime's rights at an address of the jumper's choosing. Under light gates the
// app's stack carries the shared key (mpk_domains.cc), for the light gates it makes.
std::string mpk_runtime_entry(size_t callee, const std::string &fn) {
  return fmt::format("fg::mpk_full_to<fg::kPkruRuntime, pkru_of({0}u), domain_of({0}u), &{1}, fg::pkru_insn::hardware, 0>",
                     callee, fn);
}

backend_spelling spell_backend(const resolved_image &img, const boundary &b, size_t to_index, size_t export_id,
                               const std::string &fn) {
  switch (b.gate) {
    case gate_kind::call: return {"fg::call_backend", "{}"};
    case gate_kind::process:
      return {"fg::process_backend", fmt::format("{{{}u, {}u}}", to_index, export_id)};
    case gate_kind::mpk_light:
    case gate_kind::mpk_full: return {mpk_backend(b.gate, index_of(img, b.from), to_index, fn), "{}"};
  }
  return {"fg::call_backend", "{}"};
}

bool has_isolation(const resolved_image &img, isolation iso) {
  for (const auto &c : img.compartments) {
    if (c.spec->iso == iso) return true;
  }
  return false;
}
bool has_mpk(const resolved_image &img) {
  return has_isolation(img, isolation::mpk);
}
// An image with mpk domains and process compartments: calls between the two worlds pass through the
// runtime (key 0, every right), which the MPK gates enter and leave with constant PKRU values.
bool is_mixed(const resolved_image &img) {
  return has_mpk(img) && has_isolation(img, isolation::process);
}
gate_kind profile_mpk_gate(const resolved_image &img) {
  return img.prof->mpk_gate == mpk_gate_kind::light ? gate_kind::mpk_light : gate_kind::mpk_full;
}

constexpr const char *kWordParams =
    "fg::word a0, fg::word a1, fg::word a2, fg::word a3, fg::word a4, fg::word a5";

// The compile-time key plan, mirrored from the profile.
std::string mpk_plan_code(const resolved_image &img) {
  std::string iso;
  for (const auto &c : img.compartments) iso += fmt::format("{}, ", static_cast<int>(c.spec->iso));
  return fmt::format(
      "static_assert(fg::kMaxMpkDomains == {}, \"flexbuild and the runtime disagree on the mpk key budget\");\n"
      "static constexpr int kIsolations[] = {{{}}};\n"
      "static constexpr fg::mpk_plan kPlan = [] {{\n"
      "  fg::mpk_plan p{{}};\n"
      "  if (!fg::plan_mpk(kIsolations, {}u, p)) __builtin_unreachable();  // flexbuild checked the key budget\n"
      "  return p;\n"
      "}}();\n"
      "static constexpr std::uint32_t pkru_of(unsigned c) {{\n"
      "  for (unsigned i = 0; i < kPlan.n_domains; ++i) if (kPlan.domains[i].compartment == c) return kPlan.domains[i].pkru;\n"
      "  __builtin_unreachable();  // not an mpk domain: no constant\n"
      "}}\n"
      "static constexpr unsigned domain_of(unsigned c) {{\n"
      "  for (unsigned i = 0; i < kPlan.n_domains; ++i) if (kPlan.domains[i].compartment == c) return i;\n"
      "  __builtin_unreachable();  // not an mpk domain: no constant\n"
      "}}\n\n",
      kMaxMpkDomains, iso, img.compartments.size());
}

}  // namespace

std::vector<image_callback> collect_callbacks(const std::vector<nlohmann::json> &summaries) {
  std::set<image_callback> found;
  for (const auto &s : summaries) {
    for (const auto &c : s.value("callbacks", nlohmann::json::array())) {
      if (c.value("kind", "call") == "call") continue;
      found.insert({c.value("function", ""), c.value("from_compartment", ""), c.value("to_compartment", "")});
    }
  }
  return {found.begin(), found.end()};
}

namespace {

using export_lists = std::vector<std::vector<std::string>>;  // per compartment, in export-id order

// Stage 1, the preamble: includes, and the mpk key plan when the image has domains.
std::string preamble(const resolved_image &img) {
  std::string out = "// Generated by flexbuild: the gates of image " + img.prof->name + ". Do not edit.\n";
  out += "#include <flex/runtime/fault.h>\n#include <flex/runtime/gate.h>\n#include <flex/runtime/image_gates.h>\n#include <flex/runtime/layout.h>\n";
  if (has_isolation(img, isolation::process)) out += "#include <flex/runtime/process.h>\n";
  if (has_mpk(img)) out += "#include <flex/runtime/mpk_gate.h>\n";
  out += "\nnamespace fg = flex::runtime;\n\n";
  if (has_mpk(img)) out += mpk_plan_code(img);
  return out;
}

// Stage 2: every export of the image, declared only to take its address.
std::string export_declarations(const resolved_image &img, const std::vector<image_callback> &callbacks,
                                export_lists &exports) {
  std::string out = "extern \"C\" {\n";
  for (const auto &c : img.compartments) {
    exports.push_back(compartment_exports(img, c, callbacks));
    for (const auto &e : exports.back()) {
      if (e != kAppEntry) out += fmt::format("void {}(void);\n", e);  // the entry is in layout.h
    }
  }
  out += "}\n\n#define FN(f) reinterpret_cast<fg::erased_fn>(&f)\n\n";
  return out;
}

// Stage 3: the export tables the process backend calls by id.
// In a mixed image, a call that another process makes into an mpk domain of the main process is
// served by the runtime, which enters the domain through its MPK gate: the domain's export table
// holds those entries instead of the functions themselves. The runtime may be on a domain's stack then,
// so the entry relays (flex_mpk_relay, mpk_gate.h): onto the runtime's own stack and through a gate
// naming caller key 0 when the thread has a return cell, else where it is (the caller's key from the
// thread table).
//   static fg::word __flex_own_core__console_write(const fg::call_args *a) {   // runtime -> core
//     return fg::gate<fg::mpk_full_to<..., &console_write, fg::pkru_insn::hardware, 0>>::call_erased(..., *a);
//   }
//   static fg::word __flex_here_core__console_write(const fg::call_args *a) {
//     return fg::gate<fg::mpk_full_to<fg::kPkruRuntime, pkru_of(1u), domain_of(1u), &console_write>>::call_erased(..., *a);
//   }
//   extern "C" fg::word __flex_enter_core__console_write(a0..a5) {
//     const fg::call_args a{{a0, ..., a5}};
//     return fg::flex_mpk_relay(&__flex_own_core__console_write, &__flex_here_core__console_write, &a);
//   }
std::string export_tables(const resolved_image &img, const export_lists &exports) {
  std::string out;
  const bool mixed = is_mixed(img);
  for (size_t i = 0; i < img.compartments.size(); ++i) {
    const bool enter = mixed && img.compartments[i].spec->iso != isolation::process;
    if (!enter) continue;
    for (const auto &e : exports[i]) {
      const std::string here = mpk_backend(profile_mpk_gate(img), std::nullopt, i, e);
      const std::string own = mpk_runtime_entry(i, e);
      out += fmt::format(
          "static fg::word __flex_own_{0}__{1}(const fg::call_args *a) {{\n"
          "  static constexpr {3}::target t{{}};\n"
          "  return fg::gate<{3}>::call_erased(t, nullptr, FN({1}), *a);\n"
          "}}\n"
          "static fg::word __flex_here_{0}__{1}(const fg::call_args *a) {{\n"
          "  static constexpr {4}::target t{{}};\n"
          "  return fg::gate<{4}>::call_erased(t, nullptr, FN({1}), *a);\n"
          "}}\n"
          "extern \"C\" fg::word __flex_enter_{0}__{1}({2}) {{\n"
          "  const fg::call_args a{{{{a0, a1, a2, a3, a4, a5}}}};\n"
          "  return fg::flex_mpk_relay(&__flex_own_{0}__{1}, &__flex_here_{0}__{1}, &a);\n"
          "}}\n",
          img.compartments[i].name(), e, kWordParams, own, here);
    }
  }
  for (size_t i = 0; i < img.compartments.size(); ++i) {
    const bool enter = mixed && img.compartments[i].spec->iso != isolation::process;
    out += fmt::format("static const fg::erased_fn exports_{}[] = {{", img.compartments[i].name());
    for (const auto &e : exports[i]) {
      out += enter ? fmt::format("FN(__flex_enter_{}__{}), ", img.compartments[i].name(), e)
                   : fmt::format("FN({}), ", e);
    }
    out += "nullptr};\n";
  }
  out += "\nextern \"C\" const flex_export_table flex_image_exports[] = {\n";
  for (size_t i = 0; i < img.compartments.size(); ++i) {
    out += fmt::format("  {{exports_{}, {}u}},\n", img.compartments[i].name(), exports[i].size());
  }
  out += "};\n\n";
  return out;
}

// Stage 4: one counter per boundary with a gate. Counters live in shared data, so the processes of a
// process image add to the same ones.
std::string counters(const resolved_image &img) {
  std::string out, refs;
  int n_counters = 0;
  for (const auto &b : img.boundaries) {
    if (b.gate == gate_kind::call) continue;
    std::string counter = fmt::format("counter_{}__{}", b.from, b.to);
    out += fmt::format("__attribute__((section(\".data_shared\"))) static fg::gate_counter {};\n", counter);
    refs += fmt::format("  {{{}u, {}u, &{}}},\n", index_of(img, b.from), index_of(img, b.to), counter);
    ++n_counters;
  }
  out += "\nextern \"C\" const flex_counter_ref flex_image_counters[] = {\n" + refs +
         (n_counters ? "" : "  {0u, 0u, nullptr},\n") + "};\n";
  out += fmt::format("extern \"C\" const unsigned flex_image_n_counters = {}u;\n\n", n_counters);
  return out;
}

// Stage 5: the wrappers, one per (boundary with a gate, export of its callee).
std::string wrappers(const resolved_image &img, const std::vector<image_callback> &callbacks,
                     const export_lists &exports) {
  std::string out;
  const bool mixed = is_mixed(img);
  // A callback's wrapper, reached through a pointer, may also be called by its own
  // compartment (the library keeps the pointer it handed out): then it is a plain call.
  //   extern "C" fg::word __flex_gate_core__on_tick(a0..a5) {
  //     if (fg::current_compartment() == 0u) return FN(on_tick)(a0, ..., a5);
  //     return fg::gate<BACKEND>::call_erased(...);
  //   }
  auto callback_from = [&](const std::string &fn, const std::string &to) -> const image_callback * {
    for (const image_callback &cb : callbacks) {
      if (cb.function == fn && cb.to_compartment == to) return &cb;
    }
    return nullptr;
  };
  auto exported = [&](size_t to, const std::string &fn) {
    for (const lib_manifest *l : img.compartments[to].libraries) {
      for (const auto &e : l->exports) {
        if (e.value == fn) return true;
      }
    }
    return false;
  };
  for (const auto &b : img.boundaries) {
    if (b.gate == gate_kind::call) continue;
    size_t to = index_of(img, b.to);
    for (size_t id = 0; id < exports[to].size(); ++id) {
      const std::string &fn = exports[to][id];
      if (fn == kAppEntry) continue;
      const image_callback *cb = exported(to, fn) ? nullptr : callback_from(fn, b.to);
      if (cb && cb->from_compartment != b.from) continue;
      const std::string own_call =
          cb ? fmt::format("  if (fg::current_compartment() == {}u) return FN({})(a0, a1, a2, a3, a4, a5);\n", to, fn)
             : std::string();
      backend_spelling be = spell_backend(img, b, to, id, fn);
      const resolved_compartment &from = img.compartments[index_of(img, b.from)];
      if (mixed && b.gate == gate_kind::process && from.spec->iso != isolation::process) {
        // From an mpk domain to another process: leave the domain for the runtime (light: the runtime
        // runs on the caller's stack, with every right), which makes the process call and serves what
        // arrives while it waits; the way back restores the caller's PKRU.
        std::string leave = fmt::format("fg::mpk_light_to<pkru_of({}u), fg::kPkruRuntime, &__flex_pcall_{}__{}>",
                                        index_of(img, b.from), b.from, fn);
        out += fmt::format(
            "static fg::word __flex_pcall_{0}__{1}({5}) {{\n"
            "  static constexpr {2}::target t{3};\n"
            "  return fg::gate<{2}>::call_erased(t, &counter_{0}__{4}, FN({1}), {{{{a0, a1, a2, a3, a4, a5}}}});\n"
            "}}\n"
            "extern \"C\" fg::word __flex_gate_{0}__{1}({5}) {{\n{7}"
            "  static constexpr {6}::target t{{}};\n"
            "  return fg::gate<{6}>::call_erased(t, nullptr, FN(__flex_pcall_{0}__{1}), {{{{a0, a1, a2, a3, a4, a5}}}});\n"
            "}}\n",
            b.from, fn, be.type, be.target, b.to, kWordParams, leave, own_call);
        continue;
      }
      out += fmt::format(
          "extern \"C\" fg::word __flex_gate_{0}__{1}({5}) {{\n{6}"
          "  static constexpr {2}::target t{3};\n"
          "  return fg::gate<{2}>::call_erased(t, &counter_{0}__{4}, FN({1}), {{{{a0, a1, a2, a3, a4, a5}}}});\n"
          "}}\n",
          b.from, fn, be.type, be.target, b.to, kWordParams, own_call);
    }
  }

  return out;
}

// Stage 6: the entry into the app.
std::string app_entry(const resolved_image &img, const export_lists &exports) {
  std::string out;
  // The entry: the runtime, in the main process, calls the app's main. An app in a process compartment
  // is called through its channel (whichever compartment is the default one: when that is a process
  // compartment too, the main process holds only the others); otherwise an MPK gate enters the app's
  // domain, or the call is plain.
  const resolved_compartment *app = img.compartment_of(img.app->name);
  const resolved_compartment *def = nullptr;
  for (const auto &c : img.compartments) {
    if (c.spec->is_default) def = &c;
  }
  const boundary *entry = (app && def && app != def) ? img.find_boundary(def->name(), app->name()) : nullptr;
  out += "\nextern \"C\" int flex_enter_app(int argc, char **argv) {\n";
  if (app && app->spec->iso == isolation::process) {
    size_t to = index_of(img, app->name());
    size_t id = exports[to].size() - 1;
    const std::string counter = entry && entry->gate == gate_kind::process
                                    ? fmt::format("&counter_{}__{}", def->name(), app->name())
                                    : std::string("nullptr");
    out += fmt::format(
        "  static constexpr fg::process_backend::target t{{{0}u, {1}u}};\n"
        "  return static_cast<int>(fg::gate<fg::process_backend>::call_erased(t, {2}, FN({3}), "
        "{{{{static_cast<fg::word>(argc), reinterpret_cast<fg::word>(argv)}}}}));\n",
        to, id, counter, kAppEntry);
  } else if (app && has_mpk(img)) {
    // The runtime holds every right until here: it enters the app's domain through an MPK gate, whatever
    // the app's compartment (the default one included).
    size_t to = index_of(img, app->name());
    std::string type = mpk_runtime_entry(to, kAppEntry);
    out += fmt::format(
        "  static constexpr {0}::target t{{}};\n"
        "  return static_cast<int>(fg::gate<{0}>::call_erased(t, nullptr, FN({1}), "
        "{{{{static_cast<fg::word>(argc), reinterpret_cast<fg::word>(argv)}}}}));\n",
        type, kAppEntry);
  } else {
    out += fmt::format("  return reinterpret_cast<int (*)(int, char **)>(&{})(argc, argv);\n", kAppEntry);
  }
  out += "}\n";
  return out;
}

}  // namespace

// Before/after: see each stage above; the file is their concatenation in this order.
// Each mpk domain's system-call gate and drop (mpk_gate.h): its PKRU and index as immediates, its mark (in
// the domain's own .bss, self.c) as a symbol.
std::string syscall_gates(const resolved_image &img) {
  if (!has_mpk(img)) return {};
  std::string out = "\n// System calls (DESIGN.md §8): per mpk domain, its gate (plat) and its drop (the trap path).\n";
  if (img.prof->mpk_gate != mpk_gate_kind::light) out += "extern \"C\" void flex_mpk_signal_trampoline();\n";
  for (size_t i = 0; i < img.compartments.size(); ++i) {
    const auto &c = img.compartments[i];
    if (c.spec->iso == isolation::process) continue;
    out += fmt::format(
        "extern \"C\" unsigned char flex_sysmark_{0}[2];\n"
        "extern \"C\" [[gnu::naked, gnu::used, gnu::section(\".text.flex_gates\")]] long flex_sysgate_{0}(long, long, long, "
        "long, long, long, long) {{\n"
        "  asm volatile(FLEX_MPK_SYSGATE_BODY::FLEX_MPK_SYSCALL_OPERANDS(pkru_of({1}u), domain_of({1}u), flex_sysmark_{0}));\n"
        "}}\n"
        "extern \"C\" [[gnu::naked, gnu::used, gnu::section(\".text.flex_gates\")]] long flex_sysdrop_{0}(long, long, long, "
        "long, long, long, long) {{\n"
        "  asm volatile(FLEX_MPK_SYSDROP_BODY::FLEX_MPK_SYSCALL_OPERANDS(pkru_of({1}u), domain_of({1}u), flex_sysmark_{0}));\n"
        "}}\n",
        c.name(), i);
    // Its signal gate (mpk_signals.cc): a handler it installs after boot is entered through it, with its
    // rights and on its stack; full gates only (light gates run a domain on its caller's stack, which is
    // the runtime's signal stack here).
    if (img.prof->mpk_gate != mpk_gate_kind::light) {
      out += fmt::format(
          "extern \"C\" [[gnu::used]] void flex_sigenter_{0}() {{\n"
          "  static constexpr {1}::target t{{}};\n"
          "  fg::gate<{1}>::call_erased(t, nullptr, FN(flex_mpk_signal_trampoline), {{}});\n"
          "}}\n",
          c.name(), mpk_runtime_entry(i, "flex_mpk_signal_trampoline"));
    }
  }
  return out;
}

// An image whose program (a profile's `binary:`) runs in an mpk domain: that domain's key, which the loader
// tags the program's memory with, and a checked switch to its rights (runtime/binary: the loader's signal
// entries take them before they answer the program's calls or run its handlers, since the kernel enters a
// handler with key 0 only). The switch continues at r11 and touches no stack. Whoever jumps onto it gets
// the program's rights, another domain's code too: no more than a forged signal frame gives any domain in
// such an image, which nothing defends yet (README; attack_mpk_binary).
std::string program_rights(const resolved_image &img) {
  if (!img.prof->binary || !has_mpk(img)) return {};
  for (size_t i = 0; i < img.compartments.size(); ++i) {
    const auto &c = img.compartments[i];
    if (c.spec->iso != isolation::mpk || !img.compartment_of(kBinaryApp) || &c != img.compartment_of(kBinaryApp)) continue;
    return fmt::format(
        "\n// The program's domain (runtime/binary): its key and a checked switch to its rights.\n"
        "extern \"C\" [[gnu::used]] const int flex_bin_program_key = kPlan.domains[domain_of({0}u)].key;\n"
        "extern \"C\" [[gnu::naked, gnu::used, gnu::section(\".text.flex_gates\")]] void flex_bin_program_rights() {{\n"
        "  asm volatile(FLEX_MPK_SET_PKRU(FLEX_MPK_WRPKRU_HW, \"%[e]\") \"jmp *%%r11\\n\\t\" : : [e] \"i\"(pkru_of({0}u)));\n"
        "}}\n",
        i);
  }
  return {};
}

std::string gates_cc(const resolved_image &img, const std::vector<image_callback> &callbacks) {
  export_lists exports;
  std::string out = preamble(img);
  out += export_declarations(img, callbacks, exports);
  out += export_tables(img, exports);
  out += counters(img);
  out += wrappers(img, callbacks, exports);
  out += app_entry(img, exports);
  out += syscall_gates(img);
  out += program_rights(img);
  return out;
}

}  // namespace flex::build
