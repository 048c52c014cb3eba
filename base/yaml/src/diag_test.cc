#include "flex/yaml/diag.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace flex::yaml {
namespace {

namespace fs = std::filesystem;

// A file under a fresh temporary folder, removed with the test.
class diag_file : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flex_diag_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string &name, const std::string &text) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

  fs::path dir_;
};

TEST(diag_render, header_and_hint_without_source) {
  diagnostic d{severity::error,
               {"profiles/x.yaml", 7, 5},
               "unknown key 'isolaton' in a compartment",
               "did you mean 'isolation'?"};
  EXPECT_EQ(render(d, false),
            "profiles/x.yaml:7:5: error: unknown key 'isolaton' in a compartment\n"
            "  hint: did you mean 'isolation'?\n");
}

TEST(diag_render, no_hint_line_when_hint_is_empty) {
  diagnostic d{severity::warning, {"a.yaml", 2, 1}, "something odd", ""};
  EXPECT_EQ(render(d, false), "a.yaml:2:1: warning: something odd\n");
}

TEST(diag_render, whole_file_and_line_only_positions) {
  EXPECT_EQ(render({severity::error, {"lib.yaml", 0, 0}, "lib.yaml is empty", ""}),
            "lib.yaml: error: lib.yaml is empty\n");
  EXPECT_EQ(render({severity::note, {"lib.yaml", 3, 0}, "here", ""}, false), "lib.yaml:3: note: here\n");
}

TEST(diag_render, unreadable_file_gives_no_source_line) {
  diagnostic d{severity::error, {"/nonexistent/flex/p.yaml", 1, 1}, "bad", "fix it"};
  EXPECT_EQ(render(d), "/nonexistent/flex/p.yaml:1:1: error: bad\n  hint: fix it\n");
}

TEST_F(diag_file, source_line_and_caret_under_the_column) {
  std::string file = write("p.yaml", "name: x\ncompartments:\n  - name: app\n    isolaton: none\n");
  diagnostic d{
      severity::error, {file, 4, 5}, "unknown key 'isolaton' in a compartment", "did you mean 'isolation'?"};
  EXPECT_EQ(render(d), file + ":4:5: error: unknown key 'isolaton' in a compartment\n" +
                           "    isolaton: none\n"
                           "    ^\n"
                           "  hint: did you mean 'isolation'?\n");
}

TEST_F(diag_file, caret_keeps_tabs_and_clamps_past_the_end) {
  std::string file = write("t.yaml", "\tab: 1\r\nxy\n");
  EXPECT_EQ(render({severity::error, {file, 1, 2}, "m", ""}), file + ":1:2: error: m\n\tab: 1\n\t^\n");
  EXPECT_EQ(render({severity::error, {file, 2, 40}, "m", ""}), file + ":2:40: error: m\nxy\n  ^\n");
}

TEST_F(diag_file, line_past_the_end_of_the_file_gives_no_source_line) {
  std::string file = write("short.yaml", "a: 1\n");
  EXPECT_EQ(render({severity::error, {file, 9, 1}, "m", ""}), file + ":9:1: error: m\n");
}

TEST(diag_sink, counts_errors_only) {
  diag_sink sink;
  EXPECT_FALSE(sink.has_errors());
  sink.warning({"f", 1, 1}, "w");
  sink.note({"f", 1, 1}, "n");
  EXPECT_FALSE(sink.has_errors());
  sink.error({"f", 2, 3}, "e", "h");
  EXPECT_TRUE(sink.has_errors());
  EXPECT_EQ(sink.error_count(), 1);
  ASSERT_EQ(sink.all().size(), 3u);
  EXPECT_EQ(sink.all()[0].level, severity::warning);
  EXPECT_EQ(sink.all()[1].level, severity::note);
  EXPECT_EQ(sink.all()[2].level, severity::error);
  EXPECT_EQ(sink.all()[2].pos.line, 2);
  EXPECT_EQ(sink.all()[2].pos.column, 3);
  EXPECT_EQ(sink.all()[2].hint, "h");
}

TEST(diag_sink, print_writes_every_diagnostic_in_order) {
  diag_sink sink;
  sink.error({"/nonexistent/a.yaml", 1, 2}, "first", "do this");
  sink.note({"/nonexistent/a.yaml", 3, 4}, "second");
  std::FILE *out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  sink.print(out);
  std::rewind(out);
  std::string text;
  char buf[256];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, out)) text.append(buf, n);
  std::fclose(out);
  EXPECT_EQ(text,
            "/nonexistent/a.yaml:1:2: error: first\n  hint: do this\n"
            "/nonexistent/a.yaml:3:4: note: second\n");
}

TEST(edit_distance, levenshtein) {
  EXPECT_EQ(edit_distance("", ""), 0);
  EXPECT_EQ(edit_distance("abc", ""), 3);
  EXPECT_EQ(edit_distance("", "abc"), 3);
  EXPECT_EQ(edit_distance("isolaton", "isolation"), 1);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3);
  EXPECT_EQ(edit_distance("mkp", "mpk"), 2);
  EXPECT_EQ(edit_distance("same", "same"), 0);
}

TEST(nearest, finds_plausible_typos) {
  std::vector<std::string> keys = {"name", "isolation", "hardening", "libraries", "default"};
  EXPECT_EQ(nearest("isolaton", keys), "isolation");
  EXPECT_EQ(nearest("hardenning", keys), "hardening");
  EXPECT_EQ(nearest("library", keys), "libraries");
  EXPECT_EQ(nearest("Default", keys), "default");
  EXPECT_EQ(nearest("mkp", {"none", "mpk", "process"}), "mpk");
  EXPECT_EQ(nearest("stack_protector", {"asan", "stack-protector"}), "stack-protector");
}

TEST(nearest, rejects_unrelated_words) {
  std::vector<std::string> keys = {"name", "isolation", "hardening", "libraries", "default"};
  EXPECT_EQ(nearest("colour", keys), "");
  EXPECT_EQ(nearest("x", {"net", "app"}), "");
  EXPECT_EQ(nearest("kvm", {"none", "mpk", "process"}), "");
  EXPECT_EQ(nearest("", keys), "");
  EXPECT_EQ(nearest("name", {}), "");
}

TEST(nearest, prefers_the_closest_then_the_first) {
  EXPECT_EQ(nearest("nett", {"net", "nettle"}), "net");
  EXPECT_EQ(nearest("ab", {"abc", "abd"}), "abc");
}

}  // namespace
}  // namespace flex::yaml
