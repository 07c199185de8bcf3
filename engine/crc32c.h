// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the
// checksum of every record and of every B+tree, catalog and meta page.
//
// It is the CRC of iSCSI (RFC 3720), ext4 and LevelDB: initial value and
// final XOR 0xFFFFFFFF, reflected input and output, so that
// value("123456789", 9) == 0xE3069283. The pre- and post-inversion happen
// inside extend(), which makes CRCs composable:
//
//   extend(extend(0, a, na), b, nb) == value(a || b)
//
// On x86-64 CPUs with SSE4.2 the `crc32` instruction is used (picked at run
// time, so the build needs no -msse4.2), with three interleaved streams for
// large buffers; elsewhere a portable slice-by-8 table loop.
#pragma once

#include <cstddef>
#include <cstdint>

namespace klite::crc32c {

// The CRC-32C of the concatenation of the bytes `crc` was computed over and
// data[0, n). `crc` is 0 for an empty prefix.
// REQUIRES: data points at n readable bytes (or n == 0).
std::uint32_t extend(std::uint32_t crc, const void* data,
                     std::size_t n) noexcept;

// The CRC-32C of data[0, n).
inline std::uint32_t value(const void* data, std::size_t n) noexcept {
  return extend(0, data, n);
}

// value(a || b) from value(a) == crc1 and value(b) == crc2, with n2 the
// length of b, without the bytes: O(log n2).
std::uint32_t combine(std::uint32_t crc1, std::uint32_t crc2,
                      std::size_t n2) noexcept;

// For each i < count: crc[i] = extend(crc[i], data[i], n[i]). The same
// results as `count` calls of extend(), but the hardware path runs four
// streams interleaved: the `crc32` instruction's latency is three times
// its issue interval, so for short buffers (records of ~100 bytes) one
// stream at a time leaves two thirds of it idle.
// REQUIRES: each data[i] points at n[i] readable bytes (or n[i] == 0).
void extend_many(std::uint32_t* crc, const void* const* data,
                 const std::size_t* n, std::size_t count) noexcept;

// The implementations behind extend(), exposed so tests can check them
// against each other. Same contract as extend().
namespace detail {

std::uint32_t extend_portable(std::uint32_t crc, const void* data,
                              std::size_t n) noexcept;

// True if this CPU runs extend_hardware() natively.
bool has_hardware() noexcept;

// REQUIRES: has_hardware(). (Where the build has no hardware path at all,
// this is extend_portable().)
std::uint32_t extend_hardware(std::uint32_t crc, const void* data,
                              std::size_t n) noexcept;

} // namespace detail

} // namespace klite::crc32c
