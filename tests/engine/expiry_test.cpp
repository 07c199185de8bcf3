// Expiry and retention (engine.h, WriteTxn::expire_before, Retention):
// which records stay readable, what the descriptor says afterwards, that
// the pages given up are reused, and that a file under retention stops
// growing.
#include "engine/btree.h"
#include "engine/catalog.h"
#include "engine/coding.h"
#include "engine/inspect.h"
#include "engine/pager.h"
#include "tests/engine/test_util.h"

#include <doctest/doctest.h>
#include <klite/engine.h>

#include <filesystem>
#include <string>
#include <vector>

using klite::Engine;
using klite::ErrorCode;
using klite::Options;
using klite::Retention;
using klite::test::FakeClock;
using klite::test::payload;
using klite::test::TempDir;

namespace {

Options small_pages() {
  Options o = klite::test::fast_options();
  o.page_size = 1024;
  return o;
}

Options with_clock(Options o, const FakeClock& clock) {
  o.clock = clock;
  return o;
}

// An engine on a fresh file with small pages, and the clock it reads.
struct Clocked {
  TempDir dir;
  std::string path = dir.file();
  FakeClock clock;
  Options options = with_clock(small_pages(), clock);
  Engine engine = Engine::open(path, options);
};

// Value sizes that vary from a few bytes to several pages, so records
// span pages and pages hold from one to dozens of records.
std::size_t size_of(std::uint64_t key) {
  return key % 17 == 0 ? 2500 : 10 + (key * 37) % 200;
}

void fill(Engine& e, const char* stream, std::uint64_t n) {
  auto w = e.write();
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t key = w.has_stream(stream) ? w.info(stream).next_key : 1;
    w.append(stream, payload(key, size_of(key)));
  }
  w.commit();
}

std::uint64_t bytes_of(std::uint64_t from, std::uint64_t to) {
  std::uint64_t n = 0;
  for (std::uint64_t k = from; k < to; ++k)
    n += size_of(k);
  return n;
}

// Reads the stream forward and backward and checks it holds exactly the
// keys [first, next), each with its payload.
void expect_keys(Engine& e, const char* stream, std::uint64_t first,
                 std::uint64_t next) {
  auto r = e.read();
  auto c = r.cursor(stream);
  std::uint64_t want = first;
  for (bool ok = c.first(); ok; ok = c.next(), ++want) {
    REQUIRE(c.record().key == want);
    CHECK(c.record().value == payload(want, size_of(want)));
  }
  CHECK(want == next);
  want = next;
  for (bool ok = c.last(); ok; ok = c.prev())
    REQUIRE(c.record().key == --want);
  CHECK(want == first);
}

void expect_clean(const std::string& path) {
  klite::inspect::File f(path);
  const auto report = klite::inspect::check(f);
  for (const auto& p : report.problems)
    MESSAGE(p.message);
  CHECK(report.clean());
}

std::uint32_t page_count(const std::string& path) {
  klite::inspect::File f(path);
  return klite::inspect::check(f).page_count;
}

} // namespace

