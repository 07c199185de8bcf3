// The OS layer: the only code in klite that touches file descriptors,
// Boost.Interprocess or errno. Writes go through pwrite on a descriptor and
// reach the disk only at sync(); reads go through a read-only shared mapping
// of the same file (the page cache is unified, so a reader sees what was
// written as soon as pwrite returns). Every failure throws Error(IO) naming
// the path and the errno text.
#pragma once

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace boost::interprocess {
class file_mapping;
class mapped_region;
} // namespace boost::interprocess

namespace klite::os {

// The fault-injection seam (tests only; nothing sets it in production).
// Every write, sync, resize and map of a File asks the hook before the call,
// and reports writes and syncs that happened, so a test can fail the k-th
// call with an errno, or track what was written since the last sync to
// build the file a power loss would leave.
class FaultHook {
public:
  enum class Op { Write, Sync, Resize, Map }; // Resize: grow or shrink
  virtual ~FaultHook() = default;
  // 0 lets the call run; an errno fails it as the OS would (Error(IO)).
  // May also throw, to stop the caller at that point (a simulated crash).
  virtual int before(Op op, const std::string& path) = 0;
  // n bytes at off reached the file (the page cache, not the disk).
  virtual void wrote(const std::string& path, std::uint64_t off, std::size_t n) = 0;
  // A sync of the file (fdatasync), or of the directory `path`, returned.
  virtual void synced(const std::string& path) = 0;
};

// Installs `hook` for every File and Mapping in the process; nullptr
// removes it. Set it while no engine is open.
void set_fault_hook(FaultHook* hook) noexcept;

class File {
public:
  enum class Mode { ReadOnly, ReadWrite, Create };
  // Opens `path`; Create makes it if missing. Throws NotFound or IO.
  File(std::string path, Mode mode);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const noexcept { return path_; }
  std::uint64_t size() const;
  // Whether descriptor `fd` refers to this same file.
  bool same_file(int fd) const;
  // Reads exactly n bytes at off; returns false on a short read (EOF).
  bool read_at(std::uint64_t off, void* buf, std::size_t n) const;
  void write_at(std::uint64_t off, const void* buf, std::size_t n);
  // Writes the buffers back to back from `off` (one pwritev per 1024).
  struct Span {
    const void* data;
    std::size_t size;
  };
  void write_gather(std::uint64_t off, std::span<const Span> parts);
  // Makes the file's data and size durable (fdatasync).
  void sync();
  // Grows the file to `size` bytes with allocated (never sparse) blocks.
  void allocate(std::uint64_t size);
  // Writes n zero bytes from `off` (through write_gather, 1 MiB a call).
  void write_zeros(std::uint64_t off, std::uint64_t n);
  // Cuts the file to `size` bytes (ftruncate), giving the rest back.
  void truncate(std::uint64_t size);
  // Syncs the directory that holds the file, so a new file's name survives.
  void sync_directory();
  // An exclusive advisory lock on the whole file (flock, not fcntl: it
  // belongs to this open of the file, so two opens in one process exclude
  // each other, and closing another descriptor of the file in this process
  // does not drop it). The kernel drops it when its holder dies. Returns
  // false if another open holds it.
  bool try_lock();
  void unlock() noexcept;

private:
  // write_at without the fault hook: the rest of a short pwritev.
  void write_rest(std::uint64_t off, const void* buf, std::size_t n);

  std::string path_;
  int fd_ = -1;
};

// Creates `path` holding `bytes`, atomically: the bytes are written and
// synced under a temporary name, which is then renamed into place (unless
// `path` exists by then) and the directory synced. A crash never leaves a
// partial file under `path`. Returns false if `path` already existed.
bool create_file(const std::string& path, const void* bytes, std::size_t n);

// A read-only view of the first `size` bytes of a file. `size` may exceed
// the file's length (room to grow without remapping); touching bytes past
// the end of the file raises SIGBUS, so callers check page numbers first.
class Mapping {
public:
  // Maps `file` by its path; throws IO if the path no longer names the
  // file `file` has open (it was replaced underneath).
  Mapping(const File& file, std::size_t size);
  ~Mapping();
  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  // Best effort: fills the page tables of the 1 MiB piece of the mapping
  // that holds byte `off`, but not past byte `limit`, in one call rather
  // than a page fault every few pages as they are touched (Linux
  // MADV_POPULATE_READ). Each piece is filled once per mapping.
  // Never raises SIGBUS: the kernel reports a range past the end of the
  // file as an error, which is ignored. Thread-safe.
  void prefault(std::size_t off, std::size_t limit) const noexcept;

private:
  std::unique_ptr<boost::interprocess::file_mapping> file_;
  std::unique_ptr<boost::interprocess::mapped_region> region_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  // One bit per 1 MiB piece that prefault() has filled.
  std::unique_ptr<std::atomic<std::uint64_t>[]> filled_;
};

} // namespace klite::os
