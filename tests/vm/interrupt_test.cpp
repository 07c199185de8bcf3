// Engine::interrupt(): which statements it stops, where, and what is left
// of the data afterwards (include/klite/engine.h, docs/QUERY.md
// "Interrupting").
#include "tests/vm/vm_test_util.h"

#include <atomic>
#include <thread>

using namespace klite;
using namespace klite::test;
using V = std::vector<std::uint64_t>;

namespace {

constexpr std::uint64_t kLong = 200'000; // records in the long stream

// `n` records "v1", "v2", ... in one transaction, quickly.
void fill_fast(Db& db, std::string_view stream, std::uint64_t n) {
  std::vector<std::string> values;
  values.reserve(n);
  for (std::uint64_t k = 1; k <= n; ++k)
    values.push_back("v" + std::to_string(k));
  std::vector<std::string_view> views(values.begin(), values.end());
  WriteTxn t = db->write();
  t.append_batch(stream, views);
  t.commit();
}

std::uint64_t committed(Engine& e, std::string_view stream) {
  ReadTxn t = e.read();
  return t.has_stream(stream) ? t.info(stream).records : 0;
}

// Checks that `e` is the interrupt error of a statement at line 1, col 1.
void check_interrupted(const std::optional<Error>& e) {
  REQUIRE(e.has_value());
  CHECK(e->code() == ErrorCode::Interrupted);
  CHECK(std::string(e->what()) == "line 1, col 1: interrupted");
  CHECK(e->line() == 1);
  CHECK(e->column() == 1);
}

} // namespace

TEST_CASE("Interrupt: the code's name") {
  CHECK(to_string(ErrorCode::Interrupted) == "Interrupted");
}

TEST_CASE("Interrupt: another thread stops a GET read row by row") {
  Db db;
  fill_fast(db, "s", kLong);
  const std::string before = read_file_bytes(db.dir.file());

  // The second statement must never run: the interrupt ends the script.
  Result r = db->exec("GET 200000 AFTER 0 FROM s; ADD 'never' TO s");
  std::atomic<bool> go{false}, sent{false};
  std::thread interrupter([&] {
    while (!go.load())
      std::this_thread::yield();
    db->interrupt();
    sent.store(true);
  });
  std::uint64_t seen = 0;
  while (seen < 1000 && r.next())
    CHECK(r.row()[0].as_integer() == ++seen);
  go.store(true);
  while (!sent.load()) // the interrupt lands between two rows
    std::this_thread::yield();
  auto e = catch_error([&] { r.next(); });
  interrupter.join();
  CHECK(seen == 1000);
  check_interrupted(e);
  CHECK(!r.next()); // the script is over

  // Nothing was written, and the engine works as before.
  CHECK(committed(*db, "s") == kLong);
  CHECK(read_file_bytes(db.dir.file()) == before);
  CHECK(keys(*db, "GET LAST 2 FROM s") == V{kLong - 1, kLong});
  CHECK(keys(*db, "ADD 'after' TO s") == V{kLong + 1});
}

TEST_CASE("Interrupt: a loop that yields no row stops inside the VM") {
  // GET n BEFORE k steps back n - 1 records (a Goto loop) before its first
  // row, all inside exec(); a thread interrupts over and over meanwhile.
  // Rarely the thread gets no time slice while the loop runs, so try again.
  Db db;
  fill_fast(db, "s", kLong);
  std::optional<Error> e;
  for (int attempt = 0; attempt < 20 && !e; ++attempt) {
    std::atomic<bool> stop{false};
    std::thread interrupter([&] {
      while (!stop.load())
        db->interrupt();
    });
    e = catch_error([&] { db->exec("GET 200000 BEFORE 200001 FROM s"); });
    stop.store(true);
    interrupter.join();
  }
  // The place is that of the instruction the loop was at when it noticed,
  // which depends on timing (under TSan it is often another one).
  REQUIRE(e.has_value());
  CHECK(e->code() == ErrorCode::Interrupted);
  CHECK(e->line() == 1);
  CHECK(std::string(e->what()) ==
        "line 1, col " + std::to_string(e->column()) + ": interrupted");
  CHECK(keys(*db, "GET 2 BEFORE 3 FROM s") == V{1, 2});
}

