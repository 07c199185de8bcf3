#include "shell/transfer.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace klite::shell {

namespace {

// Import reads the file this much at a time; a line longer than what is
// left of the buffer makes it grow, up to kMaxLineBuffer.
constexpr std::size_t kReadBufferSize = std::size_t{4} << 20;
// The longest line import ever holds: a value of kMaxValueSize, its "\r",
// and one byte more, which is how a line too long is told from one that
// fits (import_lines, "Reading").
constexpr std::size_t kMaxLineBuffer = kMaxValueSize + 2;
// Export gathers values into writes of this size.
constexpr std::size_t kWriteBufferSize = std::size_t{1} << 20;

std::string reason(int err) { return std::strerror(err); }

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// A file descriptor, closed on scope exit.
class Fd {
public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void own(int fd) {
    reset();
    fd_ = fd;
  }
  // Closes now; returns close()'s errno, or 0.
  int reset() {
    int err = 0;
    if (fd_ >= 0 && ::close(fd_) != 0)
      err = errno;
    fd_ = -1;
    return err;
  }

private:
  int fd_;
};

// --- import -----------------------------------------------------------------
//
// Reading: the buffer holds [begin, end) of unread bytes. Each "\n" in it
// ends a line, whose value is a view into the buffer; the views are handed
// to append_batch before the buffer's bytes move (the tail of an unfinished
// line is moved to the front before the next read). A line that does not
// fit makes the buffer grow; one with more than kMaxValueSize + 1 bytes and
// no "\n" yet is too long whatever comes next, so the buffer never grows past
// kMaxLineBuffer.
//
// Batches: the first write transaction is begun up front (it creates the
// stream), later ones when a batch gets its first line; each is committed
// when its batch is full (ImportOptions) or the file ends. An error aborts
// the open transaction, so the batch it happened in leaves no trace, and
// `done_` (updated only after a commit returns) says what is committed.

class Importer {
public:
  Importer(Engine& engine, const std::string& path, std::string_view stream,
           const ImportOptions& options)
      : engine_(engine), path_(path), stream_(stream), options_(options) {}

  ImportResult run() {
    Fd fd(open_file());
    fd_ = fd.get();
    try {
      // Creates the stream, or fails on its name, whatever the file holds.
      begin();
      txn_->append_batch(stream_, {});
      read_all();
      flush_views();
      if (txn_)
        commit_batch();
    } catch (const Error& e) {
      txn_.reset(); // aborts the batch the error happened in
      throw Error(e.code(), std::string(e.what()) + "; " + imported());
    }
    return done_;
  }

private:
  int open_file() {
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      throw Error(err == ENOENT ? ErrorCode::NotFound : ErrorCode::IO,
                  "cannot open " + path_ + ": " + reason(err) +
                      "; nothing was imported");
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); // a hint only
    return fd;
  }

  // What the committed batches hold, for error messages.
  std::string imported() const {
    if (done_.records == 0)
      return "nothing was imported";
    if (done_.records == 1)
      return "line 1 was imported into " + quoted(stream_) + " as key " +
             std::to_string(done_.first_key);
    return "lines 1.." + std::to_string(done_.records) +
           " were imported into " + quoted(stream_) + " as keys " +
           std::to_string(done_.first_key) + ".." +
           std::to_string(done_.last_key);
  }

