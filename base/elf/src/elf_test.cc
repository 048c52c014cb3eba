// The ELF reader on files clang-19 builds here (an object, a PIE, a non-PIE executable) and on broken
// ones: truncated at every length, with tables pointing outside the file, with random bytes changed.
#include "flex/elf/elf.h"

#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flex::elf {
namespace {

using bytes = std::vector<std::uint8_t>;

// A function whose code holds a known immediate, one with a known name for the symbolizer, a global and a
// zero-initialised array (.bss, which has no bytes in the file).
constexpr const char *kSource = R"(
int flex_counter = 7;
char flex_zeroes[4096];
__attribute__((noinline)) unsigned flex_magic(void) { return 0x12345678u; }
__attribute__((noinline)) int flex_add(int a, int b) { return a + b + flex_counter + flex_zeroes[a & 7]; }
int main(void) { return flex_add(1, 2) + (int)flex_magic(); }
)";

class elf_built : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("clang-19 --version >/dev/null 2>&1") != 0) return;
    char tmpl[] = "/tmp/flex_elf_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/t.c") << kSource;
    const std::string cc = "clang-19 -O2 -x c " + dir_ + "/t.c";
    ok_ = std::system((cc + " -c -o " + dir_ + "/t.o").c_str()) == 0 &&
          std::system((cc + " -fPIE -pie -o " + dir_ + "/t.pie").c_str()) == 0 &&
          std::system((cc + " -fno-PIE -no-pie -o " + dir_ + "/t.exe").c_str()) == 0;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (dir_.empty()) GTEST_SKIP() << "clang-19 not installed";
    ASSERT_TRUE(ok_) << "clang-19 could not build the test program in " << dir_;
  }
  static std::string path(const char *name) { return dir_ + "/" + name; }
  static bytes read(const char *name) {
    std::ifstream in(path(name), std::ios::binary);
    return bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static std::optional<file> open_file(const char *name) {
    std::string error;
    auto f = file::open(path(name), &error);
    if (!f) ADD_FAILURE() << path(name) << ": " << error;
    return f;
  }

  static inline std::string dir_;
  static inline bool ok_ = false;
};

const symbol *find_symbol(const std::vector<symbol> &syms, const std::string &name) {
  auto it = std::find_if(syms.begin(), syms.end(), [&](const symbol &s) { return s.name == name; });
  return it == syms.end() ? nullptr : &*it;
}

