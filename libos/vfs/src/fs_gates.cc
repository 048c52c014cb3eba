// vfs -> file systems through gates: the fs_ops tables of ramfs and hostfs as images use them. Each
// wrapper copies the paths it passes into whitelisted (shared) locals, so a file system in another
// compartment can read them; buffers and result structs are the callers' own, which vfs.h requires to be
// shared already. Log lines go to the console library.
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include <flex/console/console.h>
#include <flex/hostfs/hostfs.h>
#include <flex/ramfs/ramfs.h>
#include <flex/vfs/vfs_impl.h>
#include <flexos/isolation.h>

namespace flex::vfs {
namespace {

// The caller checked the length (vfs normalised the path into a buffer of this size).
void copy_path(char (&out)[VFS_PATH_MAX + 1], const char *in) {
  size_t n = strnlen(in, VFS_PATH_MAX);
  std::memcpy(out, in, n);
  out[n] = '\0';
}

}  // namespace

// The wrappers live in a named namespace: a gate's wrapper is declared at block scope, and inside an
// unnamed namespace that declaration would get internal linkage.
namespace gated {

int ramfs_mount_gate(const char *source) {
  char source_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(source_copy, source);
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_mount, source_copy);
  return rc;
}

int ramfs_umount_gate(int sb) {
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_umount, sb);
  return rc;
}

int ramfs_open_gate(int sb, const char *rel, int flags, int mode) {
  char rel_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(rel_copy, rel);
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_open, sb, rel_copy, flags, mode);
  return rc;
}

int ramfs_close_gate(int h) {
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_close, h);
  return rc;
}

long ramfs_read_gate(int h, void *buf, size_t len, int64_t off) {
  long rc;
  flexos_gate_r(libramfs, rc, ramfs_read, h, buf, len, off);
  return rc;
}

long ramfs_write_gate(int h, const void *buf, size_t len, int64_t off) {
  long rc;
  flexos_gate_r(libramfs, rc, ramfs_write, h, buf, len, off);
  return rc;
}

int ramfs_stat_gate(int sb, const char *rel, plat_stat *st) {
  char rel_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(rel_copy, rel);
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_stat, sb, rel_copy, st);
  return rc;
}

int ramfs_fstat_gate(int h, plat_stat *st) {
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_fstat, h, st);
  return rc;
}

int ramfs_truncate_gate(int h, int64_t len) {
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_truncate, h, len);
  return rc;
}

int ramfs_fsync_gate(int h) {
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_fsync, h);
  return rc;
}

int ramfs_unlink_gate(int sb, const char *rel) {
  char rel_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(rel_copy, rel);
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_unlink, sb, rel_copy);
  return rc;
}

int ramfs_rename_gate(int sb, const char *from, const char *to) {
  char from_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(from_copy, from);
  char to_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(to_copy, to);
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_rename, sb, from_copy, to_copy);
  return rc;
}

int ramfs_mkdir_gate(int sb, const char *rel, int mode) {
  char rel_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(rel_copy, rel);
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_mkdir, sb, rel_copy, mode);
  return rc;
}

int ramfs_rmdir_gate(int sb, const char *rel) {
  char rel_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(rel_copy, rel);
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_rmdir, sb, rel_copy);
  return rc;
}

int ramfs_readdir_gate(int h, uint64_t index, plat_dirent *ent) {
  int rc;
  flexos_gate_r(libramfs, rc, ramfs_readdir, h, index, ent);
  return rc;
}

int hostfs_mount_gate(const char *source) {
  char source_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(source_copy, source);
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_mount, source_copy);
  return rc;
}

int hostfs_umount_gate(int sb) {
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_umount, sb);
  return rc;
}

int hostfs_open_gate(int sb, const char *rel, int flags, int mode) {
  char rel_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(rel_copy, rel);
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_open, sb, rel_copy, flags, mode);
  return rc;
}

int hostfs_close_gate(int h) {
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_close, h);
  return rc;
}

