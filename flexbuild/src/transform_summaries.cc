#include "flex/build/transform_summaries.h"

#include <fmt/format.h>

#include "flex/build/fs_util.h"

namespace flex::build {

using ordered_json = nlohmann::ordered_json;

ordered_json merge_summaries(std::string_view library, const std::vector<ordered_json> &parts) {
  ordered_json merged = {{"library", std::string(library)}};
  for (const ordered_json &part : parts) {
    for (const auto &[key, value] : part.items()) {
      auto it = merged.find(key);
      if (it == merged.end()) {
        merged[key] = value;
      } else if (it->is_array() && value.is_array()) {
        it->insert(it->end(), value.begin(), value.end());
      } else if (it->is_number_integer() && value.is_number_integer()) {
        *it = it->get<std::int64_t>() + value.get<std::int64_t>();
      }
    }
  }
  return merged;
}

namespace {

// As flex-transform renders a summary: invalid UTF-8 in a path or message is replaced, not thrown on.
std::string render(const ordered_json &summary) {
  return summary.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

std::optional<std::string> read_summary(const std::filesystem::path &path, ordered_json &out) {
  std::optional<std::string> text = read_file(path);
  if (!text) return fmt::format("cannot read the transform summary {}", path.string());
  out = ordered_json::parse(*text, nullptr, false);
  if (out.is_discarded() || !out.is_object())
    return fmt::format("the transform summary {} is not a JSON object", path.string());
  return std::nullopt;
}

}  // namespace

std::optional<std::string> library_summaries(const resolved_image &img, const std::vector<unit> &units,
                                             const image_paths &paths, std::vector<nlohmann::json> &out) {
  out.clear();
  for (const auto &c : img.compartments) {
    for (const auto *set : {&c.libraries, &c.replicated}) {
      for (const lib_manifest *lib : *set) {
        std::vector<ordered_json> parts;
        for (const unit &u : units) {
          if (u.comp != &c || u.lib != lib) continue;
          if (auto err = read_summary(u.summary, parts.emplace_back())) return err;
        }
        ordered_json merged = merge_summaries(lib->name, parts);
        if (auto err = write_if_changed(paths.summary(c.name(), lib->name), render(merged))) return err;
        nlohmann::json s = merged;
        s["compartment"] = c.name();
        out.push_back(std::move(s));
      }
    }
  }
  return std::nullopt;
}

}  // namespace flex::build
