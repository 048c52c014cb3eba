#include "flex/build/manifest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace flex::build {
namespace {

namespace fs = std::filesystem;

std::string dump(const diag_sink &diags) {
  std::string out;
  for (const yaml::diagnostic &d : diags.all()) out += render(d, false);
  return out;
}

// Exactly one error, at line:col, whose message and hint contain the given text.
::testing::AssertionResult has_error(const diag_sink &diags, int line, int col, std::string_view message,
                                     std::string_view hint = {}) {
  if (diags.error_count() != 1) {
    return ::testing::AssertionFailure() << "expected one error, got " << diags.error_count() << ":\n"
                                         << dump(diags);
  }
  for (const yaml::diagnostic &d : diags.all()) {
    if (d.level != yaml::severity::error) continue;
    if (d.pos.line != line || d.pos.column != col || d.message.find(message) == std::string::npos ||
        d.hint.find(hint) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "expected " << line << ":" << col << " '" << message << "' (hint '" << hint << "'), got:\n"
             << dump(diags);
    }
  }
  return ::testing::AssertionSuccess();
}

// A source tree in a temporary folder: root/libos/<lib>/... and root/apps/<app>/...
class manifest_test : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("flex_manifest_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    touch("libos/net/src/socket.cc");
    touch("libos/net/src/poll.c");
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string &rel, const std::string &text) {
    fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }
  void touch(const std::string &rel) { write(rel, "int x;\n"); }

  // Parses `text` as root/libos/net/lib.yaml.
  std::optional<lib_manifest> parse(std::string_view text, lib_kind kind = lib_kind::libos) {
    return parse_manifest(net_file(), text, kind, diags_);
  }
  fs::path net_file() const { return root_ / "libos/net/lib.yaml"; }

  fs::path root_;
  diag_sink diags_;
};

TEST_F(manifest_test, full_manifest_round_trips) {
  auto lib = parse(R"(name: net
sources: [src/socket.cc, src/poll.c]
exports: [net_socket, net_recv]
requires: [plat, alloc]
options:
  backlog: {default: 16, help: "listen backlog; each slot costs 64 bytes"}
replicated: false
)");
  ASSERT_TRUE(lib) << dump(diags_);
  EXPECT_FALSE(diags_.has_errors());
  EXPECT_EQ(lib->name, "net");
  EXPECT_EQ(lib->kind, lib_kind::libos);
  EXPECT_EQ(lib->file, net_file());
  EXPECT_EQ(lib->dir, root_ / "libos/net");
  EXPECT_EQ(lib->include_dir(), root_ / "libos/net/include");
  EXPECT_EQ(lib->name_pos.file, net_file().string());
  EXPECT_EQ(lib->name_pos.line, 1);
  EXPECT_EQ(lib->name_pos.column, 7);
  ASSERT_EQ(lib->sources.size(), 2u);
  EXPECT_EQ(lib->sources[0].value, "src/socket.cc");
  EXPECT_EQ(lib->sources[1].value, "src/poll.c");
  EXPECT_EQ(lib->sources[1].pos.line, 2);
  EXPECT_EQ(lib->sources[1].pos.column, 26);
  ASSERT_EQ(lib->exports.size(), 2u);
  EXPECT_EQ(lib->exports[1].value, "net_recv");
  EXPECT_TRUE(lib->exports_symbol("net_socket"));
  EXPECT_FALSE(lib->exports_symbol("net_bind"));
  ASSERT_EQ(lib->deps.size(), 2u);
  EXPECT_EQ(lib->deps[0].value, "plat");
  EXPECT_EQ(lib->deps[1].value, "alloc");
  ASSERT_EQ(lib->options.size(), 1u);
  EXPECT_EQ(lib->options[0].name, "backlog");
  EXPECT_EQ(lib->options[0].default_value, "16");
  EXPECT_EQ(lib->options[0].help, "listen backlog; each slot costs 64 bytes");
  EXPECT_EQ(lib->options[0].pos.line, 6);
  EXPECT_EQ(lib->options[0].pos.column, 3);
  EXPECT_FALSE(lib->replicated);
}

