// EXPLAIN, the opcode table, docs/VM.md, and the compiler on its own (with
// hand-built ASTs, as the parser would hand them over).
#include "tests/vm/vm_test_util.h"

#include "vm/compiler.h"
#include "vm/opcodes.h"
#include "vm/program.h"

#include <set>

using namespace klite;
using namespace klite::test;
namespace ast = klite::query::ast;
using S = std::vector<std::string>;

namespace {

struct Golden {
  const char* file;
  const char* query;
};

const Golden kGolden[] = {
    {"explain_get_key.txt", "GET 7 FROM payments"},
    {"explain_get_keys.txt", "GET 5, 1, :k FROM payments"},
    {"explain_get_after.txt", "GET 10 AFTER 5 FROM payments"},
    {"explain_get_before.txt", "GET 3 BEFORE 10 FROM payments"},
    {"explain_get_first.txt", "GET FIRST 10 FROM payments"},
    {"explain_get_last.txt", "GET LAST ? FROM payments"},
    {"explain_get_after_time.txt",
     "GET 10 AFTER TIME '2026-11-25T10:00:00Z' FROM payments"},
    {"explain_add.txt", "ADD 'payment 42 settled' TO payments"},
    {"explain_add_many.txt", "ADD 'a', ?, x'00ff' TO payments"},
    {"explain_create.txt", "CREATE STREAM payments"},
    {"explain_drop.txt", "DROP STREAM payments"},
    {"explain_show.txt", "SHOW STREAMS"},
    {"explain_info.txt", "INFO payments"},
    {"explain_begin.txt", "BEGIN"},
    {"explain_commit.txt", "COMMIT"},
    {"explain_rollback.txt", "ROLLBACK"},
    {"explain_expire_before.txt", "EXPIRE payments BEFORE :k"},
    {"explain_expire_older.txt", "EXPIRE payments OLDER THAN 7d"},
    {"explain_create_with.txt",
     "CREATE STREAM payments WITH (max_age = '7d', max_records = 1000000)"},
    {"explain_alter.txt", "ALTER STREAM payments SET (max_bytes = ?)"},
    {"explain_add_ttl.txt", "ADD 'a', ? TO payments TTL 60s"},
    {"explain_vacuum.txt", "VACUUM"},
};

// The EXPLAIN rows of `query`, formatted as Statement::explain formats the
// program, so the two can be compared.
std::string explain_rows(Engine& e, const std::string& query) {
  Result r = e.exec("EXPLAIN " + query);
  vm::Program p;
  while (r.next()) {
    const Row& row = r.row();
    CHECK(row.columns() ==
          S{"addr", "opcode", "p1", "p2", "p3", "p4", "comment"});
    CHECK(row["addr"].as_integer() == p.code.size());
    vm::Instruction i;
    bool found = false;
    for (std::size_t op = 0; op < vm::kOpcodeCount; ++op)
      if (vm::name(static_cast<vm::Opcode>(op)) == row["opcode"].as_bytes()) {
        i.op = static_cast<vm::Opcode>(op);
        found = true;
      }
    CHECK(found);
    i.p1 = row["p1"].as_integer();
    i.p2 = row["p2"].as_integer();
    i.p3 = row["p3"].as_integer();
    if (!row["p4"].is_null())
      i.p4 = vm::Name{std::string(row["p4"].as_bytes())};
    // The comment column is the synopsis plus the generator's comment.
    std::string comment(row["comment"].as_bytes());
    std::string plain = vm::explain_comment(i);
    if (comment.size() > plain.size() + 2)
      i.comment = comment.substr(plain.size() + 2);
    CHECK(vm::explain_comment(i) == comment);
    p.code.push_back(std::move(i));
  }
  return vm::format(p);
}

} // namespace

TEST_CASE("VM: EXPLAIN golden files") {
  Db db;
  for (const Golden& g : kGolden) {
    CAPTURE(g.query);
    Statement st = db->prepare(g.query);
    std::string listing = st.explain();
    check_golden(std::string("tests/golden/") + g.file,
                 std::string("-- ") + g.query + "\n" + listing);
    // EXPLAIN's rows say the same as Statement::explain().
    CHECK(explain_rows(*db, g.query) == listing);
    // And EXPLAIN <stmt> prepared explains <stmt>.
    Statement ex = db->prepare(std::string("EXPLAIN ") + g.query);
    CHECK(ex.explain() == listing);
    CHECK(ex.columns() ==
          S{"addr", "opcode", "p1", "p2", "p3", "p4", "comment"});
  }
}

