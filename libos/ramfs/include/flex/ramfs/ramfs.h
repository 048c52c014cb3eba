/* ramfs: a file system in memory, behind vfs (see flex/vfs/vfs_impl.h for the contract every file
 * system follows). Files and directories live in ramfs's own heap; an unlinked file stays readable
 * through the handles still open on it. Sizes are bounded by RAMFS_FILE_MAX. */
#ifndef FLEX_RAMFS_RAMFS_H
#define FLEX_RAMFS_RAMFS_H

#include <stddef.h>
#include <stdint.h>

#include <flex/plat/plat.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { RAMFS_FILE_MAX = 1 << 30, RAMFS_MAX_HANDLES = 4096, RAMFS_MAX_MOUNTS = 16 };

int ramfs_mount(const char *source); /* source: ignored (may be "") */
int ramfs_umount(int sb);
int ramfs_open(int sb, const char *rel, int flags, int mode);
int ramfs_close(int h);
long ramfs_read(int h, void *buf, size_t len, int64_t off);
long ramfs_write(int h, const void *buf, size_t len, int64_t off); /* off < 0: append */
int ramfs_stat(int sb, const char *rel, struct plat_stat *st);
int ramfs_fstat(int h, struct plat_stat *st);
int ramfs_truncate(int h, int64_t len);
int ramfs_fsync(int h);
int ramfs_unlink(int sb, const char *rel);
int ramfs_rename(int sb, const char *from, const char *to);
int ramfs_mkdir(int sb, const char *rel, int mode);
int ramfs_rmdir(int sb, const char *rel);
int ramfs_readdir(int h, uint64_t index, struct plat_dirent *ent);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_RAMFS_RAMFS_H */