TEST_F(manifest_test, minimal_manifest_has_defaults) {
  auto lib = parse("name: net\nsources: [src/socket.cc]\n", lib_kind::app);
  ASSERT_TRUE(lib) << dump(diags_);
  EXPECT_EQ(lib->kind, lib_kind::app);
  EXPECT_TRUE(lib->exports.empty());
  EXPECT_TRUE(lib->deps.empty());
  EXPECT_TRUE(lib->options.empty());
  EXPECT_FALSE(lib->replicated);
}

TEST_F(manifest_test, empty_lists_and_maps_are_fine) {
  auto lib = parse("name: net\nsources: []\nexports:\nrequires: []\noptions: {}\nreplicated: true\n");
  ASSERT_TRUE(lib) << dump(diags_);
  EXPECT_TRUE(lib->replicated);
}

TEST_F(manifest_test, unknown_key_suggests_the_nearest) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\nexprots: [net_recv]\n"));
  EXPECT_TRUE(has_error(diags_, 3, 1, "unknown key 'exprots' in lib.yaml", "did you mean 'exports'?"));
}

TEST_F(manifest_test, unknown_key_far_from_any_lists_the_valid_ones) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\ncolour: blue\n"));
  EXPECT_TRUE(has_error(diags_, 3, 1, "unknown key 'colour'",
                        "valid keys: name, sources, exports, requires, options, replicated"));
}

TEST_F(manifest_test, includes_are_folders_inside_the_library) {
  auto lib = parse("name: net\nsources: [src/socket.cc]\nincludes: [src]\n");
  ASSERT_TRUE(lib) << dump(diags_);
  ASSERT_EQ(lib->includes.size(), 1u);
  EXPECT_EQ(lib->includes[0].value, "src");
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\nincludes: [../other]\n"));
  EXPECT_TRUE(has_error(diags_, 3, 12, "include folder '../other' is not a folder inside the library", "src"))
      << dump(diags_);
}

TEST_F(manifest_test, defines_are_macro_names_with_optional_values) {
  auto lib = parse("name: net\nsources: [src/socket.cc]\ndefines: [HAVE_CONFIG_H, 'VERSION=\"0.73\"']\n");
  ASSERT_TRUE(lib) << dump(diags_);
  ASSERT_EQ(lib->defines.size(), 2u);
  EXPECT_EQ(lib->defines[0].value, "HAVE_CONFIG_H");
  EXPECT_EQ(lib->defines[1].value, "VERSION=\"0.73\"");
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\ndefines: [HAVE_CONFIG_H, 2BAD=1]\n"));
  EXPECT_TRUE(has_error(diags_, 3, 26, "define '2BAD=1' is not NAME or NAME=VALUE", "HAVE_CONFIG_H")) << dump(diags_);
}

// An app names the option of its command line that gives hostfs's directory, so the lockdown knows it
// at boot; a libOS library has no command line.
TEST_F(manifest_test, an_app_names_its_hostfs_directory_option) {
  const std::string head = "name: net\nsources: [src/socket.cc]\n";
  auto lib = parse(head + "hostfs_dir: {option: --dir, default: .}\n", lib_kind::app);
  ASSERT_TRUE(lib) << dump(diags_);
  ASSERT_TRUE(lib->hostfs_dir_option);
  EXPECT_EQ(lib->hostfs_dir_option->value, "--dir");
  EXPECT_EQ(lib->hostfs_dir_default, ".");
  lib = parse(head + "hostfs_dir: {option: --dir}\n", lib_kind::app);
  ASSERT_TRUE(lib) << dump(diags_);
  EXPECT_EQ(lib->hostfs_dir_default, "");
  lib = parse(head, lib_kind::app);
  ASSERT_TRUE(lib);
  EXPECT_FALSE(lib->hostfs_dir_option);
}

