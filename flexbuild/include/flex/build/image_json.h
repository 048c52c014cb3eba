// The check step and image.json: verifies, from the ELF itself, that every compartment's sections are
// page-aligned, disjoint and match their start/end symbols, then describes the image for users, the
// explorer and reviewers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flex/build/elf_sections.h"
#include "flex/build/image_build.h"
#include "flex/build/resolve.h"

namespace flex::build {

// Problems found in the linked image's compartment sections (empty when it is sound).
std::vector<std::string> check_sections(const resolved_image &img, const elf_info &elf);

// image.json. `summaries` are flex-transform's per-library summaries (gates, shared variables).
nlohmann::ordered_json image_json(const resolved_image &img, const elf_info &elf,
                                  const std::vector<nlohmann::json> &summaries, const image_paths &paths);

}  // namespace flex::build
