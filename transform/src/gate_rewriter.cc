#include "flex/transform/gate_rewriter.h"

#include <clang/Basic/SourceManager.h>

#include <algorithm>
#include <cctype>

namespace flex::transform {
namespace {

std::string did_you_mean(const std::optional<std::string> &hint) {
  return hint ? "; did you mean '" + *hint + "'?" : std::string();
}

bool is_identifier(std::string_view text) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  return !text.empty() && !std::isdigit(static_cast<unsigned char>(text[0])) &&
         std::all_of(text.begin(), text.end(), word);
}

// The offset of the comma in `gap` (text between two macro arguments: blanks, comments and one comma).
std::size_t find_comma(std::string_view gap) {
  for (std::size_t i = 0; i < gap.size();) {
    std::string_view rest = gap.substr(i);
    if (rest.starts_with("/*")) {
      std::size_t close = rest.find("*/");
      i += close == std::string_view::npos ? rest.size() : close + 2;
    } else if (rest.starts_with("//")) {
      i += std::min(rest.size(), rest.find('\n'));
    } else if (rest.front() == ',') {
      return i;
    } else {
      ++i;
    }
  }
  return std::string_view::npos;
}

enum class after_joiner { no_blanks, space };

// Keeps the text between two kept pieces of a gate (so its line breaks and comments stay) with the comma
// that separated the macro's arguments replaced by `joiner`, then no blanks or at least one space.
std::string rejoin(std::string_view gap, std::string_view joiner, after_joiner after) {
  std::size_t comma = find_comma(gap);
  if (comma == std::string_view::npos) return std::string(joiner) + std::string(gap);
  std::string_view rest = gap.substr(comma + 1);
  if (after == after_joiner::no_blanks)
    rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t")));
  std::string out(gap.substr(0, comma));
  out += joiner;
  if (after == after_joiner::space &&
      (rest.empty() || !std::isspace(static_cast<unsigned char>(rest.front()))))
    out += ' ';
  out += rest;
  return out;
}

// Kind `call`: the callee runs in the caller's compartment, or the boundary needs no protection; the gate
// is the plain call and leaves no trace in the binary. Every piece kept (ret, fn, each argument, comments
// between them) stays on its line; the dropped `flexos_gate(lib, ` leaves its line breaks behind.
//
// Before: flexos_gate(libconsole, console_write, msg, len);
// After:  console_write(msg, len);
// Before: flexos_gate_r(libnet, rc, net_recv, fd, buf, n, 0);
// After:  rc = net_recv(fd, buf, n, 0);
// Before: flexos_gate(libconsole, console_flush);
// After:  console_flush();
// Before: flexos_gate_r(libnet, rc, net_recv,
//                       fd, buf, n, /* flags */ 0);
// After:  rc = net_recv(
//                       fd, buf, n, /* flags */ 0);
// Before (used as a value): if (flexos_gate_r(libnet, rc, net_recv, fd, buf, n, 0) < 0)
// After:                     if ((rc = net_recv(fd, buf, n, 0)) < 0)
// Before (used as a value): return flexos_gate(libconsole, console_flush);
// After:                     return ((void)console_flush());
text_edit instantiate_call_gate(const gate_invocation &gate, const gate_use &use, const std::string &callee,
                                const clang::SourceManager &sm) {
  std::string_view buffer = sm.getBufferData(sm.getFileID(gate.name));
  auto offset = [&](clang::SourceLocation loc) { return sm.getFileOffset(loc); };
  auto text = [&](unsigned from, unsigned to) { return buffer.substr(from, to - from); };
  const unsigned start = offset(gate.name), end = offset(gate.end);

  // The expansion the tool parsed is `((void)(fn)(args))` or `((ret) = (fn)(args))`; keep its meaning
  // with as little punctuation as the context allows. Unknown context: keep every parenthesis.
  const bool discard_cast = !gate.has_result && !use.statement;
  const bool outer_parens = gate.has_result && !use.statement;
  const bool ret_parens = gate.has_result && !(use.found ? use.simple_ret : is_identifier(gate.ret.text));

  const source_piece &first = gate.has_result ? gate.ret : gate.fn;
  std::string call = keep_layout(text(start, offset(first.begin)));
  if (gate.has_result) {
    call += ret_parens ? "(" + gate.ret.text + ")" : gate.ret.text;
    call += rejoin(text(offset(gate.ret.end), offset(gate.fn.begin)), " =", after_joiner::space);
  }
  call += callee;
  if (gate.args.empty()) {
    call += rejoin(text(offset(gate.fn.end), end), "(", after_joiner::no_blanks);  // "()"
  } else {
    call += rejoin(text(offset(gate.fn.end), offset(gate.args.front().begin)), "(", after_joiner::no_blanks);
    for (std::size_t i = 0; i < gate.args.size(); ++i) {
      call += gate.args[i].text;
      unsigned next = i + 1 < gate.args.size() ? offset(gate.args[i + 1].begin) : end;
      call += text(offset(gate.args[i].end), next);  // ", " or, after the last one, ")"
    }
  }
  if (outer_parens) call = "(" + call + ")";
  if (discard_cast) call = "((void)" + call + ")";

  return {.offset = start,
          .length = end - start,
          .replacement = keep_lines(std::move(call), text(start, end)),
          .loc = gate.name};
}

// Kinds `mpk-light`, `mpk-full` and `process`: the call goes to the gate wrapper flexbuild generates for
// this export and the caller's compartment (`__flex_gate_<compartment>__<function>`), which runs the
// boundary's backend. The wrapper is declared in place with the callee's own type (so arguments are
// checked and converted exactly as for the plain call) and an asm label (so C++ callers need no
// `extern "C"` block); the declaration is local to a statement expression and costs nothing.
//
// Before: flexos_gate_r(libconsole, rc, console_write_line, msg, n);       (from compartment app)
// After:  rc = (__extension__({ extern __typeof__(console_write_line) __flex_gate_app__console_write_line
//             __asm__("__flex_gate_app__console_write_line"); &__flex_gate_app__console_write_line; }))(msg, n);
//         (on one line, so every line of the original keeps its number)
std::string wrapper_callee(const gate_invocation &gate, const gate_plan &plan) {
  // The local name is the wrapper's own: C links block-scope externs of one name to one entity, so two
  // gates to different functions must not share a name.
  std::string wrapper = gate_wrapper_symbol(plan.compartment, gate.fn.text);
  return "(__extension__({ extern __typeof__(" + gate.fn.text + ") " + wrapper + " __asm__(\"" + wrapper +
         "\"); &" + wrapper + "; }))";
}

}  // namespace

