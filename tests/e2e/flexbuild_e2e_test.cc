// flexbuild end to end on the hello app: build, run, describe, sections read back from the ELF,
// hardening in the objects, incremental builds, errors pointing at the user's files.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "test_util.h"

namespace flex::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string profile(const std::string &name) { return (source_dir() / "profiles" / (name + ".yaml")).string(); }

command_result build(const std::string &profile_path, const fs::path &out, const std::string &extra = "") {
  return run(flexbuild().string() + " --profile " + profile_path + " -o " + out.string() + " " + extra);
}

// A copy of the parts of the source tree the hello app needs, so a test may change it.
fs::path copy_hello_tree(const fs::path &dst) {
  for (const char *sub : {"apps/hello", "libos", "profiles"}) {
    fs::create_directories(dst / sub);
    fs::copy(source_dir() / sub, dst / sub, fs::copy_options::recursive);
  }
  return dst;
}

std::string replace(std::string s, const std::string &from, const std::string &to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// The commands of the last build, from its build.log ("[flex] <command>").
std::vector<std::string> logged_commands(const fs::path &image_dir) {
  std::vector<std::string> cmds;
  std::istringstream in(read(image_dir / "build.log"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("[flex] ", 0) == 0) cmds.push_back(line.substr(7));
  }
  return cmds;
}

std::vector<std::string> compiles(const fs::path &image_dir) {
  std::vector<std::string> out;
  for (const auto &c : logged_commands(image_dir)) {
    if (c.find(" -c ") != std::string::npos) out.push_back(c);
  }
  return out;
}

// The flex-transform commands of the last build: one per source it transformed.
std::vector<std::string> transforms(const fs::path &image_dir) {
  std::vector<std::string> out;
  for (const auto &c : logged_commands(image_dir)) {
    if (c.find("flex-transform ") != std::string::npos) out.push_back(c);
  }
  return out;
}

bool any_names(const std::vector<std::string> &commands, const fs::path &file) {
  return std::any_of(commands.begin(), commands.end(),
                     [&](const std::string &c) { return c.find(file.string()) != std::string::npos; });
}

TEST(flexbuild_e2e, hello_one_compartment_builds_and_runs) {
  scratch_dir dir("hello-1comp");
  auto r = build(profile("hello-1comp"), dir.path());
  ASSERT_EQ(r.status, 0) << r.out;
  // One progress line per step, with its elapsed time.
  for (const char *step : {"resolve:", "generate:", "transform:", "compile:", "link:", "check:"}) {
    EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string("flexbuild: ") + step + ".*\\([0-9.]+ s\\)")))
        << step << "\n" << r.out;
  }
  auto exe = dir.path() / "hello-1comp";
  auto out = run(exe.string() + " world");
  ASSERT_EQ(out.status, 0) << out.out;
  EXPECT_EQ(out.out, "[console@main] hello from compartment main\n[console@main] main says: world\n");
}

// --lockdown builds the profile's A/B twin: another name, the lockdown it asks for, the rest unchanged.
TEST(flexbuild_e2e, lockdown_flag_builds_the_named_twin_with_that_lockdown) {
  scratch_dir dir("hello-1comp-lockdown-off");
  auto r = build(profile("hello-1comp"), dir.path(), "--lockdown off");
  ASSERT_EQ(r.status, 0) << r.out;
  auto exe = dir.path() / "hello-1comp-lockdown-off";
  json j = json::parse(read(dir.path() / "image.json"));
  EXPECT_EQ(j["name"], "hello-1comp-lockdown-off");
  EXPECT_EQ(j["lockdown"]["mode"], "off") << j["lockdown"].dump();
  auto out = run(exe.string() + " world");
  EXPECT_EQ(out.status, 0) << out.out;
  EXPECT_NE(run(exe.string() + " --describe").out.find("lockdown: off (weaker"), std::string::npos);
  // The profile's own mode keeps the profile's name; an unknown mode is refused.
  scratch_dir same("hello-1comp-enforce");
  r = build(profile("hello-1comp"), same.path(), "--lockdown enforce");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(fs::exists(same.path() / "hello-1comp")) << r.out;
  r = build(profile("hello-1comp"), same.path(), "--lockdown none");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--lockdown: none not in {enforce,log,off}"), std::string::npos) << r.out;
}

TEST(flexbuild_e2e, hello_two_compartments_runs_across_the_boundary) {
  scratch_dir dir("hello-2comp");
  auto r = run(flexbuild().string() + " run --profile " + profile("hello-2comp") + " -o " + dir.path().string() +
               " -- one 'two words'");
  ASSERT_EQ(r.status, 0) << r.out;
  // The app's line is printed by the console in the other compartment.
  EXPECT_NE(r.out.find("[console@core] hello from compartment app\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[console@core] app says: one\n[console@core] app says: two words\n"), std::string::npos)
      << r.out;
}

