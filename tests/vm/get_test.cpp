// GET in every form through Engine::exec: rows exactly, and the edges --
// both ends of a stream and past them, counts larger than the stream, key
// lists in any order with repeats, empty and missing streams.
#include "tests/vm/vm_test_util.h"

#include <limits>

using namespace klite;
using namespace klite::test;
using V = std::vector<std::uint64_t>;

namespace {
constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
const std::string kMaxText = std::to_string(kMax);
} // namespace

TEST_CASE("VM: GET key FROM s returns key, timestamp and value") {
  Db db;
  fill(db, "s", 10);
  CHECK(rows(*db, "GET 1 FROM s") == std::vector<std::string>{"1|1000|'v1'"});
  CHECK(rows(*db, "GET 10 FROM s") ==
        std::vector<std::string>{"10|10000|'v10'"});
  CHECK(rows(*db, "GET 11 FROM s").empty());
  CHECK(rows(*db, "GET " + kMaxText + " FROM s").empty());

  Result r = db->exec("GET 7 FROM s");
  REQUIRE(r.next());
  CHECK(r.row().columns() == std::vector<std::string>{"key", "ts", "value"});
  CHECK(r.row()["key"].as_integer() == 7);
  CHECK(r.row()["ts"].as_integer() == 7000);
  CHECK(r.row()["value"].as_bytes() == "v7");
  CHECK(!r.next());
  KLITE_CHECK_ERROR(r.row(), ErrorCode::Misuse);
}

TEST_CASE("VM: GET of a missing key, key 0 and a missing stream") {
  Db db;
  fill(db, "s", 3);
  CHECK(rows(*db, "GET 4 FROM s").empty());
  CHECK(error_of([&] { db->exec("GET 0 FROM s"); }) ==
        "InvalidArgument: line 1, col 5: key 0 is not a valid key; keys "
        "start at 1");
  CHECK(error_of([&] { db->exec("GET 1, 0 FROM s"); }) ==
        "InvalidArgument: line 1, col 8: key 0 is not a valid key; keys "
        "start at 1");
  CHECK(error_of([&] { db->exec("GET 1 FROM nosuch"); }) ==
        "NoSuchStream: line 1, col 12: no such stream: nosuch");
}

TEST_CASE("VM: GET k1, k2 returns rows in the given order, repeats and all") {
  Db db;
  fill(db, "s", 10);
  CHECK(keys(*db, "GET 3, 1, 2 FROM s") == V{3, 1, 2});
  CHECK(keys(*db, "GET 2, 2, 2 FROM s") == V{2, 2, 2});
  CHECK(keys(*db, "GET 10, 1, 10 FROM s") == V{10, 1, 10});
  CHECK(keys(*db, "GET 5, 11, 1, 99 FROM s") == V{5, 1});
  CHECK(keys(*db, "GET 11, 12, " + kMaxText + " FROM s").empty());
  CHECK(rows(*db, "GET 9, 2 FROM s") ==
        std::vector<std::string>{"9|9000|'v9'", "2|2000|'v2'"});
}

TEST_CASE("VM: GET n AFTER k at both ends and past them") {
  Db db;
  fill(db, "s", 10);
  CHECK(keys(*db, "GET 3 AFTER 0 FROM s") == V{1, 2, 3});
  CHECK(keys(*db, "GET 3 AFTER 4 FROM s") == V{5, 6, 7});
  CHECK(keys(*db, "GET 3 AFTER 8 FROM s") == V{9, 10});
  CHECK(keys(*db, "GET 1 AFTER 9 FROM s") == V{10});
  CHECK(keys(*db, "GET 3 AFTER 10 FROM s").empty());
  CHECK(keys(*db, "GET 3 AFTER 11 FROM s").empty());
  CHECK(keys(*db, "GET 3 AFTER " + kMaxText + " FROM s").empty());
  CHECK(keys(*db, "GET 10 AFTER 0 FROM s") == range(1, 10));
  CHECK(keys(*db, "GET 100 AFTER 0 FROM s") == range(1, 10));
  CHECK(keys(*db, "GET " + kMaxText + " AFTER 0 FROM s") == range(1, 10));
  CHECK(error_of([&] { db->exec("GET 0 AFTER 1 FROM s"); }) ==
        "InvalidArgument: line 1, col 5: count 0 is not a valid count; "
        "counts start at 1");
}

