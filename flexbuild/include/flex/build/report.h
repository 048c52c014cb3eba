// `flexbuild report`: one image described for a security reviewer, from its built artefacts (the
// executable, each compartment's object, image.json), never from the profile alone.
//
//   flexbuild report --profile profiles/redis-3comp.yaml           a terminal table
//   flexbuild report --profile profiles/redis-3comp.yaml --json    the same as JSON, for tools
//   flexbuild report --profile profiles/redis-3comp.yaml --html report.html   and a page, graph included
//
// What it reads back:
//   - per compartment, the hardening present in its object: the stack protector (a reference to
//     __stack_chk_fail), fortify (__*_chk), ASan (__asan_*), UBSan (__ubsan_handle_*), beside what the
//     profile asked for; its mechanism, libraries, lockdown and system-call set, heap size;
//   - for the image: PIE, NX (no executable stack), RELRO and BIND_NOW, W^X of every loaded segment;
//   - per boundary: the mechanism and gate, the functions callable across it and its call sites;
//   - shared data: the statics and literals the sources share and the stack-sharing mode;
//   - the gadget scan's result.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "flex/build/driver.h"

namespace flex::elf {
class file;
}

namespace flex::build {

// What a compartment's object shows of each hardening (its references to the instrumentation's runtime).
struct hardening_evidence {
  bool stack_protector = false;
  bool fortify = false;
  bool asan = false;
  bool ubsan = false;
};
hardening_evidence scan_hardening(const elf::file &object);

// The executable's protections.
struct image_protections {
  bool pie = false;
  bool nx = false;         // a PT_GNU_STACK without PF_X
  bool relro = false;      // a PT_GNU_RELRO
  bool bind_now = false;   // DF_BIND_NOW or DF_1_NOW: the whole GOT inside RELRO
  bool w_xor_x = false;    // no loaded segment both writable and executable
};
image_protections scan_protections(const elf::file &executable);

// The report of the image built in `image_dir` (its image.json, executable and work/obj/<compartment>.o);
// an error message instead when an artefact is missing or unreadable.
nlohmann::json image_report(const std::filesystem::path &image_dir, std::string *error);
// The terminal form.
std::string report_text(const nlohmann::json &report);

// Text made safe inside HTML (also the explorer's report.html).
std::string escape_html(std::string_view s);

// The page form: one self-contained HTML file, with the compartment graph drawn by Graphviz (dot) inline
// as SVG; an error when dot is missing or fails.
std::optional<std::string> report_html(const nlohmann::json &report, std::string *error);

// Builds the profile's image if needed, then prints its report (and writes the page to `html_path`
// unless it is empty). With `attack_suite`, the project's attack suite runs against the mechanisms the
// image uses and its results go under checks.attacks (attacks.h). Exit status.
int report_image(const options &opt, bool json, const std::string &html_path = {},
                 const std::optional<std::filesystem::path> &attack_suite = std::nullopt);

// `flexbuild compare --profile A --profile B`: the two reports side by side, with the verdict in the
// safer-than order (order.h) and each point where one wins, plus the executables' protections (one the
// other lacks is a point). With --require-not-weaker the exit status is 1 when B is weaker than A on any
// point (or the two place different libraries), for a CI job guarding a change of profile.
nlohmann::json compare_reports(const nlohmann::json &a, const nlohmann::json &b);
std::string compare_text(const nlohmann::json &comparison);
// The page form of a comparison: the verdict, both compartment graphs side by side, each side's wins.
std::optional<std::string> compare_html(const nlohmann::json &comparison, const nlohmann::json &a,
                                        const nlohmann::json &b, std::string *error);
// With `attack_suite`, the suite runs once for the mechanisms of both and the attack results that differ
// are listed.
int compare_images(const options &a, const options &b, bool json, bool require_not_weaker,
                   const std::string &html_path = {},
                   const std::optional<std::filesystem::path> &attack_suite = std::nullopt);

}  // namespace flex::build
