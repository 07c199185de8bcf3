// Cursor: positioning (first/last/seek/seek_before), stepping both ways,
// direction changes, values spanning pages, and snapshot behaviour.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "test_util.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using klite::Cursor;
using klite::Engine;
using klite::ErrorCode;
using klite::Options;
using klite::test::catch_error;
using klite::test::contains;
using klite::test::first_difference;
using klite::test::payload;
using klite::test::Rng;
using klite::test::TempDir;

namespace {

constexpr std::uint64_t kHugeKey = std::numeric_limits<std::uint64_t>::max();

// The value size of `key`: 0..5000 bytes, with exact 0s and page-sized ones.
std::size_t value_size(std::uint64_t key) {
  switch (key % 11) {
  case 0:
    return 0;
  case 1:
    return 4096;
  case 2:
    return 1;
  default:
    return static_cast<std::size_t>(klite::test::mix(key, 42) % 5001);
  }
}

std::string value_of(std::uint64_t key) {
  return payload(key, value_size(key));
}

// Stream sizes under test: empty, one record, a few, records filling one
// page and many pages.
const std::vector<std::uint64_t> kSizes = {0, 1, 2, 3, 7, 100, 1000};

std::string stream_name(std::uint64_t n) {
  return klite::test::numbered("n", n, 4);
}

// Checks that the cursor is valid and at `key` with the expected value.
void check_at(const Cursor& c, std::uint64_t key) {
  REQUIRE(c.valid());
  const auto& rec = c.record();
  CHECK(rec.key == key);
  CHECK(first_difference(rec.value, value_of(key)) == -1);
}

// Fills one stream per size in kSizes, in several commits.
void fill(Engine& engine) {
  for (std::uint64_t n : kSizes) {
    const std::string name = stream_name(n);
    auto txn = engine.write();
    txn.create_stream(name);
    for (std::uint64_t k = 1; k <= n; ++k) {
      CHECK(txn.append(name, value_of(k)) == k);
      if (k % 128 == 0) {
        txn.commit();
        txn = engine.write();
      }
    }
    txn.commit();
  }
}

} // namespace

