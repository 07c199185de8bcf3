// The query parser (query/parser.h): every statement form to its exact AST
// (positions and parameter numbers included, through the text form of
// ast_dump.h), the lexical rules, and a table of malformed queries with the
// exact message each one gives.
#include <doctest/doctest.h>

#include "query/parser.h"
#include "tests/query/ast_dump.h"

#include <klite/error.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;
using klite::Error;
using klite::ErrorCode;
using klite::query::parse;
using klite::query::test::dump;
namespace ast = klite::query::ast;

namespace {

// The AST of `text` as one line, or "error: <message>".
std::string parsed(std::string_view text) {
  try {
    return dump(parse(text));
  } catch (const Error& e) {
    return "error: "s + e.what();
  }
}

// The message of the syntax error `text` gives, or "<parsed>".
std::string syntax_error(std::string_view text) {
  try {
    parse(text);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::Syntax)
      return "<not a syntax error> "s + e.what();
    return e.what();
  }
  return "<parsed>";
}

struct Case {
  std::string text;
  std::string expected;
};

void check_all(const std::vector<Case>& cases,
               std::string (*run)(std::string_view)) {
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(run(c.text) == c.expected);
  }
}

} // namespace

TEST_CASE("Query parser: every statement form") {
  check_all(
      {
          {"ADD 'a' TO s", "ADD@1:1 ['a'@1:5] TO s@1:12"},
          {"ADD 'a', \"b\", x'00ff', ?, :v TO pay.ments-1",
           "ADD@1:1 ['a'@1:5, 'b'@1:10, '\\x00\\xff'@1:15, ?#1@1:24, "
           ":v#2@1:27] TO pay.ments-1@1:33"},
          {"GET 1 FROM s", "GET@1:1 [1@1:5] FROM s@1:12"},
          {"GET 1, 5, 9 FROM s", "GET@1:1 [1@1:5, 5@1:8, 9@1:11] FROM s@1:18"},
          {"GET 9,1,9 FROM s", "GET@1:1 [9@1:5, 1@1:7, 9@1:9] FROM s@1:16"},
          {"GET 10 AFTER 0 FROM s", "GET@1:1 10@1:5 AFTER 0@1:14 FROM s@1:21"},
          {"GET 10 BEFORE 100 FROM s",
           "GET@1:1 10@1:5 BEFORE 100@1:15 FROM s@1:24"},
          {"GET FIRST 10 FROM s", "GET@1:1 FIRST 10@1:11 FROM s@1:19"},
          {"GET LAST ? FROM s", "GET@1:1 LAST ?#1@1:10 FROM s@1:17"},
          {"GET 10 AFTER TIME '2026-11-25T10:00:00Z' FROM s",
           "GET@1:1 10@1:5 AFTER TIME '2026-11-25T10:00:00Z'@1:19 FROM "
           "s@1:47"},
          {"GET ? AFTER TIME :t FROM s",
           "GET@1:1 ?#1@1:5 AFTER TIME :t#2@1:18 FROM s@1:26"},
          {"GET ? AFTER ? FROM s",
           "GET@1:1 ?#1@1:5 AFTER ?#2@1:13 FROM s@1:20"},
          {"CREATE STREAM s", "CREATE STREAM@1:1 s@1:15"},
          {"CREATE STREAM s WITH (max_age = '7d', max_bytes = '1GiB', "
           "max_records = 1000000)",
           "CREATE STREAM@1:1 s@1:15 WITH (max_age@1:23 = '7d'@1:33, "
           "max_bytes@1:39 = '1GiB'@1:51, max_records@1:59 = "
           "1000000@1:73)"},
          {"ALTER STREAM s SET (max_records = 500)",
           "ALTER STREAM@1:1 s@1:14 SET (max_records@1:21 = 500@1:35)"},
          {"DROP STREAM s", "DROP STREAM@1:1 s@1:13"},
          {"SHOW STREAMS", "SHOW STREAMS@1:1"},
          {"INFO s", "INFO@1:1 s@1:6"},
          {"BEGIN", "BEGIN@1:1"},
          {"COMMIT", "COMMIT@1:1"},
          {"ROLLBACK", "ROLLBACK@1:1"},
          {"EXPIRE s BEFORE 1000", "EXPIRE@1:1 s@1:8 BEFORE 1000@1:17"},
          {"EXPIRE s BEFORE :k", "EXPIRE@1:1 s@1:8 BEFORE :k#1@1:17"},
          {"EXPIRE s OLDER THAN 7d",
           "EXPIRE@1:1 s@1:8 OLDER THAN 604800000000us@1:21"},
          {"ADD 'a', ? TO s TTL 60s",
           "ADD@1:1 ['a'@1:5, ?#1@1:10] TO s@1:15 TTL 60000000us@1:21"},
          {"ADD 'a' TO s TTL '1h'", "ADD@1:1 ['a'@1:5] TO s@1:12 TTL '1h'@1:18"},
          {"ADD 'a' TO s TTL :t", "ADD@1:1 ['a'@1:5] TO s@1:12 TTL :t#1@1:18"},
          {"ADD 'a' TO ttl ttl 0", "ADD@1:1 ['a'@1:5] TO ttl@1:12 TTL 0us@1:20"},
          {"VACUUM", "VACUUM@1:1"},
          {"EXPLAIN vacuum", "EXPLAIN@1:1 (VACUUM@1:9)"},
          {"EXPLAIN GET 10 AFTER 5 FROM s",
           "EXPLAIN@1:1 (GET@1:9 10@1:13 AFTER 5@1:22 FROM s@1:29)"},
          {"EXPLAIN EXPLAIN ADD ? TO s",
           "EXPLAIN@1:1 (EXPLAIN@1:9 (ADD@1:17 [?#1@1:21] TO s@1:26))"},
          {"EXPLAIN SHOW STREAMS", "EXPLAIN@1:1 (SHOW STREAMS@1:9)"},
          {"EXPLAIN BEGIN", "EXPLAIN@1:1 (BEGIN@1:9)"},
      },
      parsed);
}

