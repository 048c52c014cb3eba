// Reading ELF files (libelf underneath): the one reader behind flexbuild's section checks and image.json,
// the gadget scanner and the runtime's symbolizer, which names functions in fault reports. It reads
// little-endian ELF64 files, the only kind Flex builds or runs, and checks what libelf lets pass: section
// and program header tables that lie outside the file (libelf would just report no sections), and the
// bytes of every section or segment before handing them out. A malformed or truncated file gives a
// message, never a crash; nothing here throws (the runtime links it with -fno-exceptions).
//
//   std::string error;
//   auto f = flex::elf::file::open("build/images/redis-3comp/redis", &error);
//   if (!f) die("%s", error.c_str());                       // "not an ELF file", "cannot open: ..."
//   if (const flex::elf::section *text = f->find_section(".text")) {
//     if (auto code = f->bytes(*text)) scan(*code, text->addr);  // nullopt: it lies outside the file
//   }
//   for (const flex::elf::segment &p : f->segments()) { if (p.type == PT_LOAD && (p.flags & PF_X)) ... }
//   for (const flex::elf::symbol &s : f->function_symbols()) index(s.name, s.value, s.size);
//   auto table = f->symbol_table();                           // relocations name entries by index
//   for (const flex::elf::relocation &r : f->relocations()) edge(r.section, table[r.symbol]);
//
// A file opened from a path maps it read-only for the object's lifetime; one made from memory reads the
// caller's bytes in place (never writes them), so they must outlive it. Spans returned point into the
// file's bytes and live as long as the object. It allocates with malloc (libelf and the tables here).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

typedef struct Elf Elf;  // libelf's handle (libelf.h), kept out of users' includes

namespace flex::elf {

// e_type. A position-independent executable (every Flex image) is a shared object to ELF.
enum class file_type { relocatable, executable, shared_object, other };
const char *to_string(file_type t);

struct section {
  std::string name;          // "" when the section name table does not hold it
  std::uint32_t index = 0;   // in the section header table (1 and up; 0 is the null section)
  std::uint32_t type = 0;    // SHT_*
  std::uint64_t flags = 0;   // SHF_*
  std::uint64_t addr = 0;    // where it is mapped (0 in relocatable objects)
  std::uint64_t offset = 0;  // in the file
  std::uint64_t size = 0;
  std::uint64_t align = 0;
  std::uint64_t entsize = 0;  // of a table's entries; 0 for other sections
  std::uint32_t link = 0;     // sh_link: a symbol table's string table, for one
};

struct segment {  // a program header
  std::uint32_t index = 0;
  std::uint32_t type = 0;   // PT_*
  std::uint32_t flags = 0;  // PF_*
  std::uint64_t vaddr = 0;
  std::uint64_t offset = 0;  // in the file
  std::uint64_t filesz = 0;
  std::uint64_t memsz = 0;
};

struct symbol {  // one entry of .symtab
  std::string name;
  std::uint64_t value = 0;    // an address (executables), an offset into its section (relocatable objects)
  std::uint64_t size = 0;     // 0 when unknown
  std::uint16_t section = 0;  // st_shndx: SHN_UNDEF (0) when undefined, or SHN_ABS, SHN_COMMON, ...
  std::uint8_t type = 0;      // STT_*
  std::uint8_t binding = 0;   // STB_*

  bool defined() const { return section != 0; }
};

struct relocation {  // one entry of a SHT_RELA table of a relocatable object
  std::uint32_t section = 0;  // the section whose bytes it patches (the table's sh_info)
  std::uint64_t offset = 0;   // into that section
  std::uint32_t type = 0;     // R_X86_64_*
  std::uint32_t symbol = 0;   // index into symbol_table()
  std::int64_t addend = 0;
};

// One entry of a dynamic program's or library's dynamic relocation tables (.rela.dyn, .rela.plt) that
// names a symbol: where the loader writes the symbol's address (a GOT slot, at the object's load address
// plus `offset`) when the type is R_X86_64_GLOB_DAT or R_X86_64_JUMP_SLOT.
struct dynamic_relocation {
  std::uint64_t offset = 0;  // r_offset: a virtual address of the file
  std::uint32_t type = 0;    // R_X86_64_*
  std::string symbol;
};

// The global symbols an archive's index (its armap) says its members define, "" entries left out;
// nullopt with a message when the file is not an archive with an index.
std::optional<std::vector<std::string>> archive_symbols(const std::string &path, std::string *error);

class file {
 public:
  // nullopt with a message in *error (when error is not null) if the file cannot be read or is not a
  // well-formed little-endian ELF64 file. Messages do not repeat the path: callers add it.
  static std::optional<file> open(const std::string &path, std::string *error);
  static std::optional<file> from_memory(std::span<const std::uint8_t> bytes, std::string *error);

