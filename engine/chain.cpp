#include "engine/chain.h"

#include "engine/btree.h"
#include "engine/coding.h"
#include "engine/crc32c.h"
#include "engine/errors.h"
#include "engine/format.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace klite::chain {

namespace fmt = format;
namespace dp = format::data;
using namespace coding;

namespace {

// Largest body a valid record can have: value, headers and their length.
constexpr std::uint64_t kMaxBody = kMaxValueSize + kMaxHeadersSize + 10;
// Record::expires of a TTL too long to add to the timestamp.
constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

std::string index_key(std::uint64_t key) {
  std::string k(8, '\0');
  put_u64_be(reinterpret_cast<std::uint8_t*>(k.data()), key);
  return k;
}

std::uint32_t record_crc_start(std::uint64_t key, std::uint64_t ts) {
  std::uint8_t kt[16];
  put_u64(kt, key);
  put_u64(kt + 8, ts);
  return crc32c::value(kt, sizeof kt);
}

// The fixed part of a record: where it is and what its header says.
struct RecordHeader {
  std::uint64_t body_len;
  std::uint64_t ts_delta;
  std::uint64_t ttl; // 0: none
  bool has_headers;
  std::uint32_t crc;
  std::uint32_t size; // bytes of the header itself
};

// `v3`: the page has format::data::kRecordsV3.
bool parse_header_slow(const std::uint8_t* p, std::uint32_t off,
                       std::uint32_t end, bool v3, RecordHeader& h) {
  std::size_t n = get_varint(p + off, p + end, h.body_len);
  std::uint64_t ts_flags;
  std::size_t n2 = n ? get_varint(p + off + n, p + end, ts_flags) : 0;
  if (n2 == 0)
    return false;
  n += n2;
  h.ttl = 0;
  if (v3 && (ts_flags & 2)) {
    const std::size_t n3 = get_varint(p + off + n, p + end, h.ttl);
    if (n3 == 0 || h.ttl == 0)
      return false;
    n += n3;
  }
  if (off + n + 4 > end || h.body_len > kMaxBody)
    return false;
  h.ts_delta = ts_flags >> (v3 ? 2 : 1);
  h.has_headers = ts_flags & 1;
  h.crc = get_u32(p + off + n);
  h.size = static_cast<std::uint32_t>(n + 4);
  return true;
}

// Scans parse every record header, so the common shape (both varints one
// byte: bodies under 128 bytes, equal timestamps, no TTL) is decoded
// inline.
inline bool parse_header(const std::uint8_t* p, std::uint32_t off,
                         std::uint32_t end, bool v3, RecordHeader& h) {
  if (off + 6 <= end && ((p[off] | p[off + 1]) & 0x80) == 0 &&
      !(v3 && (p[off + 1] & 2))) [[likely]] {
    h.body_len = p[off];
    h.ts_delta = p[off + 1] >> (v3 ? 2 : 1);
    h.ttl = 0;
    h.has_headers = p[off + 1] & 1;
    h.crc = get_u32(p + off + 2);
    h.size = 6;
    return true;
  }
  return parse_header_slow(p, off, end, v3, h);
}

} // namespace

// ---------------------------------------------------------------------------
// RecordCrcs

void RecordCrcs::compute() noexcept {
  for (std::size_t k = 0; k < kPasses; ++k)
    if (used_[k])
      crc32c::extend_many(crc_.data(), data_[k].data(), len_[k].data(), n_);
}

void RecordCrcs::clear() noexcept {
  n_ = 0;
  used_ = {true};
}

// ---------------------------------------------------------------------------
// Reader

void Reader::corrupt(std::uint32_t pgno, const std::string& what) const {
  throw_corrupt(pages_.path(), pgno, what);
}

std::uint32_t Reader::link(std::uint32_t pgno, const std::uint8_t* field,
                           const char* name) const {
  std::uint32_t to = get_u32(field);
  if (to < 2 || to >= pages_.meta().page_count)
    corrupt(pgno, std::string(name) + " link to page " + std::to_string(to) +
                      ", outside the file's " +
                      std::to_string(pages_.meta().page_count) + " pages");
  return to;
}

