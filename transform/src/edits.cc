#include "flex/transform/edits.h"

#include <algorithm>

namespace flex::transform {

unsigned count_newlines(std::string_view text) {
  return static_cast<unsigned>(std::count(text.begin(), text.end(), '\n'));
}

std::string keep_lines(std::string replacement, std::string_view original) {
  unsigned have = count_newlines(replacement), need = count_newlines(original);
  if (need > have) replacement.append(need - have, '\n');
  return replacement;
}

std::string keep_layout(std::string_view dropped) {
  std::size_t last = dropped.rfind('\n');
  if (last == std::string_view::npos) return {};
  std::string out(count_newlines(dropped), '\n');
  std::string_view tail = dropped.substr(last + 1);
  std::size_t indent = tail.find_first_not_of(" \t");
  out += tail.substr(0, indent == std::string_view::npos ? tail.size() : indent);
  return out;
}

void edit_list::add(text_edit edit) {
  auto after = std::upper_bound(edits_.begin(), edits_.end(), edit.offset,
                                [](unsigned offset, const text_edit &e) { return offset < e.offset; });
  // The same rewrite of the same text again: a macro that expands its argument more than once (FD_SET)
  // shows the rewriter one spelling several times. It is rewritten once.
  if (after != edits_.begin() && std::prev(after)->offset == edit.offset && std::prev(after)->length == edit.length &&
      std::prev(after)->replacement == edit.replacement) {
    return;
  }
  bool overlaps_before =
      after != edits_.begin() && std::prev(after)->offset + std::prev(after)->length > edit.offset;
  bool overlaps_after = after != edits_.end() && edit.offset + edit.length > after->offset;
  // Two insertions at one offset would have an unspecified order: a conflict as well.
  bool same_point = after != edits_.begin() && std::prev(after)->offset == edit.offset;
  if (overlaps_before || overlaps_after || same_point) {
    conflicts_.push_back(std::move(edit));
    return;
  }
  edits_.insert(after, std::move(edit));
}

std::string edit_list::apply(std::string_view original) const {
  std::string out;
  out.reserve(original.size());
  std::size_t pos = 0;
  for (const text_edit &edit : edits_) {
    out.append(original.substr(pos, edit.offset - pos));
    out += edit.replacement;
    pos = edit.offset + edit.length;
  }
  out.append(original.substr(std::min(pos, original.size())));
  return out;
}

}  // namespace flex::transform
