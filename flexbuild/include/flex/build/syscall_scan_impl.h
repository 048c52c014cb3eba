// For implementers of the system-call scan only (syscall_scan.h): what one object holds, as the scan
// reads it (syscall_objects.cc) and links it into a compartment's graph (syscall_scan.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flex/build/syscall_scan.h"

namespace flex::build::scan_impl {

struct named_range {  // a defined symbol, to name the code at an offset
  std::uint64_t begin = 0, end = 0;
  std::string name;
  bool function = false;
};

struct reference {  // one relocation of a section, reduced to where it leads
  std::uint64_t offset = 0;
  std::uint32_t local_section = 0;  // non-zero: a section of the same object
  std::string name;                 // otherwise: the undefined (or global) name it refers to
};

struct object_section {
  std::uint32_t index = 0;
  std::string name;
  bool code = false;
  bool constructor_table = false;  // .init_array and the like: run whoever calls them
  bool unwind_table = false;       // .eh_frame: refers to every function, calls none
  std::vector<named_range> symbols;
  std::vector<reference> refs;
  std::vector<object_site> sites;

  // The function (else any symbol) at `offset`; else the section's name.
  std::string name_at(std::uint64_t offset) const;
};

struct object_facts {
  std::vector<object_section> sections;  // the allocated ones, by index
  std::vector<std::pair<std::string, std::uint32_t>> strong;  // defined global names and their sections
  std::vector<std::pair<std::string, std::uint32_t>> weak;
};

// Reads one object; sites come from the cache when the file is unchanged, else are decoded.
std::optional<object_facts> read_object(const std::filesystem::path &path, scan_session &session,
                                        std::string *error);

}  // namespace flex::build::scan_impl
