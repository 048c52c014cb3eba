// The build's system-call check (DESIGN.md §8, HermiTux-style): after a compartment's objects are
// compiled and before the image is linked, what they can call (syscall_scan.h) is compared with the
// compartment's set (lib.yaml `syscalls:` plus the runtime's needs, resolve.h).
//   - a call the objects can make that the set lacks is an error naming the function, the object file,
//     the call and the lib.yaml to add it to;
//   - a `syscall` instruction or syscall() call whose number cannot be found, and a libc function the
//     table does not list, are errors;
//   - a library's declaration that nothing in the compartment's objects makes is a warning at its line
//     (the runtime's own needs are not warned about).
// image.json records, per compartment, `syscalls_found`: each call and the functions that lead to it.
//
//   auto inputs = flex::build::scan_inputs(img, units, root);
//   auto calls = session.scan(inputs, &error);
//   auto result = flex::build::check_syscalls(img, inputs, *calls, {root, paths.work, table.file()});
//   for (const auto &e : result.errors) fprintf(stderr, "flexbuild: error: %s\n", e.c_str());
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flex/build/image_build.h"
#include "flex/build/resolve.h"
#include "flex/build/syscall_scan.h"
#include "flex/build/syscall_table.h"

namespace flex::build {

// The objects of each compartment, in the image's compartment order: its placed libraries' objects
// (roots), then its replicated copies. Sources are named relative to `root`.
std::vector<std::vector<scan_object>> scan_inputs(const resolved_image &img, const std::vector<unit> &units,
                                                  const std::filesystem::path &root);

struct syscall_check_result {
  std::vector<std::string> errors;    // one line each, without "flexbuild: error: "
  std::vector<std::string> warnings;  // "lib.yaml:line:col: ..."
  std::vector<nlohmann::ordered_json> found;  // per compartment: its `syscalls_found`
  int calls_found = 0;                 // distinct system calls over all compartments, for the progress line
};

struct check_places {
  std::filesystem::path root;   // the source tree: lib.yaml files are named relative to it
  std::filesystem::path work;   // the image's work folder: objects are named relative to it
  std::filesystem::path table;  // the system-call table, named where a function is missing from it
};

syscall_check_result check_syscalls(const resolved_image &img, const std::vector<std::vector<scan_object>> &inputs,
                                    const std::vector<compartment_calls> &calls, const check_places &places);

// The scan's results kept between builds (work/syscall_scan.json) with a stamp of what they came from: the
// objects and the `files` they were charged through (the table, the runtime's archives, the C libraries,
// flexbuild itself), each by size and modification time. A build with the same stamp reuses them without
// reading an object or the table: a no-op rebuild stays as fast as it was.
std::string scan_stamp(const std::vector<std::vector<scan_object>> &inputs, const std::vector<std::filesystem::path> &files);
std::optional<std::vector<compartment_calls>> load_scan_results(const std::filesystem::path &file, const std::string &stamp);
std::optional<std::string> save_scan_results(const std::filesystem::path &file, const std::string &stamp,
                                             const std::vector<compartment_calls> &calls);

}  // namespace flex::build
