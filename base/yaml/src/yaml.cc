#include "flex/yaml/yaml.h"

#include <algorithm>
#include <exception>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

namespace flex::yaml {
namespace {

source_pos mark_pos(const std::string &file, const YAML::Mark &m) {
  if (m.is_null() || m.line < 0 || m.column < 0) return {file, 0, 0};
  return {file, m.line + 1, m.column + 1};
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// A cheap over-approximation of how deeply `text` nests: flow collections ([ {) outside quotes and
// comments, and block levels from indentation and compact "- " / "? " indicators. Returns where the
// nesting first exceeds kMaxNesting, or nullopt.
std::optional<source_pos> find_too_deep(const std::string &file, std::string_view text) {
  int flow = 0;
  char quote_char = 0;  // inside a quoted scalar, which may span lines
  std::vector<std::size_t> block;
  int line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    ++line_no;

    std::size_t c = 0;
    while (c < line.size() && line[c] == ' ') ++c;
    bool content = c < line.size() && line[c] != '#' && line[c] != '\r';
    if (flow == 0 && quote_char == 0 && content) {
      while (!block.empty() && block.back() >= c) block.pop_back();
      block.push_back(c);
      // "- - x" nests on one line.
      while (block.size() <= static_cast<std::size_t>(kMaxNesting) && c + 1 < line.size() &&
             (line[c] == '-' || line[c] == '?') && is_blank(line[c + 1])) {
        c += 1;
        while (c < line.size() && is_blank(line[c])) ++c;
        if (c < line.size() && line[c] != '#') block.push_back(c);
      }
      if (block.size() > static_cast<std::size_t>(kMaxNesting)) {
        return source_pos{file, line_no, static_cast<int>(c) + 1};
      }
    }

    for (std::size_t i = 0; i < line.size(); ++i) {
      char ch = line[i];
      if (quote_char == '"') {
        if (ch == '\\')
          ++i;
        else if (ch == '"')
          quote_char = 0;
      } else if (quote_char == '\'') {
        if (ch == '\'' && i + 1 < line.size() && line[i + 1] == '\'')
          ++i;
        else if (ch == '\'')
          quote_char = 0;
      } else if (ch == '#' && (i == 0 || is_blank(line[i - 1]))) {
        break;
      } else if ((ch == '"' || ch == '\'') &&
                 (i == 0 || is_blank(line[i - 1]) ||
                  std::string_view("[{,:-").find(line[i - 1]) != std::string_view::npos)) {
        quote_char = ch;
      } else if (ch == '[' || ch == '{') {
        if (++flow > kMaxNesting) return source_pos{file, line_no, static_cast<int>(i) + 1};
      } else if ((ch == ']' || ch == '}') && flow > 0) {
        --flow;
      }
    }
    start = end + 1;
  }
  return std::nullopt;
}

// Records where a document's first event is.
class first_mark : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> mark;

