// hostfs behind vfs, with plain calls: a file round trip in a host directory mounted at run time, the
// Redis snapshot sequence on it, and every way out of the root refused: "..", absolute paths, symlinks
// (absolute, relative, in a middle component), with openat2 and with the O_NOFOLLOW walk.
#include <flex/hostfs/hostfs.h>
#include <flex/vfs/vfs.h>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace flex::hostfs {
extern bool g_force_walk;
}

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A host tree: <base>/root (mounted) holding a file, a directory and symlinks; <base>/secret outside.
class hostfs_tree : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    flex::hostfs::g_force_walk = GetParam();
    char tmpl[] = "/tmp/hostfs-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ / "root";
    fs::create_directories(root_ / "dir");
    std::ofstream(base_ / "secret") << "top secret";
    std::ofstream(root_ / "dir/inside") << "inside";
    fs::create_symlink("/etc/passwd", root_ / "abs_link");
    fs::create_symlink("../secret", root_ / "rel_link");
    fs::create_symlink("..", root_ / "up");
    fs::create_symlink(base_, root_ / "base_link");
    fs::create_symlink("dir/inside", root_ / "in_link");
    mnt_ = "/host" + std::to_string(counter_++);
    ASSERT_EQ(vfs_mount(mnt_.c_str(), "hostfs", root_.c_str(), 0), 0);
  }
  void TearDown() override {
    EXPECT_EQ(vfs_umount(mnt_.c_str()), 0);
    fs::remove_all(base_);
    flex::hostfs::g_force_walk = false;
  }
  std::string p(const std::string &rel) const { return mnt_ + "/" + rel; }

  fs::path base_, root_;
  std::string mnt_;
  static inline int counter_ = 0;
};

TEST_P(hostfs_tree, files_round_trip_and_land_in_the_host_directory) {
  int fd = vfs_open(p("dir/new").c_str(), VFS_O_RDWR | VFS_O_CREAT | VFS_O_TRUNC, 0640);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(vfs_write(fd, "abc", 3), 3);
  EXPECT_EQ(vfs_pwrite(fd, "Z", 1, 1), 1);
  char buf[8] = {};
  EXPECT_EQ(vfs_pread(fd, buf, sizeof buf, 0), 3);
  EXPECT_EQ(std::string(buf), "aZc");
  EXPECT_EQ(vfs_ftruncate(fd, 2), 0);
  EXPECT_EQ(vfs_fsync(fd), 0);
  struct vfs_stat st;
  EXPECT_EQ(vfs_fstat(fd, &st), 0);
  EXPECT_EQ(st.size, 2u);
  EXPECT_EQ(st.mode & 0777, 0640u);
  EXPECT_EQ(vfs_close(fd), 0);
  EXPECT_EQ(slurp(root_ / "dir/new"), "aZ");
  EXPECT_EQ(vfs_mkdir(p("made").c_str(), 0700), 0);
  EXPECT_TRUE(fs::is_directory(root_ / "made"));
  EXPECT_EQ(vfs_rename(p("dir/new").c_str(), p("made/renamed").c_str()), 0);
  EXPECT_EQ(slurp(root_ / "made/renamed"), "aZ");
  int d = vfs_opendir(p("made").c_str());
  ASSERT_GE(d, 0);
  vfs_dirent ent;
  ASSERT_EQ(vfs_readdir(d, &ent), 1);
  EXPECT_STREQ(ent.name, "renamed");
  EXPECT_EQ(ent.type, static_cast<uint32_t>(VFS_DT_REG));
  EXPECT_EQ(vfs_readdir(d, &ent), 0);
  EXPECT_EQ(vfs_close(d), 0);
  EXPECT_EQ(vfs_rmdir(p("made").c_str()), -ENOTEMPTY);
  EXPECT_EQ(vfs_unlink(p("made/renamed").c_str()), 0);
  EXPECT_EQ(vfs_rmdir(p("made").c_str()), 0);
  EXPECT_FALSE(fs::exists(root_ / "made"));
}

