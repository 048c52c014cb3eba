/* hostfs: a host directory behind vfs (see flex/vfs/vfs_impl.h for the contract), given at run time:
 *
 *   vfs_mount("/data", "hostfs", "/srv/flex-data", 0);
 *
 * Every access is confined beneath that directory: paths are resolved from the directory's fd with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) through plat (or, on kernels without openat2, component
 * by component with O_NOFOLLOW, refusing every symlink), ".." components are refused before that, and
 * symlinks that lead out of the root (absolute, or through "..") end in -EACCES. Only plat makes system
 * calls; host fds never leave hostfs. */
#ifndef FLEX_HOSTFS_HOSTFS_H
#define FLEX_HOSTFS_HOSTFS_H

#include <stddef.h>
#include <stdint.h>

#include <flex/plat/plat.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { HOSTFS_MAX_HANDLES = 4096, HOSTFS_MAX_MOUNTS = 16 };

/* source: an existing host directory. In an image locked down with `lockdown: enforce`, it must lie beneath
 * a host directory named at boot (the app's lib.yaml `hostfs_dir` option, FLEX_MOUNTS): -EACCES otherwise
 * (see flex/runtime/lockdown_files.h). */
int hostfs_mount(const char *source);
int hostfs_umount(int sb);
int hostfs_open(int sb, const char *rel, int flags, int mode);
int hostfs_close(int h);
long hostfs_read(int h, void *buf, size_t len, int64_t off);
long hostfs_write(int h, const void *buf, size_t len, int64_t off); /* off < 0: append */
int hostfs_stat(int sb, const char *rel, struct plat_stat *st);
int hostfs_fstat(int h, struct plat_stat *st);
int hostfs_truncate(int h, int64_t len);
int hostfs_fsync(int h);
int hostfs_unlink(int sb, const char *rel);
int hostfs_rename(int sb, const char *from, const char *to);
int hostfs_mkdir(int sb, const char *rel, int mode);
int hostfs_rmdir(int sb, const char *rel);
int hostfs_readdir(int h, uint64_t index, struct plat_dirent *ent);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_HOSTFS_HOSTFS_H */
