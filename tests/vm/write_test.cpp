// ADD, CREATE, DROP, SHOW STREAMS, INFO, and how Engine::exec runs scripts:
// lazily, statement after statement, each in its own transaction unless a
// BEGIN is open. Retention and EXPIRE: tests/vm/retention_test.cpp.
#include "tests/vm/vm_test_util.h"

using namespace klite;
using namespace klite::test;
using V = std::vector<std::uint64_t>;
using S = std::vector<std::string>;

TEST_CASE("Exec: ADD returns one key per record, all in one commit") {
  Db db;
  CHECK(keys(*db, "ADD 'a' TO s") == V{1});
  CHECK(keys(*db, "ADD \"b\", 'c', x'00ff' TO s") == V{2, 3, 4});
  CHECK(keys(*db, "ADD '' TO s") == V{5});
  auto r = db->get("s", 4);
  REQUIRE(r);
  CHECK(r->value == std::string("\0\xff", 2));
  CHECK(db->get("s", 5)->value.empty());
  CHECK(db->info("s").records == 5);

  Result add = db->exec("ADD 'x' TO s");
  REQUIRE(add.next());
  CHECK(add.row().columns() == S{"key"});
  CHECK(add.row()["key"].as_integer() == 6);
  CHECK(!add.next());
}

TEST_CASE("Exec: ADD commits before its first row") {
  Db db;
  {
    Result r = db->exec("ADD 'a', 'b', 'c' TO s");
    // Nothing consumed: the records are committed all the same, so a second
    // engine handle (another reader) sees them.
    CHECK(db->read().info("s").records == 3);
  }
  CHECK(db->info("s").records == 3);
  // The rows come after: reading one and dropping the Result undoes nothing.
  {
    Result r = db->exec("ADD 'd', 'e' TO s");
    REQUIRE(r.next());
    CHECK(r.row()[0].as_integer() == 4);
  }
  CHECK(db->info("s").records == 5);
}

TEST_CASE(
    "Exec: ADD to a missing stream creates it unless auto-create is off") {
  Db db;
  CHECK(keys(*db, "ADD 'a' TO fresh") == V{1});
  CHECK(db->info("fresh").records == 1);

  Options o = fast_options();
  o.auto_create_streams = false;
  Db strict(o);
  CHECK(error_of([&] { strict->exec("ADD 'a' TO fresh"); }) ==
        "NoSuchStream: line 1, col 12: no such stream: fresh (auto-create is "
        "off)");
  CHECK(strict->streams().empty());
  strict->exec("CREATE STREAM fresh");
  CHECK(keys(*strict, "ADD 'a' TO fresh") == V{1});
}

TEST_CASE("Exec: ADD of a value over the limit is TooBig and adds nothing") {
  Db db;
  db->exec("ADD 'a' TO s");
  std::string big(kMaxValueSize + 1, 'x');
  Statement st = db->prepare("ADD 'b', ? TO s");
  st.bind(1, big);
  auto e = catch_error([&] { st.step(); });
  REQUIRE(e);
  CHECK(e->code() == ErrorCode::TooBig);
  CAPTURE(std::string(e->what()));
  CHECK(std::string(e->what()).rfind("line 1, col 15: value of ", 0) == 0);
  CHECK(db->info("s").records == 1); // all or nothing
}

TEST_CASE("Exec: CREATE STREAM and DROP STREAM") {
  Db db;
  CHECK(rows(*db, "CREATE STREAM a").empty());
  CHECK(db->info("a").records == 0);
  CHECK(error_of([&] { db->exec("CREATE STREAM a"); }) ==
        "StreamExists: line 1, col 15: stream already exists: a");
  db->exec("ADD 'x', 'y' TO a");
  CHECK(rows(*db, "DROP STREAM a").empty());
  CHECK(db->streams().empty());
  CHECK(error_of([&] { db->exec("DROP STREAM a"); }) ==
        "NoSuchStream: line 1, col 13: no such stream: a");
  CHECK(error_of([&] { db->exec("INFO a"); }) ==
        "NoSuchStream: line 1, col 6: no such stream: a");
}

TEST_CASE("Exec: SHOW STREAMS and INFO") {
  Db db;
  CHECK(rows(*db, "SHOW STREAMS").empty());
  db.clock.set(5);
  db->exec("CREATE STREAM empty");
  db.clock.set(100);
  db->exec("ADD 'abc', 'de' TO b.s");
  db.clock.set(200);
  db->exec("ADD 'f' TO b.s");
  const S want{"'b.s'|3|6|1|3|100|200|100|0|0|0",
               "'empty'|0|0|NULL|NULL|NULL|NULL|5|0|0|0"};
  CHECK(rows(*db, "SHOW STREAMS") == want);
  CHECK(rows(*db, "INFO empty") == S{want[1]});
  CHECK(rows(*db, "INFO b.s") == S{want[0]});

  Result r = db->exec("INFO b.s");
  REQUIRE(r.next());
  CHECK(r.row().columns() == S{"name", "records", "bytes", "first_key",
                               "last_key", "first_timestamp", "last_timestamp",
                               "created", "max_age", "max_bytes",
                               "max_records"});
  CHECK(r.row()["last_key"].as_integer() == 3);
  CHECK(r.row()["name"].as_bytes() == "b.s");
}

