// hostfs: a host directory behind vfs (see hostfs.h). The root is held as an O_PATH fd; every path is
// resolved beneath it by the kernel (openat2 RESOLVE_BENEATH), never by string concatenation, and
// operations on a name (unlink, mkdir, rename, create) act on that name inside a parent directory
// resolved the same way. Host fds stay in hostfs's tables; callers only see handle numbers.
#include <flex/hostfs/hostfs.h>
#include <flex/runtime/lockdown_files.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace flex::hostfs {

// Tests: forces the component-by-component walk used where the kernel has no openat2.
bool g_force_walk = false;

namespace {

constexpr size_t kPathMax = 1024, kNameMax = 255;
constexpr int kOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY;

struct handle {
  int fd = -1;
  int sb = -1;
  int flags = 0;
  bool dir = false;
  // Directories: getdents64 records not yet handed out, and the index of the next entry.
  std::vector<char> buf;
  size_t pos = 0, end = 0;
  uint64_t next = 0;
};

int g_roots[HOSTFS_MAX_MOUNTS] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
// The handle table, allocated on first use (from hostfs's own heap, with its rights) and never freed:
// no constructor runs before the image boots and no destructor at exit, outside the compartment.
handle *handles() {
  static handle *h = new handle[HOSTFS_MAX_HANDLES]();
  return h;
}

int root(int sb) {
  return sb >= 0 && sb < HOSTFS_MAX_MOUNTS ? g_roots[sb] : -1;
}

handle *get(int h) {
  if (h < 0 || h >= HOSTFS_MAX_HANDLES || handles()[static_cast<size_t>(h)].fd < 0) return nullptr;
  return &handles()[static_cast<size_t>(h)];
}

// Checks that rel is a plain relative path: components that are names, never "..", "." or empty.
int check_rel(const char *rel, std::vector<std::string> &parts) {
  if (!rel) return -EFAULT;
  const void *nul = std::memchr(rel, '\0', kPathMax + 1);
  if (!nul) return -ENAMETOOLONG;
  std::string_view p(rel, static_cast<const char *>(nul) - rel);
  if (!p.empty() && p.front() == '/') return -EACCES;  // absolute: outside the root by definition
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view c = p.substr(i, j - i);
    if (c == "..") return -EACCES;
    if (c.empty() || c == ".") return -EINVAL;
    if (c.size() > kNameMax) return -ENAMETOOLONG;
    parts.emplace_back(c);
    i = j + 1;
    if (j + 1 == p.size()) return -EINVAL;
  }
  return 0;
}

// An escape the kernel refused (RESOLVE_BENEATH): reported as a refusal, like a ".." component.
int escape_errno(int rc) {
  return rc == -EXDEV ? -EACCES : rc;
}