TEST_CASE("Cursor: positioning and stepping") {
  TempDir dir;
  const std::string path = dir.file();
  {
    Engine engine = Engine::open(path, klite::test::fast_options());
    fill(engine);
  }
  // Read from a fresh open, so nothing comes from the writer's memory.
  Engine engine = Engine::open(path, klite::test::fast_options());
  auto txn = engine.read();

  SUBCASE("first and next visit 1..N in order") {
    for (std::uint64_t n : kSizes) {
      CAPTURE(n);
      auto c = txn.cursor(stream_name(n));
      CHECK_FALSE(c.valid()); // not positioned yet
      bool ok = c.first();
      CHECK(ok == (n > 0));
      CHECK(c.valid() == ok);
      std::uint64_t expected = 1;
      std::uint64_t previous_ts = 0;
      while (c.valid()) {
        CAPTURE(expected);
        check_at(c, expected);
        CHECK(c.record().timestamp >= previous_ts);
        previous_ts = c.record().timestamp;
        ++expected;
        bool more = c.next();
        CHECK(more == c.valid());
        if (expected > n + 1)
          break; // a runaway cursor
      }
      CHECK(expected == n + 1);
      CHECK_FALSE(c.valid());
    }
  }

  SUBCASE("last and prev visit N..1 in order") {
    for (std::uint64_t n : kSizes) {
      CAPTURE(n);
      auto c = txn.cursor(stream_name(n));
      bool ok = c.last();
      CHECK(ok == (n > 0));
      CHECK(c.valid() == ok);
      std::uint64_t expected = n;
      while (c.valid()) {
        CAPTURE(expected);
        REQUIRE(expected >= 1);
        check_at(c, expected);
        --expected;
        bool more = c.prev();
        CHECK(more == c.valid());
      }
      CHECK(expected == 0);
    }
  }

  SUBCASE("seek(k) finds the first key >= k") {
    for (std::uint64_t n : kSizes) {
      CAPTURE(n);
      auto c = txn.cursor(stream_name(n));
      const std::vector<std::uint64_t> targets = {
          0, 1, 2, n / 2, n / 2 + 1, n - 1, n, n + 1, n + 2, kHugeKey};
      for (std::uint64_t k : targets) {
        CAPTURE(k);
        bool ok = c.seek(k);
        CHECK(ok == c.valid());
        std::uint64_t want = k == 0 ? 1 : k;
        if (want <= n) {
          CHECK(ok);
          if (ok)
            check_at(c, want);
        } else {
          CHECK_FALSE(ok);
        }
      }
      // Every key, to cover every page and in-page offset.
      for (std::uint64_t k = 1; k <= n; ++k) {
        CAPTURE(k);
        REQUIRE(c.seek(k));
        check_at(c, k);
      }
    }
  }

  SUBCASE("seek_before(k) finds the last key < k") {
    for (std::uint64_t n : kSizes) {
      CAPTURE(n);
      auto c = txn.cursor(stream_name(n));
      const std::vector<std::uint64_t> targets = {
          0, 1, 2, 3, n / 2, n / 2 + 1, n, n + 1, n + 2, kHugeKey};
      for (std::uint64_t k : targets) {
        CAPTURE(k);
        bool ok = c.seek_before(k);
        CHECK(ok == c.valid());
        // The last key < k among 1..n.
        std::uint64_t want = k == 0 ? 0 : (k - 1 < n ? k - 1 : n);
        if (want >= 1) {
          CHECK(ok);
          if (ok)
            check_at(c, want);
        } else {
          CHECK_FALSE(ok);
        }
      }
      for (std::uint64_t k = 2; k <= n + 1; ++k) {
        CAPTURE(k);
        REQUIRE(c.seek_before(k));
        check_at(c, k - 1);
      }
    }
  }

  SUBCASE("stepping from a seek position") {
    for (std::uint64_t n : kSizes) {
      if (n < 4)
        continue; // n / 2 - 1 must be a key
      CAPTURE(n);
      auto c = txn.cursor(stream_name(n));
      REQUIRE(c.seek(n / 2));
      REQUIRE(c.next());
      check_at(c, n / 2 + 1);
      REQUIRE(c.seek_before(n / 2));
      check_at(c, n / 2 - 1);
      REQUIRE(c.next());
      check_at(c, n / 2);
      REQUIRE(c.seek(1));
      CHECK_FALSE(c.prev());
      REQUIRE(c.seek(n));
      CHECK_FALSE(c.next());
      // The cursor can be positioned again after running off either end.
      REQUIRE(c.last());
      check_at(c, n);
      REQUIRE(c.first());
      check_at(c, 1);
    }
  }

  SUBCASE("direction changes at every key") {
    for (std::uint64_t n : kSizes) {
      CAPTURE(n);
      auto c = txn.cursor(stream_name(n));
      for (std::uint64_t k = 1; k <= n; ++k) {
        CAPTURE(k);
        REQUIRE(c.seek(k));
        if (k < n) {
          REQUIRE(c.next());
          check_at(c, k + 1);
          REQUIRE(c.prev());
          check_at(c, k);
        }
        if (k > 1) {
          REQUIRE(c.prev());
          check_at(c, k - 1);
          REQUIRE(c.next());
          check_at(c, k);
        }
      }
    }
  }

  SUBCASE("a random walk of next and prev") {
    for (std::uint64_t n : kSizes) {
      if (n == 0)
        continue;
      CAPTURE(n);
      Rng rng(1234 + n);
      auto c = txn.cursor(stream_name(n));
      std::uint64_t at = rng.range(1, n);
      REQUIRE(c.seek(at));
      for (int step = 0; step < 3000; ++step) {
        CAPTURE(step);
        CAPTURE(at);
        // Runs of several steps in one direction, so walks cross pages.
        bool forward = rng.range(0, 1) == 1;
        auto run = rng.range(1, 40);
        for (std::uint64_t i = 0; i < run; ++i) {
          if (forward) {
            bool ok = c.next();
            if (at == n) {
              CHECK_FALSE(ok);
              REQUIRE(c.seek(at = rng.range(1, n)));
              break;
            }
            REQUIRE(ok);
            ++at;
          } else {
            bool ok = c.prev();
            if (at == 1) {
              CHECK_FALSE(ok);
              REQUIRE(c.seek(at = rng.range(1, n)));
              break;
            }
            REQUIRE(ok);
            --at;
          }
        }
        check_at(c, at);
      }
    }
  }

  SUBCASE("two cursors on one stream are independent") {
    auto a = txn.cursor(stream_name(1000));
    auto b = txn.cursor(stream_name(1000));
    REQUIRE(a.first());
    REQUIRE(b.last());
    for (int i = 0; i < 500; ++i) {
      REQUIRE(a.next());
      REQUIRE(b.prev());
    }
    check_at(a, 501);
    check_at(b, 500);
    // A get through the same transaction does not move them.
    auto rec = txn.get(stream_name(1000), 10);
    REQUIRE(rec);
    check_at(a, 501);
    check_at(b, 500);
  }

  SUBCASE("a cursor moved to another variable keeps its position") {
    auto a = txn.cursor(stream_name(100));
    REQUIRE(a.seek(50));
    Cursor b = std::move(a);
    check_at(b, 50);
    REQUIRE(b.next());
    check_at(b, 51);
    Cursor c = txn.cursor(stream_name(7));
    c = std::move(b);
    check_at(c, 51);
  }

  SUBCASE("a cursor on a missing stream is NoSuchStream") {
    auto err = catch_error([&] { txn.cursor("missing"); });
    REQUIRE(err);
    CHECK(err->code() == ErrorCode::NoSuchStream);
    CHECK(contains(err->what(), "missing"));
    auto w = engine.write();
    KLITE_CHECK_ERROR(w.cursor("missing"), ErrorCode::NoSuchStream);
    w.abort();
  }
}