TEST_P(hostfs_tree, snapshot_write_fsync_rename_then_load) {
  std::string tmp = p("temp-42.rdb"), dump = p("dump.rdb");
  std::string body(300000, 'x');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  int fd = vfs_open(tmp.c_str(), VFS_O_WRONLY | VFS_O_CREAT | VFS_O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(vfs_write(fd, body.data(), body.size()), static_cast<long>(body.size()));
  ASSERT_EQ(vfs_fsync(fd), 0);
  ASSERT_EQ(vfs_close(fd), 0);
  ASSERT_EQ(vfs_rename(tmp.c_str(), dump.c_str()), 0);
  EXPECT_EQ(slurp(root_ / "dump.rdb"), body);
  fd = vfs_open(dump.c_str(), VFS_O_RDONLY, 0);
  ASSERT_GE(fd, 0);
  std::string back(body.size(), '\0');
  EXPECT_EQ(vfs_read(fd, back.data(), back.size()), static_cast<long>(body.size()));
  EXPECT_EQ(back, body);
  vfs_close(fd);
}

TEST_P(hostfs_tree, no_path_leaves_the_root) {
  struct vfs_stat st;
  // Through vfs, ".." is resolved in the vfs namespace first: it can only reach the file system above.
  EXPECT_EQ(vfs_open((mnt_ + "/../secret").c_str(), VFS_O_RDONLY, 0), -ENOENT);
  EXPECT_EQ(vfs_open((mnt_ + "/dir/../../secret").c_str(), VFS_O_RDONLY, 0), -ENOENT);
  // Symlinks out of the root: absolute, relative, to a directory above, in a middle component.
  for (const char *rel : {"abs_link", "rel_link", "up/secret", "base_link/secret", "up", "base_link"}) {
    int fd = vfs_open(p(rel).c_str(), VFS_O_RDONLY, 0);
    EXPECT_LT(fd, 0) << rel;
    if (fd >= 0) vfs_close(fd);
    EXPECT_LT(vfs_stat(p(rel).c_str(), &st) == 0 && st.size == 10, 1) << rel;  // never the secret
    EXPECT_LT(vfs_open(p(std::string(rel) + "/x").c_str(), VFS_O_WRONLY | VFS_O_CREAT, 0644), 0) << rel;
  }
  // Each through the symlink "up", which leads out of the root: every one must fail.
  const int created = vfs_open(p("up/evil").c_str(), VFS_O_WRONLY | VFS_O_CREAT, 0644);
  EXPECT_TRUE(created < 0) << "created up/evil: fd " << created;
  const int made = vfs_mkdir(p("up/evil_dir").c_str(), 0755);
  EXPECT_TRUE(made < 0) << "made up/evil_dir: " << made;
  const int renamed = vfs_rename(p("dir/inside").c_str(), p("up/stolen").c_str());
  EXPECT_TRUE(renamed < 0) << "renamed dir/inside to up/stolen: " << renamed;
  const int unlinked = vfs_unlink(p("up/secret").c_str());
  EXPECT_TRUE(unlinked < 0) << "unlinked up/secret: " << unlinked;
  EXPECT_FALSE(fs::exists(base_ / "evil"));
  EXPECT_FALSE(fs::exists(base_ / "evil_dir"));
  EXPECT_FALSE(fs::exists(base_ / "stolen"));
  EXPECT_EQ(slurp(base_ / "secret"), "top secret");
  EXPECT_EQ(slurp(root_ / "dir/inside"), "inside");
  // A symlink that stays inside is followed where the kernel resolves beneath the root (openat2).
  int fd = vfs_open(p("in_link").c_str(), VFS_O_RDONLY, 0);
  if (GetParam()) {
    EXPECT_LT(fd, 0);  // the walk refuses every symlink
  } else {
    ASSERT_GE(fd, 0);
    char buf[16] = {};
    EXPECT_EQ(vfs_read(fd, buf, sizeof buf), 6);
    vfs_close(fd);
  }
  // A device is not a file hostfs serves.
  fs::create_symlink("/dev/zero", root_ / "zero");
  EXPECT_LT(vfs_open(p("zero").c_str(), VFS_O_RDONLY, 0), 0);
}

TEST_P(hostfs_tree, the_file_system_itself_refuses_what_a_compromised_vfs_could_send) {
  // hostfs is reached through a gate: it checks paths again, whatever vfs did.
  int sb = hostfs_mount(root_.c_str());
  ASSERT_GE(sb, 0);
  plat_stat st;
  for (const char *bad : {"..", "../secret", "dir/../../secret", "/etc/passwd", "dir/..", "dir//inside"}) {
    int h = hostfs_open(sb, bad, O_RDONLY, 0);
    EXPECT_LT(h, 0) << bad;
    if (h >= 0) hostfs_close(h);
    EXPECT_LT(hostfs_stat(sb, bad, &st), 0) << bad;
    EXPECT_LT(hostfs_unlink(sb, bad), 0) << bad;
  }
  EXPECT_EQ(hostfs_open(sb, "../secret", O_RDONLY, 0), -EACCES);
  EXPECT_EQ(hostfs_open(sb, "/etc/passwd", O_RDONLY, 0), -EACCES);
  EXPECT_EQ(hostfs_open(sb, nullptr, O_RDONLY, 0), -EFAULT);
  EXPECT_EQ(hostfs_open(sb + 100, "dir/inside", O_RDONLY, 0), -EINVAL);
  EXPECT_EQ(hostfs_open(-1, "dir/inside", O_RDONLY, 0), -EINVAL);
  EXPECT_EQ(hostfs_open(sb, "dir/inside", O_RDONLY | 0x40000000, 0), -EINVAL);
  char buf[4];
  EXPECT_EQ(hostfs_read(-1, buf, 1, 0), -EBADF);
  EXPECT_EQ(hostfs_read(HOSTFS_MAX_HANDLES, buf, 1, 0), -EBADF);
  EXPECT_EQ(hostfs_write(12345678, buf, 1, 0), -EBADF);
  int h = hostfs_open(sb, "dir/inside", O_RDONLY, 0);
  ASSERT_GE(h, 0);
  EXPECT_EQ(hostfs_read(h, nullptr, 1, 0), -EFAULT);
  EXPECT_EQ(hostfs_read(h, buf, 1, -5), -EINVAL);
  EXPECT_EQ(hostfs_fstat(h, nullptr), -EFAULT);
  EXPECT_EQ(hostfs_close(h), 0);
  EXPECT_EQ(hostfs_close(h), -EBADF);
  EXPECT_EQ(hostfs_umount(sb), 0);
  EXPECT_EQ(hostfs_umount(sb), -EINVAL);
}

INSTANTIATE_TEST_SUITE_P(resolver, hostfs_tree, ::testing::Values(false, true),
                         [](const auto &info) { return info.param ? "walk" : "openat2"; });

TEST(hostfs, mounting_a_missing_or_non_directory_source_fails) {
  EXPECT_EQ(vfs_mount("/nohost", "hostfs", "/nonexistent/flex-hostfs", 0), -ENOENT);
  EXPECT_EQ(vfs_mount("/nohost", "hostfs", "/etc/passwd", 0), -ENOTDIR);
  EXPECT_EQ(vfs_mount("/nohost", "hostfs", "", 0), -ENOENT);
  EXPECT_EQ(vfs_mount("/nohost", "hostfs", nullptr, 0), -ENOENT);
  EXPECT_EQ(hostfs_mount(nullptr), -EFAULT);
}

}  // namespace
