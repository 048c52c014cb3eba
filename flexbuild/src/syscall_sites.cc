// System-call sites in machine code (see syscall_sites.h): LLVM's x86-64 disassembler through its C API,
// opened with dlopen so that flexbuild starts without libLLVM and loads it only for code that needs it.
#include "flex/build/syscall_sites.h"

#include <dlfcn.h>
#include <llvm-c/Disassembler.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>

#ifndef FLEX_LLVM_LIBRARY
#define FLEX_LLVM_LIBRARY "libLLVM-19.so"
#endif

namespace flex::build {

namespace {

constexpr std::size_t kLookBack = 16;  // instructions searched before a site for its number

std::string_view mnemonic_of(std::string_view text) {
  return text.substr(0, text.find(' '));
}

// "movl $39, %eax" -> {"$39", "%eax"}; memory operands hold commas but no ", ".
std::vector<std::string_view> operands_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t space = text.find(' ');
  if (space == std::string_view::npos) return out;
  std::string_view rest = text.substr(space + 1);
  for (std::size_t comma; (comma = rest.find(", ")) != std::string_view::npos; rest.remove_prefix(comma + 2)) {
    out.push_back(rest.substr(0, comma));
  }
  if (!rest.empty()) out.push_back(rest);
  return out;
}

bool names_register(std::string_view operand, std::string_view reg) {
  static constexpr std::array<std::array<std::string_view, 5>, 2> kAliases = {{
      {"%eax", "%rax", "%ax", "%al", "%ah"},
      {"%edi", "%rdi", "%di", "%dil", "%dil"},
  }};
  for (const auto &family : kAliases) {
    if (family[0].substr(1) != reg) continue;
    return std::find(family.begin(), family.end(), operand) != family.end();
  }
  return false;
}

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(), [&](std::string_view p) { return s.rfind(p, 0) == 0; });
}

// Instructions that write %eax or %edi without naming it as their last operand.
bool writes_implicitly(std::string_view text, std::string_view reg) {
  std::string_view m = mnemonic_of(text);
  if (starts_with_any(m, {"xchg", "xadd", "cmpxchg"})) return true;
  if (reg == "eax") {
    if (m == "cpuid" || m == "rdtsc" || m == "rdtscp" || m == "rdpkru" || m == "cwtl" || m == "cbtw" || m == "inb" ||
        m == "inw" || m == "inl") {
      return true;
    }
    return starts_with_any(m, {"mul", "div", "idiv", "lods"}) || (m.rfind("imul", 0) == 0 && operands_of(text).size() == 1);
  }
  return text.find("%es:") != std::string_view::npos;  // string instructions move %rdi
}

std::optional<int> immediate(std::string_view operand) {
  if (operand.empty() || operand[0] != '$') return std::nullopt;
  operand.remove_prefix(1);
  int base = 10;
  if (operand.rfind("0x", 0) == 0) {
    operand.remove_prefix(2);
    base = 16;
  }
  int value = -1;
  auto [end, ec] = std::from_chars(operand.data(), operand.data() + operand.size(), value, base);
  if (ec != std::errc() || end != operand.data() + operand.size()) return std::nullopt;
  return value;
}

}  // namespace

int register_value_before(const std::vector<std::string> &instructions, std::size_t index, std::string_view reg) {
  for (std::size_t back = 1; back <= std::min(index, kLookBack); ++back) {
    std::string_view text = instructions[index - back];
    std::string_view m = mnemonic_of(text);
    if (m.empty() || m[0] == 'j' || starts_with_any(m, {"call", "ret", "syscall", "(bad)"})) return -1;
    if (writes_implicitly(text, reg)) return -1;
    auto ops = operands_of(text);
    if (ops.empty() || !names_register(ops.back(), reg)) continue;
    // The instruction writes the register: only a constant load tells its value.
    if (ops.size() == 2 && starts_with_any(m, {"mov"}) && !starts_with_any(m, {"movs", "movz"})) {
      auto v = immediate(ops[0]);
      return v && *v >= 0 && *v < 4096 ? *v : -1;
    }
    if (ops.size() == 2 && m.rfind("xor", 0) == 0 && ops[0] == ops[1]) return 0;
    return -1;
  }
  return -1;
}

