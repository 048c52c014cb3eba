// Lockdown of one process: descriptors, privileges, Landlock, then the filter (lockdown_filter.cc); and
// the lifecycle that runs it at the end of boot. lockdown.h describes the whole design.
#include "flex/runtime/lockdown.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "flex/runtime/fault.h"
#include "flex/runtime/heap.h"
#include "flex/runtime/lockdown_files.h"
#include "flex/runtime/mpk.h"
#include "flex/syscalls/syscalls.h"
#include "lockdown_impl.h"

namespace flex::runtime {
namespace {

// The Landlock ABI as the running kernel speaks it (Debian 12's headers stop at ABI 2).
struct landlock_ruleset {
  std::uint64_t handled_access_fs;
  std::uint64_t handled_access_net;  // ABI 4
  std::uint64_t scoped;              // ABI 6
};
constexpr std::uint64_t kScopeAbstractUnix = 1u << 0;
constexpr std::uint64_t kScopeSignal = 1u << 1;
constexpr std::uint64_t kFsRefer = 1u << 13;     // ABI 2
constexpr std::uint64_t kFsTruncate = 1u << 14;  // ABI 3
constexpr std::uint64_t kFsIoctlDev = 1u << 15;  // ABI 5

std::uint64_t handled_fs(int abi) {
  std::uint64_t fs = (1u << 13) - 1;  // ABI 1: execute ... make_sym
  if (abi >= 2) fs |= kFsRefer;
  if (abi >= 3) fs |= kFsTruncate;
  if (abi >= 5) fs |= kFsIoctlDev;
  return fs;
}

// What hostfs does beneath its directory: read, write, truncate, create and remove files and directories,
// rename. Never execute, nor make devices, sockets, fifos or symlinks.
std::uint64_t hostfs_rights(int abi) {
  std::uint64_t fs = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
                     LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
                     LANDLOCK_ACCESS_FS_MAKE_REG;
  if (abi >= 2) fs |= kFsRefer;
  if (abi >= 3) fs |= kFsTruncate;
  return fs;
}

bool hosts_library(const flex_image_layout &img, std::uint64_t hosted, const char *lib) {
  for (unsigned c = 0; c < img.n_compartments; ++c) {
    if (!(hosted >> c & 1)) continue;
    for (const char *const *l = img.compartments[c].libraries; l && *l; ++l) {
      if (std::strcmp(*l, lib) == 0) return true;
    }
  }
  return false;
}

// Whether the process hosts several domains of one address space, at least one behind MPK: the layout
// wall then keeps each domain's memory from the others' system calls.
bool hosts_mpk_domains(const flex_image_layout &img, std::uint64_t hosted) {
  unsigned domains = 0;
  bool mpk = false;
  for (unsigned c = 0; c < img.n_compartments; ++c) {
    if (!(hosted >> c & 1) || img.compartments[c].isolation == FLEX_ISO_PROCESS) continue;
    ++domains;
    mpk = mpk || img.compartments[c].isolation == FLEX_ISO_MPK;
  }
  return mpk && domains >= 2;
}

// Whether the process hosting hostfs was confined to the host directories named at boot (lockdown
// enforce): a mount must then lie beneath one of them. Set by lockdown_process.
bool g_files_confined = false;
std::string g_named_by;  // where those directories come from, for the refusal of another mount

// Allows `rights` beneath `dir` in `ruleset`; 0 or an errno.
int allow_beneath(int ruleset, int dir, std::uint64_t rights) {
  landlock_path_beneath_attr rule{};
  rule.allowed_access = rights;
  rule.parent_fd = dir;
  return syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) == 0 ? 0 : errno;
}

// Whether the process's own /proc entries stay readable under Landlock. Not where several domains share
// the address space: /proc/self/mem (and /proc/self/task/N/mem) reads and writes with the kernel's
// access, which ignores protection keys, so any domain allowed openat would reach every key through it.
// Such a process opens the two entries the runtime reads after its lockdown beforehand (heap_usage's
// statm, thread_count's stat) and /proc/self/maps for the layout wall, then loses /proc altogether.
// Set by lockdown_process for the mount's layer.
bool g_own_proc_rule = true;

// /proc/self/stat, opened before the lockdown (thread_count), per process as heap_usage's statm.
int g_stat_fd = -1;
pid_t g_stat_pid = 0;

void open_own_stat() {
  if (g_stat_pid == getpid() && g_stat_fd >= 0) return;
  if (g_stat_fd >= 0) close(g_stat_fd);
  g_stat_fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  g_stat_pid = getpid();
}

// Allows reading the process's own /proc entries (heap_usage's statm after a fork, thread_count's stat).
int allow_own_proc(int ruleset) {
  const int self = open("/proc/self", O_PATH | O_CLOEXEC | O_DIRECTORY);
  if (self < 0) return errno;
  const int err = allow_beneath(ruleset, self, LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR);
  close(self);
  return err;
}

// The process's command line as it was started (/proc/self/cmdline: read before Landlock takes /proc away),
// one string per argument.
std::vector<std::string> own_command_line() {
  std::vector<std::string> args;
  const int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return args;
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<std::size_t>(n));
  close(fd);
  for (std::size_t at = 0; at < all.size();) {
    const std::size_t end = all.find('\0', at);
    args.push_back(all.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return args;
}

}  // namespace

std::vector<std::string> hostfs_boot_dirs(const flex_image_layout &img, const std::vector<std::string> &args,
                                          const char *mounts) {
  std::vector<std::string> dirs;
  if (img.hostfs_dir_option) {
    const std::string opt = img.hostfs_dir_option;
    const std::string opt_eq = opt + "=";
    bool named = false;  // the last one, as the app reads its options
    std::string value;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (args[i] == opt && i + 1 < args.size()) {
        named = true;
        value = args[++i];
      } else if (args[i].compare(0, opt_eq.size(), opt_eq) == 0) {
        named = true;
        value = args[i].substr(opt_eq.size());
      }
    }
    if (named) {
      dirs.push_back(value);
    } else if (img.hostfs_dir_default) {
      dirs.emplace_back(img.hostfs_dir_default);
    }
  }
  // posix's FLEX_MOUNTS="TARGET=HOSTDIR[,TARGET=HOSTDIR...]" (a program's, a port's through posix).
  if (mounts) {
    const std::string all(mounts);
    for (std::size_t at = 0; at <= all.size();) {
      std::size_t end = all.find(',', at);
      if (end == std::string::npos) end = all.size();
      const std::string entry = all.substr(at, end - at);
      at = end + 1;
      const std::size_t eq = entry.find('=');
      if (eq != std::string::npos && eq > 0 && eq + 1 < entry.size()) dirs.push_back(entry.substr(eq + 1));
    }
  }
  return dirs;
}

