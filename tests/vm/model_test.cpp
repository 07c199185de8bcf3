// Randomized checks: every GET form against a plain model of the stream, and
// random scripts (valid, nearly valid and garbage) that must only ever end
// in a klite::Error -- never a crash, another exception, or a broken engine.
#include "tests/vm/vm_test_util.h"

#include <algorithm>
#include <limits>

using namespace klite;
using namespace klite::test;
using V = std::vector<std::uint64_t>;

namespace {

// Keys 1..n, key k appended at time 1000 * k: the model is just n.
V model_after(std::uint64_t n, std::uint64_t count, std::uint64_t key) {
  V out;
  for (std::uint64_t k = key + 1; k <= n && out.size() < count && k > key; ++k)
    out.push_back(k);
  return out;
}

V model_before(std::uint64_t n, std::uint64_t count, std::uint64_t key) {
  V out;
  std::uint64_t hi = std::min<std::uint64_t>(key == 0 ? 0 : key - 1, n);
  for (std::uint64_t k = hi; k >= 1 && out.size() < count; --k)
    out.push_back(k);
  std::reverse(out.begin(), out.end());
  return out;
}

V model_time(std::uint64_t n, std::uint64_t count, std::uint64_t t) {
  V out;
  for (std::uint64_t k = 1; k <= n && out.size() < count; ++k)
    if (1000 * k >= t)
      out.push_back(k);
  return out;
}

} // namespace

TEST_CASE("VM: every GET form agrees with a model on random queries") {
  Db db;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t sizes[] = {0, 1, 2, 3, 7, 40};
  for (std::uint64_t n : sizes) {
    std::string name = "s" + std::to_string(n);
    db->create_stream(name);
    fill(db, name, n);
  }
  // Prepared once, run many times with new bindings.
  Statement after = db->prepare("GET ? AFTER ? FROM " + std::string("s40"));
  Rng rng(7);
  auto pick_count = [&] {
    switch (rng.range(0, 3)) {
    case 0: return rng.range(1, 3);
    case 1: return rng.range(1, 50);
    case 2: return kMax;
    default: return rng.range(1, kMax);
    }
  };
  auto pick_key = [&](std::uint64_t n) {
    switch (rng.range(0, 3)) {
    case 0: return rng.range(0, n + 2);
    case 1: return n + rng.range(0, 3);
    case 2: return kMax - rng.range(0, 1);
    default: return rng.next();
    }
  };
  for (int iter = 0; iter < 3000; ++iter) {
    std::uint64_t n = sizes[rng.range(0, std::size(sizes) - 1)];
    std::string s = " FROM s" + std::to_string(n);
    std::uint64_t count = pick_count();
    std::uint64_t key = pick_key(n);
    std::string q;
    V want;
    switch (rng.range(0, 5)) {
    case 0:
      q = "GET " + std::to_string(count) + " AFTER " + std::to_string(key);
      want = model_after(n, count, key);
      break;
    case 1:
      key = std::max<std::uint64_t>(key, 1);
      q = "GET " + std::to_string(count) + " BEFORE " + std::to_string(key);
      want = model_before(n, count, key);
      break;
    case 2:
      q = "GET FIRST " + std::to_string(count);
      want = model_after(n, count, 0);
      break;
    case 3:
      q = "GET LAST " + std::to_string(count);
      want = model_before(n, count, kMax);
      break;
    case 4: {
      std::uint64_t t = rng.range(0, 1000 * (n + 2));
      // t microseconds as an ISO-8601 time.
      char buf[64];
      std::snprintf(buf, sizeof buf, "1970-01-01T00:00:00.%06lluZ",
                    static_cast<unsigned long long>(t % 1000000));
      if (t >= 1000000)
        t = t % 1000000; // the literal holds the sub-second part only
      q = "GET " + std::to_string(count) + " AFTER TIME '" + buf + "'";
      want = model_time(n, count, t);
      break;
    }
    default: {
      std::uint64_t m = rng.range(1, 6);
      q = "GET ";
      for (std::uint64_t i = 0; i < m; ++i) {
        std::uint64_t k = rng.range(1, n + 3);
        q += (i ? ", " : "") + std::to_string(k);
        if (k <= n)
          want.push_back(k);
      }
      break;
    }
    }
    q += s;
    CAPTURE(q);
    CHECK(keys(*db, q) == want);
    if (n == 40 && iter % 3 == 0) { // the same through a prepared statement
      std::uint64_t c = std::min<std::uint64_t>(count, 100);
      after.reset();
      after.bind(1, c);
      after.bind(2, key);
      V got;
      while (after.step())
        got.push_back(after.row()[0].as_integer());
      CHECK(got == model_after(40, c, key));
    }
  }
}

