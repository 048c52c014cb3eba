// The ELF reader (see elf.h): libelf for the parsing, plus the bounds checks libelf leaves out.
#include "flex/elf/elf.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace flex::elf {

const char *to_string(file_type t) {
  switch (t) {
    case file_type::relocatable:
      return "relocatable";
    case file_type::executable:
      return "executable";
    case file_type::shared_object:
      return "shared object";
    case file_type::other:
      break;
  }
  return "other";
}

namespace {

bool fail(std::string *error, std::string what) {
  if (error) *error = std::move(what);
  return false;
}

std::nullopt_t no_file(std::string *error, std::string what) {
  fail(error, std::move(what));
  return std::nullopt;
}

std::string libelf_error(const char *what) {
  return std::string(what) + ": " + elf_errmsg(-1);
}

// Whether [offset, offset + count * entry) lies inside a file of `size` bytes, without overflowing.
bool inside(std::uint64_t size, std::uint64_t offset, std::uint64_t count, std::uint64_t entry = 1) {
  if (entry != 0 && count > size / entry) return false;
  return offset <= size && count * entry <= size - offset;
}

file_type type_of(std::uint16_t e_type) {
  switch (e_type) {
    case ET_REL:
      return file_type::relocatable;
    case ET_EXEC:
      return file_type::executable;
    case ET_DYN:
      return file_type::shared_object;
    default:
      return file_type::other;
  }
}

}  // namespace

std::optional<file> file::from_memory(std::span<const std::uint8_t> bytes, std::string *error) {
  // libelf refuses every call until the version handshake; once per process is enough.
  static const bool libelf_ready = elf_version(EV_CURRENT) != EV_NONE;
  if (!libelf_ready) return no_file(error, "libelf is too old");
  if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) {
    return no_file(error, "not an ELF file");
  }
  if (bytes[EI_CLASS] != ELFCLASS64 || bytes[EI_DATA] != ELFDATA2LSB) {
    return no_file(error, "not a little-endian ELF64 file");
  }
  if (bytes[EI_VERSION] != EV_CURRENT)
    return no_file(error, "unknown ELF version " + std::to_string(bytes[EI_VERSION]));
  file f;
  f.image_ = bytes;
  // elf_memory wants a mutable image, but only reading handles are made here: libelf copies what it
  // converts and never writes the image (the unit tests hand it read-only pages).
  f.elf_ = elf_memory(const_cast<char *>(reinterpret_cast<const char *>(bytes.data())), bytes.size());
  if (f.elf_ == nullptr || elf_kind(f.elf_) != ELF_K_ELF) return no_file(error, "not an ELF file");
  if (!f.read_headers(error)) return std::nullopt;
  return f;
}

