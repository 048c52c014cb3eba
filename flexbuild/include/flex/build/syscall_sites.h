// Where a function's machine code makes a system call itself, and with which number: `syscall`
// instructions (the number in %eax) and calls to libc's syscall() (the number in %edi), for the
// system-call check (syscall_scan.h). x86-64 is decoded by LLVM's disassembler, loaded on first use
// (libLLVM-19, the library flex-transform runs on), so a build whose objects hold no such site never
// loads it.
//
//   flex::build::site_finder finder;
//   std::string error;
//   auto sites = finder.syscall_instructions(code, &error);   // code: one function section's bytes
//   for (const auto &s : *sites) printf("%#lx: %d\n", s.offset, s.number);   // -1: number not found
//
// The number is what the nearest instruction before the site that writes the register puts there: a
// `mov $N` (or `xor` of the register with itself, 0). Anything else that writes it, a branch or a call
// in between, or the start of the code leaves the number unknown (-1). A jump from elsewhere into the
// instructions between is not seen: compilers load the number right before the instruction.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace flex::build {

struct syscall_site {
  std::uint64_t offset = 0;  // of the instruction, in the code given
  int number = -1;           // the system call's number; -1 when it cannot be found
};

class site_finder {
 public:
  site_finder();
  ~site_finder();
  site_finder(const site_finder &) = delete;
  site_finder &operator=(const site_finder &) = delete;

  // Every `syscall` instruction of `code`, decoded from its start. nullopt with a message when the
  // disassembler cannot be loaded.
  std::optional<std::vector<syscall_site>> syscall_instructions(std::span<const std::uint8_t> code,
                                                                std::string *error);
  // The number passed in %edi by the call (or tail-call jump) whose rel32 field is at `field_offset`.
  std::optional<syscall_site> syscall_function_call(std::span<const std::uint8_t> code, std::uint64_t field_offset,
                                                    std::string *error);

 private:
  struct instruction {
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::string text;  // AT&T syntax, e.g. "movl $39, %eax"
  };
  bool load(std::string *error);
  std::vector<instruction> decode(std::span<const std::uint8_t> code);

  void *library_ = nullptr;
  void *context_ = nullptr;
  std::size_t (*disasm_)(void *, std::uint8_t *, std::uint64_t, std::uint64_t, char *, std::size_t) = nullptr;
  void (*dispose_)(void *) = nullptr;
};

// Whether `code` holds the bytes of a `syscall` instruction anywhere (0F 05): the cheap test before
// decoding.
bool may_hold_syscall_instruction(std::span<const std::uint8_t> code);

// The value the instructions before `index` leave in `reg` ("eax" or "edi", which also stand for
// their wider and narrower forms), or -1: the backward search described above, on decoded text.
int register_value_before(const std::vector<std::string> &instructions, std::size_t index, std::string_view reg);

}  // namespace flex::build
