// The system-call scan's view of one object (syscall_scan_impl.h): its allocated sections, the symbols
// that name them, where their relocations lead, and their system-call sites. Read through flex::elf.
#include <elf.h>
#include <sys/stat.h>

#include <algorithm>

#include "flex/build/syscall_scan_impl.h"
#include "flex/elf/elf.h"

namespace flex::build::scan_impl {

namespace fs = std::filesystem;

std::string object_section::name_at(std::uint64_t offset) const {
  const named_range *any = nullptr;
  for (const named_range &r : symbols) {
    if (offset < r.begin || offset >= r.end) continue;
    if (r.function) return r.name;
    if (!any) any = &r;
  }
  if (any) return any->name;
  for (const named_range &r : symbols) {
    if (r.function && r.begin == 0) return r.name;
  }
  return name;
}

namespace {

// libc's syscall(), and plat's plat_syscall (its one way into the kernel, which an mpk image routes through
// the domain's system-call gate): both take the number first. plat_syscall's own `syscall` instruction is
// not a site: its callers are charged with their numbers.
bool is_syscall_function(const std::string &name) {
  return name == "syscall" || name == "plat_syscall";
}
constexpr const char *kSyscallHookSection = ".text.plat_syscall";

bool is_constructor_table(const elf::section &s) {
  return s.type == SHT_INIT_ARRAY || s.type == SHT_FINI_ARRAY || s.type == SHT_PREINIT_ARRAY ||
         s.name.rfind(".ctors", 0) == 0 || s.name.rfind(".dtors", 0) == 0;
}

// slot[i]: the place of section i in facts.sections, or -1 when it is not allocated.
std::vector<int> add_sections(const elf::file &f, object_facts &facts) {
  std::vector<int> slot(f.sections().size() + 1, -1);
  for (const elf::section &s : f.sections()) {
    if (!(s.flags & SHF_ALLOC) || s.index >= slot.size()) continue;
    object_section os;
    os.index = s.index;
    os.name = s.name;
    os.code = (s.flags & SHF_EXECINSTR) != 0;
    os.constructor_table = is_constructor_table(s);
    os.unwind_table = s.name == ".eh_frame" || s.type == SHT_X86_64_UNWIND;
    slot[s.index] = static_cast<int>(facts.sections.size());
    facts.sections.push_back(std::move(os));
  }
  return slot;
}

object_section *section_at(std::uint32_t index, const std::vector<int> &slot, object_facts &facts) {
  if (index == 0 || index >= SHN_LORESERVE || index >= slot.size() || slot[index] < 0) return nullptr;
  return &facts.sections[static_cast<std::size_t>(slot[index])];
}

void add_symbols(const std::vector<elf::symbol> &table, const std::vector<int> &slot, object_facts &facts) {
  for (std::size_t i = 1; i < table.size(); ++i) {
    const elf::symbol &sym = table[i];
    object_section *s = section_at(sym.section, slot, facts);
    if (!s || sym.name.empty() || (sym.type != STT_FUNC && sym.type != STT_OBJECT && sym.type != STT_GNU_IFUNC)) {
      continue;
    }
    s->symbols.push_back({sym.value, sym.value + std::max<std::uint64_t>(sym.size, 1), sym.name, sym.type != STT_OBJECT});
    if (sym.binding == STB_GLOBAL || sym.binding == STB_GNU_UNIQUE) facts.strong.emplace_back(sym.name, sym.section);
    if (sym.binding == STB_WEAK) facts.weak.emplace_back(sym.name, sym.section);
  }
}

void add_references(const elf::file &f, const std::vector<elf::symbol> &table, const std::vector<int> &slot,
                    object_facts &facts) {
  for (const elf::relocation &r : f.relocations(/*loaded_only=*/true)) {
    object_section *from = section_at(r.section, slot, facts);
    if (!from || r.symbol == 0 || r.symbol >= table.size()) continue;
    const elf::symbol &to = table[r.symbol];
    if (to.section == SHN_UNDEF) {
      if (!to.name.empty()) from->refs.push_back({r.offset, 0, to.name});
    } else if (section_at(to.section, slot, facts)) {
      // A call to plat_syscall defined in the same object still names it: it is a site.
      from->refs.push_back({r.offset, to.section, is_syscall_function(to.name) ? to.name : std::string()});
    }
  }
}

bool refers_to_syscall(const object_section &s) {
  return std::any_of(s.refs.begin(), s.refs.end(), [](const reference &r) { return is_syscall_function(r.name); });
}

// Decodes the sections that may hold a site: a 0F 05 pair in code, or a reference to syscall().
bool decode_sites(const elf::file &f, object_facts &facts, site_finder &finder, std::vector<object_site> &out,
                  std::string *error) {
  for (object_section &s : facts.sections) {
    const elf::section &hdr = f.sections()[s.index - 1];
    auto bytes = f.bytes(hdr);
    if (!bytes) {
      *error = "section " + s.name + " lies outside the file";
      return false;
    }
    if (s.code && s.name != kSyscallHookSection && may_hold_syscall_instruction(*bytes)) {
      auto sites = finder.syscall_instructions(*bytes, error);
      if (!sites) return false;
      for (const syscall_site &site : *sites) out.push_back({s.index, call_kind::instruction, site.offset, site.number});
    }
    for (const reference &r : s.refs) {
      if (!is_syscall_function(r.name)) continue;
      if (!s.code) {  // its address taken: called with any number
        out.push_back({s.index, call_kind::syscall_function, r.offset, -1});
        continue;
      }
      auto site = finder.syscall_function_call(*bytes, r.offset, error);
      if (!site) return false;
      out.push_back({s.index, call_kind::syscall_function, site->offset, site->number});
    }
  }
  return true;
}

bool needs_decoding(const elf::file &f, const object_facts &facts) {
  for (const object_section &s : facts.sections) {
    if (refers_to_syscall(s)) return true;
    if (!s.code) continue;
    auto bytes = f.bytes(f.sections()[s.index - 1]);
    if (bytes && may_hold_syscall_instruction(*bytes)) return true;
  }
  return false;
}

bool add_sites(const elf::file &f, const fs::path &path, object_facts &facts, scan_session &session,
               std::string *error) {
  if (!needs_decoding(f, facts)) return true;
  struct stat st {};
  const bool stamped = ::stat(path.c_str(), &st) == 0;
  const std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::vector<object_site> sites;
  site_cache::entry *cached = stamped && session.cache() ? session.cache()->find(path, size, mtime) : nullptr;
  if (cached) {
    sites = cached->sites;
  } else {
    if (!decode_sites(f, facts, session.finder(), sites, error)) return false;
    if (stamped && session.cache()) session.cache()->put(path, size, mtime).sites = sites;
  }
  for (const object_site &site : sites) {
    auto it = std::find_if(facts.sections.begin(), facts.sections.end(),
                           [&](const object_section &s) { return s.index == site.section; });
    if (it != facts.sections.end()) it->sites.push_back(site);
  }
  return true;
}

}  // namespace

std::optional<object_facts> read_object(const fs::path &path, scan_session &session, std::string *error) {
  std::string why;
  auto f = elf::file::open(path.string(), &why);
  if (f && f->type() != elf::file_type::relocatable) why = "not a relocatable object";
  if (!f || !why.empty()) {
    if (error) *error = path.string() + ": " + why;
    return std::nullopt;
  }
  object_facts facts;
  const std::vector<int> slot = add_sections(*f, facts);
  const std::vector<elf::symbol> table = f->symbol_table();
  add_symbols(table, slot, facts);
  add_references(*f, table, slot, facts);
  if (!add_sites(*f, path, facts, session, &why)) {
    if (error) *error = path.string() + ": " + why;
    return std::nullopt;
  }
  return facts;
}

}  // namespace flex::build::scan_impl
