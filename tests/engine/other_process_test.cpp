// Commits made through another open of the same file, in another process
// or in this one: a read transaction that begins later sees them, one that
// began earlier keeps its snapshot, and a writer builds on them. (The
// write lock is tested in write_lock_test.cpp; the reader table, when it
// exists, with them, in issue 8.) A writer also grows the file from its
// true size, never from the size it saw last.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "test_util.h"

#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace {

klite::Options quiet() {
  klite::Options o;
  o.durability = klite::Durability::Off;
  return o;
}

} // namespace

TEST_CASE("Other opens: a new read transaction sees commits made through another open") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  auto a = klite::Engine::open(path, quiet());
  a.append("s", "from a");
  auto b = klite::Engine::open(path, quiet());
  auto before = b.read();
  CHECK(before.info("s").records == 1);

  a.append("s", "from a again");
  a.create_stream("t");
  CHECK(before.info("s").records == 1); // a snapshot does not move
  CHECK_FALSE(before.has_stream("t"));
  {
    auto now = b.read();
    CHECK(now.info("s").records == 2);
    CHECK(now.has_stream("t"));
    CHECK(now.get("s", 2)->value == "from a again");
    CHECK(now.snapshot_id() > before.snapshot_id());
  }
  // b's writer starts from a's last commit, and a sees what b wrote.
  CHECK(b.append("s", "from b") == 3);
  CHECK(a.get("s", 3)->value == "from b");
  CHECK(a.append("s", "from a, third") == 4);
  CHECK(b.info("s").records == 4);
}

TEST_CASE("Other opens: appends of a child process are seen by the parent") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  auto parent = klite::Engine::open(path, quiet());
  parent.append("s", "parent");
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      auto child = klite::Engine::open(path, quiet());
      auto txn = child.write();
      for (int i = 0; i < 20'000; ++i) // grows the file by several pages
        txn.append("s", std::string(200, static_cast<char>('a' + i % 26)));
      txn.commit();
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto txn = parent.read();
  CHECK(txn.info("s").records == 20'001);
  auto c = txn.cursor("s");
  std::uint64_t n = 0;
  for (bool ok = c.seek(2); ok; ok = c.next(), ++n)
    CHECK(c.record().value == std::string(200, static_cast<char>('a' + n % 26)));
  CHECK(n == 20'000);
}

TEST_CASE("Other opens: a writer that has not seen the file grow keeps what the other open wrote there") {
  // A small Full commit writes zeros over the space it grows the file by;
  // an open that last saw the file small must not take the other's pages
  // for such space.
  klite::test::TempDir dir;
  const std::string path = dir.file();
  klite::Options durable;
  durable.durability = klite::Durability::Full;
  auto a = klite::Engine::open(path, durable);
  a.append("s", "from a");
  {
    auto b = klite::Engine::open(path, durable);
    auto txn = b.write();
    for (int i = 0; i < 20'000; ++i) // 4 MB: the file grows past a's view
      txn.append("s", std::string(200, static_cast<char>('a' + i % 26)));
    txn.commit();
  }
  CHECK(a.append("s", "from a again") == 20'002);
  auto reopened = klite::Engine::open(path, durable);
  auto txn = reopened.read();
  auto c = txn.cursor("s");
  std::uint64_t n = 0;
  for (bool ok = c.seek(2); ok && n < 20'000; ok = c.next(), ++n)
    CHECK(c.record().value == std::string(200, static_cast<char>('a' + n % 26)));
  CHECK(n == 20'000);
  CHECK(txn.get("s", 20'002)->value == "from a again");
}