TEST_F(manifest_test, a_bad_hostfs_dir_is_an_error_at_its_line) {
  const std::string head = "name: net\nsources: [src/socket.cc]\n";
  EXPECT_FALSE(parse(head + "hostfs_dir: {option: --dir}\n"));
  EXPECT_TRUE(has_error(diags_, 3, 1, "'hostfs_dir' is for apps only", "command line")) << dump(diags_);
  diags_ = {};
  EXPECT_FALSE(parse(head + "hostfs_dir: {option: dir}\n", lib_kind::app));
  EXPECT_TRUE(has_error(diags_, 3, 22, "hostfs_dir option 'dir' is not a command-line option", "--dir"));
  diags_ = {};
  EXPECT_FALSE(parse(head + "hostfs_dir: {option: --dir=x}\n", lib_kind::app));
  EXPECT_TRUE(has_error(diags_, 3, 22, "is not a command-line option"));
  diags_ = {};
  EXPECT_FALSE(parse(head + "hostfs_dir: {default: .}\n", lib_kind::app));
  EXPECT_TRUE(has_error(diags_, 3, 1, "'hostfs_dir' has no 'option'", "option: --dir"));
  diags_ = {};
  EXPECT_FALSE(parse(head + "hostfs_dir: {option: --dir, default: ''}\n", lib_kind::app));
  EXPECT_TRUE(has_error(diags_, 3, 38, "hostfs_dir's default is empty"));
  diags_ = {};
  EXPECT_FALSE(parse(head + "hostfs_dir: {option: --dir, dflt: .}\n", lib_kind::app));
  EXPECT_TRUE(has_error(diags_, 3, 29, "unknown key 'dflt'", "default"));
}

TEST_F(manifest_test, duplicate_key_is_reported_at_the_second) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\nname: net\n"));
  EXPECT_TRUE(has_error(diags_, 3, 1, "duplicate key 'name' in lib.yaml", "line 1"));
}

TEST_F(manifest_test, missing_name) {
  EXPECT_FALSE(parse("sources: [src/socket.cc]\n"));
  EXPECT_TRUE(has_error(diags_, 1, 1, "lib.yaml has no 'name'", "add `name: net`"));
}

TEST_F(manifest_test, missing_sources) {
  EXPECT_FALSE(parse("name: net\n"));
  EXPECT_TRUE(has_error(diags_, 1, 1, "lib.yaml has no 'sources'"));
}

TEST_F(manifest_test, invalid_name) {
  EXPECT_FALSE(parse("name: Net\nsources: [src/socket.cc]\n"));
  EXPECT_TRUE(has_error(diags_, 1, 7, "library name 'Net' is not a valid name", "lower-case"));
}

TEST_F(manifest_test, name_must_match_the_folder) {
  EXPECT_FALSE(parse("name: network\nsources: [src/socket.cc]\n"));
  EXPECT_TRUE(has_error(diags_, 1, 7, "library 'network' is in folder 'net'",
                        "rename the folder to 'network' or the library to 'net'"));
}

TEST_F(manifest_test, name_must_be_a_single_value) {
  EXPECT_FALSE(parse("name: [net]\nsources: [src/socket.cc]\n"));
  EXPECT_TRUE(has_error(diags_, 1, 7, "'name' must be a single value, found a list"));
}

TEST_F(manifest_test, name_without_value_points_at_the_key) {
  EXPECT_FALSE(parse("sources: [src/socket.cc]\nname:\n"));
  EXPECT_TRUE(has_error(diags_, 2, 1, "'name' has no value"));
}

TEST_F(manifest_test, missing_source_is_reported_at_the_item) {
  EXPECT_FALSE(parse("name: net\nsources:\n  - src/socket.cc\n  - src/bind.cc\n"));
  EXPECT_TRUE(has_error(diags_, 4, 5, "source 'src/bind.cc' does not exist", "libos/net/src/bind.cc"));
}

