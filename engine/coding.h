// Fixed-width little/big-endian and varint encoding helpers.
//
// All multi-byte integers in a klite file are little-endian, except B+tree
// keys that must sort with memcmp (stream keys in the key index), which are
// big-endian. Varints are LEB128: 7 bits per byte, low bits first, the high
// bit set on every byte but the last (as in protobuf and LevelDB).
#pragma once

#include <cstddef>
#include <cstdint>
#include <bit>
#include <cstring>

namespace klite::coding {

inline constexpr std::size_t kMaxVarint64 = 10;

// The fixed-width helpers copy native integers: every supported target is
// little-endian.
static_assert(std::endian::native == std::endian::little);

inline void put_u16(std::uint8_t* p, std::uint16_t v) noexcept {
  std::memcpy(p, &v, 2);
}
inline void put_u32(std::uint8_t* p, std::uint32_t v) noexcept {
  std::memcpy(p, &v, 4);
}
inline void put_u64(std::uint8_t* p, std::uint64_t v) noexcept {
  std::memcpy(p, &v, 8);
}
inline std::uint16_t get_u16(const std::uint8_t* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline std::uint32_t get_u32(const std::uint8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::uint64_t get_u64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// memcpy for a few bytes (n <= 32), such as a record header's varints: two
// overlapping fixed-size copies, where a call into the C library's memcpy
// would cost more than the copy itself.
inline void copy_short(std::uint8_t* to, const std::uint8_t* from,
                       std::size_t n) noexcept {
  if (n >= 16) {
    std::memcpy(to, from, 16);
    std::memcpy(to + n - 16, from + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(to, from, 8);
    std::memcpy(to + n - 8, from + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(to, from, 4);
    std::memcpy(to + n - 4, from + n - 4, 4);
  } else if (n > 0) {
    to[0] = from[0];
    to[n / 2] = from[n / 2];
    to[n - 1] = from[n - 1];
  }
}

inline void put_u64_be(std::uint8_t* p, std::uint64_t v) noexcept {
  put_u64(p, __builtin_bswap64(v));
}
inline std::uint64_t get_u64_be(const std::uint8_t* p) noexcept {
  return __builtin_bswap64(get_u64(p));
}

inline std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Writes `v` at `p`; returns the number of bytes written.
// REQUIRES: p has room for varint_size(v) bytes.
inline std::size_t put_varint(std::uint8_t* p, std::uint64_t v) noexcept {
  std::size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<std::uint8_t>(v | 0x80);
    v >>= 7;
  }
  p[n++] = static_cast<std::uint8_t>(v);
  return n;
}

// Reads a varint from [p, end). Returns the bytes consumed, or 0 if the
// input ends early or the varint is longer than 10 bytes (corrupt input).
inline std::size_t get_varint(const std::uint8_t* p, const std::uint8_t* end,
                              std::uint64_t& v) noexcept {
  std::uint64_t result = 0;
  for (std::size_t i = 0; i < kMaxVarint64 && p + i < end; ++i) {
    std::uint64_t byte = p[i];
    result |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      v = result;
      return i + 1;
    }
  }
  return 0;
}

} // namespace klite::coding
