#include "flex/explore/space.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "flex/build/fs_util.h"
#include "flex/yaml/yaml.h"

#ifndef FLEX_SOURCE_DIR
#define FLEX_SOURCE_DIR "."
#endif

namespace flex::explore {
namespace {

namespace fs = std::filesystem;
using yaml::entry;
using yaml::located;
using yaml::quote;

const std::vector<std::string> kTopKeys = {
    "name",     "app",     "libraries", "default", "max_compartments", "mechanisms", "hardening",
    "lockdown", "sharing", "gates",     "memory",  "benchmark",        "question"};
const std::vector<std::string> kBenchKeys = {"server", "ready", "command", "metric", "repetitions", "timeout_s"};
const std::vector<std::string> kMetricKeys = {"from", "test", "pattern", "better", "unit"};
const std::vector<std::string> kMetricSources = {"time", "redis-benchmark", "regex"};
const std::vector<std::string> kRepKeys = {"min", "max", "tolerance", "max_near_floor"};
const std::vector<std::string> kQuestionKeys = {"goal", "floor", "require"};
const std::vector<std::string> kGoals = {"fastest", "most-secure"};
const std::vector<std::string> kIsolations = {"none", "mpk", "process"};
const std::vector<std::string> kLockdowns = {"off", "log", "enforce"};  // in lockdown_mode order
const std::vector<std::string> kRequirementKeys = {"separate", "by", "harden", "with", "lockdown"};
constexpr std::string_view kRequirementShapes =
    "write `- {separate: [a, b], by: mpk}`, `- {harden: a, with: [asan]}` or `- {lockdown: enforce}`";
const std::vector<std::string> kPlaceholders = {"image", "port", "dir", "root", "id"};
constexpr int kHardeningCount = 6;  // flex::build::hardening
constexpr std::size_t kMaxPlaced = 8;  // Bell(8) partitions already times mechanisms and hardening

std::vector<std::string> all_hardening_names() {
  std::vector<std::string> out;
  for (int i = 0; i < kHardeningCount; ++i) out.emplace_back(build::to_string(static_cast<build::hardening>(i)));
  return out;
}

fs::path find_root(const fs::path &file) {
  std::error_code ec;
  for (fs::path dir = fs::absolute(file, ec).parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::is_directory(dir / "apps", ec) && fs::is_directory(dir / "libos", ec)) return dir;
    if (dir == dir.root_path()) break;
  }
  return FLEX_SOURCE_DIR;
}

class space_parser {
 public:
  space_parser(const fs::path &file, diag_sink &diags) : path_(file.string()), diags_(diags) { s_.file = file; }
  bool parse(std::string_view text, const std::optional<fs::path> &root);
  space take() { return std::move(s_); }

 private:
  source_pos at(int line = 1, int col = 1) const { return {path_, line, col}; }
  std::optional<located> scalar(const entry &e, std::string_view hint) { return yaml::read_scalar(e, hint, diags_); }
  std::optional<long> integer(const entry &e, long lo, long hi, std::string_view hint);
  std::optional<double> number(const located &v, std::string_view what, std::string_view hint);
  std::optional<hardening_set> hardening_choice(const YAML::Node &node, const source_pos &pos);
  bool check_template(const located &v);
  bool check_library(const located &v, bool placed_only);

  void parse_libraries(const entry &e);
  void parse_mechanisms(const entry &e);
  void parse_hardening(const entry &e);
  void parse_lockdowns(const entry &e);
  void parse_passthrough(const entry &e, std::string_view key, const std::vector<std::string> &valid,
                         std::optional<std::string> &out);
  void parse_memory(const entry &e);
  void parse_benchmark(const entry &e);
  void parse_metric(const entry &e);
  void parse_repetitions(const entry &e);
  void parse_question(const entry &e);
  void parse_requirement(const YAML::Node &item, const source_pos &fallback);
  void parse_separation_req(const std::vector<entry> &keys, const entry &sep);
  void parse_hardening_req(const std::vector<entry> &keys, const entry &har);
  void parse_lockdown_req(const entry &lock);
  bool load_libraries();

