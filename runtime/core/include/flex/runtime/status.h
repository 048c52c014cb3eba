// The runtime's one error style: a value that is either success or a message for people (what failed and
// why, in words), returned by every backend's boot and by the steps it is made of.
//
//   flex::runtime::status s = flex::runtime::mpk_boot(flex_image);
//   if (!s.ok()) fprintf(stderr, "flex: %s\n", s.message().c_str());
//   return flex::runtime::status::error("cannot map the shared arena: " + errno_text(errno));
#pragma once

#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace flex::runtime {

class [[nodiscard]] status {
 public:
  status() = default;  // success
  static status error(std::string message) {
    status s;
    s.message_ = message.empty() ? std::string("failed (no reason given)") : std::move(message);
    return s;
  }
  // What failed, with the text of an errno value (positive): "cannot map the shared arena: Out of memory".
  static status from_errno(const std::string &what, int err) { return error(what + ": " + std::strerror(err)); }
  // The helpers that return an optional message (nothing: success) convert as they are.
  static status from(std::optional<std::string> err) { return err ? error(std::move(*err)) : status(); }

  bool ok() const { return message_.empty(); }
  const std::string &message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace flex::runtime
