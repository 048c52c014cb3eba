// The lockdown of one process, for real: each case forks a child that locks itself down with a layout of
// one compartment, then makes one call; the parent reads the child's exit status and report.
#include "flex/runtime/lockdown.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "flex/runtime/lockdown_files.h"
#include "lockdown_impl.h"

#include "flex/syscalls/syscalls.h"

namespace flex::runtime {
namespace {

struct outcome {
  int status = -1;  // exit status, or 128+signal
  std::string err;  // the child's stderr
};

// A child that locks down with the runtime's needs plus `extra`, then runs `body` and exits with its
// result. `families`: the socket families allowed (0: any); `lib`: the compartment's one library.
// `before`: run in the child just before it locks down.
outcome in_locked_child(std::vector<std::string_view> extra, std::uint64_t families, int mode,
                        const std::function<int()> &body, const char *lib = "test",
                        const std::function<int()> &before = {}, const char *binary = nullptr) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    std::vector<int> calls;
    for (std::string_view s : flex::syscalls::runtime_needs(flex::syscalls::process_kind::any)) {
      calls.push_back(flex::syscalls::number(s));
    }
    for (std::string_view s : extra) calls.push_back(flex::syscalls::number(s));
    const char *const libs[] = {lib, nullptr};
    flex_compartment_layout comp{};
    comp.name = "probe";
    comp.libraries = libs;
    comp.syscalls = calls.data();
    comp.n_syscalls = static_cast<unsigned>(calls.size());
    comp.socket_families = families;
    flex_image_layout img{};
    img.name = "lockdown-test";
    img.n_compartments = 1;
    img.compartments = &comp;
    img.lockdown = mode;
    img.binary_path = binary;
    if (before) {
      if (const int rc = before(); rc != 0) _exit(rc);
    }
    if (status s = lockdown_process(img, 1, false); !s.ok()) {
      std::fprintf(stderr, "lockdown failed: %s\n", s.message().c_str());
      _exit(99);
    }
    _exit(body());
  }
  close(pipefd[1]);
  outcome o;
  char buf[512];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) o.err.append(buf, static_cast<std::size_t>(n));
  close(pipefd[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return o;
}

outcome enforce(const std::function<int()> &body, std::vector<std::string_view> extra = {},
                std::uint64_t families = 0) {
  return in_locked_child(std::move(extra), families, FLEX_LOCKDOWN_ENFORCE, body);
}

TEST(lockdown, calls_in_the_set_run) {
  outcome o = enforce([] { return syscall(SYS_getppid) > 0 && syscall(SYS_getpid) > 0 ? 0 : 1; });
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.err, "");
}

TEST(lockdown, a_call_outside_the_set_ends_the_process_with_a_report) {
  outcome o = enforce([] { return static_cast<int>(syscall(SYS_ptrace, 0x4206L, 4711L, 0L, 0L)); });
  EXPECT_EQ(o.status, kExitSyscall) << o.err;
  EXPECT_NE(o.err.find("made a system call outside its set: ptrace(PTRACE_SEIZE, 4711, 0x0, 0x0)"), std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("(pid "), std::string::npos) << o.err;
}

