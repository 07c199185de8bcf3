// The klite file format, version 4. docs/FORMAT.md is the prose version of
// this header; keep the two in step, and bump kFormatVersion on any change.
//
// A file is an array of pages of `page_size` bytes (a power of two, 1024 to
// 32768, fixed at creation). Page numbers are u32; page 0 and page 1 are the
// two meta pages. Every other page is one of the typed pages below, or free.
// All integers are little-endian unless noted.
#pragma once

#include "engine/coding.h"

#include <cstddef>
#include <cstdint>

namespace klite::format {

inline constexpr std::uint32_t kFormatVersion = 4;
// Version 1 is version 2 without commit range lists (its bytes 36..39 and
// 48..51 of a meta page are 0). Version 2 is version 3 without expiry: no
// data page has flag kRecordsV3 (so no record has a TTL), and every head
// page has prev 0. Version 3 is version 4 without descriptor overlays (its
// bytes 52..59 of a meta page are 0). This build reads all four, and
// writes 4.
inline constexpr std::uint32_t kOldestReadableVersion = 1;
inline constexpr std::uint8_t kMagic[8] = {'k', 'l', 'i', 't', 'e', 0, '\r', '\n'};
inline constexpr std::uint32_t kMinPageSize = 1024;
inline constexpr std::uint32_t kMaxPageSize = 32768;
inline constexpr std::uint32_t kDefaultPageSize = 4096;
inline constexpr std::uint32_t kNoPage = 0; // page 0 is a meta page, so 0 is "none"

enum PageType : std::uint8_t {
  kBranchPage = 1,   // B+tree interior node
  kLeafPage = 2,     // B+tree leaf
  kDataPage = 3,     // value chain page
  kFreeDirPage = 4,  // free-list directory
  kFreeChunkPage = 5 // free-list chunk
};

// ---------------------------------------------------------------------------
// Meta page (pages 0 and 1). Commit N writes page N % 2; open uses the valid
// one with the larger txn id whose commit is complete (below).
//
// OFFSET SIZE DESCRIPTION
//      0    8 magic "klite\0\r\n"
//      8    4 format version (4)
//     12    4 page size
//     16    8 txn id of the commit that wrote this meta page
//     24    4 page count: pages [0, count) are in use or on the free list
//     28    4 catalog B+tree root (0: no streams)
//     32    4 free-list directory root (0: nothing free)
//     36    4 range count n: the commit range list's entries (0: the
//               commit's pages were synced before this meta page was written)
//     40    8 next stream id
//     48    4 CRC32C of the range list, bytes [64, 64 + 16n) (0 when n = 0)
//     52    4 overlay size v in bytes (0: no overlay)
//     56    4 CRC32C of the overlay, bytes [64 + 16n, 64 + 16n + v) (0 when
//               v = 0)
//     60    4 CRC32C of bytes [0, 60)
//     64 16n range list: every byte range the commit wrote to pages >= 2,
//               so open can tell a commit whose one sync did not finish
//               (FORMAT.md section 12).
// 64+16n  v descriptor overlay: the descriptors of catalog streams that
//               commits changed since the catalog B+tree last had them
//               written (FORMAT.md section 5). Bytes past it are
//               unspecified.
//
// Range list entry:
//      0    8 file offset of the range
//      8    4 length in bytes (> 0)
//     12    4 CRC32C of the range's bytes as the commit wrote them
//
// Overlay entry, back to back, in no particular order:
//      0    1 name length k (1..128)
//      1    k stream name
//    1+k  104 stream descriptor (below), replacing the catalog tree's
namespace meta {
inline constexpr std::size_t kMagic = 0, kVersion = 8, kPageSize = 12,
                             kTxnId = 16, kPageCount = 24, kCatalogRoot = 28,
                             kFreeRoot = 32, kRangeCount = 36,
                             kNextStreamId = 40, kRangeListCrc = 48,
                             kOverlaySize = 52, kOverlayCrc = 56, kCrc = 60;
inline constexpr std::size_t kSize = 64; // the fixed part; the list follows
inline constexpr std::size_t kRangeSize = 16;
inline constexpr std::size_t kRangeOffset = 0, kRangeLength = 8,
                             kRangeCrc = 12;
// The largest overlay a writer makes: a quarter of the page, so that the
// range list keeps most of it (one entry of the longest name fits in the
// smallest page).
constexpr std::size_t max_overlay(std::uint32_t page_size) {
  return page_size / 4;
}
// The most range entries a meta page of `page_size` bytes holds beside an
// overlay of `overlay` bytes.
constexpr std::size_t max_ranges(std::uint32_t page_size,
                                 std::size_t overlay = 0) {
  return (page_size - kSize - overlay) / kRangeSize;
}
} // namespace meta

// ---------------------------------------------------------------------------
// Checked page header, shared by B+tree and free-list pages (types 1, 2, 4,
// 5). The CRC covers the whole page with the CRC field taken as zero.
//
// OFFSET SIZE DESCRIPTION
//      0    1 page type
//      1    1 reserved, 0
//      2    2 count: cells (B+tree), entries (free-list pages)
//      4    2 content start: exact lowest offset of the cell area (B+tree);
//               new cells go just below it
//      6    2 reserved, 0
//      8    4 CRC32C of the page, computed with this field zero
//     12    4 this page's own number (catches misdirected writes)
//     16    8 txn id of the commit that wrote the page
//     24    4 link: leftmost child (branch), next directory page (dir)
//     28    4 reserved, 0
//     32    .. slot array (B+tree: u16 cell offsets in key order) or entries
namespace checked {
inline constexpr std::size_t kType = 0, kCount = 2, kContentStart = 4,
                             kCrc = 8, kPageNo = 12, kTxnId = 16, kLink = 24;
inline constexpr std::size_t kHeaderSize = 32;
} // namespace checked

// B+tree cells (keys compare as unsigned bytes, shorter first on a tie):
//   leaf:   varint key_len, key, varint value_len, value
//   branch: varint key_len, key, u32 child  -- child holds keys >= key;
//           the header link (leftmost child) holds keys < the first key.
// Catalog tree: key = stream name, value = stream descriptor (below).
// Key index tree (one per stream): key = u64 big-endian record key of the
// first record that starts in a data page, value = u32 page number.

// ---------------------------------------------------------------------------
// Free-list directory page (type 4): count entries of 16 bytes from offset
// 32; link = next directory page (0: last). Entries are in commit order.
//
// OFFSET SIZE DESCRIPTION (of one entry)
//      0    8 tag: txn id of the commit that freed the pages
//      8    4 chunk page number
//     12    2 entries in the chunk
//     14    2 entries already reused (the chunk's first `used` page numbers)
namespace freedir {
inline constexpr std::size_t kEntrySize = 16;
inline constexpr std::size_t kTag = 0, kChunk = 8, kCount = 12, kUsed = 14;
} // namespace freedir
// Free-list chunk page (type 5): count u32 page numbers from offset 32.

// ---------------------------------------------------------------------------
// Data page (type 3), one link of a stream's value chain. Not page-checked:
// every record carries its own CRC. The fields marked (seal) are written
// when the page stops being the stream's tail; until then they are 0 and no
// committed state reads them. The head page's prev is not read either: it
// may name a page that expiry dropped.
//
// OFFSET SIZE DESCRIPTION
//      0    1 page type (3)
//      1    1 flags: kRecordsV3, or 0 (a page written by a version-2 writer)
//      2    2 cont: bytes at offset 32 that continue a record begun on an
//               earlier page; the first record starting here is at 32 + cont
//      4    2 (seal) end: offset one past the last byte used
//      6    2 reserved, 0
//      8    4 prev page in the chain (0: head)
//     12    4 (seal) next page in the chain
//     16    8 first key: key of the first record that starts on this page
//               (on a page where none starts yet: the key the next one gets)
//     24    8 base timestamp: the first record starting here stores its
//               timestamp as a delta from this
//     32   .. records, back to back
namespace data {
inline constexpr std::size_t kType = 0, kCont = 2, kEnd = 4, kPrev = 8,
                             kNext = 12, kFirstKey = 16, kBaseTs = 24;
inline constexpr std::size_t kFlags = 1, kReserved2 = 6; // 1 and 2 bytes
inline constexpr std::size_t kHeaderSize = 32;
// The page's records have the version-3 header: two flag bits below the
// timestamp delta, and a TTL when the second is set.
inline constexpr std::uint8_t kRecordsV3 = 1;
} // namespace data

// Record (docs/FORMAT.md "Records"): the header never straddles a page; the
// body may span any number of following pages.
//   varint body_len                 -- body = [headers] + value
//   varint ts_delta << 2 | has_ttl << 1 | has_headers
//          (on a page without kRecordsV3: ts_delta << 1 | has_headers)
//   [varint ttl]                    -- if has_ttl: microseconds, > 0
//   u32    CRC32C over: key (u64), timestamp (u64), the varints, body
//   body:  [varint headers_len, headers] value
//   headers: repeated (varint name_len, name, varint value_len, value)
// The key is not stored: it is the page's first key plus the record's
// position among the records starting on the page.
inline constexpr std::size_t kMaxRecordHeader = 5 + 10 + 10 + 4;

// ---------------------------------------------------------------------------
// Stream descriptor: the catalog value for one stream.
//
// OFFSET SIZE DESCRIPTION
//      0    8 stream id (unique, never reused)
//      8    4 key index root (0: empty stream)
//     12    4 head data page (0: empty)
//     16    4 tail data page (0: empty)
//     20    4 tail offset: one past the last committed byte in the tail page
//     24    8 first key (first live record; == next key when empty)
//     32    8 next key (the key the next append gets; starts at 1)
//     40    8 payload bytes of live records
//     48    8 timestamp of the first live record
//     56    8 timestamp of the last record
//     64    8 creation time
//     72    8 retention: max age in microseconds (0: none)
//     80    8 retention: max payload bytes (0: none)
//     88    8 retention: max records (0: none)
//     96    4 data pages in the chain
//    100    4 flags: kHasTtl, or 0
namespace desc {
inline constexpr std::size_t kId = 0, kIndexRoot = 8, kHead = 12, kTail = 16,
                             kTailOffset = 20, kFirstKey = 24, kNextKey = 32,
                             kBytes = 40, kFirstTs = 48, kLastTs = 56,
                             kCreated = 64, kMaxAge = 72, kMaxBytes = 80,
                             kMaxRecords = 88, kDataPages = 96, kFlags = 100;
inline constexpr std::size_t kSize = 104;
// Some record appended to the stream had a TTL.
inline constexpr std::uint32_t kHasTtl = 1;
} // namespace desc

// A stream descriptor's fields. A default one is a new stream's: its first
// key and next key are 1.
struct Descriptor {
  std::uint64_t id = 0;
  std::uint32_t index_root = 0;
  std::uint32_t head = 0;
  std::uint32_t tail = 0;
  std::uint32_t tail_offset = 0;
  std::uint64_t first_key = 1;
  std::uint64_t next_key = 1;
  std::uint64_t bytes = 0;
  std::uint64_t first_ts = 0;
  std::uint64_t last_ts = 0;
  std::uint64_t created = 0;
  std::uint64_t max_age = 0;
  std::uint64_t max_bytes = 0;
  std::uint64_t max_records = 0;
  std::uint32_t data_pages = 0;
  std::uint32_t flags = 0; // desc::kHasTtl

