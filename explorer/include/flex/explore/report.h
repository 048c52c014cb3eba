// What an exploration leaves in its folder:
//   results.csv, results.json   every configuration, its category, status and figure; totals; picks
//   picks/<profile>.yaml        the chosen profile(s), ready for `flexbuild --profile`
//   profiles/<profile>.yaml     every configuration's profile (written before building)
//   hasse.dot, .svg, .png       the Hasse diagram of the explorable configurations, coloured by the
//                               figure, the picks outlined
//   report.html                 the summary, the figure and the table
#pragma once

#include <filesystem>
#include <string>

#include "flex/explore/explore.h"

namespace flex::explore {

// Writes everything above; returns an error message for what could not be written (the figure needs
// Graphviz's `dot`), or an empty string.
std::string write_report(const exploration &x, const std::filesystem::path &out);

// A few lines for the terminal: totals, the picks, where the report is.
std::string summary_text(const exploration &x, const std::filesystem::path &out);

}  // namespace flex::explore
