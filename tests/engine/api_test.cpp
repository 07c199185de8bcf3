// The native API contract of include/klite/engine.h: opening, streams,
// append/get, headers, timestamps, StreamInfo and transactions.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "test_util.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;
using namespace std::string_view_literals;
using klite::Durability;
using klite::Engine;
using klite::ErrorCode;
using klite::Header;
using klite::Options;
using klite::StreamInfo;
using klite::test::catch_error;
using klite::test::contains;
using klite::test::FakeClock;
using klite::test::payload;
using klite::test::reopen;
using klite::test::TempDir;

namespace {

constexpr std::uint64_t kHugeKey = std::numeric_limits<std::uint64_t>::max();

std::vector<std::string> stream_names(Engine& engine) {
  std::vector<std::string> names;
  for (const auto& info : engine.streams())
    names.push_back(info.name);
  return names;
}

std::vector<std::string> stream_names(klite::ReadTxn& txn) {
  std::vector<std::string> names;
  for (const auto& info : txn.streams())
    names.push_back(info.name);
  return names;
}

// The value of `key` in `stream` as seen by a fresh transaction, or "<none>".
std::string value_of(Engine& engine, std::string_view stream,
                     std::uint64_t key) {
  auto rec = engine.get(stream, key);
  return rec ? rec->value : "<none>"s;
}

} // namespace

TEST_CASE("Engine: open and reopen") {
  TempDir dir;
  const std::string path = dir.file();

  SUBCASE("open creates the file") {
    REQUIRE_FALSE(std::filesystem::exists(path));
    {
      Engine engine = Engine::open(path);
      CHECK(engine.path() == path);
      CHECK(std::filesystem::exists(path));
      CHECK(engine.streams().empty());
      auto txn = engine.read();
      CHECK(txn.streams().empty());
      CHECK_FALSE(txn.has_stream("anything"));
    }
    CHECK(std::filesystem::exists(path));
    CHECK(std::filesystem::file_size(path) > 0);
  }

  SUBCASE("reopen keeps streams and records") {
    {
      Engine engine = Engine::open(path);
      engine.create_stream("empty");
      CHECK(engine.append("events", "one") == 1);
      CHECK(engine.append("events", "two") == 2);
    }
    Engine engine = Engine::open(path);
    CHECK(stream_names(engine) == std::vector<std::string>{"empty", "events"});
    CHECK(value_of(engine, "events", 1) == "one");
    CHECK(value_of(engine, "events", 2) == "two");
    CHECK(engine.info("empty").records == 0);
    CHECK(engine.info("events").records == 2);
  }

  SUBCASE("a missing file with create_if_missing=false is NotFound") {
    Options options;
    options.create_if_missing = false;
    auto err = catch_error([&] { Engine::open(path, options); });
    REQUIRE(err);
    CHECK(err->code() == ErrorCode::NotFound);
    CHECK(contains(err->what(), path));
    CHECK_FALSE(std::filesystem::exists(path));
  }

  SUBCASE("a missing file opened read-only is NotFound") {
    Options options;
    options.create_if_missing = false;
    options.read_only = true;
    auto err = catch_error([&] { Engine::open(path, options); });
    REQUIRE(err);
    CHECK(err->code() == ErrorCode::NotFound);
    CHECK_FALSE(std::filesystem::exists(path));
  }

  SUBCASE("an invalid page_size is InvalidArgument and creates no file") {
    using klite::test::kMaxPageSize;
    using klite::test::kMinPageSize;
    for (std::uint32_t page_size :
         {0u, 1u, 256u, kMinPageSize / 2, kMinPageSize - 1, 1000u, 3000u, 4095u,
          4097u, kMaxPageSize * 2, 131072u}) {
      CAPTURE(page_size);
      Options options;
      options.page_size = page_size;
      auto err = catch_error([&] { Engine::open(path, options); });
      REQUIRE(err);
      CHECK(err->code() == ErrorCode::InvalidArgument);
      CHECK(contains(err->what(), "page"));
      // A file left behind would make the next (valid) open fail.
      CHECK_FALSE(std::filesystem::exists(path));
    }
  }

  SUBCASE("every valid page_size works and the file remembers it") {
    // Largest first, so an exception at one size leaves the others tested.
    for (std::uint32_t page_size = klite::test::kMaxPageSize;
         page_size >= klite::test::kMinPageSize; page_size /= 2) {
      CAPTURE(page_size);
      const std::string p =
          dir.file("ps" + std::to_string(page_size) + ".klite");
      {
        Options options;
        options.page_size = page_size;
        Engine engine = Engine::open(p, options);
        // Values smaller than, equal to and larger than a page.
        for (std::uint64_t k = 1; k <= 5; ++k)
          CHECK(engine.append("s", payload(k, (k - 1) * page_size / 2)) == k);
      }
      CHECK(std::filesystem::file_size(p) % page_size == 0);
      // Reopened with default options (page_size 4096): the file's size wins.
      Engine engine = Engine::open(p);
      for (std::uint64_t k = 1; k <= 5; ++k) {
        CAPTURE(k);
        CHECK(value_of(engine, "s", k) == payload(k, (k - 1) * page_size / 2));
      }
      CHECK(engine.append("s", payload(6, 3 * page_size)) == 6);
      CHECK(value_of(engine, "s", 6) == payload(6, 3 * page_size));
    }
  }

  SUBCASE("a file created with page_size 8192 reopens with default options") {
    {
      Options options;
      options.page_size = 8192;
      Engine engine = Engine::open(path, options);
      engine.append("s", payload(1, 20000));
    }
    {
      Engine engine = Engine::open(path);
      CHECK(value_of(engine, "s", 1) == payload(1, 20000));
      CHECK(engine.append("s", payload(2, 100)) == 2);
      engine.create_stream("t");
    }
    Engine engine = Engine::open(path);
    CHECK(value_of(engine, "s", 2) == payload(2, 100));
    CHECK(stream_names(engine) == std::vector<std::string>{"s", "t"});
  }

  SUBCASE("read-only engine") {
    {
      Engine engine = Engine::open(path);
      engine.append("s", "v");
    }
    auto size_before = std::filesystem::file_size(path);
    Options options;
    options.read_only = true;
    Engine engine = Engine::open(path, options);
    CHECK(value_of(engine, "s", 1) == "v");
    CHECK(engine.info("s").records == 1);
    KLITE_CHECK_ERROR(engine.write(), ErrorCode::ReadOnly);
    KLITE_CHECK_ERROR(engine.append("s", "w"), ErrorCode::ReadOnly);
    KLITE_CHECK_ERROR(engine.append("new", "w"), ErrorCode::ReadOnly);
    KLITE_CHECK_ERROR(engine.create_stream("t"), ErrorCode::ReadOnly);
    KLITE_CHECK_ERROR(engine.drop_stream("s"), ErrorCode::ReadOnly);
    CHECK(engine.info("s").records == 1);
    CHECK(stream_names(engine) == std::vector<std::string>{"s"});
    CHECK(std::filesystem::file_size(path) == size_before);
  }
}

