// CRC-32C: a portable slice-by-8 loop, and on x86-64 an SSE4.2 loop that
// runs three independent `crc32` streams over large buffers and then joins
// them. Why three: the instruction has a latency of 3 cycles and a
// throughput of 1 per cycle, so one dependent chain uses a third of it.
//
// Joining rests on the CRC register being linear over GF(2). For the raw
// register r (no pre/post inversion), with 0^L meaning L zero bytes:
//
//   r(c, A || B) = r(c, A || 0^L) ^ r(0, B) = shift_L(r(c, A)) ^ r(0, B)
//
// where |B| = L and shift_L(x) = x * x^(8L) mod P. shift_L is linear in x,
// so it is four table lookups (one per byte of x), tables built at compile
// time. The method follows Mark Adler's crc32c.c (zlib license).
#include "engine/crc32c.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KLITE_CRC32C_X86 1
#include <nmmintrin.h>
#else
#define KLITE_CRC32C_X86 0
#endif

namespace klite::crc32c {

namespace {

// The reflected Castagnoli polynomial: bit 31 is x^0, bit 0 is x^31.
constexpr std::uint32_t kPoly = 0x82F63B78;

using Table = std::array<std::uint32_t, 256>;

// kSlice[k][b] is the raw register after feeding byte b and then k zero
// bytes into a zero register. kSlice[0] is the classic byte-wise table.
consteval std::array<Table, 8> make_slice_tables() {
  std::array<Table, 8> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) {
      c = (c & 1) != 0 ? (c >> 1) ^ kPoly : c >> 1;
    }
    t[0][i] = c;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t i = 0; i < 256; ++i) {
      const std::uint32_t prev = t[k - 1][i];
      t[k][i] = (prev >> 8) ^ t[0][prev & 0xFF];
    }
  }
  return t;
}

constexpr std::array<Table, 8> kSlice = make_slice_tables();

inline std::uint32_t load32le(const unsigned char* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) |
         static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 |
         static_cast<std::uint32_t>(p[3]) << 24;
}

// a * b mod P, both in the reflected representation.
constexpr std::uint32_t multmodp(std::uint32_t a, std::uint32_t b) {
  std::uint32_t product = 0;
  for (int i = 0; i < 32; ++i) {
    if ((a & (std::uint32_t{1} << (31 - i))) != 0) {
      product ^= b;
    }
    b = (b & 1) != 0 ? (b >> 1) ^ kPoly : b >> 1;
  }
  return product;
}

// x^(8 * bytes) mod P.
constexpr std::uint32_t x_pow_8n(std::size_t bytes) {
  std::uint32_t result = std::uint32_t{1} << 31; // x^0
  std::uint32_t base = std::uint32_t{1} << 23;   // x^8
  while (bytes != 0) {
    if ((bytes & 1) != 0) {
      result = multmodp(base, result);
    }
    base = multmodp(base, base);
    bytes >>= 1;
  }
  return result;
}

#if KLITE_CRC32C_X86

// The tables of shift_L: table[k][b] = (b << 8k) * x^(8L) mod P.
consteval std::array<Table, 4> make_shift_tables(std::size_t bytes) {
  const std::uint32_t factor = x_pow_8n(bytes);
  std::array<Table, 4> t{};
  for (std::size_t k = 0; k < 4; ++k) {
    for (std::uint32_t b = 0; b < 256; ++b) {
      t[k][b] = multmodp(factor, b << (8 * k));
    }
  }
  return t;
}

// Stream lengths of the interleaved loops. 3 * kLong bytes take about as
// long as a page of I/O takes to set up; kShort catches the middle sizes.
constexpr std::size_t kLong = 8192;
constexpr std::size_t kShort = 256;

constexpr std::array<Table, 4> kShiftLong = make_shift_tables(kLong);
constexpr std::array<Table, 4> kShiftShort = make_shift_tables(kShort);

