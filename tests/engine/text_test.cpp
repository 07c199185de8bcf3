// engine/text.h: the text helpers the shell, klite-inspect and the tools
// share. The references below are independent ways to the same answers
// (decoding code points; the C library's gmtime_r), checked against the
// helpers over many inputs.
#include "engine/text.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <string_view>

namespace {

using namespace klite::text;

// UTF-8 by decoding each sequence and rejecting what RFC 3629 forbids.
bool reference_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + len > s.size())
      return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80)
        return false;
      cp = cp << 6 | (d & 0x3fu);
    }
    const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

// The same format through the C library (glibc's gmtime_r and strftime).
std::string reference_iso8601(std::uint64_t micros) {
  const auto secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  REQUIRE(gmtime_r(&secs, &tm) != nullptr);
  char b[64];
  REQUIRE(std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm) > 0);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06uZ",
                static_cast<unsigned>(micros % 1000000));
  return std::string(b) + frac;
}

} // namespace

TEST_CASE("Text: is_valid_utf8") {
  SUBCASE("examples") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    CHECK(is_valid_utf8(std::string_view("\0", 1)));
    CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));       // U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xc0\x80"));         // overlong
    CHECK_FALSE(is_valid_utf8("\xe0\x9f\xbf"));     // overlong
    CHECK_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf")); // overlong
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));     // surrogate
    CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xe2\x82"));         // truncated
    CHECK_FALSE(is_valid_utf8("\x80"));             // lone continuation
    CHECK_FALSE(is_valid_utf8("\xff"));
  }
  SUBCASE("agrees with decoding on every string of up to two bytes") {
    for (int a = 0; a < 256; ++a) {
      const std::string one(1, static_cast<char>(a));
      CAPTURE(a);
      CHECK(is_valid_utf8(one) == reference_utf8(one));
      for (int b = 0; b < 256; ++b) {
        const std::string two{static_cast<char>(a), static_cast<char>(b)};
        CAPTURE(b);
        CHECK(is_valid_utf8(two) == reference_utf8(two));
      }
    }
  }
  SUBCASE("agrees with decoding on random strings of lead-ish bytes") {
    std::mt19937 rng(8);
    const unsigned char pool[] = {0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                  0xbf, 0xc1, 0xc2, 0xdf, 0xe0, 0xed,
                                  0xee, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
    for (int i = 0; i < 200000; ++i) {
      std::string s(rng() % 6, '\0');
      for (char& c : s)
        c = static_cast<char>(pool[rng() % sizeof pool]);
      CAPTURE(s);
      REQUIRE(is_valid_utf8(s) == reference_utf8(s));
    }
  }
}

TEST_CASE("Text: base64") {
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foob") == "Zm9vYg==");
  CHECK(base64("fooba") == "Zm9vYmE=");
  CHECK(base64("foobar") == "Zm9vYmFy");
  CHECK(base64(std::string_view("\x00\xff", 2)) == "AP8=");
  CHECK(base64("\xfb\xff\xbf") == "+/+/");
}

TEST_CASE("Text: json_string") {
  CHECK(json_string("") == "\"\"");
  CHECK(json_string("q\"b\\n") == "\"q\\\"b\\\\n\"");
  CHECK(json_string("\b\f\n\r\t") == "\"\\b\\f\\n\\r\\t\"");
  CHECK(json_string(std::string_view("\x00\x01\x1f\x7f", 4)) ==
        "\"\\u0000\\u0001\\u001f\x7f\"");
  SUBCASE("valid UTF-8 is copied") {
    CHECK(json_string("caf\xc3\xa9 \xe2\x82\xac/") ==
          "\"caf\xc3\xa9 \xe2\x82\xac/\"");
  }
  SUBCASE("otherwise every byte from 0x80 up is U+FFFD") {
    CHECK(json_string("\xc3\x28") == "\"\\ufffd(\"");
    CHECK(json_string("\xc3\xa9\xff") == "\"\\ufffd\\ufffd\\ufffd\"");
  }
}

TEST_CASE("Text: quote and hex") {
  CHECK(quote("") == "\"\"");
  CHECK(quote("orders.v2") == "\"orders.v2\"");
  CHECK(quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quote(std::string_view("\x00\n\x7f\xc3\xa9", 5)) ==
        "\"\\x00\\x0a\\x7f\\xc3\\xa9\"");
  CHECK(hex("") == "");
  CHECK(hex(std::string_view("\x00\x0f\xa0\xff", 4)) == "000fa0ff");
}

TEST_CASE("Text: format_iso8601") {
  // 2023-11-14T22:13:20Z.
  constexpr std::uint64_t kT = 1700000000000000;
  CHECK(format_iso8601(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_iso8601(kT + 123456) == "2023-11-14T22:13:20.123456Z");
  CHECK(format_iso8601(951'782'400'000'001) == "2000-02-29T00:00:00.000001Z");
  CHECK(format_iso8601(253'402'300'799'999'999) ==
        "9999-12-31T23:59:59.999999Z");
  CHECK(format_iso8601(253'402'300'800'000'000) ==
        "10000-01-01T00:00:00.000000Z");
  SUBCASE("agrees with gmtime_r") {
    std::mt19937_64 rng(8);
    for (int i = 0; i < 100000; ++i) {
      // Up to the largest uint64 (year 586912), and densely near now.
      const std::uint64_t t =
          i % 2 ? rng() : kT + rng() % (std::uint64_t{1} << 52);
      CAPTURE(t);
      REQUIRE(format_iso8601(t) == reference_iso8601(t));
    }
    CHECK(format_iso8601(UINT64_MAX) == reference_iso8601(UINT64_MAX));
  }
}
