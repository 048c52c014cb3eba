// ramfs: a tree of nodes in ramfs's own heap (see ramfs.h). Every export checks its arguments again
// (handles, pointers, the shape of each path), since vfs reaches it through a gate.
#include <flex/ramfs/ramfs.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flex::ramfs {
namespace {

constexpr size_t kPathMax = 1024, kNameMax = 255;

struct node {
  bool dir = false;
  uint32_t perm = 0644;
  uint64_t ino = 0;
  bool linked = true;
  int64_t mtime_ns = 0, ctime_ns = 0;
  std::vector<char> data;                                  // files
  std::map<std::string, std::shared_ptr<node>> children;  // directories
};

struct handle {
  std::shared_ptr<node> n;
  int sb = -1;
  int flags = 0;
};

// ramfs's state, allocated on first use (so from ramfs's own heap, with ramfs's rights) and never freed:
// no constructor runs before the image boots and no destructor runs at exit, outside the compartment.
struct tables {
  std::shared_ptr<node> roots[RAMFS_MAX_MOUNTS];
  handle handles[RAMFS_MAX_HANDLES];
};
tables &state() {
  static tables *t = new tables();
  return *t;
}
uint64_t g_next_ino = 1;

int64_t now() {
  return plat_clock_ns(PLAT_CLOCK_REALTIME);
}

std::shared_ptr<node> make(bool dir, int perm) {
  auto n = std::make_shared<node>();
  n->dir = dir;
  n->perm = static_cast<uint32_t>(perm) & 07777;
  n->ino = g_next_ino++;
  n->mtime_ns = n->ctime_ns = now();
  return n;
}

node *root(int sb) {
  if (sb < 0 || sb >= RAMFS_MAX_MOUNTS) return nullptr;
  return state().roots[static_cast<size_t>(sb)].get();
}

handle *get(int h) {
  if (h < 0 || h >= RAMFS_MAX_HANDLES || !state().handles[static_cast<size_t>(h)].n) return nullptr;
  return &state().handles[static_cast<size_t>(h)];
}

// Splits a relative path into components; every one must be a plain name.
int split(const char *rel, std::vector<std::string_view> &out) {
  if (!rel) return -EFAULT;
  const void *nul = std::memchr(rel, '\0', kPathMax + 1);
  if (!nul) return -ENAMETOOLONG;
  std::string_view p(rel, static_cast<const char *>(nul) - rel);
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view c = p.substr(i, j - i);
    if (c.empty() || c == "." || c == "..") return -EINVAL;
    if (c.size() > kNameMax) return -ENAMETOOLONG;
    out.push_back(c);
    i = j + 1;
    if (j + 1 == p.size()) return -EINVAL;  // a trailing '/'
  }
  return 0;
}

// The node at rel (rel "" is the root).
int lookup(int sb, const char *rel, std::shared_ptr<node> &out) {
  if (!root(sb)) return -EINVAL;
  std::vector<std::string_view> parts;
  if (int rc = split(rel, parts); rc < 0) return rc;
  std::shared_ptr<node> n = state().roots[static_cast<size_t>(sb)];
  for (std::string_view c : parts) {
    if (!n->dir) return -ENOTDIR;
    auto it = n->children.find(std::string(c));
    if (it == n->children.end()) return -ENOENT;
    n = it->second;
  }
  out = n;
  return 0;
}

// The directory that holds rel's last component, and that component (rel must not be the root).
int lookup_parent(int sb, const char *rel, std::shared_ptr<node> &dir, std::string &leaf) {
  if (!root(sb)) return -EINVAL;
  std::vector<std::string_view> parts;
  if (int rc = split(rel, parts); rc < 0) return rc;
  if (parts.empty()) return -EBUSY;
  std::shared_ptr<node> n = state().roots[static_cast<size_t>(sb)];
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!n->dir) return -ENOTDIR;
    auto it = n->children.find(std::string(parts[i]));
    if (it == n->children.end()) return -ENOENT;
    n = it->second;
  }
  if (!n->dir) return -ENOTDIR;
  dir = n;
  leaf = std::string(parts.back());
  return 0;
}

