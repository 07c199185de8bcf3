// The value chain: a stream's records, back to back in a doubly-linked list
// of data pages (format.h, "Data page" and "Record"), found by key through
// the stream's sparse key index (one entry per page where a record starts).
#pragma once

#include "engine/catalog.h"
#include "engine/coding.h"
#include "engine/pager.h"

#include <klite/engine.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace klite::chain {

// The CRCs of many records (format.h, "Record": over key, timestamp, the
// header's varints, then the body), computed together so that
// crc32c::extend_many interleaves them: a record of ~100 bytes on its own
// is one chain of dependent `crc32` steps that leaves the unit two thirds
// idle. Reading checks a page's records this way, appending computes them.
class RecordCrcs {
public:
  // Records per compute(): enough for extend_many's four streams several
  // times over, few enough that their bytes are still in the cache.
  static constexpr std::size_t kCapacity = 32;
  // Bytes add() takes between the timestamp and the body: the header's
  // varints, and for a writer the headers' length varint too.
  static constexpr std::size_t kMaxHead = 32;

  // Queues a record whose CRC input is key, ts, head[0, head_len), then
  // body1 and body2, which must stay readable until compute().
  // REQUIRES: !full(), head_len <= kMaxHead.
  void add(std::uint64_t key, std::uint64_t ts, const std::uint8_t* head,
           std::size_t head_len, std::string_view body1,
           std::string_view body2 = {}) noexcept {
    std::uint8_t* pre = prefix_[n_].data();
    coding::put_u64(pre, key);
    coding::put_u64(pre + 8, ts);
    coding::copy_short(pre + 16, head, head_len);
    crc_[n_] = 0;
    data_[0][n_] = pre;
    len_[0][n_] = 16 + head_len;
    data_[1][n_] = body1.data();
    len_[1][n_] = body1.size();
    data_[2][n_] = body2.data();
    len_[2][n_] = body2.size();
    used_[1] |= !body1.empty();
    used_[2] |= !body2.empty();
    ++n_;
  }
  std::size_t size() const noexcept { return n_; }
  bool full() const noexcept { return n_ == kCapacity; }
  // Computes the CRCs of the records queued since clear().
  void compute() noexcept;
  std::uint32_t crc(std::size_t i) const noexcept { return crc_[i]; }
  void clear() noexcept;

private:
  // Three passes over all records: prefixes (key, timestamp, head), body1s,
  // body2s; each is one extend_many over arrays of pointers and lengths.
  static constexpr std::size_t kPasses = 3;
  std::array<std::array<std::uint8_t, 16 + kMaxHead>, kCapacity> prefix_;
  std::array<std::uint32_t, kCapacity> crc_;
  std::array<std::array<const void*, kCapacity>, kPasses> data_;
  std::array<std::array<std::size_t, kCapacity>, kPasses> len_;
  std::array<bool, kPasses> used_ = {true}; // passes with bytes to read
  std::size_t n_ = 0;
};

// The oldest timestamp a stream's max_age keeps at `now`: records with a
// smaller one are due to expire (0: all are kept).
inline std::uint64_t age_cutoff(std::uint64_t now, std::uint64_t max_age) {
  return now > max_age ? now - max_age : 0;
}

// A position in one stream of a snapshot. Holds page numbers, not
// pointers, so it survives the writer's own later changes to other pages.
// With `now` > 0 it passes over the records that are due to expire by then,
// as if they were not there: those whose TTL ran out (Record::expires <=
// now) and those older than the stream's max_age allows, which the next
// commit to the stream expires; with 0 it shows every live record.
class Reader {
public:
  Reader(const Pages& pages, const catalog::Descriptor& d, bool verify,
         std::uint64_t now = 0)
      : pages_(pages), d_(d), verify_(verify), now_(now),
        oldest_(oldest_kept(d, now)) {}

