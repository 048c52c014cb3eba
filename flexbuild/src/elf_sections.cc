#include "flex/build/elf_sections.h"

#include "flex/elf/elf.h"

namespace flex::build {

const elf_section *elf_info::find_section(std::string_view name) const {
  for (const auto &s : sections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::optional<elf_info> read_elf(const std::filesystem::path &file, std::string *error) {
  std::string why;
  auto f = flex::elf::file::open(file.string(), &why);
  if (!f) {
    if (error) *error = file.string() + ": " + why;
    return std::nullopt;
  }
  elf_info info;
  info.pie = f->type() == flex::elf::file_type::shared_object;
  for (const flex::elf::section &s : f->sections()) {
    info.sections.push_back({s.name, s.addr, s.size, s.align, s.flags, s.type});
  }
  for (const flex::elf::symbol &sym : f->symbols()) {
    if (sym.defined()) info.symbols.emplace(sym.name, sym.value);
  }
  return info;
}

}  // namespace flex::build
