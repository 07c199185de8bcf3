// The pager: pages of one file, the meta pages, snapshots, and the write
// transaction's dirty pages and commit.
//
// Invariants (DESIGN.md section 3):
//  1. A page reachable from a committed meta page (through its catalog
//     tree, its descriptor overlay or its free list) is never written again,
//     except the unused tail of a stream's tail data page and its (seal)
//     header fields, which no committed state reads (format.h, data page).
//  2. Commit N writes every dirty page and meta page N % 2, then syncs
//     once; the meta page lists the byte ranges written, with CRCs. Open
//     uses the newest meta page whose checksum holds and whose ranges read
//     back whole, else the other one, so a crash at any point leaves the
//     last durable commit. This needs commit N - 1 durable before commit
//     N writes anything. A commit too big to list syncs its pages before
//     it writes the meta page, and again after (FORMAT.md section 12).
//  3. A page freed by commit T is reused only by a write transaction W with
//     T <= W - 2 (so the other meta page stays usable) and T <= the snapshot
//     of every live reader, of this open or, through the reader table
//     (readers.h), of any other. Durability::Normal, whose commits between
//     syncs go into one meta page while the other keeps the newest durable
//     commit D, also needs T <= D (reuse_bound()).
#pragma once

#include "engine/os.h"

#include <klite/engine.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace klite {

struct Meta {
  std::uint64_t txn_id = 0;
  std::uint32_t page_count = 0;
  std::uint32_t catalog_root = 0;
  std::uint32_t free_root = 0;
  std::uint64_t next_stream_id = 1;
  // The descriptor overlay, its bytes as the meta page holds them
  // (format.h; catalog.h reads and makes them). Null when empty. Never
  // changed once made, so that a snapshot's copy of a Meta costs a
  // reference count.
  std::shared_ptr<const std::string> overlay;

  std::size_t overlay_size() const noexcept {
    return overlay ? overlay->size() : 0;
  }
};

// A page the write transaction has changed, held in memory until commit.
struct DirtyPage {
  std::unique_ptr<std::uint8_t[]> buf;
  bool fresh = false;   // allocated by this txn: the whole page is written
  bool checked = false; // B+tree or free-list page: CRC set at commit
  // For a committed data page changed in place: the byte ranges to write.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;
  // For a fresh data page: one past the last byte touch() was told of.
  std::uint32_t used = 0;
  // The Writer::savepoint() in force when this txn last saved or made the
  // page: equal to the current one, a rollback has what it needs.
  std::uint64_t epoch = 0;
};
using DirtyMap = std::unordered_map<std::uint32_t, DirtyPage>;

class Pager;

// Read access to the pages of one snapshot, plus the dirty pages of the
// write transaction when it is the writer's view.
class Pages {
public:
  Pages(Pager& pager, const Meta& meta, std::shared_ptr<const os::Mapping> map)
      : pager_(&pager), meta_(meta), map_(std::move(map)) {}

  Pager& pager() const noexcept { return *pager_; }
  const Meta& meta() const noexcept { return meta_; }
  Meta& meta() noexcept { return meta_; }
  inline std::uint32_t page_size() const noexcept; // after Pager, below
  const std::string& path() const noexcept;

  // The bytes of page `pgno`. Throws Corrupt if pgno is a meta page or past
  // the snapshot's page count (a damaged link), never touching the mapping.
  const std::uint8_t* get(std::uint32_t pgno) const;
  // For a scan about to read page `pgno`: fills the page tables of the
  // 1 MiB around it that lies within the snapshot, once per mapping
  // (os::Mapping::prefault). Best effort: never fails.
  void prefault(std::uint32_t pgno) const noexcept;
  // A B+tree or free-list page: checks type, self page number and CRC.
  const std::uint8_t* checked(std::uint32_t pgno, std::uint8_t type1,
                              std::uint8_t type2) const;
  // Whether this is the writer's view (with dirty pages).
  bool has_dirty() const noexcept { return dirty_ != nullptr; }
  bool is_dirty(std::uint32_t pgno) const {
    return dirty_ && dirty_->count(pgno) != 0;
  }
  void set_dirty(const DirtyMap* dirty) noexcept { dirty_ = dirty; }

private:
  Pager* pager_;
  Meta meta_;
  std::shared_ptr<const os::Mapping> map_;
  const DirtyMap* dirty_ = nullptr;
};

