// The system-call scan on objects clang-19 compiles here: what the roots reach, raw `syscall`
// instructions and syscall() calls with their numbers, the runtime's and other compartments' names, and
// the cache of decoded sites.
#include "flex/build/syscall_scan.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <tuple>

namespace flex::build {
namespace {

namespace fs = std::filesystem;

// A library's code: write and getpid through libc (getpid from a static helper), gettid through
// the replicated plat copy's syscall(), and an unlisted libc function.
constexpr const char *kLibrary = R"(
#include <stdlib.h>
#include <unistd.h>
long plat_tid(void);
__attribute__((noinline)) static long helper(void) { return getpid(); }
long lib_entry(const char *s) { write(1, s, 1); return helper() + plat_tid() + strtol(s, 0, 10); }
)";
// The replicated copy: plat_socket is never called, so socket is not charged.
constexpr const char *kPlat = R"(
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
long plat_tid(void) { return syscall(SYS_gettid); }
int plat_socket(void) { return socket(AF_INET, SOCK_STREAM, 0); }
long plat_any(long nr) { return syscall(nr); }
)";
// Raw instructions: getpid by number, one whose number comes from an argument, and a constant that only
// holds the bytes of `syscall` (b8 0f 05 00 00).
constexpr const char *kRaw = R"(
  .section .text.raw_getpid,"ax",@progbits
  .globl raw_getpid
  .type raw_getpid,@function
raw_getpid:
  movl $39, %eax
  syscall
  ret
  .size raw_getpid, .-raw_getpid
  .section .text.raw_unknown,"ax",@progbits
  .globl raw_unknown
  .type raw_unknown,@function
raw_unknown:
  movl %edi, %eax
  syscall
  ret
  .size raw_unknown, .-raw_unknown
  .section .text.raw_lookalike,"ax",@progbits
  .globl raw_lookalike
  .type raw_lookalike,@function
raw_lookalike:
  movl $0x50f, %eax
  ret
  .size raw_lookalike, .-raw_lookalike
)";
// posix (DESIGN.md §2): it defines write() for the app beside it, and only the app binds to it; another
// library of the same compartment that calls write() gets libc's.
constexpr const char *kPosix = R"(
long plat_tid(void);
long write(int fd, const void *buf, unsigned long len) { return plat_tid() + fd + (long)buf + (long)len; }
)";
constexpr const char *kApp = R"(
#include <unistd.h>
long app_entry(void) { return write(1, "x", 1); }
)";
constexpr const char *kOther = R"(
#include <unistd.h>
long other_entry(void) { return write(2, "y", 1); }
)";
constexpr const char *kTable = "write: [write]\ngetpid: [getpid]\nsocket: [socket]\nsyscall: []\n";

class syscall_scan : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("clang-19 --version >/dev/null 2>&1") != 0) return;
    char tmpl[] = "/tmp/flex_syscall_scan_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ok_ = compile("lib.c", kLibrary) && compile("plat.c", kPlat) && compile("raw.s", kRaw) && compile("posix.c", kPosix) &&
          compile("app.c", kApp) && compile("other.c", kOther);
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (dir_.empty()) GTEST_SKIP() << "clang-19 not installed";
    ASSERT_TRUE(ok_) << "clang-19 could not build the test objects in " << dir_;
    yaml::diag_sink diags;
    table_ = syscall_table::parse("table.yaml", kTable, diags);
    ASSERT_TRUE(table_.has_value());
    std::string error;
    auto model = link_model::load({}, default_c_libraries(), {}, &error);
    ASSERT_TRUE(model.has_value()) << error;
    model_ = std::move(*model);
  }

  static bool compile(const std::string &name, const char *text) {
    std::ofstream(dir_ + "/" + name) << text;
    const std::string cmd = "clang-19 -O2 -fPIE -ffunction-sections -c " + dir_ + "/" + name + " -o " + object(name);
    return std::system(cmd.c_str()) == 0;
  }
  static std::string object(const std::string &name) { return dir_ + "/" + name + ".o"; }
  static scan_object input(const std::string &name, const std::string &library, bool replicated) {
    return {object(name), library, name, replicated};
  }

  compartment_calls scan_one(const std::vector<scan_object> &objects, site_cache *cache = nullptr) {
    scan_session session(model_, *table_, cache);
    std::string error;
    auto calls = session.scan({objects}, &error);
    EXPECT_TRUE(calls.has_value()) << error;
    return calls ? calls->front() : compartment_calls{};
  }

  static inline std::string dir_;
  static inline bool ok_ = false;
  std::optional<syscall_table> table_;
  link_model model_;
};

