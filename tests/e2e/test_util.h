// Helpers for end-to-end tests: run a command, make a scratch source tree, read files.
#pragma once

#include <filesystem>
#include <string>

namespace flex::test {

struct command_result {
  int status = -1;  // exit status, or 128+signal
  std::string out;  // stdout and stderr, interleaved
};

// Runs `cmd` through /bin/sh with stderr merged into stdout.
command_result run(const std::string &cmd);

std::string read(const std::filesystem::path &p);
void write(const std::filesystem::path &p, const std::string &content);

// A fresh folder under the build tree, removed when the object dies.
class scratch_dir {
 public:
  explicit scratch_dir(const std::string &name);
  ~scratch_dir();
  const std::filesystem::path &path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::filesystem::path source_dir();  // the Flex source tree
std::filesystem::path flexbuild();   // build/bin/flexbuild
std::string llvm_tool(const std::string &name);  // /usr/lib/llvm-19/bin/<name>

}  // namespace flex::test