  void OnDocumentStart(const YAML::Mark &m) override { at(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark &m, YAML::anchor_t) override { at(m); }
  void OnAlias(const YAML::Mark &m, YAML::anchor_t) override { at(m); }
  void OnScalar(const YAML::Mark &m, const std::string &, YAML::anchor_t, const std::string &) override {
    at(m);
  }
  void OnSequenceStart(const YAML::Mark &m, const std::string &, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    at(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark &m, const std::string &, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    at(m);
  }
  void OnMapEnd() override {}

 private:
  void at(const YAML::Mark &m) {
    if (!mark) mark = m;
  }
};

// Where a second document starts, if there is one. Not YAML::LoadAll: it loops forever on trailing
// content such as "{a: 1}, x", where each call of the parser yields another empty document.
std::optional<YAML::Mark> second_document(const std::string &input) {
  std::istringstream in(input);
  YAML::Parser parser(in);
  first_mark first, second;
  if (!parser.HandleNextDocument(first) || !parser.HandleNextDocument(second)) return std::nullopt;
  return second.mark.value_or(YAML::Mark::null_mark());
}

bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<YAML::Node> parse_document(const std::string &file, std::string_view text, diag_sink &diags) {
  if (auto deep = find_too_deep(file, text)) {
    diags.error(*deep, "nested deeper than " + std::to_string(kMaxNesting) + " levels",
                "flatten the structure; lib.yaml files and profiles need only a few levels");
    return std::nullopt;
  }
  try {
    const std::string input(text);
    YAML::Node root = YAML::Load(input);
    if (auto second = second_document(input)) {
      diags.error(mark_pos(file, *second), "content after the end of the YAML document",
                  "a file holds one document: remove this (and any `---` before it)");
      return std::nullopt;
    }
    return root;
  } catch (const YAML::Exception &e) {
    diags.error(mark_pos(file, e.mark), "YAML syntax error: " + e.msg,
                "check the indentation, colons, quotes and brackets here");
  } catch (const std::exception &e) {
    diags.error({file, 0, 0}, std::string("cannot parse YAML: ") + e.what());
  }
  return std::nullopt;
}

source_pos pos_of(const YAML::Node &node, const source_pos &fallback) {
  try {
    if (!node.IsDefined() || node.IsNull()) return fallback;
    YAML::Mark m = node.Mark();
    if (m.is_null() || m.line < 0 || m.column < 0) return fallback;
    return {fallback.file, m.line + 1, m.column + 1};
  } catch (const std::exception &) {
    return fallback;
  }
}

std::string_view describe(const YAML::Node &node) {
  if (!node.IsDefined()) return "nothing";
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "nothing";
  }
}

std::optional<std::vector<entry>> read_map(const YAML::Node &node, const source_pos &pos,
                                           const map_rules &rules, diag_sink &diags) {
  std::vector<entry> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  source_pos map_pos = pos_of(node, pos);
  if (!node.IsMap()) {
    diags.error(map_pos, std::string(rules.what) + " must be a map, found " + std::string(describe(node)),
                std::string(rules.shape_hint));
    return std::nullopt;
  }
  std::vector<std::pair<std::string, source_pos>> seen;
  for (const auto &kv : node) {
    const YAML::Node key = kv.first;  // copies: yaml-cpp's iterator hands out temporaries
    source_pos key_pos = pos_of(key, map_pos);
    if (!key.IsScalar()) {
      diags.error(
          key_pos,
          "keys in " + std::string(rules.what) + " must be plain names, found " + std::string(describe(key)),
          "write `name: value`");
      continue;
    }
    const std::string &name = key.Scalar();
    auto first = std::find_if(seen.begin(), seen.end(), [&](auto &s) { return s.first == name; });
    if (first != seen.end()) {
      diags.error(key_pos, "duplicate key " + quote(name) + " in " + std::string(rules.what),
                  "remove one of them; the first is on line " + std::to_string(first->second.line));
      continue;
    }
    seen.emplace_back(name, key_pos);
    if (!rules.known.empty() &&
        std::find(rules.known.begin(), rules.known.end(), name) == rules.known.end()) {
      diags.error(key_pos, "unknown key " + quote(name) + " in " + std::string(rules.what),
                  suggest(name, rules.known, "valid keys"));
      continue;
    }
    out.push_back({name, kv.second, key_pos, pos_of(kv.second, key_pos)});
  }
  return out;
}

const entry *find(const std::vector<entry> &entries, std::string_view key) {
  auto it = std::find_if(entries.begin(), entries.end(), [&](const entry &e) { return e.key == key; });
  return it == entries.end() ? nullptr : &*it;
}

std::optional<located> read_scalar(const entry &e, std::string_view hint, diag_sink &diags) {
  if (e.value.IsScalar()) return located{e.value.Scalar(), e.pos};
  if (!e.value.IsDefined() || e.value.IsNull()) {
    diags.error(e.pos, quote(e.key) + " has no value", std::string(hint));
  } else {
    diags.error(e.pos, quote(e.key) + " must be a single value, found " + std::string(describe(e.value)),
                std::string(hint));
  }
  return std::nullopt;
}

std::optional<bool> read_bool(const entry &e, diag_sink &diags) {
  std::string hint = "write `" + e.key + ": true` or `" + e.key + ": false`";
  auto v = read_scalar(e, hint, diags);
  if (!v) return std::nullopt;
  // YAML 1.2 booleans only: yes/no/on/off (which yaml-cpp's as<bool> takes) read as strings elsewhere.
  for (std::string_view t : {"true", "True", "TRUE"}) {
    if (v->value == t) return true;
  }
  for (std::string_view f : {"false", "False", "FALSE"}) {
    if (v->value == f) return false;
  }
  diags.error(v->pos, quote(e.key) + " must be true or false, found " + quote(v->value), hint);
  return std::nullopt;
}

std::optional<std::vector<located>> read_scalar_list(const entry &e, diag_sink &diags) {
  std::vector<located> out;
  if (!e.value.IsDefined() || e.value.IsNull()) return out;
  if (!e.value.IsSequence()) {
    std::string example = e.value.IsScalar() ? e.value.Scalar() : "a, b";
    diags.error(e.pos, quote(e.key) + " must be a list, found " + std::string(describe(e.value)),
                "write `" + e.key + ": [" + example + "]`");
    return std::nullopt;
  }
  if (e.value.size() > kMaxListItems) {
    diags.error(e.pos,
                quote(e.key) + " has " + std::to_string(e.value.size()) + " items, more than " +
                    std::to_string(kMaxListItems),
                "shorten the list");
    return std::nullopt;
  }
  for (const YAML::Node &item : e.value) {
    source_pos item_pos = pos_of(item, e.pos);
    if (item.IsScalar()) {
      out.push_back({item.Scalar(), item_pos});
    } else if (!item.IsDefined() || item.IsNull()) {
      diags.error(item_pos, "empty item in " + quote(e.key), "remove the empty item");
    } else {
      diags.error(
          item_pos,
          "each item of " + quote(e.key) + " must be a single value, found " + std::string(describe(item)),
          "write one name per item: `" + e.key + ": [a, b]`");
    }
  }
  return out;
}

std::optional<std::size_t> match_enum(const located &v, std::string_view what,
                                      const std::vector<std::string> &valid, diag_sink &diags) {
  auto it = std::find(valid.begin(), valid.end(), v.value);
  if (it != valid.end()) return static_cast<std::size_t>(it - valid.begin());
  std::string hint = "valid values: " + join(valid);
  std::string near = nearest(v.value, valid);
  if (!near.empty()) hint = "did you mean '" + near + "'? " + hint;
  diags.error(v.pos, "unknown " + std::string(what) + " " + quote(v.value), hint);
  return std::nullopt;
}

std::string suggest(std::string_view word, const std::vector<std::string> &candidates,
                    std::string_view label) {
  std::string near = nearest(word, candidates);
  if (!near.empty()) return "did you mean '" + near + "'?";
  if (candidates.empty()) return std::string(label) + ": none";
  return std::string(label) + ": " + join(candidates);
}

std::string join(const std::vector<std::string> &items) {
  std::string out;
  for (const std::string &s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string quote(std::string_view value) {
  constexpr std::size_t kMax = 64;
  std::string out = "'";
  for (std::size_t i = 0; i < value.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > kMax) out += "...";
  return out + "'";
}

bool is_name(std::string_view s) {
  if (s.empty() || !is_lower(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower(c) || is_digit(c) || c == '_'; });
}

bool is_c_identifier(std::string_view s) {
  auto alpha = [](char c) { return is_lower(c) || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (s.empty() || !alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || is_digit(c); });
}

}  // namespace flex::yaml