std::string gate_wrapper_symbol(std::string_view compartment, std::string_view function) {
  return "__flex_gate_" + std::string(compartment) + "__" + std::string(function);
}

gate_check check_gate(const gate_invocation &gate, const gate_plan &plan) {
  gate_check check;
  const gate_target *target = plan.find_gate_library(gate.lib.text);
  if (!target) {
    // Gates name libraries FlexOS-style: `libnet`, not `net`.
    std::optional<std::string> hint = plan.targets.contains(gate.lib.text)
                                          ? "lib" + gate.lib.text
                                          : nearest_name(gate.lib.text, plan.gate_library_names());
    check.problems.push_back(
        {gate.lib.begin,
         "library '" + gate.lib.text + "' named in a gate is not part of this image" + did_you_mean(hint)});
    return check;
  }
  if (!target->exports_function(gate.fn.text)) {
    check.problems.push_back({gate.fn.begin, "'" + gate.fn.text + "' is not exported by " + gate.lib.text +
                                                 did_you_mean(nearest_name(gate.fn.text, target->exports))});
  }
  if (gate.args.size() > kMaxGateArguments) {
    check.problems.push_back({gate.args[kMaxGateArguments].begin,
                              "gate to '" + gate.fn.text + "' passes " + std::to_string(gate.args.size()) +
                                  " arguments; a gate carries at most " + std::to_string(kMaxGateArguments)});
  }
  if (check.problems.empty()) check.target = target;
  return check;
}

llvm::Expected<text_edit> instantiate_gate(const gate_invocation &gate, const gate_target &target,
                                           const gate_plan &plan, const gate_use &use,
                                           const clang::SourceManager &sm) {
  switch (target.gate) {
    case gate_kind::call:
      return instantiate_call_gate(gate, use, gate.fn.text, sm);
    case gate_kind::mpk_light:
    case gate_kind::mpk_full:
    case gate_kind::process:
      return instantiate_call_gate(gate, use, wrapper_callee(gate, plan), sm);
  }
  return llvm::createStringError("gate kind '" + std::string(to_string(target.gate)) + "' for boundary " +
                                 plan.compartment + " -> " + target.compartment + " is unknown");
}

}  // namespace flex::transform