TEST_F(manifest_test, source_must_be_c_or_cpp) {
  touch("libos/net/src/socket.h");
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc, src/socket.h]\n"));
  EXPECT_TRUE(has_error(diags_, 2, 26, "source 'src/socket.h' is not a C or C++ file", ".c, .cc or .cpp"));
}

TEST_F(manifest_test, source_must_stay_inside_the_library) {
  touch("libos/other.cc");
  EXPECT_FALSE(parse("name: net\nsources: [src/../../other.cc]\n"));
  EXPECT_TRUE(has_error(diags_, 2, 11, "is not a path inside the library"));
  diag_sink abs;
  EXPECT_FALSE(parse_manifest(net_file(), "name: net\nsources: [/etc/x.cc]\n", lib_kind::libos, abs));
  EXPECT_TRUE(has_error(abs, 2, 11, "source '/etc/x.cc' is not a path inside the library"));
}

TEST_F(manifest_test, source_listed_twice) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc, src/socket.cc]\n"));
  EXPECT_TRUE(has_error(diags_, 2, 26, "'src/socket.cc' is listed twice in 'sources'"));
}

TEST_F(manifest_test, sources_written_as_a_single_value) {
  EXPECT_FALSE(parse("name: net\nsources: src/socket.cc\n"));
  EXPECT_TRUE(has_error(diags_, 2, 10, "'sources' must be a list, found a single value",
                        "write `sources: [src/socket.cc]`"));
}

TEST_F(manifest_test, source_item_must_be_a_single_value) {
  EXPECT_FALSE(parse("name: net\nsources:\n  - {a: b}\n"));
  EXPECT_TRUE(has_error(diags_, 3, 5, "each item of 'sources' must be a single value, found a map"));
}

TEST_F(manifest_test, export_must_be_a_c_identifier) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\nexports: [net_recv, net-send]\n"));
  EXPECT_TRUE(has_error(diags_, 3, 21, "export 'net-send' is not a C identifier"));
}

TEST_F(manifest_test, export_listed_twice) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\nexports:\n  - net_recv\n  - net_recv\n"));
  EXPECT_TRUE(has_error(diags_, 5, 5, "'net_recv' is listed twice in 'exports'", "line 4"));
}

TEST_F(manifest_test, requires_must_name_libraries) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\nrequires: [plat, Alloc]\n"));
  EXPECT_TRUE(has_error(diags_, 3, 18, "library name 'Alloc' is not a valid name"));
}

TEST_F(manifest_test, requires_listed_twice) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\nrequires: [plat, plat]\n"));
  EXPECT_TRUE(has_error(diags_, 3, 18, "'plat' is listed twice in 'requires'"));
}

TEST_F(manifest_test, option_needs_help) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\noptions:\n  backlog: {default: 16}\n"));
  EXPECT_TRUE(has_error(diags_, 4, 3, "option 'backlog' has no help text", "what it costs"));
}

TEST_F(manifest_test, option_help_must_not_be_empty) {
  EXPECT_FALSE(
      parse("name: net\nsources: [src/socket.cc]\noptions:\n  backlog: {default: 16, help: \"\"}\n"));
  EXPECT_TRUE(has_error(diags_, 4, 32, "option 'backlog' has an empty help text"));
}

TEST_F(manifest_test, option_unknown_key) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\noptions:\n  backlog: {default: 16, hlp: x}\n"));
  EXPECT_TRUE(has_error(diags_, 4, 26, "unknown key 'hlp' in option 'backlog'", "did you mean 'help'?"));
}

TEST_F(manifest_test, option_must_be_a_map) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\noptions:\n  backlog: 16\n"));
  EXPECT_TRUE(has_error(diags_, 4, 12, "option 'backlog' must be a map, found a single value",
                        "{default: <value>, help:"));
}

