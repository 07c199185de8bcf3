// Damaged files (DESIGN.md sections 3, 7 and 8): every kind of damage to a
// klite file ends in a klite::Error with the documented code and a message
// naming the page, or, where the format tolerates the damage (a bad newest
// meta page, a byte nobody reads), in correct data; never a crash, a hang or
// a wrong value returned silently.
//
// The tests build small files through the API, close the engine, damage the
// file at offsets computed from engine/format.h, and reopen it. Pages are
// found by reading the file: the page size from meta page 0 (offset 12),
// the type of each page from its first byte.
//
// The fuzz-style cases share one sample file (~30 pages of 1 KiB) and one
// check (damaged_run): open, read everything (streams(), info, both scans,
// a get of every key) and compare with the expected state of the commit
// the engine shows, then write a record and do it again. A crash or hang
// prints the damage being tried (CrashContext). For bug hunts:
// KLITE_CORRUPTION_SCALE=N runs the random cases N times longer,
// KLITE_CORRUPTION_VERBOSE=1 prints every damage tried.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/crc32c.h"
#include "engine/format.h"
#include "test_util.h"

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

namespace {

namespace fmt = klite::format;
using klite::Engine;
using klite::Error;
using klite::ErrorCode;
using klite::Options;
using klite::ReadTxn;
using klite::WriteTxn;
using klite::test::catch_error;
using klite::test::contains;
using klite::test::FakeClock;
using klite::test::Rng;
using klite::test::TempDir;

// ---------------------------------------------------------------------------
// Byte helpers (little-endian, as format.h says).

std::uint16_t rd16(const std::string& b, std::size_t off) {
  return static_cast<std::uint16_t>(static_cast<std::uint8_t>(b[off]) |
                                    static_cast<std::uint8_t>(b[off + 1]) << 8);
}
std::uint32_t rd32(const std::string& b, std::size_t off) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = v << 8 | static_cast<std::uint8_t>(b[off + static_cast<std::size_t>(i)]);
  return v;
}
std::uint64_t rd64(const std::string& b, std::size_t off) {
  return rd32(b, off) | std::uint64_t{rd32(b, off + 4)} << 32;
}
void wr16(std::string& b, std::size_t off, std::uint16_t v) {
  for (std::size_t i = 0; i < 2; ++i)
    b[off + i] = static_cast<char>(v >> (8 * i));
}
void wr32(std::string& b, std::size_t off, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i)
    b[off + i] = static_cast<char>(v >> (8 * i));
}

// A varint (LEB128) at b[off]; returns its length, 0 if malformed.
std::size_t rd_varint(const std::string& b, std::size_t off, std::uint64_t& v) {
  v = 0;
  for (std::size_t i = 0; i < 10 && off + i < b.size(); ++i) {
    auto byte = static_cast<std::uint8_t>(b[off + i]);
    v |= std::uint64_t{byte & 0x7fu} << (7 * i);
    if ((byte & 0x80) == 0)
      return i + 1;
  }
  return 0;
}

// Damage done in place with std::fstream, as a bad disk or a stray write
// would: the rest of the file is untouched.
void xor_byte_in_file(const std::string& path, std::uint64_t off,
                      std::uint8_t mask) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekg(static_cast<std::streamoff>(off));
  char c = 0;
  REQUIRE(f.get(c));
  f.seekp(static_cast<std::streamoff>(off));
  f.put(static_cast<char>(c ^ static_cast<char>(mask)));
  REQUIRE(f.flush());
}
void write_in_file(const std::string& path, std::uint64_t off,
                   std::string_view bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekp(static_cast<std::streamoff>(off));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.flush());
}
std::string u32_bytes(std::uint32_t v) {
  std::string s(4, '\0');
  wr32(s, 0, v);
  return s;
}

// ---------------------------------------------------------------------------
// A whole file in memory, read the way a reader of docs/FORMAT.md would.

struct Image {
  std::string bytes;
  std::uint32_t ps = 0;

  static Image load(const std::string& path) {
    Image im;
    im.bytes = klite::test::read_file_bytes(path);
    REQUIRE(im.bytes.size() >= fmt::meta::kSize);
    im.ps = rd32(im.bytes, fmt::meta::kPageSize);
    REQUIRE(im.ps >= fmt::kMinPageSize);
    REQUIRE(im.ps <= fmt::kMaxPageSize);
    return im;
  }
  void save(const std::string& path) const {
    klite::test::write_file_bytes(path, bytes);
  }

  std::size_t at(std::uint32_t pg, std::size_t off = 0) const {
    return std::size_t{pg} * ps + off;
  }
  bool meta_valid(int slot) const {
    std::size_t base = at(static_cast<std::uint32_t>(slot));
    return bytes.compare(base, 8, reinterpret_cast<const char*>(fmt::kMagic),
                         8) == 0 &&
           klite::crc32c::value(bytes.data() + base, fmt::meta::kCrc) ==
               rd32(bytes, base + fmt::meta::kCrc);
  }
  std::uint64_t meta_txn(int slot) const {
    return rd64(bytes, at(static_cast<std::uint32_t>(slot), fmt::meta::kTxnId));
  }
  // The meta page open should pick: the valid one with the larger txn id.
  int current_slot() const {
    bool v0 = meta_valid(0), v1 = meta_valid(1);
    REQUIRE((v0 || v1));
    if (v0 && v1)
      return meta_txn(1) > meta_txn(0) ? 1 : 0;
    return v1 ? 1 : 0;
  }
  std::uint32_t meta_u32(std::size_t field) const {
    return rd32(bytes, at(static_cast<std::uint32_t>(current_slot()), field));
  }
  std::uint32_t page_count() const { return meta_u32(fmt::meta::kPageCount); }
  std::uint32_t catalog_root() const {
    return meta_u32(fmt::meta::kCatalogRoot);
  }
  std::uint8_t type(std::uint32_t pg) const {
    return static_cast<std::uint8_t>(bytes[at(pg)]);
  }
  std::vector<std::uint32_t> pages_of_type(std::uint8_t t) const {
    std::vector<std::uint32_t> out;
    for (std::uint32_t pg = 2; pg < page_count(); ++pg)
      if (type(pg) == t)
        out.push_back(pg);
    return out;
  }

  void fix_meta_crc(int slot) {
    std::size_t base = at(static_cast<std::uint32_t>(slot));
    wr32(bytes, base + fmt::meta::kCrc,
         klite::crc32c::value(bytes.data() + base, fmt::meta::kCrc));
  }
  // Recomputes a checked page's CRC (the field taken as zero).
  void fix_page_crc(std::uint32_t pg) {
    std::size_t base = at(pg);
    wr32(bytes, base + fmt::checked::kCrc, 0);
    wr32(bytes, base + fmt::checked::kCrc,
         klite::crc32c::value(bytes.data() + base, ps));
  }
  bool checked_type(std::uint32_t pg) const {
    std::uint8_t t = type(pg);
    return t == fmt::kBranchPage || t == fmt::kLeafPage ||
           t == fmt::kFreeDirPage || t == fmt::kFreeChunkPage;
  }

  // The data page where `needle` (a unique payload fragment) is stored.
  std::size_t find(std::string_view needle) const {
    std::size_t off = bytes.find(needle);
    REQUIRE(off != std::string::npos);
    REQUIRE(bytes.find(needle, off + 1) == std::string::npos);
    return off;
  }
};

// The pages of the B+tree at `root`, read as format.h describes.
std::vector<std::uint32_t> tree_pages(const Image& im, std::uint32_t root) {
  std::vector<std::uint32_t> out, todo;
  if (root != fmt::kNoPage)
    todo.push_back(root);
  while (!todo.empty()) {
    std::uint32_t pg = todo.back();
    todo.pop_back();
    out.push_back(pg);
    if (im.type(pg) != fmt::kBranchPage)
      continue;
    todo.push_back(rd32(im.bytes, im.at(pg, fmt::checked::kLink)));
    for (std::size_t i = 0; i < rd16(im.bytes, im.at(pg, fmt::checked::kCount));
         ++i) {
      std::size_t cell =
          im.at(pg, rd16(im.bytes, im.at(pg, fmt::checked::kHeaderSize + 2 * i)));
      std::uint64_t klen = 0;
      std::size_t n = rd_varint(im.bytes, cell, klen);
      todo.push_back(rd32(im.bytes, cell + n + klen));
    }
  }
  return out;
}

// The catalog: stream name -> stream descriptor bytes.
std::map<std::string, std::string> catalog_entries(const Image& im) {
  std::map<std::string, std::string> out;
  for (std::uint32_t pg : tree_pages(im, im.catalog_root())) {
    if (im.type(pg) != fmt::kLeafPage)
      continue;
    for (std::size_t i = 0; i < rd16(im.bytes, im.at(pg, fmt::checked::kCount));
         ++i) {
      std::size_t cell =
          im.at(pg, rd16(im.bytes, im.at(pg, fmt::checked::kHeaderSize + 2 * i)));
      std::uint64_t klen = 0, vlen = 0;
      std::size_t n = rd_varint(im.bytes, cell, klen);
      std::string key = im.bytes.substr(cell + n, klen);
      std::size_t m = rd_varint(im.bytes, cell + n + klen, vlen);
      out[key] = im.bytes.substr(cell + n + klen + m, vlen);
    }
  }
  return out;
}