  std::string path_;
  diag_sink &diags_;
  space s_;
  build::library_index index_;
  std::set<std::string> closure_;  // non-replicated libraries the app needs
  std::vector<source_pos> lib_pos_;
  bool libs_ok_ = false;
};

std::optional<long> space_parser::integer(const entry &e, long lo, long hi, std::string_view hint) {
  auto v = scalar(e, hint);
  if (!v) return std::nullopt;
  char *end = nullptr;
  errno = 0;
  long n = std::strtol(v->value.c_str(), &end, 10);
  if (v->value.empty() || *end != '\0' || errno != 0 || n < lo || n > hi) {
    diags_.error(v->pos,
                 quote(e.key) + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                     ", found " + quote(v->value),
                 std::string(hint));
    return std::nullopt;
  }
  return n;
}

std::optional<double> space_parser::number(const located &v, std::string_view what, std::string_view hint) {
  std::string text = v.value;
  bool percent = !text.empty() && text.back() == '%';
  if (percent) text.pop_back();
  char *end = nullptr;
  errno = 0;
  double d = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(d) || d <= 0) {
    diags_.error(v.pos, std::string(what) + " must be a positive number, found " + quote(v.value), std::string(hint));
    return std::nullopt;
  }
  return percent ? d / 100.0 : d;
}

// "none", "ubsan", "asan+ubsan" or [asan, ubsan].
std::optional<hardening_set> space_parser::hardening_choice(const YAML::Node &node, const source_pos &pos) {
  std::vector<located> names;
  if (node.IsScalar()) {
    std::string text = node.Scalar();
    if (text == "none") return hardening_set{0};
    std::size_t start = 0;
    while (true) {
      std::size_t plus = text.find('+', start);
      names.push_back({text.substr(start, plus == std::string::npos ? std::string::npos : plus - start), pos});
      if (plus == std::string::npos) break;
      start = plus + 1;
    }
  } else if (node.IsSequence()) {
    for (const YAML::Node &item : node) {
      if (!item.IsScalar()) {
        diags_.error(yaml::pos_of(item, pos), "a hardening option must be a name", "write e.g. `[asan, ubsan]`");
        return std::nullopt;
      }
      names.push_back({item.Scalar(), yaml::pos_of(item, pos)});
    }
  } else {
    diags_.error(pos, "a hardening choice must be `none`, a name, `a+b` or a list",
                 "write e.g. `hello: [none, ubsan, asan+ubsan]`");
    return std::nullopt;
  }
  hardening_set set = 0;
  for (const located &n : names) {
    auto i = yaml::match_enum(n, "hardening", all_hardening_names(), diags_);
    if (!i) return std::nullopt;
    auto h = static_cast<build::hardening>(*i);
    if (h == build::hardening::safestack || h == build::hardening::cfi) {
      diags_.error(n.pos, "hardening " + quote(n.value) + " is not supported by flexbuild yet",
                   "remove it; supported: asan, ubsan, stack-protector, fortify");
      return std::nullopt;
    }
    if (set & (1u << *i)) {
      diags_.error(n.pos, "hardening " + quote(n.value) + " is listed twice", "remove one of them");
      return std::nullopt;
    }
    set |= 1u << *i;
  }
  return set;
}

bool space_parser::check_template(const located &v) {
  const std::string &t = v.value;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '{') continue;
    std::size_t close = t.find('}', i);
    std::string name = close == std::string::npos ? t.substr(i + 1) : t.substr(i + 1, close - i - 1);
    bool shell = !name.empty() && (name.find_first_of(" ;,.$") != std::string::npos);  // ${x}, {a,b}
    if (shell || (i > 0 && t[i - 1] == '$')) continue;
    if (close == std::string::npos ||
        std::find(kPlaceholders.begin(), kPlaceholders.end(), name) == kPlaceholders.end()) {
      diags_.error(v.pos, "unknown placeholder " + quote("{" + name + "}") + " in a command template",
                   yaml::suggest(name, kPlaceholders, "placeholders") + " (placeholders: {image}, {port}, {dir}, "
                   "{root}, {id})");
      return false;
    }
  }
  return true;
}

bool space_parser::load_libraries() {
  index_ = build::load_library_index(s_.root, diags_);
  if (diags_.has_errors()) return false;
  const build::lib_manifest *app = index_.find(s_.app);
  if (!app || app->kind != build::lib_kind::app) return false;  // reported by the caller
  std::deque<std::string> todo{s_.app};
  std::set<std::string> seen;
  while (!todo.empty()) {
    std::string n = todo.front();
    todo.pop_front();
    const build::lib_manifest *m = index_.find(n);
    if (!m || !seen.insert(n).second) continue;
    if (!m->replicated) closure_.insert(n);
    for (const auto &d : m->deps) todo.push_back(d.value);
  }
  return true;
}

