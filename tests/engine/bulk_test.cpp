// Volume: a million records in one stream, and a hundred thousand streams
// (created, listed, dropped, re-added: the file must not grow when dropped
// pages can be reused).
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "test_util.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

using klite::Engine;
using klite::ErrorCode;
using klite::test::numbered;
using klite::test::payload;
using klite::test::reopen;
using klite::test::Rng;
using klite::test::TempDir;

namespace {

// Collects mismatches without a doctest assertion per record, which would
// dominate the run time at a million records.
struct Mismatches {
  std::uint64_t count = 0;
  std::uint64_t first_key = 0;
  void add(std::uint64_t key) {
    if (count++ == 0)
      first_key = key;
  }
};

} // namespace

TEST_CASE("Bulk: one million records in one stream") {
  constexpr std::uint64_t kRecords = 1'000'000;
  constexpr std::uint64_t kBatch = 1'000;
  constexpr std::size_t kSize = 100;

  TempDir dir;
  const std::string path = dir.file();
  const auto options = klite::test::fast_options();
  {
    Engine engine = Engine::open(path, options);
    std::vector<std::string> values(kBatch);
    std::vector<std::string_view> views(kBatch);
    Mismatches bad_keys;
    for (std::uint64_t first = 1; first <= kRecords; first += kBatch) {
      for (std::uint64_t i = 0; i < kBatch; ++i) {
        values[i] = payload(first + i, kSize);
        views[i] = values[i];
      }
      auto txn = engine.write();
      if (txn.append_batch("events", views) != first)
        bad_keys.add(first);
      txn.commit();
    }
    CAPTURE(bad_keys.first_key);
    CHECK(bad_keys.count == 0);
    auto info = engine.info("events");
    CHECK(info.records == kRecords);
    CHECK(info.bytes == kRecords * kSize);
    CHECK(info.next_key == kRecords + 1);
  }

  Engine engine = Engine::open(path, options);
  auto info = engine.info("events");
  CHECK(info.records == kRecords);
  CHECK(info.bytes == kRecords * kSize);
  CHECK(info.first_key == 1);
  CHECK(info.last_key == kRecords);
  CHECK(info.next_key == kRecords + 1);

  auto txn = engine.read();
  {
    Mismatches bad;
    for (std::uint64_t k = 1; k <= kRecords; ++k) {
      auto rec = txn.get("events", k);
      if (!rec || rec->key != k || rec->value != payload(k, kSize))
        bad.add(k);
    }
    CAPTURE(bad.first_key);
    CHECK(bad.count == 0);
    CHECK_FALSE(txn.get("events", 0).has_value());
    CHECK_FALSE(txn.get("events", kRecords + 1).has_value());
  }
  {
    Mismatches bad;
    std::uint64_t k = 0;
    auto c = txn.cursor("events");
    for (bool ok = c.first(); ok && k <= kRecords; ok = c.next()) {
      ++k;
      if (c.record().key != k || c.record().value != payload(k, kSize))
        bad.add(k);
    }
    CHECK(k == kRecords);
    CAPTURE(bad.first_key);
    CHECK(bad.count == 0);
  }
  {
    Mismatches bad;
    std::uint64_t k = kRecords + 1;
    auto c = txn.cursor("events");
    for (bool ok = c.last(); ok && k >= 1; ok = c.prev()) {
      --k;
      if (c.record().key != k || c.record().value != payload(k, kSize))
        bad.add(k);
    }
    CHECK(k == 1);
    CAPTURE(bad.first_key);
    CHECK(bad.count == 0);
  }
  {
    // Seeks spread over the whole stream.
    Mismatches bad;
    Rng rng(7);
    auto c = txn.cursor("events");
    for (int i = 0; i < 10'000; ++i) {
      std::uint64_t k = rng.range(1, kRecords);
      if (!c.seek(k) || c.record().key != k ||
          c.record().value != payload(k, kSize))
        bad.add(k);
      if (!c.seek_before(k + 1) || c.record().key != k)
        bad.add(k);
    }
    CAPTURE(bad.first_key);
    CHECK(bad.count == 0);
  }
}

