// Does this machine have usable protection keys? (see pku.h)
#include <cpuid.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "flex/pku/pku.h"

namespace flex::pku {

pku_support pku_status_from(std::uint32_t max_cpuid_leaf, std::uint32_t leaf7_ecx, int probe_errno) {
  constexpr std::uint32_t kPku = 1u << 3, kOspke = 1u << 4;
  pku_support s;
  if (max_cpuid_leaf < 7) {
    s.reason = "the CPU has no protection keys (it does not report CPUID leaf 7, where PKU is announced)";
  } else if (!(leaf7_ecx & kPku)) {
    s.reason =
        "the CPU has no protection keys: CPUID.(EAX=7,ECX=0):ECX.PKU[bit 3] = 0 (Intel MPK needs a "
        "Skylake-SP "
        "or later Xeon, Ice Lake or later client, or AMD Zen 3 or later)";
  } else if (!(leaf7_ecx & kOspke)) {
    s.reason =
        "the CPU has protection keys but the kernel has not enabled them: CPUID.(EAX=7,ECX=0):ECX.OSPKE[bit "
        "4] = "
        "0 (a kernel built without CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS, or booted with nopku; a VM whose "
        "hypervisor hides PKU looks the same)";
  } else if (probe_errno != 0) {
    s.reason = std::string("the CPU and kernel announce protection keys but pkey_alloc() fails: ") +
               std::strerror(probe_errno) +
               (probe_errno == ENOSPC ? " (every key is already allocated in this process)"
                                      : " (the kernel or a seccomp filter refuses protection keys)");
  } else {
    s.available = true;
  }
  return s;
}

namespace {

pku_support probe() {
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (max_leaf >= 7) __cpuid_count(7, 0, a, b, c, d);
  int probe_errno = 0;
  constexpr std::uint32_t kPkuAndOspke = (1u << 3) | (1u << 4);
  if (max_leaf >= 7 && (c & kPkuAndOspke) == kPkuAndOspke) {
    int key = ::pkey_alloc(0, 0);
    if (key < 0) {
      probe_errno = errno;
    } else {
      ::pkey_free(key);
    }
  }
  return pku_status_from(max_leaf, c, probe_errno);
}

}  // namespace

const pku_support &pku_status() {
  static const pku_support s = probe();
  return s;
}

}  // namespace flex::pku
