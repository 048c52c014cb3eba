#include "flex/yaml/diag.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <numeric>

namespace flex::yaml {
namespace {

std::string_view severity_name(severity s) {
  switch (s) {
    case severity::error:
      return "error";
    case severity::warning:
      return "warning";
    case severity::note:
      return "note";
  }
  return "error";
}

// The lines of the files diagnostics point into, each read once.
class source_cache {
 public:
  // Line `line` (1-based) of `file`, or nullptr when the file cannot be read or is shorter.
  const std::string *line(const std::string &file, int line) {
    auto it = files_.find(file);
    if (it == files_.end()) it = files_.emplace(file, read_lines(file)).first;
    const std::vector<std::string> &lines = it->second;
    return line >= 1 && static_cast<std::size_t>(line) <= lines.size() ? &lines[line - 1] : nullptr;
  }

 private:
  static std::vector<std::string> read_lines(const std::string &file) {
    std::vector<std::string> lines;
    std::ifstream in(file, std::ios::binary);
    for (std::string text; in && std::getline(in, text);) {
      if (!text.empty() && text.back() == '\r') text.pop_back();
      lines.push_back(std::move(text));
    }
    return lines;
  }

  std::map<std::string, std::vector<std::string>, std::less<>> files_;
};

std::string render_with(const diagnostic &d, source_cache *sources) {
  std::string out = d.pos.file;
  if (d.pos.line > 0) {
    out += ':' + std::to_string(d.pos.line);
    if (d.pos.column > 0) out += ':' + std::to_string(d.pos.column);
  }
  out += ": ";
  out += severity_name(d.level);
  out += ": ";
  out += d.message;
  out += '\n';

  if (const std::string *line = sources ? sources->line(d.pos.file, d.pos.line) : nullptr) {
    out += *line;
    out += '\n';
    // Keep tabs so the caret lines up under the column whatever the tab width.
    std::size_t col = d.pos.column > 0 ? static_cast<std::size_t>(d.pos.column - 1) : 0;
    col = std::min(col, line->size());
    for (std::size_t i = 0; i < col; ++i) out += (*line)[i] == '\t' ? '\t' : ' ';
    out += "^\n";
  }
  if (!d.hint.empty()) {
    out += "  hint: ";
    out += d.hint;
    out += '\n';
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

void diag_sink::error(source_pos pos, std::string message, std::string hint) {
  diags_.push_back({severity::error, std::move(pos), std::move(message), std::move(hint)});
  ++errors_;
}

void diag_sink::warning(source_pos pos, std::string message, std::string hint) {
  diags_.push_back({severity::warning, std::move(pos), std::move(message), std::move(hint)});
}

void diag_sink::note(source_pos pos, std::string message, std::string hint) {
  diags_.push_back({severity::note, std::move(pos), std::move(message), std::move(hint)});
}

void diag_sink::print(std::FILE *out) const {
  source_cache sources;
  for (const diagnostic &d : diags_) {
    std::string text = render_with(d, &sources);
    std::fwrite(text.data(), 1, text.size(), out);
  }
}

std::string render(const diagnostic &d, bool with_source_line) {
  source_cache sources;
  return render_with(d, with_source_line ? &sources : nullptr);
}

int edit_distance(std::string_view a, std::string_view b) {
  // Two rows of the classic dynamic programme.
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  std::iota(prev.begin(), prev.end(), 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= b.size(); ++j) {
      int subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string nearest(std::string_view word, const std::vector<std::string> &candidates) {
  if (word.empty()) return {};
  std::string w = lower(word);
  const std::string *best = nullptr;
  int best_distance = 0;
  for (const std::string &c : candidates) {
    if (c.empty()) continue;
    int d = edit_distance(w, lower(c));
    // A plausible typo: a few edits relative to the length (so "mkp" finds "mpk"), and never a
    // rewrite of the whole shorter word (so "x" finds nothing).
    int longer = static_cast<int>(std::max(w.size(), c.size()));
    int shorter = static_cast<int>(std::min(w.size(), c.size()));
    if (d > std::max(2, longer / 3) || d >= shorter) continue;
    if (!best || d < best_distance) {
      best = &c;
      best_distance = d;
    }
  }
  return best ? *best : std::string();
}

}  // namespace flex::yaml
