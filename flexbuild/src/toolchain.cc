#include "flex/build/toolchain.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "flex/build/fs_util.h"
#include "flex/build/image_build.h"  // shell_quote

#ifndef FLEX_SOURCE_DIR
#define FLEX_SOURCE_DIR "."
#endif
#ifndef FLEX_CLANG
#define FLEX_CLANG "clang-19"
#endif
#ifndef FLEX_CLANGXX
#define FLEX_CLANGXX "clang++-19"
#endif
#ifndef FLEX_LIBELF_ARCHIVE
#define FLEX_LIBELF_ARCHIVE "/usr/lib/x86_64-linux-gnu/libelf.a"
#endif
#ifndef FLEX_SECCOMP_ARCHIVE
#define FLEX_SECCOMP_ARCHIVE "/usr/lib/x86_64-linux-gnu/libseccomp.a"
#endif
#ifndef FLEX_ZLIB_ARCHIVE
#define FLEX_ZLIB_ARCHIVE "/usr/lib/x86_64-linux-gnu/libz.a"
#endif

namespace flex::build {

namespace fs = std::filesystem;

namespace {

// Looks `name` up like a shell would; absolute names are only checked.
std::optional<fs::path> find_program(const std::string &name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return fs::path(name);
    return std::nullopt;
  }
  const char *path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    fs::path p = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

// ccache, when it is installed and its cache folder can be written (ccache fails every compile where it
// cannot, e.g. a read-only home): the compiler then runs alone.
std::optional<fs::path> usable_ccache() {
  if (const char *use = std::getenv("FLEX_CCACHE")) {
    std::string v(use);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (v == "off" || v == "0" || v == "no" || v == "false") return std::nullopt;
  }
  auto ccache = find_program("ccache");
  if (!ccache) return std::nullopt;
  std::string dir;
  if (std::FILE *p = ::popen((shell_quote(ccache->string()) + " -k cache_dir 2>/dev/null").c_str(), "r")) {
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p)) dir += buf;
    if (::pclose(p) != 0) return std::nullopt;
  }
  while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
  if (dir.empty()) return std::nullopt;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || ::access(dir.c_str(), W_OK) != 0) return std::nullopt;
  return ccache;
}

}  // namespace