TEST_F(manifest_test, option_default_must_be_a_single_value) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\noptions:\n  backlog: {default: [1], help: h}\n"));
  EXPECT_TRUE(has_error(diags_, 4, 22, "'default' must be a single value, found a list"));
}

TEST_F(manifest_test, option_name_must_be_a_name) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\noptions:\n  Backlog: {default: 1, help: h}\n"));
  EXPECT_TRUE(has_error(diags_, 4, 3, "option name 'Backlog' is not a valid name"));
}

TEST_F(manifest_test, options_must_be_a_map) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\noptions: [a]\n"));
  EXPECT_TRUE(has_error(diags_, 3, 10, "'options' must be a map, found a list"));
}

TEST_F(manifest_test, replicated_must_be_true_or_false) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc]\nreplicated: yes\n"));
  EXPECT_TRUE(has_error(diags_, 3, 13, "'replicated' must be true or false, found 'yes'",
                        "`replicated: true` or `replicated: false`"));
}

TEST_F(manifest_test, yaml_syntax_error_has_its_position) {
  EXPECT_FALSE(parse("name: net\nsources: [src/socket.cc\n"));
  EXPECT_TRUE(has_error(diags_, 3, 1, "YAML syntax error: end of sequence flow not found"));
}

TEST_F(manifest_test, tab_indentation_is_a_syntax_error) {
  EXPECT_FALSE(parse("name: net\nsources:\n\t- src/socket.cc\n"));
  ASSERT_EQ(diags_.error_count(), 1) << dump(diags_);
  EXPECT_NE(diags_.all().front().message.find("YAML syntax error"), std::string::npos);
}

TEST_F(manifest_test, empty_file) {
  EXPECT_FALSE(parse("# nothing here\n"));
  EXPECT_TRUE(has_error(diags_, 0, 0, "lib.yaml is empty", "`name: <folder name>`"));
}

TEST_F(manifest_test, top_level_must_be_a_map) {
  EXPECT_FALSE(parse("- name: net\n"));
  EXPECT_TRUE(has_error(diags_, 1, 1, "lib.yaml must be a map, found a list"));
}

TEST_F(manifest_test, deep_nesting_is_rejected_before_parsing) {
  EXPECT_FALSE(parse("name: net\nsources: " + std::string(100, '[') + std::string(100, ']') + "\n"));
  EXPECT_TRUE(has_error(diags_, 2, 10 + 64, "nested deeper than 64 levels"));
}

TEST_F(manifest_test, several_errors_are_all_reported) {
  EXPECT_FALSE(parse("name: Net\nsources: [nope.cc]\nexports: [1x]\nreplicated: maybe\n"));
  EXPECT_EQ(diags_.error_count(), 4) << dump(diags_);
}

TEST_F(manifest_test, load_manifest_reads_the_file) {
  write("libos/net/lib.yaml", "name: net\nsources: [src/socket.cc]\n");
  auto lib = load_manifest(net_file(), lib_kind::libos, diags_);
  ASSERT_TRUE(lib) << dump(diags_);
  EXPECT_EQ(lib->name, "net");
}

TEST_F(manifest_test, load_manifest_of_a_missing_file) {
  EXPECT_FALSE(load_manifest(root_ / "libos/none/lib.yaml", lib_kind::libos, diags_));
  EXPECT_TRUE(has_error(diags_, 0, 0, "cannot open"));
}

lib_manifest make_lib(std::string name, std::vector<std::string> deps = {}) {
  lib_manifest lib;
  lib.name = name;
  lib.file = "/tree/libos/" + name + "/lib.yaml";
  lib.dir = "/tree/libos/" + name;
  lib.name_pos = {lib.file.string(), 1, 7};
  int col = 12;
  for (std::string &d : deps) {
    lib.deps.push_back({d, {lib.file.string(), 3, col}});
    col += static_cast<int>(d.size()) + 2;
  }
  return lib;
}