class FreeList;
class ReaderTable;

// A byte range a commit wrote, as its meta page lists it (format.h, meta).
struct CommitRange {
  std::uint64_t offset;
  std::uint32_t length;
  std::uint32_t crc;
};

// The file and what all transactions of one Engine share.
class Pager {
public:
  Pager(const std::string& path, const Options& options);
  ~Pager();

  const std::string& path() const noexcept { return file_->path(); }
  std::uint32_t page_size() const noexcept { return page_size_; }
  const Options& options() const noexcept { return options_; }
  // The clock, in microseconds since the Unix epoch. Throws InvalidArgument
  // past kMaxTimestamp, so record timestamp deltas fit their varint.
  std::uint64_t now();
  static constexpr std::uint64_t kMaxTimestamp = std::uint64_t{1} << 61;

  // A snapshot of the newest commit in the file (this process's or, see
  // adopt_newer_commit, another's), registered as a live reader until
  // release() (so its pages are not reused). Checks that the file still
  // holds every page the snapshot needs.
  Pages acquire();
  void release(const Pages& snapshot) noexcept;
  // The oldest snapshot txn id a live reader uses, in this open or (through
  // the reader table) any other, if it is below `below`; else `below`.
  std::uint64_t oldest_reader(std::uint64_t below) const;

  // The file's write lock, on the companion file `path-lock`, which every
  // writable open creates: one writer at a time across all opens of the
  // file. begin_write() waits until `deadline` for it, then throws Busy. A
  // writer's snapshot must be taken after begin_write(), so that it builds
  // on the newest commit.
  void begin_write(std::chrono::steady_clock::time_point deadline);
  void end_write() noexcept;
  // A commit in two steps (invariant 2), so that the next write
  // transaction can build on a commit while its sync runs (group commit):
  // write_commit() writes the dirty pages and the meta page; the commit is
  // then in flight, until finish_commit() syncs it (Durability::Full) and
  // makes it the snapshot readers get. At most one commit is in flight.
  // After a failed write_commit() nothing is in flight.
  // `freed`: the committed pages this commit made unreachable.
  void write_commit(const Meta& meta, DirtyMap& dirty,
                    std::span<const std::uint32_t> freed);
  void finish_commit(const Meta& meta);
  // The txn id of the commit that builds on commit `base`, writes `dirty`
  // and at most `extra_pages` more pages, and frees at most `freed_pages`:
  // base + 1, but with
  // Durability::Normal base + 2 when base is ours and not yet synced, so
  // that the other meta page keeps the newest durable commit (FORMAT.md
  // section 12). It may sync the file first. Call it before the commit's
  // pages get their txn id (Writer::write_commit).
  // `overlay`: the size of the commit's descriptor overlay, which the
  // meta page holds beside the range list.
  std::uint64_t commit_txn(std::uint64_t base, const DirtyMap& dirty,
                           std::size_t extra_pages, std::size_t freed_pages,
                           std::size_t overlay);
  // The newest commit whose freed pages a writer building on `base` may
  // reuse (invariant 3 without the readers).
  std::uint64_t reuse_bound(std::uint64_t base) const noexcept;
  // The commit in flight (or, if it has just finished, the newest commit),
  // for a write transaction to build on, unregistered: its pages are the
  // writer's to reuse.
  Pages in_flight();
  // Throws IO if an earlier sync failed (fsyncgate: the writer cannot know
  // what reached the disk, so it refuses to go on until reopened).
  void check_writable() const;
  // Durability::Normal: syncs the commits written since the last sync now,
  // so that the pages they freed may be reused (invariant 3), and the next
  // commit goes to the other meta page. False, doing nothing, while a
  // commit is in flight. REQUIRES: the write lock.
  bool make_durable();
  // VACUUM's last step: cuts the file to the larger page count of its two
  // meta pages, if nothing can read past that: no other open of the file
  // (each maps it, and a shrink under a mapping is a SIGBUS there) and no
  // read transaction here on a snapshot older than `since`. Returns the
  // bytes given back (0 if it did not shrink). Calls make_durable() first.
  // REQUIRES: the write lock.
  std::uint64_t shrink(std::uint64_t since);

