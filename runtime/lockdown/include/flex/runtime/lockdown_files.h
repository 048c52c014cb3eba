// hostfs's side of the lockdown (DESIGN.md §8): the process hosting hostfs is confined, from its lockdown
// on, to the host directories named at boot (the app's `hostfs_dir` option, such as Redis's --dir, and
// FLEX_MOUNTS: lockdown.h, hostfs_boot_dirs); each mount must lie beneath one of them.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// Called by hostfs once it holds `dirfd` (an O_PATH descriptor of the directory being mounted). In a
// process locked down with `lockdown: enforce` that hosts hostfs, returns 0 when the directory lies
// beneath one named at boot, -EACCES when it does not (Landlock refuses it: name it at boot, with the
// app's directory option or FLEX_MOUNTS), or another -errno. Elsewhere (lockdown off or log, no Landlock,
// not hosting hostfs, unit tests) it returns 0.
int flex_lockdown_files_beneath(int dirfd);

#ifdef __cplusplus
}
#endif
