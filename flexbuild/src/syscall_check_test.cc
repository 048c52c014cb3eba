// The system-call check's verdicts on what a scan found: an undeclared call is an error naming the
// function, the object, the call and the lib.yaml to fix; an unused declaration is a warning at its line;
// the runtime's needs are never warned about; image.json's `syscalls_found` lists each call's functions.
#include "flex/build/syscall_check.h"

#include <gtest/gtest.h>

#include "flex/syscalls/syscalls.h"

namespace flex::build {
namespace {

class syscall_check : public ::testing::Test {
 protected:
  void SetUp() override {
    net_.name = "net";
    net_.dir = "/tree/libos/net";
    net_.file = "/tree/libos/net/lib.yaml";
    net_.syscalls = {{{"socket", {net_.file.string(), 9, 12}}, {}}, {{"shutdown", {net_.file.string(), 9, 30}}, {}}};
    spec_.name = "net";
    comp_.spec = &spec_;
    comp_.libraries = {&net_};
    for (const char *name : {"shutdown", "socket"}) comp_.syscalls.push_back({name, flex::syscalls::number(name), {}, {"net"}});
    comp_.syscalls.push_back({"write", flex::syscalls::number("write"), {}, {"runtime"}});
    img_.compartments = {comp_};
    inputs_ = {{{"/img/work/obj/net/net/src/net.cc.o", "net", "libos/net/src/net.cc", false},
                {"/img/work/obj/net/plat/src/plat.cc.o", "plat", "libos/plat/src/plat.cc", true}}};
  }

  static found_call libc_call(const std::string &call, const std::string &via, const std::string &function,
                              std::size_t object, const std::string &root = "") {
    found_call c;
    c.syscall = call;
    c.number = flex::syscalls::number(call);
    c.via = via;
    c.function = function;
    c.object = object;
    c.root_function = root;
    return c;
  }

  syscall_check_result check(const compartment_calls &calls) {
    return check_syscalls(img_, inputs_, {calls}, {"/tree", "/img/work", "/tree/flexbuild/data/libc_syscalls.yaml"});
  }

  lib_manifest net_;
  compartment spec_;
  resolved_compartment comp_;
  resolved_image img_;
  std::vector<std::vector<scan_object>> inputs_;
};

TEST_F(syscall_check, an_undeclared_call_names_the_function_the_object_and_the_lib_yaml) {
  compartment_calls calls;
  calls.calls = {libc_call("bind", "bind", "plat_bind", 1, "net_bind"), libc_call("bind", "bind", "plat_bind2", 1, "net_bind"),
                 libc_call("socket", "socket", "net_socket", 0), libc_call("shutdown", "shutdown", "net_shutdown", 0)};
  syscall_check_result r = check(calls);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0],
            "compartment 'net': libos/plat/src/plat.cc (plat.cc.o) calls bind() in plat_bind, reached from net_bind "
            "(libos/net/src/net.cc) (and 1 more place), which makes bind(2), not in the compartment's system calls; "
            "add it to syscalls: in libos/net/lib.yaml");
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.calls_found, 3);
}

TEST_F(syscall_check, callers_left_out_of_the_list_still_count) {
  compartment_calls calls;
  found_call bind = libc_call("bind", "bind", "plat_bind", 1, "net_bind");
  bind.more = 3;
  calls.calls = {bind, libc_call("socket", "socket", "net_socket", 0), libc_call("shutdown", "shutdown", "net_shutdown", 0)};
  syscall_check_result r = check(calls);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("reached from net_bind (libos/net/src/net.cc) (and 3 more places), which makes bind(2)"),
            std::string::npos)
      << r.errors[0];
  EXPECT_EQ(r.found[0][0]["more"], 3);
}

// An mpk domain of an enforce image that starts threads is warned: where the kernel arms the system-call
// wall, the call ends the image. Not in a process compartment, nor under log.
TEST_F(syscall_check, a_thread_start_in_an_mpk_domain_under_enforce_is_a_warning) {
  comp_.syscalls.push_back({"clone3", flex::syscalls::number("clone3"), {}, {"net"}});
  img_.compartments = {comp_};
  profile prof;
  prof.lockdown = lockdown_mode::enforce;
  img_.prof = &prof;
  compartment_calls calls;
  calls.calls = {libc_call("socket", "socket", "net_socket", 0), libc_call("shutdown", "shutdown", "net_shutdown", 0),
                 libc_call("clone3", "pthread_create", "net_worker_start", 0)};
  for (isolation iso : {isolation::mpk, isolation::process}) {
    for (lockdown_mode mode : {lockdown_mode::enforce, lockdown_mode::log}) {
      spec_.iso = iso;
      prof.lockdown = mode;
      syscall_check_result r = check(calls);
      EXPECT_TRUE(r.errors.empty());
      const bool warned = iso == isolation::mpk && mode == lockdown_mode::enforce;
      ASSERT_EQ(r.warnings.size(), warned ? 1u : 0u);
      if (warned) {
        EXPECT_EQ(r.warnings[0].rfind("compartment 'net': libos/net/src/net.cc (net.cc.o) calls pthread_create() in "
                                      "net_worker_start, which makes clone3(2): an mpk domain under `lockdown: "
                                      "enforce` runs on its process's one thread",
                                      0),
                  0u)
            << r.warnings[0];
      }
    }
  }
}