  // REQUIRES: first_key <= next_key.
  std::uint64_t records() const noexcept { return next_key - first_key; }
  // Some record of the stream had a TTL, so reads must ask the clock.
  bool has_ttl() const noexcept { return flags & desc::kHasTtl; }
  // Whether reads hide records by the clock (chain::Reader's `now`).
  bool read_by_clock() const noexcept { return has_ttl() || max_age != 0; }
};

namespace desc {
// The descriptor in the desc::kSize bytes at p. Its fields are not checked:
// the catalog throws Corrupt on ones out of range, the inspector reports
// them.
inline Descriptor decode(const std::uint8_t* p) noexcept {
  using namespace coding;
  Descriptor x;
  x.id = get_u64(p + kId);
  x.index_root = get_u32(p + kIndexRoot);
  x.head = get_u32(p + kHead);
  x.tail = get_u32(p + kTail);
  x.tail_offset = get_u32(p + kTailOffset);
  x.first_key = get_u64(p + kFirstKey);
  x.next_key = get_u64(p + kNextKey);
  x.bytes = get_u64(p + kBytes);
  x.first_ts = get_u64(p + kFirstTs);
  x.last_ts = get_u64(p + kLastTs);
  x.created = get_u64(p + kCreated);
  x.max_age = get_u64(p + kMaxAge);
  x.max_bytes = get_u64(p + kMaxBytes);
  x.max_records = get_u64(p + kMaxRecords);
  x.data_pages = get_u32(p + kDataPages);
  x.flags = get_u32(p + kFlags);
  return x;
}

// Writes x into the desc::kSize bytes at p.
inline void encode(std::uint8_t* p, const Descriptor& x) noexcept {
  using namespace coding;
  put_u64(p + kId, x.id);
  put_u32(p + kIndexRoot, x.index_root);
  put_u32(p + kHead, x.head);
  put_u32(p + kTail, x.tail);
  put_u32(p + kTailOffset, x.tail_offset);
  put_u64(p + kFirstKey, x.first_key);
  put_u64(p + kNextKey, x.next_key);
  put_u64(p + kBytes, x.bytes);
  put_u64(p + kFirstTs, x.first_ts);
  put_u64(p + kLastTs, x.last_ts);
  put_u64(p + kCreated, x.created);
  put_u64(p + kMaxAge, x.max_age);
  put_u64(p + kMaxBytes, x.max_bytes);
  put_u64(p + kMaxRecords, x.max_records);
  put_u32(p + kDataPages, x.data_pages);
  put_u32(p + kFlags, x.flags);
}
} // namespace desc

} // namespace klite::format
