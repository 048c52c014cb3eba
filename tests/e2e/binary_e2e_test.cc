// Unmodified Linux programs in an image (a profile's `binary:`, apps/binary on runtime/binary): the
// program's system calls are answered by posix on the libOS, its arguments are the profile's and then the
// command line's, and a profile naming something that is not a program is refused at build time with the
// file, line and reason.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "test_util.h"

namespace flex::test {
namespace {

namespace fs = std::filesystem;

TEST(binary_image, busybox_runs_unmodified_and_prints_through_the_console) {
  if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "busybox-static is not installed";
  command_result b = build_test_image(source_dir() / "profiles" / "busybox-1comp.yaml", "busybox-1comp");
  ASSERT_EQ(b.status, 0) << b.out;
  command_result r = run(test_image("busybox-1comp").string() + " and the command line");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("hello from an image and the command line"), std::string::npos) << r.out;
  // Under the default lockdown: the program's code was mapped at boot, before the wall against new
  // executable memory.
  command_result d = run(test_image("busybox-1comp").string() + " --describe");
  EXPECT_NE(d.out.find("lockdown: enforce"), std::string::npos) << d.out;
}

// busybox-static's httpd, unmodified, serving a host directory (hostfs, FLEX_MOUNTS) to curl. It forks a
// child per connection, which an image whose compartments are all `isolation: none` allows: each child is
// a copy of the image whose calls the libOS answers (its connection becomes its standard input and output
// with dup2), and which the kernel reaps (httpd ignores SIGCHLD). A missing file is 404, a path that
// leaves the directory is refused, many clients at once are served, and SIGTERM ends the server while it
// waits for the next connection, as natively.
TEST(binary_image, busybox_httpd_serves_a_host_directory_with_a_child_per_connection) {
  if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "busybox-static is not installed";
  if (run("command -v curl >/dev/null").status != 0) GTEST_SKIP() << "curl is missing";
  command_result b = build_test_image(source_dir() / "profiles" / "busybox-httpd.yaml", "busybox-httpd");
  ASSERT_EQ(b.status, 0) << b.out;
  const fs::path dir = fs::temp_directory_path() / ("flex-httpd-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "www" / "docs");
  const std::string page = "<h1>served by an image</h1>\n";
  write(dir / "www" / "index.html", page);
  write(dir / "www" / "docs" / "notes.txt", "notes\n");
  write(dir / "secret.txt", "not for the web\n");
  const int port = free_port();
  ::setenv("FLEX_MOUNTS", ("/www=" + (dir / "www").string()).c_str(), 1);
  image_process httpd(test_image("busybox-httpd").string(), {"-p", std::to_string(port)}, dir / "httpd.log");
  ::unsetenv("FLEX_MOUNTS");
  bool up = false;
  for (int i = 0; i < 300 && !up && !httpd.exited(); ++i) {
    const int c = connect_to(port);
    up = c >= 0;
    if (up) {
      ::close(c);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_TRUE(up) << httpd.log();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const fs::path body = dir / "body";
  auto get = [&](const std::string &path, const std::string &flags = "") {
    fs::remove(body);
    return run("curl -s -m 20 " + flags + " -o " + body.string() + " -w '%{http_code}' " + url + path).out;
  };
  for (int i = 0; i < 5; ++i) {  // one child each
    EXPECT_EQ(get("/index.html"), "200") << httpd.log();
    EXPECT_EQ(read(body), page);
  }
  EXPECT_EQ(get("/docs/notes.txt"), "200");
  EXPECT_EQ(read(body), "notes\n");
  EXPECT_EQ(get("/missing.html"), "404");
  EXPECT_NE(get("/../secret.txt", "--path-as-is"), "200");
  EXPECT_EQ(read(body).find("not for the web"), std::string::npos);
  command_result many = run("for i in 1 2 3 4 5 6 7 8; do curl -s -m 20 -o /dev/null -w '%{http_code}\\n' " + url +
                            "/index.html & done; wait");
  EXPECT_EQ(many.out, "200\n200\n200\n200\n200\n200\n200\n200\n") << httpd.log();
  const std::string log = httpd.log();
  EXPECT_NE(log.find("response:200"), std::string::npos) << log;
  EXPECT_NE(log.find("response:404"), std::string::npos) << log;
  // Every child has ended and been reaped: the server has no children left.
  const fs::path children = "/proc/" + std::to_string(httpd.pid()) + "/task/" + std::to_string(httpd.pid()) + "/children";
  std::string left = "?";
  for (int i = 0; i < 50 && !left.empty(); ++i) {
    left = read(children);
    if (!left.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(left, "");
  ASSERT_FALSE(httpd.exited()) << httpd.log();
  httpd.signal(SIGTERM);
  EXPECT_EQ(httpd.wait(20), 128 + SIGTERM) << httpd.log();
  fs::remove_all(dir);
}

// A forked child's epoll is its own: the libOS's readiness sets (net's, sched's) are rebuilt in the child,
// so a pipe the child watches never wakes the parent's wait, even on the number the parent's watched pipe
// has. Were the child's registrations made in the parent's set, the parent's wait would report its empty
// pipe ready.
TEST(binary_image, a_forked_childs_epoll_never_wakes_its_parents) {
  const fs::path dir = fs::temp_directory_path() / ("flex-binary-forkpoll-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write(dir / "forkpoll.c",
        "#include <stdio.h>\n"
        "#include <sys/epoll.h>\n"
        "#include <sys/wait.h>\n"
        "#include <unistd.h>\n"
        "int main(void) {\n"
        "  int p[2], go[2];\n"
        "  if (pipe(p) != 0 || pipe(go) != 0) return 2;\n"
        "  int ep = epoll_create1(0);\n"
        "  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 111};\n"
        "  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);\n"
        "  pid_t c = fork();\n"
        "  if (c == 0) {  /* its own pipe, on the number the parent's watched one has, in an epoll of its own */\n"
        "    close(p[0]);\n"
        "    close(p[1]);\n"
        "    int q[2];\n"
        "    if (pipe(q) != 0) _exit(2);\n"
        "    int ep2 = epoll_create1(0);\n"
        "    struct epoll_event f = {.events = EPOLLIN, .data.u64 = 222};\n"
        "    epoll_ctl(ep2, EPOLL_CTL_ADD, q[0], &f);\n"
        "    write(q[1], \"c\", 1);\n"
        "    struct epoll_event out = {0};\n"
        "    int n = epoll_wait(ep2, &out, 1, 5000);\n"
        "    write(go[1], \"g\", 1);\n"
        "    usleep(600000);  /* its ready pipe stays registered while the parent waits */\n"
        "    _exit(q[0] == p[0] && n == 1 && out.data.u64 == 222 ? 0 : 1);\n"
        "  }\n"
        "  char g;\n"
        "  read(go[0], &g, 1);\n"
        "  struct epoll_event out = {0};\n"
        "  int n = epoll_wait(ep, &out, 1, 300);\n"
        "  printf(\"parent's wait while its pipe is empty: %d\\n\", n);\n"
        "  int st = 0;\n"
        "  waitpid(c, &st, 0);\n"
        "  printf(\"child: %d\\n\", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));\n"
        "  write(p[1], \"p\", 1);\n"
        "  n = epoll_wait(ep, &out, 1, 5000);\n"
        "  printf(\"parent's pipe: %d %llu\\n\", n, (unsigned long long)out.data.u64);\n"
        "  return 0;\n"
        "}\n");
  command_result cc =
      run(llvm_tool("clang") + " -static -O1 -o " + (dir / "forkpoll").string() + " " + (dir / "forkpoll.c").string());
  ASSERT_EQ(cc.status, 0) << cc.out;
  command_result native = run((dir / "forkpoll").string());
  ASSERT_EQ(native.out, "parent's wait while its pipe is empty: 0\nchild: 0\nparent's pipe: 1 111\n");
  write(dir / "forkpoll.yaml", "name: forkpoll\nbinary: " + (dir / "forkpoll").string() +
                                   "\ncompartments:\n  - {name: main, default: true, libraries: [binary, net, console]}\n");
  command_result b = build_test_image(dir / "forkpoll.yaml", "forkpoll", source_dir());
  ASSERT_EQ(b.status, 0) << b.out;
  command_result r = run(test_image("forkpoll").string());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, native.out);
  fs::remove_all(dir);
}

// A dynamic program under enforce: linked at boot (its interpreter reads libc from the host's library
// directories through descriptors of its own, maps it, and runs to the program's entry before the
// lockdown), then run after it.
TEST(binary_image, a_dynamic_program_is_linked_at_boot_and_runs_under_enforce) {
  if (!fs::exists("/bin/echo")) GTEST_SKIP() << "coreutils is not installed";
  const fs::path fixtures = source_dir() / "tests" / "e2e" / "fixtures" / "binary";
  command_result b = build_test_image(fixtures / "echo-dyn.yaml", "echo-dyn", source_dir());
  ASSERT_EQ(b.status, 0) << b.out;
  command_result r = run(test_image("echo-dyn").string() + " echo");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("dynamic echo"), std::string::npos) << r.out;
  command_result d = run(test_image("echo-dyn").string() + " --describe");
  EXPECT_NE(d.out.find("lockdown: enforce"), std::string::npos) << d.out;
}

// A program whose library lies outside the host's library directories: its interpreter cannot open it,
// says so, and the image refuses at boot, naming the program, before the app starts.
TEST(binary_image, a_library_outside_the_hosts_library_directories_is_refused_at_boot) {
  const fs::path dir = fs::temp_directory_path() / ("flex-binary-lib-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write(dir / "gone.c", "int gone(void) { return 7; }\n");
  write(dir / "main.c", "int gone(void);\nint main(void) { return gone(); }\n");
  const std::string cc = llvm_tool("clang");
  command_result lib = run(cc + " -shared -fPIC -o " + (dir / "libgone.so").string() + " " + (dir / "gone.c").string());
  ASSERT_EQ(lib.status, 0) << lib.out;
  command_result prog = run(cc + " -o " + (dir / "uses-gone").string() + " " + (dir / "main.c").string() + " -L" +
                            dir.string() + " -lgone -Wl,-rpath," + dir.string());
  ASSERT_EQ(prog.status, 0) << prog.out;
  ASSERT_EQ(run((dir / "uses-gone").string()).status, 7) << "natively it finds its library through its rpath";
  write(dir / "uses-gone.yaml", "name: uses-gone\nbinary: " + (dir / "uses-gone").string() +
                                    "\ncompartments:\n  - name: main\n    default: true\n    libraries: [binary]\n");
  command_result b = build_test_image(dir / "uses-gone.yaml", "uses-gone", source_dir());
  ASSERT_EQ(b.status, 0) << b.out;
  command_result r = run(test_image("uses-gone").string());
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("libgone.so"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find((dir / "uses-gone").string() + ": its interpreter ended with status 127 before the program's "
                                                      "first instruction"),
            std::string::npos)
      << r.out;
  fs::remove_all(dir);
}

// The attack: a program that knows where net's private data lies (the image's layout without ASLR) loads
// from it, and asks the kernel for it with process_vm_readv on the process next to its own (net's, when
// net is a process). With net in a process of its own the load faults, and the image's report names
// net's memory; the system call never reaches the kernel (the dispatcher does not serve it). The control
// is the same program with net in a compartment of the main process (isolation: none): the load reads.
TEST(binary_image, a_program_cannot_read_nets_private_data_when_net_is_a_process) {
  if (run("command -v setarch >/dev/null").status != 0) GTEST_SKIP() << "setarch (util-linux) is missing";
  const fs::path dir = fs::temp_directory_path() / ("flex-binary-peek-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write(dir / "peek.c",
        "#define _GNU_SOURCE\n#include <errno.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
        "#include <sys/uio.h>\n#include <unistd.h>\n"
        "int main(int argc, char **argv) {\n"
        "  unsigned long addr = strtoul(argv[1], 0, 16), got = 0;\n"
        "  struct iovec l = {&got, sizeof got}, r = {(void *)addr, sizeof got};\n"
        "  long n = process_vm_readv(getpid() + 1, &l, 1, &r, 1, 0);\n"
        "  printf(\"process_vm_readv: %ld %s\\n\", n, n < 0 ? strerrorname_np(errno) : \"read\");\n"
        "  fflush(stdout);\n"
        "  got = *(volatile unsigned long *)addr;\n"
        "  printf(\"loaded net's data: %lx\\n\", got);\n"
        "  return 0;\n"
        "}\n");
  command_result cc = run(llvm_tool("clang") + " -static -O1 -o " + (dir / "peek").string() + " " + (dir / "peek.c").string());
  ASSERT_EQ(cc.status, 0) << cc.out;
  struct outcome {
    int status;
    std::string out;
  };
  auto attack = [&](const std::string &name, const std::string &net_isolation) {
    write(dir / (name + ".yaml"), "name: " + name + "\nbinary: " + (dir / "peek").string() +
                                      "\ncompartments:\n  - {name: app, default: true, libraries: [binary]}\n"
                                      "  - {name: net, isolation: " + net_isolation + ", libraries: [net]}\n");
    command_result b = build_test_image(dir / (name + ".yaml"), name, source_dir());
    EXPECT_EQ(b.status, 0) << b.out;
    const std::string image = "setarch -R " + test_image(name).string();
    const command_result d = run(image + " --describe");
    const std::size_t at = d.out.find(".flex.net.bss");
    EXPECT_NE(at, std::string::npos) << d.out;
    const std::string addr = at == std::string::npos ? "0" : d.out.substr(d.out.find("0x", at), 14);
    const command_result r = run(image + " " + addr);
    return outcome{r.status, r.out};
  };
  const outcome walled = attack("peek-net-process", "process");
  EXPECT_NE(walled.status, 0) << walled.out;
  EXPECT_EQ(walled.out.find("loaded net's data"), std::string::npos) << walled.out;
  EXPECT_NE(walled.out.find("address belongs to compartment 'net' (bss)"), std::string::npos) << walled.out;
  EXPECT_NE(walled.out.find("process_vm_readv: -1 ENOSYS"), std::string::npos) << walled.out;
  const outcome control = attack("peek-net-none", "none");
  EXPECT_EQ(control.status, 0) << control.out;
  EXPECT_NE(control.out.find("loaded net's data"), std::string::npos) << control.out;
  fs::remove_all(dir);
}

TEST(binary_image, a_binary_that_is_not_a_program_is_refused_with_its_line) {
  const fs::path dir = fs::temp_directory_path() / ("flex-binary-profile-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path prof = dir / "not-a-program.yaml";
  std::ofstream(prof) << "name: not-a-program\nbinary:\n  path: /etc/hostname\ncompartments:\n"
                         "  - name: main\n    default: true\n    libraries: [binary]\n";
  command_result r = run(flexbuild().string() + " check --profile " + prof.string());
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(prof.string() + ":3:9: error: /etc/hostname: not an ELF file"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

// A program that itself imports the C library's function for a call no lockdown allows (mount) is refused
// at its `binary:` line, naming the import and the call, under the default lockdown; with `lockdown: off`
// it builds (the call would be answered ENOSYS).
TEST(binary_image, a_program_importing_a_call_no_lockdown_allows_is_refused_at_its_line) {
  const fs::path dir = fs::temp_directory_path() / ("flex-binary-mount-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write(dir / "mounter.c",
        "#include <sys/mount.h>\nint main(int argc, char **argv) { return argc > 5 ? mount(argv[1], argv[2], 0, 0, 0) : 0; }\n");
  command_result cc = run(llvm_tool("clang") + " -o " + (dir / "mounter").string() + " " + (dir / "mounter.c").string());
  ASSERT_EQ(cc.status, 0) << cc.out;
  auto profile = [&](const std::string &lockdown) {
    const fs::path p = dir / ("mounter-" + lockdown + ".yaml");
    write(p, "name: mounter\nlockdown: " + lockdown + "\nbinary:\n  path: " + (dir / "mounter").string() +
                 "\ncompartments:\n  - {name: main, default: true, libraries: [binary]}\n");
    return p;
  };
  const fs::path enforce = profile("enforce");
  command_result r = run(flexbuild().string() + " check --profile " + enforce.string());
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(enforce.string() + ":4:9: error: " + (dir / "mounter").string() +
                       ": the program imports mount, which makes mount(2), a call no lockdown allows"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("build it with `lockdown: off`"), std::string::npos) << r.out;
  command_result off = run(flexbuild().string() + " check --profile " + profile("off").string());
  EXPECT_EQ(off.status, 0) << off.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flex::test
