// Error::line() and Error::column(): the place an error message names,
// as data (include/klite/error.h, docs/QUERY.md section 5).
#include "tests/vm/vm_test_util.h"

using namespace klite;
using namespace klite::test;

namespace {
// The error f throws, which must be a klite::Error.
template <class F> Error error_from(F&& f) {
  auto e = catch_error(std::forward<F>(f));
  REQUIRE(e.has_value());
  return *e;
}
} // namespace

TEST_CASE("Error position: syntax errors") {
  Db db;
  SUBCASE("line 2 of a script") {
    Error e = error_from([&] { db->exec("GET 1 FROM s;\nGET 1 FORM s"); });
    CHECK(e.code() == ErrorCode::Syntax);
    CHECK(std::string(e.what()) ==
          "line 2, col 7: expected FROM, found \"FORM\"");
    CHECK(e.line() == 2);
    CHECK(e.column() == 7);
  }
  SUBCASE("columns count bytes: a tab and a UTF-8 letter") {
    // "\tADD 'é' " is 1 + 4 + 5 bytes (é is two), so TOO is at byte 11
    // (it would be column 10 in characters).
    Error e = error_from([&] { db->exec("-- x\n\tADD '\xc3\xa9' TOO s"); });
    CHECK(std::string(e.what()).rfind("line 2, col 11: expected TO", 0) == 0);
    CHECK(e.line() == 2);
    CHECK(e.column() == 11);
  }
  SUBCASE("a lexical error") {
    Error e = error_from([&] { db->exec("\n\nADD x'abc' TO s"); });
    CHECK(e.line() == 3);
    CHECK(e.column() == 5);
  }
  SUBCASE("end of input") {
    Error e = error_from([&] { db->prepare("GET 1 FROM"); });
    CHECK(std::string(e.what()) ==
          "line 1, col 11: expected a stream name, found end of input");
    CHECK(e.line() == 1);
    CHECK(e.column() == 11);
  }
}

TEST_CASE("Error position: compile and run errors") {
  Db db;
  fill(db, "s", 3);
  SUBCASE("NoSuchStream names the stream") {
    Error e = error_from(
        [&] { db->exec("GET 1 FROM s;\n  GET 1 FROM nope").drain(); });
    CHECK(e.code() == ErrorCode::NoSuchStream);
    CHECK(std::string(e.what()) == "line 2, col 14: no such stream: nope");
    CHECK(e.line() == 2);
    CHECK(e.column() == 14);
  }
  SUBCASE("a compile error: key 0") {
    Error e = error_from([&] { db->exec("GET  0 FROM s"); });
    CHECK(e.code() == ErrorCode::InvalidArgument);
    CHECK(e.line() == 1);
    CHECK(e.column() == 6);
  }
  SUBCASE("an unbound parameter") {
    Statement st = db->prepare("GET 1, ? FROM s");
    Error e = error_from([&] { st.step(); });
    CHECK(std::string(e.what()) == "line 1, col 8: parameter 1 is not bound");
    CHECK(e.line() == 1);
    CHECK(e.column() == 8);
  }
  SUBCASE("a parameter of the wrong type, found when it runs") {
    Statement st = db->prepare("GET 1, ? FROM s");
    st.bind(1, "bytes");
    Error e = error_from([&] { st.step(); });
    CHECK(e.code() == ErrorCode::InvalidArgument);
    CHECK(std::string(e.what()).rfind("line 1, col 8: parameter 1 must", 0) ==
          0);
    CHECK(e.line() == 1);
    CHECK(e.column() == 8);
  }
  SUBCASE("a failure inside BEGIN keeps its position") {
    db->exec("BEGIN");
    Error e = error_from([&] { db->exec("COMMIT;\n BEGIN;  BEGIN").drain(); });
    CHECK(e.code() == ErrorCode::Misuse);
    CHECK(e.line() == 2);
    CHECK(e.column() == 10);
  }
}

TEST_CASE("Error position: errors without a place have 0, 0") {
  TempDir dir;
  std::string path = dir.file("not.klite");
  write_file_bytes(path, std::string(8192, 'x'));
  Error e = error_from([&] { Engine::open(path); });
  CHECK(e.code() == ErrorCode::NotKlite);
  CHECK(e.line() == 0);
  CHECK(e.column() == 0);

  Error plain(ErrorCode::Misuse, "line 1, col 1: looks placed, is not");
  CHECK(plain.line() == 0);
  CHECK(plain.column() == 0);
  Error placed(ErrorCode::Syntax, "line 4, col 2: x", 4, 2);
  CHECK(placed.line() == 4);
  CHECK(placed.column() == 2);
}