namespace {

// The descriptors the rules were made from, open for the life of the process: a rule names the directory's
// inode, and a file system without a cache (9p, as the PKU guest's) forgets an inode nothing holds, so a
// later lookup of the same path would find another one, which no rule names.
std::vector<int> g_boot_dir_fds;

// hostfs's rights beneath each host directory named at boot (hostfs_boot_dirs); one that cannot be opened
// as a directory is left out (hostfs's mount of it fails as it would without the lockdown). 0 or an errno.
int allow_boot_dirs(int ruleset, int abi, const flex_image_layout &img) {
  for (const std::string &d : hostfs_boot_dirs(img, own_command_line(), std::getenv("FLEX_MOUNTS"))) {
    const int dir = open(d.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) continue;
    const int err = allow_beneath(ruleset, dir, hostfs_rights(abi));
    if (err != 0) {
      close(dir);
      return err;
    }
    g_boot_dir_fds.push_back(dir);
  }
  return 0;
}

std::size_t ruleset_size(int abi) {
  return abi >= 6 ? sizeof(landlock_ruleset) : abi >= 4 ? 2 * sizeof(std::uint64_t) : sizeof(std::uint64_t);
}

// The number of threads of the calling process (/proc/self/stat's 20th field); 0 when unknown.
long thread_count() {
  open_own_stat();
  if (g_stat_fd < 0) return 0;
  char buf[1024];
  const ssize_t n = pread(g_stat_fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char *p = std::strrchr(buf, ')');  // the command name may hold spaces
  for (int field = 2; p && field < 20; ++field) p = std::strchr(p + 1, ' ');
  return p ? std::strtol(p + 1, nullptr, 10) : 0;
}

// File access: the process's own /proc entries only (none where mpk domains share the process), unless
// hostfs lives here: then also hostfs's rights beneath the host directories named at boot (the app's
// `hostfs_dir` option, FLEX_MOUNTS), and nothing else, from the lockdown on. Signals and abstract unix
// sockets: scoped to the process's own domain in a compartment process (the main process must still be
// able to end its compartment processes).
status confine_with_landlock(const flex_image_layout &img, std::uint64_t hosted, bool compartment_process) {
  const int abi = landlock_abi();
  if (abi <= 0) return {};  // --describe says so
  const bool files = !hosts_library(img, hosted, "hostfs");
  // Log mode keeps its supervisor thread unconfined, so a layer would not cover it: log mode leaves
  // hostfs's process its files (it is the weaker learning mode; --describe says so).
  const bool host_dirs = !files && img.lockdown == FLEX_LOCKDOWN_ENFORCE;
  landlock_ruleset attr{files || host_dirs ? handled_fs(abi) : 0, 0,
                        compartment_process && abi >= 6 ? kScopeAbstractUnix | kScopeSignal : 0};
  if (attr.handled_access_fs == 0 && attr.scoped == 0) return {};
  const int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, ruleset_size(abi), 0));
  if (ruleset < 0) return status::from_errno("landlock_create_ruleset", errno);
  int err = (files || host_dirs) && g_own_proc_rule ? allow_own_proc(ruleset) : 0;
  if (err == 0 && host_dirs) err = allow_boot_dirs(ruleset, abi, img);
  if (err == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) err = errno;
  close(ruleset);
  if (err) return status::from_errno("cannot confine the process with Landlock", err);
  g_files_confined = host_dirs;
  if (host_dirs) {
    g_named_by = img.hostfs_dir_option ? "the app's " + std::string(img.hostfs_dir_option) + " and FLEX_MOUNTS"
                                       : std::string("FLEX_MOUNTS");
  }
  return {};
}

