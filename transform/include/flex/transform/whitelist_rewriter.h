// Instantiates `__attribute__((flexos_whitelist))`. This version strips the annotation and lets the datum be
// ordinary data, which is right while every boundary of the library is a plain call; placing whitelisted
// data in shared memory (DSS, heap, .data_shared) is the job of a later version.
//
// Usage:
//   whitelist_stripper stripper(sm, lang_opts);            // lexes the main file once
//   llvm::Expected<text_edit> edit = stripper.strip(use.name);
#pragma once

#include "flex/transform/edits.h"

#include <clang/Lex/Token.h>
#include <llvm/Support/Error.h>

#include <vector>

namespace clang {
class LangOptions;
class SourceManager;
}  // namespace clang

namespace flex::transform {

class whitelist_stripper {
 public:
  whitelist_stripper(const clang::SourceManager &sm, const clang::LangOptions &lang_opts);

  // The edit that removes the flexos_whitelist token at `name` from its `__attribute__((...))`, or an
  // error when it is not written inside one.
  llvm::Expected<text_edit> strip(clang::SourceLocation name) const;

 private:
  const clang::SourceManager &sm_;
  std::string_view buffer_;
  std::vector<clang::Token> tokens_;  // the main file, raw-lexed
};

}  // namespace flex::transform