TEST_CASE("Expiry: expire_before advances the first key and frees the pages no live record touches") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, small_pages());
  fill(e, "s", 300);
  const auto before = e.info("s");
  const std::uint32_t pages_before = page_count(path);

  CHECK(e.expire_before("s", 120) == 119);
  auto i = e.info("s");
  CHECK(i.first_key == 120);
  CHECK(i.last_key == 300);
  CHECK(i.next_key == 301);
  CHECK(i.records == 181);
  CHECK(i.bytes == bytes_of(120, 301));
  CHECK(i.first_timestamp >= before.first_timestamp);
  CHECK(i.last_timestamp == before.last_timestamp);
  expect_keys(e, "s", 120, 301);
  expect_clean(path);

  // Expired keys are gone for every way of reading.
  CHECK_FALSE(e.get("s", 1));
  CHECK_FALSE(e.get("s", 119));
  REQUIRE(e.get("s", 120));
  CHECK(e.get("s", 120)->value == payload(120, size_of(120)));
  {
    auto r = e.read();
    auto c = r.cursor("s");
    CHECK(c.seek(5)); // a key before the first live one starts there
    CHECK(c.record().key == 120);
    CHECK_FALSE(c.prev());
    CHECK_FALSE(c.seek_before(120));
    CHECK(c.seek_before(121));
    CHECK(c.record().key == 120);
    CHECK(c.seek_time(0));
    CHECK(c.record().key == 120);
  }

  // Expiring keys already expired, or none, changes nothing.
  CHECK(e.expire_before("s", 100) == 0);
  CHECK(e.expire_before("s", 120) == 0);
  CHECK(e.info("s").first_key == 120);

  // The dropped pages went to the free list: another stream's appends of
  // about as much reuse them instead of growing the file, from the second
  // commit after the expiry on (FORMAT.md section 9). The same appends to
  // a copy of the file from before the expiry grow it by about 30 pages.
  e.append("t", "first");
  fill(e, "t", 100);
  const std::uint32_t growth = page_count(path) - pages_before;
  {
    Engine twin = Engine::open(dir.file("twin"), small_pages());
    fill(twin, "s", 300);
    const std::uint32_t twin_before = page_count(dir.file("twin"));
    twin.append("t", "first");
    fill(twin, "t", 100);
    CHECK(growth + 25 <= page_count(dir.file("twin")) - twin_before);
  }
  expect_clean(path);

  // Keys are never reused.
  CHECK(e.append("s", payload(301, size_of(301))) == 301);
  expect_keys(e, "s", 120, 302);
  klite::test::reopen(e, path, small_pages());
  expect_keys(e, "s", 120, 302);
  expect_clean(path);
}

TEST_CASE("Expiry: expiring every record leaves an empty stream that appends continue") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, small_pages());
  fill(e, "s", 200);
  CHECK(e.expire_before("s", 1000) == 200);
  auto i = e.info("s");
  CHECK(i.records == 0);
  CHECK(i.bytes == 0);
  CHECK(i.first_key == 0); // none: StreamInfo says 0 for an empty stream
  CHECK(i.next_key == 201);
  CHECK_FALSE(e.get("s", 200));
  {
    auto r = e.read();
    auto c = r.cursor("s");
    CHECK_FALSE(c.first());
    CHECK_FALSE(c.last());
    CHECK_FALSE(c.seek(1));
  }
  expect_clean(path);
  CHECK(e.expire_before("s", 5000) == 0);

  fill(e, "s", 50);
  expect_keys(e, "s", 201, 251);
  i = e.info("s");
  CHECK(i.first_key == 201);
  CHECK(i.bytes == bytes_of(201, 251));
  expect_clean(path);

  // And a stream whose records were all expired before it had any pages.
  e.create_stream("empty");
  CHECK(e.expire_before("empty", 10) == 0);
  CHECK(e.info("empty").next_key == 1);
}

TEST_CASE("Expiry: one key at a time, through every page boundary") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, small_pages());
  fill(e, "s", 80);
  for (std::uint64_t k = 2; k <= 81; ++k) {
    CAPTURE(k);
    CHECK(e.expire_before("s", k) == 1);
    CHECK(e.info("s").records == 81 - k);
    CHECK(e.info("s").bytes == bytes_of(k, 81));
    if (k % 8 == 0 || k > 75) {
      expect_keys(e, "s", k, 81);
      expect_clean(path);
    }
  }
}

TEST_CASE("Expiry: a snapshot taken before still reads the expired records") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, small_pages());
  fill(e, "s", 200);
  auto old = e.read();
  CHECK(e.expire_before("s", 150) == 149);
  fill(e, "t", 300); // would reuse the freed pages if the snapshot allowed it
  auto c = old.cursor("s");
  std::uint64_t want = 200;
  for (bool ok = c.last(); ok; ok = c.prev()) {
    REQUIRE(c.record().key == want);
    CHECK(c.record().value == payload(want, size_of(want)));
    --want;
  }
  CHECK(want == 0);
  CHECK(old.info("s").first_key == 1);
  CHECK(e.info("s").first_key == 150);
}

TEST_CASE("Expiry: an aborted expiry changes nothing") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, small_pages());
  fill(e, "s", 100);
  {
    auto w = e.write();
    CHECK(w.expire_before("s", 60) == 59);
    CHECK(w.info("s").first_key == 60); // the transaction sees its own change
    CHECK_FALSE(w.get("s", 59));
    w.abort();
  }
  CHECK(e.info("s").first_key == 1);
  expect_keys(e, "s", 1, 101);
  expect_clean(path);
}

