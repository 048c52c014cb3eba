// Snapshot persistence.
//
// File layout (all integers little-endian):
//   "FLEXSNAP"  u32 version (1)  u32 database count
//   records:    0xFE varint db                      select the database for what follows
//               tag u8 (value_type) i64 expire_ms (-1: none) str key payload
//               0xFF                                end of data
//   u64 CRC-64/XZ of every byte before it
// str is a varint length and the bytes. Payloads: string: str; list and set: varint n, n str;
// hash: varint n, n (str field, str value); zset: varint n, n (str member, f64 score);
// stream: u64 last ms, u64 last seq, varint n, n (u64 ms, u64 seq, varint m, m str).
//
// Saving writes a temporary file beside the target, fsyncs it, renames it over the target and
// fsyncs the directory, so a crash or a failed write leaves the previous snapshot intact.
// Loading checks the whole file (size, magic, version, checksum, structure) before replacing
// anything in memory.
#include <cerrno>
#include <cstring>

#include "engine_impl.h"
#include "snapshot_format.h"

namespace flex::redis {

namespace {

constexpr char magic[8] = {'F', 'L', 'E', 'X', 'S', 'N', 'A', 'P'};
constexpr uint32_t version = 1;
constexpr uint8_t op_select = 0xFE, op_end = 0xFF;

class writer {
 public:
  void u8(uint8_t v) { s_.push_back(static_cast<char>(v)); }
  void fixed(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      u8(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    u8(static_cast<uint8_t>(v));
  }
  void str(std::string_view v) {
    varint(v.size());
    s_.append(v.data(), v.size());
  }
  void f64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    fixed(bits, 8);
  }
  std::string& data() { return s_; }

