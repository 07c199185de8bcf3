// klite::inspect: an independent reader and checker of klite files, the
// library behind klite-inspect (tools/) and the integrity checks of the tests.
//
// It decodes every structure of docs/FORMAT.md from the raw bytes, using
// only format.h, coding.h and crc32c.h, and never the engine's pager,
// B+tree, catalog or chain code: a bug there cannot hide itself from a check
// that goes through it (as SQLite's showdb and integrity_check read the
// file on their own).
//
// Guarantees:
//  - The file is opened read-only and never written.
//  - The meta page is chosen once, when a File is opened (FORMAT.md section
//    2), and everything after reads that snapshot. A writer may keep the
//    file open: the bytes a committed snapshot reaches do not change
//    (invariant 1 of pager.h) until the writer reuses its freed pages, two
//    commits later at the earliest. So a File opened on a path takes a
//    slot in the reader table (its only write: that slot of FILE-lock, if
//    the file has one it may write) and publishes its snapshot there, like
//    a read transaction: no writer in any process reuses those pages while
//    the File lives. Without a slot (no FILE-lock, a read-only directory,
//    every slot taken), a check that runs while a busy writer commits many
//    times may report pages reused under it (Report::snapshot_moved).
//  - A damaged file gives Problems, never a crash, a hang or unbounded
//    memory: pages are read with pread into buffers (nothing is mapped, so
//    a file truncated underneath cannot raise SIGBUS), every offset and
//    length is bounds-checked, each page is visited at most once (a page
//    ownership map detects cycles and sharing), a B+tree descent stops at
//    64 levels, and memory is O(page count + the largest record).
#pragma once

#include "engine/format.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace klite {
class ReaderTable;
namespace os {
class File;
}
} // namespace klite

namespace klite::inspect {

// One finding. `page` is the page the problem is on (for a stream
// descriptor: the catalog leaf holding it, or the meta page whose overlay
// holds it; for the meta pages and their overlay entries: 0 or 1).
struct Problem {
  std::uint32_t page = 0;
  std::string message;
  // A warning does not make a file unclean: it describes a state a crash
  // can leave, such as a torn meta page whose commit never completed.
  bool warning = false;
};

// One entry of a meta page's commit range list (FORMAT.md section 2).
struct CommitRange {
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  std::uint32_t stored_crc = 0;
  bool read = false;              // it lies inside the commit's pages
  std::uint32_t computed_crc = 0; // of its bytes in the file now, if read
  bool ok = false;                // read, and the CRC matches
  std::string status; // "ok", or what fails: "has length 0", "lies outside
                      // pages [2, 13)", "does not match its CRC (...)"
};

// A stream descriptor, decoded field by field (FORMAT.md section 5) and
// not checked: check() reports what is out of range.
using Descriptor = format::Descriptor;

// One entry of a meta page's descriptor overlay (format version 4,
// format.h): the current descriptor of a stream that the catalog tree
// holds, replacing the tree's.
struct OverlayEntry {
  std::uint32_t offset = 0; // of its name length byte, in the meta page
  std::string name;
  Descriptor d;
};

// What one of the two meta page slots holds (FORMAT.md section 2).
struct MetaSlot {
  std::uint32_t slot = 0;
  std::uint64_t offset = 0; // where the 64 bytes were read
  bool found = false;       // 64 bytes could be read there
  bool magic = false;
  bool crc_ok = false;
  std::uint32_t version = 0;
  std::uint32_t page_size = 0;
  std::uint64_t txn_id = 0;
  std::uint32_t page_count = 0;
  std::uint32_t catalog_root = 0;
  std::uint32_t free_root = 0;
  std::uint64_t next_stream_id = 0;
  std::uint32_t stored_crc = 0;
  std::uint32_t computed_crc = 0;
  bool valid = false;
  std::string status; // "valid", or why the slot is not used