using call_tuple = std::tuple<std::string, call_kind, std::string, std::string>;  // call, kind, via, function

std::set<call_tuple> tuples(const compartment_calls &c) {
  std::set<call_tuple> out;
  for (const found_call &f : c.calls) out.emplace(f.syscall, f.kind, f.via, f.function);
  return out;
}

TEST_F(syscall_scan, posix_names_bind_the_apps_calls_only) {
  scan_object app = input("app.c", "chat", false), posix = input("posix.c", "posix", false);
  scan_object other = input("other.c", "console", false);
  app.sees_scoped = true;
  posix.scoped = posix.sees_scoped = true;
  compartment_calls c = scan_one({app, posix, other, input("plat.c", "plat", true)});
  const std::set<call_tuple> expected = {
      {"gettid", call_kind::syscall_function, "syscall", "plat_tid"},  // the app's write(), served by posix
      {"write", call_kind::libc, "write", "other_entry"},               // the other library's: libc's
  };
  EXPECT_EQ(tuples(c), expected);
  // Without the scope, the app's write() would be charged as libc's too.
  app.sees_scoped = false;
  compartment_calls flat = scan_one({app, posix, other, input("plat.c", "plat", true)});
  EXPECT_EQ(tuples(flat).count({"write", call_kind::libc, "write", "app_entry"}), 1u);
}

TEST_F(syscall_scan, the_roots_reach_their_calls_and_only_the_plat_functions_they_call) {
  compartment_calls c = scan_one({input("lib.c", "lib", false), input("plat.c", "plat", true)});
  const std::set<call_tuple> expected = {
      {"getpid", call_kind::libc, "getpid", "helper"},
      {"gettid", call_kind::syscall_function, "syscall", "plat_tid"},
      {"write", call_kind::libc, "write", "lib_entry"},
  };
  EXPECT_EQ(tuples(c), expected) << "socket is made only by plat_socket, which nothing calls";
  auto tid = std::find_if(c.calls.begin(), c.calls.end(), [](const found_call &f) { return f.syscall == "gettid"; });
  ASSERT_NE(tid, c.calls.end());
  EXPECT_EQ(tid->number, 186);
  EXPECT_EQ(tid->object, 1u);
  EXPECT_EQ(tid->root_function, "lib_entry");
  EXPECT_EQ(tid->root_object, 0u);
  ASSERT_EQ(c.unlisted.size(), 1u);
  EXPECT_EQ(c.unlisted[0].name, "strtol");
  EXPECT_EQ(c.unlisted[0].function, "lib_entry");
}

TEST_F(syscall_scan, a_placed_plat_copy_is_a_root_everywhere) {
  compartment_calls c = scan_one({input("plat.c", "plat", false)});
  std::set<std::string> calls;
  for (const found_call &f : c.calls) calls.insert(f.syscall);
  EXPECT_EQ(calls, (std::set<std::string>{"", "gettid", "socket"})) << "plat_any's number is unknown";
  auto any = std::find_if(c.calls.begin(), c.calls.end(), [](const found_call &f) { return f.syscall.empty(); });
  ASSERT_NE(any, c.calls.end());
  EXPECT_EQ(any->function, "plat_any");
  EXPECT_EQ(any->number, -1);
}