TEST_CASE("Expiry: expire_older_than goes by record timestamp against the clock") {
  Clocked c;
  const std::string& path = c.path;
  FakeClock& clock = c.clock;
  Engine& e = c.engine;
  // Keys 1..10 at t = 1000 s, 11..20 at 2000 s, 21..30 at 3000 s.
  for (std::uint64_t t : {1000u, 2000u, 3000u}) {
    clock.set(t * 1'000'000);
    fill(e, "s", 10);
  }
  clock.set(3500ull * 1'000'000);
  using std::chrono::seconds;
  CHECK(e.expire_older_than("s", seconds(3000)) == 0); // before 500 s
  CHECK(e.expire_older_than("s", seconds(2500)) == 0); // 1000 s is not older
  CHECK(e.expire_older_than("s", seconds(2499)) == 10);
  CHECK(e.info("s").first_key == 11);
  CHECK(e.info("s").first_timestamp == 2000'000'000);
  clock.set(3000ull * 1'000'000);
  // A negative age is a mistake, not "everything": refused, nothing goes.
  auto err = klite::test::catch_error([&] { e.expire_older_than("s", seconds(-5)); });
  REQUIRE(err);
  CHECK(err->code() == ErrorCode::InvalidArgument);
  CHECK(std::string(err->what()) == "expire age is negative: -5000000 us");
  CHECK(e.info("s").first_key == 11);
  CHECK(e.expire_older_than("s", seconds(0)) == 10); // older than now
  CHECK(e.info("s").first_key == 21);
  expect_keys(e, "s", 21, 31);
  expect_clean(path);
}

TEST_CASE("Retention: max_records keeps exactly that many, enforced at each commit") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, small_pages());
  Retention r;
  r.max_records = 50;
  e.create_stream("s", r);
  CHECK(e.info("s").retention == r);
  for (int round = 0; round < 10; ++round) {
    fill(e, "s", 37);
    const auto i = e.info("s");
    CHECK(i.records == std::min<std::uint64_t>(50, 37 * (round + 1)));
    CHECK(i.last_key == 37u * (round + 1));
  }
  const auto i = e.info("s");
  expect_keys(e, "s", i.first_key, i.next_key);
  expect_clean(path);

  // Loosened, nothing comes back; tightened, it holds at that commit.
  r.max_records = 100;
  e.set_retention("s", r);
  CHECK(e.info("s").records == 50);
  r.max_records = 5;
  e.set_retention("s", r);
  CHECK(e.info("s").records == 5);
  CHECK(e.info("s").first_key == 366);
  CHECK(e.info("s").retention.max_records == 5);
  klite::test::reopen(e, path, small_pages());
  CHECK(e.info("s").retention.max_records == 5);
  expect_clean(path);
}

TEST_CASE("Retention: max_bytes keeps the newest records whose values fit") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, small_pages());
  Retention r;
  r.max_bytes = 10'000;
  e.create_stream("s", r);
  for (int round = 0; round < 20; ++round) {
    fill(e, "s", 13);
    const auto i = e.info("s");
    CHECK(i.bytes <= r.max_bytes);
    CHECK(i.bytes == bytes_of(i.first_key, i.next_key));
    // As many as fit: one more record back would be too much.
    if (i.first_key > 1)
      CHECK(i.bytes + size_of(i.first_key - 1) > r.max_bytes);
  }
  const auto i = e.info("s");
  expect_keys(e, "s", i.first_key, i.next_key);
  expect_clean(path);
}

