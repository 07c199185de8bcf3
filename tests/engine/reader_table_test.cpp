// The shared reader table (issue 8; engine/readers.h): a read transaction
// in another process keeps the pages of its snapshot from reuse by this
// process's writer; when it ends, or its process dies, they are reused.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/inspect.h"
#include "engine/readers.h"
#include "test_util.h"

#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using klite::Engine;
using klite::ErrorCode;

klite::Options quiet() {
  klite::Options o;
  o.durability = klite::Durability::Off;
  return o;
}

constexpr int kRecords = 2000;

std::string value_of(std::uint64_t key) {
  return klite::test::payload(key, 300);
}

// A child process that opens `path`, begins a read transaction, tells the
// parent (a byte on a pipe), waits for a byte back, then reads stream s
// whole through that transaction and exits 0 if every record is what the
// parent wrote before the transaction began -- unless it is killed first.
class Reader {
public:
  explicit Reader(const std::string& path) {
    REQUIRE(::pipe(up_) == 0);
    REQUIRE(::pipe(down_) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int code = 3;
      try {
        Engine e = Engine::open(path, quiet());
        auto t = e.read();
        char c = 'r';
        if (::write(up_[1], &c, 1) != 1 || ::read(down_[0], &c, 1) != 1)
          ::_exit(2);
        auto cur = t.cursor("s"); // first read of s in this transaction
        std::uint64_t n = 0;
        bool same = true;
        for (bool ok = cur.first(); ok; ok = cur.next())
          same &= cur.record().key == ++n && cur.record().value == value_of(n);
        code = same && n == kRecords ? 0 : 1;
      } catch (...) {
        code = 4; // e.g. Corrupt: a page of the snapshot was reused
      }
      ::_exit(code);
    }
    char c = 0;
    REQUIRE(::read(up_[0], &c, 1) == 1); // its transaction has begun
  }
  ~Reader() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : {up_[0], up_[1], down_[0], down_[1]})
      ::close(fd);
  }
  // Lets it read; its exit code (0: its snapshot was intact).
  int finish() {
    char c = 'g';
    REQUIRE(::write(down_[1], &c, 1) == 1);
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
  }
  void kill() {
    REQUIRE(::kill(pid_, SIGKILL) == 0);
    REQUIRE(::waitpid(pid_, nullptr, 0) == pid_);
    pid_ = -1;
  }

private:
  pid_t pid_ = -1;
  int up_[2] = {-1, -1}, down_[2] = {-1, -1};
};

// Writes stream s, the one the readers check.
void fill(Engine& e) {
  auto w = e.write();
  for (std::uint64_t k = 1; k <= kRecords; ++k)
    w.append("s", value_of(k));
  w.commit();
}

// Drops s, then appends as many bytes again to t in many commits: with
// nothing to stop it, the writer reuses s's pages (and each commit's
// copied catalog and index pages) for t.
void churn(Engine& e) {
  e.drop_stream("s");
  for (int c = 0; c < 100; ++c) {
    auto w = e.write();
    for (int i = 0; i < kRecords / 100; ++i)
      w.append("t", klite::test::payload(static_cast<std::uint64_t>(c * 100 + i), 300));
    w.commit();
  }
}

std::uint32_t page_count(const std::string& path) {
  return klite::inspect::File(path).page_count();
}

} // namespace

TEST_CASE("Reader table: another process's read transaction keeps its snapshot") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, quiet());
  fill(e);
  const std::uint32_t before = page_count(path);
  {
    Reader reader(path);
    churn(e); // s's pages stay out of reach: the file grows instead
    CHECK(page_count(path) > before + before / 2);
    CHECK(reader.finish() == 0);
  }
  // The reader is gone: the next churn reuses what the first one could not.
  const std::uint32_t grown = page_count(path);
  fill(e);
  churn(e);
  CHECK(page_count(path) <= grown + grown / 10);
  CHECK(klite::inspect::check(klite::inspect::File(path)).clean());
}

TEST_CASE("Reader table: the slot of a reader process that died is freed, and its pages reused") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, quiet());
  fill(e);
  const std::uint32_t before = page_count(path);
  {
    Reader reader(path);
    reader.kill(); // holding a transaction on the first commits
  }
  churn(e); // reuses s's pages: the dead reader pins nothing
  CHECK(page_count(path) <= before + before / 10);
  CHECK(klite::inspect::check(klite::inspect::File(path)).clean());
}

TEST_CASE("Reader table: one slot per open; when all are taken, Busy") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  std::vector<std::unique_ptr<Engine>> opens;
  for (std::size_t i = 0; i < klite::ReaderTable::kSlots; ++i)
    opens.push_back(std::make_unique<Engine>(Engine::open(path, quiet())));
  try {
    Engine::open(path, quiet());
    FAIL("an open past the last reader slot");
  } catch (const klite::Error& err) {
    CHECK(err.code() == ErrorCode::Busy);
    CHECK(std::string(err.what()) ==
          path + "-lock: all 126 reader slots are taken by open files");
  }
  opens.pop_back(); // closing one frees its slot
  CHECK_NOTHROW(Engine::open(path, quiet()));
}
