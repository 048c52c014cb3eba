/* The image layout table: what flexbuild knows about an image, made available to the runtime at boot.
 *
 * flexbuild generates one C file per image that defines `flex_image` from the resolved profile, with
 * the start/end symbols of each compartment's page-aligned sections taken from the generated linker
 * script. The runtime reads it to tag memory, set up gates and answer `--describe`.
 *
 *   for (unsigned i = 0; i < flex_image.n_compartments; i++)
 *     printf("%s\n", flex_image.compartments[i].name);
 */
#ifndef FLEX_RUNTIME_LAYOUT_H
#define FLEX_RUNTIME_LAYOUT_H

#ifdef __cplusplus
extern "C" {
#endif

enum flex_isolation { FLEX_ISO_NONE = 0, FLEX_ISO_MPK = 1, FLEX_ISO_PROCESS = 2 };
enum flex_gate_kind { FLEX_GATE_CALL = 0, FLEX_GATE_MPK_LIGHT = 1, FLEX_GATE_MPK_FULL = 2, FLEX_GATE_PROCESS = 3 };

/* One page-aligned output section: [start, end). */
struct flex_section {
  const char *name;
  char *start;
  char *end;
};

enum { FLEX_SEC_RODATA = 0, FLEX_SEC_DATA = 1, FLEX_SEC_BSS = 2, FLEX_SEC_COUNT = 3 };

struct flex_compartment_layout {
  const char *name;
  int isolation;                  /* enum flex_isolation */
  int is_default;
  const char *hardening;          /* comma-separated, "" for none */
  const char *const *libraries;   /* NULL-terminated: libraries placed here */
  const char *const *replicated;  /* NULL-terminated: replicated libraries linked privately */
  unsigned long heap_mib;         /* 0: runtime default */
  struct flex_section sections[FLEX_SEC_COUNT];
  unsigned long long peers;       /* bit i: a gate links it with compartment i (either direction) */
  const int *syscalls;            /* its system-call set (DESIGN.md §8): numbers, ascending */
  unsigned n_syscalls;
  unsigned long long socket_families; /* bit f: socket(f, ...) allowed; 0: any family */
  /* An mpk domain's flex_sysdrop (mpk_gate.h): a system call with its rights; NULL for other compartments. */
  long (*sys_drop)(long, long, long, long, long, long, long);
  /* Its signal gate (mpk_gate.h, full gates): a handler it installs after boot is entered through it. */
  void (*sig_enter)(void);
};

/* What happens to a system call outside a compartment's set (the profile's `lockdown`). */
enum flex_lockdown { FLEX_LOCKDOWN_OFF = 0, FLEX_LOCKDOWN_LOG = 1, FLEX_LOCKDOWN_ENFORCE = 2 };

struct flex_boundary_layout {
  unsigned from; /* compartment indices */
  unsigned to;
  int mechanism; /* enum flex_isolation */
  int gate;      /* enum flex_gate_kind */
};

struct flex_image_layout {
  const char *name;    /* the profile's name */
  const char *app;     /* the app library */
  const char *profile; /* the profile file it was built from */
  const char *stack_sharing;
  const char *mpk_gate;
  unsigned n_compartments;
  const struct flex_compartment_layout *compartments;
  unsigned n_boundaries;
  const struct flex_boundary_layout *boundaries;
  struct flex_section shared_data;   /* .data_shared of every compartment */
  struct flex_section shared_rodata; /* .rodata_shared: literals that cross gates (read-only) */
  int lockdown;                      /* enum flex_lockdown */
  /* An image that runs an unmodified program (the profile's `binary:`, app "binary"): its path and the
   * profile's arguments for it (NULL-terminated); NULL otherwise. */
  const char *binary_path;
  const char *const *binary_args;
  /* The app's lib.yaml `hostfs_dir`: the command-line option naming the host directory it mounts with
   * hostfs (NULL: none) and the directory taken without it (NULL: none). */
  const char *hostfs_dir_option;
  const char *hostfs_dir_default;
};

extern const struct flex_image_layout flex_image;

/* Whether the program an image runs may fork: every compartment is `isolation: none`, so the image is one
 * process with one address space and nothing a copy of it would share with the original but what a Linux
 * fork shares (open files). A fork then copies the whole image, the libOS with the program, as Linux
 * copies a process. An image with an mpk domain or a compartment process has state a copy cannot own
 * (keys, gate channels, the supervisor's children), and its program's fork is answered ENOSYS. */
static inline int flex_image_forks(const struct flex_image_layout *img) {
  if (!img->binary_path) return 0;
  for (unsigned i = 0; i < img->n_compartments; i++) {
    if (img->compartments[i].isolation != FLEX_ISO_NONE) return 0;
  }
  return 1;
}

/* The app's `main`, renamed by flexbuild when it links the app's compartment. */
int flex_app_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_RUNTIME_LAYOUT_H */