void fill(int sb, const node &n, plat_stat *st) {
  std::memset(st, 0, sizeof *st);
  st->dev = 0x72610000u + static_cast<uint64_t>(sb);
  st->ino = n.ino;
  st->size = n.dir ? 0 : n.data.size();
  st->blocks = (st->size + 511) / 512;
  st->mode = (n.dir ? S_IFDIR : S_IFREG) | n.perm;
  st->nlink = n.dir ? 2 : (n.linked ? 1 : 0);
  st->atime_ns = st->mtime_ns = n.mtime_ns;
  st->ctime_ns = n.ctime_ns;
}

bool contains(const node &dir, const node *target) {
  for (const auto &[name, child] : dir.children) {
    if (child.get() == target || (child->dir && contains(*child, target))) return true;
  }
  return false;
}

int sb_of_handle_ok(int sb) {
  return root(sb) ? 0 : -EINVAL;
}

}  // namespace
}  // namespace flex::ramfs

using namespace flex::ramfs;

extern "C" {

int ramfs_mount(const char *source) {
  if (!source) return -EFAULT;
  for (size_t i = 0; i < RAMFS_MAX_MOUNTS; ++i) {
    if (state().roots[i]) continue;
    state().roots[i] = make(true, 0755);
    return static_cast<int>(i);
  }
  return -ENOSPC;
}

int ramfs_umount(int sb) {
  if (!root(sb)) return -EINVAL;
  for (const handle &h : state().handles) {
    if (h.n && h.sb == sb) return -EBUSY;
  }
  state().roots[static_cast<size_t>(sb)].reset();
  return 0;
}

int ramfs_open(int sb, const char *rel, int flags, int mode) {
  if (sb_of_handle_ok(sb) < 0) return -EINVAL;
  if ((flags & O_ACCMODE) == O_ACCMODE) return -EINVAL;
  std::shared_ptr<node> n;
  int rc = lookup(sb, rel, n);
  if (rc == -ENOENT && (flags & O_CREAT)) {
    std::shared_ptr<node> dir;
    std::string leaf;
    if (int prc = lookup_parent(sb, rel, dir, leaf); prc < 0) return prc;
    n = make(false, mode);
    dir->children.emplace(leaf, n);
    dir->mtime_ns = n->mtime_ns;
  } else if (rc < 0) {
    return rc;
  } else if ((flags & O_CREAT) && (flags & O_EXCL)) {
    return -EEXIST;
  }
  if ((flags & O_DIRECTORY) && !n->dir) return -ENOTDIR;
  if (n->dir && (flags & O_ACCMODE) != O_RDONLY) return -EISDIR;
  for (size_t i = 0; i < RAMFS_MAX_HANDLES; ++i) {
    if (state().handles[i].n) continue;
    if ((flags & O_TRUNC) && !n->dir && (flags & O_ACCMODE) != O_RDONLY) {
      n->data.clear();
      n->mtime_ns = now();
    }
    state().handles[i] = handle{n, sb, flags};
    return static_cast<int>(i);
  }
  return -ENFILE;
}

int ramfs_close(int h) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  *hd = handle{};
  return 0;
}

long ramfs_read(int h, void *buf, size_t len, int64_t off) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  if (hd->n->dir) return -EISDIR;
  if ((hd->flags & O_ACCMODE) == O_WRONLY) return -EBADF;
  if (!buf) return -EFAULT;
  if (off < 0 || len > static_cast<size_t>(RAMFS_FILE_MAX)) return -EINVAL;
  const std::vector<char> &d = hd->n->data;
  if (static_cast<uint64_t>(off) >= d.size()) return 0;
  size_t n = std::min(len, d.size() - static_cast<size_t>(off));
  std::memcpy(buf, d.data() + off, n);
  return static_cast<long>(n);
}

long ramfs_write(int h, const void *buf, size_t len, int64_t off) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  if (hd->n->dir) return -EISDIR;
  if ((hd->flags & O_ACCMODE) == O_RDONLY) return -EBADF;
  if (!buf) return -EFAULT;
  std::vector<char> &d = hd->n->data;
  size_t at = off < 0 ? d.size() : static_cast<size_t>(off);
  if (len > static_cast<size_t>(RAMFS_FILE_MAX) || at > static_cast<size_t>(RAMFS_FILE_MAX) - len) return -EFBIG;
  if (at + len > d.size()) d.resize(at + len);
  std::memcpy(d.data() + at, buf, len);
  hd->n->mtime_ns = now();
  return static_cast<long>(len);
}

