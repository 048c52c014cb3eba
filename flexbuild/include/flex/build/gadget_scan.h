// The gadget scanner: finds every byte sequence that would change PKRU if execution reached it, outside the
// ranges where Flex's own gates live (DESIGN.md §8; ERIM's binary inspection).
//
//   std::vector<flex::build::gadget_hit> hits;
//   if (auto err = flex::build::scan_elf_file("build/images/redis-3comp/redis", hits)) die(*err);
//   for (const auto &h : hits) printf("%s at %#lx in %s\n", to_string(h.kind), h.address, h.where.c_str());
//
// What counts is flex/pku/gadgets.h's: WRPKRU, XRSTOR[64], XRSTORS[64] at every byte offset.
// ELF input: an executable or shared object is scanned by its executable PT_LOAD segments (what is mapped
// executable at run time, whatever the section table says); a relocatable object by its SHF_EXECINSTR
// sections. Sections named in `allowed_sections` are the allowed ranges. The file is read through flex::elf.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flex/pku/gadgets.h"

namespace flex::build {

using gadget_kind = pku::gadget_kind;
const char *to_string(gadget_kind k);

struct gadget_hit {
  std::uint64_t offset = 0;   // of the first byte (REX prefix included): into the bytes, or into the file
  std::uint64_t address = 0;  // base + offset: the virtual address (ELF executables), the offset within its
                              // section (relocatable objects)
  gadget_kind kind = gadget_kind::wrpkru;
  unsigned length = 0;  // bytes matched: 3, or 4 with a REX prefix (ModRM displacements not counted)
  std::string where;    // ELF scans: the section holding it, or "segment N"
  std::string function;  // ELF scans: the function symbol (.symtab) whose code holds it, "" if none
};

struct byte_range {
  std::uint64_t begin = 0, end = 0;  // [begin, end), in the same address space as gadget_hit::address
};

// Scans `bytes`, mapped at `base`. A hit lying entirely inside an allowed range is not reported.
std::vector<gadget_hit> scan_bytes(std::span<const std::uint8_t> bytes, std::uint64_t base,
                                   std::span<const byte_range> allowed = {});

struct elf_scan_options {
  // .flex.gates.text: the output section of an image; .text.flex_gates: the input section (objects).
  std::vector<std::string> allowed_sections = {".flex.gates.text", ".text.flex_gates"};
};

// Appends the hits of an ELF64 x86-64 file (in memory / on disk); an error for anything else.
std::optional<std::string> scan_elf(std::span<const std::uint8_t> file, std::vector<gadget_hit> &hits,
                                    const elf_scan_options &opt = {});
std::optional<std::string> scan_elf_file(const std::string &path, std::vector<gadget_hit> &hits,
                                         const elf_scan_options &opt = {});

}  // namespace flex::build
