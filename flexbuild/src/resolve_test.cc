#include "flex/build/resolve.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "flex/build/image_build.h"
#include "flex/syscalls/syscalls.h"

namespace flex::build {
namespace {

lib_manifest lib(const std::string &name, std::vector<std::string> deps, bool replicated = false,
                 lib_kind kind = lib_kind::libos) {
  lib_manifest m;
  m.name = name;
  m.kind = kind;
  m.dir = "/src/" + name;
  m.replicated = replicated;
  for (auto &d : deps) m.deps.push_back({d, {}});
  m.exports.push_back({name + "_call", {}});
  return m;
}

class resolve_test : public ::testing::Test {
 protected:
  void SetUp() override {
    diag_sink d;
    libs_.add(lib("redis", {"net", "sched"}, false, lib_kind::app), d);
    libs_.add(lib("net", {"plat", "sched"}), d);
    libs_.add(lib("sched", {"plat"}), d);
    libs_.add(lib("plat", {}, true), d);
    libs_.add(lib("vfs", {"plat"}), d);  // not required by anyone
    ASSERT_FALSE(d.has_errors());
  }

  resolved_image resolve_text(const std::string &text) {
    diag_sink d;
    prof_ = parse_profile("p.yaml", text, d);
    EXPECT_TRUE(prof_.has_value());
    EXPECT_TRUE(validate_profile(*prof_, libs_, d));
    auto img = resolve(*prof_, libs_, d);
    EXPECT_FALSE(d.has_errors());
    return *img;
  }

  static std::vector<std::string> names(const std::vector<const lib_manifest *> &v) {
    std::vector<std::string> out;
    for (auto *l : v) out.push_back(l->name);
    return out;
  }

