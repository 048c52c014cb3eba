// Does this machine have usable protection keys (Intel MPK / AMD PKU)? The CPU (CPUID.(EAX=7,ECX=0):
// ECX.PKU), the kernel (OSPKE: CR4.PKE set) and a pkey_alloc() probe, with the reason in words when not.
// The one answer every part of Flex uses: an mpk image refuses to boot with this reason, the explorer
// leaves mpk configurations out, the tests skip or move to the PKU guest.
//
//   const flex::pku::pku_support &s = flex::pku::pku_status();
//   if (!s.available) fprintf(stderr, "no PKU: %s\n", s.reason.c_str());
#pragma once

#include <cstdint>
#include <string>

namespace flex::pku {

struct pku_support {
  bool available = false;
  std::string reason;  // why not, for people: "the CPU does not support protection keys (...)"
};

// Probed once, then cached.
const pku_support &pku_status();
// The decision itself, from the raw facts (tests). probe_errno: 0 if pkey_alloc worked.
pku_support pku_status_from(std::uint32_t max_cpuid_leaf, std::uint32_t leaf7_ecx, int probe_errno);

}  // namespace flex::pku
