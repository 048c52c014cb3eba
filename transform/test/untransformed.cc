// The same in C++: static_assert instead of _Static_assert, in functions, templates and lambdas. (In a
// template the assertion fires when the template is instantiated, as C++23's P2593 has it.)
//
// RUN: not %clangxx -std=c++20 -Wall -fsyntax-only -I%flexos-include %s 2>&1 \
// RUN:   | FileCheck %s --implicit-check-not=error:
#include <flexos/isolation.h>
extern "C" void console_flush();
extern "C" int net_recv(int fd, char *buf, unsigned long n, int flags);
template <typename T> T receive(int fd) {
  T value{};
  flexos_gate_r(libnet, value, net_recv, fd, nullptr, 0, 0);
// CHECK-DAG: {{.*}}untransformed.cc:[[@LINE-1]]:3: error: static assertion failed: flexos_gate_r(libnet, value, net_recv) was not instantiated: build this source with flexbuild
  return value;
}
int run(int fd) {
  char local[16] __attribute__((flexos_whitelist)) = {};
  auto flush = [] { flexos_gate(libconsole, console_flush); };
// CHECK-DAG: {{.*}}untransformed.cc:[[@LINE-1]]:21: error: static assertion failed: flexos_gate(libconsole, console_flush) was not instantiated: build this source with flexbuild
  flush();
  return receive<int>(fd) + local[0];
// CHECK-DAG: {{.*}}untransformed.cc:[[@LINE-1]]:29: error: 'local' is unavailable: flexos_whitelist was not instantiated: build this source with flexbuild
}
// CHECK: 3 errors generated.