// flexbuild report (flexbuild/include/flex/build/report.h): read back from the built image.
TEST(flexbuild_e2e, report_reads_the_hardening_and_protections_back_from_the_image) {
  scratch_dir dir("report");
  auto r = run(flexbuild().string() + " report --profile " + profile("hello-2comp") + " -o " + dir.path().string() +
               " --json 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json rep = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(rep.is_discarded()) << r.out;
  for (const char *p : {"pie", "nx", "relro", "bind_now", "w_xor_x"}) EXPECT_TRUE(rep["image"][p].get<bool>()) << p;
  ASSERT_EQ(rep["compartments"].size(), 2u);
  const auto &app = rep["compartments"][0];
  const auto &core = rep["compartments"][1];
  EXPECT_EQ(app["name"], "app");
  EXPECT_TRUE(app["hardening"]["found"]["ubsan"].get<bool>());  // the profile asks it of app
  EXPECT_TRUE(app["hardening"]["requested_but_absent"].empty());
  EXPECT_FALSE(core["hardening"]["found"]["ubsan"].get<bool>());
  EXPECT_GT(core["syscalls"]["count"].get<int>(), 0);
  ASSERT_FALSE(rep["boundaries"].empty());
  const auto &b = rep["boundaries"][0];
  EXPECT_EQ(b["from"], "app");
  EXPECT_EQ(b["to"], "core");
  EXPECT_GT(b["functions"]["count"].get<int>(), 0);
  EXPECT_EQ(rep["checks"]["gadgets_outside_gates"], 0);
  // The terminal form says the same.
  auto text = run(flexbuild().string() + " report --profile " + profile("hello-2comp") + " -o " + dir.path().string() +
                  " 2>/dev/null");
  ASSERT_EQ(text.status, 0) << text.out;
  EXPECT_NE(text.out.find("PIE yes   NX yes   RELRO yes   BIND_NOW yes   W^X yes"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("app -> core: none"), std::string::npos) << text.out;
}

// Hardening the compiler had nothing to apply to (ticker has no arrays and calls no libc function, so
// -fstack-protector-strong and _FORTIFY_SOURCE leave no trace) is reported absent, read from the object,
// and counts for nothing in compare: a report never claims what the binary does not show.
TEST(flexbuild_e2e, report_shows_hardening_the_compiler_dropped_as_absent) {
  scratch_dir dir("report-dropped");
  const std::string fixture = (source_dir() / "tests/e2e/fixtures/callback").string();
  auto write_profile = [&](const std::string &name, const std::string &hardening) {
    const fs::path p = dir.path() / (name + ".yaml");
    std::ofstream(p) << "name: " << name << "\napp: ring\ncompartments:\n  - name: app\n    isolation: process\n"
                     << "    libraries: [ring]\n  - name: core\n    default: true\n    isolation: none\n"
                     << "    hardening: " << hardening << "\n    libraries: [ticker]\n";
    return p.string();
  };
  const std::string asked = write_profile("dropped", "[stack-protector, fortify]");
  const std::string plain = write_profile("plain", "[]");
  auto r = run(flexbuild().string() + " report --json --profile " + asked + " --root " + fixture + " -o " +
               (dir.path() / "img").string() + " 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json rep = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(rep.is_discarded()) << r.out;
  const auto &core = rep["compartments"][1];
  ASSERT_EQ(core["name"], "core");
  EXPECT_EQ(core["hardening"]["requested"], (nlohmann::json{"stack-protector", "fortify"}));
  EXPECT_FALSE(core["hardening"]["found"]["stack-protector"].get<bool>());
  EXPECT_FALSE(core["hardening"]["found"]["fortify"].get<bool>());
  EXPECT_EQ(core["hardening"]["requested_but_absent"], (nlohmann::json{"stack-protector", "fortify"}));
  // ticker may call the app's on_tick through the pointer it was handed: a callback across core -> app.
  ASSERT_EQ(rep["boundaries"].size(), 2u);
  EXPECT_EQ(rep["boundaries"][1]["from"], "core");
  EXPECT_EQ(rep["boundaries"][1]["callbacks"], nlohmann::json{"on_tick"});
  // Against the same image without the request: equally safe, the request counts for nothing.
  r = run(flexbuild().string() + " compare --json --profile " + plain + " --profile " + asked + " --root " + fixture +
          " -o " + (dir.path() / "cmp").string() + " 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json c = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(c.is_discarded()) << r.out;
  EXPECT_EQ(c["verdict"], "equally safe") << c.dump(2);
}

// flexbuild report --attacks: the project's attack suite against the mechanisms the image uses (here none
// and process): every process attack blocked, the mpk ones not applicable.
TEST(flexbuild_e2e, report_runs_the_attack_suite_for_the_images_mechanisms) {
  const fs::path suite = fs::path(FLEX_BINARY_DIR) / "tests" / "attack_test";
  ASSERT_TRUE(fs::exists(suite)) << suite;
  scratch_dir dir("report-attacks");
  auto r = run(flexbuild().string() + " report --json --attacks --profile " + profile("hello-2comp-process") + " -o " +
               dir.path().string() + " 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json rep = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(rep.is_discarded()) << r.out;
  const auto &a = rep["checks"]["attacks"];
  ASSERT_FALSE(a["results"].empty());
  int process = 0;
  for (const auto &row : a["results"]) {
    const std::string mech = row["mechanism"], result = row["result"];
    if (mech == "mpk") EXPECT_EQ(result, "not applicable") << row.dump();
    if (mech == "process" && row["attack"].get<std::string>().find(' ') == std::string::npos) {
      ++process;
      EXPECT_EQ(result, "blocked") << row.dump();
    }
    EXPECT_NE(result, "NOT BLOCKED") << row.dump();
  }
  EXPECT_GE(process, 20);
  EXPECT_EQ(a["counts"].value("NOT BLOCKED", 0), 0);
  // compare --attacks: one run of the suite for both images, the results that differ listed.
  r = run(flexbuild().string() + " compare --json --attacks -o " + (dir.path() / "cmp").string() + " --profile " +
          profile("hello-2comp-process") + " --profile " + profile("hello-2comp-mpk") + " 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json c = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(c.is_discarded()) << r.out;
  const auto &diff = c["differences"]["attacks"];
  EXPECT_TRUE(std::any_of(diff.begin(), diff.end(), [](const nlohmann::json &l) {
    return l.get<std::string>() == "process vm-read: blocked in A, not applicable in B";
  })) << diff.dump(2);
}

// A plain call (or a variable used) across a boundary, around the gate it needs, is a build error whatever
// the mechanism: under none it would work until the profile changed, under mpk or process it faults.
TEST(flexbuild_e2e, a_call_across_a_boundary_without_a_gate_is_a_build_error) {
  scratch_dir dir("ungated");
  const fs::path tree = dir.path() / "tree";
  fs::copy(source_dir() / "tests/e2e/fixtures/callback", tree, fs::copy_options::recursive);
  std::ofstream(tree / "apps/ring/src/extra.c")
      << "#include <ticker/ticker.h>\nextern long ticker_count;\n"
      << "long extra_fire(void) { return ticker_fire(1); }\nlong extra_peek(void) { return ticker_count; }\n";
  std::ofstream(tree / "libos/ticker/src/ticker.c", std::ios::app) << "long ticker_count;\n";
  {
    std::string y = flex::test::read(tree / "apps/ring/lib.yaml");
    y.replace(y.find("sources: [src/ring.c]"), 21, "sources: [src/ring.c, src/extra.c]");
    std::ofstream(tree / "apps/ring/lib.yaml") << y;
  }
  for (const char *p : {"callback-process", "callback-mpk-full", "callback-none"}) {
    auto r = run(flexbuild().string() + " --profile " + (tree / "profiles" / (std::string(p) + ".yaml")).string() +
                 " --root " + tree.string() + " -o " + (dir.path() / p).string() + " 2>&1");
    EXPECT_NE(r.status, 0) << p << "\n" << r.out;
    EXPECT_NE(r.out.find("error: apps/ring/src/extra.c: in extra_fire: calls ticker_fire, which library ticker defines in "
                         "compartment 'core', from compartment 'app' without a gate"),
              std::string::npos)
        << p << "\n" << r.out;
    EXPECT_NE(r.out.find("flexos_gate(libticker, ticker_fire, ...)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("error: apps/ring/src/extra.c: in extra_peek: uses ticker_count, a variable of library ticker "
                         "in compartment 'core'"),
              std::string::npos)
        << p << "\n" << r.out;
    EXPECT_FALSE(fs::exists(dir.path() / p / p)) << "no image from a build with an ungated call";
  }
  // The gated calls of ring.c itself are no error, under none (plain calls by the transformer) as elsewhere.
  std::ofstream(tree / "apps/ring/src/extra.c") << "long extra_fire(void) { return 0; }\n";
  auto ok = run(flexbuild().string() + " --profile " + (tree / "profiles/callback-none.yaml").string() + " --root " +
                tree.string() + " -o " + (dir.path() / "ok").string() + " 2>&1");
  EXPECT_EQ(ok.status, 0) << ok.out;
}

// A C++ static with a destructor in a library of a process compartment: the image's other processes would
// run the destructor at exit on memory they do not map. It is a compile error naming the line, with a
// hint; the same library in a compartment of the main process builds.
TEST(flexbuild_e2e, a_static_with_a_destructor_in_a_process_compartment_is_a_build_error) {
  scratch_dir dir("exit-destructor");
  const fs::path tree = dir.path() / "tree";
  fs::copy(source_dir() / "tests/e2e/fixtures/callback", tree, fs::copy_options::recursive);
  std::ofstream(tree / "apps/ring/src/name.cc") << "#include <string>\n\nstd::string ring_name = \"ring\";\n";
  {
    std::string y = flex::test::read(tree / "apps/ring/lib.yaml");
    y.replace(y.find("sources: [src/ring.c]"), 21, "sources: [src/ring.c, src/name.cc]");
    std::ofstream(tree / "apps/ring/lib.yaml") << y;
  }
  auto r = run(flexbuild().string() + " --profile " + (tree / "profiles/callback-process.yaml").string() + " --root " +
               tree.string() + " -o " + (dir.path() / "process").string() + " 2>&1");
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("src/name.cc:3:13: error: declaration requires an exit-time destructor"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("make it a reference to an object made with new"), std::string::npos) << r.out;
  auto ok = run(flexbuild().string() + " --profile " + (tree / "profiles/callback-none.yaml").string() + " --root " +
                tree.string() + " -o " + (dir.path() / "none").string() + " 2>&1");
  EXPECT_EQ(ok.status, 0) << ok.out;
}

// An app that opens its own sockets next to an isolated net talks past it: the build says so and points
// at posix; with posix required, the same source builds and its sockets are net's.
TEST(flexbuild_e2e, an_app_making_its_own_sockets_is_pointed_at_posix) {
  scratch_dir dir("own-sockets");
  const fs::path tree = dir.path() / "tree";
  fs::create_directories(tree / "apps/sock/src");
  fs::create_directories(tree / "profiles");
  fs::create_directory_symlink(source_dir() / "libos", tree / "libos");
  write(tree / "apps/sock/src/sock.c",
        "#include <sys/socket.h>\n#include <unistd.h>\n"
        "int main(void) { int s = socket(AF_INET, SOCK_STREAM, 0); return s < 0 ? 1 : close(s); }\n");
  write(tree / "apps/sock/lib.yaml", "name: sock\nsources: [src/sock.c]\nrequires: [net]\n");
  write(tree / "profiles/sock.yaml",
        "name: sock\napp: sock\ncompartments:\n  - {name: app, isolation: process, libraries: [sock]}\n"
        "  - {name: core, default: true, libraries: [net]}\n");
  const std::string cmd = flexbuild().string() + " --profile " + (tree / "profiles/sock.yaml").string() + " --root " +
                          tree.string() + " -o " + (dir.path() / "img").string() + " 2>&1";
  auto r = run(cmd);
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("calls socket() in main, which makes socket(2), not in the compartment's system calls; to have "
                       "the libOS's net serve the app's sockets, add posix to requires: in apps/sock/lib.yaml"),
            std::string::npos)
      << r.out;
  write(tree / "apps/sock/lib.yaml", "name: sock\nsources: [src/sock.c]\nrequires: [posix]\n");
  auto ok = run(cmd);
  ASSERT_EQ(ok.status, 0) << ok.out;
  auto ran = run((dir.path() / "img/sock").string() + " 2>&1");
  EXPECT_EQ(ran.status, 0) << ran.out;
}

// flexbuild report --html: one self-contained page, checked in a real browser (headless Chromium): its DOM
// holds the Graphviz graph with every compartment and the tables, and a screenshot is kept for people.
TEST(flexbuild_e2e, report_page_renders_in_chromium) {
  ASSERT_EQ(run("command -v chromium >/dev/null").status, 0) << "chromium is missing: scripts/bootstrap.sh installs it";
  scratch_dir dir("report-html");
  const fs::path page = dir.path() / "report.html";
  auto r = run(flexbuild().string() + " report --profile " + profile("hello-2comp-mpk") + " -o " +
               (dir.path() / "img").string() + " --html " + page.string() + " >/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string chromium = "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1200 ";
  auto dom = run(chromium + "--dump-dom file://" + page.string() + " 2>/dev/null");
  ASSERT_EQ(dom.status, 0) << dom.out;
  const auto graph = dom.out.find("<div id=\"graph\"><svg");
  ASSERT_NE(graph, std::string::npos) << dom.out.substr(0, 2000);
  const std::string svg = dom.out.substr(graph, dom.out.find("</svg>", graph) - graph);
  for (const char *node : {">app<", ">core<", "mpk-full, "}) EXPECT_NE(svg.find(node), std::string::npos) << node;
  EXPECT_NE(dom.out.find("<table id=\"protections\">"), std::string::npos);
  EXPECT_NE(dom.out.find("<table id=\"boundaries\">"), std::string::npos);
  // The backend's memory, read from the image's own --describe.
  EXPECT_NE(dom.out.find("<p class=\"memory\">mpk memory: default_heap_mib 64, dss_mib 8, shared_heap_mib 64, stack_mib 8</p>"),
            std::string::npos);
  // The screenshot, kept where a person finds it after the run.
  const fs::path shot = fs::path(::testing::TempDir()) / "flexbuild-report-hello-2comp-mpk.png";
  auto s = run(chromium + "--screenshot=" + shot.string() + " file://" + page.string() + " 2>&1");
  ASSERT_EQ(s.status, 0) << s.out;
  ASSERT_TRUE(fs::exists(shot)) << s.out;
  EXPECT_GT(fs::file_size(shot), 20000u) << "an empty page?";
  std::printf("screenshot: %s\n", shot.c_str());
}

// flexbuild compare: the verdict in the safer-than order (flexbuild/include/flex/build/order.h) and the
// exit status a CI job uses.
TEST(flexbuild_e2e, compare_gives_the_verdict_and_each_point_where_one_wins) {
  scratch_dir dir("compare");
  const std::string fb = flexbuild().string() + " compare -o " + dir.path().string() + " --profile ";
  // hello-2comp-mpk walls app off with MPK; hello-2comp has no wall (none) but hardens app with UBSan.
  auto r = run(fb + profile("hello-2comp") + " --profile " + profile("hello-2comp-mpk") + " --json 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json c = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(c.is_discarded()) << r.out;
  EXPECT_EQ(c["verdict"], "incomparable");
  auto has = [](const nlohmann::json &list, const std::string &what) {
    return std::any_of(list.begin(), list.end(), [&](const nlohmann::json &w) { return w.get<std::string>() == what; });
  };
  EXPECT_TRUE(has(c["a_wins"], "hello: ubsan in A only")) << c.dump(2);
  EXPECT_TRUE(has(c["b_wins"], "console | hello: no wall in A, mpk-full in B")) << c.dump(2);
  EXPECT_TRUE(c["layout_changes"].empty()) << c.dump(2);  // the same two compartments on both sides
  // B weaker on a point: a CI job guarding the change fails.
  r = run(fb + profile("hello-2comp") + " --profile " + profile("hello-2comp-mpk") + " --require-not-weaker 2>&1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("is weaker than A"), std::string::npos) << r.out;
  // The page, read in a real browser: the verdict and both graphs.
  const fs::path page = dir.path() / "compare.html";
  r = run(fb + profile("hello-2comp") + " --profile " + profile("hello-2comp-mpk") + " --html " + page.string() +
          " >/dev/null 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  ASSERT_EQ(run("command -v chromium >/dev/null").status, 0) << "chromium is missing: scripts/bootstrap.sh installs it";
  auto dom = run("chromium --headless --no-sandbox --disable-gpu --dump-dom file://" + page.string() + " 2>/dev/null");
  ASSERT_EQ(dom.status, 0) << dom.out;
  EXPECT_NE(dom.out.find("<p id=\"verdict\">incomparable</p>"), std::string::npos) << dom.out.substr(0, 1500);
  EXPECT_NE(dom.out.find("<div id=\"graph-a\"><svg"), std::string::npos);
  EXPECT_NE(dom.out.find("<div id=\"graph-b\"><svg"), std::string::npos);
  EXPECT_NE(dom.out.find("<li>hello: ubsan in A only</li>"), std::string::npos);
  const fs::path shot = fs::path(::testing::TempDir()) / "flexbuild-compare-hello.png";
  auto s = run("chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,900 --screenshot=" +
               shot.string() + " file://" + page.string() + " 2>&1");
  ASSERT_EQ(s.status, 0) << s.out;
  EXPECT_GT(fs::file_size(shot), 20000u);
  std::printf("screenshot: %s\n", shot.c_str());
  // An image against itself: equally safe, and not weaker.
  r = run(fb + profile("hello-2comp-mpk") + " --profile " + profile("hello-2comp-mpk") + " --require-not-weaker 2>/dev/null");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("Verdict: equally safe"), std::string::npos) << r.out;
}

TEST(flexbuild_e2e, describe_prints_the_compartment_layout) {
  scratch_dir dir("describe");
  ASSERT_EQ(build(profile("hello-2comp"), dir.path()).status, 0);
  auto r = run((dir.path() / "hello-2comp").string() + " --describe");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("image hello-2comp: app hello, 2 compartments"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("compartment 0: app\n  isolation: none\n  hardening: ubsan\n  libraries: hello"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("compartment 1: core (default)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(".flex.app.data"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("app -> core: none (gate: call)"), std::string::npos) << r.out;
  // The app never saw the runtime's flag.
  EXPECT_EQ(r.out.find("hello from"), std::string::npos) << r.out;
}

struct readelf_section {
  std::uint64_t addr, size;
};

// Section headers as llvm-readelf (not flexbuild) sees them.
std::map<std::string, readelf_section> readelf_sections(const fs::path &exe) {
  auto r = run(llvm_tool("llvm-readelf") + " --sections --wide " + exe.string());
  EXPECT_EQ(r.status, 0) << r.out;
  std::map<std::string, readelf_section> out;
  std::regex row(R"(\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+))");
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) {
      out[m[1]] = {std::stoull(m[2], nullptr, 16), std::stoull(m[3], nullptr, 16)};
    }
  }
  return out;
}

TEST(flexbuild_e2e, compartment_sections_are_page_aligned_disjoint_and_match_image_json) {
  scratch_dir dir("sections");
  ASSERT_EQ(build(profile("hello-2comp"), dir.path()).status, 0);
  auto secs = readelf_sections(dir.path() / "hello-2comp");
  json img = json::parse(read(dir.path() / "image.json"));
  ASSERT_EQ(img["compartments"].size(), 2u);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  int nonempty = 0;
  for (const auto &c : img["compartments"]) {
    for (const auto &s : c["sections"]) {
      std::string name = s["name"];
      std::uint64_t size = s["size"];
      if (size == 0) continue;
      ++nonempty;
      ASSERT_TRUE(secs.count(name)) << name << " is not in the ELF";
      EXPECT_EQ(secs[name].addr, s["address"].get<std::uint64_t>()) << name;
      EXPECT_EQ(secs[name].size, size) << name;
      EXPECT_EQ(secs[name].addr % 4096, 0u) << name;
      EXPECT_EQ(secs[name].size % 4096, 0u) << name;
      ranges.emplace_back(secs[name].addr, secs[name].addr + secs[name].size);
    }
  }
  // Each compartment has data of its own in this image (flex_self at least, and the strings).
  EXPECT_GE(nonempty, 4);
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LE(ranges[i - 1].second, ranges[i].first);
  // No other section shares a page with a compartment's range.
  for (const auto &[name, s] : secs) {
    if (name.rfind(".flex.", 0) == 0 || s.addr == 0 || s.size == 0) continue;
    std::uint64_t lo = s.addr & ~std::uint64_t{4095}, hi = (s.addr + s.size + 4095) & ~std::uint64_t{4095};
    for (auto [b, e] : ranges) EXPECT_FALSE(lo < e && b < hi) << name;
  }
  // The gate crossing the boundary is recorded.
  bool found = false;
  for (const auto &b : img["boundaries"]) {
    if (b["from"] == "app" && b["to"] == "core") {
      EXPECT_EQ(b["mechanism"], "none");
      EXPECT_EQ(b["gate"], "call");
      EXPECT_GE(b["call_sites"].get<int>(), 2);
      found = true;
    }
  }
  EXPECT_TRUE(found) << img["boundaries"].dump();
}

std::string undefined_symbols(const fs::path &obj) {
  auto r = run(llvm_tool("llvm-nm") + " --undefined-only " + obj.string());
  EXPECT_EQ(r.status, 0) << r.out;
  return r.out;
}

TEST(flexbuild_e2e, hardening_reaches_only_its_compartments_objects) {
  scratch_dir dir("hardening");
  // The isolation fixture: the vault has address-taken locals (stack protector) and globals (asan).
  auto prof = dir.path() / "hard.yaml";
  write(prof, "name: hard\napp: probe\ncompartments:\n"
              "  - {name: probe, hardening: [ubsan], libraries: [probe]}\n"
              "  - {name: vault, default: true, hardening: [asan, stack-protector], libraries: [vault]}\n");
  auto r = build(prof.string(), dir.path() / "img",
                 "--root " + (source_dir() / "tests/e2e/fixtures/isolation").string());
  ASSERT_EQ(r.status, 0) << r.out;
  std::string probe = undefined_symbols(dir.path() / "img/work/obj/probe.o");
  std::string vault = undefined_symbols(dir.path() / "img/work/obj/vault.o");
  EXPECT_NE(vault.find("__asan_"), std::string::npos) << vault;
  EXPECT_EQ(probe.find("__asan_"), std::string::npos) << probe;
  EXPECT_NE(vault.find("__stack_chk_fail"), std::string::npos) << vault;
  EXPECT_EQ(probe.find("__stack_chk_fail"), std::string::npos) << probe;
  EXPECT_NE(probe.find("__ubsan_"), std::string::npos) << probe;
  EXPECT_EQ(vault.find("__ubsan_"), std::string::npos) << vault;
  // The hardened image still runs.
  auto out = run((dir.path() / "img/hard").string() + " call");
  EXPECT_EQ(out.status, 0) << out.out;
  EXPECT_NE(out.out.find("secret 5ec7e75ec7e7"), std::string::npos) << out.out;
  json img = json::parse(read(dir.path() / "img/image.json"));
  EXPECT_EQ(img["compartments"][1]["hardening"], json::array({"asan", "stack-protector"}));
}

TEST(flexbuild_e2e, second_build_does_no_work_and_hardening_change_rebuilds_one_compartment) {
  scratch_dir dir("incremental");
  auto prof = dir.path() / "p.yaml";
  write(prof, read(profile("hello-2comp")));
  std::string root = "--root " + source_dir().string();
  auto first = build(prof.string(), dir.path() / "img", root);
  ASSERT_EQ(first.status, 0) << first.out;
  EXPECT_GE(compiles(dir.path() / "img").size(), 4u);

  auto second = build(prof.string(), dir.path() / "img", root);
  ASSERT_EQ(second.status, 0) << second.out;
  EXPECT_TRUE(logged_commands(dir.path() / "img").empty()) << read(dir.path() / "img/build.log");
  EXPECT_TRUE(std::regex_search(second.out, std::regex("compile:\\s+up to date"))) << second.out;

  // Only the app compartment's sources (and the layout table, which lists hardening) recompile.
  write(prof, replace(read(prof), "hardening: [ubsan]", "hardening: [ubsan, fortify]"));
  auto third = build(prof.string(), dir.path() / "img", root);
  ASSERT_EQ(third.status, 0) << third.out;
  auto c = compiles(dir.path() / "img");
  ASSERT_FALSE(c.empty());
  for (const auto &cmd : c) {
    bool app = cmd.find("/work/obj/app/") != std::string::npos;
    bool layout = cmd.find("/work/obj/layout.o") != std::string::npos;
    EXPECT_TRUE(app || layout) << cmd;
    EXPECT_EQ(cmd.find("/work/obj/core/"), std::string::npos) << cmd;
  }
}

// Two images compiling the same sources with the same flags share the objects through ccache (the
// image's own folder is out of the key), and the second image is the same program; FLEX_CCACHE=off and a
// cache folder ccache cannot write leave the compiler alone.
TEST(flexbuild_e2e, images_compiling_the_same_sources_share_them_through_ccache) {
  if (run("command -v ccache").status != 0) GTEST_SKIP() << "ccache is not installed (scripts/bootstrap.sh installs it)";
  scratch_dir dir("shared-objects");
  const std::string cache = "CCACHE_DIR=" + (dir.path() / "cache").string() + " ";
  const auto stat = [&](const char *field) {
    std::smatch m;
    const std::string out = run(cache + "ccache --print-stats").out;
    return std::regex_search(out, m, std::regex(std::string("(^|\n)") + field + "\t([0-9]+)")) ? std::stoi(m[2]) : -1;
  };
  auto first = run(cache + flexbuild().string() + " --profile " + profile("hello-2comp") + " -o " +
                   (dir.path() / "a").string());
  ASSERT_EQ(first.status, 0) << first.out;
  const int compiled = static_cast<int>(compiles(dir.path() / "a").size());
  ASSERT_GE(compiled, 4);
  for (const auto &cmd : compiles(dir.path() / "a")) EXPECT_NE(cmd.find("CCACHE_BASEDIR="), std::string::npos) << cmd;
  const int hits_before = stat("direct_cache_hit") + stat("preprocessed_cache_hit");
  auto second = run(cache + flexbuild().string() + " --profile " + profile("hello-2comp") + " -o " +
                    (dir.path() / "b").string());
  ASSERT_EQ(second.status, 0) << second.out;
  EXPECT_EQ(stat("direct_cache_hit") + stat("preprocessed_cache_hit") - hits_before, compiled);
  EXPECT_EQ(run((dir.path() / "b/hello-2comp").string() + " world").out,
            run((dir.path() / "a/hello-2comp").string() + " world").out);

  for (const std::string env : {"FLEX_CCACHE=off ", "FLEX_CCACHE=0 ", "CCACHE_DIR=/proc/flex-no-such-dir "}) {
    auto r = run(env + flexbuild().string() + " --profile " + profile("hello-1comp") + " -o " +
                 (dir.path() / "c").string());
    ASSERT_EQ(r.status, 0) << env << r.out;
    EXPECT_EQ(read(dir.path() / "c/work/build.ninja").find("CCACHE_BASEDIR="), std::string::npos) << env;
    std::filesystem::remove_all(dir.path() / "c");
  }
}

// The developer's inner loop: an edit re-transforms the sources it reaches and no other, and the library's
// summary is still whole (merged from the summary of each source).
TEST(flexbuild_e2e, editing_one_source_re_transforms_that_source_alone) {
  scratch_dir dir("edit-one");
  fs::path tree = copy_hello_tree(dir.path() / "tree");
  std::string prof = (tree / "profiles/hello-2comp.yaml").string();
  fs::path img = dir.path() / "img";
  auto first = build(prof, img);
  ASSERT_EQ(first.status, 0) << first.out;
  ASSERT_GE(transforms(img).size(), 3u);

  // libos/time has two sources: a comment in time.c re-transforms and recompiles time.c, not sleep.c.
  fs::path time_c = tree / "libos/time/src/time.c", sleep_c = tree / "libos/time/src/sleep.c";
  write(time_c, read(time_c) + "/* edited */\n");
  auto second = build(prof, img);
  ASSERT_EQ(second.status, 0) << second.out;
  auto t = transforms(img);
  ASSERT_EQ(t.size(), 1u) << read(img / "build.log");
  EXPECT_TRUE(any_names(t, time_c)) << t[0];
  EXPECT_FALSE(any_names(t, sleep_c)) << t[0];
  EXPECT_TRUE(std::regex_search(second.out, std::regex("transform:\\s+1 command run"))) << second.out;
  auto c = compiles(img);
  ASSERT_EQ(c.size(), 1u) << read(img / "build.log");
  EXPECT_NE(c[0].find("/work/src/core/time/src/time.c"), std::string::npos) << c[0];

  // A header re-transforms the sources that read it: sched.h reaches sleep.c, not time.c.
  fs::path sched_h = tree / "libos/sched/include/flex/sched/sched.h";
  write(sched_h, read(sched_h) + "/* edited */\n");
  auto third = build(prof, img);
  ASSERT_EQ(third.status, 0) << third.out;
  t = transforms(img);
  EXPECT_TRUE(any_names(t, sleep_c)) << read(img / "build.log");
  EXPECT_FALSE(any_names(t, time_c)) << read(img / "build.log");
  EXPECT_FALSE(any_names(t, tree / "apps/hello/src/hello.c")) << read(img / "build.log");

  json summary = json::parse(read(img / "work/summary/core/time.json"));
  EXPECT_EQ(summary["library"], "time");
  ASSERT_EQ(summary["files"].size(), 2u) << summary.dump(2);
  EXPECT_EQ(summary["files"][0]["source"], time_c.string());
  EXPECT_EQ(summary["files"][1]["source"], sleep_c.string());
}

TEST(flexbuild_e2e, never_writes_into_the_source_tree) {
  scratch_dir dir("readonly");
  fs::path tree = copy_hello_tree(dir.path() / "tree");
  auto snapshot = [&] {
    std::map<std::string, fs::file_time_type> files;
    for (const auto &e : fs::recursive_directory_iterator(tree)) files[e.path().string()] = e.last_write_time();
    return files;
  };
  auto before = snapshot();
  auto r = build((tree / "profiles/hello-2comp.yaml").string(), dir.path() / "img");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(before, snapshot());
}

TEST(flexbuild_e2e, compiler_errors_point_at_the_original_source) {
  scratch_dir dir("errors");
  fs::path tree = copy_hello_tree(dir.path() / "tree");
  fs::path src = tree / "apps/hello/src/hello.c";
  write(src, replace(read(src), "  if (rc < 0) return 1;\n  for", "  if (rc < 0) return 1;\n  undeclared_thing = 3;\n  for"));
  auto r = build((tree / "profiles/hello-2comp.yaml").string(), dir.path() / "img");
  EXPECT_NE(r.status, 0);
  // Line 18 of the original file, whatever the transformed copy looks like.
  EXPECT_NE(r.out.find(src.string() + ":18:3: error: use of undeclared identifier 'undeclared_thing'"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("/work/src/"), std::string::npos) << r.out;
}

TEST(flexbuild_e2e, bad_profile_is_rejected_with_file_line_and_column) {
  scratch_dir dir("bad");
  auto prof = dir.path() / "bad.yaml";
  write(prof, "name: bad\napp: hello\ncompartments:\n  - name: main\n    isolaton: none\n    libraries: [hello]\n");
  auto r = run(flexbuild().string() + " check --profile " + prof.string() + " --root " + source_dir().string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find(prof.string() + ":5:5: error: unknown key 'isolaton'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean 'isolation'?"), std::string::npos) << r.out;

  auto good = run(flexbuild().string() + " check --profile " + profile("hello-2comp"));
  EXPECT_EQ(good.status, 0) << good.out;
  EXPECT_NE(good.out.find("ok"), std::string::npos) << good.out;
}

TEST(flexbuild_e2e, combinations_the_runtime_cannot_protect_are_refused_not_built) {
  scratch_dir dir("refuse");
  std::string root = "--root " + source_dir().string();
  // asan in an mpk image: its allocator would pool every heap under key 0.
  auto asan = dir.path() / "asan.yaml";
  write(asan, replace(read(profile("hello-2comp-mpk")), "    isolation: mpk\n    libraries: [hello]",
                      "    isolation: mpk\n    hardening: [asan]\n    libraries: [hello]"));
  auto r = build(asan.string(), dir.path() / "img", root);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find(asan.string() + ":8:16: error: compartment 'app' asks for asan in an image with mpk domains"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(dir.path() / "img" / "hello-2comp-mpk"));
}

}  // namespace
}  // namespace flex::test