TEST_CASE("Query parser: keywords are case-insensitive, names are not") {
  check_all(
      {
          {"get 1 from s", "GET@1:1 [1@1:5] FROM s@1:12"},
          {"Get First 2 From S", "GET@1:1 FIRST 2@1:11 FROM S@1:18"},
          {"gEt 3 AfTeR tImE '2026-01-01T00:00:00Z' fRoM Mixed_Case",
           "GET@1:1 3@1:5 AFTER TIME '2026-01-01T00:00:00Z'@1:18 FROM "
           "Mixed_Case@1:46"},
          {"add X'AbCd' to s", "ADD@1:1 ['\\xab\\xcd'@1:5] TO s@1:16"},
          {"create stream s; Drop Stream s; show streams; info s",
           "CREATE STREAM@1:1 s@1:15; DROP STREAM@1:18 s@1:30; SHOW "
           "STREAMS@1:33; INFO@1:47 s@1:52"},
          {"begin; Commit; ROLLBACK; rollback",
           "BEGIN@1:1; COMMIT@1:8; ROLLBACK@1:16; ROLLBACK@1:26"},
          {"expire s older than 12H", "EXPIRE@1:1 s@1:8 OLDER THAN "
                                      "43200000000us@1:21"},
          // Option names and units are case-insensitive too.
          {"create stream s with (MAX_AGE = 1D, Max_Bytes = 1gib, "
           "max_RECORDS = NONE)",
           "CREATE STREAM@1:1 s@1:15 WITH (max_age@1:23 = "
           "86400000000us@1:33, max_bytes@1:37 = 1073741824@1:49, "
           "max_records@1:55 = 0@1:69)"},
          {"alter stream s set (max_bytes = 2Kb)",
           "ALTER STREAM@1:1 s@1:14 SET (max_bytes@1:21 = 2000@1:33)"},
          {"explain get last 1 from s",
           "EXPLAIN@1:1 (GET@1:9 LAST 1@1:18 FROM s@1:25)"},
      },
      parsed);
}

TEST_CASE("Query parser: whitespace, comments and positions") {
  check_all(
      {
          {"  GET\t1\r\n  FROM\n\n   s  ", "GET@1:3 [1@1:7] FROM s@4:4"},
          {"-- first\nGET 1 FROM s -- trailing", "GET@2:1 [1@2:5] FROM s@2:12"},
          {"GET--c\n1--c\nFROM--c\ns--c", "GET@1:1 [1@2:1] FROM s@4:1"},
          {"GET 1 FROM s -- ; GET 2 FROM s", "GET@1:1 [1@1:5] FROM s@1:12"},
          {"GET 1 FROM s;\n-- only a comment after",
           "GET@1:1 [1@1:5] FROM s@1:12"},
          // Columns count bytes: the é is two.
          {"ADD 'é' TO s", "ADD@1:1 ['\\xc3\\xa9'@1:5] TO s@1:13"},
          {"GET\f1\vFROM s", "GET@1:1 [1@1:5] FROM s@1:12"},
      },
      parsed);
}

TEST_CASE("Query parser: string literals, escapes and blobs") {
  auto value = [](std::string_view text) {
    auto script = parse(text);
    REQUIRE(script.statements.size() == 1);
    const auto& add = boost::get<ast::Add>(script.statements[0]);
    REQUIRE(add.values.size() == 1);
    return boost::get<ast::Bytes>(add.values[0]).value;
  };
  CHECK(value("ADD '' TO s") == "");
  CHECK(value("ADD \"\" TO s") == "");
  CHECK(value(R"(ADD 'a\\b\'c\"d\ne\rf\tg\0h' TO s)") ==
        "a\\b'c\"d\ne\rf\tg\0h"s);
  CHECK(value(R"(ADD "say \"hi\" 'there'" TO s)") == "say \"hi\" 'there'");
  CHECK(value(R"(ADD 'a "b" c' TO s)") == "a \"b\" c");
  CHECK(value(R"(ADD '\x00\x7f\x80\xFF\xaB' TO s)") == "\x00\x7f\x80\xff\xab"s);
  CHECK(value("ADD 'two\nlines' TO s") == "two\nlines");
  CHECK(value("ADD '-- not a comment' TO s") == "-- not a comment");
  CHECK(value("ADD ';' TO s") == ";");
  // Raw bytes inside a literal are taken as they are, NUL included.
  CHECK(value("ADD '\x00\xff\xfe' TO s"s) == "\x00\xff\xfe"s);
  CHECK(value("ADD x'' TO s") == "");
  CHECK(value("ADD X'00FF' TO s") == "\x00\xff"s);
  CHECK(value("ADD x'0123456789abcdefABCDEF' TO s") ==
        "\x01\x23\x45\x67\x89\xab\xcd\xef\xab\xcd\xef"s);
  // Adjacent literals are two tokens, not a doubled quote.
  CHECK(syntax_error("ADD 'it''s' TO s") ==
        "line 1, col 9: expected TO, found \"'s'\"");
  std::string big(1 << 20, 'v');
  CHECK(value("ADD '" + big + "' TO s") == big);
}