  // Page-sized buffers for the writer's dirty pages, reused across
  // transactions so a commit does not pay for fresh heap pages. Only the
  // one writer calls these.
  std::unique_ptr<std::uint8_t[]> take_buffer();
  void give_buffer(std::unique_ptr<std::uint8_t[]> buf) noexcept;

  // B+tree page CRC cache: a committed page that passed its CRC check once
  // is not checked again while its stored CRC is unchanged.
  bool known_good(std::uint32_t pgno, std::uint32_t crc) const noexcept;
  void mark_good(std::uint32_t pgno, std::uint32_t crc) const noexcept;

private:
  void create(const std::string& path);
  // Chooses the meta page (FORMAT.md section 2): choose_meta() once, or
  // again if a read of the meta pages may have been torn by a commit.
  void load_meta();
  void choose_meta();
  void remap(std::uint64_t file_size);
  // Makes current_ the newest valid commit in the file, which another
  // process may have made: every snapshot starts from the file's meta
  // pages, read through the shared mapping (the page cache is unified).
  void adopt_newer_commit(std::uint64_t file_size);
  // Grows the file to at least `needed` bytes for a commit of
  // `commit_bytes`, which decides whether the new space is also written
  // (see the definition).
  void grow(std::uint64_t needed, std::uint64_t commit_bytes);
  void write_pages(const Meta& meta, DirtyMap& dirty,
                   std::span<const std::uint32_t> freed);
  std::vector<CommitRange> without_freed(std::span<const std::uint32_t> freed,
                                         std::uint64_t& bytes) const;
  void sync(); // fdatasync; a failure sets sync_failed_
  // The largest txn id above `above` of a meta page in the file whose CRC
  // holds, or 0 if there is none.
  std::uint64_t newest_txn_on_disk(std::uint64_t above) const;
  // The oldest snapshot in readers_ if below `below`, else `below`; and
  // that snapshot (0: none) put in the reader table. Both hold mu_.
  std::uint64_t oldest_local(std::uint64_t below) const noexcept;
  void publish_oldest() noexcept;

  Options options_;
  std::unique_ptr<os::File> file_;
  // FILE-lock: the write lock, and the reader table mapped from it. Null
  // for a read-only open that cannot write it.
  std::unique_ptr<os::File> lock_file_;
  std::unique_ptr<ReaderTable> reader_table_;
  std::uint32_t page_size_ = 0;
  std::uint64_t file_size_ = 0;
  std::atomic<bool> sync_failed_{false};
  // The newest commit known durable: this Pager synced it (0: none yet);
  // and the newest this Pager wrote. Atomic: reuse_bound() reads them
  // while a commit syncs.
  std::atomic<std::uint64_t> durable_txn_{0};
  std::atomic<std::uint64_t> written_txn_{0};
  std::uint64_t base_txn_ = 0; // of the commit being written
  // Whether `base` is our commit and not durable yet (Normal, between syncs).
  bool own_unsynced(std::uint64_t base) const noexcept {
    return written_txn_ == base && durable_txn_ != base;
  }
  // Durability::Normal: the ranges our commits wrote since the last sync,
  // in file order, and their bytes; every commit's meta page lists them.
  std::vector<CommitRange> unsynced_;
  std::uint64_t unsynced_bytes_ = 0;
  std::chrono::steady_clock::time_point last_sync_ =
      std::chrono::steady_clock::now();
  // The commit between write_commit() and finish_commit(), if any. Its meta
  // page is in the file already: adopt_newer_commit() must not hand it to
  // readers before it is durable. Guarded by mu_.
  std::optional<Meta> in_flight_;
  // The most bytes a commit lists in its meta page (so syncs once): open
  // re-reads them, and a larger commit's second sync costs little beside
  // its writes.
  static constexpr std::uint64_t kMaxListedBytes = std::uint64_t{4} << 20;
  // A Durability::Full commit of fewer bytes than this that grows the file
  // writes zeros over the new space (see Pager::grow).
  static constexpr std::uint64_t kZeroFillBelow = std::uint64_t{64} << 10;