  // Switches to another stream of the same snapshot; not positioned.
  void reset(const catalog::Descriptor& d, std::uint64_t now) {
    d_ = d;
    now_ = now;
    oldest_ = oldest_kept(d, now);
    valid_ = false;
  }

  // Each positioning call returns valid(). One that throws (a damaged
  // page) leaves the reader not valid, never showing a half-read record.
  bool seek(std::uint64_t key) { // first live record with key >= `key`
    return guard([&] { return forward(do_seek(key)); });
  }
  // Exactly the record `key`, if it is live (and its TTL has not run out).
  bool find(std::uint64_t key) {
    return guard([&] {
      return do_seek(key) && rec_.key == key && !hidden() ? true : invalid();
    });
  }
  bool seek_before(std::uint64_t key) {
    return guard([&] { return backward(do_seek_before(key)); });
  }
  // First live record with timestamp >= `ts`: a binary search over keys,
  // since timestamps never decrease along a stream.
  bool seek_time(std::uint64_t ts) {
    return guard([&] { return forward(do_seek_time(ts)); });
  }
  bool first() { return seek(d_.first_key); }
  bool last() { return seek_before(d_.next_key); }
  bool next() {
    return guard([&] { return forward(do_next()); });
  }
  bool prev() {
    return guard([&] { return backward(do_prev()); });
  }
  bool valid() const noexcept { return valid_; }
  const Record& record() const noexcept { return rec_; }

private:
  template <class F> bool guard(F&& f) {
    try {
      return f();
    } catch (...) {
      valid_ = false;
      throw;
    }
  }
  static std::uint64_t oldest_kept(const catalog::Descriptor& d,
                                   std::uint64_t now) {
    return now && d.max_age ? age_cutoff(now, d.max_age) : 0;
  }
  bool hidden() const noexcept {
    return rec_.timestamp < oldest_ ||
           (rec_.expires != 0 && rec_.expires <= now_);
  }
  // Moves on past hidden records. Those too old for max_age are a prefix
  // of the stream (timestamps never decrease along it), so a binary search
  // passes them.
  bool forward(bool ok) {
    if (ok && rec_.timestamp < oldest_)
      ok = do_seek_time(oldest_);
    while (ok && hidden())
      ok = do_next();
    return ok;
  }
  bool backward(bool ok) {
    while (ok && hidden()) {
      if (rec_.timestamp < oldest_) // and so is every record before it
        return invalid();
      ok = do_prev();
    }
    return ok;
  }
  bool do_seek(std::uint64_t key);
  bool do_seek_before(std::uint64_t key);
  bool do_seek_time(std::uint64_t ts);
  bool do_next();
  bool do_prev();

  struct Start {
    std::uint32_t off;
    std::uint32_t crc_ok; // 1: verify_page() checked its CRC
    std::uint64_t ts;
  };
  // Positions on the page holding `key` (REQUIRES: a live key) and parses
  // record starts up to it; returns its index on the page.
  std::size_t locate(std::uint64_t key);
  // Makes `pgno` the current page; its record starts are parsed lazily.
  void enter(std::uint32_t pgno);
  // The current page's bytes. A read snapshot's pages stay put; the
  // writer's dirty copies may come and go, so its view asks every time.
  const std::uint8_t* page() const {
    return pages_.has_dirty() ? pages_.get(page_) : p_;
  }
  // Parses record starts until starts_[idx] exists; false if the page has
  // fewer records. `quiet`: stop at a damaged header instead of throwing,
  // leaving the error for a later call that needs that record.
  bool ensure(std::size_t idx, bool quiet = false);
  bool load(std::size_t idx);
  // A scan about to read records [from, ...) of the page: checks the CRCs
  // of all of them that lie within the page in one interleaved pass.
  void verify_page(std::size_t from);
  bool invalid() { return valid_ = false; }
  [[noreturn]] void corrupt(std::uint32_t pgno, const std::string& what) const;
  // Reads the link `name` at `field` of page pgno; Corrupt (naming pgno) if
  // it points outside the file.
  std::uint32_t link(std::uint32_t pgno, const std::uint8_t* field,
                     const char* name) const;