TEST(lockdown, arguments_are_checked) {
  // No new executable memory.
  outcome o = enforce([] {
    return mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED;
  });
  EXPECT_EQ(o.status, kExitSyscall);
  EXPECT_NE(o.err.find("mmap(0, 4096, PROT_READ|PROT_EXEC"), std::string::npos) << o.err;
  o = enforce([] {
    static char page[8192] __attribute__((aligned(4096)));
    return mprotect(page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
  });
  EXPECT_EQ(o.status, kExitSyscall) << o.err;
  o = enforce([] { return mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED; });
  EXPECT_EQ(o.status, 0) << o.err;
  // clone only for threads: fork is refused, clone3 says ENOSYS (glibc then uses clone).
  o = enforce([] { return static_cast<int>(fork()); });
  EXPECT_EQ(o.status, kExitSyscall) << o.err;
  EXPECT_NE(o.err.find("clone("), std::string::npos) << o.err;
  o = enforce([] { return syscall(SYS_clone3, nullptr, 0L) == -1 && errno == ENOSYS ? 0 : 1; });
  EXPECT_EQ(o.status, 0) << o.err;
  // Signals to itself only.
  o = enforce([] { return static_cast<int>(syscall(SYS_tgkill, 1L, 1L, 0L)); });
  EXPECT_EQ(o.status, kExitSyscall) << o.err;
  o = enforce(
      [] {
        siginfo_t info{};
        info.si_code = SI_QUEUE;
        return static_cast<int>(syscall(SYS_rt_tgsigqueueinfo, 1L, 1L, 0L, &info));
      },
      {"rt_tgsigqueueinfo"});
  EXPECT_EQ(o.status, kExitSyscall) << o.err;
  EXPECT_NE(o.err.find("rt_tgsigqueueinfo("), std::string::npos) << o.err;
  // Socket families: AF_INET allowed, AF_UNIX not.
  const std::uint64_t inet = 1ull << AF_INET;
  o = enforce([] { return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1; }, {"socket"}, inet);
  EXPECT_EQ(o.status, 0) << o.err;
  o = enforce([] { return socket(AF_UNIX, SOCK_STREAM, 0); }, {"socket"}, inet);
  EXPECT_EQ(o.status, kExitSyscall) << o.err;
  EXPECT_NE(o.err.find("socket(AF_UNIX"), std::string::npos) << o.err;
}

// An image whose program may fork (it runs one, and every compartment is `isolation: none`): glibc's fork
// gets through, as the loader makes it for the program; any other clone that is no thread does not.
TEST(lockdown, an_image_whose_program_forks_lets_glibcs_fork_through_and_no_other_clone) {
  auto in_forking_image = [](const std::function<int()> &body) {
    return in_locked_child({"wait4"}, 0, FLEX_LOCKDOWN_ENFORCE, body, "test", {}, "/bin/true");
  };
  outcome o = in_forking_image([] {
    const pid_t child = fork();
    if (child == 0) _exit(7);
    int st = 0;
    return child > 0 && waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : 1;
  });
  EXPECT_EQ(o.status, 0) << o.err;
  o = in_forking_image([] { return static_cast<int>(syscall(SYS_clone, long{CLONE_FS | SIGCHLD}, 0L, 0L, 0L, 0L)); });
  EXPECT_EQ(o.status, kExitSyscall) << o.err;
  EXPECT_NE(o.err.find("clone("), std::string::npos) << o.err;
}

TEST(lockdown, foreign_system_call_abis_are_refused) {
  outcome o = enforce([] {
    long ret;
    asm volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    return 0;
  });
  EXPECT_EQ(o.status, kExitSyscall) << o.err;
  EXPECT_NE(o.err.find("an i386 system call (int 0x80) number 20"), std::string::npos) << o.err;
  o = enforce([] { return static_cast<int>(syscall(0x40000000L | SYS_getpid)); });
  EXPECT_EQ(o.status, kExitSyscall) << o.err;
}

TEST(lockdown, privileges_are_gone_and_the_process_is_not_dumpable) {
  outcome o = enforce([] {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2] = {};
    if (syscall(SYS_capget, &h, d) != 0) return 10;
    if (d[0].effective || d[0].permitted || d[1].effective || d[1].permitted) return 11;
    if (prctl(PR_GET_DUMPABLE) != 0) return 12;
    if (const int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); nnp != 1) return nnp < 0 ? 30 + errno % 20 : 13;
    if (prctl(PR_SET_DUMPABLE, 1) != -1 || errno != EPERM) return 14;  // refused quietly
    return 0;
  }, {"capget"});
  EXPECT_EQ(o.status, 0) << o.err;
}

// Without Landlock nothing keeps /proc/self/mem from an mpk domain that may open files: such an image is
// refused, naming the domain; with Landlock, or with the domains in processes of their own, it is not.
TEST(lockdown, an_mpk_domain_that_opens_files_needs_landlock) {
  const int quiet[] = {SYS_write, SYS_getpid};
  const int files[] = {SYS_write, SYS_openat};
  flex_compartment_layout comps[2] = {};
  comps[0].name = "app";
  comps[0].isolation = FLEX_ISO_MPK;
  comps[0].syscalls = quiet;
  comps[0].n_syscalls = 2;
  comps[1].name = "fs";
  comps[1].isolation = FLEX_ISO_MPK;
  comps[1].syscalls = files;
  comps[1].n_syscalls = 2;
  flex_image_layout img{};
  img.n_compartments = 2;
  img.compartments = comps;
  img.lockdown = FLEX_LOCKDOWN_ENFORCE;
  const char *named = mpk_domain_opening_files_without_landlock(img, 0);
  ASSERT_NE(named, nullptr);
  EXPECT_STREQ(named, "fs");
  EXPECT_EQ(mpk_domain_opening_files_without_landlock(img, 1), nullptr);  // Landlock takes /proc away
  comps[1].syscalls = quiet;
  EXPECT_EQ(mpk_domain_opening_files_without_landlock(img, 0), nullptr);  // nobody opens files
  comps[1].syscalls = files;
  comps[1].isolation = FLEX_ISO_PROCESS;  // its own address space: /proc/self/mem holds only its memory
  EXPECT_EQ(mpk_domain_opening_files_without_landlock(img, 0), nullptr);
  comps[1].isolation = FLEX_ISO_NONE;  // one domain beside a none compartment: still a wall to keep
  EXPECT_STREQ(mpk_domain_opening_files_without_landlock(img, 0), "fs");
}