long hostfs_read_gate(int h, void *buf, size_t len, int64_t off) {
  long rc;
  flexos_gate_r(libhostfs, rc, hostfs_read, h, buf, len, off);
  return rc;
}

long hostfs_write_gate(int h, const void *buf, size_t len, int64_t off) {
  long rc;
  flexos_gate_r(libhostfs, rc, hostfs_write, h, buf, len, off);
  return rc;
}

int hostfs_stat_gate(int sb, const char *rel, plat_stat *st) {
  char rel_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(rel_copy, rel);
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_stat, sb, rel_copy, st);
  return rc;
}

int hostfs_fstat_gate(int h, plat_stat *st) {
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_fstat, h, st);
  return rc;
}

int hostfs_truncate_gate(int h, int64_t len) {
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_truncate, h, len);
  return rc;
}

int hostfs_fsync_gate(int h) {
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_fsync, h);
  return rc;
}

int hostfs_unlink_gate(int sb, const char *rel) {
  char rel_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(rel_copy, rel);
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_unlink, sb, rel_copy);
  return rc;
}

int hostfs_rename_gate(int sb, const char *from, const char *to) {
  char from_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(from_copy, from);
  char to_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(to_copy, to);
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_rename, sb, from_copy, to_copy);
  return rc;
}

int hostfs_mkdir_gate(int sb, const char *rel, int mode) {
  char rel_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(rel_copy, rel);
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_mkdir, sb, rel_copy, mode);
  return rc;
}

int hostfs_rmdir_gate(int sb, const char *rel) {
  char rel_copy[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  copy_path(rel_copy, rel);
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_rmdir, sb, rel_copy);
  return rc;
}

int hostfs_readdir_gate(int h, uint64_t index, plat_dirent *ent) {
  int rc;
  flexos_gate_r(libhostfs, rc, hostfs_readdir, h, index, ent);
  return rc;
}

}  // namespace gated

namespace {

using namespace gated;

const fs_ops kramfs_ops = {
    .name = "ramfs",
    .mount = &ramfs_mount_gate,
    .umount = &ramfs_umount_gate,
    .open = &ramfs_open_gate,
    .close = &ramfs_close_gate,
    .read = &ramfs_read_gate,
    .write = &ramfs_write_gate,
    .stat = &ramfs_stat_gate,
    .fstat = &ramfs_fstat_gate,
    .truncate = &ramfs_truncate_gate,
    .fsync = &ramfs_fsync_gate,
    .unlink = &ramfs_unlink_gate,
    .rename = &ramfs_rename_gate,
    .mkdir = &ramfs_mkdir_gate,
    .rmdir = &ramfs_rmdir_gate,
    .readdir = &ramfs_readdir_gate,
};
const fs_ops khostfs_ops = {
    .name = "hostfs",
    .mount = &hostfs_mount_gate,
    .umount = &hostfs_umount_gate,
    .open = &hostfs_open_gate,
    .close = &hostfs_close_gate,
    .read = &hostfs_read_gate,
    .write = &hostfs_write_gate,
    .stat = &hostfs_stat_gate,
    .fstat = &hostfs_fstat_gate,
    .truncate = &hostfs_truncate_gate,
    .fsync = &hostfs_fsync_gate,
    .unlink = &hostfs_unlink_gate,
    .rename = &hostfs_rename_gate,
    .mkdir = &hostfs_mkdir_gate,
    .rmdir = &hostfs_rmdir_gate,
    .readdir = &hostfs_readdir_gate,
};

}  // namespace

const fs_ops *find_fs(const char *fstype) {
  if (std::strcmp(fstype, "ramfs") == 0) return &kramfs_ops;
  if (std::strcmp(fstype, "hostfs") == 0) return &khostfs_ops;
  return nullptr;
}

void log(int level, const char *fmt, ...) {
  char line[512] __attribute__((flexos_whitelist));
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = static_cast<size_t>(n) < sizeof line ? static_cast<size_t>(n) : sizeof line - 1;
  long rc;
  flexos_gate_r(libconsole, rc, console_log, level, line, len);
  (void)rc;
}

}  // namespace flex::vfs