TEST_CASE("Cursor: values spanning pages") {
  TempDir dir;

  for (std::uint32_t page_size :
       {klite::test::kMaxPageSize, 4096u, klite::test::kMinPageSize}) {
    CAPTURE(page_size);
    const std::string p =
        dir.file("span" + std::to_string(page_size) + ".klite");
    // Big values (several pages each) between small ones, and a run of
    // big values back to back.
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 40; ++i) {
      switch (i % 5) {
      case 0:
        sizes.push_back(10 * 1024);
        break;
      case 1:
        sizes.push_back(3);
        break;
      case 2:
        sizes.push_back(page_size * 3 + 17);
        break;
      case 3:
        sizes.push_back(100 * 1024 + static_cast<std::size_t>(i));
        break;
      default:
        sizes.push_back(page_size - 1);
        break;
      }
    }
    for (int i = 0; i < 5; ++i)
      sizes.push_back(10 * 1024);
    auto expected = [&](std::uint64_t key) {
      return payload(key, sizes[key - 1], page_size);
    };
    {
      Options options = klite::test::fast_options();
      options.page_size = page_size;
      Engine engine = Engine::open(p, options);
      for (std::uint64_t k = 1; k <= sizes.size(); ++k) {
        if (k % 3 == 0) {
          // Some records go in through a batch.
          std::string v = expected(k);
          std::string_view views[] = {v};
          CHECK(engine.write().append_batch("s", views) ==
                k); // aborted: not committed
          auto txn = engine.write();
          CHECK(txn.append_batch("s", views) == k);
          txn.commit();
        } else {
          CHECK(engine.append("s", expected(k)) == k);
        }
      }
    }
    Engine engine = Engine::open(p);
    auto txn = engine.read();
    auto c = txn.cursor("s");
    std::uint64_t n = sizes.size();

    std::uint64_t k = 0;
    for (bool ok = c.first(); ok; ok = c.next()) {
      ++k;
      CAPTURE(k);
      REQUIRE(k <= n);
      CHECK(c.record().key == k);
      CHECK(first_difference(c.record().value, expected(k)) == -1);
    }
    CHECK(k == n);

    k = n + 1;
    for (bool ok = c.last(); ok; ok = c.prev()) {
      --k;
      CAPTURE(k);
      REQUIRE(k >= 1);
      CHECK(c.record().key == k);
      CHECK(first_difference(c.record().value, expected(k)) == -1);
    }
    CHECK(k == 1);

    // Direction changes on big records.
    for (std::uint64_t key = 2; key < n; ++key) {
      CAPTURE(key);
      REQUIRE(c.seek(key));
      REQUIRE(c.prev());
      CHECK(c.record().key == key - 1);
      REQUIRE(c.next());
      REQUIRE(c.next());
      CHECK(c.record().key == key + 1);
      CHECK(first_difference(c.record().value, expected(key + 1)) == -1);
      REQUIRE(c.prev());
      CHECK(c.record().key == key);
      CHECK(first_difference(c.record().value, expected(key)) == -1);
    }
  }
}

