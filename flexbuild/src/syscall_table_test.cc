// The libc-function -> system-call table: the tree's own file, and the parser's checks on small ones.
#include "flex/build/syscall_table.h"

#include <gtest/gtest.h>

#include "flex/syscalls/syscalls.h"

namespace flex::build {
namespace {

TEST(syscall_table, the_tree_table_loads_and_names_only_real_system_calls) {
  yaml::diag_sink diags;
  auto table = syscall_table::load(default_syscall_table(), diags);
  ASSERT_TRUE(table.has_value()) << (diags.all().empty() ? "" : render(diags.all().front()));
  EXPECT_FALSE(diags.has_errors());
  EXPECT_GT(table->all().size(), 100u);
  for (const auto &[name, fn] : table->all()) {
    EXPECT_GT(fn.line, 0) << name;
    for (const std::string &call : fn.calls) EXPECT_GE(flex::syscalls::number(call), 0) << name << ": " << call;
  }
  // A few entries every reader of the table would check first.
  ASSERT_NE(table->find("socket"), nullptr);
  EXPECT_EQ(table->find("socket")->calls, std::vector<std::string>{"socket"});
  ASSERT_NE(table->find("recv"), nullptr);
  EXPECT_EQ(table->find("recv")->calls, std::vector<std::string>{"recvfrom"});
  ASSERT_NE(table->find("strlen"), nullptr);
  EXPECT_TRUE(table->find("strlen")->calls.empty());
  ASSERT_NE(table->find("nanosleep"), nullptr);
  EXPECT_EQ(table->find("nanosleep")->calls, std::vector<std::string>{"clock_nanosleep"});
}

TEST(syscall_table, a_name_the_kernel_lacks_is_an_error_at_its_line) {
  yaml::diag_sink diags;
  auto table = syscall_table::parse("t.yaml", "strlen: []\nfstat: [fstat, stat64]\n", diags);
  EXPECT_FALSE(table.has_value());
  ASSERT_EQ(diags.error_count(), 1);
  const yaml::diagnostic &d = diags.all().front();
  EXPECT_EQ(d.pos.line, 2);
  EXPECT_NE(d.message.find("'stat64' is not a system call"), std::string::npos) << d.message;
}

TEST(syscall_table, anchors_give_several_functions_one_set_sorted_once) {
  yaml::diag_sink diags;
  auto table = syscall_table::parse("t.yaml", "printf: &out [write, ioctl, write]\nputs: *out\n", diags);
  ASSERT_TRUE(table.has_value());
  const std::vector<std::string> expected = {"ioctl", "write"};
  EXPECT_EQ(table->find("printf")->calls, expected);
  EXPECT_EQ(table->find("puts")->calls, expected);
  EXPECT_EQ(table->find("puts")->line, 2);
  EXPECT_EQ(table->find("fopen"), nullptr);
}

TEST(syscall_table, a_function_listed_twice_or_a_map_for_a_list_is_an_error) {
  yaml::diag_sink diags;
  EXPECT_FALSE(syscall_table::parse("t.yaml", "write: [write]\nwrite: [write]\n", diags).has_value());
  yaml::diag_sink other;
  EXPECT_FALSE(syscall_table::parse("t.yaml", "write: {a: b}\n", other).has_value());
  yaml::diag_sink none;
  EXPECT_FALSE(syscall_table::load("/no/such/table.yaml", none).has_value());
  EXPECT_TRUE(none.has_errors());
}

}  // namespace
}  // namespace flex::build