  library_index libs_;
  std::optional<profile> prof_;
};

TEST_F(resolve_test, unlisted_required_libraries_go_to_the_default_and_replicated_ones_everywhere) {
  auto img = resolve_text(R"(name: r
app: redis
compartments:
  - name: app
    isolation: mpk
    libraries: [redis]
  - name: core
    default: true
    isolation: mpk
    libraries: []
  - name: net
    isolation: process
    libraries: [net]
gates: {mpk: light}
)");
  ASSERT_EQ(img.compartments.size(), 3u);
  EXPECT_EQ(names(img.compartments[0].libraries), (std::vector<std::string>{"redis"}));
  EXPECT_EQ(names(img.compartments[1].libraries), (std::vector<std::string>{"sched"}));  // vfs not needed
  EXPECT_EQ(names(img.compartments[2].libraries), (std::vector<std::string>{"net"}));
  for (const auto &c : img.compartments) EXPECT_EQ(names(c.replicated), (std::vector<std::string>{"plat"}));
  EXPECT_EQ(img.compartment_of("sched")->name(), "core");
  EXPECT_EQ(img.compartment_of("plat"), nullptr);

  // Every ordered pair, with the stronger mechanism of the two.
  EXPECT_EQ(img.boundaries.size(), 6u);
  EXPECT_EQ(img.find_boundary("app", "core")->gate, gate_kind::mpk_light);
  EXPECT_EQ(img.find_boundary("app", "net")->mechanism, isolation::process);
  EXPECT_EQ(img.find_boundary("net", "core")->gate, gate_kind::process);
  EXPECT_EQ(img.gate_for(img.compartments[0], "net"), gate_kind::process);
  EXPECT_EQ(img.gate_for(img.compartments[0], "redis"), gate_kind::call);  // same compartment
  EXPECT_EQ(img.gate_for(img.compartments[0], "plat"), gate_kind::call);   // replicated
}

TEST_F(resolve_test, listed_libraries_outside_the_closure_are_included) {
  auto img = resolve_text(R"(name: r
app: redis
compartments:
  - name: main
    libraries: [vfs]
)");
  EXPECT_EQ(names(img.compartments[0].libraries), (std::vector<std::string>{"net", "redis", "sched", "vfs"}));
  EXPECT_TRUE(img.boundaries.empty());
}

TEST_F(resolve_test, units_cover_each_placed_library_once_and_replicated_ones_per_compartment) {
  libs_ = library_index();
  diag_sink d;
  auto app = lib("redis", {"plat"}, false, lib_kind::app);
  app.sources.push_back({"src/main.cc", {}});
  auto plat = lib("plat", {}, true);
  plat.sources.push_back({"src/plat.c", {}});
  libs_.add(app, d);
  libs_.add(plat, d);
  libs_.add(lib("sched", {}), d);
  auto img = resolve_text("name: r\napp: redis\ncompartments:\n  - {name: a, libraries: [redis]}\n"
                          "  - {name: b, default: true, libraries: [sched]}\n");
  image_paths paths("/out", "r");
  auto units = image_units(img, paths);
  ASSERT_EQ(units.size(), 3u);  // redis in a; plat in a and in b
  EXPECT_TRUE(units[0].cxx);
  EXPECT_EQ(units[0].object, "/out/work/obj/a/redis/src/main.cc.o");
  EXPECT_EQ(units[1].transformed, "/out/work/src/a/plat/src/plat.c");
  EXPECT_EQ(units[1].summary, "/out/work/summary/a/plat/src/plat.c.json");
  EXPECT_EQ(units[2].object, "/out/work/obj/b/plat/src/plat.c.o");
  EXPECT_EQ(units[0].dep_includes, (std::vector<std::filesystem::path>{"/src/plat/include"}));
}


TEST_F(resolve_test, posix_follows_the_app_and_cannot_be_placed_away_from_it) {
  diag_sink d;
  libs_.add(lib("chat", {"posix"}, false, lib_kind::app), d);
  libs_.add(lib("posix", {"net", "plat"}), d);
  ASSERT_FALSE(d.has_errors());
  // Not listed: it joins the app's compartment, not the default one.
  auto img = resolve_text("name: c\napp: chat\ncompartments:\n  - {name: a, isolation: process, libraries: [chat]}\n"
                          "  - {name: core, default: true, libraries: [net]}\n");
  EXPECT_EQ(names(img.compartments[0].libraries), (std::vector<std::string>{"chat", "posix"}));
  EXPECT_EQ(names(img.compartments[1].libraries), (std::vector<std::string>{"net", "sched"}));
  // Listed with the app: accepted as it is.
  auto with = resolve_text("name: c\napp: chat\ncompartments:\n  - {name: a, libraries: [chat, posix]}\n"
                           "  - {name: core, default: true, libraries: [net]}\n");
  EXPECT_EQ(names(with.compartments[0].libraries), (std::vector<std::string>{"chat", "posix"}));
  // Listed elsewhere: an error at the library's place in the profile.
  diag_sink e;
  auto prof = parse_profile("p.yaml", "name: c\napp: chat\ncompartments:\n  - {name: a, libraries: [chat]}\n"
                                      "  - {name: core, default: true, libraries: [net, posix]}\n", e);
  ASSERT_TRUE(prof.has_value());
  ASSERT_TRUE(validate_profile(*prof, libs_, e));
  EXPECT_FALSE(resolve(*prof, libs_, e).has_value());
  ASSERT_EQ(e.error_count(), 1);
  const auto &err = e.all().back();
  EXPECT_EQ(err.pos.line, 5);
  EXPECT_NE(err.message.find("library 'posix' is placed in compartment 'core', away from the app 'chat' in 'a'"),
            std::string::npos) << err.message;
  EXPECT_NE(err.hint.find("remove 'posix' from compartment 'core'"), std::string::npos) << err.hint;
}

TEST_F(resolve_test, a_compartments_system_calls_are_its_libraries_and_the_runtimes) {
  libs_ = library_index();
  diag_sink d;
  lib_manifest redis = lib("redis", {"net"}, false, lib_kind::app);
  lib_manifest net = lib("net", {"plat"});
  net.syscalls.push_back({{"socket", {}}, {2}});
  net.syscalls.push_back({{"recvfrom", {}}, {}});
  lib_manifest sched = lib("sched", {"plat"});
  sched.syscalls.push_back({{"socket", {}}, {10}});
  sched.syscalls.push_back({{"epoll_wait", {}}, {}});
  redis.deps.push_back({"sched", {}});
  libs_.add(redis, d);
  libs_.add(net, d);
  libs_.add(sched, d);
  libs_.add(lib("plat", {}, true), d);
  ASSERT_FALSE(d.has_errors());
  auto img = resolve_text(R"(name: r
app: redis
compartments:
  - name: app
    default: true
    libraries: [redis, sched]
  - name: net
    isolation: process
    libraries: [net]
)");
  const resolved_compartment &app = img.compartments[0], &netc = img.compartments[1];
  // Declared by its libraries, with who needs each, and the socket families merged.
  ASSERT_NE(app.find_syscall("epoll_wait"), nullptr);
  EXPECT_EQ(app.find_syscall("epoll_wait")->needed_by, (std::vector<std::string>{"sched"}));
  EXPECT_EQ(app.find_syscall("socket")->families, (std::vector<int>{10}));
  EXPECT_EQ(netc.find_syscall("socket")->families, (std::vector<int>{2}));
  EXPECT_EQ(app.find_syscall("recvfrom"), nullptr);  // net's, in another compartment
  // The runtime's: every process; the main process of an image with compartment processes supervises.
  EXPECT_EQ(app.find_syscall("futex")->needed_by, (std::vector<std::string>{"runtime"}));
  EXPECT_NE(app.find_syscall("wait4"), nullptr);
  EXPECT_EQ(netc.find_syscall("wait4"), nullptr);
  EXPECT_NE(netc.find_syscall("getppid"), nullptr);
  EXPECT_EQ(netc.find_syscall("recvfrom")->number, 45);
  // Sorted by name, and never a call no compartment may make.
  EXPECT_TRUE(std::is_sorted(app.syscalls.begin(), app.syscalls.end(),
                             [](const syscall_entry &a, const syscall_entry &b) { return a.name < b.name; }));
  for (const auto &c : img.compartments) {
    for (const syscall_entry &e : c.syscalls) EXPECT_TRUE(flex::syscalls::never_allowed(e.name).empty()) << e.name;
  }
  // Peers: a library of one requires a library of the other.
  EXPECT_EQ(app.peers, (std::vector<std::string>{"net"}));
  EXPECT_EQ(netc.peers, (std::vector<std::string>{"app"}));
}

}  // namespace
}  // namespace flex::build