TEST_CASE("Cursor: snapshots") {
  TempDir dir;
  Engine engine = Engine::open(dir.file(), klite::test::fast_options());
  for (std::uint64_t k = 1; k <= 20; ++k)
    engine.append("s", value_of(k));

  SUBCASE("a cursor sees the snapshot of its transaction") {
    auto reader = engine.read();
    auto c = reader.cursor("s");
    REQUIRE(c.seek(18));
    for (std::uint64_t k = 21; k <= 300; ++k)
      engine.append("s", value_of(k));
    REQUIRE(c.next());
    REQUIRE(c.next());
    check_at(c, 20);
    CHECK_FALSE(c.next());
    REQUIRE(c.last());
    check_at(c, 20);
    CHECK_FALSE(c.seek(21));
    REQUIRE(c.seek_before(kHugeKey));
    check_at(c, 20);

    auto now = engine.read();
    auto c2 = now.cursor("s");
    REQUIRE(c2.last());
    check_at(c2, 300);
  }

  SUBCASE("a cursor in a write transaction sees its own appends") {
    auto txn = engine.write();
    for (std::uint64_t k = 21; k <= 100; ++k)
      CHECK(txn.append("s", value_of(k)) == k);
    auto c = txn.cursor("s");
    REQUIRE(c.last());
    check_at(c, 100);
    std::uint64_t expected = 100;
    while (c.prev())
      check_at(c, --expected);
    CHECK(expected == 1);
    REQUIRE(c.seek(19));
    for (std::uint64_t k = 20; k <= 100; ++k) {
      REQUIRE(c.next());
      check_at(c, k);
    }
    txn.abort();
    auto reader = engine.read();
    auto rc = reader.cursor("s");
    REQUIRE(rc.last());
    check_at(rc, 20);
  }

  SUBCASE("a cursor on an empty stream") {
    engine.create_stream("empty");
    auto reader = engine.read();
    auto c = reader.cursor("empty");
    CHECK_FALSE(c.first());
    CHECK_FALSE(c.last());
    CHECK_FALSE(c.seek(0));
    CHECK_FALSE(c.seek(1));
    CHECK_FALSE(c.seek_before(kHugeKey));
    CHECK_FALSE(c.valid());
  }
}

TEST_CASE("Cursor: seek by time") {
  klite::test::TempDir dir;
  klite::test::FakeClock clock;
  klite::Options options = klite::test::fast_options();
  options.clock = clock;
  options.page_size = 1024;
  klite::Engine engine = klite::Engine::open(dir.file(), options);
  klite::test::Rng rng(11);

  // Runs of equal timestamps with gaps between them, over many pages.
  std::vector<std::uint64_t> ts; // ts[k - 1] is the timestamp of key k
  std::uint64_t t = 1000;
  for (int run = 0; run < 300; ++run) {
    t += rng.range(1, 50);
    clock.set(t);
    auto txn = engine.write();
    for (std::uint64_t i = rng.range(1, 8); i > 0; --i) {
      txn.append("s", std::string(static_cast<std::size_t>(rng.range(0, 300)), 'v'));
      ts.push_back(t);
    }
    txn.commit();
  }
  engine.create_stream("empty");

  auto txn = engine.read();
  auto c = txn.cursor("s");
  for (std::uint64_t probe = 0; probe <= t + 2; probe += rng.range(1, 7)) {
    CAPTURE(probe);
    auto it = std::lower_bound(ts.begin(), ts.end(), probe);
    if (it == ts.end()) {
      CHECK_FALSE(c.seek_time(probe));
      CHECK_FALSE(c.valid());
      continue;
    }
    REQUIRE(c.seek_time(probe));
    const auto want = static_cast<std::uint64_t>(it - ts.begin()) + 1;
    CHECK(c.record().key == want);
    CHECK(c.record().timestamp == *it);
    // It is a position like any other: the scan goes on from there.
    if (want < ts.size()) {
      REQUIRE(c.next());
      CHECK(c.record().key == want + 1);
    }
  }
  auto e = txn.cursor("empty");
  CHECK_FALSE(e.seek_time(0));
  CHECK_FALSE(e.seek_time(UINT64_MAX));
}
