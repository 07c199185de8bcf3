// Prepared statements: binding by index and by name, reset, rebinding,
// clear_bindings, unbound and mistyped parameters, copied and borrowed
// bytes.
#include "tests/vm/vm_test_util.h"

using namespace klite;
using namespace klite::test;
using V = std::vector<std::uint64_t>;
using S = std::vector<std::string>;

TEST_CASE("Statement: prepare takes exactly one statement") {
  Db db;
  CHECK(error_of([&] { db->prepare("GET 1 FROM s; GET 2 FROM s"); }) ==
        "InvalidArgument: prepare takes one statement, not 2");
  KLITE_CHECK_ERROR(db->prepare("GET 1 FORM s"), ErrorCode::Syntax);
  KLITE_CHECK_ERROR(db->prepare("GET 0 FROM s"), ErrorCode::InvalidArgument);
  // Preparing checks no stream: that happens when it runs.
  Statement s = db->prepare("GET 1 FROM nope");
  KLITE_CHECK_ERROR(s.step(), ErrorCode::NoSuchStream);
}

TEST_CASE("Statement: bind by index and by name, step, reset, rebind") {
  Db db;
  db->exec("ADD 'a', 'b', 'c', 'd', 'e' TO s").drain();
  Statement st = db->prepare("GET :n AFTER :after FROM s");
  CHECK(st.parameter_count() == 2);
  CHECK(st.columns() == S{"key", "ts", "value"});
  st.bind(1, std::uint64_t{2});
  st.bind(":after", std::uint64_t{0});
  CHECK(rows(st).size() == 2);
  CHECK(!st.step()); // done until reset
  st.reset();
  // Bindings survive reset.
  REQUIRE(st.step());
  CHECK(st.row()[0].as_integer() == 1);
  st.reset();
  st.bind("after", std::uint64_t{3}); // the colon is optional
  st.bind("n", std::uint64_t{10});
  CHECK(rows(st) == S{"4|1000000|'d'", "5|1000000|'e'"});
  st.reset();

  Statement keys_st = db->prepare("GET ?, ?, ? FROM s");
  CHECK(keys_st.parameter_count() == 3);
  keys_st.bind(1, std::uint64_t{5});
  keys_st.bind(2, std::uint64_t{9});
  keys_st.bind(3, std::uint64_t{5});
  std::vector<std::uint64_t> got;
  while (keys_st.step())
    got.push_back(keys_st.row()[0].as_integer());
  CHECK(got == V{5, 5});

  // A name used twice is one parameter.
  Statement twice = db->prepare("GET :k, :k FROM s");
  CHECK(twice.parameter_count() == 1);
  twice.bind(":k", std::uint64_t{2});
  CHECK(rows(twice).size() == 2);
}

TEST_CASE("Statement: unbound parameters, clear_bindings and bad indices") {
  Db db;
  db->exec("ADD 'a' TO s");
  Statement st = db->prepare("GET ? AFTER :id FROM s");
  CHECK(error_of([&] { st.step(); }) ==
        "InvalidArgument: line 1, col 5: parameter 1 is not bound");
  st.bind(1, std::uint64_t{1});
  CHECK(error_of([&] { st.step(); }) ==
        "InvalidArgument: line 1, col 13: parameter 2 (:id) is not bound");
  st.bind(2, std::uint64_t{0});
  CHECK(rows(st).size() == 1);
  st.reset();
  st.clear_bindings();
  CHECK(error_of([&] { st.step(); }) ==
        "InvalidArgument: line 1, col 5: parameter 1 is not bound");

  CHECK(error_of([&] { st.bind(3, std::uint64_t{1}); }) ==
        "InvalidArgument: no parameter 3: the statement has 2");
  CHECK(error_of([&] { st.bind(std::size_t{0}, "x"); }) ==
        "InvalidArgument: no parameter 0: the statement has 2");
  CHECK(error_of([&] { st.bind(":nope", std::uint64_t{1}); }) ==
        "InvalidArgument: no parameter named :nope");
  Statement none = db->prepare("GET 1 FROM s");
  CHECK(none.parameter_count() == 0);
  KLITE_CHECK_ERROR(none.bind(1, std::uint64_t{1}), ErrorCode::InvalidArgument);
}

