// The WRPKRU/XRSTOR gadget scanner (see gadget_scan.h); the ELF file is read through flex::elf.
#include "flex/build/gadget_scan.h"

#include <elf.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "flex/elf/elf.h"

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
    case gadget_kind::none:
      return "none";
  }
  return "?";
}

namespace {

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
    const pku::gadget_match m = pku::gadget_at(b.data(), b.size(), i);
    if (m.kind == gadget_kind::none) continue;
    gadget_hit h;
    h.kind = m.kind;
    h.offset = m.start;
    h.length = m.length;
    h.address = base + h.offset;
    if (!allowed_hit(h, allowed)) hits.push_back(std::move(h));
  }
  return hits;
}

namespace {

bool is_allowed_name(const std::string &name, const elf_scan_options &opt) {
  return std::find(opt.allowed_sections.begin(), opt.allowed_sections.end(), name) !=
         opt.allowed_sections.end();
}

// The function symbol whose [value, value + size) holds `address` (executables: virtual addresses;
// objects: section offsets within section `shndx`).
std::string function_at(const std::vector<elf::symbol> &functions, std::uint64_t address,
                        std::optional<unsigned> shndx = std::nullopt) {
  for (const elf::symbol &sym : functions) {
    if (shndx && sym.section != *shndx) continue;
    if (address < sym.value || address >= sym.value + (sym.size ? sym.size : 1)) continue;
    return sym.name;
  }
  return {};
}

// Executables and shared objects: executable segments, allowed ranges by section address.
std::optional<std::string> scan_segments(const elf::file &f, std::vector<gadget_hit> &hits,
                                         const elf_scan_options &opt) {
  std::vector<byte_range> allowed;
  for (const elf::section &s : f.sections()) {
    if ((s.flags & SHF_ALLOC) && is_allowed_name(s.name, opt)) allowed.push_back({s.addr, s.addr + s.size});
  }
  const std::vector<elf::symbol> functions = f.function_symbols();
  for (const elf::segment &p : f.segments()) {
    if (p.type != PT_LOAD || !(p.flags & PF_X)) continue;
    auto code = f.bytes(p);
    if (!code) return "segment " + std::to_string(p.index) + " lies outside the file";
    for (gadget_hit &h : scan_bytes(*code, p.vaddr, allowed)) {
      h.offset += p.offset;
      h.where = "segment " + std::to_string(p.index);
      h.function = function_at(functions, h.address);
      for (const elf::section &s : f.sections()) {
        if ((s.flags & SHF_ALLOC) && h.address >= s.addr && h.address < s.addr + s.size) {
          h.where = s.name;
          break;
        }
      }
      hits.push_back(std::move(h));
    }
  }
  return std::nullopt;
}

// Relocatable objects: each executable section on its own (addresses are section offsets).
std::optional<std::string> scan_sections(const elf::file &f, std::vector<gadget_hit> &hits,
                                         const elf_scan_options &opt) {
  const std::vector<elf::symbol> functions = f.function_symbols();
  for (const elf::section &s : f.sections()) {
    if (!(s.flags & SHF_EXECINSTR) || s.type == SHT_NOBITS) continue;
    if (is_allowed_name(s.name, opt)) continue;
    auto code = f.bytes(s);
    if (!code) return "section " + s.name + " lies outside the file";
    for (gadget_hit &h : scan_bytes(*code, 0)) {
      h.offset += s.offset;
      h.where = s.name;
      h.function = function_at(functions, h.address, s.index);
      hits.push_back(std::move(h));
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> scan_elf(std::span<const std::uint8_t> file, std::vector<gadget_hit> &hits,
                                    const elf_scan_options &opt) {
  std::string error;
  auto f = elf::file::from_memory(file, &error);
  if (!f) return error;
  if (f->machine() != EM_X86_64) return "not an x86-64 ELF file";
  bool has_exec_segment = std::any_of(f->segments().begin(), f->segments().end(), [](const elf::segment &p) {
    return p.type == PT_LOAD && (p.flags & PF_X);
  });
  return has_exec_segment ? scan_segments(*f, hits, opt) : scan_sections(*f, hits, opt);
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
