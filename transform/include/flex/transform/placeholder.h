// The placeholders of <flexos/isolation.h> as written in a source, found while the preprocessor expands
// them. Only the macros that header defines count, so a user macro or function that merely shares a name
// (or a string or comment that mentions one) is never touched.
//
//   flexos_gate(libconsole, console_write, msg, len);   ->  gate_invocation{lib, fn, args = [msg, len]}
//   flexos_gate_r(libnet, rc, net_recv, fd, buf, n, 0); ->  gate_invocation{lib, ret = rc, fn, args...}
//   char buf[64] __attribute__((flexos_whitelist));     ->  whitelist_use{the flexos_whitelist token}
//
// Usage (inside a FrontendAction):
//   placeholder_set found;
//   pp.addPPCallbacks(std::make_unique<PlaceholderCollector>(sm, lang_opts, found));
//   ... parse ...; then rewrite found.gates / found.whitelists and report found.problems
#pragma once

#include <clang/Basic/SourceLocation.h>
#include <clang/Lex/PPCallbacks.h>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace clang {
class LangOptions;
class SourceManager;
}  // namespace clang

namespace flex::transform {

// A piece of a placeholder as written: one macro argument's text and where it lies. Both locations are
// file locations in the main file; [begin, end) covers the text exactly.
struct source_piece {
  std::string text;
  clang::SourceLocation begin;
  clang::SourceLocation end;
};

// One flexos_gate / flexos_gate_r invocation in the main file. A gate written inside one of the file's own
// macros (in its #define, or in an argument of a macro call) is found once per expansion; its pieces are
// where the gate is spelled, so every expansion rewrites the same text.
struct gate_invocation {
  bool has_result = false;     // flexos_gate_r
  bool in_macro = false;       // spelled inside a macro definition or a macro argument
  clang::SourceLocation key;   // the location of this expansion's flexos_gate token (a macro location
                               // when in_macro), which the AST matchers find it by
  clang::SourceLocation name;  // the macro name as spelled in the file, where the gate is reported
  clang::SourceLocation end;   // one past the closing parenthesis
  source_piece lib;            // "libconsole"
  source_piece ret;            // flexos_gate_r only: where the result goes
  source_piece fn;             // "console_write"
  std::vector<source_piece> args;
};

// One `flexos_whitelist` in the main file (the location of that token).
struct whitelist_use {
  clang::SourceLocation name;
};

// A placeholder this version cannot rewrite (in another macro, in a header, malformed): an error, never a
// silent skip.
struct placeholder_problem {
  clang::SourceLocation loc;
  std::string message;
};

struct placeholder_set {
  std::vector<gate_invocation> gates;
  std::vector<whitelist_use> whitelists;
  std::vector<placeholder_problem> problems;
};

// True for the porting header's path ("<anything>/flexos/isolation.h").
bool is_isolation_header(llvm::StringRef path);

class PlaceholderCollector : public clang::PPCallbacks {
 public:
  PlaceholderCollector(const clang::SourceManager &sm, const clang::LangOptions &lang_opts,
                       placeholder_set &found);

  void MacroExpands(const clang::Token &name, const clang::MacroDefinition &definition,
                    clang::SourceRange range, const clang::MacroArgs *args) override;
  void MacroDefined(const clang::Token &name, const clang::MacroDirective *directive) override;

 private:
  using token_span = std::pair<std::size_t, std::size_t>;  // [first, last] token indices

  void collect_spelled_gate(const clang::Token &name, bool has_result);
  std::optional<std::vector<clang::Token>> lex_spelled_gate(clang::SourceLocation spelled,
                                                            const std::string &macro);
  static std::vector<token_span> split_spelled_arguments(const std::vector<clang::Token> &tokens);
  bool spelled_names_are_written_out(const gate_invocation &gate, token_span lib, token_span fn,
                                     const std::string &macro, unsigned offset);
  void collect_gate(const clang::Token &name, bool has_result, clang::SourceRange range,
                    const clang::MacroArgs &args);
  source_piece piece(const clang::Token *first, const clang::Token *last) const;
  void problem(clang::SourceLocation loc, std::string message);

  const clang::SourceManager &sm_;
  const clang::LangOptions &lang_opts_;
  placeholder_set &found_;
  struct macro_body {
    unsigned begin = 0, end = 0;  // file offsets of the definition in the main file
    std::string name;
    std::vector<std::string> params;
  };
  std::vector<macro_body> main_file_macros_;
};

}  // namespace flex::transform
