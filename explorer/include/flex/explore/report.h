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

// Writes everything above, each file by its writer below (in the order listed there); returns what could
// not be written, one line each (the figure needs Graphviz's `dot`), or an empty string.
std::string write_report(const exploration &x, const std::filesystem::path &out);

// One writer per output file. Each returns what went wrong, one line each, or "". The files they write
// themselves go through a temporary file renamed into place, so each is whole or absent, never
// half-written; hasse.svg and hasse.png are Graphviz's.
std::string write_results_csv(const exploration &x, const std::filesystem::path &out);
std::string write_results_json(const exploration &x, const std::filesystem::path &out);
// picks/: emptied first, then one profile per pick.
std::string write_picks(const exploration &x, const std::filesystem::path &out);
// hasse.dot, then hasse.svg and hasse.png drawn from it by Graphviz's `dot` (up to 2000 members).
struct figure_result {
  std::string problems;
  bool svg = false;  // hasse.svg was drawn: report.html shows it
};
figure_result write_hasse(const exploration &x, const std::filesystem::path &out);
std::string write_report_html(const exploration &x, const std::filesystem::path &out, bool figure_drawn);

// What those writers write.
std::string results_csv(const exploration &x);
std::string results_json(const exploration &x);
std::string hasse_dot(const exploration &x);
std::string report_html(const exploration &x, bool figure_drawn);

// A few lines for the terminal: totals, the picks, where the report is.
std::string summary_text(const exploration &x, const std::filesystem::path &out);

}  // namespace flex::explore