TEST_CASE("Retention: max_age expires by the clock when the stream is written") {
  Clocked c;
  const std::string& path = c.path;
  FakeClock& clock = c.clock;
  Engine& e = c.engine;
  Retention r;
  r.max_age = std::chrono::seconds(60);
  e.create_stream("s", r);
  clock.set(100'000'000); // 100 s
  fill(e, "s", 10);       // keys 1..10
  clock.set(130'000'000);
  fill(e, "s", 10); // keys 11..20
  CHECK(e.info("s").first_key == 1);
  clock.set(160'000'000); // keys 1..10 are exactly 60 s old: kept
  fill(e, "s", 1);
  CHECK(e.info("s").first_key == 1);
  clock.set(160'000'001);
  fill(e, "s", 1);
  CHECK(e.info("s").first_key == 11);
  clock.set(1'000'000'000); // everything but the new record is old
  fill(e, "s", 1);
  CHECK(e.info("s").first_key == 23);
  CHECK(e.info("s").records == 1);
  expect_clean(path);
}

TEST_CASE("Retention: reads hide what max_age no longer keeps, before a commit expires it") {
  Clocked c;
  FakeClock& clock = c.clock;
  Engine& e = c.engine;
  Retention r;
  r.max_age = std::chrono::seconds(60);
  e.create_stream("s", r);
  for (std::uint64_t t : {100u, 130u, 150u}) { // keys 1..10, 11..20, 21..30
    clock.set(t * 1'000'000);
    fill(e, "s", 10);
  }
  auto keys = [](klite::ReadTxn& t) {
    std::vector<std::uint64_t> out;
    auto cur = t.cursor("s");
    for (bool ok = cur.first(); ok; ok = cur.next())
      out.push_back(cur.record().key);
    return out;
  };
  clock.set(150'000'000);
  auto before = e.read();
  CHECK(keys(before).size() == 30);

  // At 191 s, max_age keeps 131 s and later: keys 21..30. Nobody has
  // written since, so they are all still stored.
  clock.set(191'000'000);
  {
    auto t = e.read();
    std::vector<std::uint64_t> kept;
    for (std::uint64_t k = 21; k <= 30; ++k)
      kept.push_back(k);
    CHECK(keys(t) == kept);
    auto cur = t.cursor("s");
    CHECK(cur.seek(5));
    CHECK(cur.record().key == 21);
    CHECK(cur.seek_time(0));
    CHECK(cur.record().key == 21);
    CHECK(cur.seek_time(150'000'000));
    CHECK(cur.record().key == 21);
    CHECK(cur.last());
    CHECK(cur.record().key == 30);
    CHECK(cur.seek_before(21) == false);
    CHECK(cur.seek_before(22));
    CHECK(cur.record().key == 21);
    CHECK_FALSE(cur.prev());
    CHECK_FALSE(t.get("s", 1).has_value());
    CHECK_FALSE(t.get("s", 20).has_value());
    CHECK(t.get("s", 21).has_value());
    CHECK(t.info("s").first_key == 1); // stored until a commit expires them
    CHECK(t.info("s").records == 30);
  }
  CHECK_FALSE(e.get("s", 20).has_value());
  CHECK(e.get("s", 21).has_value());
  // A transaction judges by the clock at its first read of the stream.
  CHECK(keys(before).size() == 30);

  // At 211 s nothing is kept; the next commit expires it all.
  clock.set(211'000'000);
  {
    auto t = e.read();
    CHECK(keys(t).empty());
    auto cur = t.cursor("s");
    CHECK_FALSE(cur.last());
    CHECK_FALSE(cur.seek_time(0));
    CHECK_FALSE(t.get("s", 30).has_value());
  }
  fill(e, "s", 1);
  CHECK(e.info("s").first_key == 31);
  CHECK(e.info("s").records == 1);
  {
    auto t = e.read();
    CHECK(keys(t) == std::vector<std::uint64_t>{31});
  }
  expect_clean(c.path);
}

TEST_CASE("Retention: limits combine, and a rolled-back change of them is not kept") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, small_pages());
  Retention r;
  r.max_records = 100;
  r.max_bytes = 3000;
  e.create_stream("s", r);
  fill(e, "s", 200);
  auto i = e.info("s");
  CHECK(i.records <= 100);
  CHECK(i.bytes <= 3000);
  {
    auto w = e.write();
    w.set_retention("s", Retention{});
    CHECK(w.info("s").retention == Retention{});
    w.abort();
  }
  CHECK(e.info("s").retention == r);
}