TEST(lockdown, landlock_keeps_files_out_of_reach) {
  if (landlock_abi() == 0) GTEST_SKIP() << "this kernel has no Landlock";
  outcome o = enforce([] {
    if (open("/etc/hostname", O_RDONLY) >= 0) return 20;
    if (errno != EACCES) return 21;
    if (open("/proc/self/maps", O_RDONLY) < 0) return 22;  // its own entries stay readable
    return 0;
  }, {"openat"});
  EXPECT_EQ(o.status, 0) << o.err;
}

// The process hosting hostfs reaches the host directories named at boot (here FLEX_MOUNTS's) from its
// lockdown on, and nothing else: hostfs's mounts must lie beneath them.
TEST(lockdown, hostfs_confines_its_process_to_the_directories_named_at_boot) {
  if (landlock_abi() == 0) GTEST_SKIP() << "this kernel has no Landlock";
  char dir[] = "/tmp/flex-lockdown-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string inner = std::string(dir) + "/inner";
  ASSERT_EQ(mkdir(inner.c_str(), 0700), 0);
  const std::string mounts = std::string("/data=") + dir;
  auto probe = [&] {
    if (open("/etc/hostname", O_RDONLY | O_CLOEXEC) >= 0) return 30;  // before any mount: nothing else
    if (errno != EACCES) return 31;
    const int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0 || flex_lockdown_files_beneath(root) != 0) return 32;
    if (openat(root, "saved.rdb", O_CREAT | O_WRONLY | O_CLOEXEC, 0600) < 0) return 33;  // its own files
    if (open("/proc/self/maps", O_RDONLY | O_CLOEXEC) < 0) return 34;  // the reporter's entries stay
    const int outer = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (outer < 0 || flex_lockdown_files_beneath(outer) != -EACCES) return 35;  // a wider mount: refused
    const int sub = openat(root, "inner", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (sub < 0 || flex_lockdown_files_beneath(sub) != 0) return 36;  // one beneath it: fine
    return 0;
  };
  const auto named = [&] { return setenv("FLEX_MOUNTS", mounts.c_str(), 1); };
  outcome o = in_locked_child({"openat"}, 0, FLEX_LOCKDOWN_ENFORCE, probe, "hostfs", named);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.err.find("flex: hostfs cannot mount a directory outside the host directories named at boot "
                       "(FLEX_MOUNTS): name it there to mount it"),
            std::string::npos)
      << o.err;
  // Named nowhere: no directory at all, so no mount either.
  o = in_locked_child({"openat"}, 0, FLEX_LOCKDOWN_ENFORCE, [&] {
    const int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return root >= 0 && flex_lockdown_files_beneath(root) == -EACCES ? 0 : 40;
  }, "hostfs", [] { return unsetenv("FLEX_MOUNTS"); });
  EXPECT_EQ(o.status, 0) << o.err;
  // The same steps with the defence off: /etc stays readable.
  const pid_t pid = fork();
  if (pid == 0) _exit(probe());
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 30) << "an unconfined process reads /etc";
  std::string cleanup = std::string("rm -rf ") + dir;
  EXPECT_EQ(std::system(cleanup.c_str()), 0);
}

