// vfs over ramfs with plain calls: every call of the API, a snapshot written the way Redis writes one
// (temp file, fsync, rename, read back), directories, mounts, and bad input refused with a negative errno.
#include <flex/vfs/vfs.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string>

namespace {

std::string read_all(const char *path) {
  int fd = vfs_open(path, VFS_O_RDONLY, 0);
  if (fd < 0) return "error " + std::to_string(fd);
  std::string out;
  char buf[7];  // small on purpose: many reads, each advancing the offset
  long n;
  while ((n = vfs_read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(n, 0);
  EXPECT_EQ(vfs_close(fd), 0);
  return out;
}

std::set<std::string> list(const char *dir) {
  std::set<std::string> names;
  int fd = vfs_opendir(dir);
  EXPECT_GE(fd, 0) << dir;
  vfs_dirent ent;
  int rc;
  while ((rc = vfs_readdir(fd, &ent)) == 1) names.insert(ent.name);
  EXPECT_EQ(rc, 0);
  vfs_close(fd);
  return names;
}

TEST(vfs, ramfs_is_mounted_at_root_and_files_round_trip) {
  int fd = vfs_open("/hello.txt", VFS_O_RDWR | VFS_O_CREAT | VFS_O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(vfs_write(fd, "hello ", 6), 6);
  EXPECT_EQ(vfs_write(fd, "world\n", 6), 6);
  EXPECT_EQ(vfs_lseek(fd, 0, VFS_SEEK_CUR), 12);
  char buf[32] = {};
  EXPECT_EQ(vfs_pread(fd, buf, 5, 6), 5);
  EXPECT_EQ(std::string(buf), "world");
  EXPECT_EQ(vfs_pwrite(fd, "W", 1, 6), 1);
  EXPECT_EQ(vfs_lseek(fd, -6, VFS_SEEK_END), 6);
  EXPECT_EQ(vfs_read(fd, buf, sizeof buf), 6);
  EXPECT_EQ(std::string(buf, 6), "World\n");
  struct vfs_stat st;
  EXPECT_EQ(vfs_fstat(fd, &st), 0);
  EXPECT_EQ(st.size, 12u);
  EXPECT_EQ(st.mode & VFS_S_IFMT, static_cast<uint32_t>(VFS_S_IFREG));
  EXPECT_EQ(vfs_ftruncate(fd, 5), 0);
  EXPECT_EQ(vfs_fsync(fd), 0);
  EXPECT_EQ(vfs_close(fd), 0);
  EXPECT_EQ(read_all("/hello.txt"), "hello");
  EXPECT_EQ(vfs_stat("//./hello.txt", &st), 0);  // normalised
  EXPECT_EQ(st.size, 5u);
  EXPECT_EQ(vfs_unlink("/hello.txt"), 0);
  EXPECT_EQ(vfs_stat("/hello.txt", &st), -ENOENT);
}

TEST(vfs, append_excl_and_unlinked_open_files) {
  int fd = vfs_open("/log", VFS_O_WRONLY | VFS_O_CREAT | VFS_O_EXCL | VFS_O_APPEND, 0600);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(vfs_open("/log", VFS_O_WRONLY | VFS_O_CREAT | VFS_O_EXCL, 0600), -EEXIST);
  EXPECT_EQ(vfs_write(fd, "a", 1), 1);
  EXPECT_EQ(vfs_lseek(fd, 0, VFS_SEEK_SET), 0);
  EXPECT_EQ(vfs_write(fd, "b", 1), 1);  // O_APPEND: at the end whatever the offset
  EXPECT_EQ(vfs_lseek(fd, 0, VFS_SEEK_CUR), 2);
  int rd = vfs_open("/log", VFS_O_RDONLY, 0);
  ASSERT_GE(rd, 0);
  EXPECT_EQ(vfs_unlink("/log"), 0);
  char buf[4] = {};
  EXPECT_EQ(vfs_read(rd, buf, sizeof buf), 2);  // still readable through the open descriptor
  EXPECT_EQ(std::string(buf), "ab");
  EXPECT_EQ(vfs_write(rd, "x", 1), -EBADF);     // opened read-only
  EXPECT_EQ(vfs_read(fd, buf, 1), -EBADF);      // opened write-only
  EXPECT_EQ(vfs_close(rd), 0);
  EXPECT_EQ(vfs_close(fd), 0);
}

// What Redis's SAVE does: write a temp file, fsync it, rename it over the old one; load it at boot.
void snapshot_round_trip(const std::string &dir) {
  std::string tmp = dir + "/temp-1.rdb", dump = dir + "/dump.rdb";
  for (int gen = 0; gen < 3; ++gen) {
    std::string body(100000 + gen, static_cast<char>('a' + gen));
    int fd = vfs_open(tmp.c_str(), VFS_O_WRONLY | VFS_O_CREAT | VFS_O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    size_t done = 0;
    while (done < body.size()) {
      long n = vfs_write(fd, body.data() + done, std::min<size_t>(4096, body.size() - done));
      ASSERT_GT(n, 0);
      done += static_cast<size_t>(n);
    }
    ASSERT_EQ(vfs_fsync(fd), 0);
    ASSERT_EQ(vfs_close(fd), 0);
    ASSERT_EQ(vfs_rename(tmp.c_str(), dump.c_str()), 0);
    EXPECT_EQ(read_all(dump.c_str()), body);
    struct vfs_stat st;
    EXPECT_EQ(vfs_stat(tmp.c_str(), &st), -ENOENT);
  }
}

TEST(vfs, snapshot_write_fsync_rename_on_ramfs) {
  ASSERT_EQ(vfs_mkdir("/data", 0755), 0);
  snapshot_round_trip("/data");
}

TEST(vfs, directories_list_nest_and_refuse_what_posix_refuses) {
  ASSERT_EQ(vfs_mkdir("/d", 0755), 0);
  EXPECT_EQ(vfs_mkdir("/d", 0755), -EEXIST);
  ASSERT_EQ(vfs_mkdir("/d/sub", 0755), 0);
  for (const char *f : {"/d/a", "/d/b", "/d/sub/c"}) {
    int fd = vfs_open(f, VFS_O_WRONLY | VFS_O_CREAT, 0644);
    ASSERT_GE(fd, 0) << f;
    vfs_close(fd);
  }
  EXPECT_EQ(list("/d"), (std::set<std::string>{"a", "b", "sub"}));
  EXPECT_EQ(vfs_rmdir("/d/sub"), -ENOTEMPTY);
  EXPECT_EQ(vfs_unlink("/d/sub"), -EISDIR);
  EXPECT_EQ(vfs_rmdir("/d/a"), -ENOTDIR);
  EXPECT_EQ(vfs_open("/d/a/x", VFS_O_RDONLY, 0), -ENOTDIR);
  EXPECT_EQ(vfs_open("/d/sub", VFS_O_WRONLY, 0), -EISDIR);
  EXPECT_EQ(vfs_opendir("/d/a"), -ENOTDIR);
  EXPECT_EQ(vfs_rename("/d", "/d/sub/inside"), -EINVAL);  // a directory into itself
  EXPECT_EQ(vfs_rename("/d/sub", "/moved"), 0);
  EXPECT_EQ(list("/moved"), (std::set<std::string>{"c"}));
  EXPECT_EQ(vfs_unlink("/moved/c"), 0);
  EXPECT_EQ(vfs_rmdir("/moved"), 0);
  const int dotted = vfs_open("/d/../d/./a", VFS_O_RDONLY, 0);
  EXPECT_TRUE(dotted >= 0) << "vfs_open(\"/d/../d/./a\") returned " << dotted;
  const int above_root = vfs_open("/../../d/b", VFS_O_RDONLY, 0);  // "/.." is "/"
  EXPECT_TRUE(above_root >= 0) << "vfs_open(\"/../../d/b\") returned " << above_root;
}

TEST(vfs, mounts_route_by_longest_prefix_and_rename_does_not_cross_them) {
  ASSERT_EQ(vfs_mount("/mnt/r", "ramfs", nullptr, 0), 0);
  EXPECT_EQ(vfs_mount("/mnt/r", "ramfs", nullptr, 0), -EBUSY);
  EXPECT_EQ(vfs_mount("/x", "nofs", nullptr, 0), -ENODEV);
  EXPECT_EQ(vfs_mount("/x", "ramfs", nullptr, 1), -EINVAL);
  int fd = vfs_open("/mnt/r/f", VFS_O_WRONLY | VFS_O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(vfs_umount("/mnt/r"), -EBUSY);
  vfs_close(fd);
  struct vfs_stat st;
  EXPECT_EQ(vfs_stat("/mnt/r/f", &st), 0);
  EXPECT_EQ(vfs_stat("/mnt/f", &st), -ENOENT);  // not in the root file system
  EXPECT_EQ(vfs_rename("/mnt/r/f", "/f"), -EXDEV);
  EXPECT_EQ(vfs_rmdir("/mnt/r"), -EBUSY);
  EXPECT_EQ(vfs_umount("/mnt/r"), 0);
  EXPECT_EQ(vfs_stat("/mnt/r/f", &st), -ENOENT);
  EXPECT_EQ(vfs_umount("/mnt/r"), -EINVAL);
}

TEST(vfs, bad_input_is_a_negative_errno_and_touches_nothing) {
  char buf[8];
  struct vfs_stat st;
  vfs_dirent ent;
  for (int fd : {-1, 3, 1023, 1024, 1 << 30}) {
    EXPECT_EQ(vfs_read(fd, buf, 1), -EBADF);
    EXPECT_EQ(vfs_write(fd, buf, 1), -EBADF);
    EXPECT_EQ(vfs_pread(fd, buf, 1, 0), -EBADF);
    EXPECT_EQ(vfs_close(fd), -EBADF);
    EXPECT_EQ(vfs_fstat(fd, &st), -EBADF);
    EXPECT_EQ(vfs_lseek(fd, 0, 0), -EBADF);
    EXPECT_EQ(vfs_fsync(fd), -EBADF);
    EXPECT_EQ(vfs_ftruncate(fd, 0), -EBADF);
    EXPECT_EQ(vfs_readdir(fd, &ent), -EBADF);
  }
  EXPECT_EQ(vfs_open(nullptr, 0, 0), -EFAULT);
  EXPECT_EQ(vfs_open("", 0, 0), -ENOENT);
  EXPECT_EQ(vfs_open("/x", 0x40000000, 0), -EINVAL);
  EXPECT_EQ(vfs_open("/x", 3, 0), -EINVAL);
  EXPECT_EQ(vfs_open("/x", VFS_O_CREAT | VFS_O_WRONLY, 0170000), -EINVAL);
  std::string long_path(VFS_PATH_MAX + 10, 'a');
  long_path[0] = '/';
  EXPECT_EQ(vfs_open(long_path.c_str(), 0, 0), -ENAMETOOLONG);
  std::string long_name = "/" + std::string(VFS_NAME_MAX + 1, 'n');
  EXPECT_EQ(vfs_open(long_name.c_str(), VFS_O_CREAT | VFS_O_WRONLY, 0644), -ENAMETOOLONG);
  EXPECT_EQ(vfs_stat("/", nullptr), -EFAULT);
  EXPECT_EQ(vfs_stat(nullptr, &st), -EFAULT);
  EXPECT_EQ(vfs_rename(nullptr, "/a"), -EFAULT);
  EXPECT_EQ(vfs_mount(nullptr, "ramfs", nullptr, 0), -EFAULT);
  EXPECT_EQ(vfs_unlink("/"), -EBUSY);
  EXPECT_EQ(vfs_rmdir("/"), -EBUSY);
  EXPECT_EQ(vfs_mkdir("/", 0755), -EEXIST);
  int fd = vfs_open("/bad", VFS_O_RDWR | VFS_O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(vfs_read(fd, nullptr, 1), -EFAULT);
  EXPECT_EQ(vfs_write(fd, nullptr, 1), -EFAULT);
  EXPECT_EQ(vfs_read(fd, buf, size_t{VFS_MAX_IO} + 1), -EINVAL);
  EXPECT_EQ(vfs_pwrite(fd, buf, 1, -1), -EINVAL);
  EXPECT_EQ(vfs_lseek(fd, -1, VFS_SEEK_SET), -EINVAL);
  EXPECT_EQ(vfs_lseek(fd, 0, 7), -EINVAL);
  EXPECT_EQ(vfs_lseek(fd, INT64_MAX, VFS_SEEK_SET), INT64_MAX);
  EXPECT_EQ(vfs_lseek(fd, 1, VFS_SEEK_CUR), -EINVAL);  // overflow
  EXPECT_EQ(vfs_ftruncate(fd, -1), -EINVAL);
  EXPECT_EQ(vfs_fstat(fd, nullptr), -EFAULT);
  EXPECT_EQ(vfs_readdir(fd, &ent), -ENOTDIR);
  EXPECT_EQ(vfs_close(fd), 0);
  EXPECT_EQ(vfs_close(fd), -EBADF);  // closed descriptors are gone
  EXPECT_EQ(vfs_unlink("/bad"), 0);
}

TEST(vfs, the_descriptor_table_fills_up_cleanly) {
  std::vector<int> fds;
  int fd;
  while ((fd = vfs_open("/", VFS_O_RDONLY | VFS_O_DIRECTORY, 0)) >= 0) fds.push_back(fd);
  EXPECT_EQ(fd, -EMFILE);
  EXPECT_LE(fds.size(), static_cast<size_t>(VFS_MAX_FDS));
  for (int f : fds) EXPECT_EQ(vfs_close(f), 0);
}

}  // namespace
