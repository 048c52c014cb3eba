// Everything flexbuild writes for one image, and the generators of each generated file.
//
// Layout of an image folder (build/images/<profile name>/ unless -o says otherwise):
//   <name>            the executable
//   image.json        what is inside it (compartments, sections, gates, hardening)
//   build.log         every command of the last build and its output
//   work/             generated inputs and intermediate files (build.ninja, transformed sources, objects)
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "flex/build/resolve.h"
#include "flex/build/toolchain.h"

namespace flex::build {

// The kinds of page-aligned section each compartment gets, in layout order.
struct section_kind {
  const char *name;          // rodata, data, bss
  const char *insert_after;  // the default output section it follows
  const char *inputs;        // input section patterns
};
const std::vector<section_kind> &compartment_section_kinds();

std::string section_name(std::string_view compartment, std::string_view kind);  // .flex.app.rodata
std::string section_symbol(std::string_view compartment, std::string_view kind, bool end);
inline constexpr const char *kSharedDataSection = ".flex.shared.data";
// String literals flex-transform moved out of a compartment because they cross a gate (read-only).
inline constexpr const char *kSharedRodataSection = ".flex.shared.rodata";
// Every WRPKRU of the image lives here (input sections .text.flex_gates); the gadget scan allows no other.
inline constexpr const char *kGateTextSection = ".flex.gates.text";

struct image_paths {
  std::filesystem::path image_dir;
  std::filesystem::path work;
  std::string name;

  explicit image_paths(std::filesystem::path dir, std::string image_name);

  std::filesystem::path executable() const { return image_dir / name; }
  std::filesystem::path image_json() const { return image_dir / "image.json"; }
  std::filesystem::path build_log() const { return image_dir / "build.log"; }
  std::filesystem::path ninja_file() const { return work / "build.ninja"; }
  std::filesystem::path linker_script() const { return work / "gen" / "sections.ld"; }
  std::filesystem::path layout_c() const { return work / "gen" / "layout.c"; }
  std::filesystem::path layout_o() const { return work / "obj" / "layout.o"; }
  std::filesystem::path gates_cc() const { return work / "gen" / "gates.cc"; }
  std::filesystem::path gates_o() const { return work / "obj" / "gates.o"; }
  std::filesystem::path self_c(std::string_view comp) const;
  std::filesystem::path db_dir(std::string_view comp) const { return work / "db" / comp; }
  std::filesystem::path plan(std::string_view comp, std::string_view lib) const;
  // The library's transform summary, merged from the summaries of its sources (transform_summaries.h).
  std::filesystem::path summary(std::string_view comp, std::string_view lib) const;
  // What flex-transform reports about one source: <source relative to the library>.json.
  std::filesystem::path source_summary(std::string_view comp, std::string_view lib,
                                       const std::string &source) const;
  std::filesystem::path transformed_dir(std::string_view comp, std::string_view lib) const;
  std::filesystem::path object_dir(std::string_view comp) const { return work / "obj" / comp; }
  std::filesystem::path compartment_object(std::string_view comp) const;
};

// One source of one library, as compiled into one compartment.
struct unit {
  const resolved_compartment *comp;
  const lib_manifest *lib;
  std::filesystem::path source;       // original, absolute
  std::filesystem::path transformed;  // the copy flex-transform writes
  std::filesystem::path summary;      // and what it reports about the source (image_paths::source_summary)
  std::filesystem::path object;
  std::vector<std::filesystem::path> dep_includes;  // include/ of each library it requires
  bool cxx = false;
};

// Every translation unit of the image: each placed library once, each replicated library per compartment.
std::vector<unit> image_units(const resolved_image &img, const image_paths &paths);

// Whether the image links the runtime's malloc routing (libflex_runtime_malloc.a): MPK domains and process
// compartments have a heap each, except under ASan, whose runtime owns malloc.
bool image_links_malloc(const resolved_image &img);

// Compiler flags of a unit (language, optimisation, include paths, hardening), without -c/-o.
std::vector<std::string> unit_flags(const unit &u, const toolchain &tc, bool for_transformed_copy);

// Generated files. Each returns the content; the driver writes it with write_if_changed.
std::string compile_commands_json(const std::vector<unit> &units, const resolved_compartment &comp,
                                  const toolchain &tc, const image_paths &paths);
std::string gate_plan_json(const resolved_image &img, const resolved_compartment &comp,
                           const lib_manifest &lib);
std::string self_c(const resolved_image &img, const resolved_compartment &comp);
std::string layout_c(const resolved_image &img);
// A function one library lets another call back through a pointer (`__attribute__((libX_callback))`), as
// flex-transform reports it: the image's gates include a wrapper from `from_compartment` into it, and the
// process backend may call it by id in its compartment's export table.
struct image_callback {
  std::string function;
  std::string from_compartment;
  std::string to_compartment;
  auto operator<=>(const image_callback &) const = default;
};
// The callbacks of the transform summaries that cross a boundary, sorted and deduplicated.
std::vector<image_callback> collect_callbacks(const std::vector<nlohmann::json> &summaries);
std::string gates_cc(const resolved_image &img, const std::vector<image_callback> &callbacks = {});  // gates_gen.cc
std::string linker_script(const resolved_image &img, const image_paths &paths);
std::string build_ninja(const resolved_image &img, const std::vector<unit> &units, const toolchain &tc,
                        const image_paths &paths);

// Quoting for the generated files.
std::string shell_quote(std::string_view s);
std::string ninja_escape(std::string_view s);
std::string c_string_literal(std::string_view s);

}  // namespace flex::build
