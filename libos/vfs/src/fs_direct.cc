// vfs -> file systems with plain calls: the fs_ops tables for vfs's unit tests, which link ramfs and
// hostfs into the test binary (images use fs_gates.cc). Log lines go to stderr.
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include <flex/hostfs/hostfs.h>
#include <flex/ramfs/ramfs.h>
#include <flex/vfs/vfs_impl.h>

namespace flex::vfs {
namespace {

const fs_ops kramfs_ops = {
    .name = "ramfs",
    .mount = &ramfs_mount,
    .umount = &ramfs_umount,
    .open = &ramfs_open,
    .close = &ramfs_close,
    .read = &ramfs_read,
    .write = &ramfs_write,
    .stat = &ramfs_stat,
    .fstat = &ramfs_fstat,
    .truncate = &ramfs_truncate,
    .fsync = &ramfs_fsync,
    .unlink = &ramfs_unlink,
    .rename = &ramfs_rename,
    .mkdir = &ramfs_mkdir,
    .rmdir = &ramfs_rmdir,
    .readdir = &ramfs_readdir,
};
const fs_ops khostfs_ops = {
    .name = "hostfs",
    .mount = &hostfs_mount,
    .umount = &hostfs_umount,
    .open = &hostfs_open,
    .close = &hostfs_close,
    .read = &hostfs_read,
    .write = &hostfs_write,
    .stat = &hostfs_stat,
    .fstat = &hostfs_fstat,
    .truncate = &hostfs_truncate,
    .fsync = &hostfs_fsync,
    .unlink = &hostfs_unlink,
    .rename = &hostfs_rename,
    .mkdir = &hostfs_mkdir,
    .rmdir = &hostfs_rmdir,
    .readdir = &hostfs_readdir,
};

}  // namespace

const fs_ops *find_fs(const char *fstype) {
  if (std::strcmp(fstype, "ramfs") == 0) return &kramfs_ops;
  if (std::strcmp(fstype, "hostfs") == 0) return &khostfs_ops;
  return nullptr;
}

void log(int level, const char *fmt, ...) {
  if (level < 2) return;  // warnings and errors only
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

}  // namespace flex::vfs