TEST_CASE("Expiry: errors") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path, small_pages());
  auto check = [](auto&& f, ErrorCode code, const std::string& message) {
    auto err = klite::test::catch_error(f);
    REQUIRE(err);
    CHECK(err->code() == code);
    CHECK(std::string(err->what()) == message);
  };
  check([&] { e.expire_before("nope", 1); }, ErrorCode::NoSuchStream,
        "no such stream: nope");
  check([&] { e.expire_older_than("nope", std::chrono::seconds(1)); },
        ErrorCode::NoSuchStream, "no such stream: nope");
  check([&] { e.set_retention("nope", Retention{}); }, ErrorCode::NoSuchStream,
        "no such stream: nope");
  Retention bad;
  bad.max_age = std::chrono::microseconds(-1);
  check([&] { e.create_stream("s", bad); }, ErrorCode::InvalidArgument,
        "retention max_age is negative: -1 us");
  CHECK_FALSE(e.read().has_stream("s"));
  e.create_stream("s");
  check([&] { e.set_retention("s", bad); }, ErrorCode::InvalidArgument,
        "retention max_age is negative: -1 us");
  CHECK(e.info("s").retention == Retention{});
  {
    Options ro;
    ro.read_only = true;
    Engine r = Engine::open(path, ro);
    check([&] { r.expire_before("s", 1); }, ErrorCode::ReadOnly,
          path + ": opened read-only");
  }
}

