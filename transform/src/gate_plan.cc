#include "flex/transform/gate_plan.h"

#include <llvm/ADT/StringRef.h>
#include <llvm/Support/MemoryBuffer.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>

namespace flex::transform {
namespace {

using json = nlohmann::json;

constexpr std::pair<gate_kind, std::string_view> kGateKindNames[] = {
    {gate_kind::call, "call"},
    {gate_kind::mpk_light, "mpk-light"},
    {gate_kind::mpk_full, "mpk-full"},
    {gate_kind::process, "process"},
};

// 1-based line and column of a byte offset, for JSON syntax errors.
std::pair<unsigned, unsigned> line_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  unsigned line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// Reads the fields of one JSON object, reporting what is missing or mistyped under a dotted key path
// ("targets.console.gate") so the message says exactly where the plan is wrong.
class object_reader {
 public:
  object_reader(const json &object, std::string where, const std::string &path, diag_log &log)
      : object_(object), where_(std::move(where)), path_(path), log_(log) {
    if (!object_.is_object()) fail(where_.empty() ? "the plan must be a JSON object" : "expected an object");
  }

  bool ok() const { return ok_; }

  std::string string(const char *key) {
    const json *value = find(key);
    if (value && !value->is_string()) fail_key(key, "expected a string");
    return value && value->is_string() ? value->get<std::string>() : std::string();
  }

  std::vector<std::string> strings(const char *key) {
    std::vector<std::string> out;
    const json *value = find(key);
    if (!value) return out;
    if (!value->is_array()) {
      fail_key(key, "expected an array of strings");
      return out;
    }
    for (const json &item : *value) {
      if (!item.is_string()) {
        fail_key(key, "expected an array of strings");
        return {};
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  // An optional string: `fallback` when the key is absent.
  std::string optional_string(const char *key, std::string fallback) {
    if (!object_.is_object() || !object_.contains(key)) return fallback;
    return string(key);
  }

  const json *object(const char *key) {
    const json *value = find(key);
    if (value && !value->is_object()) {
      fail_key(key, "expected an object");
      return nullptr;
    }
    return value;
  }

  std::string key_path(std::string_view key) const {
    return where_.empty() ? std::string(key) : where_ + "." + std::string(key);
  }

  void fail_key(std::string_view key, std::string_view message) {
    fail(key_path(key) + ": " + std::string(message));
  }

 private:
  const json *find(const char *key) {
    if (!object_.is_object()) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end()) {
      fail("missing key '" + key_path(key) + "'");
      return nullptr;
    }
    return &*it;
  }

  void fail(std::string message) {
    ok_ = false;
    log_.report({.file = path_, .message = std::move(message)});
  }

  const json &object_;
  std::string where_;
  const std::string &path_;
  diag_log &log_;
  bool ok_ = true;
};

std::optional<gate_target> read_target(const std::string &name, const json &value, const std::string &path,
                                       diag_log &log) {
  object_reader reader(value, "targets." + name, path, log);
  gate_target target;
  target.library = name;
  target.compartment = reader.string("compartment");
  target.exports = reader.strings("exports");
  std::string gate = reader.string("gate");
  if (reader.ok()) {
    if (std::optional<gate_kind> kind = parse_gate_kind(gate)) {
      target.gate = *kind;
    } else {
      reader.fail_key("gate",
                      "unknown gate kind '" + gate + "'; expected one of call, mpk-light, mpk-full, process");
    }
  }
  if (!reader.ok()) return std::nullopt;
  return target;
}

}  // namespace

std::string_view to_string(gate_kind kind) {
  for (const auto &[k, name] : kGateKindNames) {
    if (k == kind) return name;
  }
  return "call";
}

std::optional<gate_kind> parse_gate_kind(std::string_view name) {
  for (const auto &[kind, spelling] : kGateKindNames) {
    if (spelling == name) return kind;
  }
  return std::nullopt;
}

bool gate_target::exports_function(std::string_view name) const {
  return std::find(exports.begin(), exports.end(), name) != exports.end();
}

const gate_target *gate_plan::find_gate_library(std::string_view gate_name) const {
  if (!gate_name.starts_with("lib")) return nullptr;
  auto it = targets.find(gate_name.substr(3));
  return it == targets.end() ? nullptr : &it->second;
}

std::vector<std::string> gate_plan::gate_library_names() const {
  std::vector<std::string> names;
  for (const auto &[name, target] : targets) names.push_back("lib" + name);
  return names;
}

std::optional<gate_plan> parse_gate_plan(std::string_view text, const std::string &path, diag_log &log) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error &error) {
    // nlohmann's byte is one past the offending character.
    auto [line, column] = line_column(text, error.byte > 0 ? error.byte - 1 : 0);
    std::string message = error.what();
    if (auto colon = message.find(": "); message.starts_with("[json.exception") && colon != std::string::npos)
      message = message.substr(colon + 2);
    log.report({.file = path, .line = line, .column = column, .message = "invalid JSON: " + message});
    return std::nullopt;
  }

  gate_plan plan;
  plan.path = path;
  object_reader reader(document, "", path, log);
  plan.library = reader.string("library");
  plan.compartment = reader.string("compartment");
  plan.isolation = reader.optional_string("isolation", "none");
  if (plan.isolation != "none" && plan.isolation != "mpk" && plan.isolation != "process")
    reader.fail_key("isolation", "expected \"none\", \"mpk\" or \"process\"");
  if (const json *sharing = reader.object("sharing")) {
    for (const auto &[key, value] : sharing->items()) {
      if (value.is_string())
        plan.sharing[key] = value.get<std::string>();
      else
        reader.fail_key("sharing." + key, "expected a string");
    }
  }
  bool ok = reader.ok();
  if (const json *targets = reader.object("targets")) {
    for (const auto &[name, value] : targets->items()) {
      std::optional<gate_target> target = read_target(name, value, path, log);
      if (target)
        plan.targets.emplace(name, std::move(*target));
      else
        ok = false;
    }
  }
  if (!ok || !reader.ok()) return std::nullopt;
  return plan;
}

std::optional<gate_plan> load_gate_plan(const std::string &path, diag_log &log) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    log.report({.file = path, .message = "cannot read the plan: " + buffer.getError().message()});
    return std::nullopt;
  }
  return parse_gate_plan((*buffer)->getBuffer(), path, log);
}

std::optional<std::string> nearest_name(std::string_view name, const std::vector<std::string> &candidates) {
  std::optional<std::string> best;
  unsigned best_distance = 0;
  // As clang's typo correction: at most one edit in three characters.
  unsigned limit = std::max<unsigned>(1, static_cast<unsigned>(name.size()) / 3);
  for (const std::string &candidate : candidates) {
    unsigned distance = llvm::StringRef(name).edit_distance(candidate, true, limit + 1);
    if (distance <= limit && (!best || distance < best_distance)) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace flex::transform