// Opens parts[0..n) beneath the root: openat2, or a walk that refuses every symlink.
int open_beneath(int sb, const std::vector<std::string> &parts, size_t n, int flags, int mode) {
  int r = root(sb);
  if (r < 0) return -EINVAL;
  std::string path;
  for (size_t i = 0; i < n; ++i) path += (i ? "/" : "") + parts[i];
  if (path.empty()) path = ".";
  if (!g_force_walk) {
    int fd = plat_openat_beneath(r, path.c_str(), flags, mode);
    if (fd != -ENOSYS) return escape_errno(fd);
  }
  int dir = plat_openat(r, ".", O_PATH | O_DIRECTORY, 0);
  if (dir < 0) return dir;
  if (n == 0) {
    if (flags == (O_PATH | O_DIRECTORY)) return dir;
    int fd = plat_openat(dir, ".", flags, mode);
    plat_close(dir);
    return fd;
  }
  for (size_t i = 0; i + 1 < n; ++i) {
    int next = plat_openat(dir, parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
    plat_close(dir);
    if (next < 0) return next == -ENOTDIR || next == -ELOOP ? -EACCES : next;
    dir = next;
  }
  int fd = plat_openat(dir, parts[n - 1].c_str(), flags | O_NOFOLLOW, mode);
  plat_close(dir);
  return fd == -ELOOP ? -EACCES : fd;
}

// The parent directory of rel's last component (an O_PATH fd), and that component.
int open_parent(int sb, const char *rel, std::string &leaf) {
  std::vector<std::string> parts;
  if (int rc = check_rel(rel, parts); rc < 0) return rc;
  if (parts.empty()) return -EBUSY;  // the root itself
  leaf = parts.back();
  return open_beneath(sb, parts, parts.size() - 1, O_PATH | O_DIRECTORY, 0);
}

int add_handle(int fd, int sb, int flags, bool dir) {
  for (size_t i = 0; i < HOSTFS_MAX_HANDLES; ++i) {
    if (handles()[i].fd >= 0) continue;
    handles()[i] = handle{};
    handles()[i].fd = fd;
    handles()[i].sb = sb;
    handles()[i].flags = flags;
    handles()[i].dir = dir;
    return static_cast<int>(i);
  }
  plat_close(fd);
  return -ENFILE;
}

// The next getdents64 record of a directory handle that is neither "." nor "..".
int next_entry(handle &h, plat_dirent *ent) {
  for (;;) {
    if (h.pos >= h.end) {
      if (h.buf.empty()) h.buf.resize(8192);
      long n = plat_getdents(h.fd, h.buf.data(), h.buf.size());
      if (n < 0) return static_cast<int>(n);
      if (n == 0) return 0;
      h.pos = 0;
      h.end = static_cast<size_t>(n);
    }
    const char *rec = h.buf.data() + h.pos;
    uint64_t ino;
    uint16_t reclen;
    std::memcpy(&ino, rec, sizeof ino);
    std::memcpy(&reclen, rec + 16, sizeof reclen);
    const unsigned char type = static_cast<unsigned char>(rec[18]);
    const char *name = rec + 19;
    if (reclen == 0 || h.pos + reclen > h.end) return -EIO;
    h.pos += reclen;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
    std::memset(ent, 0, sizeof *ent);
    ent->ino = ino;
    ent->type = type;
    std::strncpy(ent->name, name, sizeof ent->name - 1);
    ++h.next;
    return 1;
  }
}

}  // namespace
}  // namespace flex::hostfs

using namespace flex::hostfs;

extern "C" {

int hostfs_mount(const char *source) {
  if (!source) return -EFAULT;
  if (!std::memchr(source, '\0', kPathMax + 1)) return -ENAMETOOLONG;
  if (!*source) return -ENOENT;
  int slot = -1;
  for (int i = 0; i < HOSTFS_MAX_MOUNTS; ++i) {
    if (g_roots[i] < 0) {
      slot = i;
      break;
    }
  }
  if (slot < 0) return -ENOSPC;
  int fd = plat_open(source, O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return fd;
  // A locked-down process reaches only the host directories named at boot (lockdown_files.h).
  if (const int rc = flex_lockdown_files_beneath(fd); rc < 0) {
    plat_close(fd);
    return rc;
  }
  g_roots[slot] = fd;
  return slot;
}

int hostfs_umount(int sb) {
  if (root(sb) < 0) return -EINVAL;
  for (size_t i = 0; i < HOSTFS_MAX_HANDLES; ++i) {
    if (handles()[i].fd >= 0 && handles()[i].sb == sb) return -EBUSY;
  }
  plat_close(g_roots[sb]);
  g_roots[sb] = -1;
  return 0;
}

int hostfs_open(int sb, const char *rel, int flags, int mode) {
  if (root(sb) < 0) return -EINVAL;
  if ((flags & ~kOpenFlags) || (flags & O_ACCMODE) == O_ACCMODE) return -EINVAL;
  std::vector<std::string> parts;
  if (int rc = check_rel(rel, parts); rc < 0) return rc;
  // vfs keeps the position and appends itself; O_NONBLOCK: a FIFO must not block the image on open.
  int host_flags = (flags & ~O_APPEND) | O_NONBLOCK;
  int fd = open_beneath(sb, parts, parts.size(), host_flags, mode & 07777);
  if (fd < 0) return fd;
  plat_stat st{};
  if (int rc = plat_fstat(fd, &st); rc < 0) {
    plat_close(fd);
    return rc;
  }
  const bool dir = S_ISDIR(st.mode);
  if (!dir && !S_ISREG(st.mode)) {  // devices, FIFOs, sockets: not files hostfs serves
    plat_close(fd);
    return -EACCES;
  }
  return add_handle(fd, sb, flags, dir);
}

int hostfs_close(int h) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  int rc = plat_close(hd->fd);
  *hd = handle{};
  return rc;
}

long hostfs_read(int h, void *buf, size_t len, int64_t off) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  if (hd->dir) return -EISDIR;
  if (!buf) return -EFAULT;
  if (off < 0 || len > (size_t{1} << 30)) return -EINVAL;
  return plat_pread(hd->fd, buf, len, off);
}

