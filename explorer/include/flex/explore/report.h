// What an exploration leaves in its folder:
//   results.csv, results.json   every configuration, its category, status and figure; totals; picks
//   picks/<profile>.yaml        the chosen profile(s), ready for `flexbuild --profile`
//   profiles/<profile>.yaml     every configuration's profile (written before building)
//   frontier.dot, .svg          the picks and every configuration measured to settle them, with the order
//                               between them: the graph report.html draws
//   hasse.dot, .svg, .png       the whole Hasse diagram of the explorable configurations, coloured by the
//                               figure, the picks outlined (linked from report.html, for small spaces)
//   reports/<profile>.html,.txt `flexbuild report` of each pick (write_pick_reports)
//   report.html                 one self-contained page: the summary, how stable the answer is, the picks
//                               (each with its profile and its flexbuild report), the frontier graph, a
//                               scatter plot of the figure against the level in the safer-than order with
//                               the floor and the picks marked, and every configuration in a table with
//                               filters (placement, mechanism, hardening, lockdown, status)
#pragma once

#include <filesystem>
#include <string>

#include "flex/explore/explore.h"

namespace flex::explore {

// Writes everything above but reports/, each file by its writer below (in the order listed there); returns
// what could not be written, one line each (the figures need Graphviz's `dot`), or an empty string.
std::string write_report(const exploration &x, const std::filesystem::path &out);

// reports/: `flexbuild report --html` of each pick, from the image the exploration built (nothing is
// rebuilt); sets each pick's config_record::report. Returns what failed, one line each.
std::string write_pick_reports(exploration &x, const std::filesystem::path &out, const std::filesystem::path &flexbuild);

// One writer per output file. Each returns what went wrong, one line each, or "". The files they write
// themselves go through a temporary file renamed into place, so each is whole or absent, never
// half-written; hasse.svg and hasse.png are Graphviz's.
std::string write_results_csv(const exploration &x, const std::filesystem::path &out);
std::string write_results_json(const exploration &x, const std::filesystem::path &out);
// picks/: emptied first, then one profile per pick.
std::string write_picks(const exploration &x, const std::filesystem::path &out);
// frontier.dot and .svg, then hasse.dot, .svg and .png (up to 2000 members), drawn by Graphviz's `dot`.
struct figure_result {
  std::string problems;
  std::string frontier_svg;  // what report.html inlines; empty when not drawn
  bool hasse_svg = false;    // hasse.svg was drawn: report.html links it
};
figure_result write_figures(const exploration &x, const std::filesystem::path &out);
std::string write_report_html(const exploration &x, const std::filesystem::path &out, const figure_result &figures);

// What those writers write.
std::string results_csv(const exploration &x);
std::string results_json(const exploration &x);
std::string hasse_dot(const exploration &x);
std::string frontier_dot(const exploration &x);
// The figure (with its interval) of every measured configuration against its level in the order
// (poset::levels), the floor and the picks marked; inline SVG, one <g class="pt" data-id=...> per point.
std::string scatter_svg(const exploration &x);
std::string report_html(const exploration &x, const figure_result &figures);

// The members report.html's graph draws: the picks and every configuration measured (or that failed).
bitset frontier(const exploration &x);
// How stable the answer is, a few lines: the picks' margin over the floor (or, for fastest, the
// candidates tied with the pick within the noise), the borderline ones, the runs taken near the floor.
std::string stability_text(const exploration &x);

// A few lines for the terminal: totals, the picks, where the report is.
std::string summary_text(const exploration &x, const std::filesystem::path &out);

}  // namespace flex::explore
