#include "flex/transform/placeholder.h"

#include <clang/Basic/IdentifierTable.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Lex/MacroArgs.h>
#include <clang/Lex/MacroInfo.h>
#include <llvm/Support/Path.h>

#include <algorithm>

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
    if (macro != placeholder_macro::whitelist) {
      collect_spelled_gate(name, macro == placeholder_macro::gate_r);
      return;
    }
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
  gate.key = name.getLocation();
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

void PlaceholderCollector::MacroDefined(const clang::Token &name, const clang::MacroDirective *directive) {
  const clang::MacroInfo *info = directive ? directive->getMacroInfo() : nullptr;
  if (!info || !sm_.isWrittenInMainFile(info->getDefinitionLoc())) return;
  macro_body body;
  body.begin = sm_.getFileOffset(info->getDefinitionLoc());
  body.end = sm_.getFileOffset(info->getDefinitionEndLoc());
  body.name = name.getIdentifierInfo() ? name.getIdentifierInfo()->getName().str() : std::string();
  for (const clang::IdentifierInfo *param : info->params()) body.params.push_back(param->getName().str());
  main_file_macros_.push_back(std::move(body));
}

// A gate inside one of the file's own macros: `#define LOG(m) flexos_gate(libconsole, console_write, m, 1)`,
// or `CHECK(flexos_gate_r(libnet, rc, net_recv, fd, buf, n, 0))`. Its text is read where it is spelled
// (raw tokens from the flexos_gate token to its closing parenthesis), so the rewrite edits the #define (or
// the argument) once for every expansion. The library and the function must be written out, the gate must
// fit on one line (a macro body continues with backslashes the rewrite would lose), and none of its
// tokens may be # or ##.
void PlaceholderCollector::collect_spelled_gate(const clang::Token &name, bool has_result) {
  const std::string macro = has_result ? "flexos_gate_r" : "flexos_gate";
  const clang::SourceLocation spelled = sm_.getSpellingLoc(name.getLocation());
  if (!sm_.isWrittenInMainFile(spelled)) {
    problem(sm_.getExpansionLoc(name.getLocation()),
            macro + " inside a macro defined in an included file cannot be rewritten: flex-transform rewrites "
                    "only the sources it is given; define the macro in this source or write the gate directly");
    return;
  }
  const unsigned offset = sm_.getFileOffset(spelled);
  for (const gate_invocation &g : found_.gates) {
    if (g.in_macro && sm_.getFileOffset(g.name) == offset) {
      gate_invocation again = g;  // another expansion of the same text
      again.key = name.getLocation();
      found_.gates.push_back(std::move(again));
      return;
    }
  }
  const std::optional<std::vector<clang::Token>> tokens = lex_spelled_gate(spelled, macro);
  if (!tokens) return;

  const std::vector<token_span> pieces = split_spelled_arguments(*tokens);
  const unsigned fixed = has_result ? 3 : 2;
  if (pieces.size() < fixed) return;  // the preprocessor already reported the arity
  for (const auto &[first, last] : pieces) {
    if (first > last) {
      problem(spelled, "empty argument in " + macro);
      return;
    }
  }
  auto raw_piece = [&](token_span span) { return piece(&(*tokens)[span.first], &(*tokens)[span.second]); };
  gate_invocation gate;
  gate.has_result = has_result;
  gate.in_macro = true;
  gate.key = name.getLocation();
  gate.name = spelled;
  gate.end = clang::Lexer::getLocForEndOfToken(tokens->back().getLocation(), 0, sm_, lang_opts_);
  gate.lib = raw_piece(pieces[0]);
  gate.fn = raw_piece(pieces[fixed - 1]);
  if (has_result) gate.ret = raw_piece(pieces[1]);
  for (std::size_t i = fixed; i < pieces.size(); ++i) gate.args.push_back(raw_piece(pieces[i]));
  if (!spelled_names_are_written_out(gate, pieces[0], pieces[fixed - 1], macro, offset)) return;
  found_.gates.push_back(std::move(gate));
}