TEST(library_index, add_and_find) {
  library_index index;
  diag_sink diags;
  EXPECT_TRUE(index.add(make_lib("net"), diags));
  EXPECT_TRUE(index.add(make_lib("alloc"), diags));
  EXPECT_FALSE(diags.has_errors());
  ASSERT_NE(index.find("net"), nullptr);
  EXPECT_EQ(index.find("net")->name, "net");
  EXPECT_EQ(index.find("vfs"), nullptr);
  EXPECT_EQ(index.names(), (std::vector<std::string>{"alloc", "net"}));
  EXPECT_EQ(index.all().size(), 2u);
}

TEST(library_index, duplicate_name_names_both_files) {
  library_index index;
  diag_sink diags;
  EXPECT_TRUE(index.add(make_lib("net"), diags));
  lib_manifest again = make_lib("net");
  again.file = "/tree/apps/net/lib.yaml";
  again.name_pos.file = again.file.string();
  EXPECT_FALSE(index.add(again, diags));
  EXPECT_TRUE(has_error(diags, 1, 7, "library 'net' is defined twice", "/tree/libos/net/lib.yaml"));
  EXPECT_EQ(diags.all().front().pos.file, "/tree/apps/net/lib.yaml");
  ASSERT_EQ(diags.all().size(), 2u);
  EXPECT_EQ(diags.all()[1].level, yaml::severity::note);
  EXPECT_EQ(diags.all()[1].pos.file, "/tree/libos/net/lib.yaml");
}

TEST(library_index, requires_unknown_library_suggests_the_nearest) {
  library_index index;
  diag_sink diags;
  index.add(make_lib("net", {"plat", "alloc", "shed"}), diags);
  index.add(make_lib("plat"), diags);
  index.add(make_lib("alloc"), diags);
  index.add(make_lib("sched"), diags);
  index.check_requires(diags);
  EXPECT_TRUE(has_error(diags, 3, 25, "unknown library 'shed' in 'requires'", "did you mean 'sched'?"));
}

TEST(library_index, requires_far_from_any_lists_the_known) {
  library_index index;
  diag_sink diags;
  index.add(make_lib("net", {"zzzzzz"}), diags);
  index.add(make_lib("plat"), diags);
  index.check_requires(diags);
  EXPECT_TRUE(has_error(diags, 3, 12, "unknown library 'zzzzzz'", "known libraries: net, plat"));
}

TEST(library_index, library_requiring_itself) {
  library_index index;
  diag_sink diags;
  index.add(make_lib("net", {"net"}), diags);
  index.check_requires(diags);
  EXPECT_TRUE(has_error(diags, 3, 12, "library 'net' requires itself", "remove 'net'"));
}

TEST_F(manifest_test, load_library_index_scans_libos_and_apps) {
  write("libos/net/lib.yaml", "name: net\nsources: [src/socket.cc]\nrequires: [plat]\n");
  touch("libos/plat/src/plat.cc");
  write("libos/plat/lib.yaml", "name: plat\nsources: [src/plat.cc]\nreplicated: true\n");
  touch("apps/hello/src/main.cc");
  write("apps/hello/lib.yaml", "name: hello\nsources: [src/main.cc]\nrequires: [net]\n");
  fs::create_directories(root_ / "libos/notalib");  // no lib.yaml: not a library
  library_index index = load_library_index(root_, diags_);
  EXPECT_FALSE(diags_.has_errors()) << dump(diags_);
  EXPECT_EQ(index.names(), (std::vector<std::string>{"hello", "net", "plat"}));
  EXPECT_EQ(index.find("hello")->kind, lib_kind::app);
  EXPECT_EQ(index.find("net")->kind, lib_kind::libos);
  EXPECT_TRUE(index.find("plat")->replicated);
}

TEST_F(manifest_test, load_library_index_reports_errors_and_missing_requires) {
  write("libos/net/lib.yaml", "name: net\nsources: [src/socket.cc]\nrequires: [plat]\n");
  library_index index = load_library_index(root_, diags_);
  EXPECT_TRUE(has_error(diags_, 3, 12, "unknown library 'plat' in 'requires'"));
  EXPECT_EQ(diags_.all().front().pos.file, (root_ / "libos/net/lib.yaml").string());
}