void Reader::enter(std::uint32_t pgno) {
  const std::uint8_t* p = pages_.get(pgno);
  const std::uint32_t ps = pages_.page_size();
  if (p[dp::kType] != fmt::kDataPage)
    corrupt(pgno, "expected a data page, found type " +
                      std::to_string(p[dp::kType]));
  std::uint32_t start = dp::kHeaderSize + get_u16(p + dp::kCont);
  std::uint32_t end =
      pgno == d_.tail ? d_.tail_offset : std::uint32_t{get_u16(p + dp::kEnd)};
  if (end > ps || start > std::max<std::uint32_t>(end, dp::kHeaderSize))
    corrupt(pgno, "data page bounds out of range");
  // Fields no read needs, checked anyway: damage there means damage.
  if ((p[dp::kFlags] & ~dp::kRecordsV3) != 0)
    corrupt(pgno, "data page flags " + std::to_string(p[dp::kFlags]) +
                      " are not known");
  if (get_u16(p + dp::kReserved2) != 0)
    corrupt(pgno, "data page reserved bytes are not zero");
  page_ = pgno;
  p_ = p;
  v3_ = p[dp::kFlags] & dp::kRecordsV3;
  ahead_ = nullptr;
  ahead_done_ = 0;
  ahead_back_ = false;
  if (pgno != d_.tail) { // a bad link is reported when a scan follows it
    const std::uint32_t next = get_u32(p + dp::kNext);
    if (next >= 2 && next < pages_.meta().page_count)
      ahead_ = pages_.get(next);
  }
  page_first_key_ = get_u64(p + dp::kFirstKey);
  starts_.clear();
  if (starts_.capacity() == 0) // one allocation, not one per doubling
    starts_.reserve(std::max<std::uint32_t>(ps / 64, 16));
  verified_end_ = 0;
  parse_off_ = start;
  parse_end_ = end;
  parse_ts_ = get_u64(p + dp::kBaseTs);
}

bool Reader::ensure(std::size_t idx, bool quiet) {
  if (idx < starts_.size())
    return true;
  const std::uint8_t* p = page();
  const std::uint32_t ps = pages_.page_size();
  while (starts_.size() <= idx && parse_off_ < parse_end_) {
    const std::uint32_t off = parse_off_;
    RecordHeader h;
    if (!parse_header(p, off, parse_end_, v3_, h)) {
      if (quiet)
        return false;
      corrupt(page_, "bad record header at offset " + std::to_string(off));
    }
    std::uint64_t next = std::uint64_t{off} + h.size + h.body_len;
    std::uint32_t next_off;
    if (next > ps) { // continues on the next pages: must be the last here
      if (parse_end_ != ps || page_ == d_.tail) {
        if (quiet)
          return false;
        corrupt(page_, "record at offset " + std::to_string(off) +
                           " runs past the end of the chain");
      }
      next_off = parse_end_;
    } else if (next > parse_end_) {
      if (quiet)
        return false;
      corrupt(page_, "record at offset " + std::to_string(off) +
                         " runs past the end of the page's data");
    } else {
      next_off = static_cast<std::uint32_t>(next);
    }
    parse_ts_ += h.ts_delta;
    starts_.push_back(Start{off, 0, parse_ts_});
    parse_off_ = next_off;
  }
  return idx < starts_.size();
}

void Reader::verify_page(std::size_t from) {
  ensure(std::numeric_limits<std::size_t>::max() - 1, true);
  const std::uint8_t* p = page();
  const std::uint32_t ps = pages_.page_size();
  // kCapacity records at a time; a record that spans pages is left to
  // load().
  auto check = [&] {
    crcs_.compute();
    for (std::size_t j = 0; j < crcs_.size(); ++j)
      starts_[checks_[j].index].crc_ok = crcs_.crc(j) == checks_[j].stored;
    crcs_.clear();
  };
  crcs_.clear();
  for (std::size_t i = from; i < starts_.size(); ++i) {
    const Start& s = starts_[i];
    RecordHeader h;
    parse_header(p, s.off, ps, v3_, h);
    if (s.off + h.size + h.body_len > ps)
      continue;
    checks_[crcs_.size()] = Check{static_cast<std::uint32_t>(i), h.crc};
    crcs_.add(page_first_key_ + i, s.ts, p + s.off, h.size - 4,
              {reinterpret_cast<const char*>(p + s.off + h.size),
               static_cast<std::size_t>(h.body_len)});
    if (crcs_.full())
      check();
  }
  check();
  verified_end_ = starts_.size();
}

