// Text edits of one source, applied to produce its transformed copy. Every rewriter keeps the line count
// of what it replaces, so the copy (which starts with `#line 1 "<original>"`) maps every line to the same
// line of the original and compiler errors point at the original file and line.
//
// Usage:
//   edit_list edits;
//   edits.add({.offset = 120, .length = 48, .replacement = keep_lines("rc = net_recv(fd)", original)});
//   if (const text_edit *clash = edits.conflict()) report it;
//   std::string copy = edits.apply(buffer);
#pragma once

#include <clang/Basic/SourceLocation.h>

#include <string>
#include <string_view>
#include <vector>

namespace flex::transform {

// Replace [offset, offset + length) of the original text by `replacement`.
struct text_edit {
  unsigned offset = 0;
  unsigned length = 0;
  std::string replacement;
  clang::SourceLocation loc{};  // what the edit rewrites, for diagnostics
};

unsigned count_newlines(std::string_view text);

// `replacement` followed by the newlines of `original` it lacks, so it spans as many lines.
std::string keep_lines(std::string replacement, std::string_view original);

// What remains of text that a rewrite drops: its line breaks, and the indentation after the last one,
// so the text after it stays on its line (and column). Empty when `dropped` is on one line.
std::string keep_layout(std::string_view dropped);

class edit_list {
 public:
  // Adds an edit; an edit overlapping one already added is kept aside as a conflict, and one identical to
  // an edit already added (the same text rewritten the same way, seen through a macro twice) is dropped.
  void add(text_edit edit);

  // The first edit that overlapped an earlier one, or nullptr.
  const text_edit *conflict() const { return conflicts_.empty() ? nullptr : &conflicts_.front(); }

  // The text with every (non-conflicting) edit applied.
  std::string apply(std::string_view original) const;

 private:
  std::vector<text_edit> edits_;  // sorted by offset, disjoint
  std::vector<text_edit> conflicts_;
};

}  // namespace flex::transform