TEST_F(syscall_scan, a_raw_syscall_instruction_is_charged_by_the_number_in_eax) {
  compartment_calls c = scan_one({input("raw.s", "raw", false)});
  ASSERT_EQ(c.calls.size(), 2u) << "raw_lookalike only holds the bytes of one";
  const found_call &unknown = c.calls[0];  // "" sorts first
  const found_call &getpid = c.calls[1];
  EXPECT_EQ(getpid.syscall, "getpid");
  EXPECT_EQ(getpid.number, 39);
  EXPECT_EQ(getpid.kind, call_kind::instruction);
  EXPECT_EQ(getpid.function, "raw_getpid");
  EXPECT_EQ(unknown.number, -1);
  EXPECT_EQ(unknown.function, "raw_unknown");
}

TEST_F(syscall_scan, the_runtime_and_other_compartments_are_not_charged_here) {
  model_.runtime.insert("getpid");  // as when the runtime's archives define it
  compartment_calls c = scan_one({input("lib.c", "lib", false), input("plat.c", "plat", true)});
  for (const found_call &f : c.calls) EXPECT_NE(f.syscall, "getpid");

  // Compartment b defines plat_tid: compartment a's reference to it is b's business (a gate).
  scan_session session(model_, *table_);
  std::string error;
  auto calls = session.scan({{input("lib.c", "lib", false)}, {input("plat.c", "plat", false)}}, &error);
  ASSERT_TRUE(calls.has_value()) << error;
  for (const found_call &f : (*calls)[0].calls) EXPECT_NE(f.syscall, "gettid");
  EXPECT_TRUE(std::any_of((*calls)[1].calls.begin(), (*calls)[1].calls.end(),
                          [](const found_call &f) { return f.syscall == "gettid"; }));
}

TEST_F(syscall_scan, an_unchanged_object_is_not_decoded_again) {
  site_cache cache;
  scan_one({input("raw.s", "raw", false)}, &cache);
  const std::string file = dir_ + "/sites.json";
  ASSERT_FALSE(cache.save(file).has_value());
  site_cache reread;
  reread.load(file);
  struct stat st {};
  ASSERT_EQ(::stat(object("raw.s").c_str(), &st), 0);
  const std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  site_cache::entry *e = reread.find(object("raw.s"), static_cast<std::uint64_t>(st.st_size), mtime);
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->sites.size(), 2u);
  for (object_site &s : e->sites) s.number = s.number == 39 ? 60 : s.number;  // what only the cache says
  EXPECT_EQ(scan_one({input("raw.s", "raw", false)}, &reread).calls[1].syscall, "exit");
  // A rebuilt object is decoded again.
  fs::last_write_time(object("raw.s"), fs::last_write_time(object("raw.s")) + std::chrono::seconds(1));
  EXPECT_EQ(scan_one({input("raw.s", "raw", false)}, &reread).calls[1].syscall, "getpid");
}

TEST(syscall_sites, the_number_is_the_last_constant_loaded_into_the_register) {
  using v = std::vector<std::string>;
  EXPECT_EQ(register_value_before(v{"movl $39, %eax", "syscall"}, 1, "eax"), 39);
  EXPECT_EQ(register_value_before(v{"movl $0xba, %edi", "xorl %eax, %eax", "jmp 0x10"}, 2, "edi"), 186);
  EXPECT_EQ(register_value_before(v{"movq $60, %rax", "movq %rbx, %rdi", "syscall"}, 2, "eax"), 60);
  EXPECT_EQ(register_value_before(v{"xorl %eax, %eax", "syscall"}, 1, "eax"), 0);
  EXPECT_EQ(register_value_before(v{"movl $39, %eax", "movl %ecx, %eax", "syscall"}, 2, "eax"), -1);
  EXPECT_EQ(register_value_before(v{"movl $39, %eax", "callq 0x0", "syscall"}, 2, "eax"), -1);
  EXPECT_EQ(register_value_before(v{"movl $39, %eax", "cpuid", "syscall"}, 2, "eax"), -1);
  EXPECT_EQ(register_value_before(v{"movl (%rsi,%rdx,4), %eax", "syscall"}, 1, "eax"), -1);
  EXPECT_EQ(register_value_before(v{"syscall"}, 0, "eax"), -1);
}

}  // namespace
}  // namespace flex::build
