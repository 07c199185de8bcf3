// The independent reader behind klite-inspect; see inspect.h for its
// guarantees and docs/FORMAT.md for every byte it decodes. Nothing here uses
// the engine's pager, B+tree, catalog or chain code.
#include "engine/inspect.h"

#include "engine/coding.h"
#include "engine/crc32c.h"
#include "engine/format.h"
#include "engine/os.h"
#include "engine/readers.h"
#include "engine/text.h"

#include <klite/engine.h>
#include <klite/error.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unordered_map>

namespace klite::inspect {

namespace fmt = format;
using namespace coding;

// Where the bytes come from. Reads past the end return false.
class Source {
public:
  virtual ~Source() = default;
  virtual std::uint64_t size() const = 0;
  // Reads exactly n bytes at off; false on a short read. Throws Error(IO).
  virtual bool read(std::uint64_t off, void* buf, std::size_t n) const = 0;
};

namespace {

class FileSource final : public Source {
public:
  explicit FileSource(const std::string& path)
      : file_(path, os::File::Mode::ReadOnly), size_(file_.size()) {}
  std::uint64_t size() const override { return size_; }
  bool read(std::uint64_t off, void* buf, std::size_t n) const override {
    return file_.read_at(off, buf, n);
  }

private:
  os::File file_;
  std::uint64_t size_; // at open: the snapshot never needs more
};

class MemorySource final : public Source {
public:
  explicit MemorySource(std::string bytes) : bytes_(std::move(bytes)) {}
  std::uint64_t size() const override { return bytes_.size(); }
  bool read(std::uint64_t off, void* buf, std::size_t n) const override {
    if (off > bytes_.size() || n > bytes_.size() - off)
      return false;
    std::memcpy(buf, bytes_.data() + off, n);
    return true;
  }

private:
  std::string bytes_;
};

// Largest record body a reader accepts (FORMAT.md section 13).
constexpr std::uint64_t kMaxBody = kMaxValueSize + kMaxHeadersSize + 10;
constexpr std::uint32_t kHdr = fmt::checked::kHeaderSize; // 32, also data pages
constexpr int kMaxDepth = 64;

bool readable_version(std::uint32_t v) {
  return v >= fmt::kOldestReadableVersion && v <= fmt::kFormatVersion;
}

bool valid_page_size(std::uint32_t ps) {
  return ps >= fmt::kMinPageSize && ps <= fmt::kMaxPageSize &&
         (ps & (ps - 1)) == 0;
}

std::uint32_t page_crc(const std::uint8_t* p, std::uint32_t ps) {
  static constexpr std::uint8_t zero[4] = {};
  std::uint32_t crc = crc32c::extend(0, p, fmt::checked::kCrc);
  crc = crc32c::extend(crc, zero, 4);
  return crc32c::extend(crc, p + fmt::checked::kCrc + 4,
                        ps - fmt::checked::kCrc - 4);
}

std::string hex32(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08" PRIx32, v);
  return b;
}

std::string num(std::uint64_t v) { return std::to_string(v); }

// A stored CRC as the page dumps show it: "0x... (ok)", or the mismatch.
std::string crc_check(std::uint32_t stored, std::uint32_t computed) {
  return hex32(stored) +
         (stored == computed ? " (ok)"
                             : " (MISMATCH: computed " + hex32(computed) + ")");
}

// Flag bits as words: `name` for the one bit this build knows, the rest
// as "unknown 0x...".
std::string describe_bits(std::uint32_t flags, std::uint32_t known,
                          const char* name) {
  if (flags == 0)
    return "none";
  std::string s = flags & known ? name : "";
  if (const std::uint32_t rest = flags & ~known)
    s += (s.empty() ? "unknown " : ", unknown ") + hex32(rest);
  return s;
}

bool valid_stream_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxStreamNameSize)
    return false;
  auto alpha = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (!alpha(name[0]))
    return false;
  for (char c : name)
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-')
      return false;
  return true;
}