TEST_CASE("Engine: streams") {
  TempDir dir;
  Engine engine = Engine::open(dir.file(), klite::test::fast_options());

  SUBCASE("create, has, drop") {
    CHECK_FALSE(engine.read().has_stream("orders"));
    engine.create_stream("orders");
    CHECK(engine.read().has_stream("orders"));
    CHECK_FALSE(
        engine.read().has_stream("Orders")); // names are case-sensitive bytes
    CHECK_FALSE(engine.read().has_stream("order"));
    engine.drop_stream("orders");
    CHECK_FALSE(engine.read().has_stream("orders"));
    CHECK(engine.streams().empty());
  }

  SUBCASE("streams() lists in name (byte) order") {
    const std::vector<std::string> created = {"zeta", "alpha", "beta", "Beta",
                                              "a1",   "a",     "A_b",  "a_",
                                              "z9",   "alpha2"};
    for (const auto& name : created)
      engine.create_stream(name);
    std::vector<std::string> expected = created;
    std::sort(expected.begin(), expected.end());
    CHECK(stream_names(engine) == expected);
    auto txn = engine.read();
    CHECK(stream_names(txn) == expected);
    for (const auto& info : txn.streams()) {
      CAPTURE(info.name);
      CHECK(info.records == 0);
      CHECK(info.next_key == 1);
    }
  }

  SUBCASE("stream ids are distinct") {
    for (const char* name : {"a", "b", "c", "d"})
      engine.create_stream(name);
    auto infos = engine.streams();
    REQUIRE(infos.size() == 4);
    for (std::size_t i = 0; i < infos.size(); ++i)
      for (std::size_t j = i + 1; j < infos.size(); ++j)
        CHECK(infos[i].id != infos[j].id);
  }

  SUBCASE("create of an existing stream is StreamExists") {
    engine.create_stream("orders");
    engine.append("orders", "x");
    auto err = catch_error([&] { engine.create_stream("orders"); });
    REQUIRE(err);
    CHECK(err->code() == ErrorCode::StreamExists);
    CHECK(contains(err->what(), "orders"));
    // An auto-created stream exists too.
    engine.append("auto", "x");
    KLITE_CHECK_ERROR(engine.create_stream("auto"), ErrorCode::StreamExists);
    // Nothing changed.
    CHECK(engine.info("orders").records == 1);
    CHECK(engine.info("auto").records == 1);
  }

  SUBCASE("drop of a missing stream is NoSuchStream") {
    auto err = catch_error([&] { engine.drop_stream("ghost"); });
    REQUIRE(err);
    CHECK(err->code() == ErrorCode::NoSuchStream);
    CHECK(contains(err->what(), "ghost"));
    engine.create_stream("ghost");
    engine.drop_stream("ghost");
    KLITE_CHECK_ERROR(engine.drop_stream("ghost"), ErrorCode::NoSuchStream);
  }

  SUBCASE("bad names are InvalidArgument") {
    const std::vector<std::string> bad = {
        "",    std::string(klite::kMaxStreamNameSize + 1, 'a'),
        "a b", " a",
        "a ",  "1abc",
        "0",   "a\0b"s,
        "a\n",
    };
    for (const auto& name : bad) {
      CAPTURE(name);
      KLITE_CHECK_ERROR(engine.create_stream(name), ErrorCode::InvalidArgument);
      // Auto-create checks the name too.
      KLITE_CHECK_ERROR(engine.append(name, "x"), ErrorCode::InvalidArgument);
      {
        auto txn = engine.write();
        KLITE_CHECK_ERROR(txn.create_stream(name), ErrorCode::InvalidArgument);
        KLITE_CHECK_ERROR(txn.append(name, "x"), ErrorCode::InvalidArgument);
        txn.commit();
      }
    }
    CHECK(engine.streams().empty());

    auto err = catch_error([&] { engine.create_stream("1abc"); });
    REQUIRE(err);
    CHECK(contains(err->what(), "1abc"));
  }

  SUBCASE("a name of exactly kMaxStreamNameSize bytes is allowed") {
    std::string longest(klite::kMaxStreamNameSize, 'n');
    longest[0] = 'L';
    longest.back() = '9';
    engine.create_stream(longest);
    CHECK(engine.append(longest, "v") == 1);
    std::string other = longest;
    other[1] = 'm';
    CHECK(engine.append(other, "w") == 1); // auto-created, also at the limit
    CHECK(stream_names(engine) ==
          std::vector<std::string>{other, longest}); // 'm' < 'n'
    CHECK(value_of(engine, longest, 1) == "v");
    CHECK(engine.info(longest).name == longest);
    CHECK(engine.info(other).name == other);
  }

  SUBCASE("drop removes the records, and survives reopen") {
    for (int i = 0; i < 10; ++i)
      engine.append("doomed", payload(i + 1, 1000));
    engine.append("kept", "k");
    engine.drop_stream("doomed");
    CHECK_FALSE(engine.read().has_stream("doomed"));
    KLITE_CHECK_ERROR(engine.get("doomed", 1), ErrorCode::NoSuchStream);
    KLITE_CHECK_ERROR(engine.info("doomed"), ErrorCode::NoSuchStream);

    reopen(engine, dir.file(), klite::test::fast_options());
    CHECK(stream_names(engine) == std::vector<std::string>{"kept"});
    engine.create_stream("doomed");
    CHECK(engine.info("doomed").records == 0);
    CHECK_FALSE(engine.get("doomed", 1).has_value());
    CHECK(value_of(engine, "kept", 1) == "k");
  }
}