bool space_parser::check_library(const located &v, bool placed_only) {
  std::vector<std::string> candidates(closure_.begin(), closure_.end());
  const build::lib_manifest *m = index_.find(v.value);
  if (!m) {
    diags_.error(v.pos, "unknown library " + quote(v.value),
                 yaml::suggest(v.value, candidates, "libraries app '" + s_.app + "' uses"));
    return false;
  }
  if (m->replicated) {
    diags_.error(v.pos, "library " + quote(v.value) + " is replicated into every compartment and cannot be placed",
                 "remove it; libraries that can be placed: " + yaml::join(candidates));
    return false;
  }
  if (!closure_.count(v.value)) {
    diags_.error(v.pos, "library " + quote(v.value) + " is not used by app '" + s_.app + "'",
                 "the app's `requires` closure holds: " + yaml::join(candidates));
    return false;
  }
  if (placed_only && s_.index_of(v.value) < 0) {
    diags_.error(v.pos, "library " + quote(v.value) + " is not one of `libraries`",
                 "place it (add it to `libraries`) or remove this");
    return false;
  }
  return true;
}

void space_parser::parse_libraries(const entry &e) {
  auto items = yaml::read_scalar_list(e, diags_);
  if (!items) return;
  if (items->empty()) {
    diags_.error(e.pos, "'libraries' is empty", "list the libraries to place, e.g. `libraries: [hello, console]`");
    return;
  }
  if (items->size() > kMaxPlaced) {
    diags_.error(e.pos, "more than " + std::to_string(kMaxPlaced) + " libraries to place",
                 "place fewer; the others stay in the default compartment");
    return;
  }
  bool ok = true;
  for (const located &l : *items) {
    if (!check_library(l, false)) {
      ok = false;
      continue;
    }
    if (std::find(s_.libraries.begin(), s_.libraries.end(), l.value) != s_.libraries.end()) {
      diags_.error(l.pos, "library " + quote(l.value) + " is listed twice", "remove one of them");
      ok = false;
      continue;
    }
    s_.libraries.push_back(l.value);
    lib_pos_.push_back(l.pos);
  }
  libs_ok_ = ok;
}

void space_parser::parse_mechanisms(const entry &e) {
  auto items = yaml::read_scalar_list(e, diags_);
  if (!items) return;
  if (items->empty()) {
    diags_.error(e.pos, "'mechanisms' is empty", "write e.g. `mechanisms: [none, mpk, process]`");
    return;
  }
  s_.mechanisms.clear();
  for (const located &m : *items) {
    auto i = yaml::match_enum(m, "isolation mechanism", kIsolations, diags_);
    if (!i) continue;
    auto iso = static_cast<isolation>(*i);
    if (s_.allows(iso)) {
      diags_.error(m.pos, "mechanism " + quote(m.value) + " is listed twice", "remove one of them");
      continue;
    }
    s_.mechanisms.push_back(iso);
  }
  std::sort(s_.mechanisms.begin(), s_.mechanisms.end());
}

void space_parser::parse_hardening(const entry &e) {
  auto keys = yaml::read_map(e.value, e.pos, {"'hardening'", {}, "write `hardening: {<library>: [none, ubsan]}`"}, diags_);
  if (!keys) return;
  for (const entry &k : *keys) {
    if (!check_library({k.key, k.key_pos}, true)) continue;
    int lib = s_.index_of(k.key);
    if (!k.value.IsSequence() || k.value.size() == 0) {
      diags_.error(k.pos, "the hardening choices of " + quote(k.key) + " must be a non-empty list",
                   "write e.g. `" + k.key + ": [none, ubsan]`");
      continue;
    }
    std::vector<hardening_set> choices;
    for (const YAML::Node &item : k.value) {
      source_pos p = yaml::pos_of(item, k.pos);
      auto h = hardening_choice(item, p);
      if (!h) continue;
      if (std::find(choices.begin(), choices.end(), *h) != choices.end()) {
        diags_.error(p, "hardening choice " + quote(hardening_text(*h)) + " is listed twice", "remove one of them");
        continue;
      }
      choices.push_back(*h);
    }
    if (!choices.empty()) s_.hardening[static_cast<std::size_t>(lib)] = choices;
  }
}