std::string_view as_sv(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}
const std::uint8_t* as_u8(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

// Decodes a header block into (name, value) pairs; false if it does not
// decode exactly.
bool decode_headers(
    std::string_view block,
    std::vector<std::pair<std::string_view, std::string_view>>* out) {
  const std::uint8_t* p = as_u8(block);
  const std::uint8_t* end = p + block.size();
  auto part = [&](std::string_view& s) {
    std::uint64_t len;
    std::size_t n = get_varint(p, end, len);
    if (n == 0 || len > static_cast<std::uint64_t>(end - p) - n)
      return false;
    s = as_sv(p + n, static_cast<std::size_t>(len));
    p += n + len;
    return true;
  };
  while (p < end) {
    std::string_view name, value;
    if (!part(name) || !part(value))
      return false;
    if (out)
      out->emplace_back(name, value);
  }
  return true;
}

// Splits a record body into header block and value. False if has_headers
// and the block length does not fit or the block does not decode.
bool split_body(
    std::string_view body, bool has_headers, std::string_view& value,
    std::vector<std::pair<std::string_view, std::string_view>>* headers) {
  value = body;
  if (!has_headers)
    return true;
  std::uint64_t len;
  std::size_t n = get_varint(as_u8(body), as_u8(body) + body.size(), len);
  if (n == 0 || len > body.size() - n)
    return false;
  if (!decode_headers(body.substr(n, static_cast<std::size_t>(len)), headers))
    return false;
  value = body.substr(n + static_cast<std::size_t>(len));
  return true;
}

// The fixed part of a record: its varints and the CRC, all inside
// [off, end) of page p.
struct RecordHeader {
  std::uint64_t body_len = 0;
  std::uint64_t ts_delta = 0;
  bool has_headers = false;
  std::uint64_t ttl = 0;      // 0: none
  std::uint32_t ttl_size = 0; // bytes of its varint
  std::uint32_t crc = 0;
  std::uint32_t size = 0; // bytes of the record header
};

// `v3`: the page has flag kRecordsV3 (two flag bits, and maybe a TTL).
bool parse_record_header(const std::uint8_t* p, std::uint32_t off,
                         std::uint32_t end, bool v3, RecordHeader& h) {
  if (off >= end)
    return false;
  std::size_t n = get_varint(p + off, p + end, h.body_len);
  std::uint64_t ts_flags = 0;
  const std::size_t n2 = n ? get_varint(p + off + n, p + end, ts_flags) : 0;
  if (n2 == 0)
    return false;
  n += n2;
  h.ttl = 0;
  h.ttl_size = 0;
  if (v3 && (ts_flags & 2)) {
    const std::size_t n3 = get_varint(p + off + n, p + end, h.ttl);
    if (n3 == 0 || h.ttl == 0)
      return false;
    n += n3;
    h.ttl_size = static_cast<std::uint32_t>(n3);
  }
  if (off + n + 4 > end)
    return false;
  h.ts_delta = ts_flags >> (v3 ? 2 : 1);
  h.has_headers = ts_flags & 1;
  h.crc = get_u32(p + off + n);
  h.size = static_cast<std::uint32_t>(n + 4);
  return true;
}

std::uint32_t record_crc_start(std::uint64_t key, std::uint64_t ts,
                               const std::uint8_t* varints, std::size_t n) {
  std::uint8_t kt[16];
  put_u64(kt, key);
  put_u64(kt + 8, ts);
  return crc32c::extend(crc32c::value(kt, sizeof kt), varints, n);
}

// When a record's TTL runs out, as the engine computes Record::expires:
// saturated, so a TTL past the end of time never runs out. 0: no TTL.
std::uint64_t expiry(std::uint64_t ts, std::uint64_t ttl) {
  return ttl == 0 ? 0 : ts + std::min(ttl, ~std::uint64_t{0} - ts);
}

Stream make_stream(std::string_view key, std::string_view value,
                   std::uint32_t leaf) {
  Stream s;
  s.name = std::string(key);
  s.leaf = leaf;
  s.value_size = value.size();
  s.desc_page = leaf;
  // A descriptor too short to decode (check_entry reports it) shows as all
  // zeros, not as a new stream's.
  if (value.size() >= fmt::desc::kSize)
    s.d = fmt::desc::decode(as_u8(value));
  else
    s.d.first_key = s.d.next_key = 0;
  s.tree = s.d;
  return s;
}

// How problems with a descriptor of stream `name` begin: the stream, and
// where the descriptor is (a catalog page, or the overlay of a meta page).
std::string desc_what(std::string_view name, bool overlay, std::uint32_t page) {
  return "stream " + text::quote(name) + " (descriptor in " +
         (overlay ? "the overlay of meta page " : "catalog page ") + num(page) +
         "): ";
}
// The same for stream s's current descriptor.
std::string desc_what(const Stream& s) {
  return desc_what(s.name, s.overlaid, s.desc_page);
}

// ---------------------------------------------------------------------------
// Problems and page ownership

class Sink {
public:
  Sink(std::vector<Problem>& out, std::size_t max) : out_(out), max_(max) {}
  void error(std::uint32_t page, std::string msg) {
    ++errors;
    add(page, std::move(msg), false);
  }
  void warn(std::uint32_t page, std::string msg) {
    ++warnings;
    add(page, std::move(msg), true);
  }
  std::uint64_t errors = 0, warnings = 0, dropped = 0;

private:
  void add(std::uint32_t page, std::string msg, bool warning) {
    if (out_.size() >= max_) {
      ++dropped;
      return;
    }
    out_.push_back(Problem{page, std::move(msg), warning});
  }
  std::vector<Problem>& out_;
  std::size_t max_;
};

enum class Kind : std::uint8_t {
  None,
  Catalog,
  Index,
  Data,
  FreeDir,
  FreeChunk,
  Free
};

struct Owner {
  Kind kind = Kind::None;
  std::uint32_t stream = 0; // index into the stream list (Index, Data)
  std::uint32_t from = 0;   // the page whose link reached it
};

// Which structure each page of the snapshot belongs to: the accounting of
// FORMAT.md section 11, and what makes every walk visit a page at most once.
class Claims {
public:
  Claims(const File& f, const std::vector<Stream>* streams)
      : f_(f), streams_(streams),
        map_(static_cast<std::size_t>(
            std::min<std::uint64_t>(f.page_count(), f.file_pages()))) {}

  // Claims `pgno`, reached from page `from` through `link` (a phrase such
  // as "child 2 of page 17"), for `o`. Reports and returns false if the link
  // leaves the snapshot or the file, or the page is already claimed.
  bool claim(std::uint32_t pgno, Owner o, const std::string& link, Sink& sink) {
    if (pgno < 2 || pgno >= f_.page_count()) {
      sink.error(o.from, link + " points to page " + num(pgno) +
                             ", outside the snapshot's pages 2.." +
                             num(f_.page_count() - 1));
      return false;
    }
    if (pgno >= map_.size()) {
      sink.error(o.from, link + " points to page " + num(pgno) +
                             ", past the end of the truncated file");
      return false;
    }
    Owner& slot = map_[pgno];
    if (slot.kind != Kind::None) {
      sink.error(pgno, "page " + num(pgno) + " is " + describe(o) + " (via " +
                           link + ") but is already " + describe(slot));
      return false;
    }
    slot = o;
    return true;
  }

  // Gives up a claim: the page turned out not to be of the kind the link
  // expects, so it is left for its real owner (or reported as leaked).
  void release(std::uint32_t pgno) {
    if (pgno < map_.size())
      map_[pgno] = Owner{};
  }

  const Owner& owner(std::uint32_t pgno) const {
    static const Owner none;
    return pgno < map_.size() ? map_[pgno] : none;
  }
  std::size_t size() const { return map_.size(); }

  std::string describe(const Owner& o) const {
    switch (o.kind) {
    case Kind::None:
      return "unclaimed";
    case Kind::Catalog:
      return "a page of the catalog";
    case Kind::Index:
      return "a page of the key index of " + stream(o.stream);
    case Kind::Data:
      return "a data page of " + stream(o.stream);
    case Kind::FreeDir:
      return "a free-list directory page";
    case Kind::FreeChunk:
      return "a free-list chunk page";
    case Kind::Free:
      return "a free page (listed in chunk " + num(o.from) + ")";
    }
    return "?";
  }

  std::string stream(std::uint32_t i) const {
    if (streams_ && i < streams_->size())
      return "stream " + text::quote((*streams_)[i].name);
    return "stream #" + num(i);
  }

private:
  const File& f_;
  const std::vector<Stream>* streams_;
  std::vector<Owner> map_;
};

// ---------------------------------------------------------------------------
// B+tree walk (FORMAT.md section 4)

struct Cell {
  std::uint32_t off = 0, end = 0;
  std::string_view key, value;
  std::uint32_t child = 0;
};

class TreeWalker {
public:
  TreeWalker(const File& f, Sink& sink, Claims& claims, Owner owner,
             KeyKind kind, std::string what)
      : f_(f), sink_(sink), claims_(claims), owner_(owner), kind_(kind),
        what_(std::move(what)), ps_(f.page_size()) {}

  // Called for each leaf cell, in key order.
  std::function<void(std::string_view key, std::string_view value,
                     std::uint32_t leaf)>
      on_entry;
  // Called for each page decoded, parents before children.
  std::function<void(const TreeNode&)> on_node;

  void run(std::uint32_t root, std::uint32_t from, const std::string& link) {
    if (root == fmt::kNoPage)
      return;
    visit(root, from, link, 0, std::nullopt, std::nullopt);
  }

  TreeStats stats;

private:
  void error(std::uint32_t pgno, const std::string& msg) {
    sink_.error(pgno, what_ + ": " + msg);
  }

  void visit(std::uint32_t pgno, std::uint32_t from, const std::string& link,
             int depth, std::optional<std::string_view> lo,
             std::optional<std::string_view> hi) {
    Owner o = owner_;
    o.from = from;
    if (!claims_.claim(pgno, o, link, sink_))
      return;
    if (depth > kMaxDepth) {
      error(pgno, "more than 64 levels below the root");
      return;
    }
    std::vector<std::uint8_t> buf(ps_);
    std::string why;
    if (!f_.read_page(pgno, buf.data(), &why)) {
      error(pgno, "cannot read: " + why);
      return;
    }
    const std::uint8_t* p = buf.data();
    const std::uint8_t type = p[fmt::checked::kType];
    if (type != fmt::kBranchPage && type != fmt::kLeafPage) {
      claims_.release(pgno);
      error(from, link + " points to page " + num(pgno) + ", of type " +
                      num(type) + ", not a B+tree page (type 1 or 2)");
      return;
    }
    ++stats.pages;
    stats.depth = std::max<std::uint64_t>(stats.depth, depth + 1);
    std::uint32_t stored = get_u32(p + fmt::checked::kCrc);
    std::uint32_t computed = page_crc(p, ps_);
    if (stored != computed)
      error(pgno, "checksum mismatch (stored " + hex32(stored) + ", computed " +
                      hex32(computed) + ")");
    const bool leaf = type == fmt::kLeafPage;
    if (get_u32(p + fmt::checked::kPageNo) != pgno)
      error(pgno, "the page records page number " +
                      num(get_u32(p + fmt::checked::kPageNo)) +
                      " (a misdirected write?)");
    const std::uint64_t txn = get_u64(p + fmt::checked::kTxnId);
    if (txn > f_.txn_id())
      error(pgno, "written by txn " + num(txn) + ", after the snapshot's txn " +
                      num(f_.txn_id()));
    if (p[1] != 0 || get_u16(p + 6) != 0 || get_u32(p + 28) != 0 ||
        (leaf && get_u32(p + fmt::checked::kLink) != 0))
      error(pgno, "reserved header bytes are not zero");

    const std::uint32_t count = get_u16(p + fmt::checked::kCount);
    const std::uint32_t cs = get_u16(p + fmt::checked::kContentStart);
    const std::uint32_t slots_end = kHdr + 2 * count;
    if (slots_end > ps_) {
      error(pgno, "cell count " + num(count) + " does not fit the page");
      return;
    }
    if (cs < slots_end || cs > ps_)
      error(pgno, "content start " + num(cs) + " is outside [" +
                      num(slots_end) + ", " + num(ps_) + "]");

    std::vector<Cell> cells;
    cells.reserve(count);
    bool bad_cell = false;
    for (std::uint32_t i = 0; i < count; ++i) {
      Cell c;
      c.off = get_u16(p + kHdr + 2 * i);
      if (c.off < slots_end || c.off >= ps_) {
        error(pgno, "cell " + num(i) + " offset " + num(c.off) +
                        " is outside the cell area [" + num(slots_end) + ", " +
                        num(ps_) + ")");
        bad_cell = true;
        continue;
      }
      const std::uint8_t* end = p + ps_;
      const std::uint8_t* q = p + c.off;
      std::uint64_t len;
      std::size_t n = get_varint(q, end, len);
      bool ok = n != 0 && len <= static_cast<std::uint64_t>(end - q) - n;
      if (ok) {
        c.key = as_sv(q + n, static_cast<std::size_t>(len));
        q += n + len;
        if (leaf) {
          n = get_varint(q, end, len);
          ok = n != 0 && len <= static_cast<std::uint64_t>(end - q) - n;
          if (ok) {
            c.value = as_sv(q + n, static_cast<std::size_t>(len));
            q += n + len;
          }
        } else {
          ok = end - q >= 4;
          if (ok) {
            c.child = get_u32(q);
            q += 4;
          }
        }
      }
      if (!ok) {
        error(pgno, "cell " + num(i) + " at offset " + num(c.off) +
                        " runs past the end of the page");
        bad_cell = true;
        continue;
      }
      c.end = static_cast<std::uint32_t>(q - p);
      cells.push_back(c);
    }

    // The cell area: content start exact, no two cells overlapping.
    std::uint32_t used = slots_end;
    if (!bad_cell) {
      std::vector<std::pair<std::uint32_t, std::uint32_t>> spans;
      spans.reserve(cells.size());
      for (const Cell& c : cells)
        spans.emplace_back(c.off, c.end);
      std::sort(spans.begin(), spans.end());
      std::uint32_t lowest = spans.empty() ? ps_ : spans.front().first;
      if (cs != lowest && cs >= slots_end && cs <= ps_)
        error(pgno, "content start is " + num(cs) +
                        ", but the lowest cell is at " + num(lowest));
      for (std::size_t i = 1; i < spans.size(); ++i)
        if (spans[i - 1].second > spans[i].first)
          error(pgno, "cells at offsets " + num(spans[i - 1].first) + " and " +
                          num(spans[i].first) + " overlap");
    }
    for (const Cell& c : cells)
      used += c.end - c.off;
    stats.used_bytes += used;

    // Key order within the page and against the parent's separators.
    for (std::size_t i = 0; i < cells.size(); ++i) {
      std::string_view k = cells[i].key;
      if (i > 0 && !(cells[i - 1].key < k))
        error(pgno,
              "keys out of order: " + describe_key(cells[i - 1].key, kind_) +
                  " is followed by " + describe_key(k, kind_));
      if (lo && k < *lo)
        error(pgno, "key " + describe_key(k, kind_) +
                        " is below the parent's separator " +
                        describe_key(*lo, kind_));
      if (hi && !(k < *hi))
        error(pgno, "key " + describe_key(k, kind_) +
                        " is not below the parent's next separator " +
                        describe_key(*hi, kind_));
    }

    if (on_node) {
      TreeNode node;
      node.pgno = pgno;
      node.level = depth;
      node.leaf = leaf;
      node.count = count;
      node.used_bytes = used;
      node.txn_id = txn;
      if (lo)
        node.lo = std::string(*lo);
      if (hi)
        node.hi = std::string(*hi);
      if (!cells.empty()) {
        node.first = std::string(cells.front().key);
        node.last = std::string(cells.back().key);
      }
      if (!leaf) {
        node.children.push_back(get_u32(p + fmt::checked::kLink));
        for (const Cell& c : cells)
          node.children.push_back(c.child);
      }
      on_node(node);
    }

    if (leaf) {
      if (count == 0)
        error(pgno, "an empty leaf (a leaf has at least one cell; an empty "
                    "tree has root 0)");
      if (leaf_depth_ < 0)
        leaf_depth_ = depth;
      else if (leaf_depth_ != depth)
        error(pgno, "a leaf at depth " + num(depth) +
                        ", but other leaves are at depth " + num(leaf_depth_));
      stats.entries += cells.size();
      if (on_entry)
        for (const Cell& c : cells)
          on_entry(c.key, c.value, pgno);
      return;
    }
    // Children: the leftmost holds keys below the first separator, child i
    // keys from separator i up to separator i + 1.
    const std::string at = " of page " + num(pgno);
    visit(get_u32(p + fmt::checked::kLink), pgno,
          "the leftmost child link" + at, depth + 1, lo,
          cells.empty() ? hi : std::optional(cells[0].key));
    for (std::size_t i = 0; i < cells.size(); ++i)
      visit(cells[i].child, pgno, "the child link of cell " + num(i) + at,
            depth + 1, cells[i].key,
            i + 1 < cells.size() ? std::optional(cells[i + 1].key) : hi);
  }

  const File& f_;
  Sink& sink_;
  Claims& claims_;
  Owner owner_;
  KeyKind kind_;
  std::string what_;
  std::uint32_t ps_;
  int leaf_depth_ = -1;
};

std::string meta_link(const File& f, const char* field) {
  return std::string("the ") + field + " in meta page " + num(f.current());
}

// ---------------------------------------------------------------------------
// Value chain walk (FORMAT.md sections 7 and 8)

class ChainWalker {
public:
  ChainWalker(const File& f, Sink& sink, Claims& claims, std::uint32_t idx,
              const Stream& s, StreamStats& st,
              const std::function<void(const DumpRecord&)>* fn)
      : f_(f), sink_(sink), claims_(claims), idx_(idx), s_(s), d_(s.d), st_(st),
        fn_(fn), ps_(f.page_size()), name_(text::quote(s.name)) {}

  void run();

  // (first key, page) of every page on which a record starts, chain order.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> starts;
  std::uint64_t errors = 0; // problems found in the chain itself

private:
  void error(std::uint32_t pgno, const std::string& msg) {
    ++errors;
    sink_.error(pgno, "stream " + name_ + ": " + msg);
  }
  void desc_error(const std::string& msg) {
    sink_.error(s_.desc_page, desc_what(s_) + msg);
  }

  bool live(std::uint64_t key) const {
    return key >= d_.first_key && key < d_.next_key;
  }

  // A record whose body continues on the following pages.
  struct Pending {
    bool active = false;
    std::uint64_t key = 0, ts = 0;
    std::uint32_t page = 0, off = 0;
    std::uint32_t last_page = 0; // the page its latest bytes came from
    RecordHeader h;
    std::uint32_t crc = 0; // of what has come so far
    std::uint64_t have = 0;
    std::string body; // gathered when it is needed (headers, dump)
  };

  // Adds body bytes to the pending record; finishes it when complete.
  void feed(const std::uint8_t* p, std::size_t n) {
    pend_.crc = crc32c::extend(pend_.crc, p, n);
    if (pend_.h.has_headers || fn_)
      pend_.body.append(reinterpret_cast<const char*>(p), n);
    pend_.have += n;
    if (pend_.have == pend_.h.body_len) {
      pend_.active = false;
      std::string_view body = pend_.h.has_headers || fn_
                                  ? std::string_view(pend_.body)
                                  : std::string_view();
      finish(pend_.key, pend_.ts, pend_.page, pend_.off, pend_.h, pend_.crc,
             body, pend_.last_page);
    }
  }

  // A complete record. `body` may be empty when only the CRC was needed
  // (no headers, no dump): its length is h.body_len.
  void finish(std::uint64_t key, std::uint64_t ts, std::uint32_t page,
              std::uint32_t off, const RecordHeader& h, std::uint32_t computed,
              std::string_view body, std::uint32_t last_page) {
    const std::string what =
        "record " + num(key) + " at offset " + num(off) +
        (last_page != page
             ? " (its body continues to page " + num(last_page) + ")"
             : "");
    bool ok = true;
    if (h.crc != computed) {
      error(page, what + ": checksum mismatch (stored " + hex32(h.crc) +
                      ", computed " + hex32(computed) + ")");
      ok = false;
    }
    std::string_view value;
    std::uint64_t value_len = h.body_len;
    headers_.clear();
    if (h.has_headers) {
      if (split_body(body, true, value, fn_ ? &headers_ : nullptr)) {
        value_len = value.size();
      } else {
        if (ok)
          error(page, what + ": the header block does not decode");
        ok = false;
      }
    } else {
      value = body;
    }
    if (!live(key)) {
      if (key < d_.first_key) {
        ++st_.expired_records;
        st_.expired_bytes += h.size + h.body_len;
      }
      return;
    }
    ++st_.records;
    st_.payload_bytes += value_len;
    st_.header_bytes += h.body_len - value_len;
    st_.record_header_bytes += h.size;
    if (key == d_.first_key)
      first_ts_ = ts;
    last_ts_ = ts;
    last_key_ = key;
    const std::uint64_t expires = expiry(ts, h.ttl);
    if (h.ttl) {
      ++st_.ttl_records;
      st_.ttl_payload_bytes += value_len;
      st_.ttl_first_expiry = st_.ttl_first_expiry
                                 ? std::min(st_.ttl_first_expiry, expires)
                                 : expires;
      st_.ttl_last_expiry = std::max(st_.ttl_last_expiry, expires);
      // A damaged record's flag bits may be the damage: not counted.
      if (ok && !(d_.flags & fmt::desc::kHasTtl) && untagged_ttl_++ == 0)
        untagged_key_ = key;
    }
    if (ok && fn_) {
      DumpRecord r;
      r.key = key;
      r.timestamp = ts;
      r.expires = expires;
      r.value = value;
      r.headers = headers_;
      (*fn_)(r);
    }
  }

  void check_descriptor(bool reached_tail, std::uint64_t chain_next_key);

  const File& f_;
  Sink& sink_;
  Claims& claims_;
  std::uint32_t idx_;
  const Stream& s_;
  const Descriptor& d_;
  StreamStats& st_;
  const std::function<void(const DumpRecord&)>* fn_;
  std::uint32_t ps_;
  std::string name_;
  Pending pend_;
  std::vector<std::pair<std::string_view, std::string_view>> headers_;
  std::optional<std::uint64_t> first_ts_, last_ts_, last_key_;
  // Live records with a TTL in a stream without kHasTtl, and the first.
  std::uint64_t untagged_ttl_ = 0, untagged_key_ = 0;
};

void ChainWalker::run() {
  if (d_.head == fmt::kNoPage || d_.tail == fmt::kNoPage) {
    if (d_.head != d_.tail) {
      desc_error("head page " + num(d_.head) + " and tail page " +
                 num(d_.tail) + ": both or neither must be 0");
      return;
    }
    // An empty stream.
    if (d_.first_key != d_.next_key)
      desc_error("no data pages, but keys " + num(d_.first_key) + ".." +
                 num(d_.next_key) + " (first key .. next key) are live");
    if (d_.index_root != 0)
      desc_error("no data pages, but key index root " + num(d_.index_root));
    if (d_.bytes != 0 || d_.data_pages != 0 || d_.tail_offset != 0)
      desc_error("no data pages, but " + num(d_.bytes) + " payload bytes, " +
                 num(d_.data_pages) + " data pages, tail offset " +
                 num(d_.tail_offset));
    return;
  }

  std::vector<std::uint8_t> buf(ps_);
  const std::uint8_t* p = buf.data();
  std::uint32_t prev = 0, pg = d_.head;
  std::string link = "the head link of stream " + name_;
  std::uint32_t from = s_.desc_page;
  bool expect_known = false; // the next record's key is known:
  std::uint64_t expect = 0;
  bool have_last_ts = false;
  std::uint64_t last_ts = 0;
  bool reached_tail = false;
  bool past_end_reported = false;

  for (;;) {
    if (!claims_.claim(pg, Owner{Kind::Data, idx_, from}, link, sink_)) {
      ++errors;
      break;
    }
    std::string why;
    if (!f_.read_page(pg, buf.data(), &why)) {
      error(pg, "cannot read: " + why);
      break;
    }
    if (p[fmt::data::kType] != fmt::kDataPage) {
      claims_.release(pg);
      error(from, link + " points to page " + num(pg) + ", of type " +
                      num(p[fmt::data::kType]) + ", not a data page (type 3)");
      break;
    }
    ++st_.data_pages;
    const bool is_tail = pg == d_.tail;
    if ((p[fmt::data::kFlags] & ~fmt::data::kRecordsV3) != 0)
      error(pg, "flags " + num(p[fmt::data::kFlags]) + " are not known");
    if (get_u16(p + 6) != 0)
      error(pg, "reserved header bytes are not zero");
    const bool v3 = p[fmt::data::kFlags] & fmt::data::kRecordsV3;
    // The head's prev link is not read: it may name a page that expiry
    // dropped (FORMAT.md section 7).
    const std::uint32_t prev_field = get_u32(p + fmt::data::kPrev);
    if (prev != 0 && prev_field != prev)
      error(pg, "prev link is " + num(prev_field) + ", expected " + num(prev) +
                    " (the page whose next link leads here)");
    const std::uint32_t cont = get_u16(p + fmt::data::kCont);
    const std::uint32_t end =
        is_tail ? d_.tail_offset : std::uint32_t{get_u16(p + fmt::data::kEnd)};
    const std::uint64_t first_key = get_u64(p + fmt::data::kFirstKey);
    const std::uint64_t base_ts = get_u64(p + fmt::data::kBaseTs);

    bool bounds_ok = end <= ps_ && kHdr + cont <= end;
    if (!bounds_ok)
      error(pg, is_tail ? "cont " + num(cont) +
                              " and the descriptor's tail "
                              "offset " +
                              num(end) +
                              " are out of range "
                              "(32 + cont <= tail offset <= page size)"
                        : "cont " + num(cont) + " and end " + num(end) +
                              " are out of range (32 + cont <= end <= page "
                              "size)");

    // Continuation bytes of the record begun on an earlier page.
    const std::uint32_t want_cont =
        pend_.active ? static_cast<std::uint32_t>(std::min<std::uint64_t>(
                           pend_.h.body_len - pend_.have, ps_ - kHdr))
                     : 0;
    // On the head, continuation bytes belong to an expired record whose
    // first pages were dropped (then the head's first key, checked below,
    // is at most the stream's first key).
    bool live_here = false; // some live record has bytes on this page
    if (prev == 0 && bounds_ok)
      st_.expired_bytes += cont;
    if (prev != 0 && cont != want_cont) {
      error(pg, pend_.active
                    ? "cont is " + num(cont) + ", but record " +
                          num(pend_.key) + " (page " + num(pend_.page) +
                          ") continues here with " +
                          num(pend_.h.body_len - pend_.have) +
                          " more bytes (expected cont " + num(want_cont) + ")"
                    : "cont is " + num(cont) +
                          ", but no record continues onto this page");
      pend_.active = false;
      expect_known = false;
    } else if (pend_.active) {
      if (base_ts != pend_.ts)
        error(pg, "base timestamp " + num(base_ts) + ", expected " +
                      num(pend_.ts) + ", the timestamp of record " +
                      num(pend_.key) + " that continues here");
      if (bounds_ok) {
        pend_.last_page = pg;
        live_here = live(pend_.key);
        feed(p + kHdr, cont);
      } else {
        pend_.active = false;
        expect_known = false;
      }
    }

    // Keys continue densely from the previous page.
    if (prev == 0) {
      if (first_key == 0 || first_key > d_.first_key)
        error(pg, "the head page's first key is " + num(first_key) +
                      ", but the stream's first key is " + num(d_.first_key));
    } else if (expect_known && first_key != expect) {
      error(pg, "first key is " + num(first_key) + ", expected " + num(expect) +
                    " (keys must continue from the page before)");
    }
    if (cont == 0 && have_last_ts && base_ts < last_ts)
      error(pg, "base timestamp " + num(base_ts) +
                    " is before the previous record's timestamp " +
                    num(last_ts));

    // The records that start on this page.
    std::uint64_t n = 0;
    bool parsed = bounds_ok;
    if (bounds_ok) {
      std::uint32_t off = kHdr + cont;
      std::uint64_t ts = base_ts;
      while (off < end) {
        RecordHeader h;
        if (!parse_record_header(p, off, end, v3, h)) {
          error(pg, "bad record header at offset " + num(off));
          parsed = false;
          break;
        }
        if (h.body_len > kMaxBody) {
          error(pg, "record at offset " + num(off) + " has a body of " +
                        num(h.body_len) + " bytes, over the limit of " +
                        num(kMaxBody));
          parsed = false;
          break;
        }
        const std::uint64_t delta = h.ts_delta;
        if (n == 0 && cont == 0 && delta != 0)
          error(pg, "the first record's timestamp delta is " + num(delta) +
                        ", expected 0 (the base timestamp is its timestamp)");
        if (ts + delta < ts) {
          error(pg, "record at offset " + num(off) +
                        ": timestamp overflows 64 bits");
          parsed = false;
          break;
        }
        ts += delta;
        const std::uint64_t key = first_key + n;
        ++n;
        if (key >= d_.next_key && !past_end_reported) {
          error(pg, "record at offset " + num(off) + " has key " + num(key) +
                        ", but the stream's next key is " + num(d_.next_key));
          past_end_reported = true;
        }
        live_here |= live(key);
        const std::uint32_t body = off + h.size;
        const std::uint64_t body_end = std::uint64_t{body} + h.body_len;
        const std::uint32_t crc =
            record_crc_start(key, ts, p + off, h.size - 4);
        last_ts = ts;
        have_last_ts = true;
        if (body_end <= end) {
          std::string_view b =
              as_sv(p + body, static_cast<std::size_t>(h.body_len));
          finish(key, ts, pg, off, h, crc32c::extend(crc, b.data(), b.size()),
                 b, pg);
          off = static_cast<std::uint32_t>(body_end);
          continue;
        }
        if (body_end <= ps_ || is_tail || end != ps_) {
          error(pg, "record " + num(key) + " at offset " + num(off) + " (" +
                        num(h.body_len) + " body bytes) runs past " +
                        (is_tail ? "the tail offset " : "the page's end ") +
                        num(end) +
                        (body_end > ps_ && !is_tail
                             ? " (a record continuing onto the next page "
                               "needs end = page size)"
                             : ""));
          parsed = false;
          break;
        }
        // Continues on the next page: the last record starting here.
        pend_ = Pending{};
        pend_.active = true;
        pend_.key = key;
        pend_.ts = ts;
        pend_.page = pg;
        pend_.off = off;
        pend_.crc = crc;
        pend_.h = h;
        pend_.last_page = pg;
        feed(p + body, ps_ - body);
        off = ps_;
      }
      st_.data_used_bytes += end - kHdr;
    }
    if (n > 0)
      starts.emplace_back(first_key, pg);
    st_.expired_pages += !live_here;
    expect = first_key + n;
    if (parsed)
      expect_known = true;
    else
      expect_known = false;

    if (is_tail) {
      reached_tail = true;
      if (pend_.active) {
        error(pg, "record " + num(pend_.key) + " continues past the tail page");
        pend_.active = false;
      }
      break;
    }
    const std::uint32_t next = get_u32(p + fmt::data::kNext);
    if (next == fmt::kNoPage) {
      error(pg, "next link is 0, but this is not the stream's tail page " +
                    num(d_.tail));
      break;
    }
    from = pg;
    link = "the next link of data page " + num(pg);
    prev = pg;
    pg = next;
  }
  // Reads judge TTLs only in streams whose descriptor has kHasTtl
  // (engine.cpp, ttl_now), so without it a record outlives its TTL.
  if (untagged_ttl_ > 0)
    desc_error("record " + num(untagged_key_) + " has a TTL" +
               (untagged_ttl_ > 1
                    ? " (and " + num(untagged_ttl_ - 1) + " more live records)"
                    : "") +
               ", but the flags lack kHasTtl (1): reads would show it after "
               "its TTL runs out");
  if (!reached_tail) {
    desc_error("the value chain from head page " + num(d_.head) +
               " does not reach the tail page " + num(d_.tail));
    return;
  }
  check_descriptor(reached_tail, expect_known ? expect : 0);
}

void ChainWalker::check_descriptor(bool reached_tail,
                                   std::uint64_t chain_next_key) {
  // Totals mean something only for a chain that read cleanly.
  if (!reached_tail || errors != 0)
    return;
  if (chain_next_key != d_.next_key)
    desc_error("next key is " + num(d_.next_key) +
               ", but the chain's last record has key " +
               num(chain_next_key - 1));
  if (st_.records != d_.next_key - d_.first_key &&
      chain_next_key == d_.next_key)
    desc_error("keys " + num(d_.first_key) + ".." + num(d_.next_key - 1) +
               " are live, but the chain holds " + num(st_.records) +
               " of them");
  if (st_.data_pages != d_.data_pages)
    desc_error("says " + num(d_.data_pages) +
               " data pages, but the chain has " + num(st_.data_pages));
  if (st_.payload_bytes != d_.bytes)
    desc_error("says " + num(d_.bytes) +
               " payload bytes, but the records hold " +
               num(st_.payload_bytes));
  if (first_ts_ && *first_ts_ != d_.first_ts)
    desc_error("first timestamp is " + num(d_.first_ts) + ", but record " +
               num(d_.first_key) + " has " + num(*first_ts_));
  if (last_ts_ && last_key_ && *last_key_ + 1 == d_.next_key &&
      *last_ts_ != d_.last_ts)
    desc_error("last timestamp is " + num(d_.last_ts) + ", but record " +
               num(*last_key_) + " has " + num(*last_ts_));
}

// ---------------------------------------------------------------------------
// Free list walk (FORMAT.md section 9)

class FreeWalker {
public:
  FreeWalker(const File& f, Sink& sink, Claims& claims, FreeListView* view)
      : f_(f), sink_(sink), claims_(claims), view_(view), ps_(f.page_size()) {}

  std::uint64_t dir_pages = 0, chunk_pages = 0, free_pages = 0, reusable = 0;

  void run() {
    std::uint32_t pg = f_.free_root();
    std::uint32_t from = static_cast<std::uint32_t>(f_.current());
    std::string link = meta_link(f_, "free-list root");
    std::uint64_t last_tag = 0;
    std::vector<std::uint8_t> buf(ps_), chunk(ps_);
    const std::uint8_t* p = buf.data();
    while (pg != fmt::kNoPage) {
      if (!claims_.claim(pg, Owner{Kind::FreeDir, 0, from}, link, sink_))
        return;
      if (!read_checked(pg, buf.data(), fmt::kFreeDirPage, "directory", from,
                        link))
        return;
      ++dir_pages;
      if (view_)
        view_->dir_pages.push_back(pg);
      const std::uint32_t count = get_u16(p + fmt::checked::kCount);
      if (kHdr + std::uint64_t{count} * fmt::freedir::kEntrySize > ps_) {
        error(pg,
              "directory entry count " + num(count) + " does not fit the page");
        return;
      }
      for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint8_t* e = p + kHdr + i * fmt::freedir::kEntrySize;
        FreeEntry fe;
        fe.dir_page = pg;
        fe.tag = get_u64(e + fmt::freedir::kTag);
        fe.chunk = get_u32(e + fmt::freedir::kChunk);
        fe.count = get_u16(e + fmt::freedir::kCount);
        fe.used = get_u16(e + fmt::freedir::kUsed);
        const std::string what = "directory entry " + num(i);
        if (fe.tag < last_tag)
          error(pg, what + ": tag " + num(fe.tag) +
                        " is below the previous entry's tag " + num(last_tag) +
                        " (entries are in commit order)");
        if (fe.tag > f_.txn_id())
          error(pg, what + ": tag " + num(fe.tag) +
                        " is after the snapshot's txn " + num(f_.txn_id()));
        last_tag = std::max(last_tag, fe.tag);
        if (fe.used >= fe.count)
          error(pg, what + ": used " + num(fe.used) + " is not below count " +
                        num(fe.count));
        walk_chunk(fe, pg, i, chunk.data());
        if (view_)
          view_->entries.push_back(std::move(fe));
      }
      from = pg;
      link = "the next link of free-list directory page " + num(pg);
      pg = get_u32(p + fmt::checked::kLink);
    }
  }

private:
  void error(std::uint32_t pgno, const std::string& msg) {
    sink_.error(pgno, "free list: " + msg);
  }

  // Reads a checked free-list page, reached from page `from` by `link`;
  // false if it cannot be interpreted.
  bool read_checked(std::uint32_t pg, std::uint8_t* p, std::uint8_t type,
                    const char* what, std::uint32_t from,
                    const std::string& link) {
    std::string why;
    if (!f_.read_page(pg, p, &why)) {
      error(pg, "cannot read: " + why);
      return false;
    }
    if (p[fmt::checked::kType] != type) {
      claims_.release(pg);
      error(from, link + " points to page " + num(pg) + ", of type " +
                      num(p[0]) + ", not a free-list " + what + " page (type " +
                      num(type) + ")");
      return false;
    }
    std::uint32_t stored = get_u32(p + fmt::checked::kCrc);
    std::uint32_t computed = page_crc(p, ps_);
    if (stored != computed)
      error(pg, "checksum mismatch (stored " + hex32(stored) + ", computed " +
                    hex32(computed) + ")");
    if (get_u32(p + fmt::checked::kPageNo) != pg)
      error(pg, "the page records page number " +
                    num(get_u32(p + fmt::checked::kPageNo)) +
                    " (a misdirected write?)");
    std::uint64_t txn = get_u64(p + fmt::checked::kTxnId);
    if (txn > f_.txn_id())
      error(pg, "written by txn " + num(txn) + ", after the snapshot's txn " +
                    num(f_.txn_id()));
    if (p[1] != 0 || get_u32(p + 4) != 0 || get_u32(p + 28) != 0 ||
        (type == fmt::kFreeChunkPage && get_u32(p + fmt::checked::kLink) != 0))
      error(pg, "reserved header bytes are not zero");
    return true;
  }

  void walk_chunk(FreeEntry& fe, std::uint32_t dir, std::uint32_t i,
                  std::uint8_t* p) {
    const std::string link =
        "entry " + num(i) + " of free-list directory page " + num(dir);
    if (!claims_.claim(fe.chunk, Owner{Kind::FreeChunk, 0, dir}, link, sink_))
      return;
    if (!read_checked(fe.chunk, p, fmt::kFreeChunkPage, "chunk", dir, link))
      return;
    ++chunk_pages;
    const std::uint32_t count = get_u16(p + fmt::checked::kCount);
    if (count != fe.count)
      error(fe.chunk, "holds " + num(count) +
                          " page numbers, but its entry "
                          "in directory page " +
                          num(dir) + " says " + num(fe.count));
    if (kHdr + std::uint64_t{count} * 4 > ps_) {
      error(fe.chunk,
            "page number count " + num(count) + " does not fit the page");
      return;
    }
    const bool can_reuse = fe.tag + 1 <= f_.txn_id();
    for (std::uint32_t k = fe.used; k < count; ++k) {
      const std::uint32_t free = get_u32(p + kHdr + 4 * k);
      if (!claims_.claim(free, Owner{Kind::Free, 0, fe.chunk},
                         "entry " + num(k) + " of free-list chunk " +
                             num(fe.chunk),
                         sink_))
        continue;
      ++free_pages;
      reusable += can_reuse;
      fe.pages.push_back(free);
    }
  }

  const File& f_;
  Sink& sink_;
  Claims& claims_;
  FreeListView* view_;
  std::uint32_t ps_;
};

