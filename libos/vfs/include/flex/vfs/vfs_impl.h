/* For implementers of vfs file systems only. A file system is a library of its own (ramfs, hostfs) with
 * these exports, all with the same shapes (X = its name):
 *
 *   int  X_mount(const char *source);                       -> a superblock id >= 0
 *   int  X_umount(int sb);
 *   int  X_open(int sb, const char *rel, int flags, int mode); -> a handle >= 0
 *   int  X_close(int h);
 *   long X_read(int h, void *buf, size_t len, int64_t off);
 *   long X_write(int h, const void *buf, size_t len, int64_t off);  off < 0: append at the end
 *   int  X_stat(int sb, const char *rel, struct plat_stat *st);
 *   int  X_fstat(int h, struct plat_stat *st);
 *   int  X_truncate(int h, int64_t len);
 *   int  X_fsync(int h);
 *   int  X_unlink(int sb, const char *rel);
 *   int  X_rename(int sb, const char *from, const char *to);
 *   int  X_mkdir(int sb, const char *rel, int mode);
 *   int  X_rmdir(int sb, const char *rel);
 *   int  X_readdir(int h, uint64_t index, struct plat_dirent *ent);  -> 1: an entry, 0: the end
 *
 * `rel` is relative to the mount's root: "" for the root itself, else components joined by '/', none
 * empty, "." or "..". vfs calls these through gates (fs_gates.cc), so each file system checks its
 * arguments again: a compromised vfs must not make it act outside its own state (hostfs: outside its
 * root). struct vfs_stat and struct vfs_dirent are plat_stat and plat_dirent, byte for byte. */
#ifndef FLEX_VFS_VFS_IMPL_H
#define FLEX_VFS_VFS_IMPL_H

#include <flex/plat/plat.h>
#include <flex/vfs/vfs.h>

#ifdef __cplusplus
namespace flex::vfs {

struct fs_ops {
  const char *name;
  int (*mount)(const char *source);
  int (*umount)(int sb);
  int (*open)(int sb, const char *rel, int flags, int mode);
  int (*close)(int h);
  long (*read)(int h, void *buf, size_t len, int64_t off);
  long (*write)(int h, const void *buf, size_t len, int64_t off);
  int (*stat)(int sb, const char *rel, plat_stat *st);
  int (*fstat)(int h, plat_stat *st);
  int (*truncate)(int h, int64_t len);
  int (*fsync)(int h);
  int (*unlink)(int sb, const char *rel);
  int (*rename)(int sb, const char *from, const char *to);
  int (*mkdir)(int sb, const char *rel, int mode);
  int (*rmdir)(int sb, const char *rel);
  int (*readdir)(int h, uint64_t index, plat_dirent *ent);
};

// The file systems vfs knows, by fstype name; nullptr for an unknown one. Defined by fs_gates.cc (through
// gates, in images) or by fs_direct.cc (plain calls, for the unit tests).
const fs_ops *find_fs(const char *fstype);
// Log lines of vfs (console_log in images).
void log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace flex::vfs
#endif

#endif /* FLEX_VFS_VFS_IMPL_H */