  mutable std::mutex mu_; // guards the fields below
  Meta current_;
  std::shared_ptr<const os::Mapping> map_;
  // Live readers: (snapshot txn id, how many), in no order. Few distinct
  // ids are live at a time, and a flat vector allocates nothing once it
  // has grown, where a multiset allocated a node for every transaction.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> readers_;

  std::vector<std::unique_ptr<std::uint8_t[]>> spare_buffers_;
  static constexpr std::size_t kMaxSpareBuffers = 1024;

  static constexpr std::size_t kGoodSlots = 1 << 16;
  std::unique_ptr<std::atomic<std::uint64_t>[]> good_;
};

inline std::uint32_t Pages::page_size() const noexcept {
  return pager_->page_size();
}

// Page allocation and copy-on-write for the write transaction.
class Writer {
public:
  explicit Writer(Pages base);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  Pages& pages() noexcept { return pages_; }
  Meta& meta() noexcept { return pages_.meta(); }
  std::uint32_t page_size() const noexcept { return pages_.page_size(); }

  // A new zeroed page; checked pages get their CRC at commit.
  std::uint8_t* alloc(std::uint32_t& pgno, bool checked);
  // A new unchecked page with undefined bytes, for a caller that writes
  // every byte before commit (zeroing a whole data page per few records
  // showed in W1's profile).
  std::uint8_t* alloc_unzeroed(std::uint32_t& pgno);
  // A writable copy of checked page `pgno`: itself if this txn made it,
  // otherwise a new page (the old one is freed). Updates `pgno`.
  std::uint8_t* cow(std::uint32_t& pgno);
  // The committed data page `pgno`, writable in place: only the byte ranges
  // passed to touch() reach the file. A fresh data page is written whole,
  // but its writes past its header must be passed to touch() too: the
  // commit's range list needs where the page's records end.
  std::uint8_t* modify_in_place(std::uint32_t pgno);
  void touch(std::uint32_t pgno, std::uint32_t lo, std::uint32_t hi);
  // `pgno` is no longer reachable from this transaction's state.
  void free(std::uint32_t pgno);

  // Group commit: several write transactions may build on one Writer, one
  // after another, and commit together. savepoint() marks the state that
  // rollback() returns to, undoing only the changes made since; release()
  // keeps them. Without a savepoint, a failed transaction drops the whole
  // Writer. REQUIRES for rollback() and release(): savepoint() was called.
  void savepoint();
  void rollback() noexcept;
  void release() noexcept;

  // VACUUM: takes every page the free list may give this transaction now;
  // until give_back(), allocations use the lowest of them first.
  void take_free_pages();
  // Returns the pages take_free_pages() took and no allocation used to the
  // free list, except those at or past `end`, which leave the file: the
  // page count becomes `end`. REQUIRES: no page at or past `end` is in use.
  void give_back(std::uint32_t end);
  // Pages taken by take_free_pages() and not used yet, lowest first.
  const std::set<std::uint32_t>& taken() const noexcept { return pool_; }
  // Saves the free list, then Pager::write_commit(); see Pager.
  void write_commit();
  // write_commit(), then Pager::finish_commit().
  void commit();

private:
  friend class FreeList;
  std::uint32_t take_page();
  std::uint8_t* install(std::uint32_t pgno, bool fresh, bool checked);
  // Before the first change to dirty page `page` since the savepoint:
  // keeps a copy of it for rollback().
  void preserve(std::uint32_t pgno, const DirtyPage& page);

  Pages pages_;
  DirtyMap dirty_;
  std::unique_ptr<FreeList> free_;

  // The savepoint (epoch_ != 0): the state to return to, the pages it
  // changed as they were, and the pages it added.
  std::uint64_t epoch_ = 0;
  std::uint64_t epochs_ = 0;
  Meta saved_meta_;
  std::unique_ptr<FreeList> saved_free_;
  DirtyMap undo_;
  std::vector<std::uint32_t> added_;
  std::set<std::uint32_t> pool_; // see take_free_pages()
};

} // namespace klite