// ---------------------------------------------------------------------------
// The catalog entries

// Checks descriptor `d`'s fields (FORMAT.md section 5), reporting on `page`
// after `what`; false if the descriptor cannot be used.
bool check_fields(const File& f, const Descriptor& d, std::uint32_t page,
                  const std::string& what, Sink& sink) {
  bool ok = true;
  if (d.first_key == 0 || d.first_key > d.next_key) {
    sink.error(page, what + "first key " + num(d.first_key) + " and next key " +
                         num(d.next_key) +
                         " are out of order (1 <= first key <= next key)");
    ok = false;
  }
  if (d.head != 0 && d.tail != 0 &&
      (d.tail_offset < kHdr || d.tail_offset > f.page_size())) {
    sink.error(page, what + "tail offset " + num(d.tail_offset) +
                         " is outside [32, page size]");
    ok = false;
  }
  if (d.id == 0 || d.id >= f.next_stream_id())
    sink.error(page, what + "stream id " + num(d.id) +
                         " is not below the meta page's next stream id " +
                         num(f.next_stream_id()));
  if ((d.flags & ~fmt::desc::kHasTtl) != 0)
    sink.error(page, what + "flags " + num(d.flags) + " are not known");
  // Every commit that changes a stream expires it down to its limits, so a
  // committed descriptor is within them (max age needs a clock: not here).
  const char* why = " (a commit that changes a stream expires it down to "
                    "its retention)";
  if (ok && d.max_records && d.next_key - d.first_key > d.max_records)
    sink.error(page, what + num(d.next_key - d.first_key) +
                         " live records, over the retention's max records " +
                         num(d.max_records) + why);
  if (d.max_bytes && d.bytes > d.max_bytes)
    sink.error(page, what + num(d.bytes) +
                         " payload bytes, over the retention's max bytes " +
                         num(d.max_bytes) + why);
  return ok;
}

