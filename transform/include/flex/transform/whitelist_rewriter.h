// Strips `__attribute__((flexos_whitelist))` from a local of a library whose boundaries are all plain
// calls, where ordinary data suffices. (Whitelisted globals and statics are moved to .data_shared by the
// transform action; locals behind isolating gates need sharing.stack, a later version.)
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

  // The edit that removes the attribute token at `name` (flexos_whitelist, or a libX_callback) from its
  // `__attribute__((...))`, or an error when it is not written inside one.
  llvm::Expected<text_edit> strip(clang::SourceLocation name, std::string_view spelled = "flexos_whitelist") const;

 private:
  const clang::SourceManager &sm_;
  std::string_view buffer_;
  std::vector<clang::Token> tokens_;  // the main file, raw-lexed
};

}  // namespace flex::transform
