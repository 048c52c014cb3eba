// flexbuild report's read-back (report.h): hardening found in objects compiled here with and without each
// flag, the protections of executables linked here with and without them, and the report of a built
// image against what its image.json says.
#include "flex/build/report.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "flex/elf/elf.h"

namespace flex::build {
namespace {

namespace fs = std::filesystem;

// A function with a local array (the stack protector's reason), a fortifiable copy and an overflowable add.
constexpr const char *kSource = R"(
#include <string.h>
int sink(char *);
__attribute__((noinline)) int work(const char *s, int a, int b) {
  char buf[64];
  memcpy(buf, s, strlen(s) + 1);
  sink(buf);
  return a + b;
}
int main(int argc, char **argv) { return work(argv[argc - 1], argc, 2); }
__attribute__((weak)) int sink(char *p) { return p[0]; }  /* weak: its body proves nothing */
)";

class report_readback : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("clang-19 --version >/dev/null 2>&1") != 0) return;
    char tmpl[] = "/tmp/flex_report_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/a.c") << kSource;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (dir_.empty()) GTEST_SKIP() << "clang-19 not installed";
  }
  // Compiles a.c with `flags` (and links it when `link`); the output's path, or "" on failure.
  static std::string build(const std::string &name, const std::string &flags, bool link,
                           const std::string &source = "a.c") {
    const std::string out = dir_ + "/" + name;
    const std::string cmd =
        "clang-19 -O2 " + flags + (link ? " " : " -c ") + dir_ + "/" + source + " -o " + out + " 2>/dev/null";
    return std::system(cmd.c_str()) == 0 ? out : "";
  }
  static hardening_evidence scan(const std::string &flags) {
    static int n = 0;
    const std::string obj = build("h" + std::to_string(n++) + ".o", flags, false);
    EXPECT_FALSE(obj.empty()) << flags;
    std::string error;
    auto f = elf::file::open(obj, &error);
    EXPECT_TRUE(f.has_value()) << error;
    return f ? scan_hardening(*f) : hardening_evidence{};
  }
  static image_protections protections(const std::string &flags, const std::string &source = "a.c") {
    static int n = 0;
    const std::string exe = build("exe" + std::to_string(n++), flags, true, source);
    EXPECT_FALSE(exe.empty()) << flags;
    std::string error;
    auto f = elf::file::open(exe, &error);
    EXPECT_TRUE(f.has_value()) << error;
    return f ? scan_protections(*f) : image_protections{};
  }
  static inline std::string dir_;
};

TEST_F(report_readback, each_hardening_is_found_only_where_it_was_compiled_in) {
  const hardening_evidence none = scan("-fno-stack-protector -U_FORTIFY_SOURCE");
  EXPECT_FALSE(none.stack_protector || none.fortify || none.asan || none.ubsan);
  EXPECT_TRUE(scan("-fstack-protector-strong -U_FORTIFY_SOURCE").stack_protector);
  const hardening_evidence fortify = scan("-fno-stack-protector -D_FORTIFY_SOURCE=2");
  EXPECT_TRUE(fortify.fortify);
  EXPECT_FALSE(fortify.stack_protector);
  EXPECT_TRUE(scan("-fno-stack-protector -fsanitize=address").asan);
  const hardening_evidence ubsan = scan("-fno-stack-protector -fsanitize=undefined");
  EXPECT_TRUE(ubsan.ubsan);
  EXPECT_FALSE(ubsan.asan);
}