void space_parser::parse_lockdowns(const entry &e) {
  auto items = yaml::read_scalar_list(e, diags_);
  if (!items) return;
  if (items->empty()) {
    diags_.error(e.pos, "'lockdown' is empty",
                 "write e.g. `lockdown: [off, enforce]`, or remove it for [enforce]");
    return;
  }
  std::vector<lockdown_mode> modes;
  for (const located &m : *items) {
    auto i = yaml::match_enum(m, "lockdown mode", kLockdowns, diags_);
    if (!i) continue;
    auto mode = static_cast<lockdown_mode>(*i);
    if (std::find(modes.begin(), modes.end(), mode) != modes.end()) {
      diags_.error(m.pos, "lockdown " + quote(m.value) + " is listed twice", "remove one of them");
      continue;
    }
    modes.push_back(mode);
  }
  std::sort(modes.begin(), modes.end());
  if (!modes.empty()) s_.lockdowns = modes;
}

void space_parser::parse_passthrough(const entry &e, std::string_view key, const std::vector<std::string> &valid,
                                     std::optional<std::string> &out) {
  std::string shape = "write `" + e.key + ": {" + std::string(key) + ": " + valid.front() + "}`";
  auto keys = yaml::read_map(e.value, e.pos, {"'" + e.key + "'", {std::string(key)}, shape}, diags_);
  if (!keys) return;
  if (const entry *k = yaml::find(*keys, key)) {
    auto v = scalar(*k, "write one of: " + yaml::join(valid));
    if (v && yaml::match_enum(*v, std::string(key), valid, diags_)) out = v->value;
  }
}

void space_parser::parse_memory(const entry &e) {
  auto keys = yaml::read_map(e.value, e.pos, {"'memory'", {"heap_mib"}, "write `memory: {heap_mib: {<library>: <MiB>}}`"}, diags_);
  if (!keys) return;
  const entry *h = yaml::find(*keys, "heap_mib");
  if (!h) return;
  auto sizes = yaml::read_map(h->value, h->pos, {"'heap_mib'", {}, "write `heap_mib: {<library>: <MiB>}`"}, diags_);
  if (!sizes) return;
  for (const entry &s : *sizes) {
    if (!check_library({s.key, s.key_pos}, false)) continue;
    if (auto mib = integer(s, 1, 1 << 20, "write the library's heap in MiB, e.g. `" + s.key + ": 64`")) {
      s_.heap_mib[s.key] = static_cast<std::uint64_t>(*mib);
    }
  }
}

void space_parser::parse_metric(const entry &e) {
  auto keys = yaml::read_map(e.value, e.pos, {"'metric'", kMetricKeys, "write `metric: {from: time}`"}, diags_);
  if (!keys) return;
  metric_spec &m = s_.bench.metric;
  const entry *from = yaml::find(*keys, "from");
  if (!from) {
    diags_.error(e.pos, "'metric' has no 'from'", "write `from: time`, `from: redis-benchmark` or `from: regex`");
    return;
  }
  auto v = scalar(*from, "write one of: " + yaml::join(kMetricSources));
  if (!v) return;
  auto i = yaml::match_enum(*v, "metric source", kMetricSources, diags_);
  if (!i) return;
  m.from = static_cast<metric_source>(*i);
  const entry *test = yaml::find(*keys, "test");
  const entry *pattern = yaml::find(*keys, "pattern");
  const entry *better = yaml::find(*keys, "better");
  auto refuse = [&](const entry *k, std::string_view why) {
    if (k) diags_.error(k->key_pos, quote(k->key) + " does not apply to metric " + quote(v->value), std::string(why));
  };
  switch (m.from) {
    case metric_source::time:
      m.higher_is_better = false;
      m.unit = "s";
      refuse(test, "remove it");
      refuse(pattern, "remove it");
      refuse(better, "wall time: lower is better; remove it");
      break;
    case metric_source::redis_benchmark:
      m.higher_is_better = true;
      m.unit = "rps";
      refuse(pattern, "remove it");
      refuse(better, "requests per second: higher is better; remove it");
      if (!test) {
        diags_.error(from->pos, "metric 'redis-benchmark' needs a 'test'", "add `test: GET` (the row whose rps is read)");
      } else if (auto t = scalar(*test, "write `test: GET`")) {
        m.test = t->value;
      }
      break;
    case metric_source::regex:
      refuse(test, "remove it");
      if (!pattern) {
        diags_.error(from->pos, "metric 'regex' needs a 'pattern'", "add `pattern: 'took ([0-9.]+) ms'`");
      } else if (auto p = scalar(*pattern, "write the pattern, with one group around the figure")) {
        try {
          std::regex re(p->value, std::regex::extended);
          if (re.mark_count() < 1) {
            diags_.error(p->pos, "the pattern has no group", "put the figure in parentheses: '([0-9.]+) ops/s'");
          }
          m.pattern = p->value;
        } catch (const std::regex_error &err) {
          diags_.error(p->pos, std::string("invalid pattern: ") + err.what(), "write a POSIX extended regex");
        }
      }
      if (!better) {
        diags_.error(from->pos, "metric 'regex' needs 'better'", "add `better: higher` or `better: lower`");
      } else if (auto b = scalar(*better, "write `better: higher` or `better: lower`")) {
        if (auto j = yaml::match_enum(*b, "direction", {"higher", "lower"}, diags_)) m.higher_is_better = *j == 0;
      }
      break;
  }
  if (const entry *u = yaml::find(*keys, "unit")) {
    if (auto t = scalar(*u, "write e.g. `unit: ops/s`")) m.unit = t->value;
  }
}