std::optional<file> file::open(const std::string &path, std::string *error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return no_file(error, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return no_file(error, std::string("cannot read: ") + std::strerror(err));
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (!S_ISREG(st.st_mode) || size < sizeof(Elf64_Ehdr)) {
    ::close(fd);
    return no_file(error, "not an ELF file");
  }
  void *map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int err = errno;
  ::close(fd);
  if (map == MAP_FAILED) return no_file(error, std::string("cannot read: ") + std::strerror(err));
  auto f = from_memory({static_cast<const std::uint8_t *>(map), size}, error);
  if (!f) {
    munmap(map, size);
    return std::nullopt;
  }
  f->mapping_ = map;
  f->mapping_size_ = size;
  return f;
}

file::file(file &&other) noexcept {
  *this = std::move(other);
}

file &file::operator=(file &&other) noexcept {
  if (this == &other) return *this;
  release();
  elf_ = std::exchange(other.elf_, nullptr);
  mapping_ = std::exchange(other.mapping_, nullptr);
  mapping_size_ = std::exchange(other.mapping_size_, 0);
  image_ = std::exchange(other.image_, {});
  type_ = other.type_;
  machine_ = other.machine_;
  sections_ = std::exchange(other.sections_, {});
  segments_ = std::exchange(other.segments_, {});
  return *this;
}

file::~file() {
  release();
}

void file::release() {
  if (elf_) elf_end(elf_);
  if (mapping_) munmap(mapping_, mapping_size_);
  elf_ = nullptr;
  mapping_ = nullptr;
}

// libelf quietly reports no sections when the section header table lies outside the file, and fewer
// program headers when theirs runs past its end, which would make a truncated file look clean to the
// gadget scanner: the tables are checked against the file here, with the counts the header claims.
bool file::check_tables(std::string *error) const {
  Elf64_Ehdr eh;
  std::memcpy(&eh, image_.data(), sizeof eh);  // little-endian ELF64, checked before
  const std::uint64_t size = image_.size();
  // Counts too large for the header live in section 0 (sh_size: sections, sh_info: program headers).
  Elf64_Shdr first{};
  if (eh.e_shoff != 0 && (eh.e_shnum == 0 || eh.e_phnum == PN_XNUM)) {
    if (!inside(size, eh.e_shoff, 1, sizeof(Elf64_Shdr))) {
      return fail(error, "section table lies outside the file");
    }
    std::memcpy(&first, image_.data() + eh.e_shoff, sizeof first);
  }
  const std::uint64_t n_sections = eh.e_shnum != 0 || eh.e_shoff == 0 ? eh.e_shnum : first.sh_size;
  const std::uint64_t n_segments = eh.e_phnum != PN_XNUM ? eh.e_phnum : first.sh_info;
  if (n_sections != 0) {
    if (eh.e_shentsize != sizeof(Elf64_Shdr)) return fail(error, "bad section entry size");
    if (!inside(size, eh.e_shoff, n_sections, sizeof(Elf64_Shdr))) {
      return fail(error, "section table lies outside the file");
    }
  }
  std::size_t libelf_sections = 0;
  if (elf_getshdrnum(elf_, &libelf_sections) != 0 || libelf_sections != n_sections) {
    return fail(error, "section table lies outside the file");
  }
  if (n_segments != 0) {
    if (eh.e_phentsize != sizeof(Elf64_Phdr)) return fail(error, "bad program header entry size");
    if (!inside(size, eh.e_phoff, n_segments, sizeof(Elf64_Phdr))) {
      return fail(error, "program header table lies outside the file");
    }
  }
  // Without program headers e_phoff means nothing, though libelf still checks it.
  std::size_t libelf_segments = 0;
  if (n_segments != 0 && (elf_getphdrnum(elf_, &libelf_segments) != 0 || libelf_segments != n_segments)) {
    return fail(error, "program header table lies outside the file");
  }
  return true;
}

bool file::read_headers(std::string *error) {
  GElf_Ehdr eh;
  if (gelf_getehdr(elf_, &eh) == nullptr) return fail(error, "not an ELF file");
  type_ = type_of(eh.e_type);
  machine_ = eh.e_machine;
  if (!check_tables(error)) return false;
  // Without a usable section name table the sections keep empty names: their contents can still be read.
  std::size_t names = 0;
  if (elf_getshdrstrndx(elf_, &names) != 0) names = 0;
  for (Elf_Scn *scn = elf_nextscn(elf_, nullptr); scn != nullptr; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr) return fail(error, libelf_error("cannot read a section header"));
    const char *name = names != 0 ? elf_strptr(elf_, names, sh.sh_name) : nullptr;
    sections_.push_back({name ? name : "", static_cast<std::uint32_t>(elf_ndxscn(scn)), sh.sh_type,
                         sh.sh_flags, sh.sh_addr, sh.sh_offset, sh.sh_size, sh.sh_addralign, sh.sh_entsize,
                         sh.sh_link});
  }
  std::size_t n_segments = 0;
  if (elf_getphdrnum(elf_, &n_segments) != 0) n_segments = 0;  // then the header says none: check_tables
  for (std::size_t i = 0; i < n_segments; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf_, static_cast<int>(i), &ph) == nullptr) {
      return fail(error, libelf_error("cannot read a program header"));
    }
    segments_.push_back({static_cast<std::uint32_t>(i), ph.p_type, ph.p_flags, ph.p_vaddr, ph.p_offset,
                         ph.p_filesz, ph.p_memsz});
  }
  return true;
}

