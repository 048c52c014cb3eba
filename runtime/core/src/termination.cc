// Termination requests (see flexos_watch_termination in <flexos/isolation.h>). The main process owns
// SIGTERM and SIGINT (compartment processes sit in process groups of their own, so terminal signals reach
// it alone); its handler records the request in key-0 runtime memory, or in the process arena when the
// image has compartment processes, which every process maps.
#include <signal.h>

#include <atomic>
#include <cstdint>

#include "flex/runtime/process.h"
#include <flexos/isolation.h>

namespace {

std::atomic<std::uint32_t> g_watched{0}, g_requested{0};  // images without compartment processes

std::atomic<std::uint32_t> &watched() {
  flex::runtime::termination_flags f = flex::runtime::process_termination_flags();
  return f.watched ? *f.watched : g_watched;
}
std::atomic<std::uint32_t> &requested() {
  flex::runtime::termination_flags f = flex::runtime::process_termination_flags();
  return f.requested ? *f.requested : g_requested;
}

void on_termination(int sig) {
  if (!watched().load(std::memory_order_relaxed)) {
    signal(sig, SIG_DFL);  // nobody polls: the default action, as without the runtime
    raise(sig);
    return;
  }
  requested().store(1, std::memory_order_relaxed);
}

}  // namespace

namespace flex::runtime {
// Called by boot_image in the main process once the compartments are up.
void install_termination_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_termination;
  // On the fault reporter's alternate stack (key 0): the interrupted thread may be on a domain's stack,
  // which the kernel's signal-time PKRU does not open.
  sa.sa_flags = SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}
}  // namespace flex::runtime

extern "C" void flexos_watch_termination(void) {
  watched().store(1, std::memory_order_relaxed);
}

extern "C" int flexos_termination_requested(void) {
  return requested().load(std::memory_order_relaxed) != 0;
}