TEST_F(report_readback, image_protections_follow_the_link_flags) {
  const image_protections full = protections("-fPIE -pie -Wl,-z,relro,-z,now,-z,noexecstack");
  EXPECT_TRUE(full.pie);
  EXPECT_TRUE(full.nx);
  EXPECT_TRUE(full.relro);
  EXPECT_TRUE(full.bind_now);
  EXPECT_TRUE(full.w_xor_x);
  const image_protections weak = protections("-fno-PIE -no-pie -Wl,-z,norelro,-z,lazy,-z,execstack");
  EXPECT_FALSE(weak.pie);
  EXPECT_FALSE(weak.nx);
  EXPECT_FALSE(weak.relro);
  EXPECT_FALSE(weak.bind_now);
  // A linker script that makes one segment writable and executable.
  std::ofstream(dir_ + "/wx.ld") << "PHDRS { text PT_LOAD FLAGS(7); }\nSECTIONS { . = 0x400000; .text : { *(.text*) *(.data*) *(.bss*) } :text }\n";
  std::ofstream(dir_ + "/b.c") << "int start(void) { return 0; }\n";
  const image_protections wx = protections("-fno-PIE -no-pie -nostdlib -Wl,-e,start -Wl,-T," + dir_ + "/wx.ld", "b.c");
  EXPECT_FALSE(wx.w_xor_x);
}

// flexbuild compare on two small reports that differ in one point each: the verdict, and the line that
// names the difference.
struct mini {
  struct comp {
    std::string name, isolation;
    std::vector<std::string> libs, hardening, syscalls = {"read", "write"};
  };
  std::vector<comp> comps;
  std::string lockdown = "enforce", mpk_gate = "full", app = "hello";
  bool pie = true;
  std::vector<nlohmann::json> gates;  // {function, from, to (libraries)}
  std::vector<nlohmann::json> vars;   // {name, library, owner, storage, bytes}

  nlohmann::json report() const {
    nlohmann::json r;
    r["image"] = {{"name", "x"}, {"app", app}, {"profile", "x.yaml"}, {"pie", pie}, {"nx", true}, {"relro", true},
                  {"bind_now", true}, {"w_xor_x", true}, {"lockdown", lockdown}, {"mpk_gate", mpk_gate}};
    r["compartments"] = nlohmann::json::array();
    std::map<std::string, std::string> comp_of;
    for (const comp &c : comps) {
      for (const auto &l : c.libs) comp_of[l] = c.name;
      nlohmann::json found = {{"stack-protector", false}, {"fortify", false}, {"asan", false}, {"ubsan", false}};
      for (const auto &h : c.hardening) found[h] = true;
      r["compartments"].push_back({{"name", c.name}, {"isolation", c.isolation}, {"libraries", c.libs},
                                   {"replicated", nlohmann::json::array()}, {"heap_mib", 0},
                                   {"hardening", {{"requested", c.hardening}, {"found", found}, {"requested_but_absent", nlohmann::json::array()}}},
                                   {"syscalls", {{"count", c.syscalls.size()}, {"names", c.syscalls}}}});
    }
    r["boundaries"] = nlohmann::json::array();
    r["exports"] = nlohmann::json::array();
    for (const auto &g : gates) {
      const std::string from = g["from"], to = g["to"];
      nlohmann::json across = nlohmann::json::array();
      if (comp_of[from] != comp_of[to]) across.push_back(from);
      r["exports"].push_back({{"function", g["function"]}, {"library", to}, {"callers", {from}}, {"across_a_boundary", across}});
    }
    std::uint64_t static_bytes = 0;
    for (const auto &v : vars) static_bytes += v["storage"] == "static" ? v["bytes"].get<std::uint64_t>() : 0;
    r["shared"] = {{"stack", "dss"}, {"variables", vars}, {"static_bytes", static_bytes}, {"literals", 0},
                   {"shared_section_bytes", 4096}, {"callbacks", 0}};
    r["checks"] = {{"gadgets_outside_gates", 0}};
    return r;
  }
};

mini two_comps(const std::string &iso = "none") {
  mini m;
  m.comps = {{"app", iso, {"hello"}, {}}, {"core", "none", {"console"}, {}}};
  m.gates = {{{"function", "console_write_line"}, {"from", "hello"}, {"to", "console"}}};
  return m;
}