std::optional<toolchain> toolchain::locate(std::string *error) {
  toolchain tc;
  const fs::path src(FLEX_SOURCE_DIR);
  tc.runtime_headers = {src / "runtime" / "include"};
  for (const char *part : {"core", "mpk", "process", "heap", "lockdown", "binary"}) {
    tc.runtime_headers.push_back(src / "runtime" / part / "include");
  }
  for (const char *base : {"tlsf", "pku"}) tc.runtime_headers.push_back(src / "base" / base / "include");
  auto need = [&](const std::string &name, const char *package) -> std::optional<fs::path> {
    auto p = find_program(name);
    if (!p && error) *error = "cannot find '" + name + "'; install it with: apt-get install " + package;
    return p;
  };
  auto cc = need(FLEX_CLANG, "clang-19");
  if (!cc) return std::nullopt;
  auto cxx = need(FLEX_CLANGXX, "clang-19");
  if (!cxx) return std::nullopt;
  // The LLVM tools that belong to this clang live beside its real binary (/usr/lib/llvm-19/bin).
  std::error_code ec;
  fs::path llvm_bin = fs::canonical(*cc, ec).parent_path();
  auto ld = need((llvm_bin / "ld.lld").string(), "lld-19");
  if (!ld) return std::nullopt;
  auto objcopy = need((llvm_bin / "llvm-objcopy").string(), "llvm-19");
  if (!objcopy) return std::nullopt;
  auto nm = need((llvm_bin / "llvm-nm").string(), "llvm-19");
  if (!nm) return std::nullopt;
  auto ninja = need("ninja", "ninja-build");
  if (!ninja) return std::nullopt;
  tc.cc = *cc;
  tc.cxx = *cxx;
  tc.ld = *ld;
  tc.objcopy = *objcopy;
  tc.nm = *nm;
  tc.ninja = *ninja;
  tc.ccache = usable_ccache().value_or(fs::path());

  fs::path bin = executable_dir();
  tc.transform = bin / "flex-transform";
  const fs::path lib = bin.parent_path() / "lib";
  tc.runtime = lib / "libflex_runtime.a";
  tc.malloc = lib / "libflex_runtime_malloc.a";
  for (const char *part : {"core", "mpk", "process", "heap", "lockdown", "binary"}) {
    tc.runtime_parts.push_back(lib / (std::string("libflex_runtime_") + part + ".a"));
  }
  tc.runtime_parts.push_back(lib / "libflex_tlsf.a");
  tc.runtime_parts.push_back(lib / "libflex_pku.a");
  tc.runtime_parts.push_back(lib / "libflex_elf.a");
  tc.runtime_parts.push_back(lib / "libflex_syscalls.a");
  // libelf and the zlib it calls, under the runtime's symbolizer (flex::elf), linked statically: their code
  // then lies inside the image, where the gadget scan sees it (a shared library would be mapped executable
  // into every compartment unscanned), and an image needs no libelf where it runs.
  // libseccomp likewise, under the lockdown.
  for (const char *archive : {FLEX_LIBELF_ARCHIVE, FLEX_ZLIB_ARCHIVE, FLEX_SECCOMP_ARCHIVE}) {
    if (!fs::exists(archive)) {
      if (error) {
        *error = std::string("cannot find the static library ") + archive +
                 "; install it with: apt-get install libelf-dev libseccomp-dev";
      }
      return std::nullopt;
    }
    tc.runtime_parts.push_back(archive);
  }
  std::vector<fs::path> needed = {tc.transform, tc.runtime, tc.malloc};
  needed.insert(needed.end(), tc.runtime_parts.begin(), tc.runtime_parts.end());
  needed.insert(needed.end(), tc.runtime_headers.begin(), tc.runtime_headers.end());
  for (const fs::path &p : needed) {
    if (!fs::exists(p)) {
      if (error) *error = "cannot find " + p.string() + "; build Flex first: cmake --build build";
      return std::nullopt;
    }
  }
  return tc;
}

std::vector<std::string> toolchain::runtime_include_flags() const {
  std::vector<std::string> flags;
  for (const fs::path &dir : runtime_headers) flags.push_back("-I" + dir.string());
  return flags;
}

std::vector<std::string> hardening_flags(hardening h) {
  switch (h) {
    case hardening::asan: return {"-fsanitize=address"};
    case hardening::ubsan: return {"-fsanitize=undefined", "-fno-sanitize-recover=undefined"};
    case hardening::stack_protector: return {"-fstack-protector-strong"};
    case hardening::fortify: return {"-D_FORTIFY_SOURCE=2"};
    case hardening::safestack:
    case hardening::cfi: break;
  }
  return {};
}

std::vector<std::string> compartment_flags(const compartment &c) {
  std::vector<std::string> flags;
  if (!c.has(hardening::stack_protector)) flags.push_back("-fno-stack-protector");
  if (!c.has(hardening::fortify)) flags.push_back("-U_FORTIFY_SOURCE");
  for (hardening h : c.hardenings) {
    auto f = hardening_flags(h);
    flags.insert(flags.end(), f.begin(), f.end());
  }
  return flags;
}

std::vector<std::string> image_link_flags(const std::vector<const compartment *> &comps) {
  bool asan = false, ubsan = false;
  for (const compartment *c : comps) {
    asan |= c->has(hardening::asan);
    ubsan |= c->has(hardening::ubsan);
  }
  // Full RELRO: every GOT slot is resolved at load and read-only before boot, so no compartment can
  // redirect the runtime's own calls (the layout wall keeps it read-only: DESIGN.md §8).
  std::vector<std::string> flags = {"-Wl,-z,relro", "-Wl,-z,now"};
  if (asan) flags.push_back("-fsanitize=address");
  if (ubsan) flags.push_back("-fsanitize=undefined");
  return flags;
}

}  // namespace flex::build