TEST_CASE("VM: GET n BEFORE k returns ascending keys") {
  Db db;
  fill(db, "s", 10);
  CHECK(keys(*db, "GET 3 BEFORE 10 FROM s") == V{7, 8, 9});
  CHECK(keys(*db, "GET 3 BEFORE 11 FROM s") == V{8, 9, 10});
  CHECK(keys(*db, "GET 3 BEFORE 100 FROM s") == V{8, 9, 10});
  CHECK(keys(*db, "GET 3 BEFORE " + kMaxText + " FROM s") == V{8, 9, 10});
  CHECK(keys(*db, "GET 1 BEFORE 5 FROM s") == V{4});
  CHECK(keys(*db, "GET 3 BEFORE 4 FROM s") == V{1, 2, 3});
  CHECK(keys(*db, "GET 3 BEFORE 3 FROM s") == V{1, 2});
  CHECK(keys(*db, "GET 3 BEFORE 2 FROM s") == V{1});
  CHECK(keys(*db, "GET 3 BEFORE 1 FROM s").empty());
  CHECK(keys(*db, "GET 100 BEFORE 5 FROM s") == V{1, 2, 3, 4});
  CHECK(keys(*db, "GET 10 BEFORE 11 FROM s") == range(1, 10));
  CHECK(keys(*db, "GET 11 BEFORE 11 FROM s") == range(1, 10));
  CHECK(keys(*db, "GET " + kMaxText + " BEFORE " + kMaxText + " FROM s") ==
        range(1, 10));
  CHECK(rows(*db, "GET 2 BEFORE 3 FROM s") ==
        std::vector<std::string>{"1|1000|'v1'", "2|2000|'v2'"});
  CHECK(error_of([&] { db->exec("GET 3 BEFORE 0 FROM s"); }) ==
        "InvalidArgument: line 1, col 14: key 0 is not a valid key; keys "
        "start at 1");
}

TEST_CASE("VM: GET FIRST n and GET LAST n") {
  Db db;
  fill(db, "s", 10);
  CHECK(keys(*db, "GET FIRST 3 FROM s") == V{1, 2, 3});
  CHECK(keys(*db, "GET FIRST 1 FROM s") == V{1});
  CHECK(keys(*db, "GET FIRST 10 FROM s") == range(1, 10));
  CHECK(keys(*db, "GET FIRST 11 FROM s") == range(1, 10));
  CHECK(keys(*db, "GET LAST 3 FROM s") == V{8, 9, 10});
  CHECK(keys(*db, "GET LAST 1 FROM s") == V{10});
  CHECK(keys(*db, "GET LAST 10 FROM s") == range(1, 10));
  CHECK(keys(*db, "GET LAST 1000 FROM s") == range(1, 10));
  CHECK(keys(*db, "GET LAST " + kMaxText + " FROM s") == range(1, 10));
  CHECK(error_of([&] { db->exec("GET LAST 0 FROM s"); }) ==
        "InvalidArgument: line 1, col 10: count 0 is not a valid count; "
        "counts start at 1");
}

TEST_CASE("VM: every GET on an empty stream returns no rows") {
  Db db;
  db->create_stream("e");
  for (const char* q :
       {"GET 1 FROM e", "GET 1, 2 FROM e", "GET 3 AFTER 0 FROM e",
        "GET 3 BEFORE 5 FROM e", "GET FIRST 3 FROM e", "GET LAST 3 FROM e",
        "GET 3 AFTER TIME '1970-01-01T00:00:00Z' FROM e"}) {
    CAPTURE(q);
    CHECK(rows(*db, q).empty());
  }
}

TEST_CASE("VM: every GET on a missing stream is NoSuchStream") {
  Db db;
  for (const char* q : {"GET 1 FROM nope", "GET 1, 2 FROM nope",
                        "GET 3 AFTER 0 FROM nope", "GET 3 BEFORE 5 FROM nope",
                        "GET FIRST 3 FROM nope", "GET LAST 3 FROM nope",
                        "GET 3 AFTER TIME '1970-01-01T00:00:00Z' FROM nope"}) {
    CAPTURE(q);
    auto e = catch_error([&] { db->exec(q); });
    REQUIRE(e);
    CHECK(e->code() == ErrorCode::NoSuchStream);
    CHECK(contains(e->what(), "no such stream: nope"));
    CHECK(contains(e->what(), "line 1, col "));
  }
}

TEST_CASE("VM: GET n AFTER TIME is timestamp >= t") {
  Db db;
  fill(db, "s", 10); // key k at 1000 * k microseconds
  auto q = [&](const std::string& n, const std::string& t) {
    return keys(*db, "GET " + n + " AFTER TIME '" + t + "' FROM s");
  };
  CHECK(q("3", "1970-01-01T00:00:00Z") == V{1, 2, 3});
  CHECK(q("3", "1970-01-01") == V{1, 2, 3});
  CHECK(q("3", "1900-01-01T00:00:00Z") == V{1, 2, 3});      // before the epoch
  CHECK(q("3", "1970-01-01T00:00:00.005Z") == V{5, 6, 7});  // exact
  CHECK(q("3", "1970-01-01T00:00:00.0045Z") == V{5, 6, 7}); // between
  CHECK(q("100", "1970-01-01T00:00:00.009Z") == V{9, 10});
  CHECK(q("3", "1970-01-01T00:00:00.010Z") == V{10});   // the last
  CHECK(q("3", "1970-01-01T00:00:00.010001Z").empty()); // after the last
  CHECK(q("3", "2100-01-01T00:00:00Z").empty());
  // Zone offsets and a space for the T.
  CHECK(q("2", "1970-01-01T01:00:00.003+01:00") == V{3, 4});
  CHECK(q("2", "1969-12-31 23:00:00.003-01:00") == V{3, 4});
  CHECK(q("2", "1970-01-01T00:00:00.003") == V{3, 4});
}

