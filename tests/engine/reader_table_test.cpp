// The shared reader table (issue 8; engine/readers.h): a read transaction
// in another process keeps the pages of its snapshot from reuse by this
// process's writer; when it ends, or its process dies, they are reused.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/inspect.h"
#include "engine/readers.h"
#include "child_util.h"
#include "test_util.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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

// A child process that opens `path` and begins a read transaction, then
// at go() reads stream s whole through it: exit status 0 if every record
// is what the parent wrote before the transaction began, 1 if not, 4 on an
// error (e.g. Corrupt: a page of the snapshot was reused).
klite::test::Child reader(const std::string& path) {
  return klite::test::Child([&](auto at_point) {
    Engine e = Engine::open(path, quiet());
    auto t = e.read();
    if (!at_point())
      return 2;
    auto cur = t.cursor("s"); // first read of s in this transaction
    std::uint64_t n = 0;
    bool same = true;
    for (bool ok = cur.first(); ok; ok = cur.next())
      same &= cur.record().key == ++n && cur.record().value == value_of(n);
    return same && n == kRecords ? 0 : 1;
  });
}

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
    auto child = reader(path);
    churn(e); // s's pages stay out of reach: the file grows instead
    CHECK(page_count(path) > before + before / 2);
    child.go();
    CHECK(child.wait() == 0);
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
    auto child = reader(path);
    child.kill(); // holding a transaction on the first commits
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

TEST_CASE("Reader table: a FILE-lock that is not one is an IO error, and nothing is opened") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  { Engine::open(path, quiet()).append("s", "x"); }
  std::string lock = klite::test::read_file_bytes(path + "-lock");
  REQUIRE(lock.size() == klite::ReaderTable::kSize);
  lock.replace(0, 8, "notklite");
  klite::test::write_file_bytes(path + "-lock", lock);
  try {
    Engine::open(path, quiet());
    FAIL("opened with a foreign lock file");
  } catch (const klite::Error& err) {
    CHECK(err.code() == ErrorCode::IO);
    CHECK(std::string(err.what()) == path + "-lock: not a klite lock file");
  }
}

TEST_CASE("Reader table: an inspect::File keeps its snapshot while a writer churns") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, quiet());
  fill(e);
  const std::uint32_t before = page_count(path);
  {
    klite::inspect::File f(path); // what klite-inspect check opens
    churn(e);
    const klite::inspect::Report r = klite::inspect::check(f);
    CHECK(r.clean());
    REQUIRE(r.streams.size() == 1);
    CHECK(r.streams[0].records == kRecords); // s, as the File's snapshot has it
    CHECK(page_count(path) > before + 200);  // t went to new pages
  }
  // Once the File is gone, its pages are reused: dropping t and writing
  // as much again grows the file by little.
  const std::uint32_t grown = page_count(path);
  fill(e);
  churn(e);
  CHECK(page_count(path) < grown + 100);
}