// Where the directories come from: the app's option as its command line has it (the last one, either
// form), else its default; and every HOSTDIR of FLEX_MOUNTS.
TEST(lockdown, hostfs_boot_dirs_reads_the_apps_option_and_flex_mounts) {
  flex_image_layout img{};
  const std::vector<std::string> none = {"image", "--port", "6379"};
  EXPECT_TRUE(hostfs_boot_dirs(img, none, nullptr).empty());
  img.hostfs_dir_option = "--dir";
  EXPECT_TRUE(hostfs_boot_dirs(img, none, nullptr).empty());  // no default: no directory
  img.hostfs_dir_default = ".";
  EXPECT_EQ(hostfs_boot_dirs(img, none, nullptr), std::vector<std::string>{"."});
  EXPECT_EQ(hostfs_boot_dirs(img, {"image", "--dir", "/srv/a", "--port", "1"}, nullptr),
            std::vector<std::string>{"/srv/a"});
  EXPECT_EQ(hostfs_boot_dirs(img, {"image", "--dir", "/srv/a", "--dir=/srv/b"}, nullptr),
            std::vector<std::string>{"/srv/b"});
  EXPECT_EQ(hostfs_boot_dirs(img, {"image", "--dir=/srv/b", "--dir", "rel"}, nullptr),
            std::vector<std::string>{"rel"});
  // argv[0] is the image, and an option with no value after it names nothing.
  EXPECT_EQ(hostfs_boot_dirs(img, {"--dir", "x", "--dir"}, nullptr), std::vector<std::string>{"."});
  // --directory is another option.
  EXPECT_EQ(hostfs_boot_dirs(img, {"image", "--directory", "x"}, nullptr), std::vector<std::string>{"."});
  img.hostfs_dir_option = nullptr;
  EXPECT_EQ(hostfs_boot_dirs(img, none, "/data=/srv/kv,bad,/www=/srv/www,=x,/y="),
            (std::vector<std::string>{"/srv/kv", "/srv/www"}));
}

TEST(lockdown, layout_spans_are_page_rounded_sorted_and_merged) {
  using lockdown_detail::layout_span;
  const std::vector<layout_span> got =
      lockdown_detail::merge_spans({{0x5000, 0x5001}, {0x1100, 0x1f00}, {0x2000, 0x3000}, {0x9000, 0x9000}});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].lo, 0x1000u);  // [0x1000, 0x2000) touches [0x2000, 0x3000)
  EXPECT_EQ(got[0].hi, 0x3000u);
  EXPECT_EQ(got[1].lo, 0x5000u);
  EXPECT_EQ(got[1].hi, 0x6000u);  // the empty span is gone
}

