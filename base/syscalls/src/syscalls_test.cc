// The system-call names, the never-allowed list and the runtime's needs agree with the kernel's table.
#include "flex/syscalls/syscalls.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <string>

namespace flex::syscalls {
namespace {

TEST(syscalls, names_and_numbers_are_the_kernels) {
  EXPECT_EQ(number("read"), SYS_read);
  EXPECT_EQ(number("ptrace"), SYS_ptrace);
  EXPECT_EQ(number("process_vm_readv"), SYS_process_vm_readv);
  EXPECT_EQ(number("no_such_call"), -1);
  EXPECT_EQ(number(""), -1);
  EXPECT_EQ(name(SYS_openat), "openat");
  EXPECT_EQ(name(SYS_pkey_mprotect), "pkey_mprotect");
  EXPECT_EQ(name(100000), "");
}

TEST(syscalls, every_forbidden_and_needed_name_exists) {
  for (const forbidden_call &f : never_allowed_calls()) {
    EXPECT_GE(number(f.name), 0) << f.name;
    EXPECT_FALSE(f.why.empty()) << f.name;
  }
  for (std::string_view s : sanitizer_needs()) EXPECT_GE(number(s), 0) << s;
  for (std::string_view s : loader_needs()) EXPECT_GE(number(s), 0) << s;
  for (process_kind k : {process_kind::any, process_kind::supervisor, process_kind::compartment}) {
    for (std::string_view s : runtime_needs(k)) {
      EXPECT_GE(number(s), 0) << s;
      EXPECT_TRUE(never_allowed(s).empty()) << s << " is needed by the runtime yet never allowed";
    }
  }
}

TEST(syscalls, the_attacks_of_the_threat_model_are_never_allowed) {
  for (std::string_view s : {"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "bpf",
                             "io_uring_setup", "perf_event_open", "seccomp", "unshare", "mount",
                             "personality", "modify_ldt", "pkey_mprotect", "userfaultfd", "kcmp"}) {
    EXPECT_FALSE(never_allowed(s).empty()) << s;
  }
  EXPECT_TRUE(never_allowed("read").empty());
  EXPECT_TRUE(never_allowed("socket").empty());
}

TEST(syscalls, socket_families_by_name) {
  EXPECT_EQ(socket_family("AF_INET"), AF_INET);
  EXPECT_EQ(socket_family("AF_INET6"), AF_INET6);
  EXPECT_EQ(socket_family("AF_BOGUS"), -1);
  EXPECT_EQ(socket_family_name(AF_UNIX), "AF_UNIX");
  EXPECT_EQ(socket_family_name(12345), "");
}

TEST(syscalls, the_name_table_needs_no_allocation_once_filled) {
  EXPECT_EQ(name_of(SYS_read), nullptr);  // not filled yet
  name_table_init();
  ASSERT_NE(name_of(SYS_ptrace), nullptr);
  EXPECT_EQ(std::string(name_of(SYS_ptrace)), "ptrace");
  EXPECT_EQ(name_of(-1), nullptr);
  EXPECT_EQ(name_of(kMaxSyscall), nullptr);
}

}  // namespace
}  // namespace flex::syscalls