TEST_CASE("VM: EXPLAIN rows, and EXPLAIN does not run its statement") {
  Db db;
  Result r = db->exec("EXPLAIN ADD 'a' TO s");
  REQUIRE(r.next());
  CHECK(show(r.row()) == "0|'Bytes'|0|1|0|''a''|'r[1]='a''");
  std::uint64_t n = 1 + r.drain();
  CHECK(n == 6);
  CHECK(!db->read().has_stream("s"));
  CHECK(rows(*db, "explain get 1 from s").size() == 7);
  CHECK(error_of([&] { db->exec("EXPLAIN EXPLAIN GET 1 FROM s"); }) ==
        "InvalidArgument: line 1, col 9: EXPLAIN of an EXPLAIN is not "
        "supported");
  // The compile errors of the statement are EXPLAIN's errors.
  KLITE_CHECK_ERROR(db->exec("EXPLAIN GET 0 FROM s"),
                    ErrorCode::InvalidArgument);
  CHECK(rows(*db, "EXPLAIN EXPIRE s BEFORE 3").size() == 6);
  CHECK(rows(*db, "EXPLAIN ALTER STREAM s SET (max_age = 1d)").size() == 5);
  CHECK(!db->read().has_stream("s"));
  // A prepared EXPLAIN runs without its parameters bound.
  Statement st = db->prepare("EXPLAIN GET ? FROM s");
  CHECK(st.parameter_count() == 1);
  CHECK(rows(st).size() == 7);
}

TEST_CASE("VM: docs/VM.md matches the opcode table") {
  check_golden("docs/VM.md", vm::render_docs());
}

TEST_CASE("VM: the opcode table") {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < vm::kOpcodeCount; ++i) {
    auto op = static_cast<vm::Opcode>(i);
    CAPTURE(vm::name(op));
    CHECK(names.insert(vm::name(op)).second);
    CHECK(!vm::synopsis(op).empty());
    // A jump opcode names P2 among its operands.
    if (vm::jumps(op))
      CHECK(vm::operands(op).find("P2") != std::string_view::npos);
  }
  for (const char* required :
       {"Open", "Seek", "SeekBefore", "SeekTime", "First", "Last", "ScanNext",
        "ScanPrev", "Emit", "Append", "DecrJumpZero", "Begin", "Commit",
        "Rollback", "Halt", "Integer", "Bytes", "Param", "Goto"})
    CHECK(names.count(required) == 1);
  CHECK(vm::describe(vm::Opcode::Integer, 10, 3, 0, "") == "r[3]=10");
  CHECK(vm::describe(vm::Opcode::ResultRow, 4, 1, 0, "") == "output row r[4]");
  CHECK(vm::describe(vm::Opcode::Append, 1, 3, 4, "s") ==
        "append r[1..3] to s with TTL r[4], r[1]=first key");
}

TEST_CASE("VM: every compiled program is well formed") {
  Db db;
  for (const Golden& g : kGolden) {
    CAPTURE(g.query);
    Statement st = db->prepare(g.query);
    // Parse the listing back: each jump lands inside the program, and the
    // last instruction is Halt.
    std::string listing = st.explain();
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < listing.size()) {
      std::size_t nl = listing.find('\n', at);
      lines.push_back(listing.substr(at, nl - at));
      at = nl + 1;
    }
    REQUIRE(lines.size() >= 3);
    CHECK(lines.back().find("Halt") != std::string::npos);
  }
}

namespace {

ast::Number number(std::uint64_t v, std::uint32_t col) {
  ast::Number n;
  n.value = v;
  n.pos = {1, col};
  return n;
}

ast::Ident ident(std::string name, std::uint32_t col) {
  ast::Ident i;
  i.name = std::move(name);
  i.pos = {1, col};
  return i;
}

std::string compile_error(const ast::Statement& s) {
  return error_of([&] { vm::compile(s); });
}

} // namespace