TEST_CASE("Engine: append and get") {
  TempDir dir;
  const std::string path = dir.file();
  Engine engine = Engine::open(path, klite::test::fast_options());

  SUBCASE("append returns 1, 2, 3, ... per stream") {
    for (std::uint64_t k = 1; k <= 20; ++k) {
      CAPTURE(k);
      CHECK(engine.append("a", payload(k, k * 10)) == k);
      if (k % 2 == 0)
        CHECK(engine.append("b", payload(k, 3)) == k / 2);
    }
    for (std::uint64_t k = 1; k <= 20; ++k) {
      CAPTURE(k);
      CHECK(value_of(engine, "a", k) == payload(k, k * 10));
    }
    CHECK(value_of(engine, "b", 10) == payload(20, 3));
  }

  SUBCASE("keys continue after reopen") {
    for (std::uint64_t k = 1; k <= 5; ++k)
      engine.append("a", payload(k, 50));
    reopen(engine, path, klite::test::fast_options());
    CHECK(engine.append("a", payload(6, 50)) == 6);
    reopen(engine, path, klite::test::fast_options());
    auto txn = engine.write();
    CHECK(txn.append("a", payload(7, 50)) == 7);
    CHECK(txn.append("a", payload(8, 50)) == 8);
    txn.commit();
    for (std::uint64_t k = 1; k <= 8; ++k) {
      CAPTURE(k);
      CHECK(value_of(engine, "a", k) == payload(k, 50));
    }
  }

  SUBCASE("get of existing and missing keys") {
    for (std::uint64_t k = 1; k <= 3; ++k)
      engine.append("a", payload(k, 16));
    engine.create_stream("empty");

    auto rec = engine.get("a", 2);
    REQUIRE(rec);
    CHECK(rec->key == 2);
    CHECK(rec->value == payload(2, 16));
    CHECK(rec->headers.empty());

    CHECK_FALSE(engine.get("a", 0).has_value());
    CHECK_FALSE(engine.get("a", 4).has_value());
    CHECK_FALSE(engine.get("a", 1000).has_value());
    CHECK_FALSE(engine.get("a", kHugeKey).has_value());
    CHECK_FALSE(engine.get("empty", 0).has_value());
    CHECK_FALSE(engine.get("empty", 1).has_value());

    auto txn = engine.read();
    auto r = txn.get("a", 3);
    REQUIRE(r);
    CHECK(r->key == 3);
    CHECK(r->value == payload(3, 16));
    CHECK(r->raw_headers.empty());
    CHECK_FALSE(txn.get("a", 0).has_value());
    CHECK_FALSE(txn.get("a", 4).has_value());
    CHECK_FALSE(txn.get("a", kHugeKey).has_value());
  }

  SUBCASE("empty values and values with NUL bytes") {
    CHECK(engine.append("a", "") == 1);
    CHECK(engine.append("a", "\0"sv) == 2);
    CHECK(engine.append("a", "x\0y\0\0"sv) == 3);
    CHECK(engine.append("a", "\xff\xff\0\xff"sv) == 4);
    reopen(engine, path, klite::test::fast_options());
    auto r1 = engine.get("a", 1);
    REQUIRE(r1);
    CHECK(r1->value.empty());
    CHECK(value_of(engine, "a", 2) == "\0"s);
    CHECK(value_of(engine, "a", 3) == "x\0y\0\0"s);
    CHECK(value_of(engine, "a", 4) == "\xff\xff\0\xff"s);
  }

  SUBCASE("get on a missing stream is NoSuchStream") {
    auto err = catch_error([&] { engine.get("nope", 1); });
    REQUIRE(err);
    CHECK(err->code() == ErrorCode::NoSuchStream);
    CHECK(contains(err->what(), "nope"));
    auto txn = engine.read();
    KLITE_CHECK_ERROR(txn.get("nope", 1), ErrorCode::NoSuchStream);
    KLITE_CHECK_ERROR(txn.get("nope", 0), ErrorCode::NoSuchStream);
    KLITE_CHECK_ERROR(txn.info("nope"), ErrorCode::NoSuchStream);
    KLITE_CHECK_ERROR(engine.info("nope"), ErrorCode::NoSuchStream);
    // Reading does not create it.
    CHECK(engine.streams().empty());
  }

  SUBCASE("append to a missing stream creates it") {
    CHECK(engine.append("fresh", "v") == 1);
    CHECK(engine.read().has_stream("fresh"));
    auto txn = engine.write();
    CHECK(txn.append("fresh2", "w") == 1);
    CHECK(txn.has_stream("fresh2"));
    CHECK(txn.append_batch("fresh3", std::vector<std::string_view>{"a", "b"}) ==
          1);
    txn.commit();
    CHECK(stream_names(engine) ==
          std::vector<std::string>{"fresh", "fresh2", "fresh3"});
    CHECK(engine.info("fresh3").records == 2);
  }

  SUBCASE("with auto_create_streams=false append to a missing stream is "
          "NoSuchStream") {
    Options options = klite::test::fast_options();
    options.auto_create_streams = false;
    reopen(engine, path, options);
    auto err = catch_error([&] { engine.append("fresh", "v"); });
    REQUIRE(err);
    CHECK(err->code() == ErrorCode::NoSuchStream);
    CHECK(contains(err->what(), "fresh"));
    {
      auto txn = engine.write();
      KLITE_CHECK_ERROR(txn.append("fresh", "v"), ErrorCode::NoSuchStream);
      KLITE_CHECK_ERROR(
          txn.append_batch("fresh", std::vector<std::string_view>{"a"}),
          ErrorCode::NoSuchStream);
      CHECK_FALSE(txn.has_stream("fresh"));
      txn.commit();
    }
    CHECK(engine.streams().empty());
    // Explicit creation still works.
    engine.create_stream("fresh");
    CHECK(engine.append("fresh", "v") == 1);
    CHECK(value_of(engine, "fresh", 1) == "v");
  }

  SUBCASE("append_batch returns the first key, the rest follow densely") {
    engine.append("a", "zero");
    std::vector<std::string> owned;
    for (std::uint64_t i = 0; i < 100; ++i)
      owned.push_back(payload(i + 2, i * 37 % 700));
    std::vector<std::string_view> views(owned.begin(), owned.end());
    {
      auto txn = engine.write();
      CHECK(txn.append_batch("a", views) == 2);
      CHECK(txn.append_batch("a", std::span(views).first(3)) == 102);
      CHECK(txn.append("a", "last") == 105);
      txn.commit();
    }
    CHECK(value_of(engine, "a", 1) == "zero");
    for (std::uint64_t i = 0; i < 100; ++i) {
      CAPTURE(i);
      CHECK(value_of(engine, "a", i + 2) == owned[i]);
    }
    CHECK(value_of(engine, "a", 102) == owned[0]);
    CHECK(value_of(engine, "a", 104) == owned[2]);
    CHECK(value_of(engine, "a", 105) == "last");
    CHECK(engine.info("a").next_key == 106);
    // A batch to a new stream starts at 1.
    auto txn = engine.write();
    CHECK(txn.append_batch("b", views) == 1);
    txn.commit();
    CHECK(engine.info("b").records == 100);
  }
}