// Checks one catalog entry, and the overlay's descriptor that replaces it;
// false if the current descriptor cannot be used. The tree's descriptor is
// checked even when replaced: a commit wrote it whole, so it keeps every
// rule, and damage there is damage (as for expired records).
bool check_entry(const File& f, const Stream& s, Sink& sink) {
  const std::string what = desc_what(s.name, false, s.leaf);
  if (!valid_stream_name(s.name))
    sink.error(s.leaf, what + "not a valid stream name (1 to 128 bytes of "
                              "[A-Za-z0-9_.-], starting with a letter or _)");
  bool tree_ok = s.value_size >= fmt::desc::kSize;
  if (!tree_ok)
    sink.error(s.leaf, what + "the descriptor is " + num(s.value_size) +
                           " bytes, shorter than 104");
  else
    tree_ok = check_fields(f, s.tree, s.leaf, what, sink);
  if (!s.overlaid)
    return tree_ok;
  return check_fields(f, s.d, s.desc_page, desc_what(s), sink);
}

// Replaces the tree's descriptors in `ss` with the entries of the current
// meta page's overlay (the first entry of a name, where the engine refuses
// a name given twice as Corrupt; names the tree does not hold are not
// streams, where the engine refuses them when it lists streams), and
// reports what the engine would refuse or that no writer makes: malformed
// entries, names the tree does not hold, a name twice, and an id other
// than the tree entry's.
void apply_overlay(const File& f, std::vector<Stream>& ss, Sink& sink) {
  const MetaSlot& m = f.meta(f.current());
  const auto slot = static_cast<std::uint32_t>(f.current());
  const std::string what = "meta page " + num(slot) + " overlay: ";
  if (!m.overlay_malformed.empty())
    sink.error(slot, what + m.overlay_malformed);
  if (m.overlay.empty())
    return;
  std::unordered_map<std::string_view, std::size_t> tree;
  for (std::size_t i = 0; i < ss.size(); ++i)
    tree.emplace(ss[i].name, i);
  std::unordered_map<std::string_view, std::uint32_t> seen; // name -> offset
  for (const OverlayEntry& e : m.overlay) {
    const std::string entry = "the entry at offset " + num(e.offset);
    if (auto [it, fresh] = seen.emplace(e.name, e.offset); !fresh) {
      sink.error(slot, what + entry + " names stream " + text::quote(e.name) +
                           " again (the entry at offset " + num(it->second) +
                           " is the one read)");
      continue;
    }
    auto it = tree.find(e.name);
    if (it == tree.end()) {
      sink.error(slot, what + entry + " names stream " + text::quote(e.name) +
                           ", which the catalog tree does not hold (an "
                           "overlay only replaces the tree's descriptors)");
      continue;
    }
    Stream& s = ss[it->second];
    s.overlaid = true;
    s.d = e.d;
    s.desc_page = slot;
    s.overlay_offset = e.offset;
    if (s.value_size >= fmt::desc::kSize && s.tree.id != s.d.id)
      sink.error(slot, desc_what(s) + "stream id " + num(s.d.id) +
                           " differs from the catalog tree's " +
                           num(s.tree.id) + " (catalog page " + num(s.leaf) +
                           ")");
  }
}

} // namespace

// ---------------------------------------------------------------------------
// File

File::File(const std::string& path)
    : File(std::make_unique<FileSource>(path), path) {
  pin(path);
}

void File::pin(const std::string& path) {
  const std::string lock_path = path + "-lock";
  std::error_code ec;
  if (!std::filesystem::exists(lock_path, ec)) // never opened for writing
    return;
  try {
    lock_ = std::make_unique<os::File>(lock_path, os::File::Mode::ReadWrite);
    readers_ = std::make_unique<ReaderTable>(*lock_);
  } catch (const Error&) { // not ours to write, or every slot taken
    readers_.reset();
    lock_.reset();
    return;
  }
  // As Pager::acquire: a writer that read the table before the snapshot
  // was published may reuse pages freed by the commit after it, once one
  // more exists. Then choose again (a few times: the check notices a
  // snapshot that moved all the same).
  for (int attempt = 0; attempt < 8 && has_snapshot(); ++attempt) {
    const std::uint64_t txn = txn_id();
    readers_->publish(txn);
    if (newest_txn_on_disk() <= txn + 1)
      return;
    file_size_ = src_->size();
    meta_problems_.clear();
    choose_meta();
  }
}

File File::from_bytes(std::string bytes, std::string name) {
  return File(std::make_unique<MemorySource>(std::move(bytes)),
              std::move(name));
}

File::File(std::unique_ptr<Source> src, std::string path)
    : src_(std::move(src)), path_(std::move(path)) {
  file_size_ = src_->size();
  choose_meta();
}

File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