void space_parser::parse_repetitions(const entry &e) {
  auto keys = yaml::read_map(e.value, e.pos, {"'repetitions'", kRepKeys, "write `repetitions: {min: 3, max: 7, tolerance: 3%}`"}, diags_);
  if (!keys) return;
  repetition_spec &r = s_.bench.reps;
  if (const entry *k = yaml::find(*keys, "min")) {
    if (auto n = integer(*k, 1, 100, "write e.g. `min: 3`")) r.min = static_cast<int>(*n);
  }
  if (const entry *k = yaml::find(*keys, "max")) {
    if (auto n = integer(*k, 1, 100, "write e.g. `max: 7`")) r.max = static_cast<int>(*n);
  }
  if (const entry *k = yaml::find(*keys, "max_near_floor")) {
    if (auto n = integer(*k, 1, 1000, "write e.g. `max_near_floor: 15`")) r.max_near_floor = static_cast<int>(*n);
  }
  if (const entry *k = yaml::find(*keys, "tolerance")) {
    if (auto v = scalar(*k, "write e.g. `tolerance: 3%`")) {
      if (auto d = number(*v, "'tolerance'", "write e.g. `tolerance: 3%`")) r.tolerance = *d;
    }
  }
  if (r.max < r.min) {
    diags_.error(e.pos, "repetitions: 'max' (" + std::to_string(r.max) + ") is below 'min' (" + std::to_string(r.min) + ")",
                 "raise max or lower min");
  }
}

void space_parser::parse_benchmark(const entry &e) {
  auto keys = yaml::read_map(e.value, e.pos, {"'benchmark'", kBenchKeys, "write `benchmark: {command: ..., metric: ...}`"}, diags_);
  if (!keys) return;
  benchmark_spec &b = s_.bench;
  auto tmpl = [&](std::string_view key, std::string &out) {
    if (const entry *k = yaml::find(*keys, key)) {
      if (auto v = scalar(*k, "write the command as one string")) {
        if (check_template(*v)) out = v->value;
      }
    }
  };
  tmpl("server", b.server);
  tmpl("ready", b.ready);
  tmpl("command", b.command);
  if (!yaml::find(*keys, "command")) {
    diags_.error(e.pos, "'benchmark' has no 'command'", "add `command: \"...\"` (the measured command; {image} is the image)");
  }
  if (!b.ready.empty() && b.server.empty()) {
    diags_.error(yaml::find(*keys, "ready")->key_pos, "'ready' needs a 'server'", "add `server:` or remove `ready:`");
  }
  if (const entry *k = yaml::find(*keys, "metric")) {
    parse_metric(*k);
  } else {
    diags_.error(e.pos, "'benchmark' has no 'metric'", "add `metric: {from: time}`");
  }
  if (const entry *k = yaml::find(*keys, "repetitions")) parse_repetitions(*k);
  if (const entry *k = yaml::find(*keys, "timeout_s")) {
    if (auto n = integer(*k, 1, 86400, "write seconds, e.g. `timeout_s: 120`")) b.timeout_s = static_cast<double>(*n);
  }
}

