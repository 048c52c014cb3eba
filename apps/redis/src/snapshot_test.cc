// Snapshot round trips, refusal of corrupt and truncated files, and atomic replacement.
#include <cerrno>
#include <fstream>
#include <sstream>

#include "snapshot_format.h"
#include "test_util.h"

namespace flex::redis::testing {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_all(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

// POSIX file operations that can be told to fail one step.
class faulty_files : public file_ops {
 public:
  enum class fail_at { none, open, write, fsync, rename };
  fail_at fail = fail_at::none;
  size_t write_limit = 0;  // with fail_at::write: bytes accepted before the failure
  std::shared_ptr<file_ops> real = posix_file_ops();
  std::vector<std::string> calls;

  int open_write(const std::string& p) override {
    calls.push_back("open " + p);
    return fail == fail_at::open ? -EACCES : real->open_write(p);
  }
  int64_t write(int h, const void* d, size_t n) override {
    if (fail == fail_at::write) {
      if (written_ >= write_limit) return -ENOSPC;
      n = std::min(n, write_limit - written_);
    }
    int64_t r = real->write(h, d, n);
    if (r > 0) written_ += static_cast<size_t>(r);
    return r;
  }
  int fsync(int h) override {
    calls.push_back("fsync");
    return fail == fail_at::fsync ? -EIO : real->fsync(h);
  }
  int close(int h) override { return real->close(h); }
  int rename(const std::string& a, const std::string& b) override {
    calls.push_back("rename");
    return fail == fail_at::rename ? -EXDEV : real->rename(a, b);
  }
  int fsync_dir(const std::string& d) override {
    calls.push_back("fsync_dir " + d);
    return real->fsync_dir(d);
  }
  int unlink(const std::string& p) override { return real->unlink(p); }
  int read_file(const std::string& p, std::string& out) override { return real->read_file(p, out); }

 private:
  size_t written_ = 0;
};

class snapshot : public engine_test {
 protected:
  void SetUp() override {
    dir = ::testing::TempDir();
    if (!dir.empty() && dir.back() == '/') dir.pop_back();
    cfg.dir = dir;
    cfg.dbfilename = std::string("snap_") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".flexdb";
    path = dir + "/" + cfg.dbfilename;
    std::remove(path.c_str());
    make_engine();
  }
  void TearDown() override { std::remove(path.c_str()); }

  void fill() {
    run({"SET", "str", std::string("bin\0ary", 7)});
    run({"SET", "ttl", "v", "EX", "100"});
    run({"SET", "gone", "v", "PX", "5"});
    run({"RPUSH", "list", "a", "b", "c"});
    run({"HSET", "hash", "f1", "v1", "f2", "v2"});
    run({"SADD", "set", "x", "y", "z"});
    run({"ZADD", "zset", "1.5", "a", "-inf", "b", "2", "c"});
    run({"XADD", "stream", "1-1", "f", "v"});
    run({"XADD", "stream", "2-5", "g", "w", "h", "u"});
    run({"SELECT", "15"});
    run({"SET", "db15", "yes"});
    run({"SELECT", "0"});
  }

  void check_filled() {
    EXPECT_EQ(run({"GET", "str"}), bulk(std::string("bin\0ary", 7)));
    EXPECT_EQ(run({"TTL", "ttl"}), num(100));
    EXPECT_EQ(run({"EXISTS", "gone"}), num(0));
    EXPECT_EQ(run({"LRANGE", "list", "0", "-1"}), arr({"a", "b", "c"}));
    EXPECT_EQ(run({"HGET", "hash", "f2"}), bulk("v2"));
    EXPECT_EQ(run({"HLEN", "hash"}), num(2));
    EXPECT_EQ(sorted(run_arr({"SMEMBERS", "set"})), (std::vector<std::string>{"x", "y", "z"}));
    EXPECT_EQ(run({"ZRANGE", "zset", "0", "-1", "WITHSCORES"}), arr({"b", "-inf", "a", "1.5", "c", "2"}));
    EXPECT_EQ(run({"XLEN", "stream"}), num(2));
    EXPECT_EQ(run({"XADD", "stream", "2-5", "f", "v"})[0], '-');  // last id survived
    EXPECT_EQ(run({"XADD", "stream", "2-*", "f", "v"}), bulk("2-6"));
    run({"SELECT", "15"});
    EXPECT_EQ(run({"GET", "db15"}), bulk("yes"));
    run({"SELECT", "0"});
  }

  std::string dir, path;
};

TEST_F(snapshot, round_trip_every_type) {
  fill();
  now += 10;  // "gone" expires before the save and is not written
  ASSERT_EQ(eng->save(), "");
  make_engine();
  EXPECT_EQ(eng->dbsize(0), 0u);
  ASSERT_EQ(eng->load(), "");
  EXPECT_EQ(eng->dbsize(0), 7u);
  check_filled();
}

TEST_F(snapshot, ttl_is_absolute) {
  run({"SET", "k", "v", "EX", "100"});
  ASSERT_EQ(eng->save(), "");
  now += 40'000;
  make_engine();
  ASSERT_EQ(eng->load(), "");
  EXPECT_EQ(run({"TTL", "k"}), num(60));
  now += 100'000;
  make_engine();
  ASSERT_EQ(eng->load(), "");  // expired while the server was down: dropped at load
  EXPECT_EQ(eng->dbsize(0), 0u);
}

TEST_F(snapshot, missing_file_is_empty_keyspace) { EXPECT_EQ(eng->load(), ""); }

TEST_F(snapshot, corrupt_file_is_refused) {
  fill();
  ASSERT_EQ(eng->save(), "");
  std::string good = read_all(path);
  make_engine();
  run({"SET", "keep", "me"});
  for (size_t pos : {size_t{3}, size_t{20}, good.size() / 2, good.size() - 1}) {
    std::string bad = good;
    bad[pos] ^= 0x40;
    write_all(path, bad);
    std::string e = eng->load();
    EXPECT_NE(e.find(path), std::string::npos) << e;
    EXPECT_NE(e.find("refusing"), std::string::npos) << e;
    EXPECT_EQ(run({"GET", "keep"}), bulk("me"));  // nothing half-loaded
    EXPECT_EQ(eng->dbsize(0), 1u);
  }
}

TEST_F(snapshot, truncated_file_is_refused) {
  fill();
  ASSERT_EQ(eng->save(), "");
  std::string good = read_all(path);
  make_engine();
  for (size_t len : {size_t{0}, size_t{5}, size_t{16}, good.size() / 2, good.size() - 1}) {
    write_all(path, good.substr(0, len));
    std::string e = eng->load();
    EXPECT_NE(e.find(path), std::string::npos) << len;
    EXPECT_EQ(eng->dbsize(0), 0u);
  }
  write_all(path, good);
  EXPECT_EQ(eng->load(), "");
}

TEST_F(snapshot, structural_errors_with_valid_checksum_are_refused) {
  std::vector<database> dbs(16);
  std::string good = encode_snapshot(dbs, now);
  std::vector<database> out(16);
  EXPECT_EQ(decode_snapshot(good, now, out), "");
  // A record with an unknown type tag, then a fresh checksum.
  std::string body = good.substr(0, good.size() - 9) + std::string(1, '\x09') + std::string(1, '\xff');
  uint64_t crc = crc64(body);
  for (int i = 0; i < 8; i++) body.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  EXPECT_NE(decode_snapshot(body, now, out).find("unknown record type"), std::string::npos);
}

TEST_F(snapshot, save_is_durable_and_ordered) {
  auto files = std::make_shared<faulty_files>();
  cfg.files = files;
  make_engine();
  run({"SET", "a", "1"});
  ASSERT_EQ(eng->save(), "");
  ASSERT_EQ(files->calls.size(), 4u);
  EXPECT_EQ(files->calls[0], "open " + path + ".tmp");
  EXPECT_EQ(files->calls[1], "fsync");
  EXPECT_EQ(files->calls[2], "rename");
  EXPECT_EQ(files->calls[3], "fsync_dir " + dir);
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// rdb-key-save-delay: one pause after each key written, each taken while the temporary file exists and
// the previous snapshot is still the one in place, so a crash during any pause keeps it.
TEST_F(snapshot, key_save_delay_pauses_after_every_key_mid_save) {
  struct pause {
    int64_t us;
    bool temporary_file_exists;
    std::string snapshot;
  };
  std::vector<pause> pauses;
  cfg.sleep = [&](int64_t us) { pauses.push_back({us, file_exists(path + ".tmp"), read_all(path)}); };
  make_engine();
  run({"SET", "a", "1"});
  ASSERT_EQ(eng->save(), "");
  EXPECT_TRUE(pauses.empty()) << pauses.size() << " pauses with the default delay (0)";
  const std::string first = read_all(path);

  run({"SET", "b", "2"});
  run({"SELECT", "3"});
  run({"RPUSH", "c", "x", "y"});
  ASSERT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", "1500"}), ok);
  ASSERT_EQ(eng->save(), "");
  ASSERT_EQ(pauses.size(), 3u) << "one pause per key, in every database";
  for (const pause& p : pauses) {
    EXPECT_EQ(p.us, 1500);
    EXPECT_TRUE(p.temporary_file_exists) << "paused before the temporary file was created";
    EXPECT_EQ(p.snapshot, first) << "the snapshot was replaced before the save ended";
  }
  EXPECT_FALSE(file_exists(path + ".tmp")) << "the temporary file outlived the save";
  EXPECT_NE(read_all(path), first);

  // -N: 1 us after every Nth key (Redis sleeps 1 us with a chance of one in N).
  for (int i = 0; i < 4; i++) run({"SET", "more" + std::to_string(i), "v"});  // 7 keys in all
  ASSERT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", "-3"}), ok);
  pauses.clear();
  ASSERT_EQ(eng->save(), "");
  ASSERT_EQ(pauses.size(), 2u);
  EXPECT_EQ(pauses[0].us, 1);
  EXPECT_EQ(pauses[1].us, 1);

  ASSERT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", "0"}), ok);
  pauses.clear();
  ASSERT_EQ(eng->save(), "");
  EXPECT_TRUE(pauses.empty()) << pauses.size() << " pauses after the delay was set back to 0";
}

TEST_F(snapshot, failed_write_keeps_old_snapshot) {
  auto files = std::make_shared<faulty_files>();
  cfg.files = files;
  make_engine();
  run({"SET", "old", "1"});
  ASSERT_EQ(eng->save(), "");
  std::string before = read_all(path);
  run({"SET", "new", std::string(10000, 'x')});
  for (auto f : {faulty_files::fail_at::open, faulty_files::fail_at::write, faulty_files::fail_at::fsync,
                 faulty_files::fail_at::rename}) {
    files->fail = f;
    files->write_limit = 100;
    std::string e = eng->save();
    EXPECT_NE(e, "");
    EXPECT_NE(e.find(path), std::string::npos) << e;
    EXPECT_EQ(read_all(path), before);
    std::ifstream tmp(path + ".tmp");
    EXPECT_FALSE(tmp.good()) << "temporary file left behind";
  }
  EXPECT_EQ(run({"SAVE"}).substr(0, 5), "-ERR ");
  files->fail = faulty_files::fail_at::none;
  make_engine();
  ASSERT_EQ(eng->load(), "");
  EXPECT_EQ(run({"EXISTS", "old", "new"}), num(1));
}

}  // namespace
}  // namespace flex::redis::testing
