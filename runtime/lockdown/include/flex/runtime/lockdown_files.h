// hostfs's side of the lockdown (DESIGN.md §8): the host directory a process may reach is chosen at run
// time (Redis's --dir), so the process hosting hostfs is confined to it when hostfs mounts it.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// Called by hostfs once it holds `dirfd` (an O_PATH descriptor of the directory being mounted). In a
// process locked down with `lockdown: enforce` that hosts hostfs, the first mount confines every file
// access of the process to beneath that directory (and its own /proc entries, read-only) with a Landlock
// layer; a later mount must then lie beneath the first. Returns 0, or:
//   -EACCES  the directory is outside the one the process is already confined to;
//   -EBUSY   the process runs other threads (Landlock would confine only the caller and its future
//            threads): mount before starting threads;
//   -errno   Landlock refused.
// Elsewhere (lockdown off or log, no Landlock, not hosting hostfs, unit tests) it does nothing.
int flex_lockdown_files_beneath(int dirfd);

#ifdef __cplusplus
}
#endif