// The raw tokens of a gate spelled in the main file, from its name to its closing parenthesis; nullopt (with
// the problem reported) when they cannot be read, use # or ##, or span lines.
std::optional<std::vector<clang::Token>> PlaceholderCollector::lex_spelled_gate(clang::SourceLocation spelled,
                                                                               const std::string &macro) {
  const unsigned offset = sm_.getFileOffset(spelled);
  const clang::FileID file = sm_.getFileID(spelled);
  llvm::StringRef buffer = sm_.getBufferData(file);
  clang::Lexer lexer(sm_.getLocForStartOfFile(file), lang_opts_, buffer.begin(), buffer.begin() + offset,
                     buffer.end());
  std::vector<clang::Token> tokens;
  clang::Token tok;
  int depth = 0;
  for (lexer.LexFromRawLexer(tok); tok.isNot(clang::tok::eof); lexer.LexFromRawLexer(tok)) {
    tokens.push_back(tok);
    if (tokens.size() == 1) continue;  // the macro's name
    if (tokens.size() == 2 && !tok.is(clang::tok::l_paren)) break;
    if (tok.isOneOf(clang::tok::l_paren, clang::tok::l_square, clang::tok::l_brace)) ++depth;
    if (tok.isOneOf(clang::tok::r_paren, clang::tok::r_square, clang::tok::r_brace) && --depth == 0) break;
  }
  if (tokens.size() < 3 || depth != 0 || !tokens.back().is(clang::tok::r_paren)) {
    problem(spelled, macro + " inside a macro: its arguments could not be read where it is written");
    return std::nullopt;
  }
  for (const clang::Token &t : tokens) {
    if (t.isOneOf(clang::tok::hash, clang::tok::hashhash)) {
      problem(t.getLocation(), macro + " inside a macro cannot use # or ##: write the gate's arguments out");
      return std::nullopt;
    }
  }
  const clang::SourceLocation end =
      clang::Lexer::getLocForEndOfToken(tokens.back().getLocation(), 0, sm_, lang_opts_);
  if (buffer.substr(offset, sm_.getFileOffset(end) - offset).contains('\n')) {
    problem(spelled, macro + " inside a macro must be written on one line to be rewritten");
    return std::nullopt;
  }
  return tokens;
}

// The arguments of a lexed gate, split at the top-level commas between its parentheses: [first, last] token
// indices each (first > last for an empty argument).
std::vector<PlaceholderCollector::token_span> PlaceholderCollector::split_spelled_arguments(
    const std::vector<clang::Token> &tokens) {
  std::vector<token_span> pieces;
  std::size_t start = 2;
  int depth = 0;
  for (std::size_t i = 2; i + 1 < tokens.size(); ++i) {
    if (tokens[i].isOneOf(clang::tok::l_paren, clang::tok::l_square, clang::tok::l_brace)) ++depth;
    if (tokens[i].isOneOf(clang::tok::r_paren, clang::tok::r_square, clang::tok::r_brace)) --depth;
    if (depth == 0 && tokens[i].is(clang::tok::comma)) {
      pieces.emplace_back(start, i - 1);
      start = i + 1;
    }
  }
  pieces.emplace_back(start, tokens.size() - 2);
  return pieces;
}

// The library must be one identifier and the function one name, and neither may be a parameter of the macro
// the gate is written in: flex-transform picks the gate from them.
bool PlaceholderCollector::spelled_names_are_written_out(const gate_invocation &gate, token_span lib,
                                                         token_span fn, const std::string &macro,
                                                         unsigned offset) {
  if (lib.first != lib.second) {
    problem(gate.lib.begin, "the first argument of " + macro + " must name a library, like 'libconsole'");
    return false;
  }
  const macro_body *body = nullptr;
  for (const macro_body &m : main_file_macros_) {
    if (m.begin <= offset && offset <= m.end) body = &m;
  }
  for (const source_piece *p : {&gate.lib, &gate.fn}) {
    if (body && std::find(body->params.begin(), body->params.end(), p->text) != body->params.end()) {
      problem(p->begin, "the " + std::string(p == &gate.lib ? "library" : "function") + " of " + macro +
                            " inside macro '" + body->name + "' is its parameter '" + p->text +
                            "'; flex-transform must see it written out to pick the gate");
      return false;
    }
  }
  if (fn.first != fn.second) {
    problem(gate.fn.begin, "the function of " + macro + " must be the name of an exported function");
    return false;
  }
  return true;
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
