// The default file operations over POSIX calls (host builds; the image serves files through vfs).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "flex/redis/engine.h"
#include "snapshot_format.h"

namespace flex::redis {

namespace {

class posix_files final : public file_ops {
 public:
  int open_write(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
  }
  int64_t write(int fd, const void* data, size_t len) override {
    for (;;) {
      ssize_t n = ::write(fd, data, len);
      if (n >= 0) return n;
      if (errno != EINTR) return -errno;
    }
  }
  int fsync(int fd) override { return ::fsync(fd) == 0 ? 0 : -errno; }
  int close(int fd) override { return ::close(fd) == 0 ? 0 : -errno; }
  int rename(const std::string& from, const std::string& to) override {
    return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : -errno;
  }
  int fsync_dir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = ::fsync(fd) == 0 ? 0 : -errno;
    ::close(fd);
    return rc;
  }
  int unlink(const std::string& path) override { return ::unlink(path.c_str()) == 0 ? 0 : -errno; }
  int read_file(const std::string& path, std::string& out) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    out.clear();
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = -errno;
        ::close(fd);
        return e;
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return 0;
  }
};

}  // namespace

std::shared_ptr<file_ops> posix_file_ops() { return std::make_shared<posix_files>(); }

}  // namespace flex::redis
