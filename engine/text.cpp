#include "engine/text.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <utility>

namespace klite::text {

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  // The ranges of RFC 3629 section 4: a lead byte narrows the range of the
  // byte after it, which rules out overlong forms, surrogates and code
  // points past U+10FFFF without decoding.
  auto cont = [&](const unsigned char* q, unsigned char lo, unsigned char hi) {
    return q < end && *q >= lo && *q <= hi;
  };
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
    } else if (c >= 0xc2 && c <= 0xdf) {
      if (!cont(p + 1, 0x80, 0xbf))
        return false;
      p += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      const unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
      const unsigned char hi = c == 0xed ? 0x9f : 0xbf;
      if (!cont(p + 1, lo, hi) || !cont(p + 2, 0x80, 0xbf))
        return false;
      p += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
      const unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
      if (!cont(p + 1, lo, hi) || !cont(p + 2, 0x80, 0xbf) ||
          !cont(p + 3, 0x80, 0xbf))
        return false;
      p += 4;
    } else {
      return false;
    }
  }
  return true;
}

std::string base64(std::string_view s) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((s.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  for (; i + 3 <= s.size(); i += 3) {
    const std::uint32_t v =
        std::uint32_t{p[i]} << 16 | std::uint32_t{p[i + 1]} << 8 | p[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = s.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{p[i]} << 16;
    if (rest == 2)
      v |= std::uint32_t{p[i + 1]} << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[v >> 12 & 63];
    out += rest == 2 ? kAlphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  const bool utf8 = is_valid_utf8(s);
  for (const unsigned char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        char b[8];
        std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(c));
        out += b;
      } else if (c >= 0x80 && !utf8) {
        out += "\\ufffd";
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out + '"';
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", static_cast<unsigned>(c));
      out += b;
    }
  }
  return out + '"';
}

std::string hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * s.size());
  for (const unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string format_iso8601(std::uint64_t micros) {
  const std::uint64_t secs = micros / 1000000;
  const std::uint64_t frac = micros % 1000000;
  const std::uint64_t days = secs / 86400;
  const std::uint64_t sod = secs % 86400;
  // civil_from_days (H. Hinnant, "chrono-Compatible Low-Level Date
  // Algorithms"), unsigned because days >= 0.
  const std::uint64_t z = days + 719468;
  const std::uint64_t era = z / 146097;
  const std::uint64_t doe = z - era * 146097;
  const std::uint64_t yoe =
      (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::uint64_t y = yoe + era * 400;
  const std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::uint64_t mp = (5 * doy + 2) / 153;
  const std::uint64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::uint64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2)
    ++y;
  using ull = unsigned long long;
  char b[64];
  std::snprintf(b, sizeof b,
                "%04llu-%02llu-%02lluT%02llu:%02llu:%02llu.%06lluZ", ull{y},
                ull{m}, ull{d}, ull{sod / 3600}, ull{sod / 60 % 60},
                ull{sod % 60}, ull{frac});
  return b;
}

std::string describe_duration(std::uint64_t us) {
  constexpr std::uint64_t kSecond = 1'000'000;
  static constexpr std::pair<std::uint64_t, char> kUnits[] = {
      {86'400 * kSecond, 'd'}, {3'600 * kSecond, 'h'}, {60 * kSecond, 'm'}};
  std::string s;
  auto part = [&](const std::string& p) { s += (s.empty() ? "" : " ") + p; };
  for (auto [size, unit] : kUnits)
    if (us >= size) {
      part(std::to_string(us / size) + unit);
      us %= size;
    }
  if (us > 0 || s.empty()) {
    std::string sec = std::to_string(us / kSecond);
    if (const std::uint64_t frac = us % kSecond) {
      char b[8];
      std::snprintf(b, sizeof b, "%06" PRIu64, frac);
      std::string digits = b;
      digits.erase(digits.find_last_not_of('0') + 1);
      sec += "." + digits;
    }
    part(sec + "s");
  }
  return s;
}

std::string describe_bytes(std::uint64_t n) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB",
                                           "TiB", "PiB", "EiB"};
  if (n < 1024)
    return std::to_string(n) + (n == 1 ? " byte" : " bytes");
  int u = 0; // kUnits[u] is the largest unit n holds at least one of
  while (u + 1 < 6 && (n >> (10 * (u + 2))) != 0)
    ++u;
  const int shift = 10 * (u + 1);
  if ((n >> shift) << shift == n)
    return std::to_string(n >> shift) + " " + kUnits[u];
  char b[32];
  std::snprintf(b, sizeof b, "%.1f %s",
                std::ldexp(static_cast<double>(n), -shift), kUnits[u]);
  return b;
}

} // namespace klite::text