// A record start inside a sealed data page, parsed as format.h describes.
struct RecordStart {
  std::uint32_t off;    // offset of the record header within the page
  std::uint32_t header; // bytes of the record header
  std::uint64_t body;   // body length
};
std::vector<RecordStart> record_starts(const Image& im, std::uint32_t pg,
                                       std::uint32_t end) {
  std::vector<RecordStart> out;
  std::uint32_t off = static_cast<std::uint32_t>(
      fmt::data::kHeaderSize + rd16(im.bytes, im.at(pg, fmt::data::kCont)));
  while (off < end) {
    std::uint64_t body = 0, ts = 0;
    std::size_t n1 = rd_varint(im.bytes, im.at(pg, off), body);
    REQUIRE(n1 > 0);
    std::size_t n2 = rd_varint(im.bytes, im.at(pg, off) + n1, ts);
    REQUIRE(n2 > 0);
    auto header = static_cast<std::uint32_t>(n1 + n2 + 4);
    out.push_back({off, header, body});
    off = static_cast<std::uint32_t>(off + header + body);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Expected contents: what the file must show at each commit.

struct Rec {
  std::uint64_t key = 0;
  std::uint64_t ts = 0;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};
struct StreamModel {
  std::vector<Rec> recs;
  std::uint64_t next_key = 1;
  std::uint64_t bytes = 0;
};
using Model = std::map<std::string, StreamModel>; // name (byte) order
using Models = std::map<std::uint64_t, Model>;    // by commit (txn) id

// Builds a file through the API, recording the expected state after each
// commit (including the two empty states a new file starts with).
class Builder {
public:
  Builder(const std::string& path, std::uint32_t page_size)
      : engine_(Engine::open(path, options(page_size))) {
    models[0] = {};
    models[1] = {};
  }

  Options options(std::uint32_t page_size) {
    Options o;
    o.durability = klite::Durability::Off;
    o.page_size = page_size;
    o.clock = clock_;
    return o;
  }

  void commit(const std::function<void(WriteTxn&)>& fn) {
    WriteTxn w = engine_.write();
    fn(w);
    w.commit();
    models[engine_.read().snapshot_id()] = model_;
  }
  void add(WriteTxn& w, const std::string& stream, const std::string& value,
           std::vector<std::pair<std::string, std::string>> headers = {}) {
    clock_.set(clock_() + 1000 + value.size());
    std::vector<klite::Header> hv;
    for (auto& [n, v] : headers)
      hv.push_back({n, v});
    std::uint64_t key = w.append(stream, value, hv);
    StreamModel& s = model_[stream];
    REQUIRE(key == s.next_key);
    s.recs.push_back({key, clock_(), value, std::move(headers)});
    s.next_key = key + 1;
    s.bytes += value.size();
  }
  void create(WriteTxn& w, const std::string& stream) {
    w.create_stream(stream);
    model_[stream];
  }
  void drop(WriteTxn& w, const std::string& stream) {
    w.drop_stream(stream);
    model_.erase(stream);
  }
  const Model& model() const { return model_; }
  std::uint64_t last_txn() const { return models.rbegin()->first; }
  void close() { Engine gone = std::move(engine_); }

  Models models;

private:
  FakeClock clock_;
  Model model_;
  Engine engine_;
};

// A payload that is unique in the file and easy to find: a marker naming the
// stream and key, then filler bytes that depend on both.
std::string value_for(const std::string& stream, std::uint64_t key,
                      std::size_t size) {
  std::string v = "<" + stream + "#" + std::to_string(key) + ">";
  Rng r(klite::test::mix(std::hash<std::string>{}(stream), key));
  while (v.size() < size)
    v.push_back(static_cast<char>('a' + r.next() % 26));
  return v;
}
std::string marker(const std::string& stream, std::uint64_t key) {
  return "<" + stream + "#" + std::to_string(key) + ">";
}

// ---------------------------------------------------------------------------
// Reading everything back and comparing with a model. Each returns "" when
// all matches, else a description of the first difference; engine errors
// propagate.

std::string describe(const Rec& x) {
  return "record " + std::to_string(x.key);
}

std::string diff_record(const klite::Record& r, const Rec& x,
                        const std::string& how) {
  if (r.key != x.key)
    return how + ": key " + std::to_string(r.key) + " where " +
           std::to_string(x.key) + " was expected";
  if (r.timestamp != x.ts)
    return how + ": " + describe(x) + " has timestamp " +
           std::to_string(r.timestamp) + ", expected " + std::to_string(x.ts);
  if (r.value != x.value)
    return how + ": " + describe(x) + " has a wrong value (" +
           std::to_string(r.value.size()) + " bytes, expected " +
           std::to_string(x.value.size()) + ")";
  auto hs = r.headers();
  if (hs.size() != x.headers.size())
    return how + ": " + describe(x) + " has " + std::to_string(hs.size()) +
           " headers, expected " + std::to_string(x.headers.size());
  for (std::size_t i = 0; i < hs.size(); ++i)
    if (hs[i].name != x.headers[i].first || hs[i].value != x.headers[i].second)
      return how + ": " + describe(x) + " header " + std::to_string(i) +
             " differs";
  return {};
}

std::string diff_info(const klite::StreamInfo& i, const std::string& name,
                      const StreamModel& s) {
  std::ostringstream o;
  std::uint64_t first = s.recs.empty() ? 0 : s.recs.front().key;
  std::uint64_t last = s.recs.empty() ? 0 : s.recs.back().key;
  if (i.name != name || i.records != s.recs.size() || i.bytes != s.bytes ||
      i.first_key != first || i.last_key != last || i.next_key != s.next_key ||
      (!s.recs.empty() && (i.first_timestamp != s.recs.front().ts ||
                           i.last_timestamp != s.recs.back().ts))) {
    o << "info of " << name << " differs: records " << i.records << "/"
      << s.recs.size() << ", bytes " << i.bytes << "/" << s.bytes
      << ", first " << i.first_key << "/" << first << ", last " << i.last_key
      << "/" << last << ", next " << i.next_key << "/" << s.next_key
      << ", timestamps " << i.first_timestamp << ".." << i.last_timestamp;
  }
  return o.str();
}

// streams(), info of each, a full forward and backward scan of each stream
// and a get of every key. Scans are bounded, so a cycle in a damaged chain
// is reported rather than looping here.
std::string verify_txn(ReadTxn& t, const Model& want) {
  auto all = t.streams();
  if (all.size() != want.size())
    return "streams() lists " + std::to_string(all.size()) + " streams, " +
           std::to_string(want.size()) + " expected";
  auto it = want.begin();
  for (const auto& info : all) {
    if (info.name != it->first)
      return "streams() lists \"" + info.name + "\" where \"" + it->first +
             "\" was expected";
    if (auto d = diff_info(info, it->first, it->second); !d.empty())
      return "streams(): " + d;
    ++it;
  }
  for (const auto& [name, s] : want) {
    if (!t.has_stream(name))
      return "has_stream(" + name + ") is false";
    if (auto d = diff_info(t.info(name), name, s); !d.empty())
      return d;

    const std::size_t n = s.recs.size();
    {
      auto c = t.cursor(name);
      std::size_t i = 0;
      for (bool ok = c.first(); ok; ok = c.next(), ++i) {
        if (i >= n)
          return "forward scan of " + name + " returns more than " +
                 std::to_string(n) + " records";
        if (auto d = diff_record(c.record(), s.recs[i], "forward scan of " + name);
            !d.empty())
          return d;
      }
      if (i != n)
        return "forward scan of " + name + " ended after " + std::to_string(i) +
               " of " + std::to_string(n) + " records without an error";
    }
    {
      auto c = t.cursor(name);
      std::size_t i = 0;
      for (bool ok = c.last(); ok; ok = c.prev(), ++i) {
        if (i >= n)
          return "backward scan of " + name + " returns more than " +
                 std::to_string(n) + " records";
        if (auto d = diff_record(c.record(), s.recs[n - 1 - i],
                                 "backward scan of " + name);
            !d.empty())
          return d;
      }
      if (i != n)
        return "backward scan of " + name + " ended after " +
               std::to_string(i) + " of " + std::to_string(n) +
               " records without an error";
    }
    for (const Rec& x : s.recs) {
      auto r = t.get(name, x.key);
      if (!r)
        return "get(" + name + ", " + std::to_string(x.key) +
               ") found nothing";
      if (auto d = diff_record(*r, x, "get from " + name); !d.empty())
        return d;
    }
    if (t.get(name, s.next_key) || t.get(name, 0))
      return "get(" + name + ") found a key outside the stream";
    // seek_time: a binary search over keys, through the index.
    std::vector<std::uint64_t> times = {0, 1};
    if (n > 0)
      for (std::size_t i : {std::size_t{0}, n / 2, n - 1})
        for (std::uint64_t d : {0, 1})
          times.push_back(s.recs[i].ts + d);
    for (std::uint64_t ts : times) {
      auto want = std::find_if(s.recs.begin(), s.recs.end(),
                               [&](const Rec& x) { return x.ts >= ts; });
      auto c = t.cursor(name);
      const bool found = c.seek_time(ts);
      const std::string how =
          "seek_time(" + std::to_string(ts) + ") in " + name;
      if (found != (want != s.recs.end()))
        return how + (found ? " found a record" : " found nothing");
      if (found)
        if (auto d = diff_record(c.record(), *want, how); !d.empty())
          return d;
    }
  }
  return {};
}

// Verifies the snapshot a new read transaction sees against the model of
// its commit id (which may be an older commit if open fell back to the
// other meta page).
std::string verify_engine(Engine& e, const Models& models,
                          std::uint64_t* snapshot = nullptr) {
  ReadTxn t = e.read();
  if (snapshot)
    *snapshot = t.snapshot_id();
  auto m = models.find(t.snapshot_id());
  if (m == models.end())
    return "the snapshot is commit " + std::to_string(t.snapshot_id()) +
           ", which never existed";
  return verify_txn(t, m->second);
}

// Only the gets of verify_txn (they seek through the key index).
std::string verify_txn_gets(Engine& e, const Model& want) {
  ReadTxn t = e.read();
  for (const auto& [name, s] : want)
    for (const Rec& x : s.recs) {
      auto r = t.get(name, x.key);
      if (!r)
        return "get(" + name + ", " + std::to_string(x.key) + ") found nothing";
      if (auto d = diff_record(*r, x, "get from " + name); !d.empty())
        return d;
    }
  return {};
}

void gets_right_or_corrupt(Engine& e, const Model& want) {
  std::string diff;
  auto err = catch_error([&] { diff = verify_txn_gets(e, want); });
  if (err)
    CHECK(err->code() == ErrorCode::Corrupt);
  else
    CHECK(diff == "");
}

Options plain_options() {
  Options o;
  o.durability = klite::Durability::Off;
  o.create_if_missing = false;
  return o;
}

std::string page_tag(std::uint32_t pg) {
  return "page " + std::to_string(pg) + ":";
}

// CHECKs that `f` throws klite::Error with `code`, whose message contains
// each of `needles`. Returns the message.
template <class F>
std::string expect_error(F&& f, ErrorCode code,
                         std::vector<std::string> needles = {}) {
  std::optional<Error> err;
  try {
    err = catch_error(std::forward<F>(f));
  } catch (const std::exception& e) {
    FAIL_CHECK("a non-klite exception: " << e.what());
    return {};
  }
  if (!err) {
    FAIL_CHECK("no error was thrown, expected " << klite::to_string(code));
    return {};
  }
  const std::string message = err->what();
  CAPTURE(message);
  CHECK(err->code() == code);
  for (const auto& n : needles)
    CHECK_MESSAGE(contains(message, n), "message lacks \"" << n << "\"");
  return message;
}

// ---------------------------------------------------------------------------
// Reporting the damage being tried when the process dies or hangs: doctest
// names the test case on a crash but not the loop iteration, so keep a
// description of it where a signal handler can print it.

char g_context[512] = "";
struct sigaction g_old_segv, g_old_bus;

extern "C" void print_context_and_resume(int sig) {
  static const char head[] = "\n*** corruption_test: signal while trying: ";
  (void)!::write(2, head, sizeof head - 1);
  (void)!::write(2, g_context, std::strlen(g_context));
  (void)!::write(2, "\n", 1);
  if (sig == SIGALRM)
    ::_exit(124); // a hang: nothing else would end it
  // Put back the previous handler (doctest's or the sanitizer's) and return:
  // the faulting instruction runs again and that handler reports it.
  ::sigaction(SIGSEGV, &g_old_segv, nullptr);
  ::sigaction(SIGBUS, &g_old_bus, nullptr);
}

class CrashContext {
public:
  explicit CrashContext(unsigned watchdog_seconds) {
    struct sigaction sa {};
    sa.sa_handler = print_context_and_resume;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSEGV, &sa, &g_old_segv);
    ::sigaction(SIGBUS, &sa, &g_old_bus);
    ::sigaction(SIGALRM, &sa, &old_alrm_);
    ::alarm(watchdog_seconds);
    verbose_ = std::getenv("KLITE_CORRUPTION_VERBOSE") != nullptr;
  }
  ~CrashContext() {
    ::alarm(0);
    ::sigaction(SIGALRM, &old_alrm_, nullptr);
    ::sigaction(SIGSEGV, &g_old_segv, nullptr);
    ::sigaction(SIGBUS, &g_old_bus, nullptr);
    g_context[0] = '\0';
  }
  void set(const std::string& what) {
    std::snprintf(g_context, sizeof g_context, "%s", what.c_str());
    if (verbose_)
      std::fprintf(stderr, "%s\n", g_context);
  }

private:
  struct sigaction old_alrm_ {};
  bool verbose_ = false;
};

// ---------------------------------------------------------------------------
// The sample file of the fuzz tests: page size 1024, four streams (one
// empty, one with values spanning pages, some records with headers, one
// empty value), a dropped stream (so the free list is not empty) and seven
// commits. About 30 pages.

struct Sample {
  Image image;   // the pristine file, cut to page_count * page_size
  Models models; // expected state by commit id
  std::map<std::uint64_t, std::string> history; // the file after each commit
};

Sample build_sample(const std::string& path) {
  Builder b(path, 1024);
  std::map<std::uint64_t, std::string> history;
  auto commit = [&](const std::function<void(WriteTxn&)>& fn) {
    b.commit(fn);
    history[b.last_txn()] = klite::test::read_file_bytes(path);
  };
  using H = std::vector<std::pair<std::string, std::string>>;
  std::uint64_t k = 0;
  auto alpha = [&](WriteTxn& w, int n) {
    for (int i = 0; i < n; ++i, ++k) {
      std::size_t size = k == 7 ? 0 : 12 + (k * 37) % 50;
      std::string v = k == 7 ? "" : value_for("alpha", k + 1, size);
      if (k % 5 == 3)
        b.add(w, "alpha", v, H{{"type", "evt" + std::to_string(k)},
                                {"trace", std::string(k % 7, 'x')}});
      else
        b.add(w, "alpha", v);
    }
  };
  commit([&](WriteTxn& w) {
    b.create(w, "gamma");
    alpha(w, 20);
    b.add(w, "delta", value_for("delta", 1, 40));
  });
  commit([&](WriteTxn& w) {
    b.add(w, "beta", value_for("beta", 1, 2500));
    b.add(w, "beta", value_for("beta", 2, 30));
    b.add(w, "beta", value_for("beta", 3, 2500), H{{"content-type", "blob"}});
    b.add(w, "beta", value_for("beta", 4, 10));
  });
  commit([&](WriteTxn& w) {
    alpha(w, 20);
    for (std::uint64_t i = 1; i <= 10; ++i)
      b.add(w, "tmp", value_for("tmp", i, 200));
  });
  commit([&](WriteTxn& w) {
    b.drop(w, "tmp");
    alpha(w, 20);
  });
  commit([&](WriteTxn& w) {
    b.add(w, "beta", value_for("beta", 5, 20));
    b.add(w, "beta", value_for("beta", 6, 1500));
    b.add(w, "delta", value_for("delta", 2, 40));
  });
  commit([&](WriteTxn& w) { alpha(w, 20); });
  commit([&](WriteTxn& w) { b.add(w, "delta", value_for("delta", 3, 25)); });
  b.close();

  Sample s{Image::load(path), std::move(b.models), std::move(history)};
  // Cut the preallocated tail: flips are meant for bytes the file uses.
  s.image.bytes.resize(s.image.at(s.image.page_count()));
  s.image.save(path);
  return s;
}

std::string page_kind(const Image& im, std::uint32_t pg) {
  if (pg < 2)
    return "meta";
  switch (im.type(pg)) {
  case fmt::kBranchPage: return "branch";
  case fmt::kLeafPage: return "leaf";
  case fmt::kDataPage: return "data";
  case fmt::kFreeDirPage: return "free-dir";
  case fmt::kFreeChunkPage: return "free-chunk";
  default: return "type " + std::to_string(im.type(pg));
  }
}

std::string where(const Image& im, std::size_t off, std::uint8_t mask,
                  bool crc_fixed) {
  auto pg = static_cast<std::uint32_t>(off / im.ps);
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", mask);
  return "byte " + std::to_string(off) + " (page " + std::to_string(pg) +
         " [" + page_kind(im, pg) + "], offset " +
         std::to_string(off % im.ps) + ") ^= " + hex +
         (crc_fixed ? ", checksum recomputed" : "");
}

// KLITE_CORRUPTION_SCALE=N runs the randomized tests N times longer, for
// bug hunts; KLITE_CORRUPTION_VERBOSE=1 prints each
// damage before it is tried.
int scale() {
  const char* v = std::getenv("KLITE_CORRUPTION_SCALE");
  int n = v ? std::atoi(v) : 1;
  return n > 0 ? n : 1;
}

// The bytes of the sample a reader may look at: the 60 checksummed bytes
// of each meta page and the used parts of checked pages (header, slot
// array or entries, cell area), leaving out the CRC fields.
std::vector<std::size_t> checked_bytes(const Image& im) {
  std::vector<std::size_t> out;
  for (std::uint32_t pg : {0u, 1u})
    for (std::size_t off = 0; off < fmt::meta::kCrc; ++off)
      out.push_back(im.at(pg, off));
  for (std::uint32_t pg = 2; pg < im.page_count(); ++pg) {
    if (!im.checked_type(pg))
      continue;
    const std::size_t count = rd16(im.bytes, im.at(pg, fmt::checked::kCount));
    std::size_t head = fmt::checked::kHeaderSize, tail = im.ps;
    switch (im.type(pg)) {
    case fmt::kBranchPage:
    case fmt::kLeafPage:
      head += 2 * count;
      tail = rd16(im.bytes, im.at(pg, fmt::checked::kContentStart));
      break;
    case fmt::kFreeDirPage: head += fmt::freedir::kEntrySize * count; break;
    case fmt::kFreeChunkPage: head += 4 * count; break;
    }
    for (std::size_t off = 0; off < im.ps; ++off)
      if ((off < head || off >= tail) &&
          (off < fmt::checked::kCrc || off >= fmt::checked::kCrc + 4))
        out.push_back(im.at(pg, off));
  }
  return out;
}

struct Tally {
  int ok = 0, corrupt = 0, not_klite = 0, unsupported = 0, wrong = 0;
  std::vector<std::string> wrong_examples;
};

struct Mode {
  bool fix_crc = false; // recompute the checksum of the damaged page
  bool verify = true;   // Options::verify_checksums
  // Success must mean right data. Off where wrong data is allowed by design
  // (the damage is behind a recomputed checksum, or checksums are off):
  // then it is only counted, and only crashes, hangs and stray exceptions
  // fail the test.
  bool strict = true;
};

// One damaged copy `im` of the sample (`w` describes the damage): open,
// read everything, then write one record and read everything again from a
// fresh open. Success must mean the right data for the commit the engine
// shows (unless !mode.strict); failure must be Corrupt (naming a page),
// NotKlite or Unsupported.
void damaged_run(const std::string& path, const Sample& s, const Image& im,
                 const std::string& w, Mode mode, Tally& tally,
                 CrashContext& ctx) {
  const bool strict = mode.strict;
  im.save(path);
  ctx.set(w);

  bool had_error = false;
  auto on_error = [&](const Error& e) {
    had_error = true;
    switch (e.code()) {
    case ErrorCode::Corrupt: ++tally.corrupt; break;
    case ErrorCode::NotKlite: ++tally.not_klite; break;
    case ErrorCode::Unsupported: ++tally.unsupported; break;
    default:
      FAIL_CHECK(w << ": unexpected error code " << klite::to_string(e.code())
                   << ": " << e.what());
    }
    if (e.code() == ErrorCode::Corrupt && !contains(e.what(), "page "))
      FAIL_CHECK(w << ": Corrupt without a page number: " << e.what());
  };
  auto on_wrong = [&](const std::string& diff) {
    ++tally.wrong;
    if (strict)
      FAIL_CHECK(w << ": wrong data without an error: " << diff);
    else if (tally.wrong_examples.size() < 5)
      tally.wrong_examples.push_back(w + ": " + diff);
  };

  // Phase 1: read everything.
  try {
    Options o = plain_options();
    o.verify_checksums = mode.verify;
    Engine e = Engine::open(path, o);
    std::string diff = verify_engine(e, s.models);
    if (!diff.empty())
      on_wrong(diff);
  } catch (const Error& e) {
    on_error(e);
  } catch (const std::exception& e) {
    FAIL_CHECK(w << ": a non-klite exception: " << e.what());
  }

  // Phase 2: a write on top of the damage (it reads the free list), then
  // everything again from a fresh open.
  try {
    Options o = plain_options();
    o.verify_checksums = mode.verify;
    o.clock = [] { return std::uint64_t{1} << 50; };
    Models after;
    {
      Engine e = Engine::open(path, o);
      WriteTxn t = e.write();
      auto base = s.models.find(t.snapshot_id()); // the commit it builds on
      if (base == s.models.end()) {
        on_wrong("a write transaction based on commit " +
                 std::to_string(t.snapshot_id()) + ", which never existed");
        return;
      }
      Model m = base->second;
      StreamModel& a = m["alpha"];
      Rec r{a.next_key, std::max(o.clock(), a.recs.empty() ? 0 : a.recs.back().ts),
            "written after the damage", {{"h", "v"}}};
      klite::Header h{"h", "v"};
      std::uint64_t key = t.append("alpha", r.value, {&h, 1});
      if (key != r.key) {
        on_wrong("append returned key " + std::to_string(key) + ", expected " +
                 std::to_string(r.key));
        return;
      }
      a.recs.push_back(r);
      a.next_key++;
      a.bytes += r.value.size();
      t.commit();
      const std::uint64_t id = e.read().snapshot_id();
      if (id != base->first + 1)
        on_wrong("the write made commit " + std::to_string(id) + " on commit " +
                 std::to_string(base->first));
      after[id] = std::move(m);
    }
    Engine e = Engine::open(path, o);
    std::string diff = verify_engine(e, after);
    if (!diff.empty())
      on_wrong("after a write: " + diff);
  } catch (const Error& e) {
    if (!had_error) // count each run once
      on_error(e);
    else if (e.code() != ErrorCode::Corrupt && e.code() != ErrorCode::NotKlite &&
             e.code() != ErrorCode::Unsupported)
      on_error(e);
    had_error = true;
  } catch (const std::exception& e) {
    FAIL_CHECK(w << ": a non-klite exception in the write phase: " << e.what());
  }
  if (!had_error)
    ++tally.ok;
}

// The sample with one byte changed (and, in mode.fix_crc, the checksum of
// its page recomputed), run as above.
void damaged_run(const std::string& path, const Sample& s, std::size_t off,
                 std::uint8_t mask, Mode mode, Tally& tally, CrashContext& ctx) {
  Image im = s.image;
  im.bytes[off] = static_cast<char>(im.bytes[off] ^ static_cast<char>(mask));
  auto pg = static_cast<std::uint32_t>(off / im.ps);
  if (mode.fix_crc) {
    if (pg < 2 && off % im.ps < fmt::meta::kCrc)
      im.fix_meta_crc(static_cast<int>(pg));
    else if (pg >= 2 && s.image.checked_type(pg))
      im.fix_page_crc(pg);
  }
  damaged_run(path, s, im, where(s.image, off, mask, mode.fix_crc), mode,
              tally, ctx);
}

} // namespace