bool Reader::load(std::size_t idx) {
  idx_ = idx;
  const std::uint64_t key = page_first_key_ + idx;
  if (key >= d_.next_key)
    corrupt(page_, "record " + std::to_string(key) +
                       " is past the stream's last key " +
                       std::to_string(d_.next_key - 1));
  if (key < d_.first_key) // expired
    return invalid();
  const std::uint8_t* p = page();
  const std::uint32_t ps = pages_.page_size();
  const Start& s = starts_[idx];
  RecordHeader h;
  parse_header(p, s.off, ps, v3_, h); // parsed once already in ensure()
  const std::uint32_t body = s.off + h.size;
  std::string_view bytes;
  if (body + h.body_len <= ps) {
    bytes = {reinterpret_cast<const char*>(p + body),
             static_cast<std::size_t>(h.body_len)};
  } else {
    buf_.resize(h.body_len);
    std::size_t have = ps - body;
    std::memcpy(buf_.data(), p + body, have);
    std::uint32_t pg = page_;
    const std::uint8_t* q = p;
    for (std::uint32_t hops = 0; have < h.body_len; ++hops) {
      if (pg == d_.tail || hops > d_.data_pages)
        corrupt(page_, "record " + std::to_string(key) +
                           " runs past the end of the chain");
      std::uint32_t next = link(pg, q + dp::kNext, "next");
      q = pages_.get(next);
      std::size_t want = std::min<std::uint64_t>(h.body_len - have,
                                                 ps - dp::kHeaderSize);
      if (q[dp::kType] != fmt::kDataPage || get_u16(q + dp::kCont) != want ||
          get_u32(q + dp::kPrev) != pg)
        corrupt(next, "continuation of record " + std::to_string(key) +
                          " does not match");
      std::memcpy(buf_.data() + have, q + dp::kHeaderSize, want);
      have += want;
      pg = next;
    }
    bytes = buf_;
  }
  if (verify_ && !(idx < verified_end_ && s.crc_ok)) {
    std::uint32_t crc = record_crc_start(key, s.ts);
    crc = crc32c::extend(crc, p + s.off, h.size - 4);
    crc = crc32c::extend(crc, bytes.data(), bytes.size());
    if (crc != h.crc)
      corrupt(page_, "record " + std::to_string(key) + " checksum mismatch");
  }
  rec_.key = key;
  rec_.timestamp = s.ts;
  rec_.expires = h.ttl == 0 ? 0 : s.ts + std::min(h.ttl, kNever - s.ts);
  rec_.raw_headers = {};
  if (h.has_headers) {
    std::uint64_t len;
    auto b = reinterpret_cast<const std::uint8_t*>(bytes.data());
    std::size_t n = get_varint(b, b + bytes.size(), len);
    if (n == 0 || len > bytes.size() - n)
      corrupt(page_, "record " + std::to_string(key) + " has a bad header block");
    rec_.raw_headers = bytes.substr(n, len);
    bytes.remove_prefix(n + len);
    try { // so that Record::headers() cannot fail later
      decode_headers(rec_.raw_headers);
    } catch (const Error&) {
      corrupt(page_, "record " + std::to_string(key) +
                         " has a header block that does not decode");
    }
  }
  rec_.value = bytes;
  return valid_ = true;
}

std::size_t Reader::locate(std::uint64_t key) {
  auto e = btree::floor(pages_, d_.index_root, index_key(key));
  if (!e || e->value.size() != 4 || e->key.size() != 8)
    corrupt(e ? e->page : d_.index_root,
            "key index has no valid entry for key " + std::to_string(key));
  std::uint32_t pgno =
      get_u32(reinterpret_cast<const std::uint8_t*>(e->value.data()));
  // The walk to the key is a chain of dependent loads through the page;
  // fetching its lines before even the header arrives lets all the misses
  // overlap. Only as far as the key probably lies: the average record
  // size (values plus ~7 header bytes) times its index on the page, with
  // a margin. A wrong guess costs time, never correctness.
  {
    const std::uint8_t* p = pages_.get(pgno);
    const std::uint32_t ps = pages_.page_size();
    const std::uint64_t first = get_u64_be(
        reinterpret_cast<const std::uint8_t*>(e->key.data()));
    std::uint64_t reach = ps;
    if (key >= first && key - first < ps && d_.records() > 0) {
      const std::uint64_t avg = d_.bytes / d_.records() + 8;
      reach = dp::kHeaderSize + (key - first + 1) * avg * 5 / 4 + 128;
    }
    reach = std::min<std::uint64_t>(reach, ps);
    for (std::uint32_t off = 0; off < reach; off += 64)
      __builtin_prefetch(p + off);
  }
  enter(pgno);
  if (page_first_key_ != get_u64_be(reinterpret_cast<const std::uint8_t*>(
                             e->key.data())) ||
      key < page_first_key_ || !ensure(key - page_first_key_))
    corrupt(pgno, "key index entry does not match the page for key " +
                      std::to_string(key));
  return key - page_first_key_;
}

