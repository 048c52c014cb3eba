// The WRPKRU/XRSTOR gadget scanner (see gadget_scan.h), with a bounds-checked ELF64 reader.
#include "flex/build/gadget_scan.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace flex::build {

const char *to_string(gadget_kind k) {
  switch (k) {
    case gadget_kind::wrpkru:
      return "wrpkru";
    case gadget_kind::xrstor:
      return "xrstor";
    case gadget_kind::xrstor64:
      return "xrstor64";
    case gadget_kind::xrstors:
      return "xrstors";
    case gadget_kind::xrstors64:
      return "xrstors64";
  }
  return "?";
}

namespace {

bool is_rex_w(std::uint8_t b) {
  return (b & 0xf8) == 0x48;
}

// The ModRM byte of 0F AE /5 or 0F C7 /3 with a memory operand.
bool memory_form(std::uint8_t modrm, unsigned reg) {
  return (modrm >> 6) != 3 && ((modrm >> 3) & 7) == reg;
}

bool allowed_hit(const gadget_hit &h, std::span<const byte_range> allowed) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const byte_range &r) {
    return h.address >= r.begin && h.address + h.length <= r.end;
  });
}

}  // namespace

std::vector<gadget_hit> scan_bytes(std::span<const std::uint8_t> b, std::uint64_t base,
                                   std::span<const byte_range> allowed) {
  std::vector<gadget_hit> hits;
  for (std::size_t i = 0; i + 3 <= b.size(); ++i) {
    if (b[i] != 0x0f) continue;
    gadget_hit h;
    if (b[i + 1] == 0x01 && b[i + 2] == 0xef) {
      h.kind = gadget_kind::wrpkru;
    } else if (b[i + 1] == 0xae && memory_form(b[i + 2], 5)) {
      h.kind = gadget_kind::xrstor;
    } else if (b[i + 1] == 0xc7 && memory_form(b[i + 2], 3)) {
      h.kind = gadget_kind::xrstors;
    } else {
      continue;
    }
    h.offset = i;
    h.length = 3;
    if (h.kind != gadget_kind::wrpkru && i > 0 && is_rex_w(b[i - 1])) {
      h.kind = h.kind == gadget_kind::xrstor ? gadget_kind::xrstor64 : gadget_kind::xrstors64;
      h.offset = i - 1;
      h.length = 4;
    }
    h.address = base + h.offset;
    if (!allowed_hit(h, allowed)) hits.push_back(std::move(h));
  }
  return hits;
}

namespace {

struct elf_file {
  std::span<const std::uint8_t> bytes;
  const Elf64_Ehdr *eh = nullptr;
  std::vector<Elf64_Shdr> sections;
  std::vector<Elf64_Phdr> segments;
  const char *shstr = nullptr;
  std::size_t shstr_size = 0;

  bool in_file(std::uint64_t off, std::uint64_t size) const {
    return off <= bytes.size() && size <= bytes.size() - off;
  }
  std::string section_name(const Elf64_Shdr &s) const {
    if (!shstr || s.sh_name >= shstr_size) return "";
    return std::string(shstr + s.sh_name, strnlen(shstr + s.sh_name, shstr_size - s.sh_name));
  }
};

template <typename T>
std::optional<std::string> read_table(const elf_file &f, std::uint64_t off, std::uint64_t count,
                                      std::uint64_t entsize, std::vector<T> &out, const char *what) {
  if (count == 0) return std::nullopt;
  if (entsize < sizeof(T)) return std::string("bad ") + what + " entry size";
  if (count > f.bytes.size() / entsize || !f.in_file(off, count * entsize)) {
    return std::string(what) + " table lies outside the file";
  }
  out.resize(count);
  for (std::uint64_t i = 0; i < count; ++i)
    std::memcpy(&out[i], f.bytes.data() + off + i * entsize, sizeof(T));
  return std::nullopt;
}

std::optional<std::string> parse(std::span<const std::uint8_t> bytes, elf_file &f) {
  f.bytes = bytes;
  if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) {
    return "not an ELF file";
  }
  f.eh = reinterpret_cast<const Elf64_Ehdr *>(bytes.data());
  if (f.eh->e_ident[EI_CLASS] != ELFCLASS64 || f.eh->e_ident[EI_DATA] != ELFDATA2LSB) {
    return "not a little-endian ELF64 file";
  }
  if (f.eh->e_machine != EM_X86_64) return "not an x86-64 ELF file";
  if (auto e = read_table(f, f.eh->e_shoff, f.eh->e_shnum, f.eh->e_shentsize, f.sections, "section"))
    return e;
  if (auto e = read_table(f, f.eh->e_phoff, f.eh->e_phnum, f.eh->e_phentsize, f.segments, "program header")) {
    return e;
  }
  if (f.eh->e_shstrndx < f.sections.size()) {
    const Elf64_Shdr &s = f.sections[f.eh->e_shstrndx];
    if (s.sh_type != SHT_NOBITS && f.in_file(s.sh_offset, s.sh_size)) {
      f.shstr = reinterpret_cast<const char *>(bytes.data() + s.sh_offset);
      f.shstr_size = s.sh_size;
    }
  }
  return std::nullopt;
}

