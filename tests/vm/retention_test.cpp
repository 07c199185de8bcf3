// Expiry and retention in the query language: EXPIRE, CREATE STREAM ...
// WITH, ALTER STREAM ... SET, the retention columns of INFO, ADD ... TTL,
// VACUUM, and their errors. The limits themselves are the engine's to enforce (at commit);
// these tests check what the statements hand it and what reads see after.
#include "tests/vm/vm_test_util.h"

#include <chrono>
#include <filesystem>

using namespace klite;
using namespace klite::test;
using V = std::vector<std::uint64_t>;
using S = std::vector<std::string>;

namespace {

constexpr std::uint64_t kSecond = 1'000'000; // microseconds

// n records "v1", "v2", ... appended one second apart, at 1 s, 2 s, ...
void fill_seconds(Db& db, std::string_view stream, std::uint64_t n) {
  WriteTxn t = db->write();
  for (std::uint64_t k = 1; k <= n; ++k) {
    db.clock.set(k * kSecond);
    t.append(stream, "v" + std::to_string(k));
  }
  t.commit();
}

// The retention columns of INFO: "max_age|max_bytes|max_records".
std::string retention(Engine& e, std::string_view stream) {
  Result r = e.exec("INFO " + std::string(stream));
  REQUIRE(r.next());
  const Row& row = r.row();
  return std::to_string(row["max_age"].as_integer()) + "|" +
         std::to_string(row["max_bytes"].as_integer()) + "|" +
         std::to_string(row["max_records"].as_integer());
}

// The live keys, through the query language.
V live(Engine& e, std::string_view stream) {
  return keys(e, "GET 1000 AFTER 0 FROM " + std::string(stream));
}

const std::string kDurationRange =
    "duration out of range (the largest is 106751991d)";

} // namespace

TEST_CASE("Exec: EXPIRE BEFORE returns the records expired; reads skip them") {
  Db db;
  fill(db, "s", 10);
  Result r = db->exec("EXPIRE s BEFORE 4");
  REQUIRE(r.next());
  CHECK(r.row().columns() == S{"expired"});
  CHECK(r.row()["expired"].as_integer() == 3);
  CHECK(!r.next());

  // An expired key gives no row; GET n AFTER k with k before the first
  // live key starts at the first live record.
  CHECK(keys(*db, "GET 2 FROM s").empty());
  CHECK(keys(*db, "GET 1, 4, 3, 5 FROM s") == V{4, 5});
  CHECK(keys(*db, "GET 3 AFTER 1 FROM s") == V{4, 5, 6});
  CHECK(keys(*db, "GET 2 AFTER 0 FROM s") == V{4, 5});
  CHECK(keys(*db, "GET FIRST 2 FROM s") == V{4, 5});
  CHECK(keys(*db, "GET 5 BEFORE 6 FROM s") == V{4, 5});
  CHECK(keys(*db, "GET 5 BEFORE 4 FROM s").empty());
  // INFO's first key advances.
  CHECK(rows(*db, "INFO s") == S{"'s'|7|15|4|10|4000|10000|1000|0|0|0"});

  // What is gone stays gone; below the first live key nothing expires.
  CHECK(rows(*db, "EXPIRE s BEFORE 4") == S{"0"});
  CHECK(rows(*db, "EXPIRE s BEFORE 1") == S{"0"});
  // Past the last key: all of them.
  CHECK(rows(*db, "EXPIRE s BEFORE 18446744073709551615") == S{"7"});
  CHECK(rows(*db, "INFO s") == S{"'s'|0|0|NULL|NULL|NULL|NULL|1000|0|0|0"});
  CHECK(live(*db, "s").empty());
  // Keys are never reused.
  CHECK(keys(*db, "ADD 'next' TO s") == V{11});

  Statement st = db->prepare("EXPIRE s BEFORE ?");
  st.bind(1, std::uint64_t{12});
  CHECK(rows(st) == S{"1"});
  CHECK(db->info("s").first_key == 0);
  CHECK(db->info("s").next_key == 12);
}

