/* vfs: the file API of the libOS: one namespace of absolute paths, a mount table and a table of open
 * files. The file systems behind it are libraries of their own (ramfs: in memory; hostfs: a host
 * directory, every access confined beneath it), which vfs calls through gates.
 *
 *   vfs_mount("/data", "hostfs", dir, 0);           // dir: a host directory given at run time
 *   int fd = vfs_open("/data/dump.rdb.tmp", VFS_O_WRONLY | VFS_O_CREAT | VFS_O_TRUNC, 0644);
 *   vfs_write(fd, buf, len);                        // buf: shared memory (flexos_whitelist)
 *   vfs_fsync(fd);
 *   vfs_close(fd);
 *   vfs_rename("/data/dump.rdb.tmp", "/data/dump.rdb");
 *
 * Until something is mounted at "/", the first call mounts a ramfs there, so "/tmp/x" just works.
 * Paths are absolute (a relative path is taken from "/"; there is no working directory), at most
 * VFS_PATH_MAX bytes, components at most VFS_NAME_MAX; "." and ".." are resolved by vfs before a file
 * system sees the path ("/.." is "/"), so no path leaves its mount. Every call returns a negative errno on
 * failure: -EBADF for a descriptor vfs did not give out or has closed, -EFAULT for a null pointer, -EINVAL
 * for an oversized length or unknown flags, -ENAMETOOLONG, -EXDEV for a rename across mounts, -EACCES
 * for a path a file system refuses to resolve (hostfs: a symlink out of its root). Buffers, paths and
 * result structs that cross a compartment boundary must be shared memory. */
#ifndef FLEX_VFS_VFS_H
#define FLEX_VFS_VFS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Open flags: Linux's values, so they can be passed through unchanged. */
enum {
  VFS_O_RDONLY = 0,
  VFS_O_WRONLY = 01,
  VFS_O_RDWR = 02,
  VFS_O_CREAT = 0100,
  VFS_O_EXCL = 0200,
  VFS_O_TRUNC = 01000,
  VFS_O_APPEND = 02000,
  VFS_O_DIRECTORY = 0200000,
};
enum { VFS_SEEK_SET = 0, VFS_SEEK_CUR = 1, VFS_SEEK_END = 2 };
enum { VFS_PATH_MAX = 1024, VFS_NAME_MAX = 255, VFS_MAX_FDS = 1024, VFS_MAX_MOUNTS = 16 };
enum { VFS_MAX_IO = 1 << 30 }; /* the largest length one read or write accepts */
/* st_mode file types (Linux's). */
enum { VFS_S_IFMT = 0170000, VFS_S_IFREG = 0100000, VFS_S_IFDIR = 0040000, VFS_S_IFLNK = 0120000 };
enum { VFS_DT_UNKNOWN = 0, VFS_DT_DIR = 4, VFS_DT_REG = 8, VFS_DT_LNK = 10 };

struct vfs_stat {
  uint64_t dev, ino, size, blocks;
  uint32_t mode, nlink, uid, gid;
  int64_t atime_ns, mtime_ns, ctime_ns;
};

struct vfs_dirent {
  uint64_t ino;
  uint32_t type; /* VFS_DT_* */
  char name[VFS_NAME_MAX + 1];
};

/* Mounts: fstype "ramfs" (source: NULL or "") or "hostfs" (source: the host directory). target is an
 * absolute path; it need not exist in the file system above. -EBUSY if something is mounted there,
 * -ENODEV for an unknown fstype, the file system's error for a bad source (-ENOENT, -ENOTDIR). */
int vfs_mount(const char *target, const char *fstype, const char *source, unsigned flags);
int vfs_umount(const char *target); /* -EBUSY while a file under it is open */

int vfs_open(const char *path, int flags, int mode);
long vfs_read(int fd, void *buf, size_t len);
long vfs_write(int fd, const void *buf, size_t len);
long vfs_pread(int fd, void *buf, size_t len, int64_t off);
long vfs_pwrite(int fd, const void *buf, size_t len, int64_t off);
int64_t vfs_lseek(int fd, int64_t off, int whence);
int vfs_close(int fd);
int vfs_stat(const char *path, struct vfs_stat *st);
int vfs_fstat(int fd, struct vfs_stat *st);
int vfs_unlink(const char *path);
int vfs_rename(const char *from, const char *to);
int vfs_mkdir(const char *path, int mode);
int vfs_rmdir(const char *path);
int vfs_fsync(int fd);
int vfs_ftruncate(int fd, int64_t len);
/* Directories: vfs_opendir gives a descriptor; vfs_readdir fills *ent and returns 1, or 0 at the end
 * ("." and ".." are not listed); vfs_close closes it. */
int vfs_opendir(const char *path);
int vfs_readdir(int fd, struct vfs_dirent *ent);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_VFS_VFS_H */