int ramfs_stat(int sb, const char *rel, struct plat_stat *st) {
  if (!st) return -EFAULT;
  std::shared_ptr<node> n;
  if (int rc = lookup(sb, rel, n); rc < 0) return rc;
  fill(sb, *n, st);
  return 0;
}

int ramfs_fstat(int h, struct plat_stat *st) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  if (!st) return -EFAULT;
  fill(hd->sb, *hd->n, st);
  return 0;
}

int ramfs_truncate(int h, int64_t len) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  if (hd->n->dir) return -EISDIR;
  if ((hd->flags & O_ACCMODE) == O_RDONLY) return -EBADF;
  if (len < 0) return -EINVAL;
  if (len > RAMFS_FILE_MAX) return -EFBIG;
  hd->n->data.resize(static_cast<size_t>(len));
  hd->n->mtime_ns = now();
  return 0;
}

int ramfs_fsync(int h) {
  return get(h) ? 0 : -EBADF;  // nothing below memory to flush to
}

int ramfs_unlink(int sb, const char *rel) {
  std::shared_ptr<node> dir;
  std::string leaf;
  if (int rc = lookup_parent(sb, rel, dir, leaf); rc < 0) return rc;
  auto it = dir->children.find(leaf);
  if (it == dir->children.end()) return -ENOENT;
  if (it->second->dir) return -EISDIR;
  it->second->linked = false;
  dir->children.erase(it);
  dir->mtime_ns = now();
  return 0;
}

int ramfs_rename(int sb, const char *from, const char *to) {
  std::shared_ptr<node> fdir, tdir;
  std::string fleaf, tleaf;
  if (int rc = lookup_parent(sb, from, fdir, fleaf); rc < 0) return rc;
  if (int rc = lookup_parent(sb, to, tdir, tleaf); rc < 0) return rc;
  auto it = fdir->children.find(fleaf);
  if (it == fdir->children.end()) return -ENOENT;
  std::shared_ptr<node> moving = it->second;
  if (moving->dir && (tdir.get() == moving.get() || contains(*moving, tdir.get()))) return -EINVAL;
  auto existing = tdir->children.find(tleaf);
  if (existing != tdir->children.end()) {
    if (existing->second == moving) return 0;
    if (moving->dir && !existing->second->dir) return -ENOTDIR;
    if (!moving->dir && existing->second->dir) return -EISDIR;
    if (existing->second->dir && !existing->second->children.empty()) return -ENOTEMPTY;
    existing->second->linked = false;
  }
  fdir->children.erase(it);
  tdir->children[tleaf] = moving;
  fdir->mtime_ns = tdir->mtime_ns = moving->ctime_ns = now();
  return 0;
}

int ramfs_mkdir(int sb, const char *rel, int mode) {
  std::shared_ptr<node> dir;
  std::string leaf;
  if (int rc = lookup_parent(sb, rel, dir, leaf); rc < 0) return rc == -EBUSY ? -EEXIST : rc;
  if (dir->children.count(leaf)) return -EEXIST;
  dir->children.emplace(leaf, make(true, mode));
  dir->mtime_ns = now();
  return 0;
}

int ramfs_rmdir(int sb, const char *rel) {
  std::shared_ptr<node> dir;
  std::string leaf;
  if (int rc = lookup_parent(sb, rel, dir, leaf); rc < 0) return rc;
  auto it = dir->children.find(leaf);
  if (it == dir->children.end()) return -ENOENT;
  if (!it->second->dir) return -ENOTDIR;
  if (!it->second->children.empty()) return -ENOTEMPTY;
  dir->children.erase(it);
  dir->mtime_ns = now();
  return 0;
}

int ramfs_readdir(int h, uint64_t index, struct plat_dirent *ent) {
  handle *hd = get(h);
  if (!hd) return -EBADF;
  if (!hd->n->dir) return -ENOTDIR;
  if (!ent) return -EFAULT;
  const auto &children = hd->n->children;
  if (index >= children.size()) return 0;
  auto it = children.begin();
  std::advance(it, static_cast<long>(index));
  std::memset(ent, 0, sizeof *ent);
  ent->ino = it->second->ino;
  ent->type = it->second->dir ? DT_DIR : DT_REG;
  std::memcpy(ent->name, it->first.data(), std::min(it->first.size(), sizeof ent->name - 1));
  return 1;
}

}  // extern "C"
