#include "engine/crc32c.h"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using klite::crc32c::combine;
using klite::crc32c::extend;
using klite::crc32c::value;
namespace detail = klite::crc32c::detail;

std::uint32_t crc_of(const std::string& s) { return value(s.data(), s.size()); }

// The definition, one bit at a time: the reference the fast paths must match.
std::uint32_t reference(const unsigned char* p, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFF;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int bit = 0; bit < 8; ++bit) {
      c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78 : c >> 1;
    }
  }
  return ~c;
}

std::vector<unsigned char> random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::vector<unsigned char> v(n);
  for (auto& b : v) {
    b = static_cast<unsigned char>(rng());
  }
  return v;
}

} // namespace

TEST_CASE("crc32c known values") {
  SUBCASE("check value") { CHECK(crc_of("123456789") == 0xE3069283); }
  SUBCASE("empty input") {
    CHECK(value(nullptr, 0) == 0);
    CHECK(extend(0x12345678, nullptr, 0) == 0x12345678);
  }
  SUBCASE("RFC 3720 B.4 vectors") {
    CHECK(crc_of(std::string(32, '\0')) == 0x8A9136AA);
    CHECK(crc_of(std::string(32, '\xFF')) == 0x62A8AB43);
    std::string ascending(32, '\0');
    std::string descending(32, '\0');
    for (int i = 0; i < 32; ++i) {
      ascending[i] = static_cast<char>(i);
      descending[i] = static_cast<char>(31 - i);
    }
    CHECK(crc_of(ascending) == 0x46DD794E);
    CHECK(crc_of(descending) == 0x113FDB5C);
  }
  SUBCASE("RFC 3720 B.4 iSCSI read command PDU") {
    const unsigned char pdu[48] = {
        0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK(value(pdu, sizeof pdu) == 0xD9963A56);
  }
  SUBCASE("portable and hardware paths agree on the check value") {
    CHECK(detail::extend_portable(0, "123456789", 9) == 0xE3069283);
    if (detail::has_hardware()) {
      CHECK(detail::extend_hardware(0, "123456789", 9) == 0xE3069283);
    }
  }
}

TEST_CASE("crc32c extend composes") {
  std::mt19937_64 rng(20261125);
  for (int round = 0; round < 300; ++round) {
    const std::size_t n = rng() % (round < 200 ? 200 : 70000);
    const auto data = random_bytes(rng, n);
    const std::size_t cut = n == 0 ? 0 : rng() % (n + 1);
    CAPTURE(n);
    CAPTURE(cut);
    const std::uint32_t whole = value(data.data(), n);
    const std::uint32_t head = value(data.data(), cut);
    CHECK(extend(head, data.data() + cut, n - cut) == whole);
    // Byte by byte, the longest chain of extends.
    if (n < 200) {
      std::uint32_t c = 0;
      for (std::size_t i = 0; i < n; ++i) {
        c = extend(c, data.data() + i, 1);
      }
      CHECK(c == whole);
    }
  }
}

TEST_CASE("crc32c combine joins two CRCs without the bytes") {
  std::mt19937_64 rng(20261203);
  for (int round = 0; round < 300; ++round) {
    const std::size_t n = rng() % (round < 200 ? 300 : 70000);
    const auto data = random_bytes(rng, n);
    const std::size_t cut = n == 0 ? 0 : rng() % (n + 1);
    CAPTURE(n);
    CAPTURE(cut);
    CHECK(combine(value(data.data(), cut), value(data.data() + cut, n - cut),
                  n - cut) == value(data.data(), n));
  }
}

TEST_CASE("crc32c portable path matches the bitwise definition") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 400; ++round) {
    const std::size_t n = rng() % 300;
    const std::size_t offset = rng() % 16;
    const auto buffer = random_bytes(rng, offset + n);
    const unsigned char* p = buffer.data() + offset;
    CAPTURE(n);
    CAPTURE(offset);
    CHECK(detail::extend_portable(0, p, n) == reference(p, n));
  }
}

TEST_CASE("crc32c hardware path matches the portable path") {
  if (!detail::has_hardware()) {
    MESSAGE("no SSE4.2 on this CPU: only the portable path is in use");
    return;
  }
  std::mt19937_64 rng(42);
  // Lengths around the boundaries of the interleaved loops: 3 * 256 and
  // 3 * 8192 bytes, plus up to 7 bytes of misalignment in front.
  std::vector<std::size_t> lengths;
  for (std::size_t base : {std::size_t{0}, std::size_t{768}, std::size_t{24576},
                           std::size_t{2 * 24576 + 768}}) {
    for (std::size_t d = 0; d < 24; ++d) {
      lengths.push_back(base + d);
      if (base >= d) {
        lengths.push_back(base - d);
      }
    }
  }
  for (int i = 0; i < 300; ++i) {
    lengths.push_back(rng() % (i < 200 ? 2048 : 100000));
  }
  for (const std::size_t n : lengths) {
    const std::size_t offset = rng() % 16;
    const auto buffer = random_bytes(rng, offset + n);
    const unsigned char* p = buffer.data() + offset;
    const auto seed = static_cast<std::uint32_t>(rng());
    CAPTURE(n);
    CAPTURE(offset);
    CAPTURE(seed);
    const std::uint32_t portable = detail::extend_portable(seed, p, n);
    CHECK(detail::extend_hardware(seed, p, n) == portable);
    CHECK(extend(seed, p, n) == portable);
  }
  // All zeros and all ones stress the combine step differently.
  for (const unsigned char fill : {0x00, 0xFF}) {
    const std::vector<unsigned char> big(3 * 24576 + 5, fill);
    CHECK(detail::extend_hardware(0, big.data(), big.size()) ==
          detail::extend_portable(0, big.data(), big.size()));
  }
}

TEST_CASE("crc32c: extend_many matches one extend per stream") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 400; ++round) {
    const std::size_t count = rng() % 14;
    std::vector<std::vector<unsigned char>> bufs;
    std::vector<const void*> data;
    std::vector<std::size_t> n;
    std::vector<std::uint32_t> crc, want;
    for (std::size_t i = 0; i < count; ++i) {
      // Mostly record-sized buffers, some empty, some long.
      const std::size_t len = rng() % 4 == 0 ? rng() % 3000 : rng() % 140;
      bufs.push_back(random_bytes(rng, len + 8));
      const std::size_t offset = rng() % 8; // any alignment
      data.push_back(bufs.back().data() + offset);
      n.push_back(len);
      crc.push_back(rng() % 3 == 0 ? 0 : static_cast<std::uint32_t>(rng()));
      want.push_back(extend(crc.back(), data.back(), len));
    }
    CAPTURE(round);
    klite::crc32c::extend_many(crc.data(), data.data(), n.data(), count);
    CHECK(crc == want);
  }
}