bool Reader::do_seek(std::uint64_t key) {
  key = std::max(key, d_.first_key);
  if (key >= d_.next_key)
    return invalid();
  return load(locate(key));
}

bool Reader::do_seek_time(std::uint64_t ts) {
  std::uint64_t lo = d_.first_key, hi = d_.next_key;
  while (lo < hi) {
    std::uint64_t mid = lo + (hi - lo) / 2;
    if (starts_[locate(mid)].ts < ts)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo >= d_.next_key)
    return invalid();
  return load(locate(lo));
}

bool Reader::do_seek_before(std::uint64_t key) {
  key = std::min(key, d_.next_key);
  if (key <= d_.first_key)
    return invalid();
  return do_seek(key - 1);
}

bool Reader::do_next() {
  if (!valid_)
    return false;
  if (ensure(idx_ + 1)) {
    if (ahead_ && !ahead_back_) { // the hardware prefetcher stops at the page boundary
      const std::uint32_t upto =
          std::min(starts_[idx_ + 1].off + 128, pages_.page_size());
      for (; ahead_done_ < upto; ahead_done_ += 64)
        __builtin_prefetch(ahead_ + ahead_done_);
    }
    if (verify_ && idx_ + 1 >= verified_end_)
      verify_page(idx_ + 1);
    return load(idx_ + 1);
  }
  const std::uint64_t want = rec_.key + 1;
  std::uint32_t pg = page_;
  for (std::uint32_t hops = 0;; ++hops) {
    if (pg == d_.tail) {
      if (want != d_.next_key)
        corrupt(pg, "the chain ends at key " + std::to_string(want - 1) +
                        " but the stream's last key is " +
                        std::to_string(d_.next_key - 1));
      return invalid();
    }
    if (hops > d_.data_pages)
      corrupt(pg, "value chain has a cycle");
    std::uint32_t next = link(pg, pages_.get(pg) + dp::kNext, "next");
    if (get_u32(pages_.get(next) + dp::kPrev) != pg)
      corrupt(next, "prev link does not point back to page " +
                        std::to_string(pg));
    step_onto(next);
    enter(next);
    // Also on a page no record starts on: its first key is the key the
    // next record gets.
    if (page_first_key_ != want)
      corrupt(next, "first key " + std::to_string(page_first_key_) +
                        ", but page " + std::to_string(pg) +
                        " ends at key " + std::to_string(want - 1));
    if (ensure(0)) {
      if (verify_)
        verify_page(0);
      return load(0);
    }
    // The record continues across this page: its base timestamp is the
    // record's.
    if (get_u64(p_ + dp::kBaseTs) != rec_.timestamp)
      corrupt(next, "base timestamp " + std::to_string(get_u64(p_ + dp::kBaseTs)) +
                        " on a page record " + std::to_string(rec_.key) + " continues over, " +
                        "whose timestamp is " + std::to_string(rec_.timestamp));
    pg = next;
  }
}