inline std::uint64_t shift(const std::array<Table, 4>& t,
                           std::uint64_t crc) noexcept {
  return t[0][crc & 0xFF] ^ t[1][(crc >> 8) & 0xFF] ^ t[2][(crc >> 16) & 0xFF] ^
         t[3][(crc >> 24) & 0xFF];
}

inline std::uint64_t load64(const unsigned char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v; // x86 is little-endian, the byte order crc32 expects
}

// Runs three streams of `len` bytes each at p, p + len, p + 2 * len and
// joins them into crc. REQUIRES: len % 8 == 0, 3 * len bytes at p.
__attribute__((target("sse4.2"))) inline std::uint64_t
interleave3(std::uint64_t crc, const unsigned char* p, std::size_t len,
            const std::array<Table, 4>& shift_table) noexcept {
  std::uint64_t c1 = 0;
  std::uint64_t c2 = 0;
  const unsigned char* const end = p + len;
  do {
    crc = _mm_crc32_u64(crc, load64(p));
    c1 = _mm_crc32_u64(c1, load64(p + len));
    c2 = _mm_crc32_u64(c2, load64(p + 2 * len));
    p += 8;
  } while (p < end);
  crc = shift(shift_table, crc) ^ c1;
  return shift(shift_table, crc) ^ c2;
}

#endif // KLITE_CRC32C_X86

} // namespace

namespace detail {

std::uint32_t extend_portable(std::uint32_t crc, const void* data,
                              std::size_t n) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  while (n >= 8) {
    const std::uint32_t lo = c ^ load32le(p);
    const std::uint32_t hi = load32le(p + 4);
    c = kSlice[7][lo & 0xFF] ^ kSlice[6][(lo >> 8) & 0xFF] ^
        kSlice[5][(lo >> 16) & 0xFF] ^ kSlice[4][lo >> 24] ^
        kSlice[3][hi & 0xFF] ^ kSlice[2][(hi >> 8) & 0xFF] ^
        kSlice[1][(hi >> 16) & 0xFF] ^ kSlice[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  for (; n > 0; --n, ++p) {
    c = kSlice[0][(c ^ *p) & 0xFF] ^ (c >> 8);
  }
  return ~c;
}

#if KLITE_CRC32C_X86

bool has_hardware() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") != 0;
}

__attribute__((target("sse4.2"))) std::uint32_t
extend_hardware(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t c = static_cast<std::uint32_t>(~crc);
  // Word loads from 8-aligned addresses never straddle a cache line.
  while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
    --n;
  }
  while (n >= 3 * kLong) {
    c = interleave3(c, p, kLong, kShiftLong);
    p += 3 * kLong;
    n -= 3 * kLong;
  }
  while (n >= 3 * kShort) {
    c = interleave3(c, p, kShort, kShiftShort);
    p += 3 * kShort;
    n -= 3 * kShort;
  }
  while (n >= 8) {
    c = _mm_crc32_u64(c, load64(p));
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
    --n;
  }
  return ~static_cast<std::uint32_t>(c);
}

// One stream's last 0..7 bytes... or more: whatever remains of it.
__attribute__((target("sse4.2"))) inline std::uint32_t
finish(std::uint64_t c, const unsigned char* p, std::size_t rest) noexcept {
  for (; rest >= 8; rest -= 8, p += 8)
    c = _mm_crc32_u64(c, load64(p));
  std::uint32_t c32 = static_cast<std::uint32_t>(c);
  if (rest >= 4) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    c32 = _mm_crc32_u32(c32, v);
    p += 4;
    rest -= 4;
  }
  if (rest >= 2) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    c32 = _mm_crc32_u16(c32, v);
    p += 2;
    rest -= 2;
  }
  if (rest > 0)
    c32 = _mm_crc32_u8(c32, *p);
  return ~c32;
}