  void begin() {
    try {
      txn_.emplace(engine_.write());
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Busy)
        throw;
      throw Error(ErrorCode::Busy, "cannot import into " + quoted(stream_) +
                                       ": " + e.what() +
                                       " (commit or roll it back first)");
    }
  }

  // Reads up to `size` bytes; 0 at the end of the file.
  std::size_t read_some(char* into, std::size_t size) {
    for (;;) {
      ssize_t n = ::read(fd_, into, size);
      if (n >= 0)
        return static_cast<std::size_t>(n);
      if (errno != EINTR) {
        int err = errno;
        throw Error(ErrorCode::IO,
                    "cannot read " + path_ +
                        (line_ == 0 ? std::string()
                                    : " after line " + std::to_string(line_)) +
                        ": " + reason(err));
      }
    }
  }

  void read_all() {
    std::size_t cap = kReadBufferSize;
    auto buf = std::make_unique_for_overwrite<char[]>(cap);
    std::size_t begin = 0, end = 0;
    for (;;) {
      while (const void* nl =
                 std::memchr(buf.get() + begin, '\n', end - begin)) {
        const char* start = buf.get() + begin;
        std::size_t len = static_cast<const char*>(nl) - start;
        begin += len + 1;
        ++line_;
        if (len > 0 && start[len - 1] == '\r')
          --len;
        add(std::string_view(start, len));
      }
      const std::size_t partial = end - begin;
      if (partial > kMaxValueSize + 1)
        too_long(buf.get(), cap, buf[end - 1], partial);
      flush_views(); // the views point into bytes about to move
      std::memmove(buf.get(), buf.get() + begin, partial);
      begin = 0;
      end = partial;
      if (end == cap) { // one unfinished line fills the buffer
        cap = std::min(cap * 2, kMaxLineBuffer);
        auto bigger = std::make_unique_for_overwrite<char[]>(cap);
        std::memcpy(bigger.get(), buf.get(), end);
        buf = std::move(bigger);
      }
      if (options_.stop != nullptr && options_.stop->load())
        throw Error(ErrorCode::Interrupted,
                    path_ + ": interrupted at line " + std::to_string(line_ + 1));
      std::size_t n = read_some(buf.get() + end, cap - end);
      if (n == 0) {
        if (end > 0) { // a last line without "\n"
          ++line_;
          add(std::string_view(buf.get(), end));
          flush_views();
        }
        return;
      }
      end += n;
    }
  }

  void add(std::string_view value) {
    if (value.size() > kMaxValueSize)
      throw_too_big(line_, value.size());
    views_.push_back(value);
    ++batch_lines_;
    batch_bytes_ += value.size();
    if (batch_lines_ >= options_.batch_lines ||
        batch_bytes_ >= options_.batch_bytes) {
      flush_views();
      commit_batch();
    }
  }

  // The unfinished line at the end of the buffer, `seen` bytes so far ending
  // in `last`, is too long: reads on to its end, for its exact size.
  [[noreturn]] void too_long(char* buf, std::size_t cap, char last,
                             std::size_t seen) {
    for (;;) {
      std::size_t n = read_some(buf, cap);
      if (n == 0)
        throw_too_big(line_ + 1, seen);
      if (const void* nl = std::memchr(buf, '\n', n)) {
        std::size_t len = static_cast<const char*>(nl) - buf;
        if (len > 0)
          last = buf[len - 1];
        throw_too_big(line_ + 1, seen + len - (last == '\r' ? 1 : 0));
      }
      seen += n;
      last = buf[n - 1];
    }
  }

  [[noreturn]] void throw_too_big(std::uint64_t line, std::size_t size) {
    throw Error(ErrorCode::TooBig,
                path_ + ": line " + std::to_string(line) + ": value of " +
                    std::to_string(size) + " bytes is over the " +
                    std::to_string(kMaxValueSize >> 20) + " MiB limit");
  }

  void flush_views() {
    if (views_.empty())
      return;
    if (!txn_)
      begin();
    std::uint64_t first = txn_->append_batch(stream_, views_);
    if (batch_first_key_ == 0)
      batch_first_key_ = first;
    views_.clear();
  }

  void commit_batch() {
    txn_->commit();
    txn_.reset();
    if (batch_lines_ > 0) {
      if (done_.records == 0)
        done_.first_key = batch_first_key_;
      done_.records += batch_lines_;
      done_.last_key = batch_first_key_ + batch_lines_ - 1;
    }
    batch_lines_ = batch_bytes_ = 0;
    batch_first_key_ = 0;
  }

  Engine& engine_;
  const std::string& path_;
  std::string_view stream_;
  ImportOptions options_;
  int fd_ = -1;
  std::uint64_t line_ = 0; // the number of the last line read whole
  std::optional<WriteTxn> txn_;
  std::vector<std::string_view> views_; // lines not yet appended
  std::uint64_t batch_lines_ = 0;
  std::uint64_t batch_bytes_ = 0;
  std::uint64_t batch_first_key_ = 0; // 0 until the batch's first append
  ImportResult done_;                 // what is committed
};

// --- export -----------------------------------------------------------------