void space_parser::parse_requirement(const YAML::Node &item, const source_pos &fallback) {
  source_pos pos = yaml::pos_of(item, fallback);
  auto keys =
      yaml::read_map(item, pos, {"a requirement", kRequirementKeys, std::string(kRequirementShapes)}, diags_);
  if (!keys) return;
  const entry *sep = yaml::find(*keys, "separate");
  const entry *har = yaml::find(*keys, "harden");
  const entry *lock = yaml::find(*keys, "lockdown");
  if ((sep != nullptr) + (har != nullptr) + (lock != nullptr) != 1) {
    diags_.error(pos, "a requirement needs exactly one of 'separate', 'harden' and 'lockdown'",
                 std::string(kRequirementShapes));
    return;
  }
  if (const entry *by = yaml::find(*keys, "by"); by && !sep) {
    diags_.error(by->key_pos, "'by' belongs to 'separate'", "remove it");
  }
  if (const entry *w = yaml::find(*keys, "with"); w && !har) {
    diags_.error(w->key_pos, "'with' belongs to 'harden'", "remove it");
  }
  if (sep) {
    parse_separation_req(*keys, *sep);
  } else if (har) {
    parse_hardening_req(*keys, *har);
  } else {
    parse_lockdown_req(*lock);
  }
}

void space_parser::parse_separation_req(const std::vector<entry> &keys, const entry &sep) {
  auto libs = yaml::read_scalar_list(sep, diags_);
  if (!libs) return;
  if (libs->size() != 2) {
    diags_.error(sep.pos, "'separate' names two libraries", "write `separate: [redis, net]`");
    return;
  }
  if (!check_library((*libs)[0], false) || !check_library((*libs)[1], false)) return;
  separation_req r{s_.index_of((*libs)[0].value), s_.index_of((*libs)[1].value), isolation::none, sep.pos};
  if (r.a == r.b) {
    diags_.error(sep.pos, "these two libraries always share a compartment",
                 "a library not in `libraries` stays with '" +
                     s_.libraries[static_cast<std::size_t>(s_.default_lib)] + "'; place both");
    return;
  }
  if (const entry *by = yaml::find(keys, "by")) {
    auto v = scalar(*by, "write one of: " + yaml::join(kIsolations));
    if (!v) return;
    auto i = yaml::match_enum(*v, "isolation mechanism", kIsolations, diags_);
    if (!i) return;
    r.by = static_cast<isolation>(*i);
    if (s_.mechanisms.empty() || s_.mechanisms.back() < r.by) {
      diags_.error(v->pos, "no allowed mechanism is as strong as " + quote(v->value),
                   "add it to `mechanisms` or ask for less");
      return;
    }
  }
  s_.q.separate.push_back(r);
}

void space_parser::parse_hardening_req(const std::vector<entry> &keys, const entry &har) {
  auto lib = scalar(har, "write `harden: <library>`");
  if (!lib || !check_library(*lib, false)) return;
  hardening_req r{s_.index_of(lib->value), 0, har.pos};
  const entry *with = yaml::find(keys, "with");
  if (!with) {
    diags_.error(har.pos, "'harden' needs 'with'", "add `with: [asan]`");
    return;
  }
  auto h = hardening_choice(with->value, with->pos);
  if (!h) return;
  r.with = *h;
  const auto &choices = s_.hardening[static_cast<std::size_t>(r.lib)];
  if (std::none_of(choices.begin(), choices.end(), [&](hardening_set c) { return (c & r.with) == r.with; })) {
    diags_.error(with->pos, "no hardening choice of " + quote(s_.libraries[static_cast<std::size_t>(r.lib)]) +
                                " includes " + quote(hardening_text(r.with)),
                 "add such a choice under `hardening:`");
    return;
  }
  s_.q.harden.push_back(r);
}

// A configuration meets `{lockdown: log}` under log or enforce: the order's, not equality.
void space_parser::parse_lockdown_req(const entry &lock) {
  auto v = scalar(lock, "write one of: " + yaml::join(kLockdowns));
  if (!v) return;
  auto i = yaml::match_enum(*v, "lockdown mode", kLockdowns, diags_);
  if (!i) return;
  auto mode = static_cast<lockdown_mode>(*i);
  if (s_.lockdowns.back() < mode) {
    diags_.error(v->pos, "no lockdown the space offers is as strong as " + quote(v->value),
                 "add it to `lockdown` or ask for less");
    return;
  }
  s_.q.lockdown.push_back({mode, lock.pos});
}

