// For the lockdown part only: the filter (lockdown_filter.cc) as lockdown.cc calls it.
#pragma once

#include <cstdint>

#include "flex/runtime/layout.h"
#include "flex/runtime/status.h"

namespace flex::runtime::lockdown_detail {

// Loads the seccomp filter of the compartments in `hosted` for every thread of the calling process
// (enforce), or for the calling thread with an unfiltered supervisor thread beside it (log).
status install_filter(const flex_image_layout &img, std::uint64_t hosted, bool supervisor);

}  // namespace flex::runtime::lockdown_detail