TEST(library_index, missing_folders_are_fine) {
  diag_sink diags;
  library_index index = load_library_index("/nonexistent/flex/tree", diags);
  EXPECT_FALSE(diags.has_errors());
  EXPECT_TRUE(index.names().empty());
}


// ---- syscalls: (DESIGN.md §8) ----------------------------------------------------------------------------

TEST_F(manifest_test, syscalls_are_read_with_their_socket_families) {
  auto lib = parse("name: net\nsources: [src/socket.cc]\n"
                   "syscalls: [recvfrom, \"socket(AF_INET, AF_INET6)\", epoll_wait]\n");
  ASSERT_TRUE(lib) << dump(diags_);
  EXPECT_FALSE(diags_.has_errors()) << dump(diags_);
  ASSERT_EQ(lib->syscalls.size(), 3u);
  EXPECT_EQ(lib->syscalls[0].name.value, "recvfrom");
  EXPECT_TRUE(lib->syscalls[0].families.empty());
  EXPECT_EQ(lib->syscalls[1].name.value, "socket");
  EXPECT_EQ(lib->syscalls[1].families, (std::vector<int>{2, 10}));
  EXPECT_EQ(lib->syscalls[2].name.pos.line, 3);
}

TEST_F(manifest_test, an_unknown_system_call_is_an_error_at_its_position) {
  parse("name: net\nsources: [src/socket.cc]\nsyscalls: [read, stat64]\n");
  EXPECT_TRUE(has_error(diags_, 3, 18, "'stat64' is not a Linux x86-64 system call", "kernel's name"));
}

TEST_F(manifest_test, a_never_allowed_call_is_refused_with_the_reason) {
  parse("name: net\nsources: [src/socket.cc]\nsyscalls: [ptrace]\n");
  EXPECT_TRUE(has_error(diags_, 3, 12, "'ptrace' is never allowed to a compartment: it reads and writes another",
                        "remove it"));
  diags_ = diag_sink();
  parse("name: net\nsources: [src/socket.cc]\nsyscalls: [pkey_mprotect]\n");
  EXPECT_TRUE(has_error(diags_, 3, 12, "protection keys belong to the runtime"));
}

TEST_F(manifest_test, syscall_forms_that_are_wrong_say_how_to_write_them) {
  parse("name: net\nsources: [src/socket.cc]\nsyscalls: [socket(AF_INET, AF_INET6)]\n");
  EXPECT_GE(diags_.error_count(), 1);
  EXPECT_NE(dump(diags_).find("quote the call"), std::string::npos) << dump(diags_);
  diags_ = diag_sink();
  parse("name: net\nsources: [src/socket.cc]\nsyscalls: [\"socket(AF_BOGUS)\"]\n");
  EXPECT_TRUE(has_error(diags_, 3, 12, "unknown socket family 'AF_BOGUS'"));
  diags_ = diag_sink();
  parse("name: net\nsources: [src/socket.cc]\nsyscalls: [\"read(3)\"]\n");
  EXPECT_TRUE(has_error(diags_, 3, 12, "only socket takes arguments", "plain name read"));
  diags_ = diag_sink();
  parse("name: net\nsources: [src/socket.cc]\nsyscalls: [read, write, read]\n");
  EXPECT_TRUE(has_error(diags_, 3, 25, "'read' is listed twice in 'syscalls'"));
}

TEST_F(manifest_test, a_replicated_library_declares_no_system_calls) {
  parse("name: net\nsources: [src/socket.cc]\nreplicated: true\nsyscalls: [write]\n");
  EXPECT_TRUE(has_error(diags_, 4, 11, "replicated library 'net' declares system calls",
                        "libraries that call it"));
}

}  // namespace
}  // namespace flex::build