void space_parser::parse_question(const entry &e) {
  auto keys = yaml::read_map(e.value, e.pos, {"'question'", kQuestionKeys, "write `question: {goal: fastest}`"}, diags_);
  if (!keys) return;
  const entry *g = yaml::find(*keys, "goal");
  if (!g) {
    diags_.error(e.pos, "'question' has no 'goal'", "add `goal: fastest` or `goal: most-secure`");
    return;
  }
  auto v = scalar(*g, "write `goal: fastest` or `goal: most-secure`");
  if (!v) return;
  auto i = yaml::match_enum(*v, "goal", kGoals, diags_);
  if (!i) return;
  s_.q.g = static_cast<goal>(*i);
  const entry *f = yaml::find(*keys, "floor");
  if (s_.q.g == goal::fastest && f) {
    diags_.error(f->key_pos, "'floor' belongs to goal 'most-secure'",
                 "remove it, or write `goal: most-secure`; `fastest` takes security constraints under `require`");
  } else if (s_.q.g == goal::most_secure && !f) {
    diags_.error(g->pos, "goal 'most-secure' needs a 'floor'",
                 "add `floor: 50%` (of the one-compartment baseline) or an absolute figure, e.g. `floor: 40000`");
  } else if (f) {
    if (auto fv = scalar(*f, "write e.g. `floor: 50%`")) {
      if (auto d = number(*fv, "'floor'", "write e.g. `floor: 50%` or `floor: 40000`")) {
        bool rel = fv->value.back() == '%';
        if (rel && *d > 1.0) {
          diags_.error(fv->pos, "a relative floor above 100% excludes the baseline itself", "write at most 100%");
        }
        s_.q.floor = floor_spec{rel, *d, fv->pos};
      }
    }
  }
  if (const entry *r = yaml::find(*keys, "require")) {
    if (r->value.IsNull()) return;
    if (!r->value.IsSequence()) {
      diags_.error(r->pos, "'require' must be a list", "write `require: [{separate: [a, b], by: mpk}]`");
      return;
    }
    for (const YAML::Node &item : r->value) parse_requirement(item, r->pos);
  }
}

bool space_parser::parse(std::string_view text, const std::optional<fs::path> &root) {
  auto node = yaml::parse_document(path_, text, diags_);
  if (!node) return false;
  if (!node->IsMap()) {
    diags_.error(yaml::pos_of(*node, at()), "a space file must be a map", "start with `name: <space name>`");
    return false;
  }
  auto keys = yaml::read_map(*node, at(), {"the space file", kTopKeys, ""}, diags_);
  if (!keys) return false;
  s_.root = root ? fs::absolute(*root) : find_root(s_.file);
  s_.mechanisms = {isolation::none, isolation::mpk, isolation::process};

  auto required = [&](std::string_view key, std::string_view hint) -> const entry * {
    const entry *k = yaml::find(*keys, key);
    if (!k) diags_.error(at(), "the space file has no " + quote(key), std::string(hint));
    return k;
  };
  if (const entry *k = required("name", "add `name: <space name>`")) {
    if (auto v = scalar(*k, "write `name: <space name>`")) {
      if (!yaml::is_name(v->value)) {
        diags_.error(v->pos, "space name " + quote(v->value) + " is not a valid name",
                     "use lower-case letters, digits and '_', starting with a letter");
      }
      s_.name = v->value;
    }
  }
  const entry *app = required("app", "add `app: <application>`, e.g. `app: hello`");
  if (app) {
    if (auto v = scalar(*app, "write `app: <application>`")) s_.app = v->value;
  }
  if (diags_.has_errors()) return false;
  if (!load_libraries()) {
    if (!diags_.has_errors()) {
      std::vector<std::string> apps;
      for (const auto &[n, l] : index_.all()) {
        if (l.kind == build::lib_kind::app) apps.push_back(n);
      }
      diags_.error(app->pos, "unknown app " + quote(s_.app), yaml::suggest(s_.app, apps, "apps"));
    }
    return false;
  }
  const entry *libs = required("libraries", "add `libraries: [...]`: the libraries to place");
  if (libs) parse_libraries(*libs);
  if (!libs_ok_) return false;
  s_.hardening.assign(s_.libraries.size(), {hardening_set{0}});
  for (const std::string &l : closure_) {
    if (s_.index_of(l) < 0) s_.rest.push_back(l);
  }
  s_.default_lib = static_cast<int>(s_.libraries.size()) - 1;
  if (const entry *k = yaml::find(*keys, "default")) {
    if (auto v = scalar(*k, "write `default: <library>`")) {
      if (check_library(*v, true)) s_.default_lib = s_.index_of(v->value);
    }
  }
  s_.max_compartments = static_cast<int>(s_.libraries.size());
  if (const entry *k = yaml::find(*keys, "max_compartments")) {
    if (auto n = integer(*k, 1, static_cast<long>(s_.libraries.size()),
                         "at most one compartment per placed library (" + std::to_string(s_.libraries.size()) + ")")) {
      s_.max_compartments = static_cast<int>(*n);
    }
  }
  if (const entry *k = yaml::find(*keys, "mechanisms")) parse_mechanisms(*k);
  if (const entry *k = yaml::find(*keys, "hardening")) parse_hardening(*k);
  if (const entry *k = yaml::find(*keys, "lockdown")) parse_lockdowns(*k);
  if (const entry *k = yaml::find(*keys, "sharing")) parse_passthrough(*k, "stack", {"dss", "heap", "shared"}, s_.stack_sharing);
  if (const entry *k = yaml::find(*keys, "gates")) parse_passthrough(*k, "mpk", {"full", "light"}, s_.mpk_gate);
  if (const entry *k = yaml::find(*keys, "memory")) parse_memory(*k);
  if (const entry *k = required("benchmark", "add `benchmark: {command: ..., metric: ...}`")) parse_benchmark(*k);
  if (const entry *k = required("question", "add `question: {goal: fastest}`")) parse_question(*k);
  if (s_.bench.metric.from == metric_source::time && s_.q.floor && !s_.q.floor->relative) {
    // An absolute limit on a time is a ceiling; say so in reports, nothing to check.
  }
  return !diags_.has_errors();
}

}  // namespace