bool holds(std::span<const std::uint8_t> haystack, const bytes &needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

const bytes kMagicImmediate = {0xb8, 0x78, 0x56, 0x34, 0x12};  // mov $0x12345678, %eax

TEST_F(elf_built, object_sections_and_symbols) {
  auto opened = open_file("t.o");
  ASSERT_TRUE(opened.has_value());
  const file &f = *opened;
  EXPECT_EQ(f.type(), file_type::relocatable);
  EXPECT_EQ(f.machine(), EM_X86_64);
  EXPECT_TRUE(f.segments().empty());
  const section *text = f.find_section(".text");
  ASSERT_NE(text, nullptr);
  EXPECT_TRUE(text->flags & SHF_EXECINSTR);
  EXPECT_EQ(text->addr, 0u);
  auto code = f.bytes(*text);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(code->size(), text->size);
  EXPECT_TRUE(holds(*code, kMagicImmediate));
  EXPECT_EQ(f.find_section(".no.such.section"), nullptr);

  auto functions = f.function_symbols();
  const symbol *magic = find_symbol(functions, "flex_magic");
  ASSERT_NE(magic, nullptr);
  EXPECT_EQ(magic->section, text->index);
  EXPECT_GT(magic->size, 0u);
  ASSERT_LE(magic->value + magic->size, code->size());
  EXPECT_TRUE(holds(code->subspan(magic->value, magic->size), kMagicImmediate));
  EXPECT_NE(find_symbol(functions, "flex_add"), nullptr);
  EXPECT_EQ(find_symbol(functions, "flex_counter"), nullptr) << "a variable is not a function";

  auto all = f.symbols();
  const symbol *counter = find_symbol(all, "flex_counter");
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(counter->type, STT_OBJECT);
  EXPECT_EQ(counter->binding, STB_GLOBAL);
  EXPECT_TRUE(counter->defined());
}

// flex_add reads flex_counter: the object holds a relocation in .text naming it, directly or through
// the section symbol of .data. The symbol table by index keeps the null entry and section symbols.
TEST_F(elf_built, object_relocations_name_entries_of_the_symbol_table) {
  auto opened = open_file("t.o");
  ASSERT_TRUE(opened.has_value());
  const file &f = *opened;
  const std::vector<symbol> table = f.symbol_table();
  ASSERT_FALSE(table.empty());
  EXPECT_TRUE(table[0].name.empty());
  EXPECT_FALSE(table[0].defined());
  EXPECT_TRUE(std::any_of(table.begin(), table.end(), [](const symbol &s) { return s.type == STT_SECTION; }));
  const section *text = f.find_section(".text");
  const section *data = f.find_section(".data");
  ASSERT_NE(text, nullptr);
  ASSERT_NE(data, nullptr);
  bool counter_read = false;
  for (const relocation &r : f.relocations()) {
    ASSERT_LT(r.symbol, table.size());
    if (r.section != text->index) continue;
    EXPECT_LT(r.offset, text->size);
    const symbol &target = table[r.symbol];
    counter_read |= target.name == "flex_counter" || (target.type == STT_SECTION && target.section == data->index);
  }
  EXPECT_TRUE(counter_read);
  EXPECT_TRUE(f.dynamic_symbols().empty()) << "an object has no dynamic symbol table";
}

TEST_F(elf_built, pie_exports_and_archive_index) {
  auto pie = open_file("t.pie");
  ASSERT_TRUE(pie.has_value());
  EXPECT_TRUE(pie->relocations().empty()) << "only relocatable objects' tables are read";
  const std::string ar = path("t.a");
  ASSERT_EQ(std::system(("ar rcs " + ar + " " + path("t.o")).c_str()), 0);
  std::string error;
  auto names = archive_symbols(ar, &error);
  ASSERT_TRUE(names.has_value()) << error;
  for (const char *n : {"flex_magic", "flex_add", "flex_counter", "main"}) {
    EXPECT_NE(std::find(names->begin(), names->end(), n), names->end()) << n;
  }
  EXPECT_FALSE(archive_symbols(path("t.o"), &error).has_value());
  EXPECT_EQ(error, "not an archive");
  EXPECT_FALSE(archive_symbols(path("no-such.a"), &error).has_value());
}

TEST_F(elf_built, a_dynamic_programs_imports_and_needed_libraries) {
  auto pie = open_file("t.pie");
  ASSERT_TRUE(pie.has_value());
  const std::vector<std::string> needed = pie->needed();
  EXPECT_NE(std::find(needed.begin(), needed.end(), "libc.so.6"), needed.end());
  const std::vector<symbol> imports = pie->imported_symbols();
  EXPECT_NE(find_symbol(imports, "__libc_start_main"), nullptr);
  EXPECT_EQ(find_symbol(imports, "flex_magic"), nullptr) << "defined in the program, not imported";
  // Each import the program calls or takes the address of has a GOT slot the loader fills.
  const std::vector<dynamic_relocation> relocs = pie->dynamic_relocations();
  auto slot_of = [&](const std::string &name) {
    return std::find_if(relocs.begin(), relocs.end(), [&](const dynamic_relocation &r) {
      return r.symbol == name && (r.type == R_X86_64_GLOB_DAT || r.type == R_X86_64_JUMP_SLOT);
    });
  };
  ASSERT_NE(slot_of("__libc_start_main"), relocs.end());
  const std::uint64_t got = slot_of("__libc_start_main")->offset;
  bool in_data = false;
  for (const segment &p : pie->segments()) {
    if (p.type == PT_LOAD && (p.flags & PF_W) && got >= p.vaddr && got + 8 <= p.vaddr + p.memsz) in_data = true;
  }
  EXPECT_TRUE(in_data) << "the slot lies in a writable segment (RELRO after loading)";
  EXPECT_EQ(slot_of("flex_magic"), relocs.end()) << "a symbol the program defines needs no slot";
  auto obj = open_file("t.o");
  ASSERT_TRUE(obj.has_value());
  EXPECT_TRUE(obj->needed().empty()) << "an object names no libraries";
}

TEST_F(elf_built, pie_segments_sections_and_function_addresses) {
  auto opened = open_file("t.pie");
  ASSERT_TRUE(opened.has_value());
  const file &f = *opened;
  EXPECT_EQ(f.type(), file_type::shared_object);
  const section *text = f.find_section(".text");
  ASSERT_NE(text, nullptr);
  const segment *exec = nullptr;
  for (const segment &p : f.segments()) {
    if (p.type == PT_LOAD && (p.flags & PF_X) && text->addr >= p.vaddr && text->addr < p.vaddr + p.filesz)
      exec = &p;
  }
  ASSERT_NE(exec, nullptr) << ".text lies in an executable PT_LOAD segment";
  auto seg = f.bytes(*exec);
  ASSERT_TRUE(seg.has_value());
  EXPECT_EQ(seg->size(), exec->filesz);
  EXPECT_TRUE(holds(*seg, kMagicImmediate));

  const auto functions = f.function_symbols();
  const symbol *magic = find_symbol(functions, "flex_magic");
  ASSERT_NE(magic, nullptr);
  EXPECT_GE(magic->value, text->addr);
  EXPECT_LE(magic->value + magic->size, text->addr + text->size);
  // The symbol's address, through the segment's mapping, lands on its code.
  auto at = seg->subspan(magic->value - exec->vaddr, magic->size);
  EXPECT_TRUE(holds(at, kMagicImmediate));

  const section *bss = f.find_section(".bss");
  ASSERT_NE(bss, nullptr);
  EXPECT_EQ(bss->type, static_cast<std::uint32_t>(SHT_NOBITS));
  EXPECT_GE(bss->size, 4096u);
  ASSERT_TRUE(f.bytes(*bss).has_value());
  EXPECT_TRUE(f.bytes(*bss)->empty());
}

TEST_F(elf_built, non_pie_executable_type) {
  auto opened = open_file("t.exe");
  ASSERT_TRUE(opened.has_value());
  const file &f = *opened;
  EXPECT_EQ(f.type(), file_type::executable);
  EXPECT_STREQ(to_string(f.type()), "executable");
  EXPECT_NE(find_symbol(f.function_symbols(), "flex_add"), nullptr);
}

TEST_F(elf_built, memory_and_path_agree) {
  auto opened = open_file("t.pie");
  ASSERT_TRUE(opened.has_value());
  const file &from_path = *opened;
  bytes image = read("t.pie");
  auto from_memory = file::from_memory(image, nullptr);
  ASSERT_TRUE(from_memory.has_value());
  ASSERT_EQ(from_memory->sections().size(), from_path.sections().size());
  for (std::size_t i = 0; i < from_path.sections().size(); ++i) {
    EXPECT_EQ(from_memory->sections()[i].name, from_path.sections()[i].name);
    EXPECT_EQ(from_memory->sections()[i].addr, from_path.sections()[i].addr);
  }
  EXPECT_EQ(from_memory->segments().size(), from_path.segments().size());
  EXPECT_EQ(from_memory->symbols().size(), from_path.symbols().size());
  EXPECT_EQ(from_memory->image().data(), image.data()) << "read in place, not copied";
}

TEST_F(elf_built, a_moved_file_stays_readable) {
  auto opened = open_file("t.o");
  ASSERT_TRUE(opened.has_value());
  file &a = *opened;
  file b = std::move(a);
  EXPECT_TRUE(a.sections().empty());
  const section *text = b.find_section(".text");
  ASSERT_NE(text, nullptr);
  ASSERT_TRUE(b.bytes(*text).has_value());
  EXPECT_TRUE(holds(*b.bytes(*text), kMagicImmediate));
  EXPECT_NE(find_symbol(b.function_symbols(), "flex_magic"), nullptr);
}

// The gadget scanner hands it the bytes of a file it read: they must never be written.
TEST_F(elf_built, memory_images_are_never_written) {
  bytes image = read("t.pie");
  const std::size_t len = (image.size() + 4095) / 4096 * 4096;
  void *page = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  std::memcpy(page, image.data(), image.size());
  ASSERT_EQ(mprotect(page, len, PROT_READ), 0);
  {
    auto f = file::from_memory({static_cast<const std::uint8_t *>(page), image.size()}, nullptr);
    ASSERT_TRUE(f.has_value());
    std::size_t total = 0;
    for (const section &s : f->sections()) total += f->bytes(s) ? f->bytes(s)->size() : 0;
    for (const segment &p : f->segments()) total += f->bytes(p) ? f->bytes(p)->size() : 0;
    EXPECT_GT(total, 0u);
    EXPECT_FALSE(f->function_symbols().empty());
  }
  munmap(page, len);
}

// ---- Broken input: a message, never a crash ------------------------------------------------------------

std::string error_of(const bytes &image) {
  std::string error;
  auto f = file::from_memory(image, &error);
  return f ? "" : error;
}

template <typename Header>
void patch(bytes &image, std::size_t offset, Header value) {
  std::memcpy(image.data() + offset, &value, sizeof value);
}

TEST(elf_errors, not_elf_at_all) {
  EXPECT_EQ(error_of({}), "not an ELF file");
  EXPECT_EQ(error_of(bytes(100, 0x41)), "not an ELF file");
  EXPECT_EQ(error_of({0x7f, 'E', 'L', 'F', 2, 1, 1}), "not an ELF file");
  bytes elf32(sizeof(Elf64_Ehdr), 0);
  std::memcpy(elf32.data(), ELFMAG, SELFMAG);
  elf32[EI_CLASS] = ELFCLASS32;
  elf32[EI_DATA] = ELFDATA2LSB;
  EXPECT_EQ(error_of(elf32), "not a little-endian ELF64 file");
  bytes version2 = elf32;
  version2[EI_CLASS] = ELFCLASS64;
  version2[EI_VERSION] = 2;
  EXPECT_EQ(error_of(version2), "unknown ELF version 2");
  std::string error;
  EXPECT_FALSE(file::open("/nonexistent/flex/file", &error));
  EXPECT_EQ(error, "cannot open: No such file or directory");
  EXPECT_FALSE(file::open("/proc/self", &error));
  EXPECT_EQ(error, "not an ELF file");
  EXPECT_FALSE(file::from_memory({}, nullptr)) << "a null error pointer is allowed";
}

TEST_F(elf_built, tables_outside_the_file) {
  const bytes good = read("t.pie");
  bytes image = good;
  patch(image, offsetof(Elf64_Ehdr, e_shoff), std::uint64_t{1} << 40);
  EXPECT_EQ(error_of(image), "section table lies outside the file");
  image = good;
  patch(image, offsetof(Elf64_Ehdr, e_shnum), std::uint16_t{0xfff0});
  EXPECT_EQ(error_of(image), "section table lies outside the file");
  image = good;
  patch(image, offsetof(Elf64_Ehdr, e_phoff), std::uint64_t{1} << 40);
  EXPECT_EQ(error_of(image), "program header table lies outside the file");
  image = good;
  patch(image, offsetof(Elf64_Ehdr, e_shentsize), std::uint16_t{10});
  EXPECT_EQ(error_of(image), "bad section entry size");
  image = good;
  patch(image, offsetof(Elf64_Ehdr, e_phentsize), std::uint16_t{10});
  EXPECT_EQ(error_of(image), "bad program header entry size");
  // The object's section table is at its end: cut in half, the file loses it.
  bytes object = read("t.o");
  object.resize(object.size() / 2);
  EXPECT_EQ(error_of(object), "section table lies outside the file");
}

TEST_F(elf_built, contents_outside_the_file_are_refused_one_by_one) {
  bytes image = read("t.o");
  Elf64_Ehdr eh;
  std::memcpy(&eh, image.data(), sizeof eh);
  auto f = file::from_memory(image, nullptr);
  ASSERT_TRUE(f.has_value());
  const std::uint32_t text = f->find_section(".text")->index;
  // .text claims bytes past the end; its name table entry is made to point nowhere for good measure.
  const std::size_t sh = eh.e_shoff + text * sizeof(Elf64_Shdr);
  patch(image, sh + offsetof(Elf64_Shdr, sh_offset), std::uint64_t{image.size() - 4});
  patch(image, sh + offsetof(Elf64_Shdr, sh_name), std::uint32_t{0x7fffffff});
  f = file::from_memory(image, nullptr);
  ASSERT_TRUE(f.has_value());
  const section &broken = f->sections()[text - 1];
  EXPECT_EQ(broken.index, text);
  EXPECT_EQ(broken.name, "");
  EXPECT_FALSE(f->bytes(broken).has_value());
  EXPECT_NE(find_symbol(f->symbols(), "flex_counter"), nullptr) << "the other sections still read";
}

TEST_F(elf_built, symbol_tables_with_bad_names_are_skipped) {
  bytes image = read("t.o");
  Elf64_Ehdr eh;
  std::memcpy(&eh, image.data(), sizeof eh);
  auto f = file::from_memory(image, nullptr);
  ASSERT_TRUE(f.has_value());
  const section *symtab = nullptr;
  for (const section &s : f->sections()) {
    if (s.type == SHT_SYMTAB) symtab = &s;
  }
  ASSERT_NE(symtab, nullptr);
  const std::size_t sh = eh.e_shoff + symtab->index * sizeof(Elf64_Shdr);
  bytes linked_to_itself = image;  // its "string table" is the symbol table: names run anywhere
  patch(linked_to_itself, sh + offsetof(Elf64_Shdr, sh_link), symtab->index);
  f = file::from_memory(linked_to_itself, nullptr);
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->symbols().empty());
  bytes wrong_entry_size = image;
  patch(wrong_entry_size, sh + offsetof(Elf64_Shdr, sh_entsize), std::uint64_t{16});
  f = file::from_memory(wrong_entry_size, nullptr);
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->symbols().empty());
}