// Every capability, from every set, for good: root's powers (CAP_SYS_PTRACE above all) end with boot.
status drop_capabilities() {
  for (int cap = 0; cap <= 63; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM) {
      return status::from_errno("cannot drop capability " + std::to_string(cap) + " from the bounding set", errno);
    }
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &header, data) != 0) return status::from_errno("cannot drop the capabilities", errno);
  return {};
}

}  // namespace

extern "C" int flex_lockdown_files_beneath(int dirfd) {
  if (!g_files_confined) return 0;
  // Landlock answers for the directory as for any file beneath it: a mount outside the directories named
  // at boot cannot even list its root.
  const int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == EACCES) {
      fault_line()
          .str("flex: hostfs cannot mount a directory outside the host directories named at boot (")
          .str(g_named_by.c_str())
          .str("): name it there to mount it")
          .emit();
    }
    return -err;
  }
  close(fd);
  return 0;
}

int landlock_abi() {
  const long v = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return v > 0 ? static_cast<int>(v) : 0;
}

const char *mpk_domain_opening_files_without_landlock(const flex_image_layout &img, int abi) {
  if (abi > 0) return nullptr;
  std::uint64_t hosted = 0;  // the main process's compartments
  for (unsigned c = 0; c < img.n_compartments; ++c) {
    if (img.compartments[c].isolation != FLEX_ISO_PROCESS) hosted |= 1ull << c;
  }
  if (!hosts_mpk_domains(img, hosted)) return nullptr;
  for (unsigned c = 0; c < img.n_compartments; ++c) {
    if (!(hosted >> c & 1)) continue;
    const flex_compartment_layout &comp = img.compartments[c];
    for (unsigned i = 0; i < comp.n_syscalls; ++i) {
      const int nr = comp.syscalls[i];
      if (nr == SYS_open || nr == SYS_openat || nr == SYS_openat2 || nr == SYS_creat) return comp.name;
    }
  }
  return nullptr;
}