// The layout wall for real: a child protects two pages of a three-page mapping, then tries each call.
TEST(lockdown, the_layout_wall_keeps_laid_out_memory_from_every_remapping_call) {
  struct probe {
    const char *what;
    std::function<long(char *)> call;  // given the mapping: page 0 free, pages 1-2 laid out
    bool refused;
  };
  const std::vector<probe> probes = {
      {"munmap of a laid-out page", [](char *m) { return munmap(m + 4096, 4096); }, true},
      {"munmap reaching into it from below", [](char *m) { return munmap(m, 8192); }, true},
      {"munmap of the free page", [](char *m) { return munmap(m, 4096); }, false},
      {"madvise(DONTNEED) on it", [](char *m) { return madvise(m + 8192, 4096, MADV_DONTNEED); }, true},
      {"mmap(MAP_FIXED) over it",
       [](char *m) {
         return reinterpret_cast<long>(
             mmap(m + 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
       },
       true},
      {"mmap(MAP_FIXED) on the free page",
       [](char *m) {
         return reinterpret_cast<long>(
                    mmap(m, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)) == -1;
       },
       false},
      {"mremap moving it away", [](char *m) { return reinterpret_cast<long>(mremap(m + 4096, 4096, 4096, MREMAP_MAYMOVE)); },
       true},
      {"mremap duplicating it (old size 0)",
       [](char *m) { return reinterpret_cast<long>(mremap(m + 8192, 0, 4096, MREMAP_MAYMOVE)); }, true},
      {"mremap of the free page onto it",
       [](char *m) {
         return reinterpret_cast<long>(mremap(m, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, m + 4096));
       },
       true},
      {"a huge length from low memory", [](char *) { return munmap(reinterpret_cast<void *>(4096), 1ul << 47); }, true},
      {"a fresh anonymous mapping",
       [](char *) {
         return reinterpret_cast<long>(mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == -1;
       },
       false},
      {"mprotect making a laid-out page writable", [](char *m) { return mprotect(m + 4096, 4096, PROT_READ | PROT_WRITE); },
       true},
      {"mprotect reaching from a stack page into the rest",
       [](char *m) { return mprotect(m + 4096, 8192, PROT_READ | PROT_WRITE); }, true},
      {"mprotect of a stack page (the runtime commits stacks)",
       [](char *m) { return mprotect(m + 8192, 4096, PROT_READ | PROT_WRITE) == 0 ? 0L : 70L; }, false},
      {"mprotect removing rights", [](char *m) { return mprotect(m + 4096, 4096, PROT_READ) == 0 ? 0L : 71L; }, false},
      {"mprotect of the free page", [](char *m) { return mprotect(m, 4096, PROT_READ | PROT_WRITE) == 0 ? 0L : 72L; },
       false},
      {"mapping a file",
       [](char *) {
         const int fd = static_cast<int>(syscall(SYS_memfd_create, "probe", 0));
         return fd < 0 || ftruncate(fd, 4096) != 0 ? 50L
                                                     : reinterpret_cast<long>(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0));
       },
       true},
  };
  for (const probe &pr : probes) {
    char *m = nullptr;
    auto wall = [&] {  // before the main filter, which refuses seccomp itself
      m = static_cast<char *>(mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      if (m == MAP_FAILED) return 60;
      const auto lo = reinterpret_cast<std::uint64_t>(m) + 4096;
      // Pages 1-2 laid out; page 2 also a stack arena's.
      return lockdown_detail::install_layout_wall(lockdown_detail::merge_spans({{lo, lo + 8192}}),
                                                  lockdown_detail::merge_spans({{lo + 4096, lo + 8192}}))
                     .ok()
                 ? 0
                 : 61;
    };
    outcome o = in_locked_child({"memfd_create", "ftruncate"}, 0, FLEX_LOCKDOWN_ENFORCE, [&] {
      const long rc = pr.call(m);
      return !pr.refused && rc >= 70 && rc < 80 ? static_cast<int>(rc) : 0;
    }, "test", wall);
    if (pr.refused) {
      EXPECT_EQ(o.status, kExitSyscall) << pr.what << ": " << o.err;
      const bool named = o.err.find("on memory the image laid out at boot: ") != std::string::npos ||
                         o.err.find("mapping a file after boot: ") != std::string::npos;
      EXPECT_TRUE(named) << pr.what << ": " << o.err;
    } else {
      EXPECT_EQ(o.status, 0) << pr.what << ": " << o.err;
    }
  }
}

// pkey_mprotect pinned to one site (the mpk system-call wall's tagging of fresh memory, mpk_pkey_site):
// made there it passes the layout filter; made anywhere else (libc's syscall()) it is refused. Without the
// pin the filter has no rule for it: the same call passes, so the test sees the pin at work.
extern "C" long flex_test_pkey_tag(long, long, long, long);
extern "C" const char flex_test_pkey_site[];
asm(R"(
  .text
  .globl flex_test_pkey_tag
  .type flex_test_pkey_tag,@function
flex_test_pkey_tag:
  mov %rcx, %r10
  mov $329, %eax
  syscall
  .globl flex_test_pkey_site
flex_test_pkey_site:
  ret
  .size flex_test_pkey_tag, .-flex_test_pkey_tag
)");

TEST(lockdown, the_layout_wall_lets_pkey_mprotect_through_at_its_pinned_site_only) {
  for (const bool pinned : {true, false}) {
    const pid_t pid = fork();
    if (pid == 0) {
      void *page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (page == MAP_FAILED) _exit(60);
      std::vector<mpk_sud_site> pins;
      if (pinned) pins.push_back({reinterpret_cast<std::uint64_t>(flex_test_pkey_site), SYS_pkey_mprotect});
      if (!lockdown_detail::install_layout_wall({}, {}, nullptr, pins).ok()) _exit(61);
      const long addr = reinterpret_cast<long>(page);
      if (flex_test_pkey_tag(addr, 4096, PROT_READ, -1) != 0) _exit(62);  // key -1: the key stays
      syscall(SYS_pkey_mprotect, addr, 4096L, static_cast<long>(PROT_READ), -1L);
      _exit(63);  // the second call went through
    }
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    if (pinned) {
      EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) << "status " << st;
    } else {
      EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 63) << "status " << st;
    }
  }
}

TEST(lockdown, log_mode_reports_and_lets_the_call_run) {
  outcome o = in_locked_child({}, 0, FLEX_LOCKDOWN_LOG, [] {
    return syscall(SYS_getuid) == static_cast<long>(getuid()) ? 0 : 1;  // getuid is in no set
  });
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.err.find("flex: lockdown log: compartment 'probe'"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("made a system call outside its set: getuid("), std::string::npos) << o.err;
}

TEST(lockdown, the_filter_is_off_under_lockdown_off) {
  // `off` never reaches lockdown_process (boot skips it); the lifecycle's boot is a no-op.
  flex_image_layout img{};
  img.lockdown = FLEX_LOCKDOWN_OFF;
  boot_context ctx{img};
  EXPECT_TRUE(lockdown_lifecycle::check(img).ok());
  EXPECT_TRUE(lockdown_lifecycle::boot(ctx).ok());
  EXPECT_EQ(prctl(PR_GET_SECCOMP), 0);  // this test process itself was not filtered
}

}  // namespace
}  // namespace flex::runtime