// Four streams at a time: 8-byte steps while all four have 8 bytes left,
// then each stream's rest on its own (still independent of the others).
__attribute__((target("sse4.2"))) void
extend_many_hardware(std::uint32_t* crc, const void* const* data,
                     const std::size_t* n, std::size_t count) noexcept {
  std::size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    auto p0 = static_cast<const unsigned char*>(data[i]);
    auto p1 = static_cast<const unsigned char*>(data[i + 1]);
    auto p2 = static_cast<const unsigned char*>(data[i + 2]);
    auto p3 = static_cast<const unsigned char*>(data[i + 3]);
    std::uint64_t c0 = static_cast<std::uint32_t>(~crc[i]);
    std::uint64_t c1 = static_cast<std::uint32_t>(~crc[i + 1]);
    std::uint64_t c2 = static_cast<std::uint32_t>(~crc[i + 2]);
    std::uint64_t c3 = static_cast<std::uint32_t>(~crc[i + 3]);
    const std::size_t common =
        std::min(std::min(n[i], n[i + 1]), std::min(n[i + 2], n[i + 3])) & ~std::size_t{7};
    for (std::size_t j = 0; j < common; j += 8) {
      c0 = _mm_crc32_u64(c0, load64(p0 + j));
      c1 = _mm_crc32_u64(c1, load64(p1 + j));
      c2 = _mm_crc32_u64(c2, load64(p2 + j));
      c3 = _mm_crc32_u64(c3, load64(p3 + j));
    }
    crc[i] = finish(c0, p0 + common, n[i] - common);
    crc[i + 1] = finish(c1, p1 + common, n[i + 1] - common);
    crc[i + 2] = finish(c2, p2 + common, n[i + 2] - common);
    crc[i + 3] = finish(c3, p3 + common, n[i + 3] - common);
  }
  for (; i < count; ++i)
    crc[i] = extend_hardware(crc[i], data[i], n[i]);
}

#else

bool has_hardware() noexcept { return false; }

std::uint32_t extend_hardware(std::uint32_t crc, const void* data,
                              std::size_t n) noexcept {
  return extend_portable(crc, data, n);
}

#endif // KLITE_CRC32C_X86

} // namespace detail

namespace {

using ExtendFn = std::uint32_t (*)(std::uint32_t, const void*,
                                   std::size_t) noexcept;

std::uint32_t extend_first_call(std::uint32_t crc, const void* data,
                                std::size_t n) noexcept;

// Starts at extend_first_call, which picks the implementation once. An
// atomic rather than a static initializer, so extend() also works from
// other translation units' static initializers.
constinit std::atomic<ExtendFn> g_extend{&extend_first_call};

std::uint32_t extend_first_call(std::uint32_t crc, const void* data,
                                std::size_t n) noexcept {
  const ExtendFn fn = detail::has_hardware() ? &detail::extend_hardware
                                             : &detail::extend_portable;
  g_extend.store(fn, std::memory_order_relaxed);
  return fn(crc, data, n);
}

} // namespace

std::uint32_t extend(std::uint32_t crc, const void* data,
                     std::size_t n) noexcept {
  return g_extend.load(std::memory_order_relaxed)(crc, data, n);
}

std::uint32_t combine(std::uint32_t crc1, std::uint32_t crc2,
                      std::size_t n2) noexcept {
  // Appending n2 bytes multiplies the first CRC by x^(8 n2) mod P; the
  // pre- and post-inversions cancel out (as in zlib's crc32_combine).
  return multmodp(x_pow_8n(n2), crc1) ^ crc2;
}

void extend_many(std::uint32_t* crc, const void* const* data,
                 const std::size_t* n, std::size_t count) noexcept {
#if KLITE_CRC32C_X86
  static const bool hw = detail::has_hardware();
  if (hw) {
    detail::extend_many_hardware(crc, data, n, count);
    return;
  }
#endif
  for (std::size_t i = 0; i < count; ++i)
    crc[i] = extend(crc[i], data[i], n[i]);
}

} // namespace klite::crc32c