// ---------------------------------------------------------------------------
// 1. Not a klite file.

TEST_CASE("Corruption: not a klite file") {
  TempDir dir;
  const std::string path = dir.file();

  SUBCASE("an empty file") {
    klite::test::write_file_bytes(path, "");
    expect_error([&] { Engine::open(path, plain_options()); },
                 ErrorCode::NotKlite, {"not a klite file", path});
  }
  SUBCASE("a few bytes") {
    klite::test::write_file_bytes(path, "klite");
    expect_error([&] { Engine::open(path, plain_options()); },
                 ErrorCode::NotKlite, {"not a klite file"});
  }
  SUBCASE("8 KiB of text") {
    std::string text;
    while (text.size() < 8192)
      text += "The quick brown fox jumps over the lazy dog. ";
    text.resize(8192);
    klite::test::write_file_bytes(path, text);
    expect_error([&] { Engine::open(path, plain_options()); },
                 ErrorCode::NotKlite, {"not a klite file"});
    CHECK(klite::test::read_file_bytes(path) == text); // left as it was
  }
  SUBCASE("a klite file with the magic of both meta pages overwritten") {
    Builder b(path, 4096);
    b.commit([&](WriteTxn& w) { b.add(w, "s", "hello"); });
    b.commit([&](WriteTxn& w) { b.add(w, "s", "world"); });
    b.close();
    Image im = Image::load(path);
    write_in_file(path, im.at(0, fmt::meta::kMagic), "NOTKLITE");
    write_in_file(path, im.at(1, fmt::meta::kMagic), "NOTKLITE");
    expect_error([&] { Engine::open(path, plain_options()); },
                 ErrorCode::NotKlite, {"not a klite file"});
  }
}