namespace {

constexpr std::uint64_t kStreams = 100'000;

// Stream i has i % 3 records; record r of stream i is this value.
std::uint64_t records_of(std::uint64_t i) { return i % 3; }
std::string value_of(std::uint64_t i, std::uint64_t r) {
  return payload(r, 20 + static_cast<std::size_t>(i % 50), i);
}

std::vector<std::uint64_t> shuffled(std::vector<std::uint64_t> v,
                                    std::uint64_t seed) {
  Rng rng(seed);
  for (std::size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[rng.range(0, i - 1)]);
  return v;
}

// Creates the streams prefix+number for the given numbers, in that order, in
// `txns` transactions, each with its records.
void create_streams(Engine& engine, const char* prefix,
                    const std::vector<std::uint64_t>& ids, std::size_t txns) {
  std::size_t per_txn = (ids.size() + txns - 1) / txns;
  for (std::size_t start = 0; start < ids.size(); start += per_txn) {
    auto txn = engine.write();
    for (std::size_t j = start; j < ids.size() && j < start + per_txn; ++j) {
      std::uint64_t i = ids[j];
      std::string name = numbered(prefix, i);
      txn.create_stream(name);
      for (std::uint64_t r = 1; r <= records_of(i); ++r)
        txn.append(name, value_of(i, r));
    }
    txn.commit();
  }
}

// Checks that the stream prefix+i is there with its records.
void check_stream(klite::ReadTxn& txn, const char* prefix, std::uint64_t i,
                  Mismatches& bad) {
  std::string name = numbered(prefix, i);
  auto info = txn.info(name);
  if (info.name != name || info.records != records_of(i) ||
      info.next_key != records_of(i) + 1) {
    bad.add(i);
    return;
  }
  for (std::uint64_t r = 1; r <= records_of(i); ++r) {
    auto rec = txn.get(name, r);
    if (!rec || rec->value != value_of(i, r)) {
      bad.add(i);
      return;
    }
  }
}

} // namespace

TEST_CASE("Bulk: a hundred thousand streams") {
  TempDir dir;
  const std::string path = dir.file();
  const auto options = klite::test::fast_options();

  std::vector<std::uint64_t> all(kStreams);
  std::iota(all.begin(), all.end(), std::uint64_t{0});

  {
    Engine engine = Engine::open(path, options);
    create_streams(engine, "s", shuffled(all, 1), 4);
  }
  const auto size_full = std::filesystem::file_size(path);

  Engine engine = Engine::open(path, options);
  {
    // Listed in name order, each with its records.
    auto txn = engine.read();
    auto list = txn.streams();
    REQUIRE(list.size() == kStreams);
    Mismatches bad_order;
    for (std::uint64_t i = 0; i < kStreams; ++i)
      if (list[i].name != numbered("s", i) || list[i].records != records_of(i))
        bad_order.add(i);
    CAPTURE(bad_order.first_key);
    CHECK(bad_order.count == 0);

    Mismatches bad;
    for (std::uint64_t i : shuffled(all, 2))
      check_stream(txn, "s", i, bad);
    CAPTURE(bad.first_key);
    CHECK(bad.count == 0);
    CHECK_FALSE(txn.has_stream("s100000"));
    CHECK_FALSE(txn.has_stream("s"));
  }

  // Drop the odd half, in two transactions.
  std::vector<std::uint64_t> odd, even;
  for (std::uint64_t i : all)
    (i % 2 ? odd : even).push_back(i);
  {
    auto shuffled_odd = shuffled(odd, 3);
    std::size_t half = shuffled_odd.size() / 2;
    for (int part = 0; part < 2; ++part) {
      auto txn = engine.write();
      std::size_t from = part == 0 ? 0 : half;
      std::size_t to = part == 0 ? half : shuffled_odd.size();
      for (std::size_t j = from; j < to; ++j)
        txn.drop_stream(numbered("s", shuffled_odd[j]));
      txn.commit();
    }
  }
  reopen(engine, path, options);
  {
    auto txn = engine.read();
    auto list = txn.streams();
    REQUIRE(list.size() == even.size());
    Mismatches bad_order;
    for (std::size_t j = 0; j < even.size(); ++j)
      if (list[j].name != numbered("s", even[j]))
        bad_order.add(j);
    CAPTURE(bad_order.first_key);
    CHECK(bad_order.count == 0);

    Mismatches bad;
    for (std::uint64_t i : even)
      check_stream(txn, "s", i, bad);
    CAPTURE(bad.first_key);
    CHECK(bad.count == 0);

    Mismatches still_there;
    for (std::uint64_t i : odd)
      if (txn.has_stream(numbered("s", i)))
        still_there.add(i);
    CAPTURE(still_there.first_key);
    CHECK(still_there.count == 0);
    KLITE_CHECK_ERROR(txn.get("s000001", 1), ErrorCode::NoSuchStream);
  }

  // The same volume again under new names: the dropped pages are reused.
  create_streams(engine, "t", shuffled(odd, 4), 4);
  { Engine closing = std::move(engine); }
  const auto size_after = std::filesystem::file_size(path);
  CAPTURE(size_full);
  CAPTURE(size_after);
  // Slack for a different catalog shape and the file's growth step; without
  // reuse the file would be about half as big again.
  CHECK(size_after <= size_full + size_full / 10 + (std::uint64_t{32} << 20));

  engine = Engine::open(path, options);
  auto txn = engine.read();
  CHECK(txn.streams().size() == kStreams);
  Mismatches bad;
  for (std::uint64_t i : even)
    check_stream(txn, "s", i, bad);
  for (std::uint64_t i : odd)
    check_stream(txn, "t", i, bad);
  CAPTURE(bad.first_key);
  CHECK(bad.count == 0);
}