bool has(const nlohmann::json &list, const std::string &what) {
  for (const auto &w : list) {
    if (w.get<std::string>() == what) return true;
  }
  return false;
}

TEST(compare, the_same_report_is_equally_safe_and_not_weaker) {
  const auto c = compare_reports(two_comps("mpk").report(), two_comps("mpk").report());
  EXPECT_EQ(c["verdict"], "equally safe");
  EXPECT_FALSE(c["b_weaker_somewhere"].get<bool>());
  EXPECT_TRUE(c["a_wins"].empty() && c["b_wins"].empty() && c["layout_changes"].empty());
  EXPECT_TRUE(c["differences"]["exports"].empty() && c["differences"]["shared"].empty());
}

TEST(compare, a_split_behind_a_wall_is_safer_and_named) {
  mini one;
  one.comps = {{"core", "none", {"console", "hello"}, {}}};
  one.gates = {{{"function", "console_write_line"}, {"from", "hello"}, {"to", "console"}}};
  const auto c = compare_reports(one.report(), two_comps("process").report());
  EXPECT_EQ(c["verdict"], "B is safer");
  EXPECT_TRUE(has(c["b_wins"], "console | hello: no wall in A, process in B")) << c.dump(2);
  EXPECT_TRUE(has(c["layout_changes"], "split: {console,hello} in A is {hello} {console} in B")) << c.dump(2);
  // The export is now reachable across a boundary.
  EXPECT_TRUE(has(c["differences"]["exports"], "console_write_line (console): reachable across a boundary from hello in B only"))
      << c.dump(2);
  // The other way round: merged, weaker.
  const auto back = compare_reports(two_comps("process").report(), one.report());
  EXPECT_EQ(back["verdict"], "A is safer");
  EXPECT_TRUE(back["b_weaker_somewhere"].get<bool>());
  EXPECT_TRUE(has(back["layout_changes"], "merged: {hello} in A is part of {console,hello} in B")) << back.dump(2);
}

TEST(compare, a_split_by_none_is_no_wall) {
  mini one;
  one.comps = {{"core", "none", {"console", "hello"}, {}}};
  const auto c = compare_reports(one.report(), two_comps("none").report());
  EXPECT_EQ(c["verdict"], "equally safe") << c.dump(2);
}

TEST(compare, boundaries_strengthened_and_weakened) {
  EXPECT_EQ(compare_reports(two_comps("mpk").report(), two_comps("process").report())["verdict"], "B is safer");
  mini light = two_comps("mpk");
  light.mpk_gate = "light";
  const auto c = compare_reports(two_comps("mpk").report(), light.report());
  EXPECT_EQ(c["verdict"], "A is safer");
  EXPECT_TRUE(has(c["a_wins"], "console | hello: mpk-full in A, mpk-light in B")) << c.dump(2);
}

TEST(compare, hardening_added_or_removed_per_library) {
  mini hard = two_comps("mpk");
  hard.comps[0].hardening = {"ubsan"};
  const auto c = compare_reports(two_comps("mpk").report(), hard.report());
  EXPECT_EQ(c["verdict"], "B is safer");
  EXPECT_TRUE(has(c["b_wins"], "hello: ubsan in B only")) << c.dump(2);
  EXPECT_EQ(compare_reports(hard.report(), two_comps("mpk").report())["verdict"], "A is safer");
}

TEST(compare, system_calls_added_or_removed_per_library) {
  mini more = two_comps("mpk");
  more.comps[1].syscalls.push_back("socket");
  const auto c = compare_reports(two_comps("mpk").report(), more.report());
  EXPECT_EQ(c["verdict"], "A is safer");
  EXPECT_TRUE(has(c["a_wins"], "console: 1 system calls allowed in B only (socket)")) << c.dump(2);
}

