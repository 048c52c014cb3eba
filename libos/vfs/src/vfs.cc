// vfs: the checked entry points (see vfs.h), the mount table and the table of open files. Every argument
// is validated here; paths are normalised ("." and ".." resolved, "//" collapsed) before the longest
// mount prefix is found, so a file system only ever sees a path relative to its own root.
#include <cerrno>
#include <cstring>
#include <string_view>

#include <flex/console/console.h>
#include <flex/vfs/vfs_impl.h>

static_assert(sizeof(struct vfs_stat) == sizeof(plat_stat) && sizeof(vfs_dirent) == sizeof(plat_dirent),
              "vfs passes its callers' structs to the file systems as they are");
static_assert(offsetof(struct vfs_stat, mtime_ns) == offsetof(plat_stat, mtime_ns) &&
              offsetof(vfs_dirent, name) == offsetof(plat_dirent, name));

namespace flex::vfs {
namespace {

struct mount {
  bool used = false;
  char target[VFS_PATH_MAX + 1] = {};  // normalised: "/" or "/a/b"
  size_t len = 0;
  const fs_ops *fs = nullptr;
  int sb = -1;
  int open_files = 0;
};

struct file {
  bool used = false;
  int mnt = -1;
  int handle = -1;
  int flags = 0;
  bool dir = false;
  int64_t offset = 0;  // files: the position; directories: the next entry's index
};

mount g_mounts[VFS_MAX_MOUNTS];
file g_files[VFS_MAX_FDS];

constexpr int kOpenFlags = VFS_O_WRONLY | VFS_O_RDWR | VFS_O_CREAT | VFS_O_EXCL | VFS_O_TRUNC | VFS_O_APPEND |
                           VFS_O_DIRECTORY;

// A path in the vfs namespace, normalised; `rel` is what the mount's file system sees.
struct resolved {
  char abs[VFS_PATH_MAX + 1];
  int mnt = -1;
  const char *rel = "";
};

// Normalises `path` into out (absolute, no "", "." or ".." components, no trailing '/').
int normalise(const char *path, char (&out)[VFS_PATH_MAX + 1]) {
  if (!path) return -EFAULT;
  const void *nul = std::memchr(path, '\0', VFS_PATH_MAX + 1);
  if (!nul) return -ENAMETOOLONG;
  std::string_view in(path, static_cast<const char *>(nul) - path);
  if (in.empty()) return -ENOENT;
  size_t n = 0;
  out[n] = '\0';
  size_t i = 0;
  while (i < in.size()) {
    while (i < in.size() && in[i] == '/') ++i;
    size_t j = i;
    while (j < in.size() && in[j] != '/') ++j;
    std::string_view comp = in.substr(i, j - i);
    i = j;
    if (comp.empty() || comp == ".") continue;
    if (comp.size() > VFS_NAME_MAX) return -ENAMETOOLONG;
    if (comp == "..") {
      while (n > 0 && out[n - 1] != '/') --n;
      if (n > 0) --n;  // the '/' before it
      out[n] = '\0';
      continue;
    }
    if (n + 1 + comp.size() > VFS_PATH_MAX) return -ENAMETOOLONG;
    out[n++] = '/';
    std::memcpy(out + n, comp.data(), comp.size());
    n += comp.size();
    out[n] = '\0';
  }
  if (n == 0) {
    out[0] = '/';
    out[1] = '\0';
  }
  return 0;
}

int mount_root_if_needed() {
  for (const mount &m : g_mounts) {
    if (m.used && m.len == 1) return 0;
  }
  return vfs_mount("/", "ramfs", nullptr, 0);
}

int resolve(const char *path, resolved &r) {
  if (int rc = normalise(path, r.abs); rc < 0) return rc;
  if (int rc = mount_root_if_needed(); rc < 0) return rc;
  size_t best = 0;
  for (int i = 0; i < VFS_MAX_MOUNTS; ++i) {
    const mount &m = g_mounts[i];
    if (!m.used) continue;
    bool match = m.len == 1 || (std::strncmp(r.abs, m.target, m.len) == 0 &&
                                (r.abs[m.len] == '\0' || r.abs[m.len] == '/'));
    if (match && m.len >= best) {
      best = m.len;
      r.mnt = i;
    }
  }
  if (r.mnt < 0) return -ENOENT;
  const char *rest = r.abs + (best == 1 ? 0 : best);
  while (*rest == '/') ++rest;
  r.rel = rest;
  return 0;
}

file *get_file(int fd) {
  if (fd < 0 || fd >= VFS_MAX_FDS || !g_files[fd].used) return nullptr;
  return &g_files[fd];
}

const fs_ops &fs_of(const file &f) {
  return *g_mounts[f.mnt].fs;
}

int backend(const file &f) {
  return f.handle;
}

int new_fd(int mnt, int handle, int flags, bool dir) {
  for (int fd = 0; fd < VFS_MAX_FDS; ++fd) {
    if (g_files[fd].used) continue;
    g_files[fd] = file{true, mnt, handle, flags, dir, 0};
    ++g_mounts[mnt].open_files;
    return fd;
  }
  g_mounts[mnt].fs->close(handle);
  return -EMFILE;
}

bool can_read(const file &f) {
  return (f.flags & 3) == VFS_O_RDONLY || (f.flags & 3) == VFS_O_RDWR;
}
bool can_write(const file &f) {
  return (f.flags & 3) == VFS_O_WRONLY || (f.flags & 3) == VFS_O_RDWR;
}

int check_io(const file *f, const void *buf, size_t len) {
  if (!f) return -EBADF;
  if (f->dir) return -EISDIR;
  if (!buf) return -EFAULT;
  if (len > static_cast<size_t>(VFS_MAX_IO)) return -EINVAL;
  return 0;
}

}  // namespace
}  // namespace flex::vfs