TEST_CASE("Query parser: numbers") {
  auto first_key = [](std::string_view text) {
    auto script = parse(text);
    const auto& get = boost::get<ast::GetKeys>(script.statements.at(0));
    return boost::get<ast::Number>(get.keys.at(0)).value;
  };
  CHECK(first_key("GET 0 FROM s") == 0); // the compiler rejects key 0
  CHECK(first_key("GET 18446744073709551615 FROM s") == UINT64_MAX);
  CHECK(first_key("GET 00000000000000000000018446744073709551615 FROM s") ==
        UINT64_MAX);
  CHECK(first_key("GET 007 FROM s") == 7);
  CHECK(parsed("GET 18446744073709551615 AFTER 18446744073709551614 FROM s") ==
        "GET@1:1 18446744073709551615@1:5 AFTER 18446744073709551614@1:32 "
        "FROM s@1:58");
  CHECK(parsed("GET 0 BEFORE 0 FROM s") ==
        "GET@1:1 0@1:5 BEFORE 0@1:14 FROM s@1:21");
  CHECK(parsed("GET FIRST 0 FROM s") == "GET@1:1 FIRST 0@1:11 FROM s@1:18");
}

TEST_CASE("Query parser: durations") {
  CHECK(parsed("EXPIRE s OLDER THAN 90s") ==
        "EXPIRE@1:1 s@1:8 OLDER THAN 90000000us@1:21");
  CHECK(parsed("EXPIRE s OLDER THAN 15m") ==
        "EXPIRE@1:1 s@1:8 OLDER THAN 900000000us@1:21");
  CHECK(parsed("EXPIRE s OLDER THAN 12h") ==
        "EXPIRE@1:1 s@1:8 OLDER THAN 43200000000us@1:21");
  CHECK(parsed("EXPIRE s OLDER THAN 0D") ==
        "EXPIRE@1:1 s@1:8 OLDER THAN 0us@1:21");
  // A bare 0 needs no unit.
  CHECK(parsed("EXPIRE s OLDER THAN 0") ==
        "EXPIRE@1:1 s@1:8 OLDER THAN 0us@1:21");
  // The largest: floor((2^63 - 1) / 86400e6) days, since the engine takes
  // signed microseconds.
  CHECK(parsed("EXPIRE s OLDER THAN 106751991d") ==
        "EXPIRE@1:1 s@1:8 OLDER THAN 9223372022400000000us@1:21");
  CHECK(parsed("EXPIRE s OLDER THAN 9223372036854s") ==
        "EXPIRE@1:1 s@1:8 OLDER THAN 9223372036854000000us@1:21");
  const std::string range =
      "duration out of range (the largest is 106751991d), found ";
  CHECK(syntax_error("EXPIRE s OLDER THAN 106751992d") ==
        "line 1, col 21: " + range + "\"106751992d\"");
  CHECK(syntax_error("EXPIRE s OLDER THAN 9223372036855s") ==
        "line 1, col 21: " + range + "\"9223372036855s\"");
  CHECK(syntax_error("EXPIRE s OLDER THAN 18446744073709551616s") ==
        "line 1, col 21: " + range + "\"18446744073709551616...\"");
  // Quoted durations and parameters are the compiler's and the VM's to
  // read (tests/vm/retention_test.cpp).
  CHECK(parsed("EXPIRE s OLDER THAN '7d'") ==
        "EXPIRE@1:1 s@1:8 OLDER THAN '7d'@1:21");
  CHECK(parsed("EXPIRE s OLDER THAN :age") ==
        "EXPIRE@1:1 s@1:8 OLDER THAN :age#1@1:21");
}

TEST_CASE("Query parser: retention options") {
  auto with = [](const std::string& options) {
    return parsed("CREATE STREAM s WITH (" + options + ")");
  };
  const std::string head = "CREATE STREAM@1:1 s@1:15 WITH (";
  SUBCASE("sizes: decimal and binary units, any case") {
    const std::pair<const char*, const char*> sizes[] = {
        {"0", "0"},
        {"1", "1"},
        {"1B", "1"},
        {"1b", "1"},
        {"1kB", "1000"},
        {"1KB", "1000"},
        {"1kb", "1000"},
        {"1MB", "1000000"},
        {"1GB", "1000000000"},
        {"1TB", "1000000000000"},
        {"1KiB", "1024"},
        {"1kib", "1024"},
        {"1MiB", "1048576"},
        {"1GiB", "1073741824"},
        {"3TiB", "3298534883328"},
        {"0TiB", "0"},
        {"none", "0"},
        {"None", "0"},
        {"18446744073709551615", "18446744073709551615"},
        {"18446744073709551615B", "18446744073709551615"},
        {"16777215TiB", "18446742974197923840"},
    };
    for (const auto& size : sizes) { // clang 14 cannot CAPTURE a binding
      CAPTURE(size.first);
      CHECK(with(std::string("max_bytes = ") + size.first) ==
            head + "max_bytes@1:23 = " + size.second + "@1:35)");
    }
  }
  SUBCASE("durations and record counts") {
    CHECK(with("max_age = 90s") == head + "max_age@1:23 = 90000000us@1:33)");
    CHECK(with("max_age = 0") == head + "max_age@1:23 = 0us@1:33)");
    CHECK(with("max_age = none") == head + "max_age@1:23 = 0us@1:33)");
    CHECK(with("max_age = 106751991d") ==
          head + "max_age@1:23 = 9223372022400000000us@1:33)");
    CHECK(with("max_records = 0") == head + "max_records@1:23 = 0@1:37)");
    CHECK(with("max_records = 18446744073709551615") ==
          head + "max_records@1:23 = 18446744073709551615@1:37)");
  }
  SUBCASE("quoted values and parameters are kept for the compiler") {
    CHECK(with("max_bytes = \"1 GiB\", max_age = 'none'") ==
          head + "max_bytes@1:23 = '1 GiB'@1:35, max_age@1:44 = "
                 "'none'@1:54)");
    CHECK(with("max_age = ?, max_bytes = :b, max_records = ?") ==
          head + "max_age@1:23 = ?#1@1:33, max_bytes@1:36 = :b#2@1:48, "
                 "max_records@1:52 = ?#3@1:66)");
  }
  SUBCASE("any order, whitespace and comments between tokens") {
    CHECK(parsed("CREATE STREAM s WITH(max_records=5,max_age=1h)") ==
          "CREATE STREAM@1:1 s@1:15 WITH (max_records@1:22 = 5@1:34, "
          "max_age@1:36 = 3600000000us@1:44)");
    CHECK(parsed("ALTER STREAM s SET (\n  max_bytes = 1MB, -- c\n  max_age "
                 "= 2d\n)") ==
          "ALTER STREAM@1:1 s@1:14 SET (max_bytes@2:3 = 1000000@2:15, "
          "max_age@3:3 = 172800000000us@3:13)");
  }
  SUBCASE("a repeated option parses: the compiler rejects it") {
    CHECK(with("max_age = 1d, max_age = 2d") ==
          head + "max_age@1:23 = 86400000000us@1:33, max_age@1:37 = "
                 "172800000000us@1:47)");
  }
  SUBCASE("option names are not reserved") {
    CHECK(parsed("INFO max_age") == "INFO@1:1 max_age@1:6");
    CHECK(parsed("CREATE STREAM max_bytes WITH (max_bytes = 1)") ==
          "CREATE STREAM@1:1 max_bytes@1:15 WITH (max_bytes@1:31 = 1@1:43)");
  }
}

