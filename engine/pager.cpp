#include "engine/pager.h"

#include "engine/coding.h"
#include "engine/crc32c.h"
#include "engine/errors.h"
#include "engine/format.h"
#include "engine/freelist.h"
#include "engine/readers.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <thread>

namespace klite {

namespace fmt = format;
using namespace coding;

namespace {

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

bool valid_page_size(std::uint32_t ps) {
  return ps >= fmt::kMinPageSize && ps <= fmt::kMaxPageSize &&
         (ps & (ps - 1)) == 0;
}

std::uint32_t meta_crc(const std::uint8_t* m) {
  return crc32c::value(m, fmt::meta::kCrc);
}

// Fills `m` (room for meta::kSize, the list and the overlay) and returns
// the bytes used.
std::size_t encode_meta(std::uint8_t* m, const Meta& meta, std::uint32_t ps,
                        std::span<const CommitRange> ranges) {
  std::memset(m, 0, fmt::meta::kSize);
  std::uint8_t* list = m + fmt::meta::kSize;
  for (const CommitRange& r : ranges) {
    put_u64(list + fmt::meta::kRangeOffset, r.offset);
    put_u32(list + fmt::meta::kRangeLength, r.length);
    put_u32(list + fmt::meta::kRangeCrc, r.crc);
    list += fmt::meta::kRangeSize;
  }
  const std::size_t list_size = ranges.size() * fmt::meta::kRangeSize;
  const std::size_t overlay_size = meta.overlay_size();
  if (overlay_size)
    std::memcpy(list, meta.overlay->data(), overlay_size);
  std::memcpy(m + fmt::meta::kMagic, fmt::kMagic, sizeof fmt::kMagic);
  put_u32(m + fmt::meta::kVersion, fmt::kFormatVersion);
  put_u32(m + fmt::meta::kPageSize, ps);
  put_u64(m + fmt::meta::kTxnId, meta.txn_id);
  put_u32(m + fmt::meta::kPageCount, meta.page_count);
  put_u32(m + fmt::meta::kCatalogRoot, meta.catalog_root);
  put_u32(m + fmt::meta::kFreeRoot, meta.free_root);
  put_u32(m + fmt::meta::kRangeCount, static_cast<std::uint32_t>(ranges.size()));
  put_u64(m + fmt::meta::kNextStreamId, meta.next_stream_id);
  put_u32(m + fmt::meta::kRangeListCrc,
          list_size ? crc32c::value(m + fmt::meta::kSize, list_size) : 0);
  put_u32(m + fmt::meta::kOverlaySize, static_cast<std::uint32_t>(overlay_size));
  put_u32(m + fmt::meta::kOverlayCrc,
          overlay_size ? crc32c::value(list, overlay_size) : 0);
  put_u32(m + fmt::meta::kCrc, meta_crc(m));
  return fmt::meta::kSize + list_size + overlay_size;
}

// What one candidate meta page holds, as far as it can be trusted.
struct MetaCandidate {
  bool magic = false;
  bool crc_ok = false;
  std::uint32_t version = 0;
  std::uint32_t page_size = 0;
  std::uint32_t range_count = 0;
  std::uint32_t range_list_crc = 0;
  std::uint32_t overlay_size = 0;
  std::uint32_t overlay_crc = 0;
  Meta meta; // without the overlay: read_overlay() adds it

  // Where the overlay starts in the meta page.
  std::size_t overlay_offset() const {
    return fmt::meta::kSize + std::size_t{range_count} * fmt::meta::kRangeSize;
  }