namespace {

MetaSlot decode_meta(std::uint32_t slot, std::uint64_t offset,
                     const std::uint8_t* m) {
  MetaSlot s;
  s.slot = slot;
  s.offset = offset;
  s.found = true;
  s.magic = std::memcmp(m, fmt::kMagic, sizeof fmt::kMagic) == 0;
  s.version = get_u32(m + fmt::meta::kVersion);
  s.page_size = get_u32(m + fmt::meta::kPageSize);
  s.txn_id = get_u64(m + fmt::meta::kTxnId);
  s.page_count = get_u32(m + fmt::meta::kPageCount);
  s.catalog_root = get_u32(m + fmt::meta::kCatalogRoot);
  s.free_root = get_u32(m + fmt::meta::kFreeRoot);
  s.next_stream_id = get_u64(m + fmt::meta::kNextStreamId);
  s.range_count = get_u32(m + fmt::meta::kRangeCount);
  s.range_list_crc = get_u32(m + fmt::meta::kRangeListCrc);
  if (s.version >= 4) { // before, reserved: ignored, whatever they hold
    s.overlay_size = get_u32(m + fmt::meta::kOverlaySize);
    s.overlay_crc = get_u32(m + fmt::meta::kOverlayCrc);
  }
  s.overlay_offset =
      fmt::meta::kSize + std::uint64_t{s.range_count} * fmt::meta::kRangeSize;
  s.stored_crc = get_u32(m + fmt::meta::kCrc);
  s.computed_crc = crc32c::value(m, fmt::meta::kCrc);
  s.crc_ok = s.stored_crc == s.computed_crc;
  if (!s.magic)
    s.status = "bad magic";
  else if (!s.crc_ok)
    s.status = "checksum mismatch (stored " + hex32(s.stored_crc) +
               ", computed " + hex32(s.computed_crc) + ")";
  else if (!readable_version(s.version))
    s.status = "format version " + num(s.version);
  else if (!valid_page_size(s.page_size))
    s.status = "page size " + num(s.page_size) +
               " is not a power of two from 1024 to 32768";
  else if (s.txn_id % 2 != slot)
    s.status = "txn id " + num(s.txn_id) + " belongs in meta page " +
               num(s.txn_id % 2) + " (a meta page copied to the wrong place?)";
  else
    s.valid = true;
  if (s.valid)
    s.status = "valid";
  return s;
}

// The CRC32C of the n bytes at off, read in pieces: a damaged length must
// not cost memory.
bool crc_of(const File& f, std::uint64_t off, std::uint32_t n,
            std::uint32_t& crc, std::string* why) {
  constexpr std::uint32_t kPiece = 64 * 1024;
  std::vector<std::uint8_t> buf(std::min(n, kPiece));
  crc = 0;
  while (n > 0) {
    const std::uint32_t piece = std::min(n, kPiece);
    if (!f.read_at(off, buf.data(), piece, why))
      return false;
    crc = crc32c::extend(crc, buf.data(), piece);
    off += piece;
    n -= piece;
  }
  return true;
}

// Decodes the entries of an overlay that `s` read from its meta page `m`,
// up to the first malformed one (format.h: u8 name length k in 1..128, k
// bytes of name, a 104-byte descriptor).
void decode_overlay(const std::uint8_t* m, MetaSlot& s) {
  const auto end =
      static_cast<std::uint32_t>(s.overlay_offset + s.overlay_size);
  for (auto at = static_cast<std::uint32_t>(s.overlay_offset); at < end;) {
    const std::uint32_t k = m[at];
    const std::string entry = "the entry at offset " + num(at);
    if (k == 0 || k > kMaxStreamNameSize) {
      s.overlay_malformed = entry + " has name length " + num(k) +
                            ", not 1 to " + num(kMaxStreamNameSize);
      return;
    }
    if (std::uint64_t{at} + 1 + k + fmt::desc::kSize > end) {
      s.overlay_malformed =
          entry + " (1 + " + num(k) + " + " + num(fmt::desc::kSize) +
          " bytes) runs past the overlay's end at offset " + num(end);
      return;
    }
    s.overlay.push_back(OverlayEntry{at, std::string(as_sv(m + at + 1, k)),
                                     fmt::desc::decode(m + at + 1 + k)});
    at += 1 + k + static_cast<std::uint32_t>(fmt::desc::kSize);
  }
}

// Judges the descriptor overlay of the valid slot `s` as open does
// (engine/pager.cpp, choose_meta and read_overlay), from `page`, the
// `have` bytes of its meta page that lie inside the file: an overlay the
// file does not hold whole fails, as a torn one does. Returns why open
// takes the commit for torn on this count, or "".
std::string judge_overlay(const std::uint8_t* page, std::size_t have,
                          MetaSlot& s) {
  if (s.overlay_size == 0) {
    s.overlay_status = "none";
    s.overlay_ok = true;
    return "";
  }
  if (s.overlay_offset + s.overlay_size > s.page_size) {
    s.overlay_status = "runs past the end of the meta page (" +
                       num(s.overlay_size) + " bytes at offset " +
                       num(s.overlay_offset) + ", page size " +
                       num(s.page_size) + ")";
    return "its descriptor overlay " + s.overlay_status;
  }
  if (s.overlay_offset + s.overlay_size > have) {
    const std::string why = "the meta page is cut short (the file ends " +
                            num(have) + " bytes into it)";
    s.overlay_status = "cannot be read: " + why;
    return why;
  }
  s.overlay_read = true;
  s.computed_overlay_crc =
      crc32c::value(page + s.overlay_offset, s.overlay_size);
  decode_overlay(page, s);
  s.overlay_ok = s.computed_overlay_crc == s.overlay_crc;
  if (s.overlay_ok) {
    s.overlay_status = "ok";
    return "";
  }
  s.overlay_status = "does not match its CRC (stored " + hex32(s.overlay_crc) +
                     ", computed " + hex32(s.computed_overlay_crc) + ")";
  return "its descriptor overlay " + s.overlay_status;
}

// Decodes the commit range list of the valid slot `s` (from `page`, the
// `have` bytes of its meta page inside the file, where it lies there) and
// judges it as open does (FORMAT.md
// section 2, step 6): the first failure goes to s.incomplete, unless that
// already says why. Every range gets a status, so that all can be shown.
void judge_range_list(const File& f, const std::uint8_t* page,
                      std::size_t have, MetaSlot& s) {
  const std::uint32_t n = s.range_count;
  const std::uint32_t ps = s.page_size;
  const std::uint64_t end = std::uint64_t{s.page_count} * ps;
  auto fail = [&](std::string why) {
    if (s.incomplete.empty())
      s.incomplete = std::move(why);
  };
  if (n == 0) // nothing listed: the pages were synced first
    return;
  if (n > fmt::meta::max_ranges(ps)) {
    fail("range count " + num(n) + " exceeds the " +
         num(fmt::meta::max_ranges(ps)) + " a " + num(ps) +
         "-byte meta page holds");
    return;
  }
  if (f.file_size() < end)
    fail("the file is shorter than the commit's page count (" +
         num(f.file_size()) + " bytes, " + num(s.page_count) + " pages need " +
         num(end) + ")");
  std::vector<std::uint8_t> list(std::size_t{n} * fmt::meta::kRangeSize);
  std::string why;
  if (fmt::meta::kSize + list.size() <= have)
    std::memcpy(list.data(), page + fmt::meta::kSize, list.size());
  else if (!f.read_at(s.offset + fmt::meta::kSize, list.data(), list.size(),
                      &why)) {
    fail("the range list cannot be read: " + why);
    return;
  }
  s.list_read = true;
  s.computed_range_list_crc = crc32c::value(list.data(), list.size());
  if (s.computed_range_list_crc != s.range_list_crc)
    fail("the range list's CRC does not match (stored " +
         hex32(s.range_list_crc) + ", computed " +
         hex32(s.computed_range_list_crc) + ")");
  // Entries are in file order, so the ranges read add up to at most the
  // file, whatever a list with valid CRCs claims.
  std::uint64_t from = 2 * std::uint64_t{ps};
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint8_t* e =
        list.data() + std::size_t{i} * fmt::meta::kRangeSize;
    CommitRange r;
    r.offset = get_u64(e + fmt::meta::kRangeOffset);
    r.length = get_u32(e + fmt::meta::kRangeLength);
    r.stored_crc = get_u32(e + fmt::meta::kRangeCrc);
    if (r.length == 0)
      r.status = "has length 0";
    else if (r.offset < 2 * std::uint64_t{ps} || r.offset > end ||
             r.length > end - r.offset)
      r.status = "lies outside pages [2, " + num(s.page_count) + ")";
    else if (r.offset < from)
      r.status = "starts before the end of the range before it";
    else if (from = r.offset + r.length;
             !(r.read = crc_of(f, r.offset, r.length, r.computed_crc, &why)))
      r.status = "cannot be read: " + why;
    else if (r.computed_crc != r.stored_crc)
      r.status = "does not match its CRC (stored " + hex32(r.stored_crc) +
                 ", computed " + hex32(r.computed_crc) + ")";
    else
      r.ok = true;
    if (r.ok)
      r.status = "ok";
    else
      fail("range " + num(i) + " (offset " + num(r.offset) + ", " +
           num(r.length) + " bytes) " + r.status);
    s.ranges.push_back(std::move(r));
  }
}

// Judges the commit of the valid slot `s` as open does: its overlay, then
// its range list; s.complete says whether it reached the file whole, and
// s.incomplete why not (the first failure in open's order). Reads the
// whole meta page once and decodes `s` afresh from it, so that what is
// judged is one meta page even if a writer rewrites it meanwhile; then
// reads the listed ranges (at most the file).
void judge_commit(const File& f, MetaSlot& s) {
  // As much of the page as the file holds (at least the 64 bytes read
  // before): a meta page cut short by the end of the file fails only if
  // its overlay or list lies past the end.
  const std::size_t have = static_cast<std::size_t>(
      std::min<std::uint64_t>(s.page_size, f.file_size() - s.offset));
  std::vector<std::uint8_t> page(have);
  if (have < fmt::meta::kSize || !f.read_at(s.offset, page.data(), have)) {
    s.valid = false;
    s.status = "changed while it was read (the file shrank?)";
    return;
  }
  s = decode_meta(s.slot, s.offset, page.data());
  if (s.valid && s.page_size < have) {
    s.valid = false;
    s.status = "changed while it was read (a writer committed?)";
  }
  if (!s.valid) // rewritten since, and torn as read: not a candidate
    return;
  s.incomplete = judge_overlay(page.data(), have, s);
  judge_range_list(f, page.data(), have, s);
  s.complete = s.incomplete.empty();
}

} // namespace

