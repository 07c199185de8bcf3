// BEGIN / COMMIT / ROLLBACK across exec() calls and prepared statements, and
// the transaction each statement runs in.
#include "tests/vm/vm_test_util.h"

using namespace klite;
using namespace klite::test;
using V = std::vector<std::uint64_t>;

namespace {
// What a separate reader sees: a fresh read transaction.
std::uint64_t committed(Engine& e, std::string_view stream) {
  ReadTxn t = e.read();
  return t.has_stream(stream) ? t.info(stream).records : 0;
}
} // namespace

TEST_CASE("Exec: BEGIN ... COMMIT across exec calls is one transaction") {
  Db db;
  db->exec("BEGIN");
  CHECK(keys(*db, "ADD 'a' TO s") == V{1});
  CHECK(keys(*db, "ADD 'b', 'c' TO t") == V{1, 2});
  CHECK(committed(*db, "s") == 0); // not visible outside yet
  // Reads inside BEGIN run in its write transaction and see its writes.
  CHECK(keys(*db, "GET FIRST 5 FROM t") == V{1, 2});
  CHECK(rows(*db, "SHOW STREAMS").size() == 2);
  CHECK(rows(*db, "INFO t").front().rfind("'t'|2|2|1|2|", 0) == 0);
  // The session holds the write lock.
  KLITE_CHECK_ERROR(db->write(), ErrorCode::Busy);
  db->exec("COMMIT");
  CHECK(committed(*db, "s") == 1);
  CHECK(committed(*db, "t") == 2);
  // Afterwards statements commit on their own again.
  db->exec("ADD 'd' TO s");
  CHECK(committed(*db, "s") == 2);
}

TEST_CASE("Exec: ROLLBACK discards everything since BEGIN") {
  Db db;
  db->exec("ADD 'keep' TO s");
  db->exec("BEGIN; ADD 'x' TO s; CREATE STREAM t; DROP STREAM s").drain();
  CHECK(rows(*db, "SHOW STREAMS").size() == 1); // t only, inside
  db->exec("ROLLBACK");
  CHECK(committed(*db, "s") == 1);
  CHECK(!db->read().has_stream("t"));
  CHECK(keys(*db, "ADD 'next' TO s") == V{2}); // the key was not used
}

TEST_CASE("Exec: a script with BEGIN and COMMIT is atomic across streams") {
  Db db;
  CHECK(db->exec("BEGIN; ADD 'a' TO a; ADD 'b' TO b; COMMIT").drain() == 2);
  CHECK(committed(*db, "a") == 1);
  CHECK(committed(*db, "b") == 1);
  CHECK(db->exec("begin; add 'a' to a; add 'b' to b; rollback").drain() == 2);
  CHECK(committed(*db, "a") == 1);
}

TEST_CASE("Exec: transaction misuse") {
  Db db;
  CHECK(error_of([&] { db->exec("COMMIT"); }) ==
        "Misuse: line 1, col 1: no transaction is open");
  CHECK(error_of([&] { db->exec("ROLLBACK"); }) ==
        "Misuse: line 1, col 1: no transaction is open");
  db->exec("BEGIN");
  CHECK(error_of([&] { db->exec("  BEGIN"); }) ==
        "Misuse: line 1, col 3: a transaction is already open");
  // The first BEGIN is still open.
  db->exec("ADD 'a' TO s");
  CHECK(committed(*db, "s") == 0);
  db->exec("COMMIT");
  CHECK(committed(*db, "s") == 1);
}

TEST_CASE("Exec: BEGIN and autocommit writes are Busy while another writer "
          "is open") {
  Db db;
  {
    WriteTxn w = db->write();
    auto e = catch_error([&] { db->exec("BEGIN"); });
    REQUIRE(e);
    CHECK(e->code() == ErrorCode::Busy);
    CHECK(std::string(e->what()).rfind("line 1, col 1: ", 0) == 0);
    KLITE_CHECK_ERROR(db->exec("ADD 'a' TO s"), ErrorCode::Busy);
    KLITE_CHECK_ERROR(db->exec("CREATE STREAM s"), ErrorCode::Busy);
    // Reads do not need the writer.
    CHECK(rows(*db, "SHOW STREAMS").empty());
  }
  db->exec("BEGIN; COMMIT");
}