TEST_F(syscall_check, a_direct_call_names_its_own_function) {
  compartment_calls calls;
  calls.calls = {libc_call("connect", "connect", "net_connect", 0), libc_call("socket", "socket", "net_socket", 0),
                 libc_call("shutdown", "shutdown", "net_shutdown", 0)};
  syscall_check_result r = check(calls);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0],
            "compartment 'net': libos/net/src/net.cc (net.cc.o) calls connect() in net_connect, which makes connect(2), "
            "not in the compartment's system calls; add it to syscalls: in libos/net/lib.yaml");
}

TEST_F(syscall_check, an_unused_declaration_is_a_warning_at_its_line_and_the_runtime_s_needs_are_not) {
  compartment_calls calls;
  calls.calls = {libc_call("socket", "socket", "net_socket", 0)};
  syscall_check_result r = check(calls);
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.warnings.size(), 1u) << "write is the runtime's: no warning";
  EXPECT_EQ(r.warnings[0],
            "libos/net/lib.yaml:9:30: compartment 'net': net declares shutdown, which nothing in the compartment's "
            "objects makes; remove it from syscalls:");
}

TEST_F(syscall_check, unknown_numbers_forbidden_calls_and_unlisted_functions_are_errors) {
  compartment_calls calls;
  found_call raw = libc_call("", "", "raw_call", 0);
  raw.kind = call_kind::instruction;
  raw.number = -1;
  found_call trace = libc_call("ptrace", "ptrace", "net_debug", 0);
  calls.calls = {raw, trace, libc_call("socket", "socket", "net_socket", 0), libc_call("shutdown", "shutdown", "net_shutdown", 0)};
  calls.unlisted = {{"strtol", "net_parse", 0}, {"strtol", "net_parse2", 0}};
  syscall_check_result r = check(calls);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0],
            "compartment 'net': libos/net/src/net.cc (net.cc.o) has a syscall instruction in raw_call with a number the "
            "build cannot find: it could make any system call; call libc's wrapper instead, or load the number as a "
            "constant right before it (mov $N, %eax)");
  EXPECT_NE(r.errors[1].find("calls ptrace() in net_debug, which makes ptrace(2), which no compartment may make"),
            std::string::npos)
      << r.errors[1];
  EXPECT_EQ(r.errors[2],
            "compartment 'net': libos/net/src/net.cc (net.cc.o) calls strtol() in net_parse (and 1 more place), which "
            "flexbuild/data/libc_syscalls.yaml does not list; add it there with the system calls glibc's strtol can "
            "make on x86-64");
}

TEST_F(syscall_check, image_json_lists_each_call_with_the_functions_that_lead_to_it) {
  compartment_calls calls;
  found_call tid = libc_call("gettid", "syscall", "plat_thread_id", 1, "sched_self");
  tid.kind = call_kind::syscall_function;
  calls.calls = {tid, libc_call("shutdown", "shutdown", "net_shutdown", 0), libc_call("socket", "socket", "net_socket", 0),
                 libc_call("socket", "socket", "_ZN4flex3net4openEv", 0)};
  syscall_check_result r = check(calls);
  ASSERT_EQ(r.found.size(), 1u);
  const auto &found = r.found[0];
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0]["name"], "gettid");
  EXPECT_EQ(found[0]["in_set"], false);
  EXPECT_EQ(found[0]["from"][0]["kind"], "syscall()");
  EXPECT_EQ(found[0]["from"][0]["object"], "obj/net/plat/src/plat.cc.o");
  EXPECT_EQ(found[2]["name"], "socket");
  EXPECT_EQ(found[2]["number"], 41);
  EXPECT_EQ(found[2]["needed_by"], nlohmann::ordered_json::array({"net"}));
  ASSERT_EQ(found[2]["from"].size(), 2u);
  EXPECT_EQ(found[2]["from"][0]["function"], "net_socket");
  EXPECT_EQ(found[2]["from"][1]["function"], "flex::net::open()") << "C++ names as the source spells them";
  EXPECT_EQ(found[2]["from"][1]["via"], "socket");
}

}  // namespace
}  // namespace flex::build