TEST_CASE("Statement: parameters of the wrong type or value") {
  Db db;
  db->exec("ADD 'a' TO s");
  Statement get = db->prepare("GET :k FROM s");
  get.bind(":k", "1");
  CHECK(error_of([&] { get.step(); }) ==
        "InvalidArgument: line 1, col 5: parameter 1 (:k) must be a key (an "
        "integer >= 1), not bytes");
  get.reset();
  get.bind(":k", std::uint64_t{0});
  CHECK(error_of([&] { get.step(); }) ==
        "InvalidArgument: line 1, col 5: key 0 is not a valid key; keys start "
        "at 1 (parameter 1 (:k))");
  get.reset();
  get.bind(":k", std::uint64_t{1});
  CHECK(rows(get).size() == 1);

  Statement add = db->prepare("ADD 'x', ? TO s");
  add.bind(1, std::uint64_t{7});
  CHECK(error_of([&] { add.step(); }) ==
        "InvalidArgument: line 1, col 10: parameter 1 must be a value "
        "(bytes), not an integer");
  CHECK(db->info("s").records == 1);

  Statement count = db->prepare("GET FIRST ? FROM s");
  count.bind(1, std::uint64_t{0});
  CHECK(error_of([&] { count.step(); }) ==
        "InvalidArgument: line 1, col 11: count 0 is not a valid count; "
        "counts start at 1 (parameter 1)");
  count.reset();
  count.bind(1, "3");
  KLITE_CHECK_ERROR(count.step(), ErrorCode::InvalidArgument);
}

TEST_CASE("Statement: time parameters take ISO-8601 bytes or microseconds") {
  Db db;
  for (std::uint64_t t : {1000, 2000, 3000}) {
    db.clock.set(t);
    db->exec("ADD 'x' TO s");
  }
  Statement st = db->prepare("GET 10 AFTER TIME ? FROM s");
  st.bind(1, std::uint64_t{2000});
  CHECK(rows(st).size() == 2);
  st.reset();
  st.bind(1, "1970-01-01T00:00:00.0025Z");
  CHECK(rows(st).size() == 1);
  st.reset();
  st.bind(1, "1970-01-01");
  CHECK(rows(st).size() == 3);
  st.reset();
  st.bind(1, "soon");
  CHECK(error_of([&] { st.step(); }) ==
        "InvalidArgument: line 1, col 19: parameter 1 must be a time "
        "(ISO-8601 bytes, or an integer of microseconds), not 'soon'");
}

TEST_CASE("Statement: ADD with parameters, bound bytes are copied") {
  Db db;
  Statement add = db->prepare("ADD ?, :second TO s");
  {
    std::string v1 = "first", v2(3, '\0');
    add.bind(1, v1);
    add.bind(":second", v2);
    v1 = "clobbered"; // the statement keeps its own copy
  }
  CHECK(rows(add) == S{"1", "2"});
  CHECK(db->get("s", 1)->value == "first");
  CHECK(db->get("s", 2)->value == std::string(3, '\0'));
  add.reset();
  add.bind(1, std::string(100000, 'z'));
  CHECK(rows(add) == S{"3", "4"});
  CHECK(db->get("s", 3)->value.size() == 100000);
}

