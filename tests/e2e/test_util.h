// Helpers for tests that drive the real tools and images (tests/e2e, the explorer's end-to-end test):
// run a command, make a scratch source tree, read files, build and start images.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

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

// How an image ended by the runtime exits (runtime/core/include/flex/runtime/fault.h).
inline constexpr int kExitFault = 139;
inline constexpr int kExitDied = 70;

// The probe/vault fixture of the isolation tests (tests/e2e/fixtures/isolation).
std::filesystem::path isolation_fixture();

// Whether this machine can run MPK images (base/pku: the CPU, the kernel and a pkey_alloc probe).
bool machine_has_pku();
// Whether profiles/<profile>.yaml has an mpk compartment (its image needs PKU to run).
bool profile_needs_pku(const std::string &profile);

// Builds `profile` into build/test-images/<name> (a fixed folder, so a later run of the same test binary,
// inside the PKU guest, finds it built: there it is used as it is); one build at a time per image. Returns flexbuild's
// result; the executable is build/test-images/<name>/<name>.
// `root`: the source tree holding the profile's libraries, where it is not found from the profile.
// `flags`: more flexbuild options (e.g. "--lockdown off", whose image is named <profile>-lockdown-off).
command_result build_test_image(const std::filesystem::path &profile, const std::string &name,
                                const std::filesystem::path &root = {}, const std::string &flags = {});
std::filesystem::path test_image(const std::string &name);

// Starts `args` (args[0]: the executable) in the background with stdout and stderr in `log`, appended
// to or truncated. Returns its pid, or -1.
pid_t spawn_logged(const std::vector<std::string> &args, const std::filesystem::path &log, bool append);

// One image run in the background, its output in a log file; killed when the object dies.
class image_process {
 public:
  image_process(const std::string &exe, const std::vector<std::string> &args, const std::filesystem::path &log);
  ~image_process();
  image_process(const image_process &) = delete;
  image_process &operator=(const image_process &) = delete;
  // Waits up to `seconds` for `marker` in the log (the image says it is ready); false if it ended first.
  bool ready(const std::string &marker, int seconds);
  bool exited();
  // The exit status, waiting up to `seconds`; -1 when it did not end.
  int wait(int seconds);
  // Sends `sig` to the image.
  void signal(int sig);
  std::string log() const { return read(log_); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::filesystem::path log_;
};

// A TCP connection to 127.0.0.1:port (close-on-exec), or -1.
int connect_to(int port);

// A TCP port on 127.0.0.1 that was free a moment ago (bound, read back, closed).
int free_port();

// A gtest parameter name from a profile name ("probe-mpk" -> "probe_mpk").
std::string param_name(std::string profile);

}  // namespace flex::test