  // The commit range list (format version 2). Decoded only for a valid slot
  // whose count fits the page (so at most a page's worth is read); then
  // list_read is true and computed_range_list_crc is set.
  std::uint32_t range_count = 0;
  std::uint32_t range_list_crc = 0;
  bool list_read = false;
  std::uint32_t computed_range_list_crc = 0;
  std::vector<CommitRange> ranges;
  // The descriptor overlay (format version 4; a meta page of an older
  // version has none, whatever its bytes 52..59 hold). Judged for a valid
  // slot only, as open judges it (engine/pager.cpp, read_overlay):
  // overlay_ok if the whole meta page lies in the file and the overlay, at
  // overlay_offset (64 + 16 x range count), fits the page and matches its
  // CRC. overlay_status is "none", "ok", or why not. When its bytes lie in
  // the page, overlay_read is true, computed_overlay_crc is set, and the
  // entries are decoded (whatever the CRC says, for display) up to the
  // first malformed one, which overlay_malformed describes.
  std::uint32_t overlay_size = 0;
  std::uint32_t overlay_crc = 0;
  std::uint64_t overlay_offset = 0;
  bool overlay_read = false;
  std::uint32_t computed_overlay_crc = 0;
  bool overlay_ok = false;
  std::string overlay_status;
  std::vector<OverlayEntry> overlay;
  std::string overlay_malformed;

  // Whether the commit reached the file whole, judged as open judges it
  // (FORMAT.md section 2, step 6): its overlay is ok and its range list
  // holds; for a valid slot only. When it did not, `incomplete` says why in
  // one line (the overlay first, as open checks it first).
  bool complete = false;
  std::string incomplete;
};

class Source; // where the bytes come from (a file, or memory)

class File {
public:
  // Opens `path` read-only and chooses the meta page. Throws klite::Error:
  // NotFound (missing), IO (unreadable), NotKlite (shorter than 64 bytes,
  // or no meta page candidate has the magic), Unsupported (a meta page with
  // a valid checksum and another format version). A klite file whose meta
  // pages are both damaged still opens, with has_snapshot() false; so does
  // one whose chosen meta page's overlay is torn (which open refuses).
  explicit File(const std::string& path);
  // The same over a copy of a file's bytes (tests, fuzzing).
  static File from_bytes(std::string bytes, std::string name = "<memory>");

  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  const std::string& path() const noexcept { return path_; }
  std::uint64_t file_size() const noexcept { return file_size_; }
  const MetaSlot& meta(int slot) const noexcept { return metas_[slot]; }
  // The slot of the meta page in use, or -1 if neither is valid.
  int current() const noexcept { return current_; }
  bool has_snapshot() const noexcept { return current_ >= 0; }
  // Why current() is what it is, one sentence.
  const std::string& choice() const noexcept { return choice_; }
  // Problems (and warnings) about the meta pages, found when opening.
  const std::vector<Problem>& meta_problems() const noexcept {
    return meta_problems_;
  }

  // The snapshot: zero when there is none. page_size() falls back to the
  // page size a damaged meta page claims, when it is a legal one.
  std::uint32_t page_size() const noexcept { return page_size_; }
  std::uint32_t page_count() const noexcept { return snap_.page_count; }
  std::uint64_t txn_id() const noexcept { return snap_.txn_id; }
  std::uint32_t catalog_root() const noexcept { return snap_.catalog_root; }
  std::uint32_t free_root() const noexcept { return snap_.free_root; }
  std::uint64_t next_stream_id() const noexcept { return snap_.next_stream_id; }
  // Pages [0, file_pages()) lie wholly inside the file.
  std::uint64_t file_pages() const noexcept {
    return page_size_ ? file_size_ / page_size_ : 0;
  }

  // The largest txn id of a valid meta page on disk now (read afresh), or
  // 0 if none is valid. A writer that has committed three times past
  // txn_id() may have reused pages of this snapshot. A commit that has not
  // completed counts too: its writer may already have reused pages. Never
  // throws.
  std::uint64_t newest_txn_on_disk() const;

  // Reads n bytes at `off`. Returns false, with the reason in *why, if they
  // are not wholly inside the file or the read fails. Never throws.
  bool read_at(std::uint64_t off, void* buf, std::size_t n,
               std::string* why = nullptr) const;

  // Reads page `pgno` (page_size() bytes) into buf. Returns false, with the
  // reason in *why, if the page is not wholly inside the file or the read
  // fails. Never throws.
  bool read_page(std::uint32_t pgno, std::uint8_t* buf,
                 std::string* why = nullptr) const;

private:
  File(std::unique_ptr<Source> src, std::string path);
  void choose_meta();
  // Takes a slot in `path`-lock's reader table and publishes the snapshot.
  void pin(const std::string& path);