bool Reader::do_prev() {
  if (!valid_)
    return false;
  if (idx_ > 0) {
    if (ahead_ && ahead_back_) { // the prev page, as far as this one is read
      const std::uint32_t ps = pages_.page_size();
      const std::uint32_t upto = std::min(ps - starts_[idx_ - 1].off + 128, ps);
      for (; ahead_done_ < upto; ahead_done_ += 64)
        __builtin_prefetch(ahead_ + ahead_done_);
    }
    return load(idx_ - 1);
  }
  const std::uint64_t want = rec_.key - 1;
  std::uint32_t pg = page_;
  // A page record `want` continues over, and its base timestamp, which
  // must be that record's (checked once the record is found).
  std::uint32_t cont_page = 0;
  std::uint64_t cont_ts = 0;
  for (std::uint32_t hops = 0;; ++hops) {
    if (pg == d_.head) {
      if (want >= d_.first_key)
        corrupt(pg, "the chain starts at key " + std::to_string(want + 1) +
                        " but the stream's first key is " +
                        std::to_string(d_.first_key));
      return invalid();
    }
    if (hops > d_.data_pages)
      corrupt(pg, "value chain has a cycle");
    std::uint32_t prev = link(pg, pages_.get(pg) + dp::kPrev, "prev");
    if (get_u32(pages_.get(prev) + dp::kNext) != pg)
      corrupt(prev, "next link does not point to page " + std::to_string(pg));
    step_onto(prev);
    enter(prev);
    ensure(std::numeric_limits<std::size_t>::max() - 1); // parse them all
    if (!starts_.empty()) {
      if (verify_) // the whole page in one batched pass, as do_next does
        verify_page(0);
      if (prev != d_.head) { // a backward scan reads that page next
        const std::uint32_t before = get_u32(p_ + dp::kPrev);
        ahead_ = before >= 2 && before < pages_.meta().page_count ? pages_.get(before) : nullptr;
        ahead_done_ = 0;
        ahead_back_ = true;
      }
      if (page_first_key_ + starts_.size() - 1 != want)
        corrupt(prev, "last key " +
                          std::to_string(page_first_key_ + starts_.size() - 1) +
                          ", but page " + std::to_string(pg) +
                          " starts at key " + std::to_string(want + 1));
      const bool ok = load(starts_.size() - 1);
      if (ok && cont_page != 0 && rec_.timestamp != cont_ts)
        corrupt(cont_page, "base timestamp " + std::to_string(cont_ts) + " on a page record " +
                               std::to_string(rec_.key) + " continues over, whose timestamp is " +
                               std::to_string(rec_.timestamp));
      return ok;
    }
    if (page_first_key_ != want + 1) // no record starts here (see do_next)
      corrupt(prev, "first key " + std::to_string(page_first_key_) + ", but page " +
                        std::to_string(pg) + " starts at key " + std::to_string(want + 1));
    const std::uint64_t ts = get_u64(p_ + dp::kBaseTs);
    if (cont_page != 0 && ts != cont_ts)
      corrupt(prev, "base timestamp " + std::to_string(ts) + ", but page " +
                        std::to_string(cont_page) + ", over which the same record continues, has " +
                        std::to_string(cont_ts));
    cont_page = prev;
    cont_ts = ts;
    pg = prev;
  }
}

// ---------------------------------------------------------------------------
// Headers

std::string encode_headers(std::span<const Header> headers) {
  std::string out;
  std::uint8_t v[kMaxVarint64];
  for (const Header& h : headers) {
    for (std::string_view part : {h.name, h.value}) {
      out.append(reinterpret_cast<const char*>(v), put_varint(v, part.size()));
      out.append(part);
      if (out.size() > kMaxHeadersSize)
        throw Error(ErrorCode::TooBig,
                    "headers exceed the limit of " +
                        std::to_string(kMaxHeadersSize) + " encoded bytes");
    }
  }
  return out;
}

