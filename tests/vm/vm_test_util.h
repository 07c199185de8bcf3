// Helpers for the query-layer tests: an engine on a temp file with a clock
// the test sets, and the rows of a Result or Statement as plain values.
#pragma once

#include "tests/engine/test_util.h"

#include <klite/engine.h>
#include <klite/statement.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace klite::test {

// An engine on a fresh file whose append timestamps come from `clock`.
struct Db {
  explicit Db(Options o = fast_options()) {
    o.clock = clock;
    engine.emplace(Engine::open(dir.file(), o));
  }
  Engine& operator*() { return *engine; }
  Engine* operator->() { return &*engine; }

  TempDir dir;
  FakeClock clock;
  std::optional<Engine> engine;
};

// A row as text: integers in decimal, bytes quoted, null as NULL, joined
// with '|'.
inline std::string show(const Row& row) {
  std::string out;
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i)
      out += '|';
    const Value& v = row[i];
    switch (v.type()) {
    case Value::Type::Null:
      out += "NULL";
      break;
    case Value::Type::Integer:
      out += std::to_string(v.as_integer());
      break;
    case Value::Type::Bytes:
      out += '\'';
      out += v.as_bytes();
      out += '\'';
      break;
    }
  }
  return out;
}

inline std::vector<std::string> rows(Result r) {
  std::vector<std::string> out;
  while (r.next())
    out.push_back(show(r.row()));
  return out;
}

inline std::vector<std::string> rows(Engine& e, std::string_view q) {
  return rows(e.exec(q));
}

inline std::vector<std::string> rows(Statement& s) {
  std::vector<std::string> out;
  while (s.step())
    out.push_back(show(s.row()));
  return out;
}

// The first column of every row, as integers (keys for GET and ADD).
inline std::vector<std::uint64_t> keys(Result r) {
  std::vector<std::uint64_t> out;
  while (r.next())
    out.push_back(r.row()[0].as_integer());
  return out;
}
inline std::vector<std::uint64_t> keys(Engine& e, std::string_view q) {
  return keys(e.exec(q));
}

// The message of the klite::Error that f throws, prefixed by its code
// ("InvalidArgument: line 1, col 5: ..."), or "no error".
template <class F> std::string error_of(F&& f) {
  auto e = catch_error(std::forward<F>(f));
  if (!e)
    return "no error";
  return std::string(to_string(e->code())) + ": " + e->what();
}

inline std::string source_path(const std::string& relative) {
  return std::string(KLITE_SOURCE_DIR) + "/" + relative;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool update_golden() {
  const char* v = std::getenv("KLITE_UPDATE_GOLDEN");
  return v && *v && std::string_view(v) != "0";
}

// Compares `actual` with the file; with KLITE_UPDATE_GOLDEN=1 rewrites it.
inline void check_golden(const std::string& relative,
                         const std::string& actual) {
  std::string path = source_path(relative);
  if (update_golden()) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
    MESSAGE("rewrote " << relative);
    return;
  }
  std::string expected = slurp(path);
  CAPTURE(relative);
  CHECK(actual == expected);
}

// n records with values "v1", "v2", ... appended at time 1000 * key.
inline void fill(Db& db, std::string_view stream, std::uint64_t n) {
  WriteTxn t = db->write();
  for (std::uint64_t k = 1; k <= n; ++k) {
    db.clock.set(1000 * k);
    t.append(stream, "v" + std::to_string(k));
  }
  t.commit();
}

inline std::vector<std::uint64_t> range(std::uint64_t a, std::uint64_t b) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t k = a; k <= b; ++k)
    v.push_back(k);
  return v;
}

} // namespace klite::test
