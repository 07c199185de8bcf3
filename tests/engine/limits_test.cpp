// Value and header size limits: tiny values, values around one page, big
// values up to kMaxValueSize, and TooBig for anything over the limits.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "test_util.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;
using klite::Engine;
using klite::ErrorCode;
using klite::Header;
using klite::Options;
using klite::test::first_difference;
using klite::test::pattern_payload;
using klite::test::payload;
using klite::test::reopen;
using klite::test::TempDir;

namespace {

// Checks `key` of `stream` against `expected` through get() and a cursor.
void check_value(Engine& engine, std::string_view stream, std::uint64_t key,
                 const std::string& expected) {
  const std::size_t expected_size = expected.size();
  CAPTURE(key);
  CAPTURE(expected_size);
  auto txn = engine.read();
  auto rec = txn.get(stream, key);
  REQUIRE(rec);
  CHECK(rec->key == key);
  CHECK(rec->value.size() == expected.size());
  CHECK(first_difference(rec->value, expected) == -1);
  auto c = txn.cursor(stream);
  REQUIRE(c.seek(key));
  CHECK(c.record().key == key);
  CHECK(first_difference(c.record().value, expected) == -1);
}

} // namespace

TEST_CASE("Limits: value sizes") {
  TempDir dir;
  const std::string path = dir.file();
  Options options = klite::test::fast_options();
  options.page_size = 4096;
  Engine engine = Engine::open(path, options);

  SUBCASE("0 and 1 byte values, also NUL and 0xFF") {
    const std::vector<std::string> values = {""s,  "\0"s,   "\xff"s,
                                             "a"s, "\0\0"s, "\xff\0"s};
    for (const auto& v : values)
      engine.append("tiny", v);
    reopen(engine, path, options);
    for (std::uint64_t k = 1; k <= values.size(); ++k)
      check_value(engine, "tiny", k, values[k - 1]);
    CHECK(engine.info("tiny").bytes == 7);
  }

  SUBCASE("every size around one page, back to back in one stream") {
    std::vector<std::string> values;
    for (std::size_t size = 4096 - 64; size <= 4096 + 64; ++size)
      values.push_back(pattern_payload(values.size() + 1, size));
    {
      auto txn = engine.write();
      for (const auto& v : values)
        txn.append("around", v);
      txn.commit();
    }
    // And once more with one commit per record, so each append starts from
    // the committed tail of a partly filled page.
    for (const auto& v : values)
      engine.append("around1", v);
    reopen(engine, path, options);
    for (std::uint64_t k = 1; k <= values.size(); ++k) {
      check_value(engine, "around", k, values[k - 1]);
      check_value(engine, "around1", k, values[k - 1]);
    }
    // Scan both ways across all the page boundaries.
    auto txn = engine.read();
    auto c = txn.cursor("around");
    std::uint64_t k = 0;
    for (bool ok = c.first(); ok; ok = c.next()) {
      ++k;
      REQUIRE(k <= values.size());
      CHECK(first_difference(c.record().value, values[k - 1]) == -1);
    }
    CHECK(k == values.size());
    for (bool ok = c.last(); ok; ok = c.prev()) {
      REQUIRE(k >= 1);
      CHECK(first_difference(c.record().value, values[k - 1]) == -1);
      --k;
    }
    CHECK(k == 0);
  }

  SUBCASE("every size around one page, each first in its own stream") {
    for (std::size_t size = 4096 - 64; size <= 4096 + 64; ++size) {
      std::string name = klite::test::numbered("p", size, 5);
      CHECK(engine.append(name, pattern_payload(size, size)) == 1);
      CHECK(engine.append(name, payload(2, 100)) ==
            2); // a record right after it
    }
    reopen(engine, path, options);
    for (std::size_t size = 4096 - 64; size <= 4096 + 64; ++size) {
      std::string name = klite::test::numbered("p", size, 5);
      CAPTURE(name);
      check_value(engine, name, 1, pattern_payload(size, size));
      check_value(engine, name, 2, payload(2, 100));
    }
  }

  SUBCASE("every size up to two pages and a bit, with the smallest pages") {
    const std::string p = dir.file("small-pages.klite");
    Options small = klite::test::fast_options();
    small.page_size = klite::test::kMinPageSize;
    const std::size_t max_size =
        2 * std::size_t{klite::test::kMinPageSize} + 76;
    Engine e = Engine::open(p, small);
    {
      auto txn = e.write();
      for (std::size_t size = 0; size <= max_size; ++size)
        txn.append("s", payload(size + 1, size));
      txn.commit();
    }
    reopen(e, p, small);
    auto txn = e.read();
    auto c = txn.cursor("s");
    std::size_t size = 0;
    for (bool ok = c.first(); ok; ok = c.next(), ++size) {
      CAPTURE(size);
      REQUIRE(size <= max_size);
      CHECK(c.record().key == size + 1);
      CHECK(first_difference(c.record().value, payload(size + 1, size)) == -1);
    }
    CHECK(size == max_size + 1);
  }

  SUBCASE("1 MiB and kMaxValueSize values round-trip after reopen") {
    const std::string mib = pattern_payload(1, std::size_t{1} << 20);
    CHECK(engine.append("big", mib) == 1);
    CHECK(engine.append("big", "between") == 2);
    {
      const std::string max = pattern_payload(3, klite::kMaxValueSize);
      REQUIRE(max.size() == klite::kMaxValueSize);
      CHECK(engine.append("big", max) == 3);
    }
    CHECK(engine.append("big", "after") == 4);
    reopen(engine, path, options);
    check_value(engine, "big", 1, mib);
    check_value(engine, "big", 2, "between");
    check_value(engine, "big", 3, pattern_payload(3, klite::kMaxValueSize));
    check_value(engine, "big", 4, "after");
    auto info = engine.info("big");
    CHECK(info.records == 4);
    CHECK(info.bytes == mib.size() + 7 + klite::kMaxValueSize + 5);
    // Owned copies too.
    auto owned = engine.get("big", 3);
    REQUIRE(owned);
    CHECK(owned->value.size() == klite::kMaxValueSize);
  }
}