  file(file &&other) noexcept;
  file &operator=(file &&other) noexcept;
  file(const file &) = delete;
  file &operator=(const file &) = delete;
  ~file();

  file_type type() const { return type_; }
  std::uint16_t machine() const { return machine_; }  // EM_*
  std::span<const std::uint8_t> image() const { return image_; }

  const std::vector<section> &sections() const { return sections_; }
  const section *find_section(std::string_view name) const;  // the first of that name, or nullptr
  const std::vector<segment> &segments() const { return segments_; }

  // The bytes a section or segment holds in the file: empty for SHT_NOBITS sections; nullopt when the
  // header claims bytes beyond the end of the file.
  std::optional<std::span<const std::uint8_t>> bytes(const section &s) const;
  std::optional<std::span<const std::uint8_t>> bytes(const segment &p) const;

  // Every named symbol of the symbol tables (SHT_SYMTAB), in table order. Tables whose entries or
  // names lie outside the file are left out, as are names that are not terminated inside their table.
  std::vector<symbol> symbols() const;
  // The defined STT_FUNC symbols among them: what a program counter is named after.
  std::vector<symbol> function_symbols() const;
  // Every entry of the first symbol table by index, the null entry and unnamed ones (section symbols)
  // included: what relocations() refer to. Empty when the table cannot be read.
  std::vector<symbol> symbol_table() const;
  // The entries of every SHT_RELA table that patches a section of the file and refers to the first
  // symbol table; with `loaded_only`, only of those that patch SHF_ALLOC sections (code and data, not
  // debug information, whose tables are the largest). Tables that lie outside the file are left out.
  std::vector<relocation> relocations(bool loaded_only = false) const;
  // The defined, named entries of the dynamic symbol table (SHT_DYNSYM): what a shared object exports.
  std::vector<symbol> dynamic_symbols() const;
  // Its undefined, named entries: what a dynamic program or library imports from its libraries.
  std::vector<symbol> imported_symbols() const;
  // The entries of its SHT_RELA tables that refer to the dynamic symbol table and name a symbol (entries
  // whose table or symbol cannot be read are left out).
  std::vector<dynamic_relocation> dynamic_relocations() const;
  // The libraries it names (DT_NEEDED), in order, as written ("libc.so.6"); names not terminated inside
  // the string table are left out.
  std::vector<std::string> needed() const;

 private:
  file() = default;
  bool read_headers(std::string *error);
  bool check_tables(std::string *error) const;
  void release();
  // The entries of symbol table `tab` (SHT_SYMTAB or SHT_DYNSYM) by index; empty when unreadable.
  std::vector<symbol> read_table(const section &tab) const;
  // The named entries of the dynamic symbol tables that are defined (or, with false, undefined).
  std::vector<symbol> dynamic_entries(bool defined) const;

  Elf *elf_ = nullptr;
  void *mapping_ = nullptr;  // the whole file, when opened from a path
  std::size_t mapping_size_ = 0;
  std::span<const std::uint8_t> image_;
  file_type type_ = file_type::other;
  std::uint16_t machine_ = 0;
  std::vector<section> sections_;
  std::vector<segment> segments_;
};

// What keeps a file from running as a Linux x86-64 program (an executable, static or position
// independent, whose interpreter, if it names one, is such a file that names none): "" when nothing
// does, else the reason in words ("not an x86-64 program (ELF machine 183)"). The runtime's loader
// (runtime/binary) and flexbuild's check of a profile's `binary:` ask the same question.
std::string program_problem(const file &f, bool as_interpreter = false);
// The interpreter a program names (PT_INTERP): "" when it names none; nullopt when the name lies outside
// the file.
std::optional<std::string> interpreter(const file &f);
std::string program_problem(const std::string &path);

}  // namespace flex::elf
