#include "flex/transform/placeholder.h"

#include <clang/Basic/IdentifierTable.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Lex/MacroArgs.h>
#include <clang/Lex/MacroInfo.h>
#include <llvm/Support/Path.h>

namespace flex::transform {
namespace {

enum class placeholder_macro { none, gate, gate_r, whitelist };

placeholder_macro classify(llvm::StringRef name) {
  if (name == "flexos_gate") return placeholder_macro::gate;
  if (name == "flexos_gate_r") return placeholder_macro::gate_r;
  if (name == "flexos_whitelist") return placeholder_macro::whitelist;
  return placeholder_macro::none;
}

// The tokens of one macro argument, without its terminating eof token.
llvm::ArrayRef<clang::Token> argument_tokens(const clang::MacroArgs &args, unsigned index) {
  const clang::Token *first = args.getUnexpArgument(index);
  return {first, clang::MacroArgs::getArgLength(first)};
}

// Splits the tokens of __VA_ARGS__ at the commas outside parentheses, brackets and braces.
std::vector<llvm::ArrayRef<clang::Token>> split_arguments(llvm::ArrayRef<clang::Token> tokens) {
  std::vector<llvm::ArrayRef<clang::Token>> out;
  if (tokens.empty()) return out;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].isOneOf(clang::tok::l_paren, clang::tok::l_square, clang::tok::l_brace)) ++depth;
    if (tokens[i].isOneOf(clang::tok::r_paren, clang::tok::r_square, clang::tok::r_brace)) --depth;
    if (depth == 0 && tokens[i].is(clang::tok::comma)) {
      out.push_back(tokens.slice(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(tokens.slice(start));
  return out;
}

bool is_single_identifier(llvm::ArrayRef<clang::Token> tokens) {
  return tokens.size() == 1 && tokens.front().is(clang::tok::identifier);
}

}  // namespace

bool is_isolation_header(llvm::StringRef path) {
  llvm::SmallString<256> normal(path);
  llvm::sys::path::remove_dots(normal, /*remove_dot_dot=*/true);
  llvm::sys::path::native(normal, llvm::sys::path::Style::posix);
  llvm::StringRef p = normal;
  return p == "flexos/isolation.h" || p.ends_with("/flexos/isolation.h");
}

PlaceholderCollector::PlaceholderCollector(const clang::SourceManager &sm,
                                           const clang::LangOptions &lang_opts, placeholder_set &found)
    : sm_(sm), lang_opts_(lang_opts), found_(found) {}

void PlaceholderCollector::MacroExpands(const clang::Token &name, const clang::MacroDefinition &definition,
                                        clang::SourceRange range, const clang::MacroArgs *args) {
  const clang::IdentifierInfo *id = name.getIdentifierInfo();
  placeholder_macro macro = id ? classify(id->getName()) : placeholder_macro::none;
  if (macro == placeholder_macro::none) return;
  const clang::MacroInfo *info = definition.getMacroInfo();
  if (!info || !is_isolation_header(sm_.getFilename(sm_.getSpellingLoc(info->getDefinitionLoc())))) return;

  std::string what = macro == placeholder_macro::whitelist ? "flexos_whitelist" : "gate";
  clang::SourceLocation loc = name.getLocation();
  if (loc.isMacroID()) {
    problem(loc, what + " inside a macro expansion is not supported yet; write it directly in the source");
    return;
  }
  if (!sm_.isInMainFile(loc)) {
    problem(loc, what +
                     " in an included file is not supported yet: flex-transform rewrites only the "
                     "sources it is given");
    return;
  }
  if (macro == placeholder_macro::whitelist) {
    found_.whitelists.push_back({loc});
    return;
  }
  if (args) collect_gate(name, macro == placeholder_macro::gate_r, range, *args);
}

// Before: flexos_gate_r(libnet, rc, net_recv, fd, buf, n, 0)
// After:  gate_invocation{has_result, lib "libnet", ret "rc", fn "net_recv", args ["fd", "buf", "n", "0"]}
void PlaceholderCollector::collect_gate(const clang::Token &name, bool has_result, clang::SourceRange range,
                                        const clang::MacroArgs &args) {
  const std::string macro = has_result ? "flexos_gate_r" : "flexos_gate";
  const unsigned fixed = has_result ? 3 : 2;        // lib, [ret,] fn; then __VA_ARGS__
  if (args.getNumMacroArguments() < fixed) return;  // the preprocessor already reported the arity

  gate_invocation gate;
  gate.has_result = has_result;
  gate.name = name.getLocation();
  gate.end = clang::Lexer::getLocForEndOfToken(range.getEnd(), 0, sm_, lang_opts_);

  llvm::ArrayRef<clang::Token> lib = argument_tokens(args, 0);
  llvm::ArrayRef<clang::Token> fn = argument_tokens(args, fixed - 1);
  if (!is_single_identifier(lib)) {
    problem(lib.empty() ? gate.name : lib.front().getLocation(),
            "the first argument of " + macro + " must name a library, like 'libconsole'");
    return;
  }
  if (!is_single_identifier(fn)) {
    problem(fn.empty() ? gate.name : fn.front().getLocation(),
            "the function of " + macro + " must be the name of an exported function");
    return;
  }
  gate.lib = piece(&lib.front(), &lib.back());
  gate.fn = piece(&fn.front(), &fn.back());
  if (has_result) {
    llvm::ArrayRef<clang::Token> ret = argument_tokens(args, 1);
    if (ret.empty()) {
      problem(gate.name, "flexos_gate_r needs an lvalue to receive the result as its second argument");
      return;
    }
    gate.ret = piece(&ret.front(), &ret.back());
  }
  if (args.getNumMacroArguments() > fixed) {
    std::vector<llvm::ArrayRef<clang::Token>> call_args = split_arguments(argument_tokens(args, fixed));
    for (llvm::ArrayRef<clang::Token> arg : call_args) {
      if (arg.empty()) {
        problem(gate.name, "empty argument in " + macro);
        return;
      }
      gate.args.push_back(piece(&arg.front(), &arg.back()));
    }
  }
  found_.gates.push_back(std::move(gate));
}

source_piece PlaceholderCollector::piece(const clang::Token *first, const clang::Token *last) const {
  source_piece out;
  out.begin = first->getLocation();
  out.end = clang::Lexer::getLocForEndOfToken(last->getLocation(), 0, sm_, lang_opts_);
  out.text =
      clang::Lexer::getSourceText(clang::CharSourceRange::getCharRange(out.begin, out.end), sm_, lang_opts_)
          .str();
  return out;
}

void PlaceholderCollector::problem(clang::SourceLocation loc, std::string message) {
  found_.problems.push_back({loc, std::move(message)});
}

}  // namespace flex::transform