status lockdown_process(const flex_image_layout &img, std::uint64_t hosted, bool supervisor) {
  const bool compartment_process = !supervisor && hosted && !(hosted & (hosted - 1)) &&
                                   img.compartments[__builtin_ctzll(hosted)].isolation == FLEX_ISO_PROCESS;
  if (compartment_process && syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
    return status::from_errno("cannot close the descriptors it inherited", errno);
  }
  heap_usage_prepare();
  open_own_stat();
  const bool mpk_domains = hosts_mpk_domains(img, hosted);
  const bool mpk_walls = img.lockdown == FLEX_LOCKDOWN_ENFORCE && mpk_domains;
  g_own_proc_rule = !mpk_domains;
  // The layout wall reads the mappings after Landlock: opened now, read once, closed there.
  struct own_maps {
    int fd;
    ~own_maps() {
      if (fd >= 0) close(fd);
    }
  } const maps{mpk_walls ? open("/proc/self/maps", O_RDONLY | O_CLOEXEC) : -1};
  if (mpk_walls && maps.fd < 0) return status::from_errno("cannot open /proc/self/maps", errno);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return status::from_errno("PR_SET_NO_NEW_PRIVS", errno);
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return status::from_errno("PR_SET_DUMPABLE", errno);
  if (status s = confine_with_landlock(img, hosted, compartment_process); !s.ok()) return s;
  if (status s = drop_capabilities(); !s.ok()) return s;
  // Several domains in one address space: the signal wall and the layout wall, before the main filter
  // (which refuses seccomp itself).
  if (mpk_walls) {
    if (status s = lockdown_detail::install_reporter(); !s.ok()) return s;
    // The shared objects' WRPKRUs and XRSTORs (glibc's pkey_set, ld.so's trampolines) become traps while
    // code pages may still change.
    int disarmed = 0;
    if (status s = mpk_disarm_foreign_gadgets(disarmed); !s.ok()) return s;
    // The pointers the runtime follows with every right become read-only before the layout wall takes
    // the image's read-only pages as they are.
    lockdown_detail::remember_image(img, hosted);
    seal_runtime_data();
    std::string foreign_code;
    std::vector<lockdown_detail::layout_span> spans = lockdown_detail::image_layout_spans(maps.fd, foreign_code);
    if (!foreign_code.empty()) {
      return status::error("this process holds executable memory that is not the code of the image or of its "
                           "shared objects, or that stays writable: " + foreign_code +
                           " (made before main, by a constructor?); a compartment could write a WRPKRU there "
                           "and run it, so the image does not boot under enforce; build it with `lockdown: log` "
                           "or `off` to run it");
    }
    std::uint64_t token[2] = {};
    std::uintptr_t lo = 0, hi = 0;
    // Hardware MPK on a kernel that delivers signals onto keyed memory. Not in an image that runs a program:
    // the thread's Syscall User Dispatch is the program's (runtime/binary), and its handlers are the
    // runtime's loader's (--describe says the walls are the weaker kind there).
    const bool signals = !img.binary_path && mpk_signal_arena(lo, hi);
    std::vector<mpk_sud_site> pins;
    if (signals) {
      spans.push_back({lo, hi});
      spans = lockdown_detail::merge_spans(std::move(spans));
      if (status s = mpk_signal_wall(token); !s.ok()) return s;
      // The system-call wall: each domain's calls checked against its own set. Dispatch is per thread and
      // the wall arms the boot thread's, so a thread already running (started by a constructor) would
      // make its calls unchecked: the image is refused rather than run with a wall that is not there.
      if (const long threads = thread_count(); threads != 1) {
        return status::error(
            threads > 1 ? "this process runs " + std::to_string(threads) +
                              " threads at its lockdown (a constructor started one?), but the system-call wall "
                              "of mpk domains arms one thread (Syscall User Dispatch is per thread); start no "
                              "thread before main, or build the image with `lockdown: log` or `off`"
                        : std::string("cannot count this process's threads (/proc/self/stat), which the "
                                      "system-call wall of mpk domains needs to be one"));
      }
      mpk_syscall_sets sets;
      lockdown_detail::domain_sets(img, sets);
      sets.shared_stacks = img.mpk_gate && std::strcmp(img.mpk_gate, "light") == 0;
      mpk_sysdrop_fn drops[kMaxMpkDomains] = {};
      const mpk_plan &plan = mpk_booted_plan();
      for (unsigned d = 0; d < plan.n_domains; ++d) {
        drops[d] = img.compartments[plan.domains[d].compartment].sys_drop;
        sets.sig_enter[d] = img.compartments[plan.domains[d].compartment].sig_enter;
      }
      bool armed = false;
      if (status s = mpk_syscall_wall(sets, drops, &lockdown_detail::refuse_domain_call, armed); !s.ok()) return s;
      mpk_sud_site sites[4];
      if (armed) {
        pins.assign(sites, sites + mpk_sud_sites(sites));
        pins.push_back({mpk_pkey_site(), SYS_pkey_mprotect});  // fresh memory's tagging, there only
      }
    }
    status s = lockdown_detail::install_layout_wall(spans, lockdown_detail::stack_spans(), signals ? token : nullptr,
                                                    pins);
    explicit_bzero(token, sizeof token);
    if (!s.ok()) return s;
  }
  status s = lockdown_detail::install_filter(img, hosted, supervisor);
  mpk_syscall_wall_close();  // from here each domain's calls are its own set's
  return s;
}

status lockdown_lifecycle::check(const flex_image_layout &img) {
  if (img.lockdown == FLEX_LOCKDOWN_OFF) return {};
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
    return status::error("this kernel has no seccomp filters; build the image with `lockdown: off` to run it "
                         "unconfined");
  }
  if (img.lockdown == FLEX_LOCKDOWN_LOG && seccomp_api_get() < 6) {
    return status::error("`lockdown: log` needs seccomp user notifications (Linux 5.5), which this kernel "
                         "lacks; use enforce or off");
  }
  if (img.lockdown == FLEX_LOCKDOWN_ENFORCE) {
    if (const char *name = mpk_domain_opening_files_without_landlock(img, landlock_abi())) {
      return status::error(std::string("this kernel has no Landlock, so compartment '") + name +
                           "', whose system calls open files, could open /proc/self/mem and read every "
                           "protection key; run the image on a kernel with Landlock (lsm=...,landlock), or build "
                           "it with `lockdown: log` or `off`");
    }
  }
  return {};
}