void File::choose_meta() {
  snap_ = MetaSlot{};
  page_size_ = 0;
  auto not_klite = [&](const std::string& why) {
    return Error(ErrorCode::NotKlite,
                 path_ + ": not a klite file (" + why + ")");
  };
  if (file_size_ < fmt::meta::kSize)
    throw not_klite(file_size_ == 0 ? "empty" : "too small");
  std::uint8_t buf[fmt::meta::kSize];
  if (!src_->read(0, buf, sizeof buf))
    throw not_klite("too small");
  metas_[0] = decode_meta(0, 0, buf);
  const MetaSlot& m0 = metas_[0];

  // Meta page 1 sits at offset page_size. If meta page 0 is damaged its
  // page size cannot be trusted: try every legal one (FORMAT.md section 2).
  std::vector<MetaSlot> ones;
  for (std::uint32_t ps = fmt::kMinPageSize; ps <= fmt::kMaxPageSize; ps *= 2) {
    if (m0.magic && m0.crc_ok && m0.page_size != ps)
      continue;
    if (!src_->read(ps, buf, sizeof buf))
      break;
    MetaSlot c = decode_meta(1, ps, buf);
    if (c.magic && c.page_size == ps)
      ones.push_back(c);
  }
  for (const MetaSlot* c = &m0;;) {
    if (c->magic && c->crc_ok && !readable_version(c->version))
      throw Error(ErrorCode::Unsupported,
                  path_ + ": unsupported format version " + num(c->version) +
                      " (this build reads " + num(fmt::kOldestReadableVersion) +
                      " to " + num(fmt::kFormatVersion) + ")");
    if (c == &m0) {
      if (ones.empty())
        break;
      c = ones.data();
    } else if (++c == ones.data() + ones.size()) {
      break;
    }
  }
  // Slot 1 as shown: the best valid candidate, else the first found.
  metas_[1] = MetaSlot{};
  metas_[1].slot = 1;
  metas_[1].status = "not found (no meta page at offset page size)";
  metas_[1].offset = m0.magic && m0.crc_ok ? m0.page_size : 0;
  for (const MetaSlot& c : ones)
    if (!metas_[1].found ||
        (c.valid && (!metas_[1].valid || c.txn_id > metas_[1].txn_id)))
      metas_[1] = c;

  for (MetaSlot& m : metas_)
    if (m.valid)
      judge_commit(*this, m);

  const MetaSlot& m1 = metas_[1];
  if (!m0.valid && !m1.valid) {
    if (!m0.magic && !m1.magic)
      throw not_klite("bad magic");
    current_ = -1;
    choice_ = "no meta page is valid: meta page 0: " + m0.status +
              "; meta page 1: " + m1.status;
    meta_problems_.push_back(Problem{0,
                                     "no meta page with a valid checksum "
                                     "(meta page 0: " +
                                         m0.status +
                                         "; meta page 1: " + m1.status + ")",
                                     false});
    for (const MetaSlot* c : {&m0, &m1})
      if (c->magic && valid_page_size(c->page_size)) {
        page_size_ = c->page_size;
        break;
      }
    return;
  }
  // The newest valid meta page, unless its commit did not complete and the
  // other one is valid (FORMAT.md section 2, steps 5 and 6).
  const int newest = m1.valid && (!m0.valid || m1.txn_id > m0.txn_id) ? 1 : 0;
  const bool fell_back = !metas_[newest].complete && metas_[1 - newest].valid;
  const int chosen = fell_back ? 1 - newest : newest;
  const MetaSlot& cur = metas_[chosen];
  const MetaSlot& other = metas_[1 - chosen];
  const std::uint32_t c = static_cast<std::uint32_t>(chosen);
  const std::uint32_t o = 1 - c;
  page_size_ = cur.page_size;
  auto name = [](const MetaSlot& m) {
    return "meta page " + num(m.slot) + " (txn " + num(m.txn_id) + ")";
  };
  const std::string torn = " holds a commit that did not complete";
  if (fell_back)
    meta_problems_.push_back(Problem{
        o,
        name(other) + torn + " (" + other.incomplete +
            "): a crash while a commit synced leaves this, and the next "
            "commit overwrites that meta page; if no commit was interrupted, "
            "its commit was lost",
        true});
  else if (!other.valid)
    meta_problems_.push_back(Problem{
        o,
        "meta page " + num(o) + " is not valid (" + other.status +
            "): a crash while a commit wrote it leaves this, and the next "
            "commit rewrites it; if no commit was interrupted, its commit "
            "was lost",
        true});
  if (!cur.overlay_ok) {
    // Open fails here (engine/pager.cpp, load_meta): the overlay holds the
    // current descriptors, and there is no older commit to fall back to.
    const std::string why =
        name(cur) + ": " + cur.incomplete +
        (fell_back ? "; meta page " + num(o) + torn
                   : "; meta page " + num(o) + " is not valid");
    current_ = -1;
    choice_ = "no meta page can be used: " + why;
    meta_problems_.push_back(
        Problem{c, why + ": there is no commit to open", false});
    return;
  }
  current_ = chosen;
  snap_ = cur;
  if (fell_back) {
    choice_ = name(cur) + " is current: " + name(other) + torn + " (" +
              other.incomplete + ")";
  } else if (other.valid) {
    choice_ = name(cur) + " is current: both meta pages are valid and it has "
                          "the larger txn id";
  } else {
    choice_ = name(cur) + " is current: meta page " + num(o) +
              " is not valid (" + other.status + ")";
    if (!cur.complete)
      meta_problems_.push_back(Problem{
          c,
          name(cur) + torn + " (" + cur.incomplete + "), and with meta page " +
              num(o) +
              " not valid there is none to fall back to: open uses it as it "
              "is",
          false});
  }
  // The other meta page's txn id need not be next to the current one's:
  // with Durability::Normal it holds the last synced commit, and the
  // commits since went to this one (FORMAT.md section 12).

  // FORMAT.md section 2, step 7: the chosen meta page's fields.
  if (cur.page_count < 2)
    meta_problems_.push_back(Problem{c,
                                     "meta page " + num(c) + ": page count " +
                                         num(cur.page_count) + " is below 2",
                                     false});
  const std::uint64_t need = std::uint64_t{cur.page_count} * cur.page_size;
  if (file_size_ < need)
    meta_problems_.push_back(Problem{
        c,
        "the file is truncated: " + num(file_size_) +
            " bytes, but the snapshot's " + num(cur.page_count) + " pages of " +
            num(cur.page_size) + " bytes need " + num(need),
        false});
}

std::uint64_t File::newest_txn_on_disk() const {
  std::uint64_t newest = 0;
  if (page_size_ == 0)
    return 0;
  for (std::uint32_t slot = 0; slot < 2; ++slot) {
    std::uint8_t buf[fmt::meta::kSize];
    if (!read_at(std::uint64_t{slot} * page_size_, buf, sizeof buf))
      continue;
    MetaSlot m = decode_meta(slot, std::uint64_t{slot} * page_size_, buf);
    if (m.valid && m.page_size == page_size_)
      newest = std::max(newest, m.txn_id);
  }
  return newest;
}

