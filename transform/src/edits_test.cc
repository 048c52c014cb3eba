#include "flex/transform/edits.h"

#include <gtest/gtest.h>

namespace flex::transform {
namespace {

TEST(keep_lines, pads_with_the_missing_newlines) {
  EXPECT_EQ(keep_lines("f(a, b)", "gate(l,\n f,\n a, b)"), "f(a, b)\n\n");
  EXPECT_EQ(keep_lines("f(a,\n b)", "gate(l, f, a,\n b)"), "f(a,\n b)");
  EXPECT_EQ(keep_lines("", "x"), "");
}

TEST(keep_layout, keeps_line_breaks_and_the_last_indentation) {
  EXPECT_EQ(keep_layout("flexos_gate(libnet, "), "");
  EXPECT_EQ(keep_layout("flexos_gate(libnet,\n    "), "\n    ");
  EXPECT_EQ(keep_layout("a\n\n\t x"), "\n\n\t ");
}

TEST(edit_list, applies_edits_in_offset_order) {
  edit_list edits;
  edits.add({.offset = 6, .length = 1, .replacement = "world"});
  edits.add({.offset = 0, .length = 5, .replacement = "hi"});
  EXPECT_EQ(edits.conflict(), nullptr);
  EXPECT_EQ(edits.apply("hello W!"), "hi world!");
}

TEST(edit_list, keeps_overlaps_aside_as_conflicts) {
  edit_list edits;
  edits.add({.offset = 2, .length = 4, .replacement = "x"});
  edits.add({.offset = 4, .length = 4, .replacement = "y"});  // overlaps the first
  edits.add({.offset = 2, .length = 0, .replacement = "z"});  // same point as the first
  ASSERT_NE(edits.conflict(), nullptr);
  EXPECT_EQ(edits.conflict()->replacement, "y");
  EXPECT_EQ(edits.apply("0123456789"), "01x6789");
}

TEST(edit_list, the_same_edit_twice_is_one_edit) {
  edit_list edits;
  edits.add({.offset = 2, .length = 2, .replacement = "xy"});
  edits.add({.offset = 2, .length = 2, .replacement = "xy"});  // a macro argument expanded twice
  EXPECT_EQ(edits.conflict(), nullptr);
  EXPECT_EQ(edits.apply("0123"), "01xy");
  edits.add({.offset = 2, .length = 2, .replacement = "zz"});  // another rewrite of it: a conflict
  ASSERT_NE(edits.conflict(), nullptr);
}

TEST(edit_list, adjacent_edits_do_not_conflict) {
  edit_list edits;
  edits.add({.offset = 0, .length = 2, .replacement = "a"});
  edits.add({.offset = 2, .length = 2, .replacement = "b"});
  EXPECT_EQ(edits.conflict(), nullptr);
  EXPECT_EQ(edits.apply("1234"), "ab");
}

}  // namespace
}  // namespace flex::transform
