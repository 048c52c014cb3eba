#include "flex/build/elf_sections.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

namespace flex::build {

const elf_section *elf_info::find_section(std::string_view name) const {
  for (const auto &s : sections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::optional<elf_info> read_elf(const std::filesystem::path &file, std::string *error) {
  auto fail = [&](const std::string &what) -> std::optional<elf_info> {
    if (error) *error = file.string() + ": " + what;
    return std::nullopt;
  };
  if (elf_version(EV_CURRENT) == EV_NONE) return fail("libelf is too old");
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("cannot open");
  Elf *elf = elf_begin(fd, ELF_C_READ, nullptr);
  struct closer {
    Elf *e;
    int fd;
    ~closer() {
      if (e) elf_end(e);
      ::close(fd);
    }
  } guard{elf, fd};
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) return fail("not an ELF file");
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf, &ehdr) == nullptr) return fail(elf_errmsg(-1));
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return fail(elf_errmsg(-1));

  elf_info info;
  info.pie = ehdr.e_type == ET_DYN;
  for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr) return fail(elf_errmsg(-1));
    const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
    info.sections.push_back({name ? name : "", sh.sh_addr, sh.sh_size, sh.sh_addralign, sh.sh_flags,
                             sh.sh_type});
    if (sh.sh_type != SHT_SYMTAB) continue;
    Elf_Data *data = elf_getdata(scn, nullptr);
    size_t count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
    for (size_t i = 0; data != nullptr && i < count; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr || sym.st_shndx == SHN_UNDEF) continue;
      const char *sname = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (sname && *sname) info.symbols.emplace(sname, sym.st_value);
    }
  }
  return info;
}

}  // namespace flex::build