// ---------------------------------------------------------------------------
// 2. Unsupported version.

TEST_CASE("Corruption: unsupported format version") {
  TempDir dir;
  const std::string path = dir.file();
  Builder b(path, 4096);
  b.commit([&](WriteTxn& w) { b.add(w, "s", "hello"); });
  b.close();

  Image im = Image::load(path);
  const int slot = im.current_slot();
  wr32(im.bytes, im.at(static_cast<std::uint32_t>(slot), fmt::meta::kVersion),
       fmt::kFormatVersion + 1);
  im.fix_meta_crc(slot);
  im.save(path);
  expect_error([&] { Engine::open(path, plain_options()); },
               ErrorCode::Unsupported,
               {"unsupported format version " +
                std::to_string(fmt::kFormatVersion + 1)});

  // Without the checksum fixed it is plain damage: open falls back to the
  // other meta page (an older commit), which is valid.
  wr32(im.bytes, im.at(static_cast<std::uint32_t>(slot), fmt::meta::kCrc),
       rd32(im.bytes, im.at(static_cast<std::uint32_t>(slot), fmt::meta::kCrc)) ^
           1);
  im.save(path);
  Engine e = Engine::open(path, plain_options());
  std::uint64_t snap = 0;
  CHECK(verify_engine(e, b.models, &snap) == "");
  CHECK(snap + 1 == b.last_txn());
}

// ---------------------------------------------------------------------------
// 3. Damaged meta pages.