TEST_CASE("VM: GET AFTER TIME with equal timestamps and real dates") {
  Db db;
  const std::uint64_t t0 = 1795600800000000; // 2026-11-25T10:00:00Z
  {
    WriteTxn t = db->write();
    // Keys 1-2 at t0, 3-5 one minute later, 6 two minutes later.
    const std::uint64_t at[] = {0, 0, 60, 60, 60, 120};
    for (std::uint64_t s : at) {
      db.clock.set(t0 + s * 1000000);
      t.append("p", "x");
    }
    t.commit();
  }
  CHECK(keys(*db, "GET 10 AFTER TIME '2026-11-25T10:00:00Z' FROM p") ==
        range(1, 6));
  CHECK(keys(*db, "GET 2 AFTER TIME '2026-11-25T10:00:30Z' FROM p") == V{3, 4});
  CHECK(keys(*db, "GET 10 AFTER TIME '2026-11-25T10:01:00Z' FROM p") ==
        V{3, 4, 5, 6});
  CHECK(keys(*db, "GET 10 AFTER TIME '2026-11-25T11:02:00+01:00' FROM p") ==
        V{6});
  CHECK(keys(*db, "GET 10 AFTER TIME '2026-11-25T10:02:00.000001Z' FROM p")
            .empty());
}

TEST_CASE("VM: GET AFTER TIME rejects what is not ISO-8601") {
  Db db;
  fill(db, "s", 3);
  for (const char* t :
       {"yesterday", "", "2026-11-25T", "2026-13-01", "2026-02-30",
        "2026-11-25T24:00:00Z", "2026-11-25T10:60:00Z", "2026-11-25T10:00:61Z",
        "2026-11-25T10:00:00+25:00", "2026-11-25T10:00:00Q", "26-11-25",
        "2026-11-25T10:00:00.Z", "2026-11-25 10", "2026-11-25T10:00:00Z "}) {
    CAPTURE(t);
    std::string q = std::string("GET 1 AFTER TIME '") + t + "' FROM s";
    auto e = catch_error([&] { db->exec(q); });
    REQUIRE(e);
    CHECK(e->code() == ErrorCode::InvalidArgument);
    CHECK(std::string(e->what()).rfind("line 1, col 18: invalid time '", 0) ==
          0);
  }
  CHECK(keys(*db, "GET 1 AFTER TIME '2024-02-29T00:00:00Z' FROM s").empty());
}

TEST_CASE("VM: keywords are case-insensitive") {
  Db db;
  fill(db, "s", 5);
  CHECK(keys(*db, "get 2 after 1 from s") == V{2, 3});
  CHECK(keys(*db, "GeT 2 BeFoRe 5 fRoM s") == V{3, 4});
  CHECK(keys(*db, "get first 2 from s") == V{1, 2});
  CHECK(keys(*db, "Get Last 2 From s") == V{4, 5});
  CHECK(keys(*db, "get 1 after time '1970-01-01' from s") == V{1});
  CHECK(keys(*db, "add 'x' to s") == V{6});
  CHECK(rows(*db, "create stream t").empty());
  CHECK(rows(*db, "show streams").size() == 2);
  CHECK(rows(*db, "info t") ==
        std::vector<std::string>{"'t'|0|0|NULL|NULL|NULL|NULL|5000|0|0|0"});
  CHECK(rows(*db, "alter stream t set (MAX_RECORDS = 7)").empty());
  CHECK(rows(*db, "expire s before 2") == std::vector<std::string>{"1"});
  CHECK(rows(*db, "begin; add 'y' to t; rollback").size() == 1);
  // Stream names are not keywords: they stay case-sensitive.
  KLITE_CHECK_ERROR(db->exec("drop stream T"), ErrorCode::NoSuchStream);
  CHECK(rows(*db, "DROP STREAM t").empty());
}

TEST_CASE("VM: a large GET streams its rows") {
  Db db;
  constexpr std::uint64_t n = 200'000;
  {
    WriteTxn t = db->write();
    std::vector<std::string> vals;
    for (std::uint64_t k = 1; k <= n; ++k)
      vals.push_back(payload(k, 16));
    std::vector<std::string_view> views(vals.begin(), vals.end());
    t.append_batch("big", views);
    t.commit();
  }
  Result r = db->exec("GET 1000000 AFTER 0 FROM big");
  std::uint64_t want = 1;
  bool ok = true;
  while (r.next()) {
    const Row& row = r.row();
    ok = ok && row[0].as_integer() == want &&
         payload_key(row[2].as_bytes()) == want;
    ++want;
  }
  CHECK(ok);
  CHECK(want == n + 1);

  Result last = db->exec("GET LAST 5 FROM big");
  CHECK(keys(std::move(last)) == range(n - 4, n));
  CHECK(db->exec("GET 70000 BEFORE 150001 FROM big").drain() == 70000);
}