TEST_CASE("Engine: headers") {
  TempDir dir;
  const std::string path = dir.file();
  Engine engine = Engine::open(path, klite::test::fast_options());

  const std::string nul_value = "a\0b\0"s;
  const std::string bin_name = "bin\0\xff"s;
  const std::string big_value(3000, '\xff');
  const std::vector<Header> headers = {
      {"event-type", "payment.settled"},
      {"trace-id", "4bf92f3577b34da6a3ce929d0e0e4736"},
      {"empty", ""},
      {"nul", nul_value},
      {bin_name, "x"},
      {"empty", "again"}, // repeated names keep their order (as in Kafka)
      {"big", big_value},
  };

  auto check_headers = [&](const std::vector<Header>& got) {
    REQUIRE(got.size() == headers.size());
    for (std::size_t i = 0; i < headers.size(); ++i) {
      CAPTURE(i);
      CHECK(got[i].name == headers[i].name);
      CHECK(got[i].value == headers[i].value);
    }
  };
  auto check_owned =
      [&](const std::vector<std::pair<std::string, std::string>>& got) {
        REQUIRE(got.size() == headers.size());
        for (std::size_t i = 0; i < headers.size(); ++i) {
          CAPTURE(i);
          CHECK(got[i].first == headers[i].name);
          CHECK(got[i].second == headers[i].value);
        }
      };

  SUBCASE("headers round-trip, also after reopen") {
    CHECK(engine.append("s", "plain") == 1);
    CHECK(engine.append("s", "with headers", headers) == 2);
    CHECK(engine.append("s", "", headers) == 3);
    const Header one[] = {{"k", "v"}};
    CHECK(engine.append("s", "one", one) == 4);

    for (int round = 0; round < 2; ++round) {
      CAPTURE(round);
      {
        auto txn = engine.read();
        auto r1 = txn.get("s", 1);
        REQUIRE(r1);
        CHECK(r1->raw_headers.empty());
        CHECK(r1->headers().empty());

        auto r2 = txn.get("s", 2);
        REQUIRE(r2);
        CHECK(r2->value == "with headers");
        CHECK_FALSE(r2->raw_headers.empty());
        check_headers(r2->headers());

        auto r3 = txn.get("s", 3);
        REQUIRE(r3);
        CHECK(r3->value.empty());
        check_headers(r3->headers());

        auto r4 = txn.get("s", 4);
        REQUIRE(r4);
        auto h4 = r4->headers();
        REQUIRE(h4.size() == 1);
        CHECK(h4[0].name == "k");
        CHECK(h4[0].value == "v");

        auto c = txn.cursor("s");
        REQUIRE(c.seek(2));
        check_headers(c.record().headers());
        REQUIRE(c.prev());
        CHECK(c.record().raw_headers.empty());
      }
      auto owned = engine.get("s", 2);
      REQUIRE(owned);
      CHECK(owned->value == "with headers");
      check_owned(owned->headers);
      auto plain = engine.get("s", 1);
      REQUIRE(plain);
      CHECK(plain->headers.empty());

      reopen(engine, path, klite::test::fast_options());
    }
  }

  SUBCASE("headers inside a write transaction") {
    auto txn = engine.write();
    CHECK(txn.append("s", "v", headers) == 1);
    auto rec = txn.get("s", 1);
    REQUIRE(rec);
    check_headers(rec->headers());
    txn.commit();
    auto owned = engine.get("s", 1);
    REQUIRE(owned);
    check_owned(owned->headers);
  }

  SUBCASE("an empty header list is the same as none") {
    std::vector<Header> none;
    CHECK(engine.append("s", "v", none) == 1);
    auto txn = engine.read();
    auto rec = txn.get("s", 1);
    REQUIRE(rec);
    CHECK(rec->raw_headers.empty());
    CHECK(rec->headers().empty());
  }
}