using namespace flex::vfs;

extern "C" {

int vfs_mount(const char *target, const char *fstype, const char *source, unsigned flags) {
  if (!target || !fstype) return -EFAULT;
  if (flags != 0) return -EINVAL;
  if (!std::memchr(fstype, '\0', 16)) return -ENODEV;
  const fs_ops *fs = find_fs(fstype);
  if (!fs) return -ENODEV;
  if (source && !std::memchr(source, '\0', VFS_PATH_MAX + 1)) return -ENAMETOOLONG;
  char norm[VFS_PATH_MAX + 1];
  if (int rc = normalise(target, norm); rc < 0) return rc;
  int slot = -1;
  for (int i = 0; i < VFS_MAX_MOUNTS; ++i) {
    if (g_mounts[i].used && std::strcmp(g_mounts[i].target, norm) == 0) return -EBUSY;
    if (!g_mounts[i].used && slot < 0) slot = i;
  }
  if (slot < 0) return -ENOSPC;
  int sb = fs->mount(source ? source : "");
  if (sb < 0) {
    log(CONSOLE_WARN, "vfs: cannot mount %s at %s: error %d", fstype, norm, -sb);
    return sb;
  }
  mount &m = g_mounts[slot];
  m = mount{};
  m.used = true;
  std::strcpy(m.target, norm);
  m.len = std::strlen(norm);
  m.fs = fs;
  m.sb = sb;
  log(CONSOLE_DEBUG, "vfs: mounted %s at %s", fstype, norm);
  return 0;
}

int vfs_umount(const char *target) {
  char norm[VFS_PATH_MAX + 1];
  if (int rc = normalise(target, norm); rc < 0) return rc;
  for (mount &m : g_mounts) {
    if (!m.used || std::strcmp(m.target, norm) != 0) continue;
    if (m.open_files > 0) return -EBUSY;
    m.fs->umount(m.sb);
    m = mount{};
    return 0;
  }
  return -EINVAL;
}

int vfs_open(const char *path, int flags, int mode) {
  if (flags & ~kOpenFlags) return -EINVAL;
  if ((flags & 3) == 3) return -EINVAL;
  if (mode & ~07777) return -EINVAL;
  resolved r;
  if (int rc = resolve(path, r); rc < 0) return rc;
  const mount &m = g_mounts[r.mnt];
  int h = m.fs->open(m.sb, r.rel, flags, mode);
  if (h < 0) return h;
  return new_fd(r.mnt, h, flags, false);
}

int vfs_opendir(const char *path) {
  resolved r;
  if (int rc = resolve(path, r); rc < 0) return rc;
  const mount &m = g_mounts[r.mnt];
  int h = m.fs->open(m.sb, r.rel, VFS_O_RDONLY | VFS_O_DIRECTORY, 0);
  if (h < 0) return h;
  return new_fd(r.mnt, h, VFS_O_RDONLY | VFS_O_DIRECTORY, true);
}

int vfs_readdir(int fd, struct vfs_dirent *ent) {
  file *f = get_file(fd);
  if (!f) return -EBADF;
  if (!f->dir) return -ENOTDIR;
  if (!ent) return -EFAULT;
  int rc = fs_of(*f).readdir(backend(*f), static_cast<uint64_t>(f->offset), reinterpret_cast<plat_dirent *>(ent));
  if (rc > 0) ++f->offset;
  return rc;
}

long vfs_read(int fd, void *buf, size_t len) {
  file *f = get_file(fd);
  if (int rc = check_io(f, buf, len); rc < 0) return rc;
  if (!can_read(*f)) return -EBADF;
  long n = fs_of(*f).read(backend(*f), buf, len, f->offset);
  if (n > 0) f->offset += n;
  return n;
}

long vfs_write(int fd, const void *buf, size_t len) {
  file *f = get_file(fd);
  if (int rc = check_io(f, buf, len); rc < 0) return rc;
  if (!can_write(*f)) return -EBADF;
  bool append = f->flags & VFS_O_APPEND;
  long n = fs_of(*f).write(backend(*f), buf, len, append ? -1 : f->offset);
  if (n < 0) return n;
  if (append) {
    plat_stat st{};
    if (fs_of(*f).fstat(backend(*f), &st) == 0) f->offset = static_cast<int64_t>(st.size);
  } else {
    f->offset += n;
  }
  return n;
}

long vfs_pread(int fd, void *buf, size_t len, int64_t off) {
  file *f = get_file(fd);
  if (int rc = check_io(f, buf, len); rc < 0) return rc;
  if (!can_read(*f)) return -EBADF;
  if (off < 0) return -EINVAL;
  return fs_of(*f).read(backend(*f), buf, len, off);
}

long vfs_pwrite(int fd, const void *buf, size_t len, int64_t off) {
  file *f = get_file(fd);
  if (int rc = check_io(f, buf, len); rc < 0) return rc;
  if (!can_write(*f)) return -EBADF;
  if (off < 0) return -EINVAL;
  return fs_of(*f).write(backend(*f), buf, len, off);
}

int64_t vfs_lseek(int fd, int64_t off, int whence) {
  file *f = get_file(fd);
  if (!f) return -EBADF;
  if (f->dir) return -EISDIR;
  int64_t base = 0;
  switch (whence) {
    case VFS_SEEK_SET: base = 0; break;
    case VFS_SEEK_CUR: base = f->offset; break;
    case VFS_SEEK_END: {
      plat_stat st{};
      if (int rc = fs_of(*f).fstat(backend(*f), &st); rc < 0) return rc;
      base = static_cast<int64_t>(st.size);
      break;
    }
    default: return -EINVAL;
  }
  int64_t to = 0;
  if (__builtin_add_overflow(base, off, &to) || to < 0) return -EINVAL;
  f->offset = to;
  return to;
}

int vfs_close(int fd) {
  file *f = get_file(fd);
  if (!f) return -EBADF;
  int rc = fs_of(*f).close(backend(*f));
  --g_mounts[f->mnt].open_files;
  *f = file{};
  return rc;
}

int vfs_stat(const char *path, struct vfs_stat *st) {
  if (!st) return -EFAULT;
  resolved r;
  if (int rc = resolve(path, r); rc < 0) return rc;
  const mount &m = g_mounts[r.mnt];
  return m.fs->stat(m.sb, r.rel, reinterpret_cast<plat_stat *>(st));
}

int vfs_fstat(int fd, struct vfs_stat *st) {
  file *f = get_file(fd);
  if (!f) return -EBADF;
  if (!st) return -EFAULT;
  return fs_of(*f).fstat(backend(*f), reinterpret_cast<plat_stat *>(st));
}

int vfs_unlink(const char *path) {
  resolved r;
  if (int rc = resolve(path, r); rc < 0) return rc;
  if (!*r.rel) return -EBUSY;  // a mount's root
  const mount &m = g_mounts[r.mnt];
  return m.fs->unlink(m.sb, r.rel);
}

int vfs_rename(const char *from, const char *to) {
  resolved a, b;
  if (int rc = resolve(from, a); rc < 0) return rc;
  if (int rc = resolve(to, b); rc < 0) return rc;
  if (a.mnt != b.mnt) return -EXDEV;
  if (!*a.rel || !*b.rel) return -EBUSY;
  const mount &m = g_mounts[a.mnt];
  return m.fs->rename(m.sb, a.rel, b.rel);
}

int vfs_mkdir(const char *path, int mode) {
  if (mode & ~07777) return -EINVAL;
  resolved r;
  if (int rc = resolve(path, r); rc < 0) return rc;
  if (!*r.rel) return -EEXIST;
  const mount &m = g_mounts[r.mnt];
  return m.fs->mkdir(m.sb, r.rel, mode);
}

int vfs_rmdir(const char *path) {
  resolved r;
  if (int rc = resolve(path, r); rc < 0) return rc;
  if (!*r.rel) return -EBUSY;
  const mount &m = g_mounts[r.mnt];
  return m.fs->rmdir(m.sb, r.rel);
}

int vfs_fsync(int fd) {
  file *f = get_file(fd);
  if (!f) return -EBADF;
  return fs_of(*f).fsync(backend(*f));
}

int vfs_ftruncate(int fd, int64_t len) {
  file *f = get_file(fd);
  if (!f) return -EBADF;
  if (f->dir) return -EISDIR;
  if (!can_write(*f)) return -EBADF;
  if (len < 0) return -EINVAL;
  return fs_of(*f).truncate(backend(*f), len);
}

}  // extern "C"
