#include "flex/transform/whitelist_rewriter.h"

#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>

#include <algorithm>
#include <cctype>

namespace flex::transform {
namespace {

bool is_word(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool is_attribute_keyword(const clang::Token &tok) {
  return tok.is(clang::tok::raw_identifier) &&
         (tok.getRawIdentifier() == "__attribute__" || tok.getRawIdentifier() == "__attribute");
}

}  // namespace

whitelist_stripper::whitelist_stripper(const clang::SourceManager &sm, const clang::LangOptions &lang_opts)
    : sm_(sm), buffer_(sm.getBufferData(sm.getMainFileID())) {
  clang::Lexer lexer(sm.getMainFileID(), sm.getBufferOrFake(sm.getMainFileID()), sm, lang_opts);
  clang::Token tok;
  do {
    lexer.LexFromRawLexer(tok);
    tokens_.push_back(tok);
  } while (tok.isNot(clang::tok::eof));
}

// Before: char buf[512] __attribute__((flexos_whitelist));
// After:  char buf[512];
// Before: static __attribute__((flexos_whitelist)) char big[4096];
// After:  static char big[4096];
// Before: char b[64] __attribute__((aligned(64), flexos_whitelist)) = {0};
// After:  char b[64] __attribute__((aligned(64))) = {0};
// Before: char c[64] __attribute__((flexos_whitelist, aligned(64)));
// After:  char c[64] __attribute__((aligned(64)));
// Before: char d[64] __attribute__((aligned(64),
//                                   flexos_whitelist));
// After:  char d[64] __attribute__((aligned(64)
//                                   ));
llvm::Expected<text_edit> whitelist_stripper::strip(clang::SourceLocation name, std::string_view spelled) const {
  auto offset_of = [&](const clang::Token &tok) { return sm_.getFileOffset(tok.getLocation()); };
  const unsigned offset = sm_.getFileOffset(name);
  auto it = std::lower_bound(tokens_.begin(), tokens_.end(), offset,
                             [&](const clang::Token &tok, unsigned o) { return offset_of(tok) < o; });
  const std::string word(spelled);
  const auto not_in_attribute = [&] {
    return llvm::createStringError(word + " must be written as __attribute__((" + word + "))");
  };
  if (it == tokens_.end() || offset_of(*it) != offset) return not_in_attribute();
  const std::size_t self = static_cast<std::size_t>(it - tokens_.begin());

  // The attribute list around the token: `__attribute__ ( ( open ... close ) )`.
  std::size_t open = self, close = self;
  for (int depth = 0; open > 0; --open) {
    const clang::Token &tok = tokens_[open - 1];
    if (tok.is(clang::tok::r_paren)) ++depth;
    if (tok.is(clang::tok::l_paren) && depth-- == 0) break;
  }
  for (int depth = 0; close + 1 < tokens_.size(); ++close) {
    const clang::Token &tok = tokens_[close + 1];
    if (tok.is(clang::tok::l_paren)) ++depth;
    if (tok.is(clang::tok::r_paren) && depth-- == 0) break;
  }
  // Now tokens_[open - 1] is the inner '(' and tokens_[close + 1] the inner ')'.
  if (open < 3 || close + 2 >= tokens_.size() || !tokens_[open - 2].is(clang::tok::l_paren) ||
      !is_attribute_keyword(tokens_[open - 3]) || !tokens_[close + 2].is(clang::tok::r_paren))
    return not_in_attribute();

  // The attributes of the list, as [first, last] token indices, split at top-level commas.
  std::vector<std::pair<std::size_t, std::size_t>> items;
  std::size_t item_begin = open;
  int depth = 0;
  for (std::size_t i = open; i <= close; ++i) {
    const clang::Token &tok = tokens_[i];
    if (tok.is(clang::tok::l_paren)) ++depth;
    if (tok.is(clang::tok::r_paren)) --depth;
    if (depth == 0 && tok.is(clang::tok::comma)) {
      items.emplace_back(item_begin, i - 1);
      item_begin = i + 1;
    }
  }
  items.emplace_back(item_begin, close);
  auto item =
      std::find_if(items.begin(), items.end(), [&](auto &p) { return p.first <= self && self <= p.second; });
  if (item->first != self || item->second != self)
    return llvm::createStringError(word + " takes no arguments");

  auto end_of = [&](const clang::Token &tok) { return offset_of(tok) + tok.getLength(); };
  unsigned begin = 0, end = 0;
  if (items.size() == 1) {
    // The only attribute: drop the whole `__attribute__((...))`, and the blank that separated it from
    // the code before (or, at the start of a line, after) it.
    begin = offset_of(tokens_[open - 3]);
    end = end_of(tokens_[close + 2]);
    unsigned blank = begin;
    while (blank > 0 && is_blank(buffer_[blank - 1])) --blank;
    bool code_before = blank > 0 && buffer_[blank - 1] != '\n';
    bool word_after = end < buffer_.size() && is_word(buffer_[end]);
    if (blank < begin && code_before && !(is_word(buffer_[blank - 1]) && word_after)) {
      begin = blank;
    } else if (!code_before) {
      while (end < buffer_.size() && is_blank(buffer_[end])) ++end;
    }
  } else if (std::next(item) != items.end()) {
    begin = offset_of(tokens_[self]);  // up to the attribute after it
    end = offset_of(tokens_[std::next(item)->first]);
  } else {
    begin = end_of(tokens_[std::prev(item)->second]);  // the last one: from the comma before it
    end = end_of(tokens_[self]);
  }
  return text_edit{.offset = begin,
                   .length = end - begin,
                   .replacement = keep_layout(buffer_.substr(begin, end - begin)),
                   .loc = name};
}

}  // namespace flex::transform