  bool readable_version() const {
    return version >= fmt::kOldestReadableVersion &&
           version <= fmt::kFormatVersion;
  }
  bool fields_in_range() const {
    return meta.page_count >= 2 && meta.catalog_root < meta.page_count &&
           meta.free_root < meta.page_count;
  }
};

// `page` may be a meta page another process is rewriting (through the
// mapping): the 64 bytes are copied first, so that the CRC and the fields
// come from one read. What follows them (the list, the overlay) is taken
// only if it matches the CRCs among them.
MetaCandidate decode_meta(const std::uint8_t* page) {
  std::uint8_t m[fmt::meta::kSize];
  std::memcpy(m, page, sizeof m);
  MetaCandidate c;
  c.magic = std::memcmp(m, fmt::kMagic, sizeof fmt::kMagic) == 0;
  c.crc_ok = get_u32(m + fmt::meta::kCrc) == meta_crc(m);
  c.version = get_u32(m + fmt::meta::kVersion);
  c.page_size = get_u32(m + fmt::meta::kPageSize);
  c.range_count = get_u32(m + fmt::meta::kRangeCount);
  c.range_list_crc = get_u32(m + fmt::meta::kRangeListCrc);
  if (c.version >= 4) { // before, reserved and 0
    c.overlay_size = get_u32(m + fmt::meta::kOverlaySize);
    c.overlay_crc = get_u32(m + fmt::meta::kOverlayCrc);
  }
  c.meta.txn_id = get_u64(m + fmt::meta::kTxnId);
  c.meta.page_count = get_u32(m + fmt::meta::kPageCount);
  c.meta.catalog_root = get_u32(m + fmt::meta::kCatalogRoot);
  c.meta.free_root = get_u32(m + fmt::meta::kFreeRoot);
  c.meta.next_stream_id = get_u64(m + fmt::meta::kNextStreamId);
  return c;
}

// Whether the commit that wrote meta page `c` (`page`, of which `have`
// bytes could be read) reached the file whole: its range list (if any) holds, and every range it lists
// reads back with its CRC (FORMAT.md section 12). A commit made with one
// sync whose sync did not finish fails this; the other meta page then
// holds the previous commit, which is intact.
bool commit_complete(const os::File& file, std::uint64_t file_size,
                     const std::uint8_t* page, std::size_t have,
                     const MetaCandidate& c) {
  const std::uint32_t n = c.range_count;
  if (n == 0)
    return true;
  const std::uint64_t end = std::uint64_t{c.meta.page_count} * c.page_size;
  if (n > fmt::meta::max_ranges(c.page_size) || file_size < end)
    return false;
  // A copy: `page` may be another process's mapping (decode_meta).
  std::vector<std::uint8_t> list(std::size_t{n} * fmt::meta::kRangeSize);
  if (fmt::meta::kSize + list.size() > have)
    return false;
  std::memcpy(list.data(), page + fmt::meta::kSize, list.size());
  if (crc32c::value(list.data(), list.size()) != c.range_list_crc)
    return false;
  std::vector<std::uint8_t> buf;
  std::uint64_t from = 2 * std::uint64_t{c.page_size}; // ranges in file order
  for (std::size_t i = 0; i < list.size(); i += fmt::meta::kRangeSize) {
    const std::uint8_t* e = list.data() + i;
    std::uint64_t off = get_u64(e + fmt::meta::kRangeOffset);
    std::uint32_t len = get_u32(e + fmt::meta::kRangeLength);
    if (len == 0 || off < from || off > end || len > end - off)
      return false;
    from = off + len;
    std::uint32_t crc = 0;
    while (len > 0) { // in pieces: a damaged length must not cost memory
      const std::uint32_t piece = std::min<std::uint32_t>(len, 1 << 20);
      buf.resize(piece);
      if (!file.read_at(off, buf.data(), piece))
        return false;
      crc = crc32c::extend(crc, buf.data(), piece);
      off += piece;
      len -= piece;
    }
    if (crc != get_u32(e + fmt::meta::kRangeCrc))
      return false;
  }
  return true;
}

Error unsupported(const std::string& path, std::uint32_t version) {
  return Error(ErrorCode::Unsupported,
               path + ": unsupported format version " + std::to_string(version) +
                   " (this build reads " +
                   std::to_string(fmt::kOldestReadableVersion) + " to " +
                   std::to_string(fmt::kFormatVersion) + ")");
}

// Adds to `c` the overlay of the meta page `page` (of which `have` bytes
// could be read), if its size and CRC hold: false if not, as for a commit that did not
// reach the file whole (a meta page is written with one write, but a torn
// one may keep its first 64 bytes). The CRC is taken of the copy, since
// `page` may be another process's mapping being rewritten. The entries
// are read by catalog.h.
bool read_overlay(const std::uint8_t* page, std::size_t have, MetaCandidate& c) {
  if (c.overlay_size == 0)
    return true;
  const std::size_t at = c.overlay_offset();
  if (c.range_count > fmt::meta::max_ranges(c.page_size) ||
      c.overlay_size > c.page_size - at || at + c.overlay_size > have)
    return false;
  auto overlay = std::make_shared<const std::string>(
      reinterpret_cast<const char*>(page + at), c.overlay_size);
  if (crc32c::value(overlay->data(), overlay->size()) != c.overlay_crc)
    return false;
  c.meta.overlay = std::move(overlay);
  return true;
}

std::uint32_t page_crc(const std::uint8_t* p, std::uint32_t ps) {
  static constexpr std::uint8_t zero[4] = {};
  std::uint32_t crc = crc32c::extend(0, p, fmt::checked::kCrc);
  crc = crc32c::extend(crc, zero, 4);
  return crc32c::extend(crc, p + fmt::checked::kCrc + 4,
                        ps - fmt::checked::kCrc - 4);
}

} // namespace

// ---------------------------------------------------------------------------
// Pages

const std::string& Pages::path() const noexcept { return pager_->path(); }

const std::uint8_t* Pages::get(std::uint32_t pgno) const {
  if (dirty_) {
    auto it = dirty_->find(pgno);
    if (it != dirty_->end())
      return it->second.buf.get();
  }
  if (pgno < 2 || pgno >= meta_.page_count)
    throw_corrupt(path(), pgno,
                  "link to a page outside the file (page count " +
                      std::to_string(meta_.page_count) + ")");
  return map_->data() + std::size_t{pgno} * page_size();
}

void Pages::prefault(std::uint32_t pgno) const noexcept {
  if (pgno >= 2 && pgno < meta_.page_count)
    map_->prefault(std::size_t{pgno} * page_size(),
                   std::size_t{meta_.page_count} * page_size());
}

const std::uint8_t* Pages::checked(std::uint32_t pgno, std::uint8_t type1,
                                   std::uint8_t type2) const {
  const std::uint8_t* p = get(pgno);
  if (is_dirty(pgno))
    return p;
  std::uint32_t stored = get_u32(p + fmt::checked::kCrc);
  if (!pager_->known_good(pgno, stored)) {
    if (page_crc(p, page_size()) != stored)
      throw_corrupt(path(), pgno, "checksum mismatch");
    pager_->mark_good(pgno, stored);
  }
  std::uint8_t type = p[fmt::checked::kType];
  if (type != type1 && type != type2)
    throw_corrupt(path(), pgno,
                  "unexpected page type " + std::to_string(type));
  if (get_u32(p + fmt::checked::kPageNo) != pgno)
    throw_corrupt(path(), pgno, "page records another page number");
  return p;
}

// ---------------------------------------------------------------------------
// Pager

Pager::Pager(const std::string& path, const Options& options)
    : options_(options),
      good_(std::make_unique<std::atomic<std::uint64_t>[]>(kGoodSlots)) {
  if (!valid_page_size(options.page_size))
    throw Error(ErrorCode::InvalidArgument,
                "page size " + std::to_string(options.page_size) +
                    " is not a power of two from 1024 to 32768");
  std::error_code ec;
  bool exists = std::filesystem::exists(path, ec);
  if (!exists && options.create_if_missing && !options.read_only)
    create(path);
  file_ = std::make_unique<os::File>(
      path, options.read_only ? os::File::Mode::ReadOnly
                              : os::File::Mode::ReadWrite);
  load_meta();
  try {
    lock_file_ = std::make_unique<os::File>(path + "-lock", os::File::Mode::Create);
    reader_table_ = std::make_unique<ReaderTable>(*lock_file_);
  } catch (const Error& e) {
    // A read-only open where FILE-lock cannot be made or written (a
    // read-only directory) reads without a slot: no writer can have
    // the file open there either, short of another user's.
    if (!options.read_only || e.code() != ErrorCode::IO)
      throw;
    reader_table_.reset();
    lock_file_.reset();
  }
}

Pager::~Pager() {
  // Durability::Normal: what has not been synced is, now. There is no one
  // to tell if that fails: the commits stay as durable as Normal promised.
  if (options_.durability == Durability::Normal && !sync_failed_ &&
      written_txn_ != durable_txn_) {
    try {
      file_->sync();
    } catch (...) {
    }
  }
}

std::uint64_t Pager::now() {
  std::uint64_t t =
      options_.clock
          ? options_.clock()
          : static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count());
  if (t > kMaxTimestamp)
    throw Error(ErrorCode::InvalidArgument,
                "the clock returned " + std::to_string(t) +
                    " us, past the largest timestamp klite stores (2^61 us)");
  return t;
}

