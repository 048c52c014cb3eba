#include "flex/transform/file_io.h"

#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>

namespace flex::transform {

llvm::Expected<write_status> write_file_atomically(const std::string &path, std::string_view content,
                                                   write_mode mode) {
  if (mode == write_mode::if_changed) {
    auto existing = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (existing && (*existing)->getBuffer() == llvm::StringRef(content)) return write_status::unchanged;
  }

  llvm::StringRef folder = llvm::sys::path::parent_path(path);
  if (!folder.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(folder))
      return llvm::createStringError(ec, "cannot create folder '%s': %s", folder.str().c_str(),
                                     ec.message().c_str());
  }

  int fd = -1;
  llvm::SmallString<256> temp;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%%%", fd, temp))
    return llvm::createStringError(ec, "cannot create a temporary file beside '%s': %s", path.c_str(),
                                   ec.message().c_str());
  {
    llvm::raw_fd_ostream out(fd, /*shouldClose=*/true);
    out << content;
    out.close();
    if (out.has_error()) {
      std::error_code ec = out.error();
      out.clear_error();
      llvm::sys::fs::remove(temp);
      return llvm::createStringError(ec, "cannot write '%s': %s", path.c_str(), ec.message().c_str());
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(temp, path)) {
    llvm::sys::fs::remove(temp);
    return llvm::createStringError(ec, "cannot replace '%s': %s", path.c_str(), ec.message().c_str());
  }
  return write_status::written;
}

}  // namespace flex::transform
