// File helpers for generated files: nothing is ever half-written, and an unchanged file keeps its mtime
// so that incremental builds do no work.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace flex::build {

// Writes `content` to `path` through a temporary file and rename(2), creating parent folders.
// Returns an error message, or nullopt on success.
std::optional<std::string> write_atomically(const std::filesystem::path &path, std::string_view content);

// Like write_atomically, but leaves the file (and its mtime) alone when it already holds `content`.
// `changed` (when given) tells whether the file was written.
std::optional<std::string> write_if_changed(const std::filesystem::path &path, std::string_view content,
                                            bool *changed = nullptr);

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_file(const std::filesystem::path &path);

// The folder of the running executable (from /proc/self/exe).
std::filesystem::path executable_dir();

}  // namespace flex::build
