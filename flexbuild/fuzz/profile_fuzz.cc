// libFuzzer target: any bytes, read as a profile, must give a profile or diagnostics; never a crash,
// a leak, a hang or an escaping exception. Profiles that parse are validated against a small index.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flex/build/profile.h"

namespace {

using namespace flex::build;

const library_index &fixed_index() {
  static const library_index index = [] {
    library_index idx;
    diag_sink diags;
    auto add = [&](const char *name, lib_kind kind, bool replicated) {
      lib_manifest lib;
      lib.name = name;
      lib.kind = kind;
      lib.replicated = replicated;
      lib.file = std::string("/fuzz/") + name + "/lib.yaml";
      lib.dir = std::string("/fuzz/") + name;
      idx.add(std::move(lib), diags);
    };
    add("hello", lib_kind::app, false);
    add("console", lib_kind::libos, false);
    add("net", lib_kind::libos, false);
    add("plat", lib_kind::libos, true);
    return idx;
  }();
  return index;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  diag_sink diags;
  auto p = parse_profile("fuzz.yaml", text, diags);
  if (p) validate_profile(*p, fixed_index(), diags);
  // A rejected profile always says why, and every diagnostic points into the input and renders.
  if (!p && !diags.has_errors()) __builtin_trap();
  for (const flex::yaml::diagnostic &d : diags.all()) {
    if (d.message.empty() || d.pos.file != "fuzz.yaml" || d.pos.line < 0 || d.pos.column < 0) {
      __builtin_trap();
    }
    if (render(d, false).empty()) __builtin_trap();
  }
  return 0;
}