TEST_CASE("Corruption: a damaged meta page") {
  TempDir dir;
  const std::string path = dir.file();
  Builder b(path, 4096);
  b.commit([&](WriteTxn& w) {
    for (int i = 1; i <= 10; ++i)
      b.add(w, "s", value_for("s", static_cast<std::uint64_t>(i), 100));
  });
  b.commit([&](WriteTxn& w) {
    for (int i = 11; i <= 20; ++i)
      b.add(w, "s", value_for("s", static_cast<std::uint64_t>(i), 100));
    b.add(w, "t", "only in the last commit");
  });
  const std::uint64_t last = b.last_txn();
  b.close();
  const Image pristine = Image::load(path);
  const int newest = pristine.current_slot();
  REQUIRE(pristine.meta_txn(newest) == last);
  const int older = 1 - newest;

  SUBCASE("a flip in any used byte of the newest meta page: the previous "
          "commit") {
    for (std::size_t off = 0; off < fmt::meta::kSize; ++off) {
      CAPTURE(off);
      pristine.save(path);
      xor_byte_in_file(path, pristine.at(static_cast<std::uint32_t>(newest), off),
                       0x10);
      Engine e = Engine::open(path, plain_options());
      std::uint64_t snap = 0;
      CHECK(verify_engine(e, b.models, &snap) == "");
      CHECK(snap == last - 1);
      CHECK_FALSE(e.read().has_stream("t"));
    }
  }

  SUBCASE("after the fallback the file takes new commits") {
    xor_byte_in_file(path,
                     pristine.at(static_cast<std::uint32_t>(newest),
                                 fmt::meta::kTxnId),
                     0x01);
    Models models = b.models;
    {
      Engine e = Engine::open(path, plain_options());
      WriteTxn w = e.write();
      const std::uint64_t id = w.snapshot_id() + 1;
      CHECK(id == last); // reuses the id of the lost commit
      Model m = models.at(id - 1);
      std::string v = value_for("s", 11, 3000);
      CHECK(w.append("s", v) == 11);
      w.commit();
      m["s"].recs.push_back({11, e.read().get("s", 11)->timestamp, v, {}});
      m["s"].next_key = 12;
      m["s"].bytes += v.size();
      models[id] = m;
    }
    Engine e = Engine::open(path, plain_options());
    std::uint64_t snap = 0;
    CHECK(verify_engine(e, models, &snap) == "");
    CHECK(snap == last);
  }

  SUBCASE("a flip in the older meta page changes nothing") {
    xor_byte_in_file(path,
                     pristine.at(static_cast<std::uint32_t>(older),
                                 fmt::meta::kCatalogRoot),
                     0x01);
    Engine e = Engine::open(path, plain_options());
    std::uint64_t snap = 0;
    CHECK(verify_engine(e, b.models, &snap) == "");
    CHECK(snap == last);
  }

  SUBCASE("bytes past the 64 used ones are not read") {
    xor_byte_in_file(path,
                     pristine.at(static_cast<std::uint32_t>(newest), 100), 0xff);
    Engine e = Engine::open(path, plain_options());
    std::uint64_t snap = 0;
    CHECK(verify_engine(e, b.models, &snap) == "");
    CHECK(snap == last);
  }

  SUBCASE("flips in both meta pages: Corrupt") {
    for (std::size_t off : {fmt::meta::kVersion, fmt::meta::kTxnId,
                            fmt::meta::kPageCount, fmt::meta::kCrc}) {
      CAPTURE(off);
      pristine.save(path);
      xor_byte_in_file(path, pristine.at(0, off), 0x04);
      xor_byte_in_file(path, pristine.at(1, off), 0x04);
      expect_error([&] { Engine::open(path, plain_options()); },
                   ErrorCode::Corrupt, {"page 0:", "meta"});
    }
  }

  SUBCASE("a valid meta page in the wrong slot is not used") {
    // Commit N must be in page N % 2: a copy of the newest meta page over
    // the older one (a misdirected write) leaves one usable meta page.
    std::string m = pristine.bytes.substr(
        pristine.at(static_cast<std::uint32_t>(newest)), fmt::meta::kSize);
    write_in_file(path, pristine.at(static_cast<std::uint32_t>(older)), m);
    Engine e = Engine::open(path, plain_options());
    std::uint64_t snap = 0;
    CHECK(verify_engine(e, b.models, &snap) == "");
    CHECK(snap == last);
  }

  SUBCASE("meta fields out of range, with a valid checksum: Corrupt") {
    struct Case {
      std::size_t field;
      std::uint32_t value;
    };
    const std::uint32_t count =
        rd32(pristine.bytes,
             pristine.at(static_cast<std::uint32_t>(newest), fmt::meta::kPageCount));
    for (Case c : {Case{fmt::meta::kCatalogRoot, count},
                   Case{fmt::meta::kCatalogRoot, 0xffffffffu},
                   Case{fmt::meta::kFreeRoot, count + 5},
                   Case{fmt::meta::kPageCount, 1},
                   Case{fmt::meta::kPageCount, count + 1000}}) {
      CAPTURE(c.field);
      CAPTURE(c.value);
      Image im = pristine;
      wr32(im.bytes, im.at(static_cast<std::uint32_t>(newest), c.field), c.value);
      im.fix_meta_crc(newest);
      im.save(path);
      expect_error([&] { Engine::open(path, plain_options()); },
                   ErrorCode::Corrupt, {page_tag(static_cast<std::uint32_t>(newest))});
    }
  }
}

// ---------------------------------------------------------------------------
// 4. B+tree pages: the catalog and a key index.

TEST_CASE("Corruption: a damaged catalog page") {
  TempDir dir;
  const std::string path = dir.file();
  Builder b(path, 4096);
  b.commit([&](WriteTxn& w) {
    b.add(w, "a", "one");
    b.add(w, "b", "two");
  });
  b.close();
  const Image pristine = Image::load(path);
  const std::uint32_t root = pristine.catalog_root();
  REQUIRE(root >= 2);
  REQUIRE(pristine.type(root) == fmt::kLeafPage);

  // Any byte of the page: the header, a cell, the unused middle, the CRC.
  for (std::size_t off : {std::size_t{0}, std::size_t{2}, fmt::checked::kCrc,
                          fmt::checked::kPageNo, fmt::checked::kHeaderSize,
                          std::size_t{2000}, std::size_t{pristine.ps - 1}}) {
    CAPTURE(off);
    pristine.save(path);
    xor_byte_in_file(path, pristine.at(root, off), 0x20);
    Engine e = Engine::open(path, plain_options());
    const std::vector<std::string> page = {page_tag(root)};
    expect_error([&] { e.streams(); }, ErrorCode::Corrupt, page);
    expect_error([&] { e.info("a"); }, ErrorCode::Corrupt, page);
    expect_error([&] { e.get("b", 1); }, ErrorCode::Corrupt, page);
    expect_error([&] { e.read().has_stream("a"); }, ErrorCode::Corrupt, page);
    expect_error([&] { ReadTxn t = e.read(); t.cursor("a"); },
                 ErrorCode::Corrupt, page);
    // Writes read the catalog too, and fail the same way.
    expect_error([&] { e.append("a", "x"); }, ErrorCode::Corrupt, page);
  }
}

TEST_CASE("Corruption: a damaged key index page") {
  TempDir dir;
  const std::string path = dir.file();
  Builder b(path, 1024);
  // ~150 data pages, so the key index has several leaves and a branch.
  b.commit([&](WriteTxn& w) {
    for (std::uint64_t k = 1; k <= 3000; ++k)
      b.add(w, "big", value_for("big", k, 40));
  });
  b.commit([&](WriteTxn& w) { b.add(w, "small", "x"); });
  b.close();
  const Image pristine = Image::load(path);
  const auto cat = catalog_entries(pristine);
  REQUIRE(cat.size() == 2);
  const std::vector<std::uint32_t> index_pages = tree_pages(
      pristine, rd32(cat.at("big"), fmt::desc::kIndexRoot));
  REQUIRE(index_pages.size() >= 4);
  REQUIRE(pristine.type(index_pages.front()) == fmt::kBranchPage);
  // Stale copies of B+tree pages (freed by the second commit) are not used.
  for (std::uint32_t pg : pristine.pages_of_type(fmt::kLeafPage))
    if (pg != pristine.catalog_root() &&
        pg != rd32(cat.at("small"), fmt::desc::kIndexRoot) &&
        std::find(index_pages.begin(), index_pages.end(), pg) ==
            index_pages.end()) {
      CAPTURE(pg);
      pristine.save(path);
      xor_byte_in_file(path, pristine.at(pg, 100), 0x01);
      Engine e = Engine::open(path, plain_options());
      CHECK(verify_engine(e, b.models) == "");
    }
  const StreamModel& big = b.model().at("big");

  for (std::uint32_t pg : index_pages) {
    CAPTURE(pg);
    CAPTURE(page_kind(pristine, pg));
    pristine.save(path);
    xor_byte_in_file(path, pristine.at(pg, pristine.ps / 2 + 3), 0x01);
    Engine e = Engine::open(path, plain_options());
    ReadTxn t = e.read();
    // Every get either returns the right record or names the damaged page.
    int failed = 0;
    for (const Rec& x : big.recs) {
      try {
        auto r = t.get("big", x.key);
        REQUIRE(r);
        CHECK(diff_record(*r, x, "get") == "");
      } catch (const Error& err) {
        ++failed;
        CHECK(err.code() == ErrorCode::Corrupt);
        CHECK_MESSAGE(contains(err.what(), page_tag(pg)), err.what());
      }
    }
    CHECK(failed > 0);
    // Another stream's index is not involved.
    auto r = t.get("small", 1);
    REQUIRE(r);
    CHECK(r->value == "x");
    // A scan either reads everything right or names the page.
    try {
      auto c = t.cursor("big");
      std::size_t i = 0;
      for (bool ok = c.first(); ok && i <= big.recs.size(); ok = c.next(), ++i)
        REQUIRE(diff_record(c.record(), big.recs[i], "scan") == "");
      CHECK(i == big.recs.size());
    } catch (const Error& err) {
      CHECK(err.code() == ErrorCode::Corrupt);
      CHECK_MESSAGE(contains(err.what(), page_tag(pg)), err.what());
    }
  }
}

// ---------------------------------------------------------------------------
// 5. Records.

TEST_CASE("Corruption: a damaged record") {
  TempDir dir;
  const std::string path = dir.file();
  Builder b(path, 4096);
  b.commit([&](WriteTxn& w) {
    for (std::uint64_t k = 1; k <= 100; ++k)
      b.add(w, "s", value_for("s", k, 150));
  });
  b.close();
  const Image pristine = Image::load(path);
  const StreamModel& s = b.model().at("s");

  SUBCASE("a flipped payload byte: get and scan name the page") {
    const std::uint64_t key = 42;
    const std::size_t off = pristine.find(marker("s", key)) + 60;
    const auto pg = static_cast<std::uint32_t>(off / pristine.ps);
    REQUIRE(pristine.type(pg) == fmt::kDataPage);
    xor_byte_in_file(path, off, 0x01);

    Engine e = Engine::open(path, plain_options());
    ReadTxn t = e.read();
    expect_error([&] { t.get("s", key); }, ErrorCode::Corrupt,
                 {page_tag(pg), "record 42", "checksum"});
    // Neighbours on the same page are fine.
    for (std::uint64_t k : {key - 1, key + 1}) {
      auto r = t.get("s", k);
      REQUIRE(r);
      CHECK(diff_record(*r, s.recs[k - 1], "get") == "");
    }
    // Scans in both directions reach the damage and report it, after
    // returning the right records up to it.
    expect_error(
        [&] {
          auto c = t.cursor("s");
          for (bool ok = c.first(); ok; ok = c.next()) {
            REQUIRE(c.record().key < key);
            REQUIRE(diff_record(c.record(), s.recs[c.record().key - 1], "") ==
                    "");
          }
        },
        ErrorCode::Corrupt, {page_tag(pg)});
    expect_error(
        [&] {
          auto c = t.cursor("s");
          for (bool ok = c.last(); ok; ok = c.prev())
            REQUIRE(c.record().key > key);
        },
        ErrorCode::Corrupt, {page_tag(pg)});
    expect_error([&] { t.cursor("s").seek(key); }, ErrorCode::Corrupt,
                 {page_tag(pg)});

    // verify_checksums = false: the damaged bytes come back, no crash.
    Options o = plain_options();
    o.verify_checksums = false;
    Engine e2 = Engine::open(path, o);
    auto r = e2.get("s", key);
    REQUIRE(r);
    std::string damaged = s.recs[key - 1].value;
    damaged[60] = static_cast<char>(damaged[60] ^ 1);
    CHECK(r->value == damaged);
    CHECK(r->key == key);
  }

  SUBCASE("every byte of a record header: Corrupt or the right data") {
    // The first record of the first data page: its header is at offset 32.
    const auto head = static_cast<std::uint32_t>(pristine.find(marker("s", 1)) /
                                                 pristine.ps);
    REQUIRE(pristine.type(head) == fmt::kDataPage);
    REQUIRE(rd16(pristine.bytes, pristine.at(head, fmt::data::kCont)) == 0);
    // ... and a record in the middle of the page (key 10), found through the
    // preceding bytes of its payload.
    const std::size_t mid_body = pristine.find(marker("s", 10));
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < fmt::kMaxRecordHeader; ++i)
      offsets.push_back(pristine.at(head, fmt::data::kHeaderSize + i));
    for (std::size_t i = 1; i <= 8; ++i)
      offsets.push_back(mid_body - i);
    for (bool verify : {true, false}) {
      for (std::size_t off : offsets) {
        for (std::uint8_t mask : {0x01, 0x02, 0x40, 0x80, 0xff}) {
          CAPTURE(verify);
          CAPTURE(off);
          CAPTURE(int{mask});
          pristine.save(path);
          xor_byte_in_file(path, off, mask);
          Options o = plain_options();
          o.verify_checksums = verify;
          Engine e = Engine::open(path, o);
          std::string diff;
          auto err = catch_error([&] { diff = verify_engine(e, b.models); });
          if (err) {
            CHECK(err->code() == ErrorCode::Corrupt);
            CHECK_MESSAGE(contains(err->what(), "page "), err->what());
          } else if (verify) {
            CHECK(diff == ""); // without checksums wrong data is allowed
          }
        }
      }
    }
  }
}

