// Character classes and reserved words of the query language, shared by
// the lexical parsers (query/tokens.h) and the error messages
// (query/error_handler.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace klite::query::grammar {

// Characters of identifiers and numbers. `--` starts a comment even inside
// a word, so words end before it.
inline bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_word_char(const char* p, const char* last) {
  char c = *p;
  if (is_alpha(c) || is_digit(c) || c == '.')
    return true;
  return c == '-' && !(last - p >= 2 && p[1] == '-');
}
// The end of the word starting at p (p itself if there is none).
inline const char* word_end(const char* p, const char* last) {
  while (p != last && is_word_char(p, last))
    ++p;
  return p;
}

// Reads the decimal digits at p into `value` and moves p past them. False
// if they are above 2^64 - 1 (p still moves past all of them).
inline bool read_digits(const char*& p, const char* last,
                        std::uint64_t& value) {
  value = 0;
  bool fits = true;
  for (; p != last && is_digit(*p); ++p) {
    auto d = static_cast<std::uint64_t>(*p - '0');
    if (value > (UINT64_MAX - d) / 10)
      fits = false;
    else
      value = value * 10 + d;
  }
  return fits;
}

// The length of the valid UTF-8 sequence at p, or 0 if the bytes there are
// not one (overlong forms, surrogates and code points above U+10FFFF are
// invalid).
inline std::size_t utf8_length(const char* p, const char* last) {
  auto b = [&](std::ptrdiff_t i) { return static_cast<unsigned char>(p[i]); };
  auto cont = [&](std::ptrdiff_t i) {
    return i < last - p && (b(i) & 0xC0) == 0x80;
  };
  unsigned c = b(0);
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2))
      return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) >= 0xA0))
      return 0; // overlong, surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) >= 0x90))
      return 0; // overlong, above U+10FFFF
    return 4;
  }
  return 0;
}

// The reserved words; none of them can be a stream name.
inline constexpr std::array<std::string_view, 25> kKeywords = {
    "ADD",  "AFTER",  "ALTER",    "BEFORE", "BEGIN", "COMMIT", "CREATE",
    "DROP", "EXPIRE", "EXPLAIN",  "FIRST",  "FROM",  "GET",    "INFO",
    "LAST", "OLDER",  "ROLLBACK", "SET",    "SHOW",  "STREAM", "STREAMS",
    "THAN", "TIME",   "TO",       "WITH"};

inline char to_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
}

// Case-insensitive: do the bytes at p start with `upper` (upper case)?
inline bool starts_with_word(const char* p, const char* last,
                             std::string_view upper) {
  if (static_cast<std::size_t>(last - p) < upper.size())
    return false;
  for (std::size_t i = 0; i < upper.size(); ++i)
    if (to_upper(p[i]) != upper[i])
      return false;
  return true;
}

inline bool is_keyword(std::string_view word) {
  for (std::string_view k : kKeywords)
    if (k.size() == word.size() &&
        starts_with_word(word.data(), word.data() + word.size(), k))
      return true;
  return false;
}

} // namespace klite::query::grammar