TEST_CASE("Exec: a script runs its statements in turn as rows are consumed") {
  Db db;
  Result r = db->exec("ADD 'a' TO s; CREATE STREAM t; GET 1 FROM s; "
                      "ADD 'b' TO t; GET FIRST 5 FROM t");
  // exec ran up to the first row.
  CHECK(db->info("s").records == 1);
  CHECK(!db->read().has_stream("t"));
  REQUIRE(r.next());
  CHECK(show(r.row()) == "1");
  REQUIRE(r.next()); // CREATE ran (no rows), then GET 1 FROM s
  CHECK(db->read().has_stream("t"));
  CHECK(r.row()[2].as_bytes() == "a");
  REQUIRE(r.next());
  CHECK(show(r.row()) == "1"); // ADD 'b' TO t
  REQUIRE(r.next());
  CHECK(r.row()[2].as_bytes() == "b");
  CHECK(!r.next());
  CHECK(!r.next());

  // Statements without rows run at once.
  db->exec("CREATE STREAM u; CREATE STREAM v");
  CHECK(db->streams().size() == 4);
  // drain() runs the rest.
  CHECK(db->exec("ADD 'a', 'b' TO u; ADD 'c' TO v; GET 1, 2 FROM u").drain() ==
        5);
  // A Result dropped early leaves the rest of its script unrun.
  { Result dropped = db->exec("ADD 'x' TO w; ADD 'y' TO w"); }
  CHECK(db->info("w").records == 1);
}

TEST_CASE("Exec: an error stops the script where it happens") {
  Db db;
  Result r = db->exec("ADD 'a' TO s; GET 1 FROM nope; ADD 'b' TO s");
  REQUIRE(r.next());
  CHECK(error_of([&] { r.next(); }) ==
        "NoSuchStream: line 1, col 26: no such stream: nope");
  CHECK(!r.next());
  CHECK(db->info("s").records == 1);

  // A compile error anywhere in the script stops it before it starts.
  CHECK(error_of([&] { db->exec("ADD 'c' TO s; GET 0 FROM s"); }) ==
        "InvalidArgument: line 1, col 19: key 0 is not a valid key; keys "
        "start at 1");
  CHECK(db->info("s").records == 1);
  // So does a syntax error.
  KLITE_CHECK_ERROR(db->exec("ADD 'c' TO s; GET 1 FORM s"), ErrorCode::Syntax);
  CHECK(db->info("s").records == 1);
}

TEST_CASE("Exec: parameters need prepare") {
  Db db;
  CHECK(error_of([&] { db->exec("GET ? FROM s"); }) ==
        "InvalidArgument: line 1, col 5: exec() cannot bind parameters; use "
        "prepare()");
  CHECK(error_of([&] { db->exec("ADD 'a' TO s; ADD :v TO s"); }) ==
        "InvalidArgument: line 1, col 19: exec() cannot bind parameters; use "
        "prepare()");
  CHECK(!db->read().has_stream("s"));
  // EXPLAIN does not run its statement, so it needs no values.
  CHECK(!rows(*db, "EXPLAIN GET ? FROM s").empty());
}

TEST_CASE("Exec: writes on a read-only engine are ReadOnly, with the place") {
  TempDir dir;
  {
    Engine e = Engine::open(dir.file(), fast_options());
    e.exec("ADD 'a' TO s");
  }
  Options o = fast_options();
  o.read_only = true;
  Engine e = Engine::open(dir.file(), o);
  CHECK(keys(e, "GET 1 FROM s") == V{1});
  CHECK(rows(e, "SHOW STREAMS").size() == 1);
  for (const char* q : {"ADD 'b' TO s", "CREATE STREAM t", "DROP STREAM s",
                        "BEGIN", "EXPIRE s BEFORE 2", "EXPIRE s OLDER THAN 0s",
                        "CREATE STREAM t WITH (max_records = 1)",
                        "ALTER STREAM s SET (max_records = 1)", "VACUUM",
                        "ADD 'b' TO s TTL 1s"}) {
    CAPTURE(q);
    CHECK(error_of([&] { e.exec(q); }) ==
          "ReadOnly: line 1, col 1: " + dir.file() + ": opened read-only");
  }
  auto err =
      catch_error([&] { e.exec("GET 1 FROM s;\n  ADD 'b' TO s").drain(); });
  REQUIRE(err);
  CHECK(err->code() == ErrorCode::ReadOnly);
  CHECK(std::string(err->what()).rfind("line 2, col 3: ", 0) == 0);
  CHECK(e.info("s").records == 1);
}