TEST_CASE("Engine: timestamps") {
  TempDir dir;
  const std::string path = dir.file();
  FakeClock clock;
  Options options = klite::test::fast_options();
  options.clock = clock;

  auto ts = [](Engine& e, std::string_view stream,
               std::uint64_t key) -> std::uint64_t {
    auto rec = e.get(stream, key);
    REQUIRE(rec);
    return rec->timestamp;
  };

  SUBCASE("timestamps come from Options::clock") {
    Engine engine = Engine::open(path, options);
    clock.set(1'000);
    engine.append("s", "a");
    clock.set(2'000);
    engine.append("s", "b");
    CHECK(ts(engine, "s", 1) == 1'000);
    CHECK(ts(engine, "s", 2) == 2'000);
    auto txn = engine.read();
    auto rec = txn.get("s", 2);
    REQUIRE(rec);
    CHECK(rec->timestamp == 2'000);
  }

  SUBCASE("timestamps never go backwards within a stream") {
    Engine engine = Engine::open(path, options);
    clock.set(5'000);
    engine.append("s", "1");
    clock.set(3'000); // the clock goes back
    engine.append("s", "2");
    engine.append("t", "1"); // another stream has its own history
    clock.set(4'000);
    engine.append("s", "3");
    engine.append("t", "2");
    clock.set(9'000);
    engine.append("s", "4");
    clock.set(1);
    engine.append("t", "3");
    CHECK(ts(engine, "s", 1) == 5'000);
    CHECK(ts(engine, "s", 2) == 5'000);
    CHECK(ts(engine, "s", 3) == 5'000);
    CHECK(ts(engine, "s", 4) == 9'000);
    CHECK(ts(engine, "t", 1) == 3'000);
    CHECK(ts(engine, "t", 2) == 4'000);
    CHECK(ts(engine, "t", 3) == 4'000);

    // The previous timestamp is remembered across reopen.
    reopen(engine, path, options);
    clock.set(100);
    engine.append("s", "5");
    CHECK(ts(engine, "s", 5) == 9'000);
    auto info = engine.info("s");
    CHECK(info.first_timestamp == 5'000);
    CHECK(info.last_timestamp == 9'000);
  }

  SUBCASE("records of one transaction and one batch") {
    Engine engine = Engine::open(path, options);
    clock.set(7'000);
    {
      auto txn = engine.write();
      txn.append("s", "a");
      clock.set(6'000);
      txn.append_batch("s", std::vector<std::string_view>{"b", "c", "d"});
      clock.set(8'000);
      txn.append("s", "e");
      txn.commit();
    }
    std::uint64_t previous = 0;
    for (std::uint64_t k = 1; k <= 5; ++k) {
      CAPTURE(k);
      auto t = ts(engine, "s", k);
      CHECK(t >= previous);
      CHECK(t >= 7'000);
      CHECK(t <= 8'000);
      previous = t;
    }
    CHECK(ts(engine, "s", 1) == 7'000);
    CHECK(ts(engine, "s", 5) == 8'000);
  }

  SUBCASE("the default clock is the system clock in microseconds") {
    Engine engine = Engine::open(path, klite::test::fast_options());
    auto now_us = [] {
      return static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count());
    };
    auto before = now_us();
    engine.append("s", "x");
    auto after = now_us();
    auto t = ts(engine, "s", 1);
    CHECK(t + 1'000'000 >= before); // allow a second of clock jitter either way
    CHECK(t <= after + 1'000'000);
    auto created = engine.info("s").created;
    CHECK(created + 1'000'000 >= before);
    CHECK(created <= after + 1'000'000);
  }
}

TEST_CASE("Engine: stream info") {
  TempDir dir;
  const std::string path = dir.file();
  FakeClock clock;
  Options options = klite::test::fast_options();
  options.clock = clock;
  Engine engine = Engine::open(path, options);

  SUBCASE("an empty stream") {
    clock.set(123'456);
    engine.create_stream("e");
    clock.set(200'000);
    StreamInfo info = engine.info("e");
    CHECK(info.name == "e");
    CHECK(info.records == 0);
    CHECK(info.bytes == 0);
    CHECK(info.first_key == 0);
    CHECK(info.last_key == 0);
    CHECK(info.next_key == 1);
    CHECK(info.first_timestamp == 0);
    CHECK(info.last_timestamp == 0);
    CHECK(info.created == 123'456);
  }

  SUBCASE("a stream with records, also after reopen and through every reader") {
    clock.set(10);
    engine.create_stream("s");
    std::uint64_t bytes = 0;
    for (std::uint64_t k = 1; k <= 50; ++k) {
      clock.set(1'000 + k * 10);
      auto size = static_cast<std::size_t>((k * 131) % 3000);
      bytes += size;
      engine.append("s", payload(k, size));
    }
    auto check_info = [&](const StreamInfo& info) {
      CHECK(info.name == "s");
      CHECK(info.records == 50);
      CHECK(info.bytes == bytes);
      CHECK(info.first_key == 1);
      CHECK(info.last_key == 50);
      CHECK(info.next_key == 51);
      CHECK(info.first_timestamp == 1'010);
      CHECK(info.last_timestamp == 1'500);
      CHECK(info.created == 10);
    };
    check_info(engine.info("s"));
    {
      auto txn = engine.read();
      check_info(txn.info("s"));
      auto all = txn.streams();
      REQUIRE(all.size() == 1);
      check_info(all[0]);
    }
    auto id = engine.info("s").id;
    reopen(engine, path, options);
    check_info(engine.info("s"));
    CHECK(engine.info("s").id == id);
  }

  SUBCASE("an auto-created stream records its creation time") {
    clock.set(777);
    engine.append("auto", "abc");
    auto info = engine.info("auto");
    CHECK(info.created == 777);
    CHECK(info.records == 1);
    CHECK(info.bytes == 3);
    CHECK(info.first_key == 1);
    CHECK(info.last_key == 1);
    CHECK(info.next_key == 2);
    CHECK(info.first_timestamp == 777);
    CHECK(info.last_timestamp == 777);
  }

  SUBCASE("info inside a write transaction counts its own appends") {
    engine.append("s", "12345");
    auto txn = engine.write();
    txn.append("s", "678");
    auto info = txn.info("s");
    CHECK(info.records == 2);
    CHECK(info.bytes == 8);
    CHECK(info.last_key == 2);
    CHECK(info.next_key == 3);
    // Other readers do not see it yet.
    CHECK(engine.info("s").records == 1);
    txn.abort();
    CHECK(engine.info("s").records == 1);
    CHECK(engine.info("s").next_key == 2);
  }
}

TEST_CASE("Engine: transactions") {
  TempDir dir;
  const std::string path = dir.file();
  Engine engine = Engine::open(path, klite::test::fast_options());
  engine.append("a", "a1");
  engine.append("a", "a2");
  engine.append("b", "b1");

  auto check_initial_state = [&](Engine& e) {
    CHECK(stream_names(e) == std::vector<std::string>{"a", "b"});
    CHECK(e.info("a").records == 2);
    CHECK(e.info("a").next_key == 3);
    CHECK(e.info("b").records == 1);
    CHECK(e.info("b").next_key == 2);
    CHECK(value_of(e, "a", 2) == "a2");
    CHECK_FALSE(e.get("a", 3).has_value());
  };

  SUBCASE("abort leaves no trace") {
    {
      auto txn = engine.write();
      txn.append("a", "a3");
      txn.append_batch("b", std::vector<std::string_view>{"b2", "b3"});
      txn.create_stream("c");
      txn.append("c", "c1");
      txn.append("d", "d1"); // auto-created
      txn.drop_stream("b");
      CHECK_FALSE(txn.has_stream("b"));
      CHECK(txn.has_stream("c"));
      txn.abort();
    }
    check_initial_state(engine);
    // Keys handed out in the aborted transaction are handed out again.
    CHECK(engine.append("a", "a3'") == 3);
    CHECK(value_of(engine, "a", 3) == "a3'");
    reopen(engine, path, klite::test::fast_options());
    CHECK(stream_names(engine) == std::vector<std::string>{"a", "b"});
    CHECK(value_of(engine, "b", 1) == "b1");
    CHECK(value_of(engine, "a", 3) == "a3'");
  }

  SUBCASE("destroying a WriteTxn without commit aborts it") {
    {
      auto txn = engine.write();
      txn.append("a", "a3");
      txn.create_stream("c");
      txn.drop_stream("b");
    }
    check_initial_state(engine);
    // And the write lock is released.
    auto txn = engine.write();
    CHECK(txn.append("a", "x") == 3);
    txn.commit();
  }

  SUBCASE("an exception unwinding through a WriteTxn aborts it") {
    try {
      auto txn = engine.write();
      txn.append("a", "a3");
      throw std::runtime_error("application error");
    } catch (const std::runtime_error&) {
    }
    check_initial_state(engine);
  }

  SUBCASE("drop then re-create in one transaction") {
    {
      auto txn = engine.write();
      txn.drop_stream("a");
      txn.create_stream("a");
      CHECK(txn.info("a").records == 0);
      CHECK_FALSE(txn.get("a", 1).has_value());
      txn.commit();
    }
    CHECK(engine.info("a").records == 0);
    CHECK_FALSE(engine.get("a", 1).has_value());
    CHECK(value_of(engine, "b", 1) == "b1");
  }

  SUBCASE("reads inside a WriteTxn see its own writes") {
    auto txn = engine.write();
    CHECK(txn.append("a", "a3") == 3);
    txn.create_stream("c");
    CHECK(txn.append("d", "d1") == 1);
    txn.drop_stream("b");

    auto r = txn.get("a", 3);
    REQUIRE(r);
    CHECK(r->value == "a3");
    CHECK(txn.has_stream("c"));
    CHECK(txn.has_stream("d"));
    CHECK_FALSE(txn.has_stream("b"));
    KLITE_CHECK_ERROR(txn.get("b", 1), ErrorCode::NoSuchStream);
    CHECK(stream_names(txn) == std::vector<std::string>{"a", "c", "d"});
    CHECK(txn.info("a").next_key == 4);
    auto c = txn.cursor("a");
    REQUIRE(c.last());
    CHECK(c.record().key == 3);
    CHECK(c.record().value == "a3");

    // A concurrent reader sees the last commit only.
    {
      auto reader = engine.read();
      CHECK_FALSE(reader.get("a", 3).has_value());
      CHECK(reader.has_stream("b"));
      CHECK_FALSE(reader.has_stream("c"));
      CHECK(stream_names(reader) == std::vector<std::string>{"a", "b"});
    }
    txn.commit();
    CHECK(stream_names(engine) == std::vector<std::string>{"a", "c", "d"});
    CHECK(value_of(engine, "a", 3) == "a3");
  }

  SUBCASE("a ReadTxn keeps its snapshot across commits") {
    auto old_reader = engine.read();
    auto old_id = old_reader.snapshot_id();
    {
      auto txn = engine.write();
      txn.append("a", "a3");
      txn.drop_stream("b");
      txn.append("c", "c1");
      txn.commit();
    }
    // Commit many more times, so a careless engine would reuse the pages the
    // old snapshot still reads.
    for (int i = 0; i < 200; ++i)
      engine.append("a", payload(i + 4, 2000));

    auto new_reader = engine.read();
    CHECK(new_reader.snapshot_id() > old_id);
    CHECK(old_reader.snapshot_id() == old_id);

    CHECK(stream_names(old_reader) == std::vector<std::string>{"a", "b"});
    CHECK_FALSE(old_reader.get("a", 3).has_value());
    CHECK(old_reader.info("a").records == 2);
    auto b1 = old_reader.get("b", 1);
    REQUIRE(b1);
    CHECK(b1->value == "b1");
    KLITE_CHECK_ERROR(old_reader.get("c", 1), ErrorCode::NoSuchStream);
    {
      auto c = old_reader.cursor("a");
      REQUIRE(c.last());
      CHECK(c.record().key == 2);
      CHECK(c.record().value == "a2");
    }

    CHECK(stream_names(new_reader) == std::vector<std::string>{"a", "c"});
    CHECK(new_reader.info("a").records == 203);
    auto a3 = new_reader.get("a", 3);
    REQUIRE(a3);
    CHECK(a3->value == "a3");
    auto a100 = new_reader.get("a", 100);
    REQUIRE(a100);
    CHECK(a100->value == payload(100, 2000));
  }

  SUBCASE("snapshot ids grow with commits, not with aborts") {
    auto id0 = engine.read().snapshot_id();
    engine.append("a", "x");
    auto id1 = engine.read().snapshot_id();
    CHECK(id1 > id0);
    engine.write().abort();
    CHECK(engine.read().snapshot_id() == id1);
  }

  SUBCASE("finishing a finished transaction is Misuse") {
    {
      auto txn = engine.write();
      txn.append("a", "a3");
      txn.commit();
      KLITE_CHECK_ERROR(txn.commit(), ErrorCode::Misuse);
      KLITE_CHECK_ERROR(txn.abort(), ErrorCode::Misuse);
      KLITE_CHECK_ERROR(txn.append("a", "late"), ErrorCode::Misuse);
    }
    {
      auto txn = engine.write();
      txn.append("a", "never");
      txn.abort();
      KLITE_CHECK_ERROR(txn.abort(), ErrorCode::Misuse);
      KLITE_CHECK_ERROR(txn.commit(), ErrorCode::Misuse);
    }
    CHECK(engine.info("a").records == 3);
    CHECK(value_of(engine, "a", 3) == "a3");
    CHECK_FALSE(engine.get("a", 4).has_value());
  }

  SUBCASE("a second write transaction is Busy") {
    auto txn = engine.write();
    KLITE_CHECK_ERROR(engine.write(), ErrorCode::Busy);
    KLITE_CHECK_ERROR(engine.append("a", "x"), ErrorCode::Busy);
    KLITE_CHECK_ERROR(engine.create_stream("z"), ErrorCode::Busy);
    // Reading is never blocked by the writer.
    CHECK(engine.info("a").records == 2);
    CHECK(value_of(engine, "a", 1) == "a1");
    txn.append("a", "a3");
    txn.commit();
    // Free again after commit.
    auto txn2 = engine.write();
    CHECK(txn2.append("a", "a4") == 4);
    txn2.commit();
  }

  SUBCASE("a moved WriteTxn commits once") {
    auto txn = engine.write();
    txn.append("a", "a3");
    klite::WriteTxn moved = std::move(txn);
    moved.append("a", "a4");
    moved.commit();
    CHECK(engine.info("a").records == 4);
    auto again = engine.write(); // the lock was released by the moved-to txn
    again.abort();
  }

  SUBCASE("one commit is atomic across streams") {
    auto reader = engine.read();
    auto txn = engine.write();
    txn.append("a", "a3");
    txn.append("b", "b2");
    txn.append("new", "n1");
    txn.commit();
    CHECK_FALSE(reader.get("a", 3).has_value());
    CHECK_FALSE(reader.get("b", 2).has_value());
    CHECK_FALSE(reader.has_stream("new"));
    auto now = engine.read();
    CHECK(now.get("a", 3).has_value());
    CHECK(now.get("b", 2).has_value());
    CHECK(now.has_stream("new"));
  }
}

TEST_CASE("Engine: a stream is never younger than its records") {
  klite::test::TempDir dir;
  Options options = klite::test::fast_options();
  auto ticks = std::make_shared<std::uint64_t>(1000);
  options.clock = [ticks] { return (*ticks)++; }; // a new time at every read
  Engine engine = Engine::open(dir.file(), options);
  engine.append("auto", "v"); // creates the stream and appends in one go
  const StreamInfo auto_info = engine.info("auto");
  CHECK(auto_info.created <= auto_info.first_timestamp);
  engine.create_stream("explicit");
  engine.append("explicit", "v");
  const StreamInfo explicit_info = engine.info("explicit");
  CHECK(explicit_info.created < explicit_info.first_timestamp);
}