std::string hardening_text(hardening_set h, std::string_view empty) {
  std::string out;
  for (const std::string &n : hardening_names(h)) out += (out.empty() ? "" : "+") + n;
  return out.empty() ? std::string(empty) : out;
}

std::vector<std::string> hardening_names(hardening_set h) {
  std::vector<std::string> out;
  for (int i = 0; i < kHardeningCount; ++i) {
    if (h & (1u << i)) out.emplace_back(build::to_string(static_cast<build::hardening>(i)));
  }
  return out;
}

std::string benchmark_spec::fingerprint() const {
  std::ostringstream o;
  o << "server=" << server << "\nready=" << ready << "\ncommand=" << command << "\nmetric="
    << static_cast<int>(metric.from) << "/" << metric.test << "/" << metric.pattern << "/" << metric.higher_is_better;
  return o.str();
}

int space::index_of(std::string_view library) const {
  for (std::size_t i = 0; i < libraries.size(); ++i) {
    if (libraries[i] == library) return static_cast<int>(i);
  }
  if (std::find(rest.begin(), rest.end(), library) != rest.end()) return default_lib;
  return -1;
}

bool space::allows(isolation m) const {
  return std::find(mechanisms.begin(), mechanisms.end(), m) != mechanisms.end();
}

bool space::offers(lockdown_mode m) const {
  return std::find(lockdowns.begin(), lockdowns.end(), m) != lockdowns.end();
}

std::optional<space> parse_space(const fs::path &file, std::string_view text, const std::optional<fs::path> &root,
                                 diag_sink &diags) {
  const int before = diags.error_count();
  try {
    space_parser p(file, diags);
    if (p.parse(text, root) && diags.error_count() == before) return p.take();
  } catch (const std::exception &e) {
    diags.error({file.string(), 0, 0}, std::string("cannot read the space file: ") + e.what());
  }
  return std::nullopt;
}

std::optional<space> load_space(const fs::path &file, const std::optional<fs::path> &root, diag_sink &diags) {
  auto text = build::read_file(file);
  if (!text) {
    diags.error({file.string(), 0, 0}, "cannot open " + file.string() + ": " + std::strerror(errno),
                "check that the space file exists and is readable");
    return std::nullopt;
  }
  return parse_space(file, *text, root, diags);
}

}  // namespace flex::explore
