// The flexbuild commands: check a profile, build an image, run it.
//
//   flex::build::options opt{.profile = "profiles/hello-2comp.yaml"};
//   int rc = flex::build::build_image(opt);      // build/images/hello-2comp/
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace flex::build {

struct options {
  std::filesystem::path profile;
  std::optional<std::filesystem::path> out_dir;  // default: build/images/<profile name>
  std::optional<std::filesystem::path> root;     // default: found from the profile's location
  int jobs = 0;                                  // 0: ninja's default
  bool verbose = false;
  bool progress_to_stderr = false;
  // Builds the profile with this lockdown instead of its own, as the image <name>-lockdown-<mode> (the
  // A/B twin for measuring the lockdown or proving an attack test: `flexbuild -p P --lockdown off`).
  std::optional<std::string> lockdown;
};

// Validates the profile against the libraries of the tree; prints diagnostics. Exit status.
int check_profile(const options &opt);
// Builds the image; on success stores the executable's path. Exit status.
int build_image(const options &opt, std::filesystem::path *executable = nullptr);
// Builds if needed, then replaces this process with the image. Returns only on failure.
int run_image(const options &opt, const std::vector<std::string> &args);

}  // namespace flex::build
