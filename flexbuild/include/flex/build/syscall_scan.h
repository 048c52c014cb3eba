// What a compartment's objects can call: the system-call scan behind the build's check (DESIGN.md §8).
// Each allocated section of an object is a node (libraries are compiled with -ffunction-sections, so a
// function is a section); relocations are its edges. The roots are every section of the libraries the
// compartment places, plus the constructor tables of every object; through edges the scan reaches the
// private copies of the replicated libraries (plat) only as far as the compartment calls them. A reached
// reference to a name no object of the compartment defines is
//   - the runtime's when its archives define it (they come before libc in the link): not charged here,
//     the runtime's own needs are part of every set already;
//   - a libc or libm function: charged with what the table (syscall_table.h) says it can make; a
//     function missing from the table is an error;
//   - a C++ runtime function (libstdc++, libgcc_s): charged with what the table says, nothing when it
//     is not listed (its I/O and threads are listed; containers, strings and exceptions make none);
//   - anything else (a gate, a name another compartment's libraries define): not charged.
// A `syscall` instruction or a call to libc's syscall() in reached code is charged with its number
// (syscall_sites.h), or is an error when the number cannot be found.
//
//   auto model = flex::build::link_model::load(runtime_archives, default_c_libraries(), default_cxx_libraries(), &error);
//   flex::build::scan_session session(*model, table);
//   auto calls = session.scan({{{"obj/net/net/src/net.cc.o", "net", "libos/net/src/net.cc", false}, ...}}, &error);
//   for (const flex::build::found_call &c : (*calls)[0].calls) ...   // one result per compartment
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "flex/build/syscall_sites.h"
#include "flex/build/syscall_table.h"

namespace flex::build {

// Where the names the compartments' objects leave undefined come from in the final link.
struct link_model {
  std::unordered_set<std::string> runtime;  // defined by the archives the image links (runtime, base)
  std::unordered_set<std::string> libc;     // functions of the C library (libc.so.6, libm.so.6)
  std::unordered_set<std::string> cxx;      // functions of the C++ runtime (libstdc++.so.6, libgcc_s.so.1)

  // Reads the archives' indexes and the shared libraries' dynamic symbols. `c_libraries` are charged
  // through the table and must be listed in it; `cxx_libraries` only where the table lists them.
  static std::optional<link_model> load(const std::vector<std::filesystem::path> &archives,
                                        const std::vector<std::filesystem::path> &c_libraries,
                                        const std::vector<std::filesystem::path> &cxx_libraries,
                                        std::string *error);
};

// The libc, libm and C++ runtime of the toolchain flexbuild was built with.
std::vector<std::filesystem::path> default_c_libraries();
std::vector<std::filesystem::path> default_cxx_libraries();

struct scan_object {
  std::filesystem::path path;  // the object file
  std::string library;
  std::string source;        // for messages, e.g. libos/net/src/net.cc
  bool replicated = false;   // a private copy of a replicated library: reached through calls only
  // posix's names (DESIGN.md §2) are seen only by the app and by posix itself: `scoped` marks an object of
  // posix, whose globals only `sees_scoped` objects (the app's and posix's) bind to; the others' calls to
  // the same names go to the C library.
  bool scoped = false;
  bool sees_scoped = false;
};

enum class call_kind {
  libc,              // a call to a C or C++ library function the table lists
  instruction,       // a `syscall` instruction
  syscall_function,  // a call to libc's syscall() with a constant number
};

// One way the compartment's code reaches one system call.
struct found_call {
  std::string syscall;  // its name; "" when the number is unknown
  int number = -1;
  call_kind kind = call_kind::libc;
  std::string via;       // the function called (libc: "socket"; syscall_function: "syscall"); "" otherwise
  std::string function;  // the function whose code makes the call
  std::size_t object = 0;       // index into the scan's inputs
  std::string root_function;    // a function of a placed library that reaches it ("" when `function` is one)
  std::size_t root_object = 0;  // and its object
  std::size_t more = 0;         // functions that make the same call the same way, left out after this one
};

// The functions listed for one call made one way (the same system call, kind and `via`): the heap's calls
// through operator new come from most functions of a C++ library, and a list of them helps nobody.
inline constexpr std::size_t kMaxCallersListed = 4;

// A reached call of a library function the table does not list.
struct unlisted_function {
  std::string name;
  std::string function;  // who calls it
  std::size_t object = 0;
};

struct compartment_calls {
  std::vector<found_call> calls;  // sorted by system call, kind, via, object and function
  std::vector<unlisted_function> unlisted;
};

// A system-call site of an object: a `syscall` instruction, or a call to libc's syscall().
struct object_site {
  std::uint32_t section = 0;  // its section's index
  call_kind kind = call_kind::instruction;
  std::uint64_t offset = 0;   // of the instruction in the section
  int number = -1;            // -1: not found
};

// Sites found by decoding, kept between builds (work/syscall_sites.json) so that an unchanged object is
// never decoded again: a no-op rebuild does not load the disassembler.
class site_cache {
 public:
  struct entry {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::vector<object_site> sites;
  };
  void load(const std::filesystem::path &file);
  std::optional<std::string> save(const std::filesystem::path &file) const;  // only when changed
  entry *find(const std::filesystem::path &object, std::uint64_t size, std::int64_t mtime_ns);
  entry &put(const std::filesystem::path &object, std::uint64_t size, std::int64_t mtime_ns);

 private:
  void read_entries(const nlohmann::json &doc);
  std::map<std::string, entry> entries_;
  bool changed_ = false;
};

// Scans the compartments of one build: the link model, the table, the disassembler and the cache are
// shared between them.
class scan_session {
 public:
  scan_session(const link_model &model, const syscall_table &table, site_cache *cache = nullptr)
      : model_(model), table_(table), cache_(cache) {}
  // One result per compartment, each given as its objects: placed libraries' and replicated copies'.
  std::optional<std::vector<compartment_calls>> scan(const std::vector<std::vector<scan_object>> &compartments,
                                                     std::string *error);

  const link_model &model() const { return model_; }
  const syscall_table &table() const { return table_; }
  site_finder &finder() { return finder_; }
  site_cache *cache() { return cache_; }

 private:
  const link_model &model_;
  const syscall_table &table_;
  site_cache *cache_;
  site_finder finder_;
};

const char *to_string(call_kind k);

}  // namespace flex::build