bool File::read_at(std::uint64_t off, void* buf, std::size_t n,
                   std::string* why) const {
  auto fail = [&](std::string w) {
    if (why)
      *why = std::move(w);
    return false;
  };
  if (off > file_size_ || n > file_size_ - off)
    return fail("bytes [" + num(off) + ", " + num(off + n) +
                ") are past the end of the file (" + num(file_size_) +
                " bytes)");
  try {
    if (!src_->read(off, buf, n))
      return fail("short read (the file shrank?)");
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return true;
}

bool File::read_page(std::uint32_t pgno, std::uint8_t* buf,
                     std::string* why) const {
  if (page_size_ == 0 || pgno >= file_pages()) {
    if (why)
      *why = page_size_ == 0
                 ? "no valid page size"
                 : "page " + num(pgno) + " is past the end of the file (" +
                       num(file_size_) + " bytes)";
    return false;
  }
  return read_at(std::uint64_t{pgno} * page_size_, buf, page_size_, why);
}

// ---------------------------------------------------------------------------
// Public functions

std::string describe_key(std::string_view key, KeyKind kind) {
  if (kind == KeyKind::Index && key.size() == 8)
    return num(get_u64_be(as_u8(key)));
  if (kind == KeyKind::Catalog)
    return text::quote(key);
  return "x'" + text::hex(key) + "'";
}

std::string describe_stream_flags(std::uint32_t flags) {
  return describe_bits(flags, fmt::desc::kHasTtl, "has TTL");
}

std::vector<Stream> streams(const File& f, std::vector<Problem>* problems) {
  std::vector<Problem> local;
  Sink sink(problems ? *problems : local, std::size_t(-1));
  std::vector<Stream> out;
  if (!f.has_snapshot() || f.page_count() < 2)
    return out;
  Claims claims(f, nullptr);
  TreeWalker w(f, sink, claims, Owner{Kind::Catalog, 0, 0}, KeyKind::Catalog,
               "the catalog");
  w.on_entry = [&](std::string_view k, std::string_view v, std::uint32_t leaf) {
    out.push_back(make_stream(k, v, leaf));
  };
  w.run(f.catalog_root(), static_cast<std::uint32_t>(f.current()),
        meta_link(f, "catalog root"));
  apply_overlay(f, out, sink);
  return out;
}

TreeView tree(const File& f, std::uint32_t root, KeyKind kind) {
  TreeView v;
  v.root = root;
  v.kind = kind;
  if (!f.has_snapshot() || f.page_count() < 2)
    return v;
  Sink sink(v.problems, std::size_t(-1));
  Claims claims(f, nullptr);
  TreeWalker w(f, sink, claims, Owner{Kind::Catalog, 0, 0}, kind,
               kind == KeyKind::Catalog ? "the catalog" : "the key index");
  w.on_node = [&](const TreeNode& n) {
    if (v.levels.size() <= static_cast<std::size_t>(n.level))
      v.levels.resize(static_cast<std::size_t>(n.level) + 1);
    v.levels[static_cast<std::size_t>(n.level)].push_back(n);
  };
  w.run(root, static_cast<std::uint32_t>(f.current()), "the root");
  v.entries = w.stats.entries;
  return v;
}

FreeListView freelist(const File& f) {
  FreeListView v;
  if (!f.has_snapshot() || f.page_count() < 2)
    return v;
  Sink sink(v.problems, std::size_t(-1));
  Claims claims(f, nullptr);
  FreeWalker w(f, sink, claims, &v);
  w.run();
  v.free_pages = w.free_pages;
  v.reusable_pages = w.reusable;
  return v;
}

Report check(const File& f, const CheckOptions& options) {
  Report r;
  Sink sink(r.problems, options.max_problems);
  for (const Problem& p : f.meta_problems()) {
    if (p.warning)
      sink.warn(p.page, p.message);
    else
      sink.error(p.page, p.message);
  }
  r.page_size = f.page_size();
  r.page_count = f.page_count();
  r.file_size = f.file_size();
  r.txn_id = f.txn_id();
  auto finish = [&] {
    r.errors = sink.errors;
    r.warnings = sink.warnings;
    r.problems_dropped = sink.dropped;
    return std::move(r);
  };
  if (!f.has_snapshot() || f.page_count() < 2)
    return finish();
  const std::uint32_t meta_page = static_cast<std::uint32_t>(f.current());

  // The catalog and its entries.
  std::vector<Stream> ss;
  Claims claims(f, &ss);
  {
    TreeWalker w(f, sink, claims, Owner{Kind::Catalog, 0, 0}, KeyKind::Catalog,
                 "the catalog");
    w.on_entry = [&](std::string_view k, std::string_view v,
                     std::uint32_t leaf) {
      ss.push_back(make_stream(k, v, leaf));
    };
    w.run(f.catalog_root(), meta_page, meta_link(f, "catalog root"));
    r.catalog = w.stats;
  }
  apply_overlay(f, ss, sink);
  std::unordered_map<std::uint64_t, std::size_t> ids;
  for (std::size_t i = 0; i < ss.size(); ++i) {
    const Stream& s = ss[i];
    StreamStats st;
    st.name = s.name;
    st.descriptor = s.d;
    st.overlaid = s.overlaid;
    if (!check_entry(f, s, sink)) {
      r.streams.push_back(std::move(st));
      continue;
    }
    if (auto [it, fresh] = ids.emplace(s.d.id, i); !fresh)
      sink.error(s.desc_page, "stream " + text::quote(s.name) + " has id " +
                                  num(s.d.id) + ", the id of stream " +
                                  text::quote(ss[it->second].name) + " too");
    const auto idx = static_cast<std::uint32_t>(i);

    // The key index: (key, page, leaf) in key order.
    struct IndexEntry {
      std::uint64_t key;
      std::uint32_t page, leaf;
    };
    std::vector<IndexEntry> index;
    const std::string index_name =
        "the key index of stream " + text::quote(s.name);
    {
      TreeWalker w(f, sink, claims, Owner{Kind::Index, idx, 0}, KeyKind::Index,
                   index_name);
      w.on_entry = [&](std::string_view k, std::string_view v,
                       std::uint32_t leaf) {
        if (k.size() != 8 || v.size() != 4) {
          sink.error(leaf, index_name + ": an entry " + "with a " +
                               num(k.size()) + "-byte key and a " +
                               num(v.size()) +
                               "-byte value (expected 8 and 4)");
          return;
        }
        index.push_back(
            IndexEntry{get_u64_be(as_u8(k)), get_u32(as_u8(v)), leaf});
      };
      w.run(s.d.index_root, s.desc_page,
            "the key index root of stream " + text::quote(s.name));
      st.index = w.stats;
    }

    // The value chain.
    ChainWalker chain(f, sink, claims, idx, s, st, nullptr);
    chain.run();

    // Every page where a record starts is indexed under its first key, and
    // every index entry is such a page.
    auto& starts = chain.starts;
    std::sort(starts.begin(), starts.end());
    std::unordered_map<std::uint32_t, std::uint64_t> start_of;
    for (auto [key, page] : starts)
      start_of.emplace(page, key);
    if (s.d.head != 0 && s.d.index_root == 0 && !starts.empty()) {
      sink.error(s.desc_page, "stream " + text::quote(s.name) +
                                  " has records but no key index (root 0)");
    } else {
      std::size_t a = 0, b = 0;
      while (a < index.size() || b < starts.size()) {
        if (b == starts.size() ||
            (a < index.size() && index[a].key < starts[b].first)) {
          const IndexEntry& e = index[a++];
          std::string why;
          if (auto it = start_of.find(e.page); it != start_of.end())
            why = "page " + num(e.page) + " starts with key " + num(it->second);
          else if (claims.owner(e.page).kind == Kind::Data &&
                   claims.owner(e.page).stream == idx)
            why = "no record starts on page " + num(e.page);
          else
            why = "page " + num(e.page) + " is not in the stream's chain";
          sink.error(e.leaf, index_name + ": entry " + num(e.key) +
                                 " -> page " + num(e.page) + ", but " + why);
        } else if (a == index.size() || starts[b].first < index[a].key) {
          auto [key, page] = starts[b++];
          sink.error(page, "stream " + text::quote(s.name) +
                               ": records start here from key " + num(key) +
                               ", but the key index has no entry for it");
        } else {
          const IndexEntry& e = index[a++];
          auto [key, page] = starts[b++];
          if (e.page != page)
            sink.error(e.leaf, index_name + ": entry " + num(e.key) +
                                   " -> page " + num(e.page) + ", but record " +
                                   num(key) + " starts data page " + num(page));
        }
      }
    }
    st.index.entries = index.size();
    r.records += st.records;
    r.payload_bytes += st.payload_bytes;
    r.streams.push_back(std::move(st));
  }

  // The free list.
  {
    FreeWalker w(f, sink, claims, nullptr);
    w.run();
    r.freelist_dir_pages = w.dir_pages;
    r.freelist_chunk_pages = w.chunk_pages;
    r.free_pages = w.free_pages;
    r.reusable_pages = w.reusable;
  }

  // Every page is reachable exactly once or free (FORMAT.md section 11).
  for (std::uint32_t pg = 2; pg < claims.size();) {
    if (claims.owner(pg).kind != Kind::None) {
      ++pg;
      continue;
    }
    std::uint32_t last = pg;
    while (last + 1 < claims.size() &&
           claims.owner(last + 1).kind == Kind::None)
      ++last;
    const std::uint64_t n = std::uint64_t{last} - pg + 1;
    r.unreachable_pages += n;
    sink.error(pg, n == 1
                       ? "page " + num(pg) +
                             " is neither reachable nor free (leaked)"
                       : "pages " + num(pg) + ".." + num(last) + " (" + num(n) +
                             " pages) are neither reachable nor free "
                             "(leaked)");
    pg = last + 1;
  }
  // Pages a writer freed after the snapshot may be reused from its third
  // commit on (FORMAT.md section 9); then what was read may mix two states.
  if (const std::uint64_t now = f.newest_txn_on_disk(); now >= f.txn_id() + 3) {
    r.snapshot_moved = true;
    if (sink.errors != 0)
      sink.warn(meta_page,
                "a writer committed " + num(now - f.txn_id()) +
                    " times during the check, so pages of the snapshot (txn " +
                    num(f.txn_id()) +
                    ") may have been reused under it and the problems above "
                    "may be spurious; check again, or check a quiet file");
  }
  return finish();
}

std::vector<Problem> dump(const File& f, std::string_view stream,
                          const std::function<void(const DumpRecord&)>& fn) {
  std::vector<Problem> problems;
  std::vector<Stream> ss = streams(f, &problems);
  auto it = std::find_if(ss.begin(), ss.end(),
                         [&](const Stream& s) { return s.name == stream; });
  if (it == ss.end())
    throw Error(ErrorCode::NoSuchStream,
                "no stream " + text::quote(stream) + " in " + f.path());
  Sink sink(problems, std::size_t(-1));
  if (!check_entry(f, *it, sink))
    return problems;
  std::vector<Stream> one{*it};
  Claims claims(f, &one);
  StreamStats st;
  ChainWalker chain(f, sink, claims, 0, one[0], st, &fn);
  chain.run();
  return problems;
}

// ---------------------------------------------------------------------------
// dump_page

namespace {

Field field(std::uint32_t off, std::uint32_t size, std::string name,
            std::uint64_t v) {
  return Field{off, size, std::move(name), num(v), true};
}
Field text(std::uint32_t off, std::uint32_t size, std::string name,
           std::string v) {
  return Field{off, size, std::move(name), std::move(v), false};
}

std::string preview(std::string_view v) {
  constexpr std::size_t kMax = 48;
  std::string s = text::quote(v.substr(0, kMax));
  if (v.size() > kMax)
    s += "...";
  return s;
}

void descriptor_fields(std::vector<Field>& out, std::uint32_t base,
                       const Descriptor& d) {
  namespace k = fmt::desc;
  out.push_back(field(base + k::kId, 8, "stream id", d.id));
  out.push_back(field(base + k::kIndexRoot, 4, "key index root", d.index_root));
  out.push_back(field(base + k::kHead, 4, "head page", d.head));
  out.push_back(field(base + k::kTail, 4, "tail page", d.tail));
  out.push_back(field(base + k::kTailOffset, 4, "tail offset", d.tail_offset));
  out.push_back(field(base + k::kFirstKey, 8, "first key", d.first_key));
  out.push_back(field(base + k::kNextKey, 8, "next key", d.next_key));
  out.push_back(field(base + k::kBytes, 8, "payload bytes", d.bytes));
  out.push_back(
      text(base + k::kFirstTs, 8, "first timestamp",
           num(d.first_ts) + " (" + text::format_iso8601(d.first_ts) + ")"));
  out.push_back(
      text(base + k::kLastTs, 8, "last timestamp",
           num(d.last_ts) + " (" + text::format_iso8601(d.last_ts) + ")"));
  out.push_back(
      text(base + k::kCreated, 8, "created",
           num(d.created) + " (" + text::format_iso8601(d.created) + ")"));
  auto limit = [](std::uint64_t v, std::string readable) {
    return v ? num(v) + (readable.empty() ? "" : " (" + readable + ")")
             : "0 (none)";
  };
  out.push_back(text(base + k::kMaxAge, 8, "retention max age (us)",
                     limit(d.max_age, text::describe_duration(d.max_age))));
  out.push_back(text(base + k::kMaxBytes, 8, "retention max bytes",
                     limit(d.max_bytes, text::describe_bytes(d.max_bytes))));
  out.push_back(text(base + k::kMaxRecords, 8, "retention max records",
                     limit(d.max_records, "")));
  out.push_back(field(base + k::kDataPages, 4, "data pages", d.data_pages));
  out.push_back(
      text(base + k::kFlags, 4, "flags",
           num(d.flags) + " (" + describe_stream_flags(d.flags) + ")"));
}

void checked_header(PageDump& out, const std::uint8_t* p, std::uint32_t ps,
                    const char* link_name) {
  namespace c = fmt::checked;
  const std::uint32_t stored = get_u32(p + c::kCrc);
  const std::uint32_t computed = page_crc(p, ps);
  out.header.push_back(field(c::kType, 1, "page type", p[c::kType]));
  out.header.push_back(field(1, 1, "reserved", p[1]));
  out.header.push_back(field(c::kCount, 2, "count", get_u16(p + c::kCount)));
  out.header.push_back(field(c::kContentStart, 2, "content start",
                             get_u16(p + c::kContentStart)));
  out.header.push_back(field(6, 2, "reserved", get_u16(p + 6)));
  out.header.push_back(text(c::kCrc, 4, "crc", crc_check(stored, computed)));
  out.header.push_back(
      field(c::kPageNo, 4, "page number", get_u32(p + c::kPageNo)));
  out.header.push_back(field(c::kTxnId, 8, "txn id", get_u64(p + c::kTxnId)));
  out.header.push_back(field(c::kLink, 4, link_name, get_u32(p + c::kLink)));
  out.header.push_back(field(28, 4, "reserved", get_u32(p + 28)));
  if (stored != computed)
    out.notes.push_back("checksum mismatch");
  if (get_u32(p + c::kPageNo) != out.pgno)
    out.notes.push_back("the page records another page number");
}

void tree_page(const File& f, PageDump& out, const std::uint8_t* p) {
  const std::uint32_t ps = f.page_size();
  const bool leaf = p[0] == fmt::kLeafPage;
  checked_header(out, p, ps, leaf ? "link (0)" : "leftmost child");
  const std::uint32_t count = get_u16(p + fmt::checked::kCount);
  if (kHdr + 2 * count > ps) {
    out.notes.push_back("cell count does not fit the page");
    return;
  }
  // Guess the tree: key index cells are an 8-byte key and a 4-byte page.
  bool index = true;
  std::vector<Cell> cells;
  for (std::uint32_t i = 0; i < count; ++i) {
    Cell c;
    c.off = get_u16(p + kHdr + 2 * i);
    const std::uint8_t* end = p + ps;
    std::uint64_t len;
    std::size_t n;
    if (c.off < kHdr + 2 * count || c.off >= ps ||
        (n = get_varint(p + c.off, end, len)) == 0 ||
        len > static_cast<std::uint64_t>(end - p - c.off) - n) {
      out.notes.push_back("cell " + num(i) + " does not decode");
      cells.push_back(Cell{c.off, 0, {}, {}, 0});
      continue;
    }
    const std::uint8_t* q = p + c.off + n;
    c.key = as_sv(q, static_cast<std::size_t>(len));
    q += len;
    if (leaf) {
      std::size_t m = get_varint(q, end, len);
      if (m == 0 || len > static_cast<std::uint64_t>(end - q) - m) {
        out.notes.push_back("cell " + num(i) + " does not decode");
        cells.push_back(Cell{c.off, 0, {}, {}, 0});
        continue;
      }
      c.value = as_sv(q + m, static_cast<std::size_t>(len));
      q += m + len;
      index = index && c.key.size() == 8 && c.value.size() == 4;
    } else {
      if (end - q < 4) {
        out.notes.push_back("cell " + num(i) + " does not decode");
        cells.push_back(Cell{c.off, 0, {}, {}, 0});
        continue;
      }
      c.child = get_u32(q);
      q += 4;
      index = index && c.key.size() == 8;
    }
    c.end = static_cast<std::uint32_t>(q - p);
    cells.push_back(c);
  }
  const KeyKind kind = index ? KeyKind::Index : KeyKind::Catalog;
  out.kind += index ? " (key index)" : " (catalog)";
  // The descriptors here that the current meta page's overlay replaces
  // are older than the streams' (format version 4).
  if (leaf && !index && f.has_snapshot() &&
      !f.meta(f.current()).overlay.empty())
    for (const Stream& s : streams(f, nullptr))
      if (s.overlaid && s.leaf == out.pgno)
        out.notes.push_back("stream " + text::quote(s.name) +
                            ": the overlay of meta page " + num(s.desc_page) +
                            " (the entry at offset " + num(s.overlay_offset) +
                            ") replaces this descriptor");
  for (std::uint32_t i = 0; i < cells.size(); ++i) {
    const Cell& c = cells[i];
    Item it;
    it.title = "cell " + num(i);
    it.fields.push_back(field(kHdr + 2 * i, 2, "slot: cell offset", c.off));
    if (c.end == 0) {
      out.items.push_back(std::move(it));
      continue;
    }
    const std::uint32_t key_off = static_cast<std::uint32_t>(as_u8(c.key) - p);
    it.fields.push_back(
        field(c.off, key_off - c.off, "key length", c.key.size()));
    it.fields.push_back(text(key_off, static_cast<std::uint32_t>(c.key.size()),
                             "key", describe_key(c.key, kind)));
    if (!leaf) {
      it.fields.push_back(field(c.end - 4, 4, "child", c.child));
    } else if (index) {
      it.fields.push_back(
          field(c.end - 4, 4, "data page", get_u32(as_u8(c.value))));
    } else {
      const std::uint32_t v_off =
          static_cast<std::uint32_t>(as_u8(c.value) - p);
      it.fields.push_back(
          field(key_off + static_cast<std::uint32_t>(c.key.size()),
                v_off - key_off - static_cast<std::uint32_t>(c.key.size()),
                "value length", c.value.size()));
      if (c.value.size() >= fmt::desc::kSize)
        descriptor_fields(it.fields, v_off, fmt::desc::decode(as_u8(c.value)));
      else
        it.fields.push_back(text(v_off,
                                 static_cast<std::uint32_t>(c.value.size()),
                                 "value", preview(c.value)));
    }
    out.items.push_back(std::move(it));
  }
}

void data_page(const File& f, PageDump& out, const std::uint8_t* p) {
  namespace dp = fmt::data;
  const std::uint32_t ps = f.page_size();
  const std::uint32_t cont = get_u16(p + dp::kCont);
  std::uint32_t end = get_u16(p + dp::kEnd);
  const std::uint64_t first_key = get_u64(p + dp::kFirstKey);
  const std::uint64_t base_ts = get_u64(p + dp::kBaseTs);
  out.header.push_back(field(dp::kType, 1, "page type", p[0]));
  out.header.push_back(
      text(dp::kFlags, 1, "flags",
           num(p[dp::kFlags]) + " (" +
               describe_bits(p[dp::kFlags], dp::kRecordsV3,
                             "records v3: TTL bits in record headers") +
               ")"));
  const bool v3 = p[dp::kFlags] & dp::kRecordsV3;
  out.header.push_back(field(dp::kCont, 2, "cont", cont));
  out.header.push_back(field(dp::kEnd, 2, "end (seal)", end));
  out.header.push_back(field(6, 2, "reserved", get_u16(p + 6)));
  out.header.push_back(field(dp::kPrev, 4, "prev", get_u32(p + dp::kPrev)));
  out.header.push_back(
      field(dp::kNext, 4, "next (seal)", get_u32(p + dp::kNext)));
  out.header.push_back(field(dp::kFirstKey, 8, "first key", first_key));
  out.header.push_back(
      text(dp::kBaseTs, 8, "base timestamp",
           num(base_ts) + " (" + text::format_iso8601(base_ts) + ")"));

  // A stream's tail page ends at the descriptor's tail offset, whatever its
  // (seal) end field says. On its head page, the records below its first
  // key are expired (FORMAT.md section 7).
  bool tail = false, head = false;
  std::uint64_t live_from = 0;
  if (f.has_snapshot() && out.pgno < f.page_count()) {
    for (const Stream& s : streams(f, nullptr)) {
      if (s.value_size < fmt::desc::kSize)
        continue;
      if (s.d.head == out.pgno && !head) {
        head = true;
        live_from = s.d.first_key;
        if (first_key < live_from || cont > 0)
          out.notes.push_back("the head page of stream " + text::quote(s.name) +
                              ": records below its first key " +
                              num(live_from) + " are expired");
      }
      if (s.d.tail == out.pgno && !tail) {
        out.notes.push_back("the tail page of stream " + text::quote(s.name) +
                            ": records end at its tail offset " +
                            num(s.d.tail_offset) + ", not at end");
        end = s.d.tail_offset;
        tail = true;
      }
    }
  }
  if (end > ps || kHdr + cont > end) {
    out.notes.push_back("cont " + num(cont) + " and end " + num(end) +
                        " are out of range; records not decoded");
    return;
  }
  if (cont > 0) {
    Item it;
    it.title = "continuation";
    it.fields.push_back(
        text(kHdr, cont, "bytes",
             num(cont) +
                 " bytes of a record begun on an "
                 "earlier page" +
                 (head ? " (expired; that page was dropped)" : "")));
    out.items.push_back(std::move(it));
  }
  std::uint32_t off = kHdr + cont;
  std::uint64_t ts = base_ts;
  for (std::uint64_t i = 0; off < end; ++i) {
    RecordHeader h;
    if (!parse_record_header(p, off, end, v3, h)) {
      out.notes.push_back("bad record header at offset " + num(off));
      return;
    }
    if (h.body_len > kMaxBody) {
      out.notes.push_back("the record at offset " + num(off) +
                          " has a body of " + num(h.body_len) +
                          " bytes, over the limit");
      return;
    }
    ts += h.ts_delta;
    const std::uint64_t key = first_key + i;
    Item it;
    it.title = "record " + num(key) + (key < live_from ? " (expired)" : "");
    it.fields.push_back(Field{0, 0, "key", num(key), true});
    it.fields.push_back(Field{0, 0, "timestamp",
                              num(ts) + " (" + text::format_iso8601(ts) + ")",
                              false});
    if (h.ttl) {
      const std::uint64_t e = expiry(ts, h.ttl);
      it.fields.push_back(Field{0, 0, "expires",
                                num(e) + " (" + text::format_iso8601(e) + ")",
                                false});
    }
    std::uint64_t len;
    const std::size_t n1 = get_varint(p + off, p + end, len); // as stored
    it.fields.push_back(
        field(off, static_cast<std::uint32_t>(n1), "body length", h.body_len));
    const std::uint32_t ttl_at = off + h.size - 4 - h.ttl_size;
    it.fields.push_back(
        text(off + static_cast<std::uint32_t>(n1),
             ttl_at - off - static_cast<std::uint32_t>(n1), "ts/flags",
             "delta " + num(h.ts_delta) +
                 (h.has_headers ? ", headers" : ", no headers") +
                 (h.ttl ? ", ttl" : "")));
    if (h.ttl)
      it.fields.push_back(
          text(ttl_at, h.ttl_size, "ttl",
               num(h.ttl) + " us (" + text::describe_duration(h.ttl) + ")"));
    const std::uint32_t body = off + h.size;
    const std::uint64_t body_end = std::uint64_t{body} + h.body_len;
    std::string crc_text = hex32(h.crc);
    if (body_end <= end) {
      std::string_view b =
          as_sv(p + body, static_cast<std::size_t>(h.body_len));
      std::uint32_t crc = crc32c::extend(
          record_crc_start(key, ts, p + off, h.size - 4), b.data(), b.size());
      crc_text = crc_check(h.crc, crc);
      it.fields.push_back(text(body - 4, 4, "crc", crc_text));
      std::string_view value;
      std::vector<std::pair<std::string_view, std::string_view>> hs;
      if (split_body(b, h.has_headers, value, &hs)) {
        for (auto& [name, v] : hs)
          it.fields.push_back(Field{0, 0, "header",
                                    text::quote(name) + " = " + text::quote(v),
                                    false});
        it.fields.push_back(
            text(body + static_cast<std::uint32_t>(b.size() - value.size()),
                 static_cast<std::uint32_t>(value.size()), "value",
                 num(value.size()) + " bytes " + preview(value)));
      } else {
        it.fields.push_back(text(body, static_cast<std::uint32_t>(b.size()),
                                 "body", "header block does not decode"));
      }
      out.items.push_back(std::move(it));
      off = static_cast<std::uint32_t>(body_end);
      continue;
    }
    it.fields.push_back(text(
        body - 4, 4, "crc",
        crc_text + " (not checked here: the body continues on the next page)"));
    it.fields.push_back(
        text(body, ps - body, "body",
             num(ps - body) + " of " + num(h.body_len) +
                 " body bytes; the rest follows on the next page"));
    out.items.push_back(std::move(it));
    if (body_end <= ps || tail || end != ps)
      out.notes.push_back("record " + num(key) + " runs past the page's data");
    return;
  }
}

void freedir_page(const File& f, PageDump& out, const std::uint8_t* p) {
  checked_header(out, p, f.page_size(), "next directory page");
  const std::uint32_t count = get_u16(p + fmt::checked::kCount);
  if (kHdr + count * fmt::freedir::kEntrySize > f.page_size()) {
    out.notes.push_back("entry count does not fit the page");
    return;
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t e =
        kHdr + i * static_cast<std::uint32_t>(fmt::freedir::kEntrySize);
    Item it;
    it.title = "entry " + num(i);
    it.fields.push_back(field(e + fmt::freedir::kTag, 8, "tag (freed by txn)",
                              get_u64(p + e + fmt::freedir::kTag)));
    it.fields.push_back(field(e + fmt::freedir::kChunk, 4, "chunk page",
                              get_u32(p + e + fmt::freedir::kChunk)));
    it.fields.push_back(field(e + fmt::freedir::kCount, 2, "count",
                              get_u16(p + e + fmt::freedir::kCount)));
    it.fields.push_back(field(e + fmt::freedir::kUsed, 2, "used",
                              get_u16(p + e + fmt::freedir::kUsed)));
    out.items.push_back(std::move(it));
  }
}

void freechunk_page(const File& f, PageDump& out, const std::uint8_t* p) {
  checked_header(out, p, f.page_size(), "link (0)");
  const std::uint32_t count = get_u16(p + fmt::checked::kCount);
  if (kHdr + count * 4 > f.page_size()) {
    out.notes.push_back("page number count does not fit the page");
    return;
  }
  Item it;
  it.title = "page numbers";
  for (std::uint32_t i = 0; i < count; ++i)
    it.fields.push_back(
        field(kHdr + 4 * i, 4, "[" + num(i) + "]", get_u32(p + kHdr + 4 * i)));
  out.items.push_back(std::move(it));
}

} // namespace

PageDump dump_page(const File& f, std::uint32_t pgno) {
  const std::uint32_t ps = f.page_size();
  if (ps == 0)
    throw Error(ErrorCode::InvalidArgument,
                f.path() + ": no meta page gives a usable page size");
  if (pgno >= f.file_pages())
    throw Error(ErrorCode::InvalidArgument,
                f.path() + ": page " + num(pgno) +
                    " is past the end of the "
                    "file (" +
                    num(f.file_pages()) + " pages of " + num(ps) + " bytes)");
  PageDump out;
  out.pgno = pgno;
  out.bytes.resize(ps);
  std::string why;
  if (!f.read_page(pgno, out.bytes.data(), &why))
    throw Error(ErrorCode::IO, f.path() + ": " + why);
  const std::uint8_t* p = out.bytes.data();
  out.beyond_page_count = f.has_snapshot() && pgno >= f.page_count();
  if (out.beyond_page_count)
    out.notes.push_back("past the snapshot's page count " +
                        num(f.page_count()) + ": not part of the database");
  if (pgno < 2) {
    out.kind = "meta";
    MetaSlot m = decode_meta(pgno, std::uint64_t{pgno} * ps, p);
    if (m.valid)
      judge_commit(f, m);
    out.header.push_back(
        text(0, 8, "magic",
             text::hex(as_sv(p, 8)) + (m.magic ? " (ok)" : " (BAD)")));
    out.header.push_back(field(8, 4, "format version", m.version));
    out.header.push_back(field(12, 4, "page size", m.page_size));
    out.header.push_back(field(16, 8, "txn id", m.txn_id));
    out.header.push_back(field(24, 4, "page count", m.page_count));
    out.header.push_back(field(28, 4, "catalog root", m.catalog_root));
    out.header.push_back(field(32, 4, "free-list root", m.free_root));
    out.header.push_back(field(36, 4, "range count", m.range_count));
    out.header.push_back(field(40, 8, "next stream id", m.next_stream_id));
    out.header.push_back(text(
        48, 4, "range list crc",
        m.list_read ? crc_check(m.range_list_crc, m.computed_range_list_crc)
                    : hex32(m.range_list_crc)));
    if (m.version >= 4) {
      out.header.push_back(field(52, 4, "overlay size", m.overlay_size));
      out.header.push_back(
          text(56, 4, "overlay crc",
               m.overlay_read ? crc_check(m.overlay_crc, m.computed_overlay_crc)
                              : hex32(m.overlay_crc)));
    } else { // reserved before version 4, and ignored
      out.header.push_back(field(52, 4, "reserved", get_u32(p + 52)));
      out.header.push_back(field(56, 4, "reserved", get_u32(p + 56)));
    }
    out.header.push_back(
        text(60, 4, "crc", crc_check(m.stored_crc, m.computed_crc)));
    for (std::size_t i = 0; i < m.ranges.size(); ++i) {
      const CommitRange& r = m.ranges[i];
      const auto at = static_cast<std::uint32_t>(fmt::meta::kSize +
                                                 i * fmt::meta::kRangeSize);
      Item it;
      it.title = "range " + num(i);
      it.fields.push_back(
          field(at + fmt::meta::kRangeOffset, 8, "offset", r.offset));
      it.fields.push_back(
          field(at + fmt::meta::kRangeLength, 4, "length", r.length));
      it.fields.push_back(
          text(at + fmt::meta::kRangeCrc, 4, "crc",
               r.read ? crc_check(r.stored_crc, r.computed_crc)
                      : hex32(r.stored_crc) + " (" + r.status + ")"));
      out.items.push_back(std::move(it));
    }
    for (std::size_t i = 0; i < m.overlay.size(); ++i) {
      const OverlayEntry& e = m.overlay[i];
      const auto k = static_cast<std::uint32_t>(e.name.size());
      Item it;
      it.title = "overlay entry " + num(i);
      it.fields.push_back(field(e.offset, 1, "name length", k));
      it.fields.push_back(
          text(e.offset + 1, k, "stream name", text::quote(e.name)));
      descriptor_fields(it.fields, e.offset + 1 + k, e.d);
      out.items.push_back(std::move(it));
    }
    out.notes.push_back(
        "meta page " + num(pgno) + ": " + m.status +
        (f.current() == static_cast<int>(pgno) ? " (current)" : ""));
    if (m.valid && m.overlay_status != "none")
      out.notes.push_back("its descriptor overlay (" + num(m.overlay_size) +
                          " bytes at offset " + num(m.overlay_offset) +
                          "): " + m.overlay_status);
    if (!m.overlay_malformed.empty())
      out.notes.push_back("its descriptor overlay: " + m.overlay_malformed);
    if (m.valid)
      out.notes.push_back(m.complete
                              ? "its commit is complete"
                              : "its commit did not complete: " + m.incomplete);
    return out;
  }
  switch (p[0]) {
  case fmt::kBranchPage:
    out.kind = "branch";
    tree_page(f, out, p);
    break;
  case fmt::kLeafPage:
    out.kind = "leaf";
    tree_page(f, out, p);
    break;
  case fmt::kDataPage:
    out.kind = "data";
    data_page(f, out, p);
    break;
  case fmt::kFreeDirPage:
    out.kind = "free-list directory";
    freedir_page(f, out, p);
    break;
  case fmt::kFreeChunkPage:
    out.kind = "free-list chunk";
    freechunk_page(f, out, p);
    break;
  default:
    out.kind = "unknown (type " + num(p[0]) + ")";
    out.notes.push_back(p[0] == 0 ? "type 0: a page never written, or free"
                                  : "not a page type of format version " +
                                        num(fmt::kFormatVersion));
  }
  return out;
}

} // namespace klite::inspect