TEST_CASE("Statement: Keep::Borrow binds a view of the caller's bytes") {
  Db db;
  Statement add = db->prepare("ADD ?, :second TO s");
  std::string v1 = "first", v2 = "second";
  add.bind(1, v1, Keep::Borrow);
  add.bind(":second", v2, Keep::Borrow);
  v1[0] = 'F'; // the statement reads the buffer when it runs, not before
  CHECK(rows(add) == S{"1", "2"});
  CHECK(db->get("s", 1)->value == "First");
  CHECK(db->get("s", 2)->value == "second");
  // A borrowed binding survives reset() like a copied one; the next run
  // reads the bytes as they are then (changed in place, not reallocated).
  add.reset();
  v2[0] = 'S';
  CHECK(rows(add) == S{"3", "4"});
  CHECK(db->get("s", 4)->value == "Second");
  // Rebinding with a copy lets the buffer go; a borrow of nothing is fine.
  add.reset();
  add.bind(1, v1); // Keep::Copy
  add.bind(2, std::string_view(), Keep::Borrow);
  v1 = "clobbered";
  CHECK(rows(add) == S{"5", "6"});
  CHECK(db->get("s", 5)->value == "First");
  CHECK(db->get("s", 6)->value == "");
  // The same checks as a copy: bad index or name, no bind while running.
  add.reset();
  CHECK(error_of([&] { add.bind(3, v1, Keep::Borrow); }) ==
        "InvalidArgument: no parameter 3: the statement has 2");
  CHECK(error_of([&] { add.bind(":third", v1, Keep::Borrow); }) ==
        "InvalidArgument: no parameter named :third");
  REQUIRE(add.step());
  CHECK(error_of([&] { add.bind(1, v1, Keep::Borrow); }) ==
        "Misuse: bind() while the statement is running; reset() it first");
  add.reset();
  // Unbound after clear_bindings(), borrowed or not.
  add.clear_bindings();
  KLITE_CHECK_ERROR(add.step(), ErrorCode::InvalidArgument);
  CHECK(db->read().info("s").records == 8);
}

TEST_CASE("Statement: misuse") {
  Db db;
  db->exec("ADD 'a', 'b' TO s");
  Statement st = db->prepare("GET FIRST ? FROM s");
  KLITE_CHECK_ERROR(st.row(), ErrorCode::Misuse); // no step yet
  st.bind(1, std::uint64_t{2});
  REQUIRE(st.step());
  // Binding while a row is out would pull values from under the program.
  CHECK(error_of([&] { st.bind(1, std::uint64_t{1}); }) ==
        "Misuse: bind() while the statement is running; reset() it first");
  KLITE_CHECK_ERROR(st.clear_bindings(), ErrorCode::Misuse);
  KLITE_CHECK_ERROR(st.row()[3], ErrorCode::Misuse);
  KLITE_CHECK_ERROR(st.row()["nope"], ErrorCode::Misuse);
  KLITE_CHECK_ERROR(st.row()[0].as_bytes(), ErrorCode::Misuse);
  KLITE_CHECK_ERROR(st.row()[2].as_integer(), ErrorCode::Misuse);
  REQUIRE(st.step());
  CHECK(!st.step());
  KLITE_CHECK_ERROR(st.row(), ErrorCode::Misuse);
  st.bind(1, std::uint64_t{1}); // done: binding is fine again

  Statement moved = std::move(st);
  KLITE_CHECK_ERROR(st.step(), ErrorCode::Misuse);
  CHECK(st.parameter_count() == 0);
  moved.reset();
  CHECK(rows(moved).size() == 1);
}

TEST_CASE("Statement: Value") {
  CHECK(Value().is_null());
  CHECK(Value() == Value());
  CHECK(Value::integer(3) == Value::integer(3));
  CHECK(!(Value::integer(3) == Value::integer(4)));
  CHECK(Value::bytes("ab") == Value::bytes(std::string("ab")));
  CHECK(!(Value::bytes("3") == Value::integer(3)));
  CHECK(Value::bytes("").type() == Value::Type::Bytes);
  KLITE_CHECK_ERROR(Value().as_integer(), ErrorCode::Misuse);
  KLITE_CHECK_ERROR(Value().as_bytes(), ErrorCode::Misuse);
}