// A record whose value spans pages, damaged on a continuation page.
TEST_CASE("Corruption: a damaged continuation page") {
  TempDir dir;
  const std::string path = dir.file();
  Builder b(path, 1024);
  std::string big = value_for("s", 2, 5000);
  b.commit([&](WriteTxn& w) {
    b.add(w, "s", "before");
    b.add(w, "s", big);
    b.add(w, "s", "after");
  });
  b.close();
  const Image pristine = Image::load(path);
  const auto start = static_cast<std::uint32_t>(pristine.find(marker("s", 2)) /
                                                pristine.ps);
  // The third page of the value: a continuation page, with cont > 0.
  const std::uint32_t third = rd32(
      pristine.bytes,
      pristine.at(rd32(pristine.bytes, pristine.at(start, fmt::data::kNext)),
                  fmt::data::kNext));
  REQUIRE(pristine.type(third) == fmt::kDataPage);
  REQUIRE(rd16(pristine.bytes, pristine.at(third, fmt::data::kCont)) > 0);

  SUBCASE("a payload byte") {
    xor_byte_in_file(path, pristine.at(third, 500), 0x08);
    Engine e = Engine::open(path, plain_options());
    // The record's CRC fails; the error names the page where it starts.
    expect_error([&] { e.get("s", 2); }, ErrorCode::Corrupt,
                 {page_tag(start), "record 2"});
    CHECK(e.get("s", 1)->value == "before");
    CHECK(e.get("s", 3)->value == "after");
  }
  SUBCASE("the cont field") {
    xor_byte_in_file(path, pristine.at(third, fmt::data::kCont), 0x01);
    Engine e = Engine::open(path, plain_options());
    expect_error([&] { e.get("s", 2); }, ErrorCode::Corrupt, {page_tag(third)});
  }
  SUBCASE("the type byte") {
    xor_byte_in_file(path, pristine.at(third, fmt::data::kType), 0x04);
    Engine e = Engine::open(path, plain_options());
    expect_error([&] { e.get("s", 2); }, ErrorCode::Corrupt, {page_tag(third)});
  }
}

// ---------------------------------------------------------------------------
// 6. Truncation.

TEST_CASE("Corruption: a truncated file") {
  TempDir dir;
  const std::string path = dir.file();
  Builder b(path, 4096);
  b.commit([&](WriteTxn& w) {
    for (std::uint64_t k = 1; k <= 200; ++k)
      b.add(w, "s", value_for("s", k, 300));
  });
  b.commit([&](WriteTxn& w) { b.add(w, "t", "last"); });
  b.close();
  const Image pristine = Image::load(path);
  const std::size_t used = pristine.at(pristine.page_count());
  REQUIRE(used >= 16 * pristine.ps);

  SUBCASE("cuts that remove used pages: Corrupt naming the truncation") {
    for (std::size_t size : {used / 2, used - 1, used - pristine.ps,
                             std::size_t{2} * pristine.ps,
                             std::size_t{pristine.ps} + 10, std::size_t{100}}) {
      CAPTURE(size);
      pristine.save(path);
      std::filesystem::resize_file(path, size);
      expect_error(
          [&] {
            Engine e = Engine::open(path, plain_options());
            verify_engine(e, b.models);
          },
          ErrorCode::Corrupt, {"truncated"});
    }
  }
  SUBCASE("too short for a meta page: NotKlite") {
    for (std::size_t size : {std::size_t{0}, std::size_t{10},
                             fmt::meta::kSize - 1}) {
      CAPTURE(size);
      pristine.save(path);
      std::filesystem::resize_file(path, size);
      expect_error([&] { Engine::open(path, plain_options()); },
                   ErrorCode::NotKlite, {"not a klite file"});
    }
  }
  SUBCASE("cuts that keep every used page: the data is intact") {
    // The file grows in large steps, so half the file may still hold all of
    // it; and exactly page_count * page_size bytes is a complete file.
    for (std::size_t size : {pristine.bytes.size() / 2, used}) {
      if (size < used)
        continue;
      CAPTURE(size);
      pristine.save(path);
      std::filesystem::resize_file(path, size);
      Engine e = Engine::open(path, plain_options());
      CHECK(verify_engine(e, b.models) == "");
    }
  }
  SUBCASE("a cut and zero-filled back to its old size: Corrupt, no crash") {
    std::filesystem::resize_file(path, used / 2);
    std::filesystem::resize_file(path, pristine.bytes.size());
    expect_error(
        [&] {
          Engine e = Engine::open(path, plain_options());
          std::string diff = verify_engine(e, b.models);
          CHECK(diff == "");
        },
        ErrorCode::Corrupt);
  }
  SUBCASE("truncated while an engine has it open: Error on the next txn") {
    Engine e = Engine::open(path, plain_options());
    CHECK(verify_engine(e, b.models) == "");
    std::filesystem::resize_file(path, used / 2);
    expect_error([&] { e.read(); }, ErrorCode::Corrupt, {"truncated"});
    expect_error([&] { e.get("s", 1); }, ErrorCode::Corrupt, {"truncated"});
    expect_error([&] { e.streams(); }, ErrorCode::Corrupt, {"truncated"});
    expect_error([&] { e.append("s", "more"); }, ErrorCode::Corrupt,
                 {"truncated"});
    // Put the bytes back: the engine reads again.
    pristine.save(path);
    CHECK(verify_engine(e, b.models) == "");
  }
  SUBCASE("truncated into the meta pages while open: Error, not SIGBUS") {
    // Each snapshot rereads the meta pages through the mapping (to see
    // other processes' commits); that must wait for the size check.
    Engine e = Engine::open(path, plain_options());
    CHECK(verify_engine(e, b.models) == "");
    for (std::uintmax_t cut : {std::uintmax_t{0}, std::uintmax_t{100},
                               std::uintmax_t{pristine.ps + 10}}) {
      CAPTURE(cut);
      std::filesystem::resize_file(path, cut);
      expect_error([&] { e.read(); }, ErrorCode::Corrupt, {"truncated"});
      expect_error([&] { e.get("s", 1); }, ErrorCode::Corrupt, {"truncated"});
    }
    pristine.save(path);
    CHECK(verify_engine(e, b.models) == "");
  }
}

// ---------------------------------------------------------------------------
// 7. Damaged links and fields of data pages.