// Writes bytes to `path` through a buffer: into a temporary file renamed
// over `path` by finish(), or straight into `path` if it exists and is not
// a regular file. A writer destroyed unfinished removes its temporary file.
class LineWriter {
public:
  explicit LineWriter(const std::string& path)
      : path_(path),
        buf_(std::make_unique_for_overwrite<char[]>(kWriteBufferSize)) {
    struct stat st {};
    const bool exists = ::stat(path.c_str(), &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
      fd_.own(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
      if (fd_.get() < 0)
        fail(errno);
      return;
    }
    namespace fs = std::filesystem;
    fs::path target = path;
    std::error_code ec;
    if (fs::is_symlink(target, ec)) {
      target = fs::canonical(target, ec);
      if (ec)
        fail(ec.value());
    }
    if (!target.has_filename())
      fail(EISDIR);
    target_ = target.string();
    const fs::path dir = target.parent_path();
    static std::atomic<unsigned> counter{0};
    for (;;) {
      temp_ =
          (dir / ("." + target.filename().string() + ".klite-export-" +
                  std::to_string(::getpid()) + "-" + std::to_string(counter++)))
              .string();
      fd_.own(
          ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
      if (fd_.get() >= 0)
        break;
      if (errno != EEXIST) {
        int err = errno;
        temp_.clear();
        fail(err);
      }
    }
    if (exists) // a replaced file keeps its permissions
      ::fchmod(fd_.get(), st.st_mode & 07777);
  }

  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;

  ~LineWriter() {
    fd_.reset();
    if (!temp_.empty())
      ::unlink(temp_.c_str());
  }

  bool direct() const { return target_.empty(); }

  void write(std::string_view bytes) {
    if (bytes.size() > kWriteBufferSize - used_) {
      flush();
      if (bytes.size() >= kWriteBufferSize) {
        write_all(bytes.data(), bytes.size());
        return;
      }
    }
    std::memcpy(buf_.get() + used_, bytes.data(), bytes.size());
    used_ += bytes.size();
  }

  void put(char c) {
    if (used_ == kWriteBufferSize)
      flush();
    buf_[used_++] = c;
  }

  // Writes what is buffered; a temporary file is synced, closed and renamed
  // over the target, then its directory synced (best effort: the file is in
  // place by then).
  void finish() {
    flush();
    if (direct())
      return;
    if (::fsync(fd_.get()) != 0)
      fail(errno);
    if (int err = fd_.reset())
      fail(err);
    if (::rename(temp_.c_str(), target_.c_str()) != 0)
      fail(errno);
    temp_.clear();
    const std::string dir =
        std::filesystem::path(target_).parent_path().string();
    Fd d(::open(dir.empty() ? "." : dir.c_str(),
                O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.get() >= 0)
      ::fsync(d.get());
  }

private:
  [[noreturn]] void fail(int err) {
    throw Error(ErrorCode::IO, "cannot write " + path_ + ": " + reason(err));
  }

  void flush() {
    write_all(buf_.get(), used_);
    used_ = 0;
  }

  void write_all(const char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd_.get(), p, n);
      if (w < 0) {
        if (errno == EINTR)
          continue;
        fail(errno);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }

  std::string path_;   // as the caller named it, for messages
  std::string target_; // the file renamed over; empty when direct
  std::string temp_;   // the temporary file while it exists
  Fd fd_;
  std::unique_ptr<char[]> buf_;
  std::size_t used_ = 0;
};

} // namespace

ImportResult import_lines(Engine& engine, const std::string& path,
                          std::string_view stream,
                          const ImportOptions& options) {
  return Importer(engine, path, stream, options).run();
}

std::uint64_t export_lines(Engine& engine, std::string_view stream,
                           const std::string& path) {
  ReadTxn txn = engine.read();
  Cursor cursor = txn.cursor(stream); // NoSuchStream before any file exists
  struct stat target {
  }, db{};
  if (::stat(path.c_str(), &target) == 0 &&
      ::stat(engine.path().c_str(), &db) == 0 && target.st_dev == db.st_dev &&
      target.st_ino == db.st_ino)
    throw Error(ErrorCode::InvalidArgument,
                "cannot export to " + path +
                    ": it is the database file itself");
  LineWriter out(path);
  std::uint64_t count = 0;
  for (bool ok = cursor.first(); ok; ok = cursor.next()) {
    const Record& r = cursor.record();
    const char* problem = nullptr;
    if (std::memchr(r.value.data(), '\n', r.value.size()))
      problem = "holds a newline byte, which one value per line cannot carry";
    else if (!r.value.empty() && r.value.back() == '\r')
      problem = "ends in a carriage return byte (\"\\r\"), which import "
                "would drop as part of a CRLF line end";
    if (problem)
      throw Error(ErrorCode::InvalidArgument,
                  "record " + std::to_string(r.key) + " of stream " +
                      quoted(stream) + " " + problem + "; " +
                      (out.direct() ? "the " + std::to_string(count) +
                                          " records before it were written "
                                          "to " +
                                          path
                                    : path + " was not written"));
    out.write(r.value);
    out.put('\n');
    ++count;
  }
  out.finish();
  return count;
}

} // namespace klite::shell