TEST_CASE("VM: random scripts end in a result or a klite::Error, never worse") {
  Db db;
  db->exec("ADD 'a', 'b', 'c' TO s; CREATE STREAM e");
  static const char* const kTokens[] = {
      "GET", "ADD", "FROM", "TO", "AFTER", "BEFORE", "FIRST", "LAST", "TIME",
      "CREATE", "DROP", "STREAM", "SHOW", "STREAMS", "INFO", "BEGIN",
      "COMMIT", "ROLLBACK", "EXPIRE", "EXPLAIN", "OLDER", "THAN", "0", "1",
      "2", "3", "18446744073709551615", "18446744073709551616", "'a'",
      "\"b\"", "'2026-11-25T10:00:00Z'", "'1970-01-01'", "'bad'", "x'00ff'",
      "x'0'", "?", ":k", "s", "e", "nope", "t.x-1", ",", ";", ";", "--c\n",
      "7d", "-1", "'", "\\", "\x01", "\xff", "get", "from", "ALTER", "SET",
      "WITH", "(", ")", "=", "max_age", "max_bytes", "max_records", "none",
      "1GiB", "16777216TiB", "106751992d", "'1kB'"};
  // Statements that parse, with random parts, so the VM paths run too.
  static const char* const kShapes[] = {
      "GET # FROM $", "GET #, # FROM $", "GET # AFTER # FROM $",
      "GET # BEFORE # FROM $", "GET FIRST # FROM $", "GET LAST # FROM $",
      "GET # AFTER TIME '1970-01-01' FROM $", "ADD 'v' TO $",
      "ADD 'v', x'00' TO $", "CREATE STREAM $", "DROP STREAM $", "INFO $",
      "SHOW STREAMS", "BEGIN", "COMMIT", "ROLLBACK", "EXPLAIN GET # FROM $",
      "EXPIRE $ BEFORE #", "EXPIRE $ OLDER THAN #s", "EXPIRE $ OLDER THAN 0",
      "CREATE STREAM $ WITH (max_records = #)",
      "CREATE STREAM $ WITH (max_age = #h, max_bytes = '#kB')",
      "ALTER STREAM $ SET (max_records = #)",
      "ALTER STREAM $ SET (max_bytes = #MiB, max_age = none)"};
  static const char* const kNumbers[] = {"0", "1", "2", "3", "4", "100",
                                         "18446744073709551615"};
  static const char* const kStreams[] = {"s", "e", "nope", "t"};
  Rng rng(11);
  std::uint64_t errors = 0, rows = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string q;
    std::uint64_t parts = rng.range(1, 4);
    for (std::uint64_t p = 0; p < parts; ++p) {
      if (p)
        q += rng.range(0, 5) ? "; " : " ";
      if (rng.range(0, 3) == 0) {
        std::uint64_t m = rng.range(0, 6);
        for (std::uint64_t t = 0; t < m; ++t) {
          q += kTokens[rng.range(0, std::size(kTokens) - 1)];
          q += ' ';
        }
      } else {
        for (const char* c = kShapes[rng.range(0, std::size(kShapes) - 1)];
             *c; ++c) {
          if (*c == '#')
            q += kNumbers[rng.range(0, std::size(kNumbers) - 1)];
          else if (*c == '$')
            q += kStreams[rng.range(0, std::size(kStreams) - 1)];
          else
            q += *c;
        }
      }
    }
    CAPTURE(q);
    try {
      rows += db->exec(q).drain();
    } catch (const Error&) {
      ++errors;
    }
  }
  // Whatever happened, the session can be closed and the engine still
  // works: no BEGIN is left dangling that a ROLLBACK cannot end.
  try {
    db->exec("ROLLBACK");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::Misuse);
  }
  CHECK(keys(*db, "ADD 'z' TO fresh") == V{1});
  CHECK(errors > 0);
  CHECK(rows > 0);
}