bool is_allowed_name(const std::string &name, const elf_scan_options &opt) {
  return std::find(opt.allowed_sections.begin(), opt.allowed_sections.end(), name) !=
         opt.allowed_sections.end();
}

// The function symbol of `f` whose [value, value + size) holds `address` (executables: virtual
// addresses; objects: section offsets within section `shndx`).
std::string function_at(const elf_file &f, std::uint64_t address, std::optional<unsigned> shndx = std::nullopt) {
  for (const Elf64_Shdr &tab : f.sections) {
    if (tab.sh_type != SHT_SYMTAB || tab.sh_link >= f.sections.size() || tab.sh_entsize != sizeof(Elf64_Sym)) continue;
    const Elf64_Shdr &strs = f.sections[tab.sh_link];
    if (!f.in_file(tab.sh_offset, tab.sh_size) || !f.in_file(strs.sh_offset, strs.sh_size)) continue;
    for (std::uint64_t i = 0; i < tab.sh_size / sizeof(Elf64_Sym); ++i) {
      Elf64_Sym sym;
      std::memcpy(&sym, f.bytes.data() + tab.sh_offset + i * sizeof(Elf64_Sym), sizeof sym);
      if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_name >= strs.sh_size) continue;
      if (shndx && sym.st_shndx != *shndx) continue;
      if (address < sym.st_value || address >= sym.st_value + (sym.st_size ? sym.st_size : 1)) continue;
      const char *name = reinterpret_cast<const char *>(f.bytes.data() + strs.sh_offset + sym.st_name);
      return std::string(name, strnlen(name, strs.sh_size - sym.st_name));
    }
  }
  return {};
}

// Executables and shared objects: executable segments, allowed ranges by section address.
std::optional<std::string> scan_segments(const elf_file &f, std::vector<gadget_hit> &hits,
                                         const elf_scan_options &opt) {
  std::vector<byte_range> allowed;
  for (const Elf64_Shdr &s : f.sections) {
    if ((s.sh_flags & SHF_ALLOC) && is_allowed_name(f.section_name(s), opt)) {
      allowed.push_back({s.sh_addr, s.sh_addr + s.sh_size});
    }
  }
  for (std::size_t n = 0; n < f.segments.size(); ++n) {
    const Elf64_Phdr &p = f.segments[n];
    if (p.p_type != PT_LOAD || !(p.p_flags & PF_X)) continue;
    if (!f.in_file(p.p_offset, p.p_filesz)) return "segment " + std::to_string(n) + " lies outside the file";
    for (gadget_hit &h : scan_bytes(f.bytes.subspan(p.p_offset, p.p_filesz), p.p_vaddr, allowed)) {
      h.offset += p.p_offset;
      h.where = "segment " + std::to_string(n);
      h.function = function_at(f, h.address);
      for (const Elf64_Shdr &s : f.sections) {
        if ((s.sh_flags & SHF_ALLOC) && h.address >= s.sh_addr && h.address < s.sh_addr + s.sh_size) {
          h.where = f.section_name(s);
          break;
        }
      }
      hits.push_back(std::move(h));
    }
  }
  return std::nullopt;
}

// Relocatable objects: each executable section on its own (addresses are section offsets).
std::optional<std::string> scan_sections(const elf_file &f, std::vector<gadget_hit> &hits,
                                         const elf_scan_options &opt) {
  for (const Elf64_Shdr &s : f.sections) {
    if (!(s.sh_flags & SHF_EXECINSTR) || s.sh_type == SHT_NOBITS) continue;
    std::string name = f.section_name(s);
    if (is_allowed_name(name, opt)) continue;
    if (!f.in_file(s.sh_offset, s.sh_size)) return "section " + name + " lies outside the file";
    for (gadget_hit &h : scan_bytes(f.bytes.subspan(s.sh_offset, s.sh_size), 0)) {
      h.offset += s.sh_offset;
      h.where = name;
      h.function = function_at(f, h.address, static_cast<unsigned>(&s - f.sections.data()));
      hits.push_back(std::move(h));
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> scan_elf(std::span<const std::uint8_t> file, std::vector<gadget_hit> &hits,
                                    const elf_scan_options &opt) {
  elf_file f;
  if (auto e = parse(file, f)) return e;
  bool has_exec_segment = std::any_of(f.segments.begin(), f.segments.end(), [](const Elf64_Phdr &p) {
    return p.p_type == PT_LOAD && (p.p_flags & PF_X);
  });
  return has_exec_segment ? scan_segments(f, hits, opt) : scan_sections(f, hits, opt);
}

std::optional<std::string> scan_elf_file(const std::string &path, std::vector<gadget_hit> &hits,
                                         const elf_scan_options &opt) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot open " + path;
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return "cannot read " + path;
  if (auto e = scan_elf(bytes, hits, opt)) return path + ": " + *e;
  return std::nullopt;
}

}  // namespace flex::build