TEST_CASE("Query parser: parameters are numbered across the script") {
  check_all(
      {
          {"ADD ?, ?, ? TO s",
           "ADD@1:1 [?#1@1:5, ?#2@1:8, ?#3@1:11] TO s@1:16"},
          {"GET :a, ?, :b, :a, ? FROM s; ADD :b, ? TO t",
           "GET@1:1 [:a#1@1:5, ?#2@1:9, :b#3@1:12, :a#1@1:16, ?#4@1:20] "
           "FROM s@1:27; ADD@1:30 [:b#3@1:34, ?#5@1:38] TO t@1:43"},
          {"GET ? BEFORE ? FROM s; GET ? AFTER TIME ? FROM s",
           "GET@1:1 ?#1@1:5 BEFORE ?#2@1:14 FROM s@1:21; GET@1:24 ?#3@1:28 "
           "AFTER TIME ?#4@1:41 FROM s@1:48"},
          {"EXPIRE s BEFORE ?; EXPIRE s OLDER THAN :a; ALTER STREAM s SET "
           "(max_age = :a, max_records = ?)",
           "EXPIRE@1:1 s@1:8 BEFORE ?#1@1:17; EXPIRE@1:20 s@1:27 OLDER THAN "
           ":a#2@1:40; ALTER STREAM@1:44 s@1:57 SET (max_age@1:64 = "
           ":a#2@1:74, max_records@1:78 = ?#3@1:92)"},
          {"EXPLAIN GET :n AFTER :k FROM s; GET :k, :n FROM s",
           "EXPLAIN@1:1 (GET@1:9 :n#1@1:13 AFTER :k#2@1:22 FROM s@1:30); "
           "GET@1:33 [:k#2@1:37, :n#1@1:41] FROM s@1:49"},
          // Names are case-sensitive and may use the identifier charset.
          {"ADD :K, :k, :a.b-c_1 TO s",
           "ADD@1:1 [:K#1@1:5, :k#2@1:9, :a.b-c_1#3@1:13] TO s@1:25"},
          // A keyword is a fine parameter name.
          {"ADD :from TO s", "ADD@1:1 [:from#1@1:5] TO s@1:14"},
          {"GET FIRST :n FROM s", "GET@1:1 FIRST :n#1@1:11 FROM s@1:19"},
      },
      parsed);
}

TEST_CASE("Query parser: stream names") {
  check_all(
      {
          {"INFO a", "INFO@1:1 a@1:6"},
          {"INFO _", "INFO@1:1 _@1:6"},
          {"INFO A.b-c_9", "INFO@1:1 A.b-c_9@1:6"},
          {"INFO a.", "INFO@1:1 a.@1:6"},
          {"INFO a-", "INFO@1:1 a-@1:6"},
          // Words that start with a keyword are names.
          {"INFO getter", "INFO@1:1 getter@1:6"},
          {"INFO from.x", "INFO@1:1 from.x@1:6"},
          {"INFO streams2", "INFO@1:1 streams2@1:6"},
          // `--` always starts a comment.
          {"INFO a--b", "INFO@1:1 a@1:6"},
          {"INFO x", "INFO@1:1 x@1:6"},
      },
      parsed);
  std::string longest(128, 'n');
  CHECK(parsed("INFO " + longest) == "INFO@1:1 " + longest + "@1:6");
  CHECK(syntax_error("INFO " + longest + "n") ==
        "line 1, col 6: identifier longer than 128 bytes, found "
        "\"nnnnnnnnnnnnnnnnnnnn...\"");
  for (std::string_view word :
       {"add",  "AFTER",  "alter",    "before", "begin", "commit", "create",
        "drop", "expire", "explain",  "first",  "from",  "get",    "info",
        "last", "older",  "rollback", "set",    "show",  "stream", "streams",
        "than", "time",   "to",       "with"}) {
    CAPTURE(word);
    CHECK(syntax_error("INFO " + std::string(word)) ==
          "line 1, col 6: expected a stream name, found \"" +
              std::string(word) + "\" (a reserved word)");
  }
}

TEST_CASE("Query parser: several statements and their texts") {
  auto script = parse(" GET 1 FROM s ;\n\n  ADD 'a;b' ,\n 'c' TO t -- c\n;"
                      "SHOW STREAMS;  BEGIN  ");
  REQUIRE(script.statements.size() == 4);
  CHECK(script.texts == std::vector<std::string>{"GET 1 FROM s",
                                                 "ADD 'a;b' ,\n 'c' TO t",
                                                 "SHOW STREAMS", "BEGIN"});
  CHECK(dump(script) == "GET@1:2 [1@1:6] FROM s@1:13; ADD@3:3 ['a;b'@3:7, "
                        "'c'@4:2] TO t@4:9; SHOW STREAMS@5:2; BEGIN@5:17");

  auto one = parse("EXPLAIN GET 1 FROM s;");
  CHECK(one.texts == std::vector<std::string>{"EXPLAIN GET 1 FROM s"});

  auto many = parse("BEGIN;ADD 'x' TO s;ADD 'y' TO s;COMMIT");
  CHECK(many.texts == std::vector<std::string>{"BEGIN", "ADD 'x' TO s",
                                               "ADD 'y' TO s", "COMMIT"});
}