void Pager::create(const std::string& path) {
  const std::uint32_t ps = options_.page_size;
  const std::size_t size = 2 * std::size_t{ps};
  const auto pages = std::make_unique<std::uint8_t[]>(size); // zeroed
  Meta m;
  m.page_count = 2;
  m.txn_id = 0;
  encode_meta(pages.get(), m, ps, {});
  m.txn_id = 1;
  encode_meta(pages.get() + ps, m, ps, {});
  os::create_file(path, pages.get(), size); // lost race: theirs wins
}

void Pager::load_meta() {
  // Another process may rewrite a meta page while this one reads it: the
  // read then fails a CRC, and the page seems damaged. Damage stays, a
  // torn read does not, so a file whose meta pages do not read whole is
  // read again before it is called corrupt (as SQLite re-reads its WAL
  // index header).
  for (int attempt = 1;; ++attempt) {
    try {
      choose_meta();
      return;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::Corrupt || attempt == 3)
        throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void Pager::choose_meta() {
  const std::string& path = file_->path();
  const std::uint64_t size = file_->size();
  auto not_klite = [&](const std::string& why) {
    return Error(ErrorCode::NotKlite, path + ": not a klite file (" + why + ")");
  };
  if (size < fmt::meta::kSize)
    throw not_klite(size == 0 ? "empty" : "too small");

  // Each candidate is read once, header and overlay together, so that a
  // meta page rewritten meanwhile cannot pair one commit's header with
  // another's overlay. Up to `n` bytes at `off`, fewer at the end of the
  // file.
  struct Found {
    std::uint32_t slot;
    MetaCandidate c;
    std::vector<std::uint8_t> page;
  };
  auto read = [&](std::uint64_t off, std::size_t n) {
    std::vector<std::uint8_t> page(std::min<std::uint64_t>(n, size - off));
    if (!file_->read_at(off, page.data(), page.size()))
      page.clear(); // shrunk meanwhile
    return page;
  };
  // Meta page 0 is at offset 0; meta page 1 at offset page_size. If page 0
  // is damaged its page size cannot be trusted, so try every legal one.
  std::vector<Found> found;
  std::vector<std::uint8_t> p0 = read(0, fmt::kMaxPageSize);
  if (p0.size() < fmt::meta::kSize)
    throw not_klite("too small");
  const MetaCandidate m0 = decode_meta(p0.data());
  found.push_back({0, m0, std::move(p0)});
  for (std::uint32_t ps = fmt::kMinPageSize; ps <= fmt::kMaxPageSize; ps *= 2) {
    if (m0.magic && m0.crc_ok && m0.page_size != ps)
      continue;
    if (size < ps + fmt::meta::kSize)
      break;
    std::vector<std::uint8_t> page = read(ps, ps);
    if (page.size() < fmt::meta::kSize)
      break;
    MetaCandidate c = decode_meta(page.data());
    if (c.magic && c.page_size == ps)
      found.push_back({1, c, std::move(page)});
  }

  bool any_magic = false;
  std::vector<Found*> valid;
  for (Found& f : found) {
    const MetaCandidate& c = f.c;
    any_magic |= c.magic;
    if (!c.magic || !c.crc_ok)
      continue;
    if (!c.readable_version())
      throw unsupported(path, c.version);
    if (valid_page_size(c.page_size) && c.meta.txn_id % 2 == f.slot)
      valid.push_back(&f);
  }
  if (valid.empty()) {
    if (!any_magic)
      throw not_klite("bad magic");
    throw_corrupt(path, 0, "no meta page with a valid checksum");
  }
  // The newest valid meta page, unless its commit is incomplete: then the
  // one before it, which that commit's protocol left intact.
  std::sort(valid.begin(), valid.end(), [](const Found* a, const Found* b) {
    return a->c.meta.txn_id > b->c.meta.txn_id;
  });
  Found* best = valid.front();
  auto other = std::find_if(valid.begin(), valid.end(), [&](const Found* f) {
    return f->slot != best->slot;
  });
  Found* older = other == valid.end() ? nullptr : *other;
  auto overlay_ok = [](Found& f) {
    return read_overlay(f.page.data(), f.page.size(), f.c);
  };
  // (A meta page the file does not hold whole is a truncated file, which
  // the checks below report.)
  auto torn = [&](const Found& f) {
    if (size >= std::uint64_t{f.slot + 1} * f.c.page_size)
      throw_corrupt(path, f.slot, "meta page overlay does not match its checksum");
  };
  if (!overlay_ok(*best) ||
      (older && !commit_complete(*file_, size, best->page.data(),
                                 best->page.size(), best->c))) {
    if (older) {
      best = older;
      if (!overlay_ok(*best))
        torn(*best);
    } else {
      torn(*best);
    }
  }
  page_size_ = best->c.page_size;
  const Meta& m = best->c.meta;
  const std::uint32_t meta_page = best->slot;
  if (!best->c.fields_in_range())
    throw_corrupt(path, meta_page, "meta page fields out of range");
  file_size_ = size;
  if (size < std::uint64_t{m.page_count} * page_size_)
    throw_corrupt(path, meta_page,
                  "file is truncated: " + std::to_string(size) +
                      " bytes, the last commit needs " +
                      std::to_string(std::uint64_t{m.page_count} * page_size_));
  current_ = m;
  remap(size);
}

void Pager::remap(std::uint64_t file_size) {
  std::uint64_t want = std::max<std::uint64_t>(2 * file_size, kGiB);
  want = (want + kGiB - 1) / kGiB * kGiB;
  auto map = std::make_shared<const os::Mapping>(
      *file_, static_cast<std::size_t>(want));
  std::lock_guard lock(mu_);
  map_ = std::move(map); // live snapshots keep the old mapping alive
}

void Pager::adopt_newer_commit(std::uint64_t file_size) {
  if (sync_failed_) // the failed commit's meta may be in the file: not ours
    return;
  std::shared_ptr<const os::Mapping> map;
  std::uint64_t have = 0;
  {
    std::lock_guard lock(mu_);
    if (in_flight_) // ours, not durable yet; and no other open can commit
      return;
    map = map_;
    have = current_.txn_id;
  }
  std::optional<Meta> best;
  for (std::uint32_t slot = 0; slot < 2; ++slot) {
    // Both meta pages lie inside the file, and so inside the mapping. A
    // page being rewritten reads torn and fails its CRC: skipped.
    const std::uint8_t* raw = map->data() + std::size_t{slot} * page_size_;
    // Nearly always nothing is newer: skip the CRC then.
    if (get_u64(raw + fmt::meta::kTxnId) <= have)
      continue;
    MetaCandidate c = decode_meta(raw);
    const Meta& m = c.meta;
    // A newer build's commit: building on an older one would undo it.
    if (c.magic && c.crc_ok && !c.readable_version())
      throw unsupported(path(), c.version);
    // The other process wrote the pages before the meta page, so its
    // commit is complete here unless a crash cut its sync short.
    if (c.magic && c.crc_ok && c.readable_version() &&
        c.page_size == page_size_ && m.txn_id % 2 == slot &&
        (!best || m.txn_id > best->txn_id) && c.fields_in_range() &&
        commit_complete(*file_, file_size, raw, page_size_, c) &&
        read_overlay(raw, page_size_, c))
      best = m;
  }
  if (!best)
    return;
  if (std::uint64_t{best->page_count} * page_size_ > map->size())
    remap(file_->size()); // grown by the other process past our mapping
  std::lock_guard lock(mu_);
  // A commit of ours may have started since the check above: its meta
  // page may be the one just read, not durable yet.
  if (best->txn_id > current_.txn_id && !in_flight_)
    current_ = *best;
}

Pages Pager::acquire() {
  for (std::uint64_t tried = 0;;) {
    // A file shrunk underneath must give an error here, not SIGBUS later:
    // its size is read before anything touches the mapping, the meta pages
    // included.
    std::uint64_t size = file_->size();
    if (size >= 2 * std::uint64_t{page_size_})
      adopt_newer_commit(size);
    Pages snap = [&] {
      std::lock_guard lock(mu_);
      auto it = std::find_if(readers_.begin(), readers_.end(), [&](auto& r) {
        return r.first == current_.txn_id;
      });
      if (it != readers_.end())
        ++it->second;
      else
        readers_.emplace_back(current_.txn_id, 1);
      publish_oldest();
      return Pages(*this, current_, map_);
    }();
    const std::uint64_t txn = snap.meta().txn_id;
    // A writer that began before this snapshot was published may reuse
    // pages freed by commit txn + 1 once commit txn + 2 exists (invariant
    // 3). If the file holds such a commit already, take a newer snapshot
    // (as long as there is one to take).
    if (size >= 2 * std::uint64_t{page_size_} && txn > tried &&
        newest_txn_on_disk(txn + 1) > txn + 1) {
      release(snap);
      tried = txn;
      continue;
    }
    std::uint64_t need = std::uint64_t{snap.meta().page_count} * page_size_;
    if (size < need) {
      // Or grown by another process's commit since `size` was read.
      try {
        size = file_->size();
      } catch (...) {
        release(snap);
        throw;
      }
    }
    if (size < need) {
      release(snap);
      throw_corrupt(path(), static_cast<std::uint32_t>(txn % 2),
                    "file is truncated: " + std::to_string(size) +
                        " bytes, the last commit needs " + std::to_string(need));
    }
    return snap;
  }
}

std::uint64_t Pager::newest_txn_on_disk(std::uint64_t above) const {
  std::shared_ptr<const os::Mapping> map;
  {
    std::lock_guard lock(mu_);
    map = map_;
  }
  std::uint64_t newest = 0;
  for (std::uint32_t slot = 0; slot < 2; ++slot) {
    const std::uint8_t* raw = map->data() + std::size_t{slot} * page_size_;
    if (get_u64(raw + fmt::meta::kTxnId) <= above) // nearly always: no CRC
      continue;
    const MetaCandidate c = decode_meta(raw);
    if (c.magic && c.crc_ok)
      newest = std::max(newest, c.meta.txn_id);
  }
  return newest;
}

std::uint64_t Pager::oldest_local(std::uint64_t below) const noexcept {
  std::uint64_t oldest = below;
  for (const auto& r : readers_)
    oldest = std::min(oldest, r.first);
  return oldest;
}

void Pager::publish_oldest() noexcept {
  if (!reader_table_)
    return;
  const std::uint64_t none = std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t oldest = oldest_local(none);
  reader_table_->publish(oldest == none ? 0 : oldest);
}

void Pager::release(const Pages& snapshot) noexcept {
  std::lock_guard lock(mu_);
  auto it = std::find_if(readers_.begin(), readers_.end(), [&](auto& r) {
    return r.first == snapshot.meta().txn_id;
  });
  if (it != readers_.end() && --it->second == 0) {
    *it = readers_.back();
    readers_.pop_back();
    publish_oldest();
  }
}

bool Pager::make_durable() {
  std::uint64_t newest;
  {
    std::lock_guard lock(mu_);
    if (in_flight_)
      return false;
    newest = current_.txn_id;
  }
  if (options_.durability == Durability::Normal && durable_txn_ != newest) {
    sync();
    durable_txn_ = newest;
  }
  return true;
}

std::uint64_t Pager::shrink(std::uint64_t since) {
  // Both meta pages must be durable before the pages they do not need can
  // go.
  if (!make_durable())
    return 0;
  std::uint32_t pages = 0;
  {
    std::lock_guard lock(mu_);
    for (std::uint32_t slot = 0; slot < 2; ++slot) {
      const MetaCandidate c = decode_meta(map_->data() + std::size_t{slot} * page_size_);
      if (!c.magic || !c.crc_ok)
        return 0;
      pages = std::max(pages, c.meta.page_count);
    }
    if (oldest_local(since) < since ||
        (reader_table_ && reader_table_->others() > 0))
      return 0;
  }
  const std::uint64_t size = std::uint64_t{pages} * page_size_;
  if (size >= file_size_)
    return 0;
  file_->truncate(size);
  const std::uint64_t given = file_size_ - size;
  file_size_ = size;
  return given;
}

std::uint64_t Pager::oldest_reader(std::uint64_t below) const {
  std::lock_guard lock(mu_);
  const std::uint64_t oldest = oldest_local(below);
  return reader_table_ ? reader_table_->oldest(oldest) : oldest;
}

std::unique_ptr<std::uint8_t[]> Pager::take_buffer() {
  if (spare_buffers_.empty())
    return std::make_unique_for_overwrite<std::uint8_t[]>(page_size_);
  auto buf = std::move(spare_buffers_.back());
  spare_buffers_.pop_back();
  return buf;
}

void Pager::give_buffer(std::unique_ptr<std::uint8_t[]> buf) noexcept {
  if (buf && spare_buffers_.size() < kMaxSpareBuffers) {
    try {
      spare_buffers_.push_back(std::move(buf));
    } catch (...) { // out of memory: just free it
    }
  }
}

bool Pager::known_good(std::uint32_t pgno, std::uint32_t crc) const noexcept {
  std::uint64_t want = (std::uint64_t{pgno} << 32) | crc;
  return good_[pgno % kGoodSlots].load(std::memory_order_relaxed) == want;
}

void Pager::mark_good(std::uint32_t pgno, std::uint32_t crc) const noexcept {
  good_[pgno % kGoodSlots].store((std::uint64_t{pgno} << 32) | crc,
                                 std::memory_order_relaxed);
}

void Pager::begin_write(std::chrono::steady_clock::time_point deadline) {
  using Clock = std::chrono::steady_clock;
  // Polled, as SQLite's busy handler does: flock cannot time out, and a
  // lock held for a commit is usually let go within milliseconds.
  for (auto nap = std::chrono::microseconds(500); !lock_file_->try_lock();
       nap = std::min<std::chrono::microseconds>(2 * nap, std::chrono::milliseconds(20))) {
    const auto now = Clock::now();
    if (now >= deadline)
      throw_busy(path() + ": another open of the file holds the write lock",
                 options_.busy_timeout);
    std::this_thread::sleep_for(std::min<Clock::duration>(nap, deadline - now));
  }
}

void Pager::end_write() noexcept { lock_file_->unlock(); }

void Pager::check_writable() const {
  if (options_.read_only)
    throw Error(ErrorCode::ReadOnly, path() + ": opened read-only");
  if (sync_failed_)
    throw Error(ErrorCode::IO, path() + ": an earlier sync failed; reopen "
                                        "the file before writing again");
}

void Pager::grow(std::uint64_t needed, std::uint64_t commit_bytes) {
  if (needed <= file_size_)
    return;
  // Another open of the file may have grown it since we looked (we hold
  // the write lock now): what it wrote there must not be zeroed below.
  file_size_ = file_->size();
  std::uint64_t target = needed;
  if (needed > file_size_) {
    // Grow in steps of 1/32 of the file, 1 MiB to 8 MiB: allocation stays
    // rare (an 8 MiB posix_fallocate costs little beside writing 8 MiB),
    // and the unused tail stays under 8 MiB (it counts in klite-bench W6).
    const std::uint64_t step = std::clamp(file_size_ / 32, kMiB, 8 * kMiB);
    target = std::max(needed, file_size_ + step);
    target = (target + page_size_ - 1) / page_size_ * page_size_;
    file_->allocate(target);
    // posix_fallocate leaves the blocks "unwritten" (ext4, XFS): the first
    // write into each changes extent metadata, which the commit's
    // fdatasync then pushes through the file system's journal too, a fixed
    // cost per sync (~0.1-0.3 ms here). Zeros written once now, and flushed
    // by this commit's sync, spare the small Full commits that follow; a
    // larger commit or a Normal sync, which pays that cost once for much
    // data, would only pay the zeros' bytes on top.
    if (options_.durability == Durability::Full && commit_bytes < kZeroFillBelow)
      file_->write_zeros(file_size_, target - file_size_);
    file_size_ = target;
  }
  bool remap_needed;
  {
    std::lock_guard lock(mu_);
    remap_needed = map_->size() < target;
  }
  if (remap_needed)
    remap(target);
}

void Pager::write_commit(const Meta& meta, DirtyMap& dirty,
                         std::span<const std::uint32_t> freed) {
  check_writable();
  {
    std::lock_guard lock(mu_);
    in_flight_ = meta;
  }
  try {
    write_pages(meta, dirty, freed);
  } catch (...) {
    std::lock_guard lock(mu_);
    in_flight_.reset();
    throw;
  }
}

void Pager::write_pages(const Meta& meta, DirtyMap& dirty,
                        std::span<const std::uint32_t> freed) {
  grow(std::uint64_t{meta.page_count} * page_size_,
       dirty.size() * std::uint64_t{page_size_});

  // The writes in file order: each run of consecutive fresh pages is one
  // pwritev; each changed range of a committed data page one pwrite.
  struct Write {
    std::uint64_t off;
    std::size_t first, count; // into `parts`
    std::uint32_t bytes;
  };
  std::vector<std::uint32_t> order;
  order.reserve(dirty.size());
  for (auto& [pgno, page] : dirty)
    order.push_back(pgno);
  std::sort(order.begin(), order.end());
  std::vector<os::File::Span> parts;
  std::vector<Write> writes;
  auto write = [&](std::uint64_t off, const std::uint8_t* p, std::uint32_t n,
                   bool joins) {
    if (joins && !writes.empty() &&
        writes.back().off + writes.back().bytes == off) {
      ++writes.back().count;
      writes.back().bytes += n;
    } else {
      writes.push_back({off, parts.size(), 1, n});
    }
    parts.push_back({p, n});
  };

  // Durability Full: a commit small enough lists what it wrote in the meta
  // page and syncs once, after the meta page; a larger one syncs its pages
  // before it writes the meta page, and again after (FORMAT.md section 12).
  // Normal lists the ranges of every commit since the last sync (they all
  // must have reached the disk for this one to be whole), and syncs before
  // the meta page if they are too many. The list leaves out what a later
  // commit may still write: the free space and seal fields of a data page
  // that stays its stream's tail.
  const Durability mode = options_.durability;
  // What stays of the list so far; unsynced_ itself changes only once
  // this commit's meta page is written (a failed commit frees nothing).
  std::uint64_t listed_bytes = 0;
  const std::vector<CommitRange> earlier =
      mode == Durability::Normal ? without_freed(freed, listed_bytes)
                                 : std::vector<CommitRange>{};
  std::vector<CommitRange> ranges;
  // Until the list outgrows its caps (commit_txn keeps the earlier ranges
  // within them; checked here too, since the meta page must hold them).
  bool listed = mode != Durability::Off &&
                earlier.size() <= fmt::meta::max_ranges(page_size_, meta.overlay_size());
  auto list = [&](std::uint64_t off, const std::uint8_t* p, std::uint32_t n) {
    if (!listed)
      return; // no CRCs for a list that will not be written
    listed_bytes += n;
    if (!ranges.empty() && ranges.back().offset + ranges.back().length == off)
      ranges.back().length += n;
    else
      ranges.push_back({off, n, 0});
    ranges.back().crc = crc32c::extend(ranges.back().crc, p, n);
    listed = listed_bytes <= kMaxListedBytes &&
             earlier.size() + ranges.size() <=
                 fmt::meta::max_ranges(page_size_, meta.overlay_size());
  };

  bool last_fresh = false;
  for (std::uint32_t pgno : order) {
    DirtyPage& page = dirty.at(pgno);
    std::uint8_t* p = page.buf.get();
    std::uint64_t off = std::uint64_t{pgno} * page_size_;
    if (page.checked) {
      put_u32(p + fmt::checked::kPageNo, pgno);
      put_u64(p + fmt::checked::kTxnId, meta.txn_id);
      put_u32(p + fmt::checked::kCrc, page_crc(p, page_size_));
    }
    if (!page.fresh) {
      // In file order (seal fields are touched after the records before
      // them), as the range list must be.
      std::sort(page.ranges.begin(), page.ranges.end());
      for (auto [lo, hi] : page.ranges) {
        write(off + lo, p + lo, hi - lo, false);
        list(off + lo, p + lo, hi - lo);
      }
    } else {
      write(off, p, page_size_, last_fresh);
      namespace dp = fmt::data;
      if (page.checked || get_u16(p + dp::kEnd) != 0) { // final
        list(off, p, page_size_);
      } else { // an unsealed data page: its stream's tail
        list(off, p, dp::kEnd);
        list(off + dp::kReserved2, p + dp::kReserved2, dp::kNext - dp::kReserved2);
        const std::uint32_t used = std::max<std::uint32_t>(page.used, dp::kHeaderSize);
        list(off + dp::kFirstKey, p + dp::kFirstKey, used - dp::kFirstKey);
      }
    }
    last_fresh = page.fresh;
  }
  if (listed && !earlier.empty()) { // the list is in file order
    std::vector<CommitRange> all(earlier.size() + ranges.size());
    std::merge(earlier.begin(), earlier.end(), ranges.begin(), ranges.end(),
               all.begin(), [](const CommitRange& a, const CommitRange& b) {
                 return a.offset < b.offset;
               });
    // Where one commit's range goes on from another's (a tail page
    // appended to by each), one entry: the list then fills, and forces a
    // sync, half as fast.
    ranges.clear();
    for (const CommitRange& r : all) {
      CommitRange* last = ranges.empty() ? nullptr : &ranges.back();
      if (last && last->offset + last->length == r.offset) {
        last->crc = crc32c::combine(last->crc, r.crc, r.length);
        last->length += r.length;
      } else {
        ranges.push_back(r);
      }
    }
  }
  if (!listed)
    ranges.clear();

  const auto m = std::make_unique_for_overwrite<std::uint8_t[]>(
      fmt::meta::kSize + ranges.size() * fmt::meta::kRangeSize +
      meta.overlay_size());
  const std::size_t meta_size = encode_meta(m.get(), meta, page_size_, ranges);
  // One sync is enough only if the commit before this one is durable:
  // should this one tear, open falls back to it. True after our own
  // commits; not for a commit found on open or made by another process.
  if (mode == Durability::Full && listed && durable_txn_ + 1 != meta.txn_id)
    sync();
  for (const Write& w : writes)
    file_->write_gather(w.off, std::span(parts).subspan(w.first, w.count));
  // The file now holds these bytes, so the next transaction, which reads
  // most of these B+tree and free-list pages, need not check their CRCs
  // (W1 with 100 records per transaction spent ~10% of its time on that).
  for (std::uint32_t pgno : order) {
    const DirtyPage& page = dirty.at(pgno);
    if (page.checked)
      mark_good(pgno, get_u32(page.buf.get() + fmt::checked::kCrc));
  }
  if (mode != Durability::Off && !listed) {
    sync();
    durable_txn_ = base_txn_;
  }
  try {
    file_->write_at((meta.txn_id % 2) * page_size_, m.get(), meta_size);
  } catch (const Error&) {
    sync_failed_ = true; // part of the meta page may be in the file
    throw;
  }
  // Normal, should commit_txn's bound have been short: this meta page
  // replaced that of base, just made durable, so make this one durable
  // too before anything else may reuse a page the other meta page needs.
  if (mode == Durability::Normal && !listed && meta.txn_id == base_txn_ + 2) {
    sync();
    durable_txn_ = meta.txn_id;
  }
  written_txn_ = meta.txn_id;
  if (mode == Durability::Normal) {
    unsynced_bytes_ = listed ? listed_bytes : 0;
    unsynced_ = std::move(ranges);
  }
}

std::vector<CommitRange>
Pager::without_freed(std::span<const std::uint32_t> freed,
                     std::uint64_t& bytes) const {
  // unsynced_ without the ranges on pages this commit frees, and its bytes:
  // no state from it on reaches them, and once they may be reused their
  // bytes change. A range over several pages is cut around them, its
  // pieces' CRCs taken from the file (through the mapping: the bytes are
  // as written).
  bytes = unsynced_bytes_;
  if (freed.empty())
    return unsynced_;
  std::vector<std::uint32_t> pages(freed.begin(), freed.end());
  std::sort(pages.begin(), pages.end());
  auto is_freed = [&](std::uint64_t off) {
    return std::binary_search(pages.begin(), pages.end(), off / page_size_);
  };
  std::shared_ptr<const os::Mapping> map;
  {
    std::lock_guard lock(mu_);
    map = map_;
  }
  std::vector<CommitRange> kept;
  kept.reserve(unsynced_.size());
  for (const CommitRange& r : unsynced_) {
    const std::uint64_t end = r.offset + r.length;
    const auto first = std::lower_bound(pages.begin(), pages.end(),
                                        r.offset / page_size_);
    if (first == pages.end() || *first > (end - 1) / page_size_) {
      kept.push_back(r); // nearly always
      continue;
    }
    bytes -= r.length;
    auto page_end = [&](std::uint64_t off) {
      return std::min(end, (off / page_size_ + 1) * page_size_);
    };
    for (std::uint64_t lo = r.offset; lo < end;) {
      if (is_freed(lo)) {
        lo = page_end(lo);
        continue;
      }
      std::uint64_t hi = page_end(lo);
      while (hi < end && !is_freed(hi))
        hi = page_end(hi);
      const auto n = static_cast<std::uint32_t>(hi - lo);
      kept.push_back({lo, n, crc32c::value(map->data() + lo, n)});
      bytes += n;
      lo = hi;
    }
  }
  return kept;
}

void Pager::sync() {
  // Once a sync fails, what reached the disk is unknown: sync_failed_.
  try {
    file_->sync();
  } catch (const Error&) {
    sync_failed_ = true;
    throw;
  }
  last_sync_ = std::chrono::steady_clock::now();
  unsynced_.clear();
  unsynced_bytes_ = 0;
}

std::uint64_t Pager::commit_txn(std::uint64_t base, const DirtyMap& dirty,
                                std::size_t extra_pages,
                                std::size_t freed_pages, std::size_t overlay) {
  base_txn_ = base;
  if (options_.durability != Durability::Normal)
    return base + 1;
  if (own_unsynced(base)) {
    // At most the ranges write_pages will list: a fresh page gives up to 3
    // (a tail data page leaves out its seal fields), a committed one those
    // it was touched in, an extra page (the free list's) a whole page, and
    // each freed page may cut a range of the list in two.
    std::size_t ranges = extra_pages + freed_pages;
    std::uint64_t bytes = std::uint64_t{extra_pages} * page_size_;
    for (const auto& [pgno, page] : dirty) {
      ranges += page.fresh ? 3 : page.ranges.size();
      if (page.fresh)
        bytes += page_size_;
      for (auto [lo, hi] : page.ranges)
        bytes += hi - lo;
    }
    // Our commit, not durable yet: the other meta page holds the durable
    // one, which open must be able to fall back to. So this commit goes
    // into base's meta page, if it can list everything since the sync
    // (else it would sync before its meta page, which would then replace
    // the newest durable commit, base): otherwise a sync makes base
    // durable first.
    if (unsynced_.size() + ranges <= fmt::meta::max_ranges(page_size_, overlay) &&
        unsynced_bytes_ + bytes <= kMaxListedBytes)
      return base + 2;
  } else if (durable_txn_ == base) {
    return base + 1;
  }
  // Or a commit found on open or made by another open: make it durable
  // before this one can overwrite the meta page of the one before it.
  sync();
  durable_txn_ = base;
  return base + 1;
}

std::uint64_t Pager::reuse_bound(std::uint64_t base) const noexcept {
  // Normal: until the next sync, open may fall back to the newest durable
  // commit, which can reach the pages that commits since have freed. (Its
  // range list names no page freed before it: write_pages leaves those out.)
  if (options_.durability == Durability::Normal && own_unsynced(base))
    return std::min<std::uint64_t>(base - 1, durable_txn_);
  return base - 1;
}

void Pager::finish_commit(const Meta& meta) {
  const auto interval = options_.sync_interval;
  const Durability mode = options_.durability;
  if (mode == Durability::Full ||
      (mode == Durability::Normal &&
       std::chrono::steady_clock::now() - last_sync_ >= interval)) {
    try {
      sync();
    } catch (...) {
      std::lock_guard lock(mu_);
      in_flight_.reset();
      throw;
    }
    durable_txn_ = meta.txn_id;
  }
  std::lock_guard lock(mu_);
  in_flight_.reset();
  current_ = meta;
}

Pages Pager::in_flight() {
  std::lock_guard lock(mu_);
  return Pages(*this, in_flight_.value_or(current_), map_);
}

// ---------------------------------------------------------------------------
// Writer

Writer::Writer(Pages base) : pages_(std::move(base)) {
  pages_.set_dirty(&dirty_);
  pages_.meta().txn_id += 1;
  free_ = std::make_unique<FreeList>(*this);
}

Writer::~Writer() {
  for (auto& [pgno, page] : dirty_)
    pages_.pager().give_buffer(std::move(page.buf));
}

std::uint8_t* Writer::install(std::uint32_t pgno, bool fresh, bool checked) {
  if (epoch_ != 0)
    added_.push_back(pgno); // first: rollback() may then find it missing
  DirtyPage& page = dirty_[pgno];
  page.buf = pages_.pager().take_buffer(); // contents: the caller's job
  page.fresh = fresh;
  page.checked = checked;
  page.epoch = epoch_;
  return page.buf.get();
}

void Writer::preserve(std::uint32_t pgno, const DirtyPage& page) {
  if (epoch_ == 0 || page.epoch == epoch_)
    return; // no savepoint, or made or saved since it
  DirtyPage copy;
  copy.buf = pages_.pager().take_buffer();
  std::memcpy(copy.buf.get(), page.buf.get(), page_size());
  copy.fresh = page.fresh;
  copy.checked = page.checked;
  copy.ranges = page.ranges;
  copy.used = page.used;
  copy.epoch = page.epoch;
  undo_.emplace(pgno, std::move(copy));
  dirty_.at(pgno).epoch = epoch_;
}

void Writer::savepoint() {
  saved_free_ = std::make_unique<FreeList>(*free_);
  saved_meta_ = meta();
  epoch_ = ++epochs_;
}

void Writer::rollback() noexcept {
  Pager& pager = pages_.pager();
  for (std::uint32_t pgno : added_) {
    auto it = dirty_.find(pgno);
    if (it != dirty_.end()) {
      pager.give_buffer(std::move(it->second.buf));
      dirty_.erase(it);
    }
  }
  // Node handles move the saved pages back without allocating; dirty_ has
  // held this many pages before, so it needs no rehash either.
  while (!undo_.empty()) {
    auto node = undo_.extract(undo_.begin());
    auto it = dirty_.find(node.key());
    if (it != dirty_.end()) {
      pager.give_buffer(std::move(it->second.buf));
      dirty_.erase(it);
    }
    dirty_.insert(std::move(node));
  }
  meta() = saved_meta_;
  free_ = std::move(saved_free_);
  added_.clear();
  pool_.clear(); // taken from the free list just restored
  epoch_ = 0;
}

void Writer::release() noexcept {
  for (auto& [pgno, page] : undo_)
    pages_.pager().give_buffer(std::move(page.buf));
  undo_.clear();
  added_.clear();
  saved_free_.reset();
  epoch_ = 0;
}

std::uint32_t Writer::take_page() {
  if (!pool_.empty())
    return pool_.extract(pool_.begin()).value();
  if (auto pg = free_->take())
    return *pg;
  Meta& m = meta();
  if (m.page_count == std::numeric_limits<std::uint32_t>::max())
    throw Error(ErrorCode::TooBig, pages_.path() + ": the file has the "
                                                   "maximum number of pages");
  return m.page_count++;
}

std::uint8_t* Writer::alloc(std::uint32_t& pgno, bool checked) {
  pgno = take_page();
  std::uint8_t* p = install(pgno, true, checked);
  std::memset(p, 0, page_size());
  return p;
}

std::uint8_t* Writer::alloc_unzeroed(std::uint32_t& pgno) {
  pgno = take_page();
  return install(pgno, true, false);
}

std::uint8_t* Writer::cow(std::uint32_t& pgno) {
  auto it = dirty_.find(pgno);
  if (it != dirty_.end()) {
    preserve(pgno, it->second);
    return it->second.buf.get();
  }
  const std::uint8_t* old = pages_.get(pgno);
  std::uint32_t fresh = take_page();
  std::uint8_t* p = install(fresh, true, true);
  std::memcpy(p, old, page_size());
  free_->release(pgno);
  pgno = fresh;
  return p;
}

std::uint8_t* Writer::modify_in_place(std::uint32_t pgno) {
  auto it = dirty_.find(pgno);
  if (it != dirty_.end()) {
    preserve(pgno, it->second);
    return it->second.buf.get();
  }
  const std::uint8_t* old = pages_.get(pgno);
  std::uint8_t* p = install(pgno, false, false);
  std::memcpy(p, old, page_size());
  return p;
}

void Writer::touch(std::uint32_t pgno, std::uint32_t lo, std::uint32_t hi) {
  DirtyPage& page = dirty_.at(pgno);
  preserve(pgno, page);
  if (page.fresh) { // written whole
    page.used = std::max(page.used, hi);
    return;
  }
  if (lo == hi)
    return;
  if (!page.ranges.empty() && page.ranges.back().second == lo)
    page.ranges.back().second = hi;
  else
    page.ranges.emplace_back(lo, hi);
}

void Writer::free(std::uint32_t pgno) {
  auto it = dirty_.find(pgno);
  if (it != dirty_.end()) {
    bool fresh = it->second.fresh;
    if (epoch_ != 0 && it->second.epoch != epoch_) // kept for rollback()
      undo_.insert(dirty_.extract(it));
    else {
      pages_.pager().give_buffer(std::move(it->second.buf));
      dirty_.erase(it);
    }
    if (fresh) {
      free_->recycle(pgno);
      return;
    }
  }
  free_->release(pgno);
}

void Writer::take_free_pages() {
  while (auto pg = free_->take())
    pool_.insert(*pg);
}

void Writer::give_back(std::uint32_t end) {
  // Highest first: the free list hands recycled pages out last in first
  // out, so the pages its own save() takes are the lowest.
  for (auto it = pool_.rbegin(); it != pool_.rend(); ++it)
    if (*it < end)
      free_->recycle(*it);
  pool_.clear();
  meta().page_count = end;
}

void Writer::write_commit() {
  meta().txn_id = pages_.pager().commit_txn(
      meta().txn_id - 1, dirty_, free_->save_pages_bound(),
      free_->freed_bound(), meta().overlay_size());
  const std::vector<std::uint32_t> freed = free_->save();
  pages_.pager().write_commit(meta(), dirty_, freed);
}

void Writer::commit() {
  write_commit();
  pages_.pager().finish_commit(meta());
}

} // namespace klite