TEST_CASE("Corruption: damaged data page links") {
  TempDir dir;
  const std::string path = dir.file();
  Builder b(path, 1024);
  b.commit([&](WriteTxn& w) {
    for (std::uint64_t k = 1; k <= 60; ++k)
      b.add(w, "s", value_for("s", k, 100));
    b.add(w, "other", "x");
  });
  b.close();
  const Image pristine = Image::load(path);
  const std::uint32_t count = pristine.page_count();

  // The chain in order, from the page holding key 1 along the next links;
  // the tail is the page whose next link is not set yet.
  std::vector<std::uint32_t> chain{static_cast<std::uint32_t>(
      pristine.find(marker("s", 1)) / pristine.ps)};
  while (rd32(pristine.bytes, pristine.at(chain.back(), fmt::data::kNext)) != 0)
    chain.push_back(
        rd32(pristine.bytes, pristine.at(chain.back(), fmt::data::kNext)));
  REQUIRE(chain.size() >= 4);
  const std::uint32_t mid = chain[1];

  auto scan = [&](Engine& e, bool forward) {
    ReadTxn t = e.read();
    auto c = t.cursor("s");
    std::uint64_t n = 0;
    for (bool ok = forward ? c.first() : c.last(); ok && n < 1000;
         ok = forward ? c.next() : c.prev())
      ++n;
    return n;
  };

  // Where a damaged link may point: (what, target for the next link of
  // chain[1], target for the prev link of chain[2]).
  struct Target {
    std::string what;
    std::uint32_t next, prev;
  };
  const std::vector<Target> targets = {
      {"meta page 0", 0, 0},
      {"meta page 1", 1, 1},
      {"the page count", count, count},
      {"far outside", 0xfffffff0u, 0xfffffff0u},
      {"the page itself", mid, chain[2]},
      {"the catalog root", pristine.catalog_root(), pristine.catalog_root()},
      {"a page two links away", chain[3], chain[0]},
  };
  SUBCASE("next and prev links to the wrong place") {
    for (const Target& t : targets) {
      CAPTURE(t.what);
      {
        INFO("the next link of page " << mid);
        pristine.save(path);
        write_in_file(path, pristine.at(mid, fmt::data::kNext),
                      u32_bytes(t.next));
        Engine e = Engine::open(path, plain_options());
        expect_error([&] { scan(e, true); }, ErrorCode::Corrupt, {"page "});
        // The backward scan reaches this page through a prev link and
        // checks its next link against where it came from.
        expect_error([&] { scan(e, false); }, ErrorCode::Corrupt, {"page "});
        // Reads by key follow links only inside a value spanning pages.
        gets_right_or_corrupt(e, b.model());
      }
      {
        INFO("the prev link of page " << chain[2]);
        pristine.save(path);
        write_in_file(path, pristine.at(chain[2], fmt::data::kPrev),
                      u32_bytes(t.prev));
        Engine e = Engine::open(path, plain_options());
        expect_error([&] { scan(e, false); }, ErrorCode::Corrupt, {"page "});
        expect_error([&] { scan(e, true); }, ErrorCode::Corrupt, {"page "});
        gets_right_or_corrupt(e, b.model());
      }
    }
  }

  SUBCASE("the type byte") {
    xor_byte_in_file(path, pristine.at(mid, fmt::data::kType), 0x01);
    Engine e = Engine::open(path, plain_options());
    expect_error([&] { scan(e, true); }, ErrorCode::Corrupt, {page_tag(mid)});
    expect_error([&] { scan(e, false); }, ErrorCode::Corrupt, {page_tag(mid)});
    // A get of a key that starts on the page, found through the index.
    const std::uint64_t key =
        rd64(pristine.bytes, pristine.at(mid, fmt::data::kFirstKey));
    expect_error([&] { e.get("s", key); }, ErrorCode::Corrupt, {page_tag(mid)});
    // Keys on other pages are not affected.
    CHECK(e.get("s", 1)->value == b.model().at("s").recs[0].value);
  }

  SUBCASE("the first key of a page: Corrupt, not a shorter scan") {
    for (std::size_t byte = 0; byte < 8; ++byte) {
      for (std::uint8_t mask : {0x01, 0x80}) {
        CAPTURE(byte);
        CAPTURE(int{mask});
        pristine.save(path);
        xor_byte_in_file(path, pristine.at(mid, fmt::data::kFirstKey + byte),
                         mask);
        Engine e = Engine::open(path, plain_options());
        expect_error([&] { scan(e, true); }, ErrorCode::Corrupt,
                     {page_tag(mid)});
        expect_error([&] { scan(e, false); }, ErrorCode::Corrupt,
                     {page_tag(mid)});
      }
    }
  }

  SUBCASE("the end of a sealed page cut to a record boundary: Corrupt, not "
          "missing records") {
    const auto end = rd16(pristine.bytes, pristine.at(mid, fmt::data::kEnd));
    auto starts = record_starts(pristine, mid, end);
    REQUIRE(starts.size() >= 3);
    Image im = pristine;
    wr16(im.bytes, im.at(mid, fmt::data::kEnd),
         static_cast<std::uint16_t>(starts.back().off));
    im.save(path);
    Engine e = Engine::open(path, plain_options());
    std::string diff;
    auto err = catch_error([&] { diff = verify_engine(e, b.models); });
    if (err) {
      // The page whose end is wrong, or the next one, whose first key then
      // does not follow.
      CHECK(err->code() == ErrorCode::Corrupt);
      CHECK_MESSAGE((contains(err->what(), page_tag(mid)) ||
                     contains(err->what(), page_tag(chain[2]))),
                    err->what());
    } else {
      FAIL_CHECK("no error, and: " << diff);
    }
  }
}

// ---------------------------------------------------------------------------
// 8. Many single-byte flips.

TEST_CASE("Corruption: random single-byte flips") {
  TempDir dir;
  const std::string path = dir.file();
  const Sample s = build_sample(path);
  REQUIRE(s.image.page_count() >= 15);
  {
    Engine e = Engine::open(path, plain_options());
    REQUIRE(verify_engine(e, s.models) == "");
  }
  CrashContext ctx(120 * static_cast<unsigned>(scale()));
  Rng rng(0x6b6c697465); // "klite"
  Tally tally;
  const int runs = 300 * scale();
  for (int i = 0; i < runs; ++i) {
    auto off = static_cast<std::size_t>(rng.range(0, s.image.bytes.size() - 1));
    auto mask = static_cast<std::uint8_t>(rng.range(1, 255));
    damaged_run(path, s, off, mask, Mode{}, tally, ctx);
  }
  MESSAGE(runs << " flips over " << s.image.page_count()
               << " pages: " << tally.ok << " read back right, "
               << tally.corrupt << " Corrupt, " << tally.not_klite
               << " NotKlite, " << tally.unsupported << " Unsupported, "
               << tally.wrong << " wrong");
  CHECK(tally.corrupt > 0);
  CHECK(tally.ok > 0);
}

TEST_CASE("Corruption: every byte of data page headers and record headers") {
  // The bytes of data pages that no checksum of their own covers: the page
  // header (links, cont, end, first key, base timestamp) and the start of
  // the first record; each with a low, a high and an all-bits flip.
  TempDir dir;
  const std::string path = dir.file();
  const Sample s = build_sample(path);
  CrashContext ctx(120 * static_cast<unsigned>(scale()));
  Tally tally;
  for (std::uint32_t pg : s.image.pages_of_type(fmt::kDataPage))
    for (std::size_t off = 0; off < fmt::data::kHeaderSize + 8; ++off)
      for (std::uint8_t mask : {0x01, 0x80, 0xff})
        damaged_run(path, s, s.image.at(pg, off), mask, Mode{}, tally, ctx);
  MESSAGE(tally.ok << " read back right, " << tally.corrupt << " Corrupt, "
                   << tally.wrong << " wrong");
  CHECK(tally.corrupt > 0);
}

TEST_CASE("Corruption: random flips with checksums off") {
  // verify_checksums = false may return damaged values, but must still
  // never crash, hang or throw anything but klite::Error.
  TempDir dir;
  const std::string path = dir.file();
  const Sample s = build_sample(path);
  CrashContext ctx(120 * static_cast<unsigned>(scale()));
  Rng rng(0x6f6666); // "off"
  Tally tally;
  const int runs = 200 * scale();
  Mode mode;
  mode.verify = false;
  mode.strict = false;
  for (int i = 0; i < runs; ++i) {
    auto off = static_cast<std::size_t>(rng.range(0, s.image.bytes.size() - 1));
    auto mask = static_cast<std::uint8_t>(rng.range(1, 255));
    damaged_run(path, s, off, mask, mode, tally, ctx);
  }
  MESSAGE(runs << " flips: " << tally.ok << " read back right, "
               << tally.corrupt << " Corrupt, " << tally.wrong
               << " returned damaged data");
}

TEST_CASE("Corruption: flips in checked pages with the checksum recomputed") {
  // Structural checks behind the checksums: a flip the CRC cannot see (a
  // buggy writer, or a deliberate edit) must still never crash or hang.
  // Wrong data is possible here by design, so it is only counted.
  TempDir dir;
  const std::string path = dir.file();
  const Sample s = build_sample(path);
  const std::vector<std::size_t> candidates = checked_bytes(s.image);
  CrashContext ctx(120 * static_cast<unsigned>(scale()));
  Rng rng(0x637263); // "crc"
  Tally tally;
  const int runs = 300 * scale();
  Mode mode;
  mode.fix_crc = true;
  mode.strict = false;
  for (int i = 0; i < runs; ++i) {
    auto off = candidates[rng.range(0, candidates.size() - 1)];
    auto mask = static_cast<std::uint8_t>(rng.range(1, 255));
    damaged_run(path, s, off, mask, mode, tally, ctx);
  }
  if (std::getenv("KLITE_CORRUPTION_VERBOSE"))
    for (const auto& w : tally.wrong_examples)
      MESSAGE("undetected: " << w);
  MESSAGE(runs << " flips: " << tally.ok << " read back right, "
               << tally.corrupt << " Corrupt, " << tally.not_klite
               << " NotKlite, " << tally.unsupported << " Unsupported, "
               << tally.wrong << " wrong");
}

TEST_CASE("Corruption: every value of the cont and end fields") {
  // The two u16 fields that place records in a data page, set to every
  // value around the page's bounds (and a sample of the rest): a sealed
  // page where records start, a continuation page, and a tail page.
  TempDir dir;
  const std::string path = dir.file();
  const Sample s = build_sample(path);
  const Image& im = s.image;
  const std::uint32_t alpha_page =
      static_cast<std::uint32_t>(im.find(marker("alpha", 30)) / im.ps);
  const std::uint32_t beta_start =
      static_cast<std::uint32_t>(im.find(marker("beta", 3)) / im.ps);
  const std::uint32_t beta_cont =
      rd32(im.bytes, im.at(beta_start, fmt::data::kNext));
  const std::uint32_t delta_tail =
      static_cast<std::uint32_t>(im.find(marker("delta", 3)) / im.ps);
  REQUIRE(rd32(im.bytes, im.at(alpha_page, fmt::data::kNext)) != 0);
  REQUIRE(rd16(im.bytes, im.at(beta_cont, fmt::data::kCont)) > 0);
  std::vector<std::uint16_t> values = {0x7fff, 0x8000, 0xffff};
  for (std::uint32_t v = 0; v <= im.ps + 40; ++v)
    if (v <= 64 || v + 64 >= im.ps || v % 7 == 0)
      values.push_back(static_cast<std::uint16_t>(v));
  CrashContext ctx(120);
  Tally tally;
  for (std::uint32_t pg : {alpha_page, beta_cont, delta_tail}) {
    for (std::size_t field : {fmt::data::kCont, fmt::data::kEnd}) {
      for (std::uint16_t v : values) {
        if (v == rd16(im.bytes, im.at(pg, field)))
          continue;
        Image d = im;
        wr16(d.bytes, d.at(pg, field), v);
        damaged_run(path, s, d,
                    "page " + std::to_string(pg) + (field == fmt::data::kCont
                                                         ? " cont = "
                                                         : " end = ") +
                        std::to_string(v),
                    Mode{}, tally, ctx);
      }
    }
  }
  MESSAGE(tally.ok << " read back right, " << tally.corrupt << " Corrupt, "
                   << tally.wrong << " wrong");
}

