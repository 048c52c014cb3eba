// The snapshot files of the Redis server through the libOS's vfs: the server mounts its --dir (a host
// directory) with hostfs at boot, and the engine's SAVE and load reach it through vfs gates.
#pragma once

#include <memory>
#include <string>

#include "flex/redis/engine.h"

namespace flex::redis_server {

// Where --dir is mounted in the vfs namespace.
inline constexpr const char *kDataMount = "/data";

// Mounts `host_dir` (relative paths are the image's working directory) at kDataMount with hostfs.
// Returns 0, or a negative errno with `error` saying what failed.
int mount_data_dir(const std::string &host_dir, std::string &error);

// File operations over vfs for paths under `host_dir` (as the engine spells them: host_dir + "/" + name),
// which go to kDataMount; any other path is refused with -EACCES: only --dir is mounted.
std::shared_ptr<flex::redis::file_ops> vfs_file_ops(const std::string &host_dir);

}  // namespace flex::redis_server
