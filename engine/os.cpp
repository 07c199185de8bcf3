#include "engine/os.h"

#include "engine/errors.h"

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <climits>
#include <algorithm>
#include <array>
#include <unistd.h>

namespace klite::os {

namespace bip = boost::interprocess;

namespace {

std::atomic<FaultHook*> g_hook{nullptr};

// Asks the hook (if any) about `op`; throws Error(IO) with the injected
// errno as the failing system call `what` would.
void check_fault(FaultHook::Op op, const std::string& path, const char* what) {
  if (FaultHook* hook = g_hook.load(std::memory_order_relaxed))
    if (int err = hook->before(op, path); err != 0)
      throw_io(path, what, err);
}

void report_write(const std::string& path, std::uint64_t off, std::size_t n) {
  if (FaultHook* hook = g_hook.load(std::memory_order_relaxed))
    hook->wrote(path, off, n);
}

void report_sync(const std::string& path) {
  if (FaultHook* hook = g_hook.load(std::memory_order_relaxed))
    hook->synced(path);
}

} // namespace

void set_fault_hook(FaultHook* hook) noexcept { g_hook.store(hook); }

File::File(std::string path, Mode mode) : path_(std::move(path)) {
  int flags = O_CLOEXEC;
  switch (mode) {
  case Mode::ReadOnly: flags |= O_RDONLY; break;
  case Mode::ReadWrite: flags |= O_RDWR; break;
  case Mode::Create: flags |= O_RDWR | O_CREAT; break;
  }
  do {
    fd_ = ::open(path_.c_str(), flags, 0644);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) {
    if (errno == ENOENT)
      throw Error(ErrorCode::NotFound, "no such file: " + path_);
    throw_io(path_, "open", errno);
  }
}

bool File::try_lock() {
  int r;
  do {
    r = ::flock(fd_, LOCK_EX | LOCK_NB);
  } while (r != 0 && errno == EINTR);
  if (r == 0)
    return true;
  if (errno == EWOULDBLOCK)
    return false;
  throw_io(path_, "lock", errno);
}

void File::unlock() noexcept { ::flock(fd_, LOCK_UN); }

File::~File() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::uint64_t File::size() const {
  // lseek to the end rather than fstat: every snapshot asks (the truncation
  // check), and here fstat costs ~460 ns where lseek costs ~180 ns, about
  // a bare system call, since it fills no stat buffer. The file position
  // it moves is unused: all I/O is pread/pwrite.
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  if (end < 0)
    throw_io(path_, "lseek", errno);
  return static_cast<std::uint64_t>(end);
}

bool File::read_at(std::uint64_t off, void* buf, std::size_t n) const {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      throw_io(path_, "read", errno);
    }
    if (r == 0)
      return false;
    p += r;
    off += static_cast<std::uint64_t>(r);
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

void File::write_at(std::uint64_t off, const void* buf, std::size_t n) {
  check_fault(FaultHook::Op::Write, path_, "write");
  report_write(path_, off, n); // reported first: a partial write counts
  write_rest(off, buf, n);
}

void File::write_rest(std::uint64_t off, const void* buf, std::size_t n) {
  auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t r = ::pwrite(fd_, p, n, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      throw_io(path_, "write", errno);
    }
    p += r;
    off += static_cast<std::uint64_t>(r);
    n -= static_cast<std::size_t>(r);
  }
}

void File::write_gather(std::uint64_t off, std::span<const Span> parts) {
  check_fault(FaultHook::Op::Write, path_, "write");
  std::size_t total = 0;
  for (const Span& s : parts)
    total += s.size;
  report_write(path_, off, total); // reported first: a partial write counts
  std::vector<iovec> iov;
  iov.reserve(std::min<std::size_t>(parts.size(), IOV_MAX));
  for (std::size_t i = 0; i < parts.size();) {
    iov.clear();
    std::size_t bytes = 0;
    for (; i < parts.size() && iov.size() < IOV_MAX; ++i) {
      iov.push_back(iovec{const_cast<void*>(parts[i].data), parts[i].size});
      bytes += parts[i].size;
    }
    // pwritev may write less than asked: finish the rest piece by piece.
    ssize_t r;
    do {
      r = ::pwritev(fd_, iov.data(), static_cast<int>(iov.size()),
                    static_cast<off_t>(off));
    } while (r < 0 && errno == EINTR);
    if (r < 0)
      throw_io(path_, "write", errno);
    std::size_t done = static_cast<std::size_t>(r);
    std::uint64_t at = off;
    for (const iovec& v : iov) {
      if (done >= v.iov_len) {
        done -= v.iov_len;
      } else {
        write_rest(at + done, static_cast<const char*>(v.iov_base) + done,
                   v.iov_len - done);
        done = 0;
      }
      at += v.iov_len;
    }
    off += bytes;
  }
}