  std::unique_ptr<Source> src_;
  std::string path_;
  std::uint64_t file_size_ = 0;
  MetaSlot metas_[2];
  int current_ = -1;
  std::string choice_;
  std::vector<Problem> meta_problems_;
  std::uint32_t page_size_ = 0;
  MetaSlot snap_; // a copy of the chosen slot (zeros when there is none)
  std::unique_ptr<klite::os::File> lock_;       // FILE-lock, if pinned
  std::unique_ptr<klite::ReaderTable> readers_; // the slot in it
};

// ---------------------------------------------------------------------------
// Streams

struct Stream {
  std::string name;
  std::uint32_t leaf = 0; // the catalog leaf page holding the entry
  std::size_t value_size = 0; // of the tree's entry
  Descriptor d;               // the current descriptor
  Descriptor tree;            // the tree's (older, when overlaid)
  // Whether d comes from the current meta page's descriptor overlay
  // (format version 4), which replaces the tree's; then overlay_offset is
  // where its entry is in the meta page.
  bool overlaid = false;
  std::uint32_t overlay_offset = 0;
  // The page that holds d, which problems with it name: the catalog leaf,
  // or the meta page (0 or 1) of the overlay.
  std::uint32_t desc_page = 0;
};

// The streams of the catalog in stored order, with their current
// descriptors: the tree's, replaced by the current meta page's overlay
// entries (the first of a name, as the engine reads them), as far as the
// catalog can be read; what could not be read, and the overlay entries
// that cannot be used, are in *problems.
std::vector<Stream> streams(const File& f, std::vector<Problem>* problems);

// Descriptor flags as people read them (stream NAME, page N, analyze):
// "none", "has TTL", and bits this build does not know as "unknown 0x...".
// (Durations and sizes: text::describe_duration, text::describe_bytes.)
std::string describe_stream_flags(std::uint32_t flags);

// ---------------------------------------------------------------------------
// Pages, trees and the free list, decoded for display

// One decoded field: `size` bytes at `offset` of the page (0, 0 for a
// derived value such as a record's key), its name and its value as text.
struct Field {
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
  std::string name;
  std::string value;
  bool number = false; // value is a decimal integer (unquoted in JSON)
};

// A cell, free-list entry or record of a page.
struct Item {
  std::string title;
  std::vector<Field> fields;
};

struct PageDump {
  std::uint32_t pgno = 0;
  std::string kind; // "meta", "branch", "leaf", "data", "free-list directory",
                    // "free-list chunk", "unknown (type N)"
  bool beyond_page_count = false; // not part of the snapshot
  std::vector<Field> header;
  std::vector<Item> items;
  std::vector<std::string> notes; // what does not decode
  std::vector<std::uint8_t> bytes;
};

// Decodes page `pgno`. Throws klite::Error(InvalidArgument) if the page is
// not wholly inside the file or there is no usable page size.
PageDump dump_page(const File& f, std::uint32_t pgno);

enum class KeyKind { Catalog, Index };

// Renders a B+tree key: a stream name in quotes (catalog), a decimal key
// (key index), or hex when it is neither.
std::string describe_key(std::string_view key, KeyKind kind);

struct TreeNode {
  std::uint32_t pgno = 0;
  int level = 0; // 0 = root
  bool leaf = false;
  std::uint32_t count = 0;
  std::uint32_t used_bytes = 0; // header, slots and cells
  std::uint64_t txn_id = 0;
  std::optional<std::string> lo, hi;      // fences: keys >= lo and < hi
  std::optional<std::string> first, last; // first and last key on the page
  std::vector<std::uint32_t> children;
};

struct TreeView {
  std::uint32_t root = 0;
  KeyKind kind = KeyKind::Catalog;
  std::vector<std::vector<TreeNode>> levels;
  std::uint64_t entries = 0;
  std::vector<Problem> problems;
};

TreeView tree(const File& f, std::uint32_t root, KeyKind kind);

struct FreeEntry {
  std::uint32_t dir_page = 0;
  std::uint64_t tag = 0; // the txn that freed the pages
  std::uint32_t chunk = 0;
  std::uint32_t count = 0;
  std::uint32_t used = 0;
  std::vector<std::uint32_t> pages; // the free ones, [used, count)
};

struct FreeListView {
  std::vector<std::uint32_t> dir_pages;
  std::vector<FreeEntry> entries;
  std::uint64_t free_pages = 0;
  // Free pages the next write transaction may reuse when no reader holds an
  // older snapshot (tag <= txn id - 1, FORMAT.md section 9).
  std::uint64_t reusable_pages = 0;
  std::vector<Problem> problems;
};

FreeListView freelist(const File& f);

// ---------------------------------------------------------------------------
// check and analyze

struct TreeStats {
  std::uint64_t pages = 0;
  std::uint64_t entries = 0;
  std::uint64_t depth = 0;      // levels; 0 for an empty tree
  std::uint64_t used_bytes = 0; // page headers, slots and cells
};

struct StreamStats {
  std::string name;
  Descriptor descriptor; // the current one: id, first key, retention, flags
  bool overlaid = false; // it comes from the meta page's overlay
  std::uint64_t records = 0;       // live records found in the chain
  std::uint64_t payload_bytes = 0; // their values
  std::uint64_t header_bytes = 0;  // their header blocks, with the length
  std::uint64_t record_header_bytes = 0; // varints (ttl too) and CRC
  std::uint64_t data_pages = 0;
  std::uint64_t data_used_bytes = 0; // record bytes on the data pages
  // What expiry left on the data pages (FORMAT.md section 7): records with
  // keys below the first key, on the head page, and their bytes (headers
  // and bodies, also where a body continues on later pages, and the
  // continuation at the head of an expired record whose start page was
  // dropped).
  std::uint64_t expired_records = 0;
  std::uint64_t expired_bytes = 0;
  std::uint64_t expired_pages = 0; // data pages no live record has a byte on
  // The live records with a TTL, their values, and the earliest and latest
  // time one runs out (timestamp + TTL; 0 when there is none).
  std::uint64_t ttl_records = 0;
  std::uint64_t ttl_payload_bytes = 0;
  std::uint64_t ttl_first_expiry = 0;
  std::uint64_t ttl_last_expiry = 0;
  TreeStats index;
};

struct Report {
  std::vector<Problem> problems;      // errors and warnings, in the order found
  std::uint64_t problems_dropped = 0; // past CheckOptions::max_problems
  std::uint64_t errors = 0;           // all errors, dropped ones included
  std::uint64_t warnings = 0;
  bool clean() const noexcept { return errors == 0; }

