// The transform summaries of an image, as flexbuild reads them back. flex-transform runs once per source
// and writes what it did to that source alone (image_paths::source_summary): copies, gates, whitelisted
// data, callbacks, shared literals, diagnostics. What needs a library's or the whole image's view (the
// callbacks of gates.cc, image.json, and work/summary/<compartment>/<library>.json for people and tools)
// reads their merge, a cheap step that parses JSON, never a source.
//
// Usage:
//   std::vector<nlohmann::json> summaries;
//   if (auto err = library_summaries(img, units, paths, summaries)) report(*err);
//   std::string gates = gates_cc(img, collect_callbacks(summaries));
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flex/build/image_build.h"

namespace flex::build {

// The summaries of one library's sources merged into the library's, in the order given: lists are
// concatenated, counts added, and anything else (the library's name) kept from the first that has it.
//   Before: {"library": "redis", "gates": [g1], "shared_literals": 1}, {"library": "redis", "gates": [g2]}
//   After:  {"library": "redis", "gates": [g1, g2], "shared_literals": 1}
nlohmann::ordered_json merge_summaries(std::string_view library,
                                       const std::vector<nlohmann::ordered_json> &parts);

// Reads the summary of every unit, writes each library's merge where it changed, and sets `out` to the
// merges, each with its "compartment", compartment by compartment and library by library (the image's
// order). Returns an error message when a summary is missing or is not a JSON object.
std::optional<std::string> library_summaries(const resolved_image &img, const std::vector<unit> &units,
                                             const image_paths &paths, std::vector<nlohmann::json> &out);

}  // namespace flex::build