const section *file::find_section(std::string_view name) const {
  for (const section &s : sections_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::optional<std::span<const std::uint8_t>> file::bytes(const section &s) const {
  if (s.type == SHT_NOBITS) return std::span<const std::uint8_t>{};
  if (!inside(image_.size(), s.offset, s.size)) return std::nullopt;
  return image_.subspan(s.offset, s.size);
}

std::optional<std::span<const std::uint8_t>> file::bytes(const segment &p) const {
  if (!inside(image_.size(), p.offset, p.filesz)) return std::nullopt;
  return image_.subspan(p.offset, p.filesz);
}

std::vector<symbol> file::read_table(const section &tab) const {
  std::vector<symbol> out;
  // libelf sizes entries by the class, not by sh_entsize: a table that disagrees is not one it can read.
  if (tab.size == 0 || tab.entsize != sizeof(Elf64_Sym)) return out;
  Elf_Data *data = nullptr;
  if (Elf_Scn *scn = elf_getscn(elf_, tab.index); scn && inside(image_.size(), tab.offset, tab.size)) {
    data = elf_getdata(scn, nullptr);
  }
  if (data == nullptr) return out;
  const std::size_t count = data->d_size / sizeof(Elf64_Sym);
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    GElf_Sym sym{};
    symbol entry;
    if (gelf_getsym(data, static_cast<int>(i), &sym) != nullptr) {
      const char *name = sym.st_name != 0 ? elf_strptr(elf_, tab.link, sym.st_name) : nullptr;
      entry = {name ? name : "", sym.st_value, sym.st_size, sym.st_shndx,
               static_cast<std::uint8_t>(GELF_ST_TYPE(sym.st_info)),
               static_cast<std::uint8_t>(GELF_ST_BIND(sym.st_info))};
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<symbol> file::symbols() const {
  std::vector<symbol> out;
  for (const section &tab : sections_) {
    if (tab.type != SHT_SYMTAB) continue;
    std::vector<symbol> table = read_table(tab);
    for (std::size_t i = 1; i < table.size(); ++i) {  // entry 0 is the null symbol
      if (!table[i].name.empty()) out.push_back(std::move(table[i]));
    }
  }
  return out;
}

std::vector<symbol> file::symbol_table() const {
  for (const section &tab : sections_) {
    if (tab.type == SHT_SYMTAB) return read_table(tab);
  }
  return {};
}

std::vector<symbol> file::dynamic_entries(bool defined) const {
  std::vector<symbol> out;
  for (const section &tab : sections_) {
    if (tab.type != SHT_DYNSYM) continue;
    std::vector<symbol> table = read_table(tab);
    for (std::size_t i = 1; i < table.size(); ++i) {
      if (!table[i].name.empty() && table[i].defined() == defined) out.push_back(std::move(table[i]));
    }
  }
  return out;
}

std::vector<symbol> file::dynamic_symbols() const {
  return dynamic_entries(true);
}

std::vector<symbol> file::imported_symbols() const {
  return dynamic_entries(false);
}

std::vector<dynamic_relocation> file::dynamic_relocations() const {
  std::vector<dynamic_relocation> out;
  for (const section &dynsym : sections_) {
    if (dynsym.type != SHT_DYNSYM) continue;
    const std::vector<symbol> table = read_table(dynsym);
    for (const section &tab : sections_) {
      if (tab.type != SHT_RELA || tab.link != dynsym.index || tab.entsize != sizeof(Elf64_Rela)) continue;
      if (!inside(image_.size(), tab.offset, tab.size)) continue;
      Elf_Scn *scn = elf_getscn(elf_, tab.index);
      Elf_Data *data = scn ? elf_getdata(scn, nullptr) : nullptr;
      if (data == nullptr) continue;
      const std::size_t count = data->d_size / sizeof(Elf64_Rela);
      for (std::size_t i = 0; i < count; ++i) {
        GElf_Rela r;
        if (gelf_getrela(data, static_cast<int>(i), &r) == nullptr) continue;
        const std::size_t sym = GELF_R_SYM(r.r_info);
        if (sym == 0 || sym >= table.size() || table[sym].name.empty()) continue;
        out.push_back({r.r_offset, static_cast<std::uint32_t>(GELF_R_TYPE(r.r_info)), table[sym].name});
      }
    }
  }
  return out;
}

std::vector<std::string> file::needed() const {
  std::vector<std::string> out;
  for (const section &dyn : sections_) {
    if (dyn.type != SHT_DYNAMIC || dyn.link >= sections_.size() + 1 || dyn.link == 0) continue;
    const section *strtab = nullptr;
    for (const section &t : sections_) {
      if (t.index == dyn.link) strtab = &t;
    }
    auto entries = bytes(dyn);
    auto names = strtab ? bytes(*strtab) : std::nullopt;
    if (!entries || !names) continue;
    for (std::size_t at = 0; at + sizeof(Elf64_Dyn) <= entries->size(); at += sizeof(Elf64_Dyn)) {
      Elf64_Dyn d;
      std::memcpy(&d, entries->data() + at, sizeof d);
      if (d.d_tag == DT_NULL) break;
      if (d.d_tag != DT_NEEDED || d.d_un.d_val >= names->size()) continue;
      const char *name = reinterpret_cast<const char *>(names->data() + d.d_un.d_val);
      const std::size_t n = strnlen(name, names->size() - d.d_un.d_val);
      if (n < names->size() - d.d_un.d_val) out.emplace_back(name, n);  // terminated inside the table
    }
  }
  return out;
}

std::vector<relocation> file::relocations(bool loaded_only) const {
  std::vector<relocation> out;
  const section *symtab = nullptr;
  for (const section &s : sections_) {
    if (s.type == SHT_SYMTAB && !symtab) symtab = &s;
  }
  if (symtab == nullptr) return out;
  for (const section &tab : sections_) {
    if (tab.type != SHT_RELA || tab.link != symtab->index || tab.entsize != sizeof(Elf64_Rela)) continue;
    if (!inside(image_.size(), tab.offset, tab.size)) continue;
    Elf_Scn *scn = elf_getscn(elf_, tab.index);
    Elf_Data *data = scn ? elf_getdata(scn, nullptr) : nullptr;
    if (data == nullptr) continue;
    // sh_info of a relocation table names the section it patches (SHF_INFO_LINK).
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr) continue;
    // sections_ holds sections 1, 2, ... in order.
    if (loaded_only && (sh.sh_info == 0 || sh.sh_info > sections_.size() ||
                        !(sections_[sh.sh_info - 1].flags & SHF_ALLOC))) {
      continue;
    }
    const std::size_t count = data->d_size / sizeof(Elf64_Rela);
    for (std::size_t i = 0; i < count; ++i) {
      GElf_Rela r;
      if (gelf_getrela(data, static_cast<int>(i), &r) == nullptr) continue;
      out.push_back({sh.sh_info, r.r_offset, static_cast<std::uint32_t>(GELF_R_TYPE(r.r_info)),
                     static_cast<std::uint32_t>(GELF_R_SYM(r.r_info)), r.r_addend});
    }
  }
  return out;
}

std::vector<symbol> file::function_symbols() const {
  std::vector<symbol> all = symbols();
  std::erase_if(all, [](const symbol &s) { return s.type != STT_FUNC || !s.defined(); });
  return all;
}

std::optional<std::vector<std::string>> archive_symbols(const std::string &path, std::string *error) {
  static const bool libelf_ready = elf_version(EV_CURRENT) != EV_NONE;
  if (!libelf_ready) return no_file(error, "libelf is too old");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return no_file(error, std::string("cannot open: ") + std::strerror(errno));
  Elf *ar = elf_begin(fd, ELF_C_READ, nullptr);
  std::optional<std::vector<std::string>> out;
  std::size_t count = 0;
  Elf_Arsym *index = ar && elf_kind(ar) == ELF_K_AR ? elf_getarsym(ar, &count) : nullptr;
  if (index == nullptr) {
    fail(error, ar && elf_kind(ar) == ELF_K_AR ? "archive has no symbol index" : "not an archive");
  } else {
    out.emplace();
    for (std::size_t i = 0; i < count; ++i) {  // the last entry is a terminator with no name
      if (index[i].as_name && *index[i].as_name) out->emplace_back(index[i].as_name);
    }
  }
  if (ar) elf_end(ar);
  ::close(fd);
  return out;
}

std::string program_problem(const file &f, bool as_interpreter) {
  if (f.machine() != EM_X86_64) return "not an x86-64 program (ELF machine " + std::to_string(f.machine()) + ")";
  if (f.type() == file_type::relocatable) return "a relocatable object, not a program: link it first";
  if (f.type() != file_type::executable && f.type() != file_type::shared_object) {
    return std::string("not a program (ELF type ") + to_string(f.type()) + ")";
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, f.image().data(), sizeof eh);
  if (eh.e_entry == 0) return "has no entry point (a shared library, not a program)";
  bool any_load = false;
  for (const segment &s : f.segments()) {
    if (s.type == PT_LOAD) {
      any_load = true;
      if (!f.bytes(s)) return "a loadable segment lies outside the file";
      if (s.filesz > s.memsz) return "a loadable segment holds more bytes than it maps";
    }
    if (s.type == PT_INTERP && as_interpreter) return "its interpreter needs an interpreter itself";
  }
  if (!any_load) return "has no loadable segment";
  return "";
}

std::optional<std::string> interpreter(const file &f) {
  for (const segment &s : f.segments()) {
    if (s.type != PT_INTERP) continue;
    auto bytes = f.bytes(s);
    if (!bytes || bytes->empty()) return std::nullopt;
    const auto *name = reinterpret_cast<const char *>(bytes->data());
    return std::string(name, strnlen(name, bytes->size()));
  }
  return std::string();
}

std::string program_problem(const std::string &path) {
  std::string err;
  auto f = file::open(path, &err);
  if (!f) return err;
  if (std::string why = program_problem(*f); !why.empty()) return why;
  const std::optional<std::string> interp = interpreter(*f);
  if (!interp) return "its interpreter's name lies outside the file";
  if (interp->empty()) return "";
  auto i = file::open(*interp, &err);
  if (!i) return "its interpreter " + *interp + ": " + err;
  if (std::string why = program_problem(*i, true); !why.empty()) return "its interpreter " + *interp + ": " + why;
  return "";
}

}  // namespace flex::elf