  const Pages& pages_;
  catalog::Descriptor d_;
  bool verify_;
  std::uint64_t now_;
  std::uint64_t oldest_; // records with an older timestamp are hidden
  bool valid_ = false;
  std::uint32_t page_ = 0;
  const std::uint8_t* p_ = nullptr; // page_'s bytes (see page())
  bool v3_ = false;                 // page_ has format::data::kRecordsV3
  // The next page of the chain, which a scan prefetches while it reads
  // this one, as far into it as it has come into this one; null if none.
  const std::uint8_t* ahead_ = nullptr; // the page a scan reads next
  std::uint32_t ahead_done_ = 0;         // bytes of ahead_ prefetched
  bool ahead_back_ = false;              // ahead_ is the prev page
  // Pages a scan has stepped onto; after a few it is a long scan, and
  // asks for the page tables in bulk (Pages::prefault).
  std::uint32_t steps_ = 0;
  void step_onto(std::uint32_t pgno) {
    if (++steps_ >= 4)
      pages_.prefault(pgno);
  }
  std::uint64_t page_first_key_ = 0;
  std::vector<Start> starts_; // record starts parsed so far on page_
  std::uint32_t parse_off_ = 0; // where the next record start would be
  std::uint32_t parse_end_ = 0; // end of the page's data
  std::uint64_t parse_ts_ = 0;  // timestamp of the last start parsed
  std::size_t idx_ = 0;
  std::size_t verified_end_ = 0; // verify_page() covered starts_[0, this)
  Record rec_;
  std::string buf_; // the body of a record that spans pages
  // verify_page()'s scratch: the records queued in crcs_, in its order.
  struct Check {
    std::uint32_t index;  // in starts_
    std::uint32_t stored; // the CRC the record's header holds
  };
  std::array<Check, RecordCrcs::kCapacity> checks_;
  RecordCrcs crcs_;
};

// Encodes headers as stored in a record. Throws TooBig past the limit.
std::string encode_headers(std::span<const Header> headers);
// Decodes a header block; throws Corrupt if it does not decode.
std::vector<Header> decode_headers(std::string_view block);

// Appends one record with key d.next_key, timestamp `ts` (REQUIRES:
// ts >= d.last_ts) and a TTL of `ttl` microseconds (0: none), and updates
// `d`.
void append(Writer& w, catalog::Descriptor& d, std::uint64_t ts,
            std::string_view header_block, std::string_view value,
            std::uint64_t ttl = 0);
// The same as append(w, d, ts, {}, v, ttl) for each v of `values` in
// turn, but faster: the tail page is looked up once, the CRCs are
// computed together.
void append_batch(Writer& w, catalog::Descriptor& d, std::uint64_t ts,
                  std::span<const std::string_view> values,
                  std::uint64_t ttl = 0);
// Expires records from the head of the stream: every live record with a
// key below `before`, then more while the live records hold more than
// `max_bytes` payload bytes (0: no such limit). Advances d.first_key,
// subtracts the expired values from d.bytes, and frees every data page no
// live record touches any more, with its key-index entry (the tail page
// stays, so the next append continues on it). Returns how many records it
// expired; clears kHasTtl when no live record is left. Reads their headers
// to count their bytes (Corrupt if damaged), not their values: those go
// unchecked, so damage there does not stop expiry of the records it would
// end anyway.
std::uint64_t expire(Writer& w, catalog::Descriptor& d, std::uint64_t before,
                     std::uint64_t max_bytes);
// VACUUM: copies the stream's data pages, in chain order, to pages newly
// allocated, builds its key index anew on them, frees the old pages and
// updates `d`. The records and their bytes are unchanged.
void relocate(Writer& w, catalog::Descriptor& d);
// Frees every data and index page of the stream.
void destroy(Writer& w, const catalog::Descriptor& d);

} // namespace klite::chain