void File::sync() {
  check_fault(FaultHook::Op::Sync, path_, "fdatasync");
  if (::fdatasync(fd_) != 0)
    throw_io(path_, "fdatasync", errno);
  report_sync(path_);
}

void File::allocate(std::uint64_t size) {
  check_fault(FaultHook::Op::Resize, path_, "allocate");
  // posix_fallocate returns the error instead of setting errno.
  int err = ::posix_fallocate(fd_, 0, static_cast<off_t>(size));
  if (err != 0)
    throw_io(path_, "allocate", err);
}

void File::write_zeros(std::uint64_t off, std::uint64_t n) {
  // Not const: a const array of zeros is stored in .rodata, in every
  // binary; this one is in .bss, and reading it maps only the zero page.
  // Small and repeated, since each of its pages costs a page fault on a
  // process's first growth: a 1 MiB array took ~5 ms there, 64 KiB ~1 ms.
  static std::array<char, std::size_t{64} << 10> zeros;
  std::array<Span, 16> parts; // 1 MiB per write
  for (const std::uint64_t end = off + n; off < end;) {
    std::size_t count = 0;
    std::uint64_t bytes = 0;
    for (; count < parts.size() && off + bytes < end; ++count) {
      const std::size_t piece = static_cast<std::size_t>(
          std::min<std::uint64_t>(end - off - bytes, zeros.size()));
      parts[count] = {zeros.data(), piece};
      bytes += piece;
    }
    write_gather(off, std::span<const Span>(parts.data(), count));
    off += bytes;
  }
}

void File::truncate(std::uint64_t size) {
  check_fault(FaultHook::Op::Resize, path_, "truncate");
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
    throw_io(path_, "truncate", errno);
}

void File::sync_directory() {
  std::string dir = std::filesystem::path(path_).parent_path().string();
  check_fault(FaultHook::Op::Sync, dir, "fsync directory");
  int dfd = ::open(dir.empty() ? "." : dir.c_str(),
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    throw_io(dir, "open directory", errno);
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0)
    throw_io(dir, "fsync directory", err);
  report_sync(dir);
}

bool create_file(const std::string& path, const void* bytes, std::size_t n) {
  std::string tmp = path + ".klite-new-" + std::to_string(::getpid());
  try {
    File f(tmp, File::Mode::Create);
    f.allocate(n);
    f.write_at(0, bytes, n);
    f.sync();
    // RENAME_NOREPLACE: if another process created `path` meanwhile, its
    // file wins and ours is discarded.
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(),
                    RENAME_NOREPLACE) != 0) {
      int err = errno;
      if (err != EEXIST)
        throw_io(path, "rename", err);
      ::unlink(tmp.c_str());
      return false;
    }
    f.sync_directory();
    return true;
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

bool File::same_file(int fd) const {
  struct stat a, b;
  if (::fstat(fd_, &a) != 0 || ::fstat(fd, &b) != 0)
    throw_io(path_, "fstat", errno);
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

Mapping::Mapping(const File& file, std::size_t size) : size_(size) {
  const std::string& path = file.path();
  check_fault(FaultHook::Op::Map, path, "map");
  try {
    file_ = std::make_unique<bip::file_mapping>(path.c_str(), bip::read_only);
    if (!file.same_file(file_->get_mapping_handle().handle))
      throw Error(ErrorCode::IO, path + ": the file was replaced while open");
    region_ = std::make_unique<bip::mapped_region>(*file_, bip::read_only, 0,
                                                   size);
  } catch (const bip::interprocess_exception& e) {
    throw Error(ErrorCode::IO, path + ": map: " + e.what());
  }
  data_ = static_cast<const std::uint8_t*>(region_->get_address());
  // The mapping starts page-aligned, so pieces are too.
  filled_ = std::make_unique<std::atomic<std::uint64_t>[]>(
      (size_ >> 20) / 64 + 1);
}

void Mapping::prefault(std::size_t off, std::size_t limit) const noexcept {
#ifdef MADV_POPULATE_READ
  constexpr unsigned kShift = 20;
  limit = std::min(limit, size_);
  if (off >= limit || !filled_)
    return;
  const std::size_t piece = off >> kShift;
  std::atomic<std::uint64_t>& word = filled_[piece / 64];
  const std::uint64_t bit = std::uint64_t{1} << (piece % 64);
  if (word.load(std::memory_order_relaxed) & bit)
    return;
  const std::size_t start = piece << kShift;
  const std::size_t end = std::min(start + (std::size_t{1} << kShift), limit);
  // Errors (an old kernel, a range past the end of the file) just mean
  // the pages fault in one by one as before.
  (void)::madvise(const_cast<std::uint8_t*>(data_) + start, end - start,
                  MADV_POPULATE_READ);
  // Not again, even if `limit` cut it short: pages added later at the end
  // of the file just fault in as they are touched.
  word.fetch_or(bit, std::memory_order_relaxed);
#else
  (void)off;
  (void)limit;
#endif
}

Mapping::~Mapping() = default;

} // namespace klite::os