TEST_CASE("Query parser: EXPLAIN nests at most 4 deep") {
  CHECK(parsed("EXPLAIN EXPLAIN EXPLAIN EXPLAIN BEGIN") ==
        "EXPLAIN@1:1 (EXPLAIN@1:9 (EXPLAIN@1:17 (EXPLAIN@1:25 "
        "(BEGIN@1:33))))");
  CHECK(syntax_error("EXPLAIN EXPLAIN EXPLAIN EXPLAIN EXPLAIN BEGIN") ==
        "line 1, col 33: EXPLAIN nested more than 4 deep, found \"EXPLAIN\"");
  std::string deep;
  for (int i = 0; i < 100000; ++i)
    deep += "explain ";
  CHECK(syntax_error(deep + "BEGIN") ==
        "line 1, col 33: EXPLAIN nested more than 4 deep, found \"explain\"");
}

// The malformed-query table: each gives Error(Syntax) with exactly this
// message. The column is that of the offending token, after whitespace and
// comments; "found" shows the token (at most 20 bytes) or "end of input".
TEST_CASE("Query parser: malformed queries") {
  const std::string value = "a value (a string, a blob or a parameter)";
  const std::string time =
      "a time (a string such as '2026-11-25T10:00:00Z', or a parameter)";
  const std::string duration =
      "a duration (a number and s, m, h or d, as in 7d)";
  const std::string get = "a key, a count, FIRST or LAST";
  const std::string range = "number out of range (the largest is "
                            "18446744073709551615)";
  const std::string option = "an option (max_age, max_bytes or max_records)";
  const std::string age_limit = "a duration (a number and s, m, h or d, as in "
                                "7d; 0 or none for no limit)";
  const std::string size_limit =
      "a size (a number and an optional unit B, kB, MB, GB, TB, KiB, MiB, GiB "
      "or TiB; 0 or none for no limit)";
  const std::string count_limit =
      "a number of records (0 or none for no limit)";
  const std::string size_range =
      "size out of range (the largest is 18446744073709551615 bytes)";
  check_all(
      {
          // Empty scripts and empty statements.
          {"", "line 1, col 1: expected a statement, found end of input"},
          {"   \n  ",
           "line 2, col 3: expected a statement, found end of input"},
          {"-- only a comment",
           "line 1, col 18: expected a statement, found end of input"},
          {"-- one\n-- two\n",
           "line 3, col 1: expected a statement, found end of input"},
          {";", "line 1, col 1: expected a statement, found \";\""},
          {";;;", "line 1, col 1: expected a statement, found \";\""},
          {"; GET 1 FROM s",
           "line 1, col 1: expected a statement, found \";\""},
          {"GET 1 FROM s;;",
           "line 1, col 14: expected a statement, found \";\""},
          {"GET 1 FROM s; ;GET 2 FROM s",
           "line 1, col 15: expected a statement, found \";\""},
          // Unknown and misspelled statements and keywords.
          {"SELECT * FROM s",
           "line 1, col 1: expected a statement, found \"SELECT\""},
          {"GTE 1 FROM s",
           "line 1, col 1: expected a statement, found \"GTE\""},
          {"GETFIRST 10 FROM s",
           "line 1, col 1: expected a statement, found \"GETFIRST\""},
          {"GET 1 FORM s", "line 1, col 7: expected FROM, found \"FORM\""},
          {"GET 1 FROMs", "line 1, col 7: expected FROM, found \"FROMs\""},
          {"ADD 'a' FROM s", "line 1, col 9: expected TO, found \"FROM\""},
          {"CREATE s", "line 1, col 8: expected STREAM, found \"s\""},
          {"CREATE STREAMS s",
           "line 1, col 8: expected STREAM, found \"STREAMS\""},
          {"DROP s", "line 1, col 6: expected STREAM, found \"s\""},
          {"SHOW STREAM", "line 1, col 6: expected STREAMS, found \"STREAM\""},
          {"EXPIRE s AFTER 5",
           "line 1, col 10: expected BEFORE or OLDER THAN, found \"AFTER\""},
          {"EXPIRE s OLDER 7d", "line 1, col 16: expected THAN, found \"7d\""},
          {"GET 10 BEFORE TIME '2026-01-01T00:00:00Z' FROM s",
           "line 1, col 15: expected a key, found \"TIME\""},
          {"GET 10 AFTER 5 TO s",
           "line 1, col 16: expected FROM, found \"TO\""},
          // Truncated statements.
          {"GET", "line 1, col 4: expected " + get + ", found end of input"},
          {"GET 1", "line 1, col 6: expected FROM, found end of input"},
          {"GET 1 FROM",
           "line 1, col 11: expected a stream name, found end of input"},
          {"GET 1,", "line 1, col 7: expected a key, found end of input"},
          {"GET LAST", "line 1, col 9: expected a count, found end of input"},
          {"GET 10 AFTER",
           "line 1, col 13: expected a key or TIME, found end of input"},
          {"GET 10 BEFORE",
           "line 1, col 14: expected a key, found end of input"},
          {"GET 10 AFTER TIME",
           "line 1, col 18: expected " + time + ", found end of input"},
          {"ADD", "line 1, col 4: expected " + value + ", found end of input"},
          {"ADD 'a'", "line 1, col 8: expected TO, found end of input"},
          {"ADD 'a',",
           "line 1, col 9: expected " + value + ", found end of input"},
          {"ADD 'a' TO",
           "line 1, col 11: expected a stream name, found end of input"},
          {"CREATE STREAM",
           "line 1, col 14: expected a stream name, found end of input"},
          {"DROP STREAM",
           "line 1, col 12: expected a stream name, found end of input"},
          {"SHOW", "line 1, col 5: expected STREAMS, found end of input"},
          {"INFO", "line 1, col 5: expected a stream name, found end of input"},
          {"EXPIRE",
           "line 1, col 7: expected a stream name, found end of input"},
          {"EXPIRE s",
           "line 1, col 9: expected BEFORE or OLDER THAN, found end of input"},
          {"EXPIRE s BEFORE",
           "line 1, col 16: expected a key, found end of input"},
          {"EXPIRE s OLDER THAN",
           "line 1, col 20: expected " + duration + ", found end of input"},
          {"EXPLAIN",
           "line 1, col 8: expected a statement, found end of input"},
          {"EXPLAIN;", "line 1, col 8: expected a statement, found \";\""},
          // Wrong tokens.
          {"GET 1, FROM s", "line 1, col 8: expected a key, found \"FROM\""},
          {"GET 1 2 FROM s", "line 1, col 7: expected FROM, found \"2\""},
          {"GET x FROM s", "line 1, col 5: expected " + get + ", found \"x\""},
          {"GET 'a' FROM s",
           "line 1, col 5: expected " + get + ", found \"'a'\""},
          {"GET ?? FROM s", "line 1, col 6: expected FROM, found \"?\""},
          {"GET FIRST FROM s",
           "line 1, col 11: expected a count, found \"FROM\""},
          {"GET FIRST 10 s", "line 1, col 14: expected FROM, found \"s\""},
          {"GET 10 AFTER FROM s",
           "line 1, col 14: expected a key or TIME, found \"FROM\""},
          {"GET 10 AFTER TIME 5 FROM s",
           "line 1, col 19: expected " + time + ", found \"5\""},
          {"GET 10 AFTER TIME x'00' FROM s",
           "line 1, col 19: expected " + time + ", found \"x'00'\""},
          {"ADD TO s", "line 1, col 5: expected " + value + ", found \"TO\""},
          {"ADD 5 TO s", "line 1, col 5: expected " + value + ", found \"5\""},
          {"ADD s TO t", "line 1, col 5: expected " + value + ", found \"s\""},
          {"ADD 'a', TO s",
           "line 1, col 10: expected " + value + ", found \"TO\""},
          {"ADD x '00' TO s",
           "line 1, col 5: expected " + value + ", found \"x\""},
          {"INFO 5", "line 1, col 6: expected a stream name, found \"5\""},
          {"GET 1 FROM 9s",
           "line 1, col 12: expected a stream name, found \"9s\""},
          {"GET 1 FROM from",
           "line 1, col 12: expected a stream name, found \"from\" (a reserved "
           "word)"},
          {"CREATE STREAM stream",
           "line 1, col 15: expected a stream name, found \"stream\" (a "
           "reserved word)"},
          {"GET 1 FROM s t",
           "line 1, col 14: expected ';' or end of input, found \"t\""},
          {"SHOW STREAMS s",
           "line 1, col 14: expected ';' or end of input, found \"s\""},
          {"BEGIN TRANSACTION", "line 1, col 7: expected ';' or end of input, "
                                "found \"TRANSACTION\""},
          {"COMMIT WORK",
           "line 1, col 8: expected ';' or end of input, found \"WORK\""},
          {"ROLLBACK s",
           "line 1, col 10: expected ';' or end of input, found \"s\""},
          // Numbers: signs, fractions, suffixes, 2^64 and above.
          {"GET -1 FROM s",
           "line 1, col 5: expected " + get + ", found \"-1\""},
          {"GET 10 AFTER -5 FROM s",
           "line 1, col 14: expected a key or TIME, found \"-5\""},
          {"GET LAST -3 FROM s",
           "line 1, col 10: expected a count, found \"-3\""},
          {"GET +1 FROM s", "line 1, col 5: expected " + get + ", found \"+\""},
          {"GET 1.5 FROM s",
           "line 1, col 5: expected " + get + ", found \"1.5\""},
          {"GET 10abc FROM s",
           "line 1, col 5: expected " + get + ", found \"10abc\""},
          {"GET 18446744073709551616 FROM s",
           "line 1, col 5: " + range + ", found \"18446744073709551616\""},
          {"GET 1, 99999999999999999999999 FROM s",
           "line 1, col 8: " + range + ", found \"99999999999999999999...\""},
          {"GET 5 BEFORE 18446744073709551616 FROM s",
           "line 1, col 14: " + range + ", found \"18446744073709551616\""},
          // Durations.
          {"EXPIRE s OLDER THAN 7",
           "line 1, col 21: expected " + duration + ", found \"7\""},
          {"EXPIRE s OLDER THAN 7w",
           "line 1, col 21: expected " + duration + ", found \"7w\""},
          {"EXPIRE s OLDER THAN 7 d",
           "line 1, col 21: expected " + duration + ", found \"7\""},
          {"EXPIRE s OLDER THAN 7dd",
           "line 1, col 21: expected " + duration + ", found \"7dd\""},

          // Retention options.
          {"CREATE STREAM s WITH ()",
           "line 1, col 23: expected " + option + ", found \")\""},
          {"CREATE STREAM s WITH",
           "line 1, col 21: expected '(', found end of input"},
          {"CREATE STREAM s WITH max_age = 1d",
           "line 1, col 22: expected '(', found \"max_age\""},
          {"CREATE STREAM s WITH (max_agee = 1d)",
           "line 1, col 23: expected " + option + ", found \"max_agee\""},
          {"CREATE STREAM s WITH (retention = 1d)",
           "line 1, col 23: expected " + option + ", found \"retention\""},
          {"CREATE STREAM s WITH (max_age 1d)",
           "line 1, col 31: expected '=', found \"1d\""},
          {"CREATE STREAM s WITH (max_age = 1d",
           "line 1, col 35: expected ',' or ')', found end of input"},
          {"CREATE STREAM s WITH (max_age = 1d max_bytes = 1)",
           "line 1, col 36: expected ',' or ')', found \"max_bytes\""},
          {"CREATE STREAM s WITH (max_age = 1d,)",
           "line 1, col 36: expected " + option + ", found \")\""},
          {"CREATE STREAM s WITH (max_age = 1d) x",
           "line 1, col 37: expected ';' or end of input, found \"x\""},
          {"CREATE STREAM s WITH (max_age = )",
           "line 1, col 33: expected " + age_limit + ", found \")\""},
          {"CREATE STREAM s WITH (max_age = 7w)",
           "line 1, col 33: expected " + age_limit + ", found \"7w\""},
          {"CREATE STREAM s WITH (max_age = 7)",
           "line 1, col 33: expected " + age_limit + ", found \"7\""},
          {"CREATE STREAM s WITH (max_age = 1.5d)",
           "line 1, col 33: expected " + age_limit + ", found \"1.5d\""},
          {"CREATE STREAM s WITH (max_age = -1d)",
           "line 1, col 33: expected " + age_limit + ", found \"-1d\""},
          {"CREATE STREAM s WITH (max_age = 106751992d)",
           "line 1, col 33: duration out of range (the largest is "
           "106751991d), found \"106751992d\""},
          {"CREATE STREAM s WITH (max_bytes = 1XB)",
           "line 1, col 35: expected " + size_limit + ", found \"1XB\""},
          {"CREATE STREAM s WITH (max_bytes = 1K)",
           "line 1, col 35: expected " + size_limit + ", found \"1K\""},
          {"CREATE STREAM s WITH (max_bytes = 1GiBs)",
           "line 1, col 35: expected " + size_limit + ", found \"1GiBs\""},
          {"CREATE STREAM s WITH (max_bytes = 1.5GiB)",
           "line 1, col 35: expected " + size_limit + ", found \"1.5GiB\""},
          {"CREATE STREAM s WITH (max_bytes = -1)",
           "line 1, col 35: expected " + size_limit + ", found \"-1\""},
          {"CREATE STREAM s WITH (max_bytes = 1 GiB)",
           "line 1, col 37: expected ',' or ')', found \"GiB\""},
          {"CREATE STREAM s WITH (max_bytes = 16777216TiB)",
           "line 1, col 35: " + size_range + ", found \"16777216TiB\""},
          {"CREATE STREAM s WITH (max_bytes = 18446744073709551616)",
           "line 1, col 35: " + size_range +
               ", found \"18446744073709551616\""},
          {"CREATE STREAM s WITH (max_records = 1kB)",
           "line 1, col 37: expected " + count_limit + ", found \"1kB\""},
          {"CREATE STREAM s WITH (max_records = 2.5)",
           "line 1, col 37: expected " + count_limit + ", found \"2.5\""},
          {"CREATE STREAM s WITH (max_records = -5)",
           "line 1, col 37: expected " + count_limit + ", found \"-5\""},
          {"CREATE STREAM s WITH (max_records = x'05')",
           "line 1, col 37: expected " + count_limit + ", found \"x'05'\""},
          {"CREATE STREAM s WITH (max_records = 18446744073709551616)",
           "line 1, col 37: " + range + ", found \"18446744073709551616\""},
          {"ALTER s SET (max_age = 1d)",
           "line 1, col 7: expected STREAM, found \"s\""},
          {"ALTER STREAM s",
           "line 1, col 15: expected SET, found end of input"},
          {"ALTER STREAM s (max_age = 1d)",
           "line 1, col 16: expected SET, found \"(\""},
          {"ALTER STREAM s SET max_age = 1d",
           "line 1, col 20: expected '(', found \"max_age\""},
          {"ALTER STREAM s SET ()",
           "line 1, col 21: expected " + option + ", found \")\""},
          {"ALTER STREAM with SET (max_age = 1d)",
           "line 1, col 14: expected a stream name, found \"with\" (a "
           "reserved word)"},
          {"EXPIRE s OLDER THAN none",
           "line 1, col 21: expected " + duration + ", found \"none\""},
          {"EXPIRE s OLDER THAN -1d",
           "line 1, col 21: expected " + duration + ", found \"-1d\""},
          {"EXPIRE s BEFORE 1d",
           "line 1, col 17: expected a key, found \"1d\""},
          // String literals.
          {"ADD 'abc TO s",
           "line 1, col 5: unterminated string literal, found \"'abc TO s\""},
          {"ADD \"abc TO s", "line 1, col 5: unterminated string literal, "
                             "found \"\\\"abc TO s\""},
          {"ADD 'abc\\' TO s",
           "line 1, col 5: unterminated string literal, found \"'abc\\\\' TO "
           "s\""},
          {"ADD 'a', \"multi\nline TO s",
           "line 1, col 10: unterminated string literal, found "
           "\"\\\"multi\\nline TO s\""},
          {"ADD '" + std::string(100, 'z'),
           "line 1, col 5: unterminated string literal, found "
           "\"'zzzzzzzzzzzzzzzzzzz...\""},
          {"ADD 'a\\qb' TO s",
           "line 1, col 7: expected an escape sequence (\\\\, \\', \\\", \\n, "
           "\\r, \\t, \\0 or \\xHH), found \"\\\\q\""},
          {"ADD 'a\\x4' TO s",
           "line 1, col 7: expected two hex digits after \\x, found "
           "\"\\\\x4'\""},
          {"ADD 'a\\xg0' TO s",
           "line 1, col 7: expected two hex digits after \\x, found "
           "\"\\\\xg0\""},
          // Blobs.
          {"ADD x'0' TO s",
           "line 1, col 5: expected an even number of hex digits, found "
           "\"x'0'\""},
          {"ADD x'abc' TO s",
           "line 1, col 5: expected an even number of hex digits, found "
           "\"x'abc'\""},
          {"ADD x'0g' TO s",
           "line 1, col 8: expected a hex digit or the closing quote, found "
           "\"g\""},
          {"ADD x'00 TO s",
           "line 1, col 5: unterminated blob, found \"x'00 TO s\""},
          {"ADD X'00ff TO s; ADD 'a' TO t",
           "line 1, col 11: expected a hex digit or the closing quote, found "
           "\" \""},
          // Parameters.
          {"GET : FROM s",
           "line 1, col 5: expected a parameter name after ':', found \":\""},
          {"GET :1 FROM s",
           "line 1, col 5: expected a parameter name after ':', found \":\""},
          {"GET :" + std::string(129, 'p') + " FROM s",
           "line 1, col 5: parameter name longer than 128 bytes, found "
           "\":ppppppppppppppppppp...\""},
          // NUL, control and non-ASCII bytes outside literals.
          {"\0"s, "line 1, col 1: expected a statement, found \"\\x00\""},
          {"GET 1 FROM s\0"s,
           "line 1, col 13: expected ';' or end of input, found \"\\x00\""},
          {"GET\0 1 FROM s"s,
           "line 1, col 4: expected " + get + ", found \"\\x00\""},
          {"GET 1 FROM s\xff",
           "line 1, col 13: expected ';' or end of input, found \"\\xff\""},
          {"GET 1 FROM \xc3",
           "line 1, col 12: expected a stream name, found \"\\xc3\""},
          {"GET 1 FROM s\xed\xa0\x80", // an encoded surrogate
           "line 1, col 13: expected ';' or end of input, found \"\\xed\""},
          {"GET 1 FROM \xc0\xaf", // overlong '/'
           "line 1, col 12: expected a stream name, found \"\\xc0\""},
          {"GET 1 FROM caf\xc3\xa9",
           "line 1, col 15: expected ';' or end of input, found \"\xc3\xa9\""},
          {"INFO \xe2\x82\xac", "line 1, col 6: expected a stream name, found "
                                "\"\xe2\x82\xac\""},
          {"GET\x01 1 FROM s",
           "line 1, col 4: expected " + get + ", found \"\\x01\""},
          {"GET 1 FROM s\x1b[0m",
           "line 1, col 13: expected ';' or end of input, found \"\\x1b\""},
          // Errors on later lines.
          {"GET 1 FROM s;\nADD \"x\" TO s;\nGET 1 FORM s",
           "line 3, col 7: expected FROM, found \"FORM\""},
          {"GET 1 FROM s\n;\nGET 2 FROM s\nGET 3 FROM s",
           "line 4, col 1: expected ';' or end of input, found \"GET\""},
          {"ADD 'a\nb\nc' TO s;\n  GET 1 FROM",
           "line 4, col 13: expected a stream name, found end of input"},
          {"BEGIN;\r\nADD 'a' TO s;\r\nCOMIT",
           "line 3, col 1: expected a statement, found \"COMIT\""},
          {"GET 1 FROM s -- comment\n  -- more\n  x",
           "line 3, col 3: expected ';' or end of input, found \"x\""},
      },
      syntax_error);
}