TEST_CASE("VM: the compiler checks literals, with the node's position") {
  ast::GetKeys keys;
  keys.pos = {1, 1};
  keys.keys.push_back(ast::Integer(number(1, 5)));
  keys.keys.push_back(ast::Integer(number(0, 8)));
  keys.stream = ident("s", 15);
  CHECK(compile_error(ast::Statement(keys)) ==
        "InvalidArgument: line 1, col 8: key 0 is not a valid key; keys "
        "start at 1");

  ast::GetRange range;
  range.pos = {2, 3};
  range.count = ast::Integer(number(0, 7));
  range.key = ast::Integer(number(0, 15));
  range.stream = ident("s", 22);
  CHECK(compile_error(ast::Statement(range)) ==
        "InvalidArgument: line 1, col 7: count 0 is not a valid count; "
        "counts start at 1");
  range.count = ast::Integer(number(5, 7));
  CHECK(vm::compile(ast::Statement(range)).code.size() > 3); // AFTER 0 is ok
  range.direction = ast::Direction::Before;
  CHECK(compile_error(ast::Statement(range)) ==
        "InvalidArgument: line 1, col 15: key 0 is not a valid key; keys "
        "start at 1");

  ast::GetAfterTime t;
  t.count = ast::Integer(number(1, 5));
  ast::Bytes when;
  when.value = "2026-11-25T10:00:00";
  when.pos = {1, 18};
  t.time = ast::Value(when);
  t.stream = ident("s", 40);
  vm::Program p = vm::compile(ast::Statement(t));
  bool loaded = false;
  for (const vm::Instruction& i : p.code)
    loaded =
        loaded || (i.op == vm::Opcode::Integer && i.p1 == 1795600800000000ULL);
  CHECK(loaded);
  when.value = "2026-11-25T10:00:00 UTC";
  t.time = ast::Value(when);
  CHECK(compile_error(ast::Statement(t)) ==
        "InvalidArgument: line 1, col 18: invalid time '2026-11-25T10:00:00 "
        "UTC': expected ISO-8601 such as '2026-11-25T10:00:00Z'");

  ast::Info info;
  info.pos = {1, 1};
  info.stream = ident("9lives", 6);
  CHECK(
      compile_error(ast::Statement(info))
          .rfind(
              "InvalidArgument: line 1, col 6: invalid stream name \"9lives\"",
              0) == 0);
  info.stream = ident(std::string(129, 'a'), 6);
  CHECK(compile_error(ast::Statement(info))
            .rfind("InvalidArgument: line 1, col 6: invalid stream name", 0) ==
        0);
  info.stream = ident(std::string(128, 'a'), 6);
  CHECK(vm::compile(ast::Statement(info)).code.size() == 5);

  ast::Expire ex;
  ex.pos = {4, 2};
  ex.stream = ident("s", 9);
  CHECK(compile_error(ast::Statement(ex)) ==
        "InvalidArgument: line 4, col 2: EXPIRE needs one of BEFORE and "
        "OLDER THAN");
  ast::Duration forever;
  forever.micros = std::uint64_t{1} << 63; // beyond the engine's microseconds
  forever.pos = {4, 22};
  ex.older_than = ast::Amount(forever);
  CHECK(compile_error(ast::Statement(ex)) ==
        "InvalidArgument: line 4, col 22: duration out of range (the largest "
        "is 106751991d)");
  forever.micros -= 1;
  ex.older_than = ast::Amount(forever);
  CHECK(vm::compile(ast::Statement(ex)).code.size() == 6);

  ast::AlterStream alter;
  alter.pos = {1, 1};
  alter.stream = ident("s", 14);
  CHECK(compile_error(ast::Statement(alter)) ==
        "InvalidArgument: line 1, col 1: ALTER STREAM needs an option");
  ast::RetentionOption bad;
  bad.limit = static_cast<ast::Limit>(7);
  bad.pos = {1, 21};
  bad.value = ast::Amount(number(1, 31));
  alter.options.push_back(bad);
  CHECK(compile_error(ast::Statement(alter)) ==
        "InvalidArgument: line 1, col 21: unknown retention option");
}

TEST_CASE("VM: parameters in the compiled program") {
  ast::Add add;
  add.pos = {1, 1};
  ast::Param a, b;
  a.index = 1;
  a.pos = {1, 5};
  b.index = 2;
  b.name = "v";
  b.pos = {1, 8};
  add.values.push_back(ast::Value(a));
  add.values.push_back(ast::Value(b));
  add.stream = ident("s", 14);
  vm::Program p = vm::compile(ast::Statement(add));
  REQUIRE(p.params.size() == 2);
  CHECK(p.params[0].name == "?");
  CHECK(p.params[1].name == ":v");
  CHECK(p.params[1].pos.col == 8);
  CHECK(p.writes);
  CHECK(*p.columns == S{"key"});
}