  std::uint32_t page_size = 0;
  std::uint32_t page_count = 0;
  std::uint64_t file_size = 0;
  std::uint64_t txn_id = 0;
  TreeStats catalog;
  std::uint64_t freelist_dir_pages = 0;
  std::uint64_t freelist_chunk_pages = 0;
  std::uint64_t free_pages = 0;
  std::uint64_t reusable_pages = 0; // as FreeListView::reusable_pages
  std::uint64_t unreachable_pages = 0;
  std::vector<StreamStats> streams;
  std::uint64_t records = 0;
  std::uint64_t payload_bytes = 0;
  // A writer committed at least three times during the check, so pages of
  // the snapshot may have been reused under it (inspect.h, guarantees): the
  // problems found may be spurious, and checking again is worth it.
  bool snapshot_moved = false;
};

struct CheckOptions {
  std::size_t max_problems =
      10000; // kept in Report::problems; the rest counted
};

// The full integrity check (docs/INSPECT.md lists what it verifies), and
// the page accounting that analyze prints. Never throws for a damaged file.
Report check(const File& f, const CheckOptions& options = {});

// ---------------------------------------------------------------------------
// dump

struct DumpRecord {
  std::uint64_t key = 0;
  std::uint64_t timestamp = 0;
  // When its TTL runs out (Record::expires: timestamp + TTL, saturated);
  // 0 if it has none.
  std::uint64_t expires = 0;
  std::string_view value;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

// Calls fn for every live record of `stream` (key >= first key) whose
// checksum holds, in key order (views valid during the call). It does not
// know the time, so records whose TTL has run out are among them. Returns
// the problems met on the way; a damaged record is skipped, a broken chain
// ends the dump. Throws klite::Error(NoSuchStream) if the catalog has no
// such stream.
std::vector<Problem> dump(const File& f, std::string_view stream,
                          const std::function<void(const DumpRecord&)>& fn);

} // namespace klite::inspect