// Reads everything a user could ask for; the sanitizers or a crash catch what the assertions cannot.
std::size_t read_everything(const file &f) {
  std::size_t n = f.symbols().size() + f.function_symbols().size();
  for (const section &s : f.sections()) {
    if (auto b = f.bytes(s)) n += b->empty() ? 0 : (*b)[b->size() - 1] & 1;
  }
  for (const segment &p : f.segments()) {
    if (auto b = f.bytes(p)) n += b->empty() ? 0 : (*b)[0] & 1;
  }
  return n;
}

TEST_F(elf_built, truncated_at_every_length) {
  for (const char *name : {"t.o", "t.pie"}) {
    const bytes good = read(name);
    int refused = 0;
    for (std::size_t len = 0; len < good.size(); len += len < 256 ? 1 : 61) {
      bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
      std::string error;
      auto f = file::from_memory(cut, &error);
      if (!f) {
        EXPECT_FALSE(error.empty()) << name << " cut at " << len;
        ++refused;
        continue;
      }
      read_everything(*f);
      for (const section &s : f->sections()) {
        if (auto b = f->bytes(s); b && !b->empty()) EXPECT_LE(s.offset + s.size, len);
      }
    }
    EXPECT_GT(refused, 0) << name;
  }
}

TEST_F(elf_built, random_corruption_never_crashes) {
  const bytes good = read("t.pie");
  std::mt19937 rng(20240607);  // fixed: a failure replays
  Elf64_Ehdr eh;
  std::memcpy(&eh, good.data(), sizeof eh);
  // The ELF and program headers at the start, the section headers at the end: where parsing decisions are.
  std::uniform_int_distribution<std::size_t> head(0, 1023), tail(eh.e_shoff, good.size() - 1);
  std::uniform_int_distribution<int> value(0, 255);
  for (int round = 0; round < 3000; ++round) {
    bytes image = good;
    for (int k = 0; k < 1 + round % 8; ++k) {
      image[(round & 1) ? head(rng) : tail(rng)] = static_cast<std::uint8_t>(value(rng));
    }
    std::string error;
    auto f = file::from_memory(image, &error);
    if (f) {
      read_everything(*f);
    } else {
      EXPECT_FALSE(error.empty());
    }
  }
}

}  // namespace
}  // namespace flex::elf