TEST_CASE("Interrupt: statements that start afterwards are not affected") {
  Db db;
  fill(db, "s", 5);
  db->interrupt();
  db->interrupt();
  CHECK(keys(*db, "GET FIRST 5 FROM s") == range(1, 5));

  Statement st = db->prepare("GET ? AFTER 0 FROM s");
  st.bind(1, std::uint64_t{3});
  db->interrupt(); // before the first step
  CHECK(rows(st).size() == 3);
  st.reset();
  db->interrupt(); // after a finished run, before the next
  CHECK(rows(st).size() == 3);

  // In a script, each statement starts when it is reached: an interrupt
  // after the first one finished does not stop the second.
  Result r = db->exec("GET 1 FROM s; GET 2, 3 FROM s");
  REQUIRE(r.next());
  CHECK(r.row()[0].as_integer() == 1);
  REQUIRE(r.next()); // the second statement starts here
  db->interrupt();
  auto e = catch_error([&] { r.next(); }); // ...and is running now
  REQUIRE(e.has_value());
  CHECK(e->code() == ErrorCode::Interrupted);
  CHECK(std::string(e->what()) == "line 1, col 15: interrupted");
}

TEST_CASE("Interrupt: exec's first row, already run ahead, is not returned") {
  Db db;
  fill(db, "s", 5);
  Result r = db->exec("GET FIRST 5 FROM s"); // ran up to row 1
  db->interrupt();
  check_interrupted(catch_error([&] { r.next(); }));
  CHECK(!r.next());
}

TEST_CASE("Interrupt: a prepared statement stops, then runs again") {
  Db db;
  fill(db, "s", 100);
  Statement st = db->prepare("GET ? AFTER 0 FROM s");
  st.bind(1, std::uint64_t{100});
  for (std::uint64_t k = 1; k <= 5; ++k) {
    REQUIRE(st.step());
    CHECK(st.row()[0].as_integer() == k);
  }
  db->interrupt();
  check_interrupted(catch_error([&] { st.step(); }));
  CHECK(!st.step()); // done until reset()
  // The statement released its read: a writer is not blocked by it, and
  // the engine can write.
  CHECK(keys(*db, "ADD 'x' TO s") == V{101});
  st.reset();
  CHECK(rows(st).size() == 100);
}

TEST_CASE("Interrupt: SHOW STREAMS stops between rows") {
  Db db;
  for (const char* s : {"a", "b", "c"})
    db->create_stream(s);
  Result r = db->exec("SHOW STREAMS");
  REQUIRE(r.next());
  db->interrupt();
  check_interrupted(catch_error([&] { r.next(); }));
}

TEST_CASE("Interrupt: a write is not interrupted once it has made its change") {
  Db db;
  SUBCASE("autocommit") {
    Result r = db->exec("ADD 'a', 'b', 'c' TO s; GET FIRST 9 FROM s");
    REQUIRE(r.next());
    CHECK(r.row()[0].as_integer() == 1);
    db->interrupt(); // the ADD has committed; it returns every key
    REQUIRE(r.next());
    CHECK(r.row()[0].as_integer() == 2);
    REQUIRE(r.next());
    CHECK(r.row()[0].as_integer() == 3);
    // The GET starts after the interrupt, so it runs.
    CHECK(r.drain() == 3);
    CHECK(committed(*db, "s") == 3);
  }
  SUBCASE("inside BEGIN") {
    db->exec("BEGIN");
    Result r = db->exec("ADD 'a', 'b', 'c' TO s");
    REQUIRE(r.next());
    db->interrupt();
    CHECK(r.drain() == 2);
    db->exec("COMMIT");
    CHECK(committed(*db, "s") == 3);
  }
}

TEST_CASE("Interrupt: inside BEGIN the transaction stays open") {
  Db db;
  fill(db, "s", 100);
  db->exec("BEGIN");
  CHECK(keys(*db, "ADD 'x', 'y' TO t") == V{1, 2});
  Result r = db->exec("GET FIRST 100 FROM s; ADD 'never' TO t");
  REQUIRE(r.next());
  REQUIRE(r.next());
  db->interrupt();
  auto e = catch_error([&] { r.next(); });
  // Not "(the open transaction was rolled back)": nothing failed half-way.
  check_interrupted(e);
  CHECK(!r.next()); // the script ended: 'never' was not added

  // The transaction is still open, with the ADD before the interrupt.
  KLITE_CHECK_ERROR(db->write(), ErrorCode::Busy);
  CHECK(keys(*db, "GET FIRST 10 FROM t") == V{1, 2});
  CHECK(committed(*db, "t") == 0);
  SUBCASE("COMMIT keeps what came before") {
    db->exec("COMMIT");
    CHECK(committed(*db, "t") == 2);
  }
  SUBCASE("ROLLBACK discards it") {
    db->exec("ROLLBACK");
    CHECK(committed(*db, "t") == 0);
  }
  CHECK(keys(*db, "GET 100 FROM s") == V{100});
}

TEST_CASE("Interrupt: a moved-from engine ignores it") {
  Db db;
  Engine moved = std::move(*db.engine);
  db.engine->interrupt(); // no effect, no crash
  CHECK(keys(moved, "ADD 'a' TO s") == V{1});
}