TEST_CASE("Exec: an error inside BEGIN leaves the transaction open") {
  Db db;
  db->exec("BEGIN; ADD 'a' TO s").drain();
  KLITE_CHECK_ERROR(db->exec("GET 1 FROM nope"), ErrorCode::NoSuchStream);
  KLITE_CHECK_ERROR(db->exec("CREATE STREAM s"), ErrorCode::StreamExists);
  KLITE_CHECK_ERROR(db->exec("ADD 'b' TO 'bad'"), ErrorCode::Syntax);
  db->exec("ADD 'c' TO s");
  db->exec("COMMIT");
  CHECK(keys(*db, "GET FIRST 10 FROM s") == V{1, 2});
}

TEST_CASE("Statement: prepared statements join an open BEGIN") {
  Db db;
  Statement add = db->prepare("ADD ? TO s");
  Statement get = db->prepare("GET LAST 10 FROM s");
  db->exec("BEGIN");
  for (const char* v : {"a", "b", "c"}) {
    add.bind(1, v);
    REQUIRE(add.step());
    add.reset();
  }
  CHECK(rows(get) == std::vector<std::string>{"1|1000000|'a'", "2|1000000|'b'",
                                              "3|1000000|'c'"});
  get.reset();
  CHECK(committed(*db, "s") == 0);
  db->exec("ROLLBACK");
  CHECK(!db->read().has_stream("s"));
  // After ROLLBACK the same statements run on their own.
  add.bind(1, "d");
  CHECK(rows(add) == std::vector<std::string>{"1"});
  CHECK(committed(*db, "s") == 1);
  // A prepared BEGIN, COMMIT and ROLLBACK work like exec's.
  Statement begin = db->prepare("BEGIN");
  Statement commit = db->prepare("COMMIT");
  CHECK(!begin.step());
  add.reset();
  add.bind(1, "e");
  CHECK(rows(add) == std::vector<std::string>{"2"});
  CHECK(committed(*db, "s") == 1);
  begin.reset();
  CHECK(error_of([&] { begin.step(); }) ==
        "Misuse: line 1, col 1: a transaction is already open");
  CHECK(!commit.step());
  CHECK(committed(*db, "s") == 2);
}

TEST_CASE("Statement: a read holds its snapshot until it is done or reset") {
  Db db;
  db->exec("ADD 'a', 'b' TO s");
  Statement get = db->prepare("GET 10 AFTER 0 FROM s");
  REQUIRE(get.step());
  CHECK(get.row()[0].as_integer() == 1);
  db->exec("ADD 'c' TO s"); // commits while the read is open
  REQUIRE(get.step());
  CHECK(get.row()[0].as_integer() == 2);
  CHECK(!get.step()); // key 3 is not in its snapshot
  get.reset();
  CHECK(rows(get).size() == 3);
}

TEST_CASE("Statement: a read inside BEGIN fails cleanly once COMMIT ends it") {
  Db db;
  db->exec("ADD 'a', 'b' TO s");
  db->exec("BEGIN");
  Statement get = db->prepare("GET FIRST 2 FROM s");
  REQUIRE(get.step());
  db->exec("COMMIT");
  auto e = catch_error([&] { get.step(); });
  REQUIRE(e);
  CHECK(e->code() == ErrorCode::Misuse);
  CHECK(std::string(e->what()).rfind("line 1, col 1: ", 0) == 0);
  CHECK(!get.step()); // done until reset
  get.reset();
  CHECK(rows(get).size() == 2);
}

TEST_CASE("Exec: closing the Engine rolls back an open BEGIN") {
  TempDir dir;
  {
    Engine e = Engine::open(dir.file(), fast_options());
    e.exec("ADD 'a' TO s");
    e.exec("BEGIN; ADD 'b' TO s").drain();
  }
  Engine e = Engine::open(dir.file(), fast_options());
  CHECK(e.info("s").records == 1);
  // The session's writer is gone with it: a new BEGIN is not Busy.
  e.exec("BEGIN; ADD 'c' TO s; COMMIT").drain();
  CHECK(e.info("s").records == 2);
}

TEST_CASE("Statement: statements may outlive their Engine handle") {
  TempDir dir;
  std::optional<Statement> add, begin;
  {
    Engine e = Engine::open(dir.file(), fast_options());
    add.emplace(e.prepare("ADD ? TO s"));
    begin.emplace(e.prepare("BEGIN"));
    e.exec("BEGIN");
    add->bind(1, "a");
    REQUIRE(add->step()); // in the BEGIN, rolled back when e closes
    add->reset();
  }
  add->bind(1, "b");
  CHECK(rows(*add) == std::vector<std::string>{"1"}); // on its own
  CHECK(error_of([&] { begin->step(); }) ==
        "Misuse: line 1, col 1: BEGIN after the Engine was closed");
  add.reset();
  begin.reset();
  Engine e = Engine::open(dir.file(), fast_options());
  CHECK(e.info("s").records == 1);
}