 private:
  std::string s_;
};

class reader {
 public:
  reader(std::string_view s) : s_(s) {}
  bool ok() const { return ok_; }
  size_t left() const { return s_.size() - pos_; }
  uint8_t u8() {
    if (left() < 1) return fail();
    return static_cast<uint8_t>(s_[pos_++]);
  }
  uint64_t fixed(int bytes) {
    if (left() < static_cast<size_t>(bytes)) return fail();
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= static_cast<uint64_t>(static_cast<uint8_t>(s_[pos_++])) << (8 * i);
    return v;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = u8();
      if (!ok_) return 0;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
  // A count of items that each take at least one byte: larger than what is left means corruption.
  uint64_t count() {
    uint64_t n = varint();
    if (n > left()) return fail();
    return n;
  }
  std::string str() {
    uint64_t n = varint();
    if (!ok_ || n > left()) {
      fail();
      return {};
    }
    std::string r(s_.substr(pos_, n));
    pos_ += n;
    return r;
  }
  double f64() {
    uint64_t bits = fixed(8);
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }

 private:
  uint8_t fail() {
    ok_ = false;
    return 0;
  }
  std::string_view s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void write_value(writer& w, const value& v) {
  switch (type_of(v)) {
    case value_type::string: w.str(std::get<std::string>(v)); break;
    case value_type::list: {
      const auto& l = std::get<list_value>(v);
      w.varint(l.size());
      for (const auto& s : l) w.str(s);
      break;
    }
    case value_type::hash: {
      const auto& h = std::get<hash_value>(v);
      w.varint(h.size());
      for (const auto& [k, val] : h) {
        w.str(k);
        w.str(val);
      }
      break;
    }
    case value_type::set: {
      const auto& s = std::get<set_value>(v);
      w.varint(s.size());
      for (const auto& m : s) w.str(m);
      break;
    }
    case value_type::zset: {
      const auto& z = std::get<zset>(v);
      w.varint(z.size());
      for (const zset::node* n = z.first(); n != nullptr; n = n->next()) {
        w.str(n->member);
        w.f64(n->score);
      }
      break;
    }
    case value_type::stream: {
      const auto& s = std::get<stream_value>(v);
      w.fixed(s.last_id.ms, 8);
      w.fixed(s.last_id.seq, 8);
      w.varint(s.items.size());
      for (const auto& it : s.items) {
        w.fixed(it.id.ms, 8);
        w.fixed(it.id.seq, 8);
        w.varint(it.fields.size());
        for (const auto& f : it.fields) w.str(f);
      }
      break;
    }
  }
}

bool read_value(reader& r, uint8_t tag, value& out) {
  switch (static_cast<value_type>(tag)) {
    case value_type::string: out = r.str(); break;
    case value_type::list: {
      list_value l;
      for (uint64_t n = r.count(); n > 0 && r.ok(); n--) l.push_back(r.str());
      out = std::move(l);
      break;
    }
    case value_type::hash: {
      hash_value h;
      for (uint64_t n = r.count(); n > 0 && r.ok(); n--) {
        std::string k = r.str();
        h[std::move(k)] = r.str();
      }
      out = std::move(h);
      break;
    }
    case value_type::set: {
      set_value s;
      for (uint64_t n = r.count(); n > 0 && r.ok(); n--) s.insert(r.str());
      out = std::move(s);
      break;
    }
    case value_type::zset: {
      zset z;
      for (uint64_t n = r.count(); n > 0 && r.ok(); n--) {
        std::string m = r.str();
        double sc = r.f64();
        if (sc != sc) return false;  // NaN is never a valid score
        z.set(m, sc);
      }
      out = std::move(z);
      break;
    }
    case value_type::stream: {
      stream_value s;
      s.last_id.ms = r.fixed(8);
      s.last_id.seq = r.fixed(8);
      for (uint64_t n = r.count(); n > 0 && r.ok(); n--) {
        stream_value::item it;
        it.id.ms = r.fixed(8);
        it.id.seq = r.fixed(8);
        for (uint64_t m = r.count(); m > 0 && r.ok(); m--) it.fields.push_back(r.str());
        s.items.push_back(std::move(it));
      }
      out = std::move(s);
      break;
    }
    default: return false;
  }
  return r.ok();
}

std::string errno_text(int neg) { return std::strerror(neg < 0 ? -neg : neg); }

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string encode_snapshot(const std::vector<database>& dbs, int64_t now_ms,
                            const std::function<void()>& after_key) {
  writer w;
  w.data().append(magic, sizeof magic);
  w.fixed(version, 4);
  w.fixed(dbs.size(), 4);
  for (size_t i = 0; i < dbs.size(); i++) {
    if (dbs[i].size() == 0) continue;
    w.u8(op_select);
    w.varint(i);
    dbs[i].for_each([&](const entry& e) {
      if (e.expire_ms >= 0 && e.expire_ms <= now_ms) return;  // expired keys are not saved
      w.u8(static_cast<uint8_t>(type_of(e.val)));
      w.fixed(static_cast<uint64_t>(e.expire_ms), 8);
      w.str(e.key);
      write_value(w, e.val);
      if (after_key) after_key();
    });
  }
  w.u8(op_end);
  w.fixed(crc64(w.data()), 8);
  return std::move(w.data());
}

std::string decode_snapshot(std::string_view data, int64_t now_ms, std::vector<database>& dbs) {
  constexpr size_t header = sizeof magic + 8;
  if (data.size() < header + 1 + 8) return "file is truncated (" + std::to_string(data.size()) + " bytes)";
  if (std::memcmp(data.data(), magic, sizeof magic) != 0) return "not a Flex snapshot (bad magic)";
  reader trailer(data.substr(data.size() - 8));
  uint64_t want = trailer.fixed(8);
  std::string_view body = data.substr(0, data.size() - 8);
  if (crc64(body) != want) return "checksum mismatch (file is corrupt or truncated)";
  reader r(body.substr(sizeof magic));
  uint32_t ver = static_cast<uint32_t>(r.fixed(4));
  if (ver != version) return "unsupported snapshot version " + std::to_string(ver);
  r.fixed(4);  // database count when saved; records name their database explicitly
  size_t db = 0;
  for (;;) {
    uint8_t tag = r.u8();
    if (!r.ok()) return "file ends without an end marker";
    if (tag == op_end) break;
    if (tag == op_select) {
      uint64_t n = r.varint();
      if (!r.ok() || n >= dbs.size()) return "database index " + std::to_string(n) + " out of range";
      db = n;
      continue;
    }
    if (tag > static_cast<uint8_t>(value_type::stream)) return "unknown record type " + std::to_string(tag);
    int64_t expire = static_cast<int64_t>(r.fixed(8));
    std::string key = r.str();
    value v;
    if (!r.ok() || !read_value(r, tag, v)) return "malformed record for key '" + key.substr(0, 64) + "'";
    if (expire >= 0 && expire <= now_ms) continue;
    if (dbs[db].find(key) != nullptr) return "duplicate key '" + key.substr(0, 64) + "'";
    entry* e = dbs[db].insert(std::move(key), std::move(v));
    if (expire >= 0) dbs[db].set_expire(e, expire);
  }
  if (r.left() != 0) return "trailing bytes after the end marker";
  return "";
}

std::function<void()> engine_impl::key_save_pause() {
  const int64_t delay = cfg.rdb_key_save_delay;
  if (delay == 0) return {};
  if (delay > 0) return [this, delay] { cfg.sleep(delay); };
  return [this, every = -delay, keys = int64_t{0}]() mutable {
    if (++keys % every == 0) cfg.sleep(1);
  };
}

std::string engine_impl::save(int64_t now_ms) {
  std::string path = snapshot_path();
  std::string tmp = path + ".tmp";
  file_ops& f = files();
  // The temporary file exists for the whole save, as Redis's does: a crash at any moment of it (which
  // rdb-key-save-delay can stretch) finds the temporary file beside the untouched snapshot.
  int h = f.open_write(tmp);
  if (h < 0) return "failed to create " + tmp + ": " + errno_text(h);
  std::string data;
  try {
    data = encode_snapshot(dbs, now_ms, key_save_pause());
  } catch (...) {
    f.close(h);
    f.unlink(tmp);
    throw;
  }
  size_t off = 0;
  int err = 0;
  while (off < data.size()) {
    int64_t n = f.write(h, data.data() + off, data.size() - off);
    if (n < 0) {
      err = static_cast<int>(n);
      break;
    }
    if (n == 0) {
      err = -EIO;
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (err == 0) err = f.fsync(h);
  int cerr = f.close(h);
  if (err == 0) err = cerr;
  if (err != 0) {
    f.unlink(tmp);
    return "failed to write " + tmp + ": " + errno_text(err);
  }
  if (int rc = f.rename(tmp, path); rc != 0) {
    f.unlink(tmp);
    return "failed to rename " + tmp + " to " + path + ": " + errno_text(rc);
  }
  if (int rc = f.fsync_dir(dir_of(path)); rc != 0) return "failed to sync the directory of " + path + ": " + errno_text(rc);
  dirty = 0;
  last_save_s = now_ms / 1000;
  return "";
}

std::string engine_impl::load() {
  std::string path = snapshot_path();
  std::string data;
  int rc = files().read_file(path, data);
  if (rc == -ENOENT) return "";
  if (rc < 0) return "failed to read " + path + ": " + errno_text(rc);
  std::vector<database> fresh(dbs.size());
  std::string err = decode_snapshot(data, clock(), fresh);
  if (!err.empty()) return "refusing to load " + path + ": " + err;
  dbs = std::move(fresh);
  return "";
}

}  // namespace flex::redis