status lockdown_lifecycle::boot(boot_context &ctx) {
  if (ctx.img.lockdown == FLEX_LOCKDOWN_OFF) return {};
  std::uint64_t hosted = 0;
  bool supervisor = false;
  for (unsigned c = 0; c < ctx.img.n_compartments; ++c) {
    if (ctx.img.compartments[c].isolation == FLEX_ISO_PROCESS) {
      supervisor = true;
    } else {
      hosted |= 1ull << c;
    }
  }
  return lockdown_process(ctx.img, hosted, supervisor);
}

void lockdown_compartment_process(const flex_image_layout &img, unsigned compartment) {
  if (img.lockdown == FLEX_LOCKDOWN_OFF) return;
  if (status s = lockdown_process(img, 1ull << compartment, false); !s.ok()) {
    fault_line().str("flex: ").who(compartment).str(" could not be locked down: ").str(s.message().c_str()).emit();
    terminate_image(kExitDied);
  }
}

void lockdown_lifecycle::describe(const flex_image_layout &img, std::FILE *out) {
  flex::syscalls::name_table_init();
  if (img.lockdown == FLEX_LOCKDOWN_OFF) {
    std::fputs("lockdown: off (weaker: no system-call filter; the walls hold only against loads and stores)\n", out);
    return;
  }
  std::fprintf(out, "lockdown: %s\n",
               img.lockdown == FLEX_LOCKDOWN_ENFORCE ? "enforce" : "log (weaker: calls outside a set are allowed)");
  for (unsigned c = 0; c < img.n_compartments; ++c) {
    const flex_compartment_layout &comp = img.compartments[c];
    std::fprintf(out, "  %s: %u system calls:", comp.name, comp.n_syscalls);
    for (unsigned i = 0; i < comp.n_syscalls; ++i) {
      const char *name = flex::syscalls::name_of(comp.syscalls[i]);
      std::fprintf(out, " %s", name ? name : "?");
    }
    std::fputc('\n', out);
  }
  bool mpk = false;
  for (unsigned c = 0; c < img.n_compartments; ++c) mpk = mpk || img.compartments[c].isolation == FLEX_ISO_MPK;
  if (const int abi = landlock_abi()) {
    std::fprintf(out, "  Landlock ABI %d: file access confined (%s)%s%s\n", abi,
                 img.lockdown == FLEX_LOCKDOWN_ENFORCE
                     ? "hostfs's process to the host directories named at boot"
                     : "log mode: hostfs's process keeps its files",
                 mpk ? "; no /proc in a process with mpk domains (/proc/self/mem ignores keys)" : "",
                 abi >= 6 ? ", signals and abstract sockets scoped in compartment processes"
                          : "; this kernel cannot scope signals (ABI 6)");
  } else {
    std::fputs("  Landlock: not available on this kernel (file access and signals are not confined by it)\n", out);
  }
  if (!mpk) return;
  if (img.lockdown != FLEX_LOCKDOWN_ENFORCE) {
    std::fputs("  mpk domains: no layout wall, signals stay the compartments', system calls are not checked per "
               "domain (enforce only)\n",
               out);
  } else if (img.binary_path) {
    std::fputs("  mpk domains: layout wall; the program's code disarmed and its calls answered by the libOS (its "
               "own Syscall User Dispatch, whose selector it can write); system calls that reach the kernel are "
               "checked per process, not per domain, and signals stay the compartments': a forged PKRU in a "
               "signal frame opens every key (weaker: the thread's dispatch is the program's, which the "
               "per-domain system-call wall and the signal wall would need too)\n",
               out);
  } else if (pku_status().available && mpk_kernel_delivers_onto_keyed_stacks()) {
    std::fputs("  mpk domains: layout wall; signals runtime-owned (signal arena, rt_sigreturn token); system calls "
               "checked per domain and made with its rights, memory calls only on its own fresh memory, which "
               "is tagged with its key (Syscall User Dispatch, one thread)\n",
               out);
  } else {
    std::fputs("  mpk domains: layout wall; signals stay the compartments' and system calls are checked per process, "
               "not per domain (weaker: this kernel cannot deliver signals onto memory under a protection key, "
               "which both walls need; Linux 6.12 can)\n",
               out);
  }
}

}  // namespace flex::runtime
