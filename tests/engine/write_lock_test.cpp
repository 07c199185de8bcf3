// The write lock (issue 8): one write transaction at a time per file,
// across Engines in one process and across processes, through the flock
// on the companion file FILE-lock. A second writer gets Busy at once, or
// after Options::busy_timeout; a writer that dies lets go of it.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/inspect.h"
#include "child_util.h"
#include "test_util.h"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using klite::Engine;
using klite::ErrorCode;
using klite::Options;

Options quiet(std::chrono::milliseconds busy_timeout = {}) {
  Options o;
  o.durability = klite::Durability::Off;
  o.busy_timeout = busy_timeout;
  return o;
}

// A child process that opens `path`, begins a write transaction, appends
// "child" to stream s, and then holds the lock until go(); it then commits
// and exits 0 -- or is killed first.
klite::test::Child holder(const std::string& path) {
  return klite::test::Child([&](auto at_point) {
    Engine e = Engine::open(path, quiet());
    auto w = e.write();
    w.append("s", "child");
    if (!at_point())
      return 2;
    w.commit();
    return 0;
  });
}

template <class F> std::string busy_message(F&& f) {
  try {
    f();
  } catch (const klite::Error& e) {
    CHECK(e.code() == ErrorCode::Busy);
    return e.what();
  }
  FAIL("no Busy error");
  return {};
}

} // namespace

TEST_CASE("Write lock: a second Engine on the file gets Busy until the first commits") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  Engine a = Engine::open(path, quiet());
  Engine b = Engine::open(path, quiet());
  CHECK(std::filesystem::exists(path + "-lock"));
  {
    auto w = a.write();
    w.append("s", "from a");
    CHECK(busy_message([&] { b.write(); }) ==
          path + ": another open of the file holds the write lock");
    CHECK(busy_message([&] { b.append("s", "x"); }) ==
          path + ": another open of the file holds the write lock");
    // Within one Engine, the same rule as before: one write transaction.
    CHECK(busy_message([&] { a.write(); }) == path + ": a write transaction is already open");
    w.commit();
  }
  CHECK(b.append("s", "from b") == 2); // built on a's commit
  {
    auto w = b.write();
    w.abort(); // an aborted transaction lets go too
  }
  CHECK(a.append("s", "from a again") == 3);
  CHECK(a.read().get("s", 2)->value == "from b");
}

TEST_CASE("Write lock: a read-only open takes no write lock") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  { Engine::open(path, quiet()).append("s", "x"); }
  Options ro = quiet();
  ro.read_only = true;
  auto expect_read_only = [](Engine& e) {
    try {
      e.write();
      FAIL("a read-only engine began a write transaction");
    } catch (const klite::Error& err) {
      CHECK(err.code() == ErrorCode::ReadOnly);
    }
  };
  SUBCASE("it makes FILE-lock, for its reader slot") {
    std::filesystem::remove(path + "-lock");
    Engine r = Engine::open(path, ro);
    CHECK(r.read().info("s").records == 1);
    CHECK(std::filesystem::exists(path + "-lock"));
    expect_read_only(r);
    Engine w = Engine::open(path, quiet()); // and a writer is not kept out
    CHECK(w.append("s", "y") == 2);
  }
  SUBCASE("where FILE-lock cannot be made, it reads without a slot; a writer cannot open") {
    std::filesystem::remove(path + "-lock");
    std::filesystem::create_directory(path + "-lock"); // EISDIR, as root too
    Engine r = Engine::open(path, ro);
    CHECK(r.read().info("s").records == 1);
    expect_read_only(r);
    try {
      Engine::open(path, quiet());
      FAIL("a writable open without its lock file");
    } catch (const klite::Error& err) {
      CHECK(err.code() == ErrorCode::IO);
      CHECK(std::string(err.what()).find(path + "-lock: open: ") == 0);
    }
  }
}

TEST_CASE("Write lock: another process") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  Engine parent = Engine::open(path, quiet());
  parent.append("s", "parent");

  SUBCASE("Busy at once, then the lock once the holder commits") {
    auto child = holder(path);
    CHECK(busy_message([&] { parent.write(); }) ==
          path + ": another open of the file holds the write lock");
    child.go();
    REQUIRE(child.wait() == 0);
    CHECK(parent.append("s", "parent again") == 3);
    CHECK(parent.read().get("s", 2)->value == "child");
  }
  SUBCASE("Busy after the timeout") {
    auto child = holder(path);
    Engine waiting = Engine::open(path, quiet(std::chrono::milliseconds(30)));
    CHECK(busy_message([&] { waiting.write(); }) ==
          path + ": another open of the file holds the write lock (waited 30 ms)");
    child.go();
    REQUIRE(child.wait() == 0);
  }
  SUBCASE("with a timeout, the lock when the holder commits within it") {
    auto child = holder(path);
    Engine waiting = Engine::open(path, quiet(std::chrono::seconds(60)));
    // Released while write() waits: write() returns once the child has
    // committed, and builds on its commit.
    const pid_t releaser = ::fork();
    REQUIRE(releaser >= 0);
    if (releaser == 0) {
      ::usleep(100'000);
      child.go();
      ::_exit(0);
    }
    auto w = waiting.write();
    CHECK(w.append("s", "after the child") == 3);
    w.commit();
    REQUIRE(child.wait() == 0);
    REQUIRE(::waitpid(releaser, nullptr, 0) == releaser);
    CHECK(parent.read().get("s", 2)->value == "child");
  }
  SUBCASE("a holder that dies lets go, and its transaction is not in the file") {
    auto child = holder(path);
    child.kill();
    CHECK(parent.append("s", "after the kill") == 2);
    auto txn = parent.read();
    CHECK(txn.info("s").records == 2);
    CHECK(txn.get("s", 2)->value == "after the kill");
    CHECK(klite::inspect::check(klite::inspect::File(path)).clean());
  }
}