bool may_hold_syscall_instruction(std::span<const std::uint8_t> code) {
  const std::uint8_t *p = code.data(), *end = code.data() + code.size();
  while (p + 1 < end) {
    p = static_cast<const std::uint8_t *>(std::memchr(p, 0x0f, static_cast<std::size_t>(end - p - 1)));
    if (!p) return false;
    if (p[1] == 0x05) return true;
    ++p;
  }
  return false;
}

site_finder::site_finder() = default;

site_finder::~site_finder() {
  if (context_ && dispose_) dispose_(context_);
  // libLLVM stays loaded: its static destructors would run at dlclose for nothing.
}

bool site_finder::load(std::string *error) {
  if (context_) return true;
  auto fail = [&](std::string why) {
    if (error) *error = "cannot load LLVM's disassembler from " FLEX_LLVM_LIBRARY ": " + why;
    return false;
  };
  if (!library_) library_ = ::dlopen(FLEX_LLVM_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  if (!library_) return fail(::dlerror());
  auto symbol = [&](const char *name) { return ::dlsym(library_, name); };
  for (const char *init : {"LLVMInitializeX86TargetInfo", "LLVMInitializeX86TargetMC", "LLVMInitializeX86Disassembler"}) {
    void *fn = symbol(init);
    if (!fn) return fail(std::string("no ") + init);
    reinterpret_cast<void (*)()>(fn)();
  }
  auto create = reinterpret_cast<decltype(&LLVMCreateDisasm)>(symbol("LLVMCreateDisasm"));
  disasm_ = reinterpret_cast<decltype(disasm_)>(symbol("LLVMDisasmInstruction"));
  dispose_ = reinterpret_cast<decltype(dispose_)>(symbol("LLVMDisasmDispose"));
  if (!create || !disasm_ || !dispose_) return fail("its C API is incomplete");
  context_ = create("x86_64-pc-linux-gnu", nullptr, 0, nullptr, nullptr);
  if (!context_) return fail("no x86-64 target");
  return true;
}

std::vector<site_finder::instruction> site_finder::decode(std::span<const std::uint8_t> code) {
  std::vector<instruction> out;
  char text[256];
  for (std::uint64_t at = 0; at < code.size();) {
    // The C API takes a mutable pointer but only reads the bytes.
    std::size_t n = disasm_(context_, const_cast<std::uint8_t *>(code.data() + at), code.size() - at, at, text, sizeof text);
    instruction ins{at, n ? n : 1, n ? text : "(bad)"};
    // "\tmovl\t$39, %eax" -> "movl $39, %eax"
    std::replace(ins.text.begin(), ins.text.end(), '\t', ' ');
    ins.text.erase(0, ins.text.find_first_not_of(' '));
    out.push_back(std::move(ins));
    at += out.back().size;
  }
  return out;
}

std::optional<std::vector<syscall_site>> site_finder::syscall_instructions(std::span<const std::uint8_t> code,
                                                                           std::string *error) {
  if (!load(error)) return std::nullopt;
  std::vector<instruction> decoded = decode(code);
  std::vector<std::string> texts;
  texts.reserve(decoded.size());
  for (const auto &i : decoded) texts.push_back(i.text);
  std::vector<syscall_site> sites;
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    if (texts[i] == "syscall") sites.push_back({decoded[i].offset, register_value_before(texts, i, "eax")});
  }
  return sites;
}

std::optional<syscall_site> site_finder::syscall_function_call(std::span<const std::uint8_t> code,
                                                               std::uint64_t field_offset, std::string *error) {
  if (!load(error)) return std::nullopt;
  std::vector<instruction> decoded = decode(code);
  std::vector<std::string> texts;
  texts.reserve(decoded.size());
  for (const auto &i : decoded) texts.push_back(i.text);
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    if (field_offset <= decoded[i].offset || field_offset >= decoded[i].offset + decoded[i].size) continue;
    return syscall_site{decoded[i].offset, register_value_before(texts, i, "edi")};
  }
  return syscall_site{field_offset, -1};
}

}  // namespace flex::build
