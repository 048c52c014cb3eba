// The toolchain an image is built with, and the flags each hardening option turns into.
//
//   auto tc = toolchain::locate(&error);
//   auto flags = hardening_flags(compartment);   // {"-fsanitize=address", ...}
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "flex/build/profile.h"

namespace flex::build {

struct toolchain {
  std::filesystem::path cc;         // clang-19
  std::filesystem::path cxx;        // clang++-19
  std::filesystem::path ld;         // ld.lld (relocatable links)
  std::filesystem::path objcopy;    // llvm-objcopy
  std::filesystem::path nm;         // llvm-nm
  std::filesystem::path ninja;
  // ccache, when it is installed, its cache folder can be written and FLEX_CCACHE is not "off": every
  // compile of an image goes through it, so the sources that many images (or the explorer's
  // configurations) compile alike are compiled once. Empty: the compiler runs alone.
  std::filesystem::path ccache;
  std::filesystem::path transform;  // flex-transform, beside flexbuild
  std::filesystem::path runtime;    // libflex_runtime.a: the image's main and boot sequence
  std::filesystem::path malloc;     // libflex_runtime_malloc.a: malloc routed to the running compartment's heap
  // libflex_runtime_{core,mpk,process,heap}.a, libflex_tlsf.a, libflex_pku.a and libflex_elf.a: the rest
  // of the runtime and the base libraries it uses, then the system's libelf.a and libz.a, in link order.
  std::vector<std::filesystem::path> runtime_parts;
  // The include folders of the Flex tree flexbuild was built from that image code may use: the porting
  // API (<flexos/...>), the runtime's public headers (<flex/runtime/...>) and the base libraries they name.
  std::vector<std::filesystem::path> runtime_headers;

  // Finds every tool; on failure returns a message naming what is missing and how to get it.
  static std::optional<toolchain> locate(std::string *error);

  // -I flags for runtime_headers.
  std::vector<std::string> runtime_include_flags() const;
};

// Compiler flags of one hardening option. safestack and cfi are refused earlier (profile validation).
std::vector<std::string> hardening_flags(hardening h);
// Flags for a compartment: its hardening, and explicit opt-outs of the options it does not ask for, so
// the profile alone decides what reaches the objects.
std::vector<std::string> compartment_flags(const compartment &c);
// Link flags that pull in the runtimes of the hardening used anywhere in the image.
std::vector<std::string> image_link_flags(const std::vector<const compartment *> &comps);

}  // namespace flex::build
