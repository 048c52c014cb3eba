// Reads an image's section headers and symbols back from the ELF file (flex::elf), so flexbuild checks and
// reports what the linker actually produced rather than what it asked for.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace flex::build {

struct elf_section {
  std::string name;
  std::uint64_t addr = 0;
  std::uint64_t size = 0;
  std::uint64_t align = 0;
  std::uint64_t flags = 0;  // SHF_*
  std::uint32_t type = 0;   // SHT_*
};

struct elf_info {
  std::vector<elf_section> sections;
  std::map<std::string, std::uint64_t> symbols;  // .symtab, defined symbols only
  bool pie = false;

  const elf_section *find_section(std::string_view name) const;
};

std::optional<elf_info> read_elf(const std::filesystem::path &file, std::string *error);

}  // namespace flex::build