TEST_CASE("Corruption: every data page link to every page") {
  // The next and prev links of each data page, pointed at each page of the
  // file (other streams' pages, free pages holding a dropped stream's
  // chain, B+tree pages, the meta pages) and just past its end.
  TempDir dir;
  const std::string path = dir.file();
  const Sample s = build_sample(path);
  const Image& im = s.image;
  CrashContext ctx(120);
  Tally tally;
  for (std::uint32_t pg : im.pages_of_type(fmt::kDataPage)) {
    for (std::size_t field : {fmt::data::kPrev, fmt::data::kNext}) {
      for (std::uint32_t target = 0; target < im.page_count() + 2; ++target) {
        if (target == rd32(im.bytes, im.at(pg, field)))
          continue;
        Image d = im;
        wr32(d.bytes, d.at(pg, field), target);
        damaged_run(path, s, d,
                    "page " + std::to_string(pg) +
                        (field == fmt::data::kPrev ? " prev = " : " next = ") +
                        std::to_string(target),
                    Mode{}, tally, ctx);
      }
    }
  }
  MESSAGE(tally.ok << " read back right, " << tally.corrupt << " Corrupt, "
                   << tally.wrong << " wrong");
  CHECK(tally.corrupt > 0);
}

TEST_CASE("Corruption: zeroed pages") {
  // A lost write into a preallocated file, or a hole: a whole page of zeros.
  TempDir dir;
  const std::string path = dir.file();
  const Sample s = build_sample(path);
  CrashContext ctx(120);
  Tally tally;
  for (std::uint32_t pg = 0; pg < s.image.page_count(); ++pg) {
    Image d = s.image;
    std::fill_n(d.bytes.begin() + static_cast<std::ptrdiff_t>(d.at(pg)), d.ps,
                '\0');
    damaged_run(path, s, d,
                "page " + std::to_string(pg) + " [" + page_kind(s.image, pg) +
                    "] zeroed",
                Mode{}, tally, ctx);
  }
  MESSAGE(tally.ok << " read back right, " << tally.corrupt << " Corrupt, "
                   << tally.wrong << " wrong");
  CHECK(tally.corrupt > 0);
}

TEST_CASE("Corruption: stale pages") {
  // A lost write of one page (the disk acknowledged it but kept the old
  // bytes): the page holds what an earlier commit wrote there. A stale
  // B+tree page has a valid checksum and its own page number, so this may
  // go unnoticed (it is only counted); it must never crash or hang.
  TempDir dir;
  const std::string path = dir.file();
  const Sample s = build_sample(path);
  CrashContext ctx(120);
  Tally tally;
  Mode mode;
  mode.strict = false;
  int runs = 0;
  for (std::uint32_t pg = 2; pg < s.image.page_count(); ++pg) {
    for (const auto& [txn, old] : s.history) {
      const std::size_t at = s.image.at(pg);
      if (old.size() < at + s.image.ps ||
          old.compare(at, s.image.ps, s.image.bytes, at, s.image.ps) == 0)
        continue;
      Image d = s.image;
      d.bytes.replace(at, d.ps, old, at, d.ps);
      ++runs;
      damaged_run(path, s, d,
                  "page " + std::to_string(pg) + " [" +
                      page_kind(s.image, pg) + "] as of commit " +
                      std::to_string(txn),
                  mode, tally, ctx);
    }
  }
  if (std::getenv("KLITE_CORRUPTION_VERBOSE"))
    for (const auto& w : tally.wrong_examples)
      MESSAGE("undetected: " << w);
  MESSAGE(runs << " stale pages: " << tally.ok << " read back right, "
               << tally.corrupt << " Corrupt, " << tally.wrong << " wrong");
}

TEST_CASE("Corruption: the previous commit survives a damaged newest meta "
          "page, at every commit") {
  // "Open picks the newest valid one": that only helps if the commit before
  // the newest is still intact, i.e. no page it uses was reused by the
  // newest commit (pager.h, invariant 3). Many commits that free and reuse
  // pages; after each, the newest meta page of a copy is damaged.
  TempDir dir;
  const std::string path = dir.file();
  const std::string copy = dir.file("copy.klite");
  Builder b(path, 1024);
  Rng rng(0x636875726e); // "churn"
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  std::map<std::string, std::uint64_t> next_key;
  int checked = 0;
  for (int commit = 0; commit < 40; ++commit) {
    b.commit([&](WriteTxn& w) {
      const int ops = static_cast<int>(rng.range(1, 6));
      for (int op = 0; op < ops; ++op) {
        const std::string& name = names[rng.range(0, names.size() - 1)];
        if (rng.range(0, 9) == 0 && b.model().count(name)) {
          b.drop(w, name);
          continue;
        }
        const int n = static_cast<int>(rng.range(1, 15));
        for (int i = 0; i < n; ++i) {
          std::uint64_t k = ++next_key[name];
          b.add(w, name,
                value_for(name, k, static_cast<std::size_t>(rng.range(0, 2500))));
        }
      }
    });
    const std::uint64_t last = b.last_txn();
    Image im;
    im.bytes = klite::test::read_file_bytes(path);
    im.ps = 1024;
    const int newest = im.current_slot();
    REQUIRE(im.meta_txn(newest) == last);
    im.bytes[im.at(static_cast<std::uint32_t>(newest), fmt::meta::kTxnId)] ^= 1;
    im.save(copy);
    CAPTURE(commit);
    Engine e = Engine::open(copy, plain_options());
    std::uint64_t snap = 0;
    std::string diff;
    auto err = catch_error([&] { diff = verify_engine(e, b.models, &snap); });
    if (err)
      FAIL_CHECK("commit " << last - 1 << " does not read back: " << err->what());
    CHECK(diff == "");
    CHECK(snap == last - 1);

    // The fallen-back file takes a commit (reusing what the lost commit
    // wrote), and then reads back that state.
    Model m = b.models.at(last - 1);
    {
      WriteTxn w = e.write();
      const std::string name = names[static_cast<std::size_t>(commit) % 4];
      StreamModel& sm = m[name];
      std::string v = value_for(name, 1000000 + sm.next_key,
                                static_cast<std::size_t>(rng.range(0, 3000)));
      CHECK(w.append(name, v) == sm.next_key);
      w.commit();
      auto r = e.get(name, sm.next_key);
      REQUIRE(r);
      sm.recs.push_back({sm.next_key, r->timestamp, v, {}});
      sm.next_key++;
      sm.bytes += v.size();
    }
    {
      Engine gone = std::move(e);
    }
    Engine again = Engine::open(copy, plain_options());
    CHECK(verify_engine(again, Models{{last, m}}) == "");
    ++checked;
  }
  CHECK(checked == 40);
  b.close();
  Image im = Image::load(path);
  MESSAGE("40 commits, the file ends with " << im.page_count() << " pages");
}

TEST_CASE("Corruption: a cursor after an error") {
  // A positioning call that throws leaves the cursor not valid (chain.h),
  // never showing a record whose bytes the failed read overwrote (a value
  // spanning pages is assembled in a buffer the next read reuses).
  TempDir dir;
  const std::string path = dir.file();
  Builder b(path, 1024);
  b.commit([&](WriteTxn& w) {
    for (std::uint64_t k = 1; k <= 4; ++k)
      b.add(w, "s", value_for("s", k, 3000 + 500 * k)); // each spans pages
  });
  b.close();
  const Image pristine = Image::load(path);
  const StreamModel& s = b.model().at("s");
  xor_byte_in_file(path, pristine.find(marker("s", 3)) + 100, 0x01);

  Engine e = Engine::open(path, plain_options());
  ReadTxn t = e.read();
  for (bool forward : {true, false}) {
    CAPTURE(forward);
    auto c = t.cursor("s");
    const std::uint64_t from = forward ? 2 : 4;
    REQUIRE(c.seek(from));
    REQUIRE(diff_record(c.record(), s.recs[from - 1], "seek") == "");
    expect_error([&] { forward ? c.next() : c.prev(); }, ErrorCode::Corrupt,
                 {"record 3"});
    CHECK_FALSE(c.valid());
    if (c.valid()) { // at least no stale bytes (and no use after free)
      const klite::Record& r = c.record();
      std::string copy(r.value);
      CHECK((r.key == from || r.key == 3));
      const Rec& want = s.recs[r.key == from ? from - 1 : 2];
      CHECK_MESSAGE(klite::test::first_difference(copy, want.value) == -1,
                    "record() after the error shows record " << r.key
                        << " with a wrong value");
    } else {
      expect_error([&] { c.record(); }, ErrorCode::Misuse);
    }
    // The cursor can be positioned again on a good record.
    REQUIRE(c.seek(1));
    CHECK(diff_record(c.record(), s.recs[0], "seek again") == "");
  }
  // The same through get(): a failed get, then a good one.
  expect_error([&] { t.get("s", 3); }, ErrorCode::Corrupt, {"record 3"});
  auto r = t.get("s", 4);
  REQUIRE(r);
  CHECK(r->value == s.recs[3].value);
}
