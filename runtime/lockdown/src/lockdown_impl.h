// For the lockdown part only: the filter (lockdown_filter.cc) as lockdown.cc calls it.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "flex/runtime/layout.h"
#include "flex/runtime/mpk.h"
#include "flex/runtime/status.h"

namespace flex::runtime::lockdown_detail {

// What the reports name (the image, the compartments this process hosts): before seal_runtime_data.
void remember_image(const flex_image_layout &img, std::uint64_t hosted);

// Loads the seccomp filter of the compartments in `hosted` for every thread of the calling process
// (enforce), or for the calling thread with an unfiltered supervisor thread beside it (log).
status install_filter(const flex_image_layout &img, std::uint64_t hosted, bool supervisor);

// The layout wall (lockdown_layout.cc): a process hosting several MPK domains may not unmap, map over,
// move or madvise the memory laid out at boot, nor map files. SIGSYS carries which rule refused a call
// in si_errno (SECCOMP_RET_DATA).
inline constexpr std::uint32_t kLayoutData = 1;   // munmap, mmap(MAP_FIXED), mremap, madvise on the layout
inline constexpr std::uint32_t kFileMapData = 2;  // mmap of a file
inline constexpr std::uint32_t kSignalData = 3;   // rt_sigreturn without the token, sigaltstack moves
inline constexpr std::uint32_t kSudSiteData = 4;  // another call at one of the runtime's pinned sites
inline constexpr std::uint32_t kDomainMemoryData = 5;  // (the system-call wall's) a domain's memory call
                                                       // on memory that is not its own fresh memory
inline constexpr std::uint32_t kDomainFdData = 6;      // (the system-call wall's) a call on another
                                                       // domain's descriptor
struct layout_span {
  std::uint64_t lo = 0, hi = 0;  // [lo, hi)
};
// Page-rounded outwards, sorted, overlapping and touching spans merged.
std::vector<layout_span> merge_spans(std::vector<layout_span> spans);
// The registered regions present in this process, the executable's PT_LOAD segments and every mapping
// that is not writable now (read from `maps_fd`, /proc/self/maps opened before Landlock took /proc away;
// the caller closes it), merged.
// foreign_code gets the first mapping (its /proc/self/maps line) that is executable but not a loaded
// object's code, or executable and writable or shared; it stays empty when there is none.
std::vector<layout_span> image_layout_spans(int maps_fd, std::string &foreign_code);
// The registered stack regions (the stack arenas): mprotect may make those writable.
std::vector<layout_span> stack_spans();
// The filter program for `spans` (no munmap, madvise, MAP_FIXED, mremap on them; no PROT_WRITE outside
// `stacks`); false when they are too many for its jumps. With `token` (the mpk signal wall's),
// rt_sigreturn must carry it in its first two arguments and sigaltstack may only query.
// With `pins` (mpk_sud_sites), a `syscall` instruction of the runtime's that Syscall User Dispatch always
// lets through may make only its own call; a pin for pkey_mprotect (mpk_pkey_site) is also the only
// place that call may come from.
bool layout_program(const std::vector<layout_span> &spans, const std::vector<layout_span> &stacks,
                    const std::uint64_t *token, std::vector<sock_filter> &out,
                    const std::vector<mpk_sud_site> &pins = {});
// Loads it for every thread of the process (before the main filter, which refuses seccomp itself); the
// program's copy of the token is scrubbed.
status install_layout_wall(const std::vector<layout_span> &spans, const std::vector<layout_span> &stacks = {},
                           const std::uint64_t *token = nullptr, const std::vector<mpk_sud_site> &pins = {});
// The SIGSYS reporter of enforce mode (before any wall that traps).
status install_reporter();

// Each mpk domain's own set for the system-call wall (mpk_syscall_wall): the runtime's needs in any
// process and the domain's compartment's set, as the process filter builds them.
void domain_sets(const flex_image_layout &img, mpk_syscall_sets &out);
// The wall's refusal: the report, then the end of the image (kExitSyscall).
[[noreturn]] void refuse_domain_call(unsigned compartment, long nr, const unsigned long args[6], mpk_refusal why);

}  // namespace flex::runtime::lockdown_detail