TEST_CASE("Retention: a stream under max_bytes keeps the file bounded") {
  // The steady state: 8 MiB of retention, 100x as much appended
  // (10x in the main suite), in commits of ~1000 records.
#if defined(KLITE_LONG_TESTS) && KLITE_LONG_TESTS
  const std::uint64_t multiple = 100;
#else
  const std::uint64_t multiple = 10;
#endif
  const std::uint64_t retention = 8 << 20;
  for (std::size_t value : {100u, 1024u, 5000u}) {
    CAPTURE(value);
    TempDir dir;
    const std::string path = dir.file();
    Engine e = Engine::open(path, klite::test::fast_options());
    Retention r;
    r.max_bytes = retention;
    e.create_stream("s", r);
    const std::uint64_t per_commit = std::max<std::uint64_t>(1, 100'000 / value);
    std::uint64_t written = 0, key = 1, largest = 0;
    std::vector<std::string> values(per_commit);
    while (written < multiple * retention) {
      auto w = e.write();
      std::vector<std::string_view> views;
      for (std::uint64_t i = 0; i < per_commit; ++i) {
        values[i] = payload(key + i, value);
        views.push_back(values[i]);
      }
      w.append_batch("s", views);
      w.commit();
      key += per_commit;
      written += per_commit * value;
      largest = std::max<std::uint64_t>(largest, std::filesystem::file_size(path));
    }
    const auto i = e.info("s");
    CHECK(i.bytes <= retention);
    CHECK(i.bytes > retention - value);
    // 1.5x the retention, plus one growth step of the file (8 MiB,
    // ARCHITECTURE.md section 5).
    CHECK(largest <= retention * 3 / 2 + (8 << 20));
    MESSAGE("largest file " << largest << " bytes for " << retention
                            << " retained");
    auto t = e.read();
    auto c = t.cursor("s");
    std::uint64_t want = i.first_key;
    for (bool ok = c.first(); ok; ok = c.next(), ++want)
      REQUIRE(c.record().value == payload(want, value));
    CHECK(want == key);
    expect_clean(path);
  }
}

TEST_CASE("TTL: a record whose TTL ran out is never read, before its space comes back") {
  Clocked c;
  const std::string& path = c.path;
  FakeClock& clock = c.clock;
  Engine& e = c.engine;
  using std::chrono::seconds;
  const std::uint64_t t0 = 1'000'000'000;
  clock.set(t0);
  CHECK(e.append("s", "a") == 1);
  CHECK(e.append("s", "b", {}, seconds(10)) == 2);
  CHECK(e.append("s", "c", {}, seconds(100)) == 3);
  CHECK(e.append("s", "d") == 4);
  auto values = [&](klite::ReadTxn& r, bool forwards) {
    std::string out;
    auto c = r.cursor("s");
    for (bool ok = forwards ? c.first() : c.last(); ok; ok = forwards ? c.next() : c.prev())
      out += c.record().value;
    return out;
  };

  clock.set(t0 + 9'999'999);
  {
    auto r = e.read();
    CHECK(values(r, true) == "abcd");
    CHECK(r.get("s", 2)->expires == t0 + 10'000'000);
    CHECK(r.get("s", 1)->expires == 0);
    clock.set(t0 + 10'000'000); // the snapshot keeps the time of its first read
    CHECK(values(r, false) == "dcba");
  }
  {
    auto r = e.read();
    CHECK(values(r, true) == "acd");
    CHECK(values(r, false) == "dca");
    CHECK_FALSE(r.get("s", 2));
    auto c = r.cursor("s");
    CHECK(c.seek(2));
    CHECK(c.record().key == 3);
    CHECK(c.seek_before(3));
    CHECK(c.record().key == 1);
    CHECK(c.seek_time(t0));
    CHECK(c.record().key == 1);
    CHECK(r.info("s").records == 4); // hidden, but not expired yet
  }
  CHECK_FALSE(e.get("s", 2));
  REQUIRE(e.get("s", 3));
  CHECK(e.get("s", 3)->expires == t0 + 100'000'000);

  clock.set(t0 + 100'000'000);
  {
    auto r = e.read();
    CHECK(values(r, true) == "ad");
    CHECK(values(r, false) == "da");
  }
  // Key 1 has no TTL, so nothing is expired from the head yet.
  e.append("s", "e");
  CHECK(e.info("s").first_key == 1);
  // Once it goes, the commit also expires the run-out records behind it.
  CHECK(e.expire_before("s", 2) == 1);
  CHECK(e.info("s").first_key == 4);
  CHECK(e.info("s").records == 2);
  expect_clean(path);
  klite::test::reopen(e, path, c.options);
  CHECK_FALSE(e.get("s", 3));
  CHECK(e.get("s", 4)->value == "d");
}

TEST_CASE("TTL: records with a TTL give their pages back as they run out") {
  Clocked c;
  const std::string& path = c.path;
  FakeClock& clock = c.clock;
  Engine& e = c.engine;
  // 60 s of records, 100 per second, each living 10 s: the stream holds
  // about 10 s of them at any time.
  std::uint64_t key = 1;
  std::uint32_t pages_at_20s = 0;
  for (std::uint64_t second = 0; second < 60; ++second) {
    clock.set(1'000'000'000 + second * 1'000'000);
    auto w = e.write();
    for (int i = 0; i < 100; ++i, ++key)
      w.append("s", payload(key, 50), {}, std::chrono::seconds(10));
    w.commit();
    const auto info = e.info("s");
    // Those of the last 10 s: a record expires when its 10 s are up.
    CHECK(info.records == 100 * std::min<std::uint64_t>(second + 1, 10));
    if (second == 20)
      pages_at_20s = page_count(path);
  }
  CHECK(page_count(path) <= pages_at_20s + 8);
  expect_clean(path);
  auto has_ttl = [&] {
    const auto streams = klite::inspect::streams(klite::inspect::File(path), nullptr);
    REQUIRE(streams.size() == 1);
    return (streams[0].d.flags & klite::format::desc::kHasTtl) != 0;
  };
  CHECK(has_ttl());
  // Once every record has run out, a commit that touches the stream
  // expires them all, and the stream no longer has TTLs to judge.
  clock.set(2'000'000'000);
  e.set_retention("s", {});
  CHECK(e.info("s").records == 0);
  CHECK_FALSE(has_ttl());
  e.append("s", "forever");
  CHECK_FALSE(has_ttl());
  e.append("s", "again", {}, std::chrono::seconds(1));
  CHECK(has_ttl());
  CHECK(e.info("s").records == 2);
}

TEST_CASE("TTL: errors") {
  TempDir dir;
  Engine e = Engine::open(dir.file(), small_pages());
  auto check = [](auto&& f, const std::string& message) {
    auto err = klite::test::catch_error(f);
    REQUIRE(err);
    CHECK(err->code() == ErrorCode::InvalidArgument);
    CHECK(std::string(err->what()) == message);
  };
  check([&] { e.append("s", "x", {}, std::chrono::microseconds(-1)); },
        "ttl of -1 us is out of range (0 to 2^61 us)");
  check([&] { e.append("s", "x", {}, klite::kMaxTtl + std::chrono::microseconds(1)); },
        "ttl of 2305843009213693953 us is out of range (0 to 2^61 us)");
  auto w = e.write();
  const std::string_view one[] = {"x"};
  check([&] { w.append_batch("s", one, std::chrono::microseconds(-5)); },
        "ttl of -5 us is out of range (0 to 2^61 us)");
  CHECK_FALSE(w.has_stream("s")); // refused before anything was written
  w.append("s", "y", {}, klite::kMaxTtl);
  w.commit();
  CHECK(e.get("s", 1)->value == "y");
}

TEST_CASE("Corrupt files: a data page with flags this version does not know") {
  TempDir dir;
  const std::string path = dir.file();
  {
    Engine e = Engine::open(path, small_pages());
    e.append("s", "one", {}, std::chrono::hours(1));
    e.append("t", "later"); // so the newest commit does not list s's page
    e.append("t", "later");
  }
  const auto streams = klite::inspect::streams(klite::inspect::File(path), nullptr);
  REQUIRE(streams[0].name == "s");
  std::string bytes = klite::test::read_file_bytes(path);
  bytes[std::size_t{streams[0].d.head} * 1024 + 1] = 3;
  klite::test::write_file_bytes(path, bytes);
  Engine e = Engine::open(path);
  auto err = klite::test::catch_error([&] { e.get("s", 1); });
  REQUIRE(err);
  CHECK(err->code() == ErrorCode::Corrupt);
  CHECK(klite::test::contains(err->what(), "page " + std::to_string(streams[0].d.head) +
                                               ": data page flags 3 are not known"));
  const auto report = klite::inspect::check(klite::inspect::File(path));
  REQUIRE(!report.problems.empty());
  CHECK(report.problems[0].page == streams[0].d.head);
  CHECK(report.problems[0].message == "stream \"s\": flags 3 are not known");
}

namespace {

// A file of about 2.5 MB whose stream "s" keeps only its last 1000 records.
void make_sparse(const std::string& path, const Options& o) {
  Engine e = Engine::open(path, o);
  for (int t = 0; t < 25; ++t) {
    auto w = e.write();
    for (int i = 0; i < 1000; ++i)
      w.append(i % 2 ? "s" : "gone", payload(w.has_stream("s") ? w.info("s").next_key : 1, 40));
    w.commit();
  }
  e.expire_before("s", e.info("s").next_key - 1000);
  e.drop_stream("gone");
}

void expect_sparse_records(Engine& e) {
  const auto i = e.info("s");
  CHECK(i.records == 1000);
  auto r = e.read();
  auto c = r.cursor("s");
  std::uint64_t n = 0;
  for (bool ok = c.first(); ok; ok = c.next(), ++n)
    REQUIRE(c.record().key == i.first_key + n);
  CHECK(n == 1000);
}

} // namespace

TEST_CASE("VACUUM: moves the live pages down and gives the rest of the file back") {
  for (const auto durability : {klite::Durability::Full, klite::Durability::Normal}) {
    CAPTURE(static_cast<int>(durability));
    TempDir dir;
    const std::string path = dir.file();
    Options o;
    o.durability = durability;
    make_sparse(path, o);
    const std::uint64_t size = std::filesystem::file_size(path);
    Engine e = Engine::open(path, o);
    const std::uint64_t given = e.vacuum();
    const std::uint64_t after = std::filesystem::file_size(path);
    CHECK(given == size - after);
    CHECK(after < size / 10); // 1000 records of 40 bytes: a few dozen pages
    CHECK(after == std::uint64_t{page_count(path)} * 4096);
    expect_sparse_records(e);
    expect_clean(path);
    // Appends go on, growing the file by a step again (a value of three
    // pages needs new ones); a second VACUUM gives back the step, and
    // keeps every record.
    e.append("s", std::string(3 * 4096, 'm'));
    CHECK(std::filesystem::file_size(path) > after);
    CHECK(e.vacuum() > 0);
    CHECK(std::filesystem::file_size(path) <= after + 5 * 4096); // the value's pages
    klite::test::reopen(e, path, o);
    CHECK(e.info("s").records == 1001);
    expect_clean(path);
  }
}

TEST_CASE("VACUUM: does not shrink under another open or an older read transaction") {
  TempDir dir;
  const std::string path = dir.file();
  make_sparse(path, {});
  const std::uint64_t size = std::filesystem::file_size(path);
  {
    Engine e = Engine::open(path);
    Options ro;
    ro.read_only = true;
    Engine other = Engine::open(path, ro); // maps the file too
    CHECK(e.vacuum() == 0);
    CHECK(std::filesystem::file_size(path) == size);
    expect_sparse_records(other);
  }
  {
    Engine e = Engine::open(path);
    auto old = e.read();
    CHECK(e.vacuum() == 0);
    CHECK(std::filesystem::file_size(path) == size);
    // The old snapshot's pages were neither reused nor cut away.
    auto c = old.cursor("s");
    std::uint64_t n = 0;
    for (bool ok = c.first(); ok; ok = c.next())
      ++n;
    CHECK(n == 1000);
  }
  // Alone, it shrinks: the pages the tries above moved are free.
  Engine e = Engine::open(path);
  CHECK(e.vacuum() > 0);
  CHECK(std::filesystem::file_size(path) < size / 10);
  expect_sparse_records(e);
  expect_clean(path);
}

TEST_CASE("VACUUM: a damaged chain is Corrupt, and the file keeps its records") {
  TempDir dir;
  const std::string path = dir.file();
  make_sparse(path, {});
  Engine(Engine::open(path)).vacuum(); // compact, so "s" is the head of the file
  { // pages of "s" behind another stream's, which then goes
    Engine e = Engine::open(path);
    auto w = e.write();
    for (int i = 0; i < 3000; ++i)
      w.append("gone", payload(static_cast<std::uint64_t>(i) + 1, 40));
    for (int i = 0; i < 10; ++i)
      w.append("s", payload(w.info("s").next_key, 4000));
    w.commit();
    e.drop_stream("gone");
  }
  const auto streams = klite::inspect::streams(klite::inspect::File(path), nullptr);
  REQUIRE(streams.back().name == "s");
  std::string bytes = klite::test::read_file_bytes(path);
  const std::size_t head = std::size_t{streams.back().d.head} * 4096;
  const std::uint32_t second = klite::coding::get_u32(
      reinterpret_cast<const std::uint8_t*>(bytes.data()) + head + 12);
  bytes[std::size_t{second} * 4096] = 7; // no longer a data page
  klite::test::write_file_bytes(path, bytes);
  Engine e = Engine::open(path);
  auto err = klite::test::catch_error([&] { e.vacuum(); });
  REQUIRE(err);
  CHECK(err->code() == ErrorCode::Corrupt);
  CHECK(klite::test::contains(err->what(), "page " + std::to_string(second) +
                                               ": expected a data page, found type 7"));
  CHECK(e.info("s").records == 1010); // the relocation was rolled back
  CHECK(e.get("s", e.info("s").first_key)->value.size() == 40);
  CHECK(e.get("s", e.info("s").last_key)->value.size() == 4000);
}

TEST_CASE("Expiry: a key index that lacks a dropped page's entry is Corrupt, and nothing goes") {
  TempDir dir;
  const std::string path = dir.file();
  {
    Engine e = Engine::open(path);
    auto w = e.write();
    for (std::uint64_t k = 1; k <= 2000; ++k)
      w.append("s", payload(k, 100));
    w.commit();
  }
  std::uint64_t erased = 0; // the first key of the stream's third data page
  {
    klite::Pager pager(path, {});
    klite::Pages base = pager.acquire();
    pager.release(base);
    klite::Writer w(base);
    auto d = klite::catalog::find(w.pages(), "s");
    REQUIRE(d);
    std::string key;
    int n = 0;
    klite::btree::scan(w.pages(), d->index_root, {}, [&](const klite::btree::Entry& en) {
      key = en.key;
      return ++n < 3;
    });
    erased = klite::coding::get_u64_be(reinterpret_cast<const std::uint8_t*>(key.data()));
    REQUIRE(klite::btree::erase(w, d->index_root, key));
    klite::catalog::put(w, "s", *d);
    w.commit();
  }
  CAPTURE(erased);
  Engine e = Engine::open(path);
  const auto before = e.info("s");
  auto err = klite::test::catch_error([&] { e.expire_before("s", erased + 500); });
  REQUIRE(err);
  CHECK(err->code() == ErrorCode::Corrupt);
  CHECK(klite::test::contains(err->what(),
                              "the key index does not match the data pages from this one on"));
  const auto after = e.info("s");
  CHECK(after.first_key == before.first_key);
  CHECK(after.records == 2000);
  CHECK(e.get("s", 1)->value == payload(1, 100));
  CHECK(e.get("s", 2000)->value == payload(2000, 100));
}
