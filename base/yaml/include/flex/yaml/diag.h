// Diagnostics for everything a user writes (lib.yaml, profiles, space files): each one names the file,
// line and column, says what is wrong and how to fix it, and renders like a compiler's:
//
//   profiles/hello-2comp.yaml:7:5: error: unknown key 'isolaton' in a compartment
//     isolaton: none
//     ^
//   hint: did you mean 'isolation'?
//
// Usage:
//   flex::yaml::diag_sink diags;
//   diags.error({file, 7, 5}, "unknown key 'isolaton' in a compartment", "did you mean 'isolation'?");
//   if (diags.has_errors()) { diags.print(stderr); return 1; }
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace flex::yaml {

// A position in a user's file. Line and column are 1-based; 0 means "whole file".
struct source_pos {
  std::string file;
  int line = 0;
  int column = 0;
};

// A string from a user's file with the place it was written, so later checks can point at it.
struct located {
  std::string value;
  source_pos pos;
};

enum class severity { error, warning, note };

struct diagnostic {
  severity level = severity::error;
  source_pos pos;
  std::string message;
  std::string hint;  // how to fix it; may be empty
};

// Collects diagnostics; never throws, never exits.
class diag_sink {
 public:
  void error(source_pos pos, std::string message, std::string hint = {});
  void warning(source_pos pos, std::string message, std::string hint = {});
  void note(source_pos pos, std::string message, std::string hint = {});

  bool has_errors() const { return errors_ > 0; }
  int error_count() const { return errors_; }
  const std::vector<diagnostic> &all() const { return diags_; }

  // Renders every diagnostic (with the source line and a caret when the file can be read).
  void print(std::FILE *out) const;

 private:
  std::vector<diagnostic> diags_;
  int errors_ = 0;
};

// "file:line:col: error: message" plus the source line, caret and hint lines.
std::string render(const diagnostic &d, bool with_source_line = true);

// Levenshtein distance, for "did you mean" hints.
int edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, or empty when none is close enough to be a plausible typo.
std::string nearest(std::string_view word, const std::vector<std::string> &candidates);

}  // namespace flex::yaml