TEST_CASE("Limits: TooBig") {
  TempDir dir;
  const std::string path = dir.file();
  Engine engine = Engine::open(path, klite::test::fast_options());
  for (std::uint64_t k = 1; k <= 3; ++k)
    engine.append("s", payload(k, 100));

  auto check_unchanged = [&](klite::ReadTxn& txn) {
    auto info = txn.info("s");
    CHECK(info.records == 3);
    CHECK(info.next_key == 4);
    CHECK(info.last_key == 3);
    CHECK(info.bytes == 300);
    CHECK_FALSE(txn.get("s", 4).has_value());
  };
  auto check_unchanged_now = [&] {
    auto txn = engine.read();
    check_unchanged(txn);
  };

  SUBCASE("a value of kMaxValueSize + 1 bytes") {
    const std::string too_big(klite::kMaxValueSize + 1, 'x');
    KLITE_CHECK_ERROR(engine.append("s", too_big), ErrorCode::TooBig);
    check_unchanged_now();
    // Auto-create does not happen for a rejected append.
    KLITE_CHECK_ERROR(engine.append("fresh", too_big), ErrorCode::TooBig);
    CHECK_FALSE(engine.read().has_stream("fresh"));

    // Inside a transaction: rejected, and the transaction goes on.
    auto txn = engine.write();
    KLITE_CHECK_ERROR(txn.append("s", too_big), ErrorCode::TooBig);
    check_unchanged(txn);
    CHECK(txn.append("s", "next") == 4);
    txn.commit();
    auto rec = engine.get("s", 4);
    REQUIRE(rec);
    CHECK(rec->value == "next");
    CHECK(engine.info("s").records == 4);

    reopen(engine, path, klite::test::fast_options());
    CHECK(engine.info("s").records == 4);
    CHECK(engine.info("s").next_key == 5);
  }

  SUBCASE("append_batch whose last value is too big appends nothing") {
    const std::string too_big(klite::kMaxValueSize + 1, '\0');
    const std::string small = payload(4, 100);
    std::vector<std::string_view> batch = {small, small, small, too_big};
    {
      auto txn = engine.write();
      KLITE_CHECK_ERROR(txn.append_batch("s", batch), ErrorCode::TooBig);
      check_unchanged(txn);
      KLITE_CHECK_ERROR(txn.append_batch("t", batch), ErrorCode::TooBig);
      // The batch goes in once the big value is out.
      batch.pop_back();
      CHECK(txn.append_batch("s", batch) == 4);
      txn.commit();
    }
    CHECK(engine.info("s").records == 6);
    CHECK(engine.info("s").next_key == 7);
    auto rec = engine.get("s", 6);
    REQUIRE(rec);
    CHECK(rec->value == small);
  }

  SUBCASE("a too-big value in the middle of a batch") {
    const std::string too_big(klite::kMaxValueSize + 1, '\xff');
    const std::string small = "small";
    const std::vector<std::string_view> batch = {small, too_big, small};
    auto txn = engine.write();
    KLITE_CHECK_ERROR(txn.append_batch("s", batch), ErrorCode::TooBig);
    check_unchanged(txn);
    txn.commit();
    check_unchanged_now();
  }

  SUBCASE("headers over kMaxHeadersSize") {
    const std::string big_value(klite::kMaxHeadersSize, 'h');
    const Header one_big[] = {{"big", big_value}};
    KLITE_CHECK_ERROR(engine.append("s", "v", one_big), ErrorCode::TooBig);
    check_unchanged_now();

    // Many small headers that add up to more than the limit.
    const std::string forty(40, 'v');
    std::vector<Header> many(2000, Header{"name", forty});
    KLITE_CHECK_ERROR(engine.append("s", "v", many), ErrorCode::TooBig);
    check_unchanged_now();

    {
      auto txn = engine.write();
      KLITE_CHECK_ERROR(txn.append("s", "v", one_big), ErrorCode::TooBig);
      check_unchanged(txn);
      txn.commit();
    }
    check_unchanged_now();

    // Well under the limit is fine (the encoding overhead is small).
    const std::string sixty_k(60 * 1024, 'h');
    const Header fits[] = {{"fits", sixty_k}};
    CHECK(engine.append("s", "v", fits) == 4);
    std::vector<Header> several(1000, Header{"name", forty});
    CHECK(engine.append("s", "w", several) == 5);
    reopen(engine, path, klite::test::fast_options());
    auto txn = engine.read();
    auto rec = txn.get("s", 4);
    REQUIRE(rec);
    auto h = rec->headers();
    REQUIRE(h.size() == 1);
    CHECK(h[0].name == "fits");
    CHECK(h[0].value == sixty_k);
    auto rec5 = txn.get("s", 5);
    REQUIRE(rec5);
    auto h5 = rec5->headers();
    CHECK(h5.size() == 1000);
    CHECK(h5.back().value == forty);
  }
}