TEST_CASE("Query parser: a 1 MB token is rejected quickly") {
  auto started = std::chrono::steady_clock::now();
  std::string huge(1 << 20, 'a');
  CHECK(syntax_error("GET 1 FROM " + huge) ==
        "line 1, col 12: identifier longer than 128 bytes, found "
        "\"aaaaaaaaaaaaaaaaaaaa...\"");
  CHECK(syntax_error("CREATE STREAM " + huge + "; GET") ==
        "line 1, col 15: identifier longer than 128 bytes, found "
        "\"aaaaaaaaaaaaaaaaaaaa...\"");
  CHECK(
      syntax_error(huge) ==
      "line 1, col 1: expected a statement, found \"aaaaaaaaaaaaaaaaaaaa...\"");
  CHECK(syntax_error("GET " + std::string(1 << 20, '9') + " FROM s") ==
        "line 1, col 5: number out of range (the largest is "
        "18446744073709551615), found \"99999999999999999999...\"");
  CHECK(syntax_error("ADD :" + huge + " TO s") ==
        "line 1, col 5: parameter name longer than 128 bytes, found "
        "\":aaaaaaaaaaaaaaaaaaa...\"");
  CHECK(syntax_error("ADD x'" + huge) ==
        "line 1, col 5: unterminated blob, found \"x'aaaaaaaaaaaaaaaaaa...\"");
  CHECK(syntax_error(std::string(1 << 20, '\n') + "?") ==
        "line 1048577, col 1: expected a statement, found \"?\"");
  // 100,000 statements and a 200,000-key list parse in linear time too.
  std::string many;
  for (int i = 0; i < 100000; ++i)
    many += "GET 1 FROM s;";
  CHECK(parse(many).statements.size() == 100000);
  std::string keys = "GET 1";
  for (int i = 0; i < 200000; ++i)
    keys += ",2";
  CHECK(boost::get<ast::GetKeys>(parse(keys + " FROM s").statements[0])
            .keys.size() == 200001);
  // Generous even for a sanitizer build; quadratic work would take minutes.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
}

TEST_CASE("Query parser: errors are Syntax errors and leave nothing behind") {
  try {
    parse("GET 1 FORM s");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Syntax);
  }
  // A string_view with no data is an empty script.
  CHECK(syntax_error(std::string_view()) ==
        "line 1, col 1: expected a statement, found end of input");
}