TEST(compare, lockdown_and_the_executables_protections) {
  mini off = two_comps("mpk");
  off.lockdown = "off";
  auto c = compare_reports(two_comps("mpk").report(), off.report());
  EXPECT_EQ(c["verdict"], "A is safer");
  EXPECT_TRUE(has(c["a_wins"], "lockdown: enforce in A, off in B")) << c.dump(2);
  mini no_pie = two_comps("mpk");
  no_pie.pie = false;
  c = compare_reports(no_pie.report(), two_comps("mpk").report());
  EXPECT_EQ(c["verdict"], "B is safer");
  EXPECT_TRUE(has(c["b_wins"], "image: pie in B only")) << c.dump(2);
}

TEST(compare, shared_data_added_or_removed) {
  mini more = two_comps("mpk");
  more.vars = {{{"name", "buf"}, {"library", "hello"}, {"owner", "app"}, {"storage", "static"}, {"bytes", 64}}};
  const auto c = compare_reports(two_comps("mpk").report(), more.report());
  EXPECT_EQ(c["verdict"], "equally safe") << "sharing is not in the order: it is listed";
  EXPECT_TRUE(has(c["differences"]["shared"], "shared in B only: hello buf (static), 64 bytes")) << c.dump(2);
  EXPECT_TRUE(has(c["differences"]["shared"], "shared static bytes: A 0, B 64 (+64)")) << c.dump(2);
  EXPECT_EQ(c["shared"]["b_static_bytes"], 64);
}

TEST(compare, attack_results_that_differ_are_listed) {
  nlohmann::json a = two_comps("mpk").report(), b = two_comps("process").report();
  a["checks"]["attacks"] = {{"results", {{{"mechanism", "mpk"}, {"attack", "pkey-remap"}, {"result", "blocked"}},
                                         {{"mechanism", "process"}, {"attack", "vm-read"}, {"result", "not applicable"}},
                                         {{"mechanism", "none"}, {"attack", "int80"}, {"result", "blocked"}}}}};
  b["checks"]["attacks"] = {{"results", {{{"mechanism", "mpk"}, {"attack", "pkey-remap"}, {"result", "not applicable"}},
                                         {{"mechanism", "process"}, {"attack", "vm-read"}, {"result", "blocked"}},
                                         {{"mechanism", "none"}, {"attack", "int80"}, {"result", "blocked"}}}}};
  const auto c = compare_reports(a, b);
  EXPECT_EQ(c["differences"]["attacks"],
            (nlohmann::json{"mpk pkey-remap: blocked in A, not applicable in B", "process vm-read: not applicable in A, blocked in B"}));
  EXPECT_NE(compare_text(c).find("Attack results that differ (2):"), std::string::npos);
  // Without the suite's results on both sides, nothing is listed.
  EXPECT_TRUE(compare_reports(two_comps("mpk").report(), b)["differences"]["attacks"].empty());
}

TEST(compare, different_apps_are_marked_and_their_common_libraries_still_listed) {
  mini other = two_comps("process");
  other.app = "redis";
  other.comps[0].libs = {"redis"};
  const auto c = compare_reports(two_comps("mpk").report(), other.report());
  EXPECT_EQ(c["verdict"], "not comparable: different libraries");
  EXPECT_TRUE(c["app"]["differs"].get<bool>());
  EXPECT_TRUE(c["b_weaker_somewhere"].get<bool>()) << "a CI guard fails on a different app";
  EXPECT_NE(compare_text(c).find("App: A hello, B redis (different apps"), std::string::npos) << compare_text(c);
}

TEST(report, a_missing_image_names_the_file_and_what_to_do) {
  std::string error;
  nlohmann::json r = image_report("/nonexistent/image", &error);
  EXPECT_TRUE(r.is_null());
  EXPECT_NE(error.find("/nonexistent/image/image.json"), std::string::npos) << error;
  EXPECT_NE(error.find("build the image first"), std::string::npos) << error;
}

}  // namespace
}  // namespace flex::build
