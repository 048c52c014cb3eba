// Writing the tool's outputs so incremental builds stay incremental: atomically (a temporary file in the
// same folder, then rename, so a reader never sees half a file) and, for transformed copies, only when the
// content changed (an unchanged copy keeps its mtime, and ninja's restat skips what depends on it).
//
// Usage:
//   llvm::Expected<write_status> s = write_file_atomically("/build/hello/src/main.c", text);
//   if (!s) report(llvm::toString(s.takeError()));
#pragma once

#include <llvm/Support/Error.h>

#include <string>
#include <string_view>

namespace flex::transform {

enum class write_status { written, unchanged };

enum class write_mode {
  if_changed,  // leave the file (and its mtime) alone when it already holds the content
  always,      // rewrite it anyway: a build stamp, such as the summary or the depfile
};

// Writes `content` to `path`, creating missing parent folders.
llvm::Expected<write_status> write_file_atomically(const std::string &path, std::string_view content,
                                                   write_mode mode = write_mode::if_changed);

}  // namespace flex::transform
