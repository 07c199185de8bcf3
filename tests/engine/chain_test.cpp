// The value chain's bytes: the worked example of docs/FORMAT.md ("Data
// pages", "Worked example") byte for byte, and a digest of the files a mix
// of appends writes, so that a faster append path cannot change the format.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/crc32c.h"
#include "engine/inspect.h"
#include "test_util.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using klite::Engine;
using klite::Header;
using klite::test::FakeClock;
using klite::test::payload;
using klite::test::read_file_bytes;
using klite::test::TempDir;

namespace {

constexpr std::uint64_t kTenAm = 1795600800000000; // 2026-11-25T10:00:00Z

std::string bytes(std::initializer_list<unsigned> list) {
  std::string s;
  for (unsigned b : list)
    s.push_back(static_cast<char>(b));
  return s;
}

klite::Options options(std::uint32_t page_size, const FakeClock& clock) {
  klite::Options o = klite::test::fast_options();
  o.page_size = page_size;
  o.clock = clock;
  return o;
}

} // namespace

TEST_CASE("Chain: the worked example of docs/FORMAT.md") {
  TempDir dir;
  FakeClock clock;
  clock.set(kTenAm);
  {
    Engine e = Engine::open(dir.file(), options(1024, clock));
    auto w = e.write();
    std::vector<std::string> values;
    for (std::size_t size : {158, 158, 158, 158, 158, 160})
      values.push_back(payload(values.size() + 1, size));
    std::vector<std::string_view> views(values.begin(), values.end());
    CHECK(w.append_batch("s", views) == 1);
    w.commit();
    CHECK(e.append("s", "hi") == 7);
    clock.set(kTenAm + 1500);
    const Header h{"t", "x"};
    CHECK(e.append("s", "ok", {&h, 1}) == 8);
    clock.set(kTenAm + 2000);
    CHECK(e.append("s", "tt", {}, std::chrono::seconds(60)) == 9);
  }
  const std::string file = read_file_bytes(dir.file());
  REQUIRE(file.size() >= 6 * 1024);
  const std::string_view page5 = std::string_view(file).substr(5 * 1024, 1024);
  CHECK(page5.substr(0, 32) ==
        bytes({0x03, 0x01, 0, 0, 0, 0, 0, 0, // type, flags, cont, end, reserved
               0x02, 0, 0, 0, 0, 0, 0, 0,    // prev 2, next 0
               0x07, 0, 0, 0, 0, 0, 0, 0,    // first key 7
               0x00, 0xa8, 0xd7, 0xe3, 0x16, 0x61, 0x06, 0x00}));
  CHECK(page5.substr(32, 8) ==
        bytes({0x02, 0x00, 0xc6, 0xda, 0x9e, 0x37, 0x68, 0x69}));
  CHECK(page5.substr(40, 14) ==
        bytes({0x07, 0xf1, 0x2e, 0xd6, 0x15, 0x39, 0x7e, 0x04, 0x01, 0x74,
               0x01, 0x78, 0x6f, 0x6b}));
  CHECK(page5.substr(54, 13) == bytes({0x02, 0xd2, 0x0f, 0x80, 0x8e, 0xce, 0x1c,
                                       0x23, 0x05, 0x1f, 0x88, 0x74, 0x74}));
  CHECK(page5.substr(67).find_first_not_of('\0') == std::string_view::npos);
  // Page 2 is full and sealed: end 1024, next 5.
  CHECK(std::string_view(file).substr(2 * 1024 + 4, 12) ==
        bytes({0x00, 0x04, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0}));
}

// A change to the digests is a change of the file format. Those of
// version 2 were taken from the append path before it was made faster
// (commit 1be1cb4), and checked the faster one; version 3's added records
// that have a TTL; these are version 4's, whose commits that append to
// existing streams leave the catalog tree alone (the descriptor overlay).
TEST_CASE("Chain: a mix of appends writes the same bytes as always") {
  struct Case {
    std::uint32_t page_size;
    std::uint32_t digest;
  };
  for (const Case c : {Case{1024, 0x3cea5de9}, Case{4096, 0xc31a41fb}}) {
    CAPTURE(c.page_size);
    TempDir dir;
    FakeClock clock;
    clock.set(kTenAm);
    {
      Engine e = Engine::open(dir.file(), options(c.page_size, clock));
      std::vector<std::string> values;
      std::uint64_t key = 1;
      for (int txn = 0; txn < 40; ++txn) {
        auto w = e.write();
        // Batches of mixed sizes: empty values, values spanning pages,
        // records that just miss the page's end.
        values.clear();
        for (int i = 0; i < 3 + txn % 7 * 9; ++i, ++key)
          values.push_back(payload(key, klite::test::mix(key, 7) % 3 == 0
                                            ? key * 37 % 6000
                                            : key * 13 % 300));
        std::vector<std::string_view> views(values.begin(), values.end());
        w.append_batch("batch", views);
        // Single appends, with and without headers, to two streams.
        const std::string trace = payload(txn, 20);
        const Header hs[] = {{"type", "order"}, {"trace", trace}};
        w.append("single", payload(txn, txn * 53 % 2000),
                 {hs, static_cast<std::size_t>(txn % 3)});
        if (txn % 4 == 0)
          w.append("batch", "", {hs, 1});
        if (txn % 5 == 0)
          w.append("ttl", payload(txn, txn * 29 % 500), {hs, 1},
                   std::chrono::microseconds(txn * 1'000'003));
        w.commit();
        clock.set(*clock.now + (txn % 3 == 0 ? 0 : 1000 + txn));
      }
    }
    CHECK(klite::inspect::check(klite::inspect::File(dir.file())).clean());
    const std::string file = read_file_bytes(dir.file());
    CHECK(klite::crc32c::value(file.data(), file.size()) == c.digest);
  }
}
