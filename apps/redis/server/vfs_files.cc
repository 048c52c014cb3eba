// SAVE and load through vfs: every path, buffer and result that crosses into vfs's compartment is shared
// memory (whitelisted statics here: the server is one thread), and the snapshot crosses in 64 KiB pieces.
#include "vfs_files.h"

#include <flex/vfs/vfs.h>
#include <flexos/isolation.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

// A named namespace: the gates declare their wrappers at block scope (see server.cc).
namespace flex::redis_server {

namespace {
constexpr std::size_t kChunk = 64 * 1024;
}  // namespace

static char path_a[VFS_PATH_MAX] __attribute__((flexos_whitelist));
static char path_b[VFS_PATH_MAX] __attribute__((flexos_whitelist));
static char chunk[kChunk] __attribute__((flexos_whitelist));

// Copies `s` into a shared path buffer; false when it does not fit.
static bool to_shared(char (&buf)[VFS_PATH_MAX], const std::string &s) {
  if (s.size() >= sizeof buf) return false;
  std::memcpy(buf, s.c_str(), s.size() + 1);
  return true;
}

int mount_data_dir(const std::string &host_dir, std::string &error) {
  if (!to_shared(path_a, kDataMount) || !to_shared(path_b, host_dir)) {
    error = "--dir is longer than " + std::to_string(VFS_PATH_MAX - 1) + " bytes";
    return -ENAMETOOLONG;
  }
  static char fstype[] __attribute__((flexos_whitelist)) = "hostfs";
  int rc = 0;
  flexos_gate_r(libvfs, rc, vfs_mount, path_a, fstype, path_b, 0u);
  if (rc < 0) error = "cannot mount --dir " + host_dir + ": " + std::strerror(-rc);
  return rc;
}

class vfs_files final : public flex::redis::file_ops {
 public:
  explicit vfs_files(std::string host_dir) : prefix_(std::move(host_dir) + "/") {}

  int open_write(const std::string &path) override {
    if (int rc = translate(path_a, path); rc < 0) return rc;
    int fd = 0;
    flexos_gate_r(libvfs, fd, vfs_open, path_a, VFS_O_WRONLY | VFS_O_CREAT | VFS_O_TRUNC, 0644);
    return fd;
  }
  int64_t write(int fd, const void *data, size_t len) override {
    const std::size_t n = std::min(len, sizeof chunk);
    std::memcpy(chunk, data, n);
    long rc = 0;
    flexos_gate_r(libvfs, rc, vfs_write, fd, chunk, n);
    return rc;
  }
  int fsync(int fd) override {
    int rc = 0;
    flexos_gate_r(libvfs, rc, vfs_fsync, fd);
    return rc;
  }
  int close(int fd) override {
    int rc = 0;
    flexos_gate_r(libvfs, rc, vfs_close, fd);
    return rc;
  }
  int rename(const std::string &from, const std::string &to) override {
    if (int rc = translate(path_a, from); rc < 0) return rc;
    if (int rc = translate(path_b, to); rc < 0) return rc;
    int rc = 0;
    flexos_gate_r(libvfs, rc, vfs_rename, path_a, path_b);
    return rc;
  }
  int fsync_dir(const std::string &dir) override {
    if (int rc = translate(path_a, dir + "/"); rc < 0) return rc;
    int fd = 0, rc = 0;
    flexos_gate_r(libvfs, fd, vfs_open, path_a, VFS_O_RDONLY | VFS_O_DIRECTORY, 0);
    if (fd < 0) return fd;
    flexos_gate_r(libvfs, rc, vfs_fsync, fd);
    int closed = 0;
    flexos_gate_r(libvfs, closed, vfs_close, fd);
    return rc < 0 ? rc : closed;
  }
  int unlink(const std::string &path) override {
    if (int rc = translate(path_a, path); rc < 0) return rc;
    int rc = 0;
    flexos_gate_r(libvfs, rc, vfs_unlink, path_a);
    return rc;
  }
  int read_file(const std::string &path, std::string &out) override {
    if (int rc = translate(path_a, path); rc < 0) return rc;
    int fd = 0;
    flexos_gate_r(libvfs, fd, vfs_open, path_a, VFS_O_RDONLY, 0);
    if (fd < 0) return fd;
    out.clear();
    long n = 0;
    for (;;) {
      flexos_gate_r(libvfs, n, vfs_read, fd, chunk, sizeof chunk);
      if (n <= 0) break;
      out.append(chunk, static_cast<std::size_t>(n));
    }
    int closed = 0;
    flexos_gate_r(libvfs, closed, vfs_close, fd);
    return n < 0 ? static_cast<int>(n) : closed;
  }

 private:
  // host_dir/name -> /data/name, into a shared path buffer.
  int translate(char (&buf)[VFS_PATH_MAX], const std::string &path) const {
    if (path.compare(0, prefix_.size(), prefix_) != 0) return -EACCES;
    return to_shared(buf, std::string(kDataMount) + "/" + path.substr(prefix_.size())) ? 0 : -ENAMETOOLONG;
  }

  std::string prefix_;
};

std::shared_ptr<flex::redis::file_ops> vfs_file_ops(const std::string &host_dir) {
  return std::make_shared<vfs_files>(host_dir);
}

}  // namespace flex::redis_server