long hostfs_write(int h, const void *buf, size_t len, int64_t off) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  if (hd->dir) return -EISDIR;
  if (!buf) return -EFAULT;
  if (len > (size_t{1} << 30)) return -EINVAL;
  if (off < 0) {
    off = plat_lseek(hd->fd, 0, SEEK_END);
    if (off < 0) return static_cast<long>(off);
  }
  // pwrite may write less than asked; go on until all of it is there.
  size_t done = 0;
  while (done < len) {
    long n = plat_pwrite(hd->fd, static_cast<const char *>(buf) + done, len - done, off + static_cast<int64_t>(done));
    if (n < 0) return done ? static_cast<long>(done) : n;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<long>(done);
}

int hostfs_stat(int sb, const char *rel, struct plat_stat *st) {
  if (!st) return -EFAULT;
  std::vector<std::string> parts;
  if (int rc = check_rel(rel, parts); rc < 0) return rc;
  int fd = open_beneath(sb, parts, parts.size(), O_PATH, 0);
  if (fd < 0) return fd;
  int rc = plat_fstat(fd, st);
  plat_close(fd);
  return rc;
}

int hostfs_fstat(int h, struct plat_stat *st) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  if (!st) return -EFAULT;
  return plat_fstat(hd->fd, st);
}

int hostfs_truncate(int h, int64_t len) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  if (hd->dir) return -EISDIR;
  if (len < 0) return -EINVAL;
  return plat_ftruncate(hd->fd, len);
}

int hostfs_fsync(int h) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  return plat_fsync(hd->fd);
}

int hostfs_unlink(int sb, const char *rel) {
  std::string leaf;
  int dir = open_parent(sb, rel, leaf);
  if (dir < 0) return dir;
  int rc = plat_unlinkat(dir, leaf.c_str(), 0);
  plat_close(dir);
  return rc;
}

int hostfs_rename(int sb, const char *from, const char *to) {
  std::string fleaf, tleaf;
  int fdir = open_parent(sb, from, fleaf);
  if (fdir < 0) return fdir;
  int tdir = open_parent(sb, to, tleaf);
  if (tdir < 0) {
    plat_close(fdir);
    return tdir;
  }
  int rc = plat_renameat(fdir, fleaf.c_str(), tdir, tleaf.c_str());
  plat_close(fdir);
  plat_close(tdir);
  return rc;
}

int hostfs_mkdir(int sb, const char *rel, int mode) {
  std::string leaf;
  int dir = open_parent(sb, rel, leaf);
  if (dir < 0) return dir == -EBUSY ? -EEXIST : dir;
  int rc = plat_mkdirat(dir, leaf.c_str(), mode & 07777);
  plat_close(dir);
  return rc;
}

int hostfs_rmdir(int sb, const char *rel) {
  std::string leaf;
  int dir = open_parent(sb, rel, leaf);
  if (dir < 0) return dir;
  int rc = plat_unlinkat(dir, leaf.c_str(), 1);
  plat_close(dir);
  return rc;
}

int hostfs_readdir(int h, uint64_t index, struct plat_dirent *ent) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  if (!hd->dir) return -ENOTDIR;
  if (!ent) return -EFAULT;
  if (index < hd->next) {  // back to the start, then forward to index
    if (int64_t r = plat_lseek(hd->fd, 0, SEEK_SET); r < 0) return static_cast<int>(r);
    hd->pos = hd->end = 0;
    hd->next = 0;
  }
  while (hd->next < index) {
    int rc = next_entry(*hd, ent);
    if (rc <= 0) return rc;
  }
  return next_entry(*hd, ent);
}

}  // extern "C"