TEST_CASE("Exec: EXPIRE OLDER THAN against the engine's clock") {
  Db db;
  fill_seconds(db, "s", 10); // timestamps 1 s .. 10 s
  db.clock.set(10 * kSecond);
  // Older than 10 s - 5 s: the records of 1 s .. 4 s.
  CHECK(rows(*db, "EXPIRE s OLDER THAN 5s") == S{"4"});
  CHECK(live(*db, "s") == V{5, 6, 7, 8, 9, 10});
  CHECK(rows(*db, "EXPIRE s OLDER THAN 5s") == S{"0"});
  // Quoted, as max_age may be written.
  CHECK(rows(*db, "EXPIRE s OLDER THAN '3s'") == S{"2"});
  CHECK(db->info("s").first_key == 7);

  // The clock moves on, not the statement.
  Statement st = db->prepare("EXPIRE s OLDER THAN :age");
  st.bind(":age", 2 * kSecond); // an integer is microseconds
  CHECK(rows(st) == S{"1"});    // older than 8 s: key 7
  db.clock.set(11 * kSecond);
  st.reset();
  CHECK(rows(st) == S{"1"}); // older than 9 s: key 8
  st.reset();
  st.bind(":age", "0");      // bytes as the language writes them
  CHECK(rows(st) == S{"2"}); // older than 11 s: keys 9 and 10
  CHECK(live(*db, "s").empty());

  // A duration longer than the clock reads expires nothing.
  fill_seconds(db, "t", 3);
  CHECK(rows(*db, "EXPIRE t OLDER THAN 106751991d") == S{"0"});
  CHECK(rows(*db, "EXPIRE t OLDER THAN 1d") == S{"0"});
  db.clock.set(2 * kSecond + 86'400 * kSecond + 1);
  CHECK(rows(*db, "EXPIRE t OLDER THAN 1d") == S{"2"});
  CHECK(live(*db, "t") == V{3});
}

TEST_CASE("Exec: EXPIRE errors") {
  Db db;
  fill(db, "s", 3);
  CHECK(error_of([&] { db->exec("EXPIRE nope BEFORE 2"); }) ==
        "NoSuchStream: line 1, col 8: no such stream: nope");
  CHECK(error_of([&] {
          db->exec("GET 1 FROM s;\n EXPIRE nope OLDER THAN 1d").drain();
        }) == "NoSuchStream: line 2, col 9: no such stream: nope");
  CHECK(error_of([&] { db->exec("EXPIRE s BEFORE 0"); }) ==
        "InvalidArgument: line 1, col 17: key 0 is not a valid key; keys "
        "start at 1");
  CHECK(error_of([&] { db->exec("EXPIRE s OLDER THAN '7w'"); }) ==
        "InvalidArgument: line 1, col 21: invalid duration '7w': expected a "
        "duration (a number and s, m, h or d, as in 7d)");
  // `none` is for limits: "older than none" would read as "all of them".
  CHECK(error_of([&] { db->exec("EXPIRE s OLDER THAN 'none'"); }) ==
        "InvalidArgument: line 1, col 21: invalid duration 'none': expected a "
        "duration (a number and s, m, h or d, as in 7d)");
  CHECK(error_of([&] { db->exec("EXPIRE s OLDER THAN '106751992d'"); }) ==
        "InvalidArgument: line 1, col 21: invalid duration '106751992d': " +
            kDurationRange);
  CHECK(error_of([&] { db->exec("EXPIRE s OLDER THAN 106751992d"); }) ==
        "Syntax: line 1, col 21: " + kDurationRange + ", found \"106751992d\"");

  Statement st = db->prepare("EXPIRE s OLDER THAN ?");
  st.bind(1, "none");
  CHECK(error_of([&] { st.step(); }) ==
        "InvalidArgument: line 1, col 21: parameter 1 must be a duration "
        "(bytes such as '7d', or an integer of microseconds), not 'none'");
  st.reset();
  st.bind(1, std::uint64_t{1} << 63);
  CHECK(error_of([&] { st.step(); }) ==
        "InvalidArgument: line 1, col 21: parameter 1: " + kDurationRange);
  st.reset();
  st.bind(1, "9999999999999999999999d");
  CHECK(error_of([&] { st.step(); }) ==
        "InvalidArgument: line 1, col 21: parameter 1: " + kDurationRange);
  CHECK(db->info("s").records == 3);
}

TEST_CASE("Exec: EXPIRE inside BEGIN ... COMMIT, and ROLLBACK") {
  Db db;
  fill(db, "s", 5);
  db->exec("BEGIN");
  CHECK(rows(*db, "EXPIRE s BEFORE 3") == S{"2"});
  CHECK(live(*db, "s") == V{3, 4, 5});      // inside: gone
  CHECK(db->read().info("s").records == 5); // outside: not yet
  db->exec("ROLLBACK");
  CHECK(live(*db, "s") == V{1, 2, 3, 4, 5});

  CHECK(db->exec("BEGIN; EXPIRE s BEFORE 3; ADD 'x' TO s; COMMIT").drain() ==
        2);
  CHECK(live(*db, "s") == V{3, 4, 5, 6});
  CHECK(db->info("s").first_key == 3);
}

TEST_CASE("Exec: CREATE STREAM ... WITH sets the retention that ADD keeps") {
  Db db;
  SUBCASE("max_records: an ADD beyond it leaves exactly max_records") {
    CHECK(rows(*db, "CREATE STREAM s WITH (max_records = 3)").empty());
    CHECK(retention(*db, "s") == "0|0|3");
    CHECK(keys(*db, "ADD 'a', 'b', 'c', 'd', 'e' TO s") == V{1, 2, 3, 4, 5});
    CHECK(live(*db, "s") == V{3, 4, 5});
    CHECK(keys(*db, "ADD 'f' TO s") == V{6});
    CHECK(live(*db, "s") == V{4, 5, 6});
    CHECK(rows(*db, "INFO s").front().rfind("'s'|3|3|4|6|", 0) == 0);
  }
  SUBCASE("max_bytes: payload bytes of the live records") {
    db->exec("CREATE STREAM s WITH (max_bytes = '1kB')");
    CHECK(retention(*db, "s") == "0|1000|0");
    Statement add = db->prepare("ADD ? TO s");
    for (int i = 0; i < 3; ++i) {
      add.reset();
      add.bind(1, std::string(400, 'x'));
      CHECK(rows(add).size() == 1);
    }
    CHECK(live(*db, "s") == V{2, 3});
    CHECK(db->info("s").bytes == 800);
  }
  SUBCASE("max_age: by timestamp, against the engine's clock") {
    db.clock.set(1 * kSecond);
    db->exec("CREATE STREAM s WITH (max_age = 10s)");
    CHECK(retention(*db, "s") == "10000000|0|0");
    db->exec("ADD 'a' TO s");
    db.clock.set(2 * kSecond);
    db->exec("ADD 'b' TO s");
    db.clock.set(11 * kSecond + 500'000);
    db->exec("ADD 'c' TO s"); // its commit expires 'a' (1 s < 1.5 s)
    CHECK(live(*db, "s") == V{2, 3});
    db.clock.set(12 * kSecond + 1); // 'b' is too old to read, still stored
    CHECK(live(*db, "s") == V{3});
    CHECK(keys(*db, "GET 2 FROM s").empty());
    CHECK(rows(*db, "INFO s") ==
          S{"'s'|2|2|2|3|2000000|11500000|1000000|10000000|0|0"});
    db.clock.set(100 * kSecond);
    CHECK(live(*db, "s").empty());
    db->exec("ADD 'd' TO s");
    CHECK(live(*db, "s") == V{4});
  }
  SUBCASE("all three, in any order, bare or quoted; 0 and none are no limit") {
    db->exec("CREATE STREAM a WITH (max_records = 1000000, max_age = '7d', "
             "max_bytes = 1GiB)");
    CHECK(retention(*db, "a") == "604800000000|1073741824|1000000");
    db->exec("CREATE STREAM b WITH (MAX_BYTES = \"2MiB\", max_age = 12h)");
    CHECK(retention(*db, "b") == "43200000000|2097152|0");
    db->exec("CREATE STREAM c WITH (max_age = none, max_bytes = 0, "
             "max_records = 'NONE')");
    CHECK(retention(*db, "c") == "0|0|0");
    CHECK(rows(*db, "SHOW STREAMS").size() == 3);
    CHECK(rows(*db, "SHOW STREAMS")[0].ends_with(
        "|604800000000|1073741824|1000000"));
  }
  SUBCASE("parameters") {
    Statement create = db->prepare(
        "CREATE STREAM s WITH (max_age = ?, max_bytes = :b, max_records = ?)");
    CHECK(create.parameter_count() == 3);
    create.bind(1, "1h");
    create.bind(":b", std::uint64_t{4096});
    create.bind(3, "none");
    CHECK(rows(create).empty());
    CHECK(retention(*db, "s") == "3600000000|4096|0");
  }
}

TEST_CASE("Exec: ALTER STREAM changes only the options it names") {
  Db db;
  db->exec("CREATE STREAM s WITH (max_age = 7d, max_bytes = 1GiB, "
           "max_records = 100)");
  CHECK(rows(*db, "ALTER STREAM s SET (max_records = 500)").empty());
  CHECK(retention(*db, "s") == "604800000000|1073741824|500");
  db->exec("ALTER STREAM s SET (max_bytes = 2MiB, max_age = none)");
  CHECK(retention(*db, "s") == "0|2097152|500");

  // The new limits hold from the ALTER's own commit.
  db->exec("ADD 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j' TO s");
  CHECK(live(*db, "s").size() == 10);
  db->exec("ALTER STREAM s SET (max_records = 4)");
  CHECK(live(*db, "s") == V{7, 8, 9, 10});
  CHECK(retention(*db, "s") == "0|2097152|4");

  Statement alter = db->prepare("ALTER STREAM s SET (max_records = ?)");
  alter.bind(1, std::uint64_t{2});
  CHECK(rows(alter).empty());
  CHECK(live(*db, "s") == V{9, 10});
  alter.reset();
  alter.bind(1, "none");
  CHECK(rows(alter).empty());
  CHECK(retention(*db, "s") == "0|2097152|0");
  alter.reset();
  alter.bind(1, "1kB");
  CHECK(error_of([&] { alter.step(); }) ==
        "InvalidArgument: line 1, col 35: parameter 1 must be a max_records "
        "(an integer, or bytes such as '1000' or 'none'), not '1kB'");

  Statement age = db->prepare("ALTER STREAM s SET (max_age = :age)");
  age.bind(":age", "2h");
  CHECK(rows(age).empty());
  CHECK(retention(*db, "s") == "7200000000|2097152|0");
  age.reset();
  age.bind(":age", std::uint64_t{1} << 63);
  CHECK(error_of([&] { age.step(); }) ==
        "InvalidArgument: line 1, col 31: parameter 1 (:age): " +
            kDurationRange);
  Statement bytes = db->prepare("ALTER STREAM s SET (max_bytes = ?)");
  bytes.bind(1, "16777216TiB");
  CHECK(error_of([&] { bytes.step(); }) ==
        "InvalidArgument: line 1, col 33: parameter 1: size out of range (the "
        "largest is 18446744073709551615 bytes)");
  bytes.reset();
  bytes.bind(1, "1 GiB");
  CHECK(error_of([&] { bytes.step(); }) ==
        "InvalidArgument: line 1, col 33: parameter 1 must be a max_bytes "
        "(bytes such as '1GiB' or 'none', or an integer), not '1 GiB'");
  CHECK(retention(*db, "s") == "7200000000|2097152|0");
}

TEST_CASE("Exec: retention changes inside BEGIN ... ROLLBACK leave nothing") {
  Db db;
  db->exec("CREATE STREAM s WITH (max_records = 10); ADD 'a', 'b', 'c' TO s")
      .drain();
  db->exec("BEGIN");
  db->exec("CREATE STREAM t WITH (max_records = 2)");
  db->exec("ADD 'a', 'b', 'c' TO t");
  // Limits are enforced when the transaction commits, not before.
  CHECK(live(*db, "t") == V{1, 2, 3});
  db->exec("ALTER STREAM s SET (max_records = 1, max_age = 1d)");
  CHECK(retention(*db, "s") == "86400000000|0|1");
  db.clock.set(5 * kSecond); // the records are of 1 s
  CHECK(rows(*db, "EXPIRE s OLDER THAN 0s") == S{"3"});
  CHECK(live(*db, "s").empty());
  db->exec("ROLLBACK");
  CHECK(!db->read().has_stream("t"));
  CHECK(live(*db, "s") == V{1, 2, 3});
  CHECK(retention(*db, "s") == "0|0|10");

  // The same committed: the limits apply at COMMIT.
  CHECK(db->exec("BEGIN; CREATE STREAM t WITH (max_records = 2); "
                 "ADD 'a', 'b', 'c' TO t; ALTER STREAM s SET (max_records = "
                 "1); COMMIT")
            .drain() == 3);
  CHECK(live(*db, "t") == V{2, 3});
  CHECK(live(*db, "s") == V{3});
}

TEST_CASE("Exec: retention errors") {
  Db db;
  db->exec("CREATE STREAM s WITH (max_records = 5)");
  const std::string size =
      "a size (a number and an optional unit B, kB, MB, GB, TB, KiB, MiB, GiB "
      "or TiB; 0 or none for no limit)";
  const std::pair<const char*, std::string> cases[] = {
      {"CREATE STREAM t WITH (max_age = 1d, max_age = 2d)",
       "InvalidArgument: line 1, col 37: option max_age given twice"},
      {"ALTER STREAM s SET (max_records = 1, max_bytes = 2, max_records = 3)",
       "InvalidArgument: line 1, col 53: option max_records given twice"},
      {"CREATE STREAM t WITH (max_bytes = '1XB')",
       "InvalidArgument: line 1, col 35: invalid max_bytes '1XB': expected " +
           size},
      {"CREATE STREAM t WITH (max_bytes = '1 GiB')",
       "InvalidArgument: line 1, col 35: invalid max_bytes '1 GiB': expected " +
           size},
      {"CREATE STREAM t WITH (max_bytes = '-1')",
       "InvalidArgument: line 1, col 35: invalid max_bytes '-1': expected " +
           size},
      {"CREATE STREAM t WITH (max_bytes = '16777216TiB')",
       "InvalidArgument: line 1, col 35: invalid max_bytes '16777216TiB': "
       "size out of range (the largest is 18446744073709551615 bytes)"},
      {"CREATE STREAM t WITH (max_age = '7w')",
       "InvalidArgument: line 1, col 33: invalid max_age '7w': expected a "
       "duration (a number and s, m, h or d, as in 7d; 0 or none for no "
       "limit)"},
      {"CREATE STREAM t WITH (max_age = '106751992d')",
       "InvalidArgument: line 1, col 33: invalid max_age '106751992d': " +
           kDurationRange},
      {"ALTER STREAM s SET (max_records = '1.5')",
       "InvalidArgument: line 1, col 35: invalid max_records '1.5': expected a "
       "number of records (0 or none for no limit)"},
      {"ALTER STREAM s SET (max_records = '18446744073709551616')",
       "InvalidArgument: line 1, col 35: invalid max_records "
       "'18446744073709551616': number out of range (the largest is "
       "18446744073709551615)"},
      {"CREATE STREAM t WITH ()",
       "Syntax: line 1, col 23: expected an option (max_age, max_bytes or "
       "max_records), found \")\""},
      {"CREATE STREAM t WITH (max_ages = 1d)",
       "Syntax: line 1, col 23: expected an option (max_age, max_bytes or "
       "max_records), found \"max_ages\""},
      {"CREATE STREAM t WITH (max_bytes = 1XB)",
       "Syntax: line 1, col 35: expected " + size + ", found \"1XB\""},
      {"CREATE STREAM t WITH (max_bytes = 16777216TiB)",
       "Syntax: line 1, col 35: size out of range (the largest is "
       "18446744073709551615 bytes), found \"16777216TiB\""},
      {"ALTER STREAM s SET (max_age = 7)",
       "Syntax: line 1, col 31: expected a duration (a number and s, m, h or "
       "d, as in 7d; 0 or none for no limit), found \"7\""},
      {"ALTER STREAM nope SET (max_records = 1)",
       "NoSuchStream: line 1, col 14: no such stream: nope"},
      {"CREATE STREAM s WITH (max_records = 1)",
       "StreamExists: line 1, col 15: stream already exists: s"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.first);
    CHECK(error_of([&] { db->exec(c.first).drain(); }) == c.second);
  }
  // Nothing of a failed statement, nor of a script that did not compile.
  CHECK(retention(*db, "s") == "0|0|5");
  CHECK(error_of([&] {
          db->exec("CREATE STREAM a; CREATE STREAM b WITH (max_age = 1d, "
                   "max_age = 1d)");
        }).rfind("InvalidArgument: line 1, col 54: ", 0) == 0);
  CHECK(!db->read().has_stream("a"));
  CHECK(rows(*db, "SHOW STREAMS").size() == 1);
}

TEST_CASE("Exec: ADD ... TTL hides each record once its TTL runs out") {
  Db db;
  db.clock.set(1 * kSecond);
  CHECK(keys(*db, "ADD 'a', 'b' TO s TTL 10s") == V{1, 2}); // until 11 s
  CHECK(keys(*db, "ADD 'c' TO s") == V{3});                 // forever
  db.clock.set(5 * kSecond);
  CHECK(keys(*db, "ADD 'd' TO s TTL '2s'") == V{4}); // until 7 s
  CHECK(db->get("s", 1)->expires == 11 * kSecond);
  CHECK(db->get("s", 2)->expires == 11 * kSecond);
  CHECK(db->get("s", 3)->expires == 0);
  CHECK(db->get("s", 4)->expires == 7 * kSecond);

  db.clock.set(7 * kSecond - 1);
  CHECK(live(*db, "s") == V{1, 2, 3, 4});
  db.clock.set(7 * kSecond); // from its expiry time on, gone
  CHECK(live(*db, "s") == V{1, 2, 3});
  CHECK(keys(*db, "GET 4 FROM s").empty());
  CHECK(keys(*db, "GET LAST 1 FROM s") == V{3});
  db.clock.set(11 * kSecond);
  CHECK(live(*db, "s") == V{3});
  CHECK(keys(*db, "GET FIRST 5 FROM s") == V{3});
  CHECK(keys(*db, "GET 5 BEFORE 5 FROM s") == V{3});
  CHECK(keys(*db, "GET 1, 2, 3, 4 FROM s") == V{3});
  CHECK(keys(*db, "GET 5 AFTER TIME '1970-01-01T00:00:00Z' FROM s") == V{3});

  // The next commit expires the run-out records at the head; key 4, behind
  // a record without TTL, stays hidden until that one goes.
  CHECK(keys(*db, "ADD 'e' TO s") == V{5});
  CHECK(db->info("s").first_key == 3);
  CHECK(live(*db, "s") == V{3, 5});
  CHECK(rows(*db, "EXPIRE s BEFORE 4") == S{"1"});
  CHECK(db->info("s").first_key == 5);
  CHECK(live(*db, "s") == V{5});

  // A parameter: an integer of microseconds, or bytes as the language
  // writes a duration.
  Statement st = db->prepare("ADD ? TO s TTL :ttl");
  st.bind(1, "f");
  st.bind(":ttl", 3 * kSecond);
  CHECK(rows(st) == S{"6"});
  st.reset();
  st.bind(1, "g");
  st.bind(":ttl", "1m");
  CHECK(rows(st) == S{"7"});
  CHECK(db->get("s", 6)->expires == 14 * kSecond);
  CHECK(db->get("s", 7)->expires == 71 * kSecond);
  db.clock.set(14 * kSecond);
  CHECK(live(*db, "s") == V{5, 7});

  // Inside BEGIN, and rolled back with it.
  db->exec("BEGIN; ADD 'h' TO s TTL 1s; ADD 'i' TO s TTL 1d").drain();
  CHECK(live(*db, "s") == V{5, 7, 8, 9});
  db->exec("ROLLBACK");
  CHECK(live(*db, "s") == V{5, 7});
  CHECK(db->exec("BEGIN; ADD 'h' TO s TTL 1s; COMMIT").drain() == 1);
  CHECK(db->get("s", 8)->expires == 15 * kSecond);
  db.clock.set(15 * kSecond);
  CHECK(live(*db, "s") == V{5, 7});
  CHECK(keys(*db, "ADD 'j' TO s") == V{9}); // keys are never reused
}

TEST_CASE("Exec: TTL and VACUUM are words only where they stand") {
  Db db;
  CHECK(keys(*db, "ADD 'x' TO ttl") == V{1});
  CHECK(keys(*db, "ADD 'y' TO ttl TTL 1d") == V{2});
  CHECK(keys(*db, "ADD 'z' TO vacuum") == V{1});
  CHECK(keys(*db, "GET 1, 2 FROM ttl") == V{1, 2});
  CHECK(db->get("ttl", 1)->expires == 0);
  CHECK(db->get("ttl", 2)->expires ==
        db->get("ttl", 2)->timestamp + 86'400 * kSecond);
  CHECK(keys(*db, "GET 1 FROM vacuum") == V{1});
  CHECK(rows(*db, "vacuum; Vacuum").size() == 2);
}

TEST_CASE("Exec: TTL errors") {
  Db db;
  fill(db, "s", 3);
  const std::string zero = "TTL 0 is not a valid TTL; leave TTL out for "
                           "records that do not expire";
  const std::string range = "TTL out of range (the largest is 26687997d)";
  const std::string duration = "a duration (a number and s, m, h or d, as in 7d)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ADD 'x' TO s TTL 0s", "InvalidArgument: line 1, col 18: " + zero},
      {"ADD 'x' TO s TTL 0", "InvalidArgument: line 1, col 18: " + zero},
      {"ADD 'x', 'y' TO s TTL '0d'",
       "InvalidArgument: line 1, col 23: " + zero},
      {"ADD 'x' TO s TTL 26687998d", "InvalidArgument: line 1, col 18: " + range},
      {"ADD 'x' TO s TTL '106751991d'",
       "InvalidArgument: line 1, col 18: " + range},
      {"ADD 'x' TO s TTL '7w'",
       "InvalidArgument: line 1, col 18: invalid TTL '7w': expected " +
           duration},
      {"ADD 'x' TO s TTL '106751992d'",
       "InvalidArgument: line 1, col 18: invalid TTL '106751992d': " +
           kDurationRange},
      {"ADD 'x' TO s TTL 7w",
       "Syntax: line 1, col 18: expected " + duration + ", found \"7w\""},
      {"ADD 'x' TO s TTL none",
       "Syntax: line 1, col 18: expected " + duration + ", found \"none\""},
      {"ADD 'x' TO s TTL",
       "Syntax: line 1, col 17: expected " + duration +
           ", found end of input"},
      {"ADD 'x' TO s TTL 1s TTL 2s",
       "Syntax: line 1, col 21: expected ';' or end of input, found \"TTL\""},
      {"ADD 'x' TTL 1s TO s", "Syntax: line 1, col 9: expected TO, found \"TTL\""},
      {"VACUUM s", "Syntax: line 1, col 8: expected ';' or end of input, found \"s\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.first);
    CHECK(error_of([&] { db->exec(c.first).drain(); }) == c.second);
  }
  CHECK(keys(*db, "ADD 'x' TO s TTL 26687997d") == V{4}); // the largest
  CHECK(db->get("s", 4)->expires ==
        db->get("s", 4)->timestamp + std::uint64_t{26'687'997} * 86'400 * kSecond);

  Statement st = db->prepare("ADD 'x' TO s TTL ?");
  const std::vector<std::pair<Value, std::string>> bad = {
      {Value::integer(0), zero + " (parameter 1)"},
      {Value::bytes("0s"), zero + " (parameter 1)"},
      {Value::integer((std::uint64_t{1} << 61) + 1), range + " (parameter 1)"},
      {Value::integer(std::uint64_t{1} << 63), "parameter 1: " + kDurationRange},
      {Value::bytes("7w"), "parameter 1 must be a TTL (bytes such as '60s', "
                           "or an integer of microseconds), not '7w'"},
      {Value::bytes("none"), "parameter 1 must be a TTL (bytes such as '60s', "
                             "or an integer of microseconds), not 'none'"},
  };
  for (const auto& c : bad) { // (clang 14 cannot capture a binding)
    const Value& value = c.first;
    const std::string& message = c.second;
    CAPTURE(message);
    st.reset();
    if (value.type() == Value::Type::Integer)
      st.bind(1, value.as_integer());
    else
      st.bind(1, value.as_bytes());
    CHECK(error_of([&] { st.step(); }) ==
          "InvalidArgument: line 1, col 18: " + message);
  }
  st.reset();
  st.bind(1, std::uint64_t{1} << 61); // the largest, in microseconds
  CHECK(rows(st) == S{"5"});
  CHECK(db->info("s").records == 5); // the failed ADDs added nothing
}

TEST_CASE("Exec: VACUUM gives the free space at the end of the file back") {
  Db db;
  const std::string big(1000, 'x');
  {
    WriteTxn t = db->write();
    for (int i = 0; i < 3000; ++i)
      t.append(i < 2900 ? "old" : "kept", big);
    t.commit();
  }
  CHECK(rows(*db, "DROP STREAM old; EXPIRE kept BEFORE 51") == S{"50"});
  const auto size = std::filesystem::file_size(db.dir.file());
  Result r = db->exec("VACUUM");
  REQUIRE(r.next());
  CHECK(r.row().columns() == S{"bytes_freed"});
  const std::uint64_t freed = r.row()["bytes_freed"].as_integer();
  CHECK(!r.next());
  CHECK(freed > size / 2);
  CHECK(std::filesystem::file_size(db.dir.file()) == size - freed);
  CHECK(live(*db, "kept") == range(51, 100));
  CHECK(db->get("kept", 100)->value == big);

  // An older read transaction of this engine keeps the file as it is.
  fill(db, "more", 500);
  db->exec("DROP STREAM more");
  const auto before = std::filesystem::file_size(db.dir.file());
  {
    ReadTxn old = db->read();
    CHECK(rows(*db, "VACUUM") == S{"0"});
    CHECK(std::filesystem::file_size(db.dir.file()) == before);
    CHECK(old.info("kept").records == 50);
  }
  CHECK(keys(*db, "GET LAST 1 FROM kept") == V{100});
}

TEST_CASE("Exec: VACUUM inside BEGIN is Misuse and leaves the BEGIN open") {
  Db db;
  fill(db, "s", 3);
  db->exec("BEGIN; ADD 'x' TO s").drain();
  CHECK(error_of([&] { db->exec("VACUUM"); }) ==
        "Misuse: line 1, col 1: VACUUM cannot run inside BEGIN ... COMMIT");
  Statement st = db->prepare("VACUUM");
  CHECK(error_of([&] { st.step(); }) ==
        "Misuse: line 1, col 1: VACUUM cannot run inside BEGIN ... COMMIT");
  CHECK(keys(*db, "ADD 'y' TO s") == V{5});
  db->exec("COMMIT");
  CHECK(live(*db, "s") == V{1, 2, 3, 4, 5});
  st.reset();
  CHECK(rows(st).size() == 1); // outside BEGIN it runs
}