std::vector<Header> decode_headers(std::string_view block) {
  std::vector<Header> out;
  auto p = reinterpret_cast<const std::uint8_t*>(block.data());
  const auto* end = p + block.size();
  auto part = [&](std::string_view& s) {
    std::uint64_t len;
    std::size_t n = get_varint(p, end, len);
    if (n == 0 || len > static_cast<std::uint64_t>(end - p) - n)
      throw Error(ErrorCode::Corrupt, "record header block does not decode");
    s = {reinterpret_cast<const char*>(p + n), static_cast<std::size_t>(len)};
    p += n + len;
  };
  while (p < end) {
    Header h;
    part(h.name);
    part(h.value);
    out.push_back(h);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Writing

namespace {

// Appends records to one stream. It holds on to the tail page's bytes and
// marks what it wrote there (Writer::touch) once, when it leaves the page or
// finishes; record CRCs are queued and computed RecordCrcs::kCapacity at a
// time.
class Appender {
public:
  Appender(Writer& w, catalog::Descriptor& d)
      : w_(w), d_(d), ps_(w.page_size()), pg_(d.tail), off_(d.tail_offset),
        from_(off_), fresh_(pg_ == fmt::kNoPage) {}

  // REQUIRES: header_block and value stay readable until finish().
  void add(std::uint64_t ts, std::string_view header_block,
           std::string_view value, std::uint64_t ttl) {
    const std::uint64_t key = d_.next_key;
    // The CRC input after key and timestamp: the header's varints, then
    // the body's headers length (if any headers).
    std::uint8_t head[RecordCrcs::kMaxHead];
    const std::uint64_t flags = (header_block.empty() ? 0 : 1) | (ttl ? 2 : 0);
    const std::uint64_t body_len =
        (flags & 1 ? varint_size(header_block.size()) : 0) +
        header_block.size() + value.size();
    const std::size_t ttl_size = ttl ? varint_size(ttl) : 0;

    // A record's header never straddles pages. The first record starting on
    // a new page is stored as a delta from the page's base timestamp (its
    // own timestamp); on the tail page the previous record is the stream's
    // last one, which is also what a continuation page's base holds.
    std::uint64_t delta = ts - d_.last_ts;
    // A tail page a version-2 writer left is not continued: its records
    // have the older header (format.h, kRecordsV3). Its bytes are fetched
    // here once, to be written to or sealed.
    if (!page_ && !fresh_)
      fresh_ = !(page()[dp::kFlags] & dp::kRecordsV3);
    std::size_t hdr = varint_size(body_len) +
                      varint_size((delta << 2) | flags) + ttl_size + 4;
    if (fresh_ || ps_ - off_ < hdr) {
      move_to_new_page(0, key, ts);
      delta = 0;
      hdr = varint_size(body_len) + 1 + ttl_size + 4;
    }
    std::uint8_t* p = page();
    if (off_ == dp::kHeaderSize + get_u16(p + dp::kCont))
      index(key, pg_);
    std::size_t n = put_varint(head, body_len);
    n += put_varint(head + n, (delta << 2) | flags);
    if (ttl) {
      n += put_varint(head + n, ttl);
      d_.flags |= fmt::desc::kHasTtl;
    }
    copy_short(p + off_, head, n);
    crc_at_[crcs_.size()] = p + off_ + n; // filled in by flush_crcs()
    const std::size_t hvn =
        flags & 1 ? put_varint(head + n, header_block.size()) : 0;
    crcs_.add(key, ts, head, n + hvn, header_block, value);
    off_ += static_cast<std::uint32_t>(hdr);

    remaining_ = body_len;
    copy(head + n, hvn, key, ts);
    copy(header_block.data(), header_block.size(), key, ts);
    copy(value.data(), value.size(), key, ts);
    if (crcs_.full())
      flush_crcs();

    if (d_.records() == 0)
      d_.first_ts = ts;
    d_.tail = pg_;
    d_.tail_offset = off_;
    d_.next_key = key + 1;
    d_.bytes += value.size();
    d_.last_ts = ts;
  }

  // Writes the queued CRCs and marks the bytes written on the tail page.
  void finish() {
    flush_crcs();
    zero_unused();
    if (page_)
      w_.touch(pg_, from_, off_);
  }

private:
  // pg_'s bytes, writable.
  std::uint8_t* page() {
    if (!page_)
      page_ = w_.modify_in_place(pg_);
    return page_;
  }

  // Continues on a new page whose header says `cont` bytes continue a
  // record, the next record to start gets `first_key`, and the base
  // timestamp is `base_ts`; the page before it (if any) is sealed.
  void move_to_new_page(std::uint32_t cont, std::uint64_t first_key,
                        std::uint64_t base_ts) {
    std::uint32_t np;
    std::uint8_t* q = w_.alloc_unzeroed(np);
    std::memset(q, 0, dp::kHeaderSize);
    q[dp::kType] = fmt::kDataPage;
    q[dp::kFlags] = dp::kRecordsV3;
    put_u16(q + dp::kCont, static_cast<std::uint16_t>(cont));
    put_u32(q + dp::kPrev, pg_);
    put_u64(q + dp::kFirstKey, first_key);
    put_u64(q + dp::kBaseTs, base_ts);
    ++d_.data_pages;
    if (pg_ == fmt::kNoPage) {
      d_.head = np;
    } else { // the page stops being the tail: write its (seal) fields
      zero_unused();
      std::uint8_t* p = page();
      put_u16(p + dp::kEnd, static_cast<std::uint16_t>(off_));
      put_u32(p + dp::kNext, np);
      w_.touch(pg_, from_, off_);
      w_.touch(pg_, dp::kEnd, dp::kEnd + 2);
      w_.touch(pg_, dp::kNext, dp::kNext + 4);
    }
    pg_ = np;
    page_ = q;
    off_ = from_ = dp::kHeaderSize;
    allocated_ = true;
    fresh_ = false;
  }

  // A page this Appender allocated is zeroed past its data when it leaves
  // it: the bytes that reach the file must not depend on what the buffer
  // held before. (A later Appender then writes over zeros.)
  void zero_unused() {
    if (allocated_)
      std::memset(page_ + off_, 0, ps_ - off_);
  }

  void index(std::uint64_t key, std::uint32_t pgno) {
    std::uint8_t v[4];
    put_u32(v, pgno);
    btree::put(w_, d_.index_root, index_key(key),
               {reinterpret_cast<const char*>(v), 4});
  }

  void copy(const void* from, std::size_t n, std::uint64_t key,
            std::uint64_t ts) {
    auto src = static_cast<const std::uint8_t*>(from);
    while (n > 0) {
      if (off_ == ps_)
        move_to_new_page(static_cast<std::uint32_t>(std::min<std::uint64_t>(
                             remaining_, ps_ - dp::kHeaderSize)),
                         key + 1, ts);
      std::size_t k = std::min<std::size_t>(n, ps_ - off_);
      std::memcpy(page_ + off_, src, k);
      off_ += static_cast<std::uint32_t>(k);
      src += k;
      n -= k;
      remaining_ -= k;
    }
  }

  void flush_crcs() {
    crcs_.compute();
    for (std::size_t i = 0; i < crcs_.size(); ++i)
      put_u32(crc_at_[i], crcs_.crc(i));
    crcs_.clear();
  }

  Writer& w_;
  catalog::Descriptor& d_;
  const std::uint32_t ps_;
  std::uint32_t pg_;
  std::uint32_t off_;
  std::uint32_t from_;           // where this Appender began writing pg_
  std::uint8_t* page_ = nullptr; // pg_'s bytes, once fetched
  bool allocated_ = false;       // pg_ is a page this Appender allocated
  bool fresh_;                   // the next record starts a new page
  std::uint64_t remaining_ = 0;  // body bytes of the record not yet copied
  RecordCrcs crcs_;
  // Where the CRCs queued in crcs_ go, in its order.
  std::array<std::uint8_t*, RecordCrcs::kCapacity> crc_at_;
};

} // namespace

void append(Writer& w, catalog::Descriptor& d, std::uint64_t ts,
            std::string_view header_block, std::string_view value,
            std::uint64_t ttl) {
  Appender a(w, d);
  a.add(ts, header_block, value, ttl);
  a.finish();
}

void append_batch(Writer& w, catalog::Descriptor& d, std::uint64_t ts,
                  std::span<const std::string_view> values,
                  std::uint64_t ttl) {
  Appender a(w, d);
  for (std::string_view v : values)
    a.add(ts, {}, v, ttl);
  a.finish();
}

std::uint64_t expire(Writer& w, catalog::Descriptor& d, std::uint64_t before,
                     std::uint64_t max_bytes) {
  const std::uint64_t from = d.first_key;
  std::uint64_t key = std::clamp(before, d.first_key, d.next_key);
  {
    Reader r(w.pages(), d, false);
    std::uint64_t bytes = d.bytes;
    bool more = r.first();
    for (; more && (r.record().key < key || (max_bytes && bytes > max_bytes));
         more = r.next()) {
      // Unchecked records (see chain.h): a damaged length must not wrap the
      // count and expire everything.
      if (r.record().value.size() > bytes)
        throw_corrupt(w.pages().path(), d.head,
                      "the expired records hold more bytes than the stream");
      bytes -= r.record().value.size();
    }
    key = more ? r.record().key : d.next_key;
    d.first_ts = more ? r.record().timestamp : 0;
    d.bytes = bytes;
  }
  d.first_key = key;
  if (d.first_key == d.next_key) // no record left that could have a TTL
    d.flags &= ~fmt::desc::kHasTtl;
  // A page holds only expired records when the next one starts at or
  // before the first live key: every record on it has a smaller key.
  Pages& pages = w.pages();
  const std::uint32_t old_head = d.head;
  std::size_t indexed = 0; // dropped pages that a record starts on
  std::uint64_t last_indexed = 0;
  while (d.head != d.tail) {
    // The walk above followed these links; Pages::get checks the last.
    const std::uint8_t* p = pages.get(d.head);
    const std::uint32_t next = get_u32(p + dp::kNext);
    if (get_u64(pages.get(next) + dp::kFirstKey) > key)
      break;
    // Indexed if a record starts on it: data past the continuation bytes.
    if (dp::kHeaderSize + get_u16(p + dp::kCont) < get_u16(p + dp::kEnd)) {
      ++indexed;
      last_indexed = get_u64(p + dp::kFirstKey);
    }
    w.free(d.head);
    d.head = next;
    --d.data_pages;
  }
  // The dropped pages' entries are the smallest keys of the index: one
  // range erase. Any other count means index and chain disagree.
  if (indexed > 0 && btree::erase_below(w, d.index_root,
                                        index_key(last_indexed + 1)) != indexed)
    throw_corrupt(pages.path(), old_head,
                  "the key index does not match the data pages from this one on");
  return key - from;
}

void relocate(Writer& w, catalog::Descriptor& d) {
  if (d.head == fmt::kNoPage)
    return;
  Pages& pages = w.pages();
  const std::uint32_t ps = w.page_size();
  std::uint32_t root = fmt::kNoPage;
  std::uint8_t* prev = nullptr; // the copy before, whose next link waits
  std::uint32_t prev_pg = fmt::kNoPage;
  for (std::uint32_t pg = d.head, n = 0; pg != fmt::kNoPage; ++n) {
    if (n >= d.data_pages)
      throw_corrupt(pages.path(), pg, "value chain has a cycle");
    const std::uint8_t* p = pages.get(pg);
    if (p[dp::kType] != fmt::kDataPage)
      throw_corrupt(pages.path(), pg, "expected a data page, found type " +
                                          std::to_string(p[dp::kType]));
    const bool tail = pg == d.tail;
    const std::uint32_t end = tail ? d.tail_offset : get_u16(p + dp::kEnd);
    const std::uint32_t start = dp::kHeaderSize + get_u16(p + dp::kCont);
    if (end > ps || start > end)
      throw_corrupt(pages.path(), pg, "data page bounds out of range");
    const std::uint32_t next = tail ? fmt::kNoPage : get_u32(p + dp::kNext);
    std::uint32_t np;
    std::uint8_t* q = w.alloc_unzeroed(np);
    std::memcpy(q, p, ps);
    put_u32(q + dp::kPrev, prev_pg);
    if (tail) { // as a fresh tail: unsealed, nothing past its records
      put_u16(q + dp::kEnd, 0);
      put_u32(q + dp::kNext, 0);
      std::memset(q + end, 0, ps - end);
    }
    w.touch(np, dp::kHeaderSize, end);
    if (prev)
      put_u32(prev + dp::kNext, np);
    else
      d.head = np;
    if (start < end) { // a record starts here
      std::uint8_t v[4];
      put_u32(v, np);
      btree::put(w, root, index_key(get_u64(p + dp::kFirstKey)),
                 {reinterpret_cast<const char*>(v), 4});
    }
    w.free(pg);
    if (tail)
      d.tail = np;
    prev = q;
    prev_pg = np;
    pg = next;
  }
  if (prev_pg != d.tail)
    throw_corrupt(pages.path(), prev_pg, "the value chain ends before its tail page");
  btree::destroy(w, d.index_root);
  d.index_root = root;
}

void destroy(Writer& w, const catalog::Descriptor& d) {
  std::uint32_t pg = d.head;
  for (std::uint32_t n = 0; pg != fmt::kNoPage; ++n) {
    if (n > d.data_pages)
      throw_corrupt(w.pages().path(), pg, "value chain has a cycle");
    std::uint32_t next =
        pg == d.tail ? fmt::kNoPage : get_u32(w.pages().get(pg) + dp::kNext);
    w.free(pg);
    pg = next;
  }
  btree::destroy(w, d.index_root);
}

} // namespace klite::chain
