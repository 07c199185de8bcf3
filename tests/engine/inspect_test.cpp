// klite::inspect (engine/inspect.h) and the klite-inspect command line.
//
// Clean files of many shapes must check clean, and dump must return what
// the engine returns. Damaged files are made by changing bytes at places
// found through the inspect views (streams, tree, freelist, dump_page) and,
// where the damage is to a checked page, fixing its CRC so the check has to
// find the damage by structure; each case checks that check() names the
// problem and its page. The command line is run in process (run_cli) and, a
// little, as the built binary (exit codes). Golden files under tests/golden/
// hold the header and meta output of a deterministic file, the meta
// output of one whose commits list their ranges, whole and with its last
// commit torn, the analyze and stream output of one after expiry, and the
// meta, streams, stream and meta page output of one with descriptor
// overlays; rewrite them with KLITE_UPDATE_GOLDEN=1.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/catalog.h"
#include "engine/chain.h"
#include "engine/crc32c.h"
#include "engine/format.h"
#include "engine/inspect.h"
#include "engine/pager.h"
#include "engine/text.h"
#include "test_util.h"
#include "tools/inspect_cli.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <sys/wait.h>

namespace {

namespace fmt = klite::format;
namespace ins = klite::inspect;
using klite::Engine;
using klite::ErrorCode;
using klite::Options;
using klite::test::contains;
using klite::test::FakeClock;
using klite::test::TempDir;

// ---------------------------------------------------------------------------
// Byte helpers

std::uint32_t rd32(const std::string& b, std::size_t off) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = v << 8 |
        static_cast<std::uint8_t>(b[off + static_cast<std::size_t>(i)]);
  return v;
}
void wr16(std::string& b, std::size_t off, std::uint16_t v) {
  b[off] = static_cast<char>(v);
  b[off + 1] = static_cast<char>(v >> 8);
}
void wr32(std::string& b, std::size_t off, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i)
    b[off + i] = static_cast<char>(v >> (8 * i));
}
void wr64(std::string& b, std::size_t off, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i)
    b[off + i] = static_cast<char>(v >> (8 * i));
}

// A file's bytes, damaged in memory and checked with File::from_bytes.
struct Image {
  std::string bytes;
  std::uint32_t ps;

  std::size_t at(std::uint32_t pg, std::size_t off = 0) const {
    return std::size_t{pg} * ps + off;
  }
  void flip(std::uint32_t pg, std::size_t off, std::uint8_t mask = 0x40) {
    bytes[at(pg, off)] = static_cast<char>(bytes[at(pg, off)] ^ mask);
  }
  void fix_page_crc(std::uint32_t pg) {
    wr32(bytes, at(pg, fmt::checked::kCrc), 0);
    wr32(bytes, at(pg, fmt::checked::kCrc),
         klite::crc32c::value(bytes.data() + at(pg), ps));
  }
  void fix_meta_crc(std::uint32_t slot) {
    wr32(bytes, at(slot, fmt::meta::kCrc),
         klite::crc32c::value(bytes.data() + at(slot), fmt::meta::kCrc));
  }
  // After a change to a commit range list: its CRC, then the meta page's.
  void fix_range_list_crc(std::uint32_t slot) {
    const std::size_t n = rd32(bytes, at(slot, fmt::meta::kRangeCount));
    wr32(bytes, at(slot, fmt::meta::kRangeListCrc),
         klite::crc32c::value(bytes.data() + at(slot, fmt::meta::kSize),
                              n * fmt::meta::kRangeSize));
    fix_meta_crc(slot);
  }
  // After a change to a descriptor overlay (or its size): its CRC, then
  // the meta page's.
  // Only the meta page's if the overlay does not fit the page.
  void fix_overlay_crc(std::uint32_t slot) {
    const std::size_t n = rd32(bytes, at(slot, fmt::meta::kRangeCount));
    const std::size_t v = rd32(bytes, at(slot, fmt::meta::kOverlaySize));
    const std::size_t begin = fmt::meta::kSize + n * fmt::meta::kRangeSize;
    if (begin + v <= ps)
      wr32(bytes, at(slot, fmt::meta::kOverlayCrc),
           klite::crc32c::value(bytes.data() + at(slot, begin), v));
    fix_meta_crc(slot);
  }
  // Rewrites where entry i of meta page `slot`'s range list points, with
  // both CRCs fixed, so only the entry itself is wrong.
  void set_range(std::uint32_t slot, std::size_t i, std::uint64_t off,
                 std::uint32_t len) {
    const std::size_t e =
        at(slot, fmt::meta::kSize + i * fmt::meta::kRangeSize);
    wr64(bytes, e + fmt::meta::kRangeOffset, off);
    wr32(bytes, e + fmt::meta::kRangeLength, len);
    fix_range_list_crc(slot);
  }
  ins::File file() const { return ins::File::from_bytes(bytes, "image"); }
  ins::Report check() const { return ins::check(file()); }
};

std::string hex32(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", static_cast<unsigned>(v));
  return b;
}

std::string describe(const ins::Report& r) {
  std::string s;
  for (const ins::Problem& p : r.problems)
    s += std::string(p.warning ? "warning: " : "") + "page " +
         std::to_string(p.page) + ": " + p.message + "\n";
  return s;
}

// True if the report has an error (not a warning) on `page` whose message
// contains `what` (is `what`, if exact).
bool has_error(const ins::Report& r, std::uint32_t page, std::string_view what,
               bool exact = false) {
  return std::any_of(
      r.problems.begin(), r.problems.end(), [&](const ins::Problem& p) {
        return !p.warning && p.page == page &&
               (exact ? p.message == what : contains(p.message, what));
      });
}

#define CHECK_PROBLEM_(report, page, what, exact)                              \
  do {                                                                         \
    const auto& rep_ = (report);                                               \
    INFO("problems:\n" << describe(rep_));                                     \
    CHECK_FALSE(rep_.clean());                                                 \
    CHECK_MESSAGE(has_error(rep_, (page), (what), (exact)),                    \
                  "expected an error on page " << (page) << " with \""         \
                                               << (what) << "\"");             \
  } while (0)
#define CHECK_PROBLEM(report, page, what)                                      \
  CHECK_PROBLEM_(report, page, what, false)
// The error's whole message, for the problems a person reads.
#define CHECK_EXACT_PROBLEM(report, page, what)                                \
  CHECK_PROBLEM_(report, page, what, true)

// ---------------------------------------------------------------------------
// Files

Options options(std::uint32_t page_size, const FakeClock& clock) {
  Options o;
  o.page_size = page_size;
  o.durability = klite::Durability::Off;
  o.clock = clock;
  return o;
}

std::string value_of(std::uint64_t key, std::size_t size) {
  return klite::test::payload(key, size, 7);
}

// A file with every structure: a catalog and key indexes several levels
// deep, records spanning pages, headers, an empty stream, a dropped stream,
// many commits (so the free list has directory and chunk pages), empty
// values. Returns the expected live records per stream.
struct Expected {
  std::map<std::string, std::vector<klite::OwnedRecord>> streams;
};

Expected build_rich(const std::string& path, std::uint32_t ps) {
  FakeClock clock;
  clock.set(1'795'600'800'000'000);
  Expected want;
  Engine e = Engine::open(path, options(ps, clock));
  auto add = [&](klite::WriteTxn& w, const std::string& s, std::string v,
                 std::vector<std::pair<std::string, std::string>> hs = {}) {
    std::vector<klite::Header> h;
    for (auto& [n, x] : hs)
      h.push_back(klite::Header{n, x});
    std::uint64_t k = w.append(s, v, h);
    want.streams[s].push_back(klite::OwnedRecord{k, clock(), v, hs});
    clock.set(clock() + 7);
  };
  {
    auto w = e.write();
    w.create_stream("empty");
    want.streams["empty"];
    for (std::uint64_t k = 1; k <= 1500; ++k)
      add(w, "alpha", value_of(k, 40 + k % 90));
    add(w, "alpha", "");
    add(w, "big", value_of(1, 3000));
    add(w, "big", value_of(2, 100'000));
    add(w, "big", value_of(3, 5));
    add(w, "big", value_of(4, ps - 32)); // fills a page's record area exactly
    for (std::uint64_t k = 1; k <= 100; ++k)
      add(w, "gone", value_of(k, 200));
    w.commit();
  }
  for (int c = 0; c < 40; ++c) {
    auto w = e.write();
    for (int i = 0; i < 3; ++i) {
      add(w, "alpha", value_of(c * 3 + i, 77));
      add(w, "hdr", "event " + std::to_string(c * 3 + i),
          {{"type", "click"}, {"trace", std::string("\x00\xff\x01", 3)}});
    }
    if (c == 20) {
      w.drop_stream("gone");
      want.streams.erase("gone");
    }
    w.commit();
  }
  {
    auto w = e.write();
    for (int i = 0; i < 150; ++i)
      add(w, klite::test::numbered("s", static_cast<std::uint64_t>(i), 3),
          "x" + std::to_string(i));
    add(w, "big", value_of(5, 2 * ps + 17)); // spans onto a third page
    w.commit();
  }
  return want;
}

// A small file of 1 KiB pages written with Durability::Full, so every
// commit lists its ranges in its meta page: `commits` commits of one record
// each to stream "s" (a new data page from the third on).
void build_listed(const std::string& path, int commits) {
  FakeClock clock;
  clock.set(1'795'600'800'000'000);
  Options o = options(1024, clock);
  o.durability = klite::Durability::Full;
  Engine e = Engine::open(path, o);
  for (int i = 0; i < commits; ++i) {
    clock.set(clock() + 1000);
    e.append("s", value_of(static_cast<std::uint64_t>(i), 400));
  }
}

constexpr std::uint64_t kT0 = 1'795'600'800'000'000; // 2026-11-25T10:00:00Z
constexpr std::chrono::microseconds kMinute{60'000'000};

// A file of 1 KiB pages after expiry, every timestamp fixed:
//  - "ev": records 1..30 of 90 bytes at kT0 + key ms, a TTL of a minute
//    on every third, expired below key 14: its head page begins with the
//    end of record 11, whose start page was dropped, then expired records
//    12 (with a TTL) and 13;
//  - "span": its head page begins with the end of expired record 2, whose
//    start page was dropped;
//  - "capped": kept to 5 of its 20 records by its retention;
//  - "kept": every retention limit set, one record with a TTL of 90 min;
//  - "done": every record expired, the last page kept;
//  - "plain": no TTL, nothing expired.
void build_expiry(const std::string& path) {
  FakeClock clock;
  clock.set(kT0);
  Engine e = Engine::open(path, options(1024, clock));
  auto w = e.write();
  for (std::uint64_t k = 1; k <= 30; ++k) {
    clock.set(kT0 + k * 1000);
    w.append("ev", value_of(k, 90), {},
             k % 3 == 0 ? kMinute : std::chrono::microseconds{0});
  }
  for (std::uint64_t k = 1; k <= 4; ++k)
    w.append("span", value_of(k, k == 1 ? 600 : k == 2 ? 900 : 100));
  w.create_stream("capped", klite::Retention{{}, 0, 5});
  for (std::uint64_t k = 1; k <= 20; ++k)
    w.append("capped", value_of(k, 50));
  w.create_stream("kept",
                  klite::Retention{std::chrono::hours(24 * 7), 8 << 20, 1000});
  w.append("kept", "k1", {}, 90 * kMinute);
  for (std::uint64_t k = 1; k <= 3; ++k)
    w.append("done", value_of(k, 100));
  w.append("plain", "p");
  w.commit();
  e.expire_before("ev", 14);
  e.expire_before("span", 3);
  e.expire_before("done", 4);
}

// A file of 1 KiB pages whose last commits changed only streams that the
// catalog tree holds, so that their descriptors are in the meta pages'
// overlays (format version 4): "a", "b" and "c" get records 1..20 of 100
// bytes in commit 2; then "a" gets 21..25 in a commit each, and "b" is
// expired below key 12. The current meta page's overlay holds "a" (at
// offset 64) and "b" (at 170); the other one's "a" alone.
void build_overlay(const std::string& path,
                   klite::Durability durability = klite::Durability::Off) {
  FakeClock clock;
  clock.set(kT0);
  Options o = options(1024, clock);
  o.durability = durability;
  Engine e = Engine::open(path, o);
  {
    auto w = e.write();
    for (std::uint64_t k = 1; k <= 20; ++k) {
      clock.set(kT0 + k * 1000);
      for (const char* s : {"a", "b", "c"})
        w.append(s, value_of(k, 100));
    }
    w.commit();
  }
  for (std::uint64_t k = 21; k <= 25; ++k) {
    clock.set(kT0 + k * 1000);
    e.append("a", value_of(k, 100));
  }
  e.expire_before("b", 12);
}

// The records of every stream, as the engine opened read-only sees them.
std::uint64_t engine_records(const std::string& path) {
  Options o;
  o.read_only = true;
  o.create_if_missing = false;
  Engine e = Engine::open(path, o);
  std::uint64_t n = 0;
  for (const klite::StreamInfo& si : e.streams())
    n += si.records;
  return n;
}

// The txn id of the snapshot the engine opens read-only, or nullopt with
// the error's message in *error if it cannot open the file.
std::optional<std::uint64_t> engine_txn(const std::string& path,
                                        std::string* error = nullptr) {
  Options o;
  o.read_only = true;
  o.create_if_missing = false;
  try {
    return Engine::open(path, o).read().snapshot_id();
  } catch (const klite::Error& e) {
    if (error)
      *error = e.what();
    return std::nullopt;
  }
}

// The rich file of a page size, built once per process.
const Image& rich(std::uint32_t ps) {
  static std::map<std::uint32_t, Image> cache;
  auto it = cache.find(ps);
  if (it == cache.end()) {
    TempDir dir;
    build_rich(dir.file(), ps);
    Image im{klite::test::read_file_bytes(dir.file()), ps};
    it = cache.emplace(ps, std::move(im)).first;
  }
  return it->second;
}

const ins::Stream& stream(const std::vector<ins::Stream>& ss,
                          std::string_view name) {
  auto it = std::find_if(ss.begin(), ss.end(),
                         [&](const ins::Stream& s) { return s.name == name; });
  REQUIRE(it != ss.end());
  return *it;
}

// The data pages of a stream, head to tail, read from the raw bytes.
std::vector<std::uint32_t> chain(const Image& im, const ins::Stream& s) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t pg = s.d.head; pg != 0 && out.size() < 100000;) {
    out.push_back(pg);
    if (pg == s.d.tail)
      break;
    pg = rd32(im.bytes, im.at(pg, fmt::data::kNext));
  }
  return out;
}

// The offset in its page of a decoded field named `name` of page pgno's
// item `item` (or the header when item is empty).
std::uint32_t field_offset(const ins::File& f, std::uint32_t pgno,
                           std::string_view item, std::string_view name) {
  ins::PageDump d = ins::dump_page(f, pgno);
  const std::vector<ins::Field>* fields = &d.header;
  if (!item.empty()) {
    auto it = std::find_if(d.items.begin(), d.items.end(),
                           [&](const ins::Item& x) { return x.title == item; });
    REQUIRE(it != d.items.end());
    fields = &it->fields;
  }
  for (const ins::Field& x : *fields)
    if (x.name == name)
      return x.offset;
  FAIL("no field " << name);
  return 0;
}

// Changes field `name` of stream s's current descriptor where dump_page
// finds it, in the catalog leaf (a cell's "key") or in the overlay of a
// meta page (an entry's "stream name"), then fixes that page's CRCs, so
// that only the field is wrong.
template <class Change>
void patch_descriptor(Image& im, const ins::Stream& s, std::string_view name,
                      Change change) {
  std::uint32_t off = 0;
  const std::string key = "\"" + s.name + "\"";
  const char* key_field = s.overlaid ? "stream name" : "key";
  ins::PageDump d = ins::dump_page(im.file(), s.desc_page);
  for (const ins::Item& it : d.items) {
    if (std::none_of(it.fields.begin(), it.fields.end(),
                     [&](const ins::Field& x) {
                       return x.name == key_field && x.value == key;
                     }))
      continue;
    for (const ins::Field& x : it.fields)
      if (x.name == name)
        off = x.offset;
  }
  REQUIRE(off != 0);
  change(im.at(s.desc_page, off));
  if (s.overlaid)
    im.fix_overlay_crc(s.desc_page);
  else
    im.fix_page_crc(s.desc_page);
}

bool update_golden() {
  const char* v = std::getenv("KLITE_UPDATE_GOLDEN");
  return v && *v && std::string_view(v) != "0";
}

std::string source_path(const std::string& rel) {
  return std::string(KLITE_SOURCE_DIR) + "/" + rel;
}

void check_golden(const std::string& rel, const std::string& actual) {
  std::string path = source_path(rel);
  if (update_golden()) {
    klite::test::write_file_bytes(path, actual);
    MESSAGE("rewrote " << rel);
    return;
  }
  std::string expected = klite::test::read_file_bytes(path);
  CAPTURE(rel);
  CHECK(actual == expected);
}

struct CliResult {
  int code;
  std::string out, err;
};

CliResult cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = ins::run_cli(args, out, err);
  return {code, out.str(), err.str()};
}

// Runs each command on `file`, in text and JSON, and checks that it
// succeeds with the output of tests/golden/inspect_PREFIX_COMMAND[_ARG]
// .txt and .json.
void check_golden_commands(const std::string& file, const std::string& prefix,
                           const std::vector<std::vector<std::string>>& cmds) {
  for (const auto& cmd : cmds) {
    for (bool json : {false, true}) {
      std::vector<std::string> args = {file};
      args.insert(args.end(), cmd.begin(), cmd.end());
      if (json)
        args.push_back("--json");
      CliResult c = cli(args);
      CHECK(c.code == 0);
      CHECK(c.err.empty());
      std::string name = "tests/golden/inspect_" + prefix + "_" + cmd[0];
      if (cmd.size() > 1)
        name += "_" + cmd[1];
      check_golden(name + (json ? ".json" : ".txt"), c.out);
    }
  }
}

// Runs the built binary; returns its exit status and stdout.
CliResult run_binary(const std::string& args, const TempDir& dir) {
  std::string out = (dir.path() / "cli.out").string();
  std::string err = (dir.path() / "cli.err").string();
  std::string cmd = std::string("'") + KLITE_INSPECT_BIN + "' " + args + " >'" +
                    out + "' 2>'" + err + "'";
  int status = std::system(cmd.c_str());
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  return {WEXITSTATUS(status), klite::test::read_file_bytes(out),
          klite::test::read_file_bytes(err)};
}

} // namespace

// ---------------------------------------------------------------------------

TEST_CASE("Inspect: clean files check clean") {
  for (std::uint32_t ps : {1024u, 4096u}) {
    CAPTURE(ps);
    TempDir dir;
    Expected want = build_rich(dir.file(), ps);
    ins::File f(dir.file());
    ins::Report r = ins::check(f);
    INFO("problems:\n" << describe(r));
    CHECK(r.clean());
    CHECK(r.errors == 0);
    CHECK(r.warnings == 0);

    // What check counted is what the engine holds.
    Engine e = Engine::open(dir.file());
    std::uint64_t records = 0, bytes = 0;
    for (const klite::StreamInfo& si : e.streams()) {
      records += si.records;
      bytes += si.bytes;
    }
    CHECK(r.records == records);
    CHECK(r.payload_bytes == bytes);
    CHECK(r.streams.size() == want.streams.size());

    // Every page is accounted for exactly once.
    std::uint64_t pages = 2 + r.catalog.pages + r.freelist_dir_pages +
                          r.freelist_chunk_pages + r.free_pages;
    for (const ins::StreamStats& s : r.streams)
      pages += s.data_pages + s.index.pages;
    CHECK(pages == r.page_count);
    CHECK(r.unreachable_pages == 0);
    CHECK(r.catalog.depth >= 2);
    CHECK(r.freelist_dir_pages >= 1);
    CHECK(r.freelist_chunk_pages >= 1);
    for (const ins::StreamStats& s : r.streams)
      if (s.name == "alpha" && ps == 1024)
        CHECK(s.index.depth >= 2);

    // dump returns exactly what the engine returns.
    for (const auto& entry : want.streams) {
      const std::string& name = entry.first;
      const std::vector<klite::OwnedRecord>& recs = entry.second;
      CAPTURE(name);
      std::vector<klite::OwnedRecord> got;
      auto problems = ins::dump(f, name, [&](const ins::DumpRecord& d) {
        klite::OwnedRecord o{d.key, d.timestamp, std::string(d.value), {}};
        for (auto [hn, hv] : d.headers)
          o.headers.emplace_back(std::string(hn), std::string(hv));
        got.push_back(std::move(o));
      });
      CHECK(problems.empty());
      REQUIRE(got.size() == recs.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(got[i].key == recs[i].key);
        CHECK(got[i].timestamp == recs[i].timestamp);
        CHECK(klite::test::first_difference(got[i].value, recs[i].value) == -1);
        CHECK(got[i].headers == recs[i].headers);
      }
    }
  }
}

TEST_CASE("Inspect: small clean files") {
  TempDir dir;
  SUBCASE("a new file") { Engine::open(dir.file()); }
  SUBCASE("one empty stream") {
    Engine e = Engine::open(dir.file());
    e.create_stream("s");
  }
  SUBCASE("every stream dropped") {
    Engine e = Engine::open(dir.file());
    for (int i = 0; i < 5; ++i)
      e.append("s" + std::to_string(i), "v");
    for (int i = 0; i < 5; ++i)
      e.drop_stream("s" + std::to_string(i));
  }
  SUBCASE("a record that fills pages exactly") {
    Options o;
    o.page_size = 1024;
    Engine e = Engine::open(dir.file(), o);
    e.append("s",
             std::string(1024 - 32 - 7, 'a'));    // header 7 bytes: whole page
    e.append("s", std::string(2 * 992 - 7, 'b')); // exactly two pages
    e.append("s", "c");
  }
  SUBCASE("32 KiB pages") {
    Options o;
    o.page_size = 32768;
    Engine e = Engine::open(dir.file(), o);
    for (int i = 0; i < 1000; ++i)
      e.append("s", std::string(static_cast<std::size_t>(i), 'x'));
  }
  ins::File f(dir.file());
  ins::Report r = ins::check(f);
  INFO("problems:\n" << describe(r));
  CHECK(r.clean());
  CHECK(r.problems.empty());
}

TEST_CASE("Inspect: the file is read while a writer has it open") {
  TempDir dir;
  Engine e = Engine::open(dir.file(), klite::test::fast_options());
  for (int i = 0; i < 200; ++i)
    e.append("s", value_of(static_cast<std::uint64_t>(i), 300));
  ins::File f(dir.file()); // the snapshot of the last commit
  {
    auto w = e.write(); // uncommitted work changes nothing on disk
    w.append("s", "pending");
    CHECK(ins::check(f).clean());
    CHECK(ins::check(ins::File(dir.file())).clean());
    w.commit(); // appends into the tail page of f's snapshot and seals it
  }
  e.append("s", value_of(1, 5000));
  // Pages freed by the two commits since f's snapshot are not reused before
  // the third (pager.h, invariant 3), so f still reads a consistent state.
  ins::Report old = ins::check(f);
  INFO(describe(old));
  CHECK(old.clean());
  CHECK(old.records == 200);
  CHECK_FALSE(old.snapshot_moved);
  e.drop_stream("s");
  e.append("t", "new");
  // Four commits on, pages of f's snapshot may have been reused: check says
  // so, and turns what it found into a "may be spurious" warning.
  ins::Report late = ins::check(f);
  CHECK(late.snapshot_moved);
  if (!late.clean())
    CHECK(contains(late.problems.back().message, "may be spurious"));
  ins::Report now = ins::check(ins::File(dir.file()));
  INFO(describe(now));
  CHECK(now.clean());
  CHECK(now.records == 1);
}

TEST_CASE("Inspect: files that cannot be opened") {
  TempDir dir;
  auto code_of = [&](const std::string& path) {
    try {
      ins::File f(path);
    } catch (const klite::Error& e) {
      return e.code();
    }
    FAIL("opened " << path);
    return ErrorCode::Misuse;
  };
  CHECK(code_of(dir.file("missing")) == ErrorCode::NotFound);
  klite::test::write_file_bytes(dir.file("empty"), "");
  CHECK(code_of(dir.file("empty")) == ErrorCode::NotKlite);
  klite::test::write_file_bytes(dir.file("short"), "klite");
  CHECK(code_of(dir.file("short")) == ErrorCode::NotKlite);
  klite::test::write_file_bytes(dir.file("text"), std::string(10000, 'z'));
  CHECK(code_of(dir.file("text")) == ErrorCode::NotKlite);

  // A meta page with a valid checksum and version 5.
  static_assert(fmt::kFormatVersion == 4);
  Engine::open(dir.file("v5"));
  Image im{klite::test::read_file_bytes(dir.file("v5")), 4096};
  wr32(im.bytes, im.at(1, fmt::meta::kVersion), 5);
  im.fix_meta_crc(1);
  klite::test::write_file_bytes(dir.file("v5"), im.bytes);
  CHECK(code_of(dir.file("v5")) == ErrorCode::Unsupported);
  const std::string v5 =
      dir.file("v5") +
      ": unsupported format version 5 (this build reads 1 to 4)";
  CHECK_THROWS_WITH_AS(ins::File{dir.file("v5")}, v5.c_str(), klite::Error);

  for (const char* name : {"missing", "empty", "text", "v5"}) {
    CAPTURE(name);
    CliResult c = cli({dir.file(name), "check"});
    CHECK(c.code == ins::kExitCannot);
    CHECK(c.out.empty());
    CHECK(std::count(c.err.begin(), c.err.end(), '\n') == 1);
  }
}

// ---------------------------------------------------------------------------
// Damage

TEST_CASE("Inspect: damaged meta pages") {
  Image im = rich(1024);
  ins::File f0 = im.file();
  const std::uint32_t cur = static_cast<std::uint32_t>(f0.current());
  const std::uint64_t txn = f0.txn_id();

  SUBCASE("a flipped byte in the current meta page: the older commit") {
    im.flip(cur, fmt::meta::kPageCount);
    ins::File f = im.file();
    CHECK(f.current() == static_cast<int>(1 - cur));
    CHECK(f.txn_id() == txn - 1);
    ins::Report r = ins::check(f);
    INFO(describe(r));
    // A torn meta page is what a crash during a commit leaves: the older
    // commit is intact, so this is a warning naming the page.
    CHECK(r.clean());
    CHECK(r.warnings == 1);
    REQUIRE(!r.problems.empty());
    CHECK(r.problems[0].page == cur);
    CHECK(contains(r.problems[0].message, "checksum mismatch"));
  }
  SUBCASE("both meta pages damaged") {
    im.flip(0, fmt::meta::kTxnId);
    im.flip(1, fmt::meta::kTxnId);
    ins::File f = im.file();
    CHECK_FALSE(f.has_snapshot());
    CHECK_PROBLEM(ins::check(f), 0, "no meta page with a valid checksum");
  }
  SUBCASE("a meta page in the wrong slot") {
    wr64(im.bytes, im.at(cur, fmt::meta::kTxnId), txn + 1);
    im.fix_meta_crc(cur);
    ins::File f = im.file();
    CHECK(f.current() == static_cast<int>(1 - cur));
    CHECK(
        contains(f.meta(static_cast<int>(cur)).status, "belongs in meta page"));
  }
  SUBCASE("a catalog root past the page count") {
    wr32(im.bytes, im.at(cur, fmt::meta::kCatalogRoot), 1u << 30);
    im.fix_meta_crc(cur);
    CHECK_PROBLEM(im.check(), cur, "outside the snapshot's pages");
  }
  SUBCASE("a page nothing reaches (page count one larger)") {
    const std::uint32_t n = f0.page_count();
    wr32(im.bytes, im.at(cur, fmt::meta::kPageCount), n + 1);
    im.fix_meta_crc(cur);
    ins::Report r = im.check();
    CHECK_PROBLEM(r, n, "neither reachable nor free");
    CHECK(r.unreachable_pages == 1);
  }
}

TEST_CASE("Inspect: commit range lists") {
  TempDir dir;
  build_listed(dir.file(), 4);
  Image im{klite::test::read_file_bytes(dir.file()), 1024};
  ins::File f0 = im.file();
  const auto cur = static_cast<std::uint32_t>(f0.current());
  const std::uint32_t old = 1 - cur;
  const ins::MetaSlot newest = f0.meta(static_cast<int>(cur));
  const std::uint64_t txn = f0.txn_id();
  const std::uint64_t records = engine_records(dir.file());
  REQUIRE(records == 4);
  REQUIRE(newest.range_count >= 2);
  REQUIRE(newest.ranges.size() == newest.range_count);
  const ins::CommitRange first = newest.ranges[0];
  // Writes the image, and checks that inspect and the engine read the
  // commit before the newest one, with a warning about the newest.
  auto expect_fallback = [&](const std::string& reason) {
    klite::test::write_file_bytes(dir.file(), im.bytes);
    ins::File f(dir.file());
    CHECK(f.current() == static_cast<int>(old));
    CHECK(f.txn_id() == txn - 1);
    CHECK_FALSE(f.meta(static_cast<int>(cur)).complete);
    CHECK(f.meta(static_cast<int>(cur)).incomplete == reason);
    const std::string torn =
        "meta page " + std::to_string(cur) + " (txn " + std::to_string(txn) +
        ") holds a commit that did not complete (" + reason + ")";
    CHECK(f.choice() == "meta page " + std::to_string(old) + " (txn " +
                            std::to_string(txn - 1) + ") is current: " + torn);
    ins::Report r = ins::check(f);
    INFO(describe(r));
    CHECK(r.clean());
    CHECK(r.warnings == 1);
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].warning);
    CHECK(r.problems[0].page == cur);
    CHECK(r.problems[0].message ==
          torn + ": a crash while a commit synced leaves this, and the next "
                 "commit overwrites that meta page; if no commit was "
                 "interrupted, its commit was lost");
    CHECK(r.records == records - 1);
    CHECK(engine_records(dir.file()) == records - 1);
    CliResult c = cli({dir.file(), "check"});
    CHECK(c.code == ins::kExitOk);
    CHECK(
        contains(c.out, "warning: page " + std::to_string(cur) + ": " + torn));
  };

  SUBCASE("a complete commit: every range verified") {
    for (int slot : {0, 1}) {
      const ins::MetaSlot& m = f0.meta(slot);
      CAPTURE(slot);
      CHECK(m.version == fmt::kFormatVersion);
      CHECK(m.complete);
      CHECK(m.incomplete.empty());
      CHECK(m.list_read);
      CHECK(m.computed_range_list_crc == m.range_list_crc);
      REQUIRE(m.ranges.size() == m.range_count);
      for (const ins::CommitRange& r : m.ranges) {
        CHECK(r.ok);
        CHECK(r.read);
        CHECK(r.status == "ok");
        CHECK(r.computed_crc == r.stored_crc);
        CHECK(r.offset >= 2 * 1024);
        CHECK(r.offset + r.length <= std::uint64_t{m.page_count} * 1024);
      }
    }
    CHECK(contains(f0.choice(), "both meta pages are valid"));
    ins::Report r = ins::check(f0);
    INFO(describe(r));
    CHECK(r.clean());
    CHECK(r.problems.empty());
    CliResult c = cli({dir.file(), "meta"});
    CHECK(c.code == ins::kExitOk);
    CHECK(contains(c.out, "  range count     " +
                              std::to_string(newest.range_count) + "\n"));
    CHECK(contains(c.out, "  range 0         offset " +
                              std::to_string(first.offset) + " (page " +
                              std::to_string(first.offset / 1024) + " + " +
                              std::to_string(first.offset % 1024) + "), " +
                              std::to_string(first.length) + " bytes, crc " +
                              hex32(first.stored_crc) + ": ok\n"));
    CHECK(contains(c.out, "  commit          complete\n"));
    ins::PageDump d = ins::dump_page(f0, cur);
    CHECK(
        std::count_if(d.items.begin(), d.items.end(), [](const ins::Item& it) {
          return it.title.starts_with("range ");
        }) == newest.range_count);
    CHECK(std::count(d.notes.begin(), d.notes.end(),
                     "its commit is complete") == 1);
  }
  SUBCASE("a flipped byte in a listed range: the commit before it") {
    const std::uint64_t at = first.offset + first.length - 1;
    im.bytes[at] = static_cast<char>(im.bytes[at] ^ 0x40);
    const std::uint32_t computed =
        klite::crc32c::value(im.bytes.data() + first.offset, first.length);
    expect_fallback("range 0 (offset " + std::to_string(first.offset) + ", " +
                    std::to_string(first.length) +
                    " bytes) does not match its CRC (stored " +
                    hex32(first.stored_crc) + ", computed " + hex32(computed) +
                    ")");
    ins::File f(dir.file());
    const ins::CommitRange& r = f.meta(static_cast<int>(cur)).ranges[0];
    CHECK_FALSE(r.ok);
    CHECK(r.read);
    CHECK(r.computed_crc == computed);
    CliResult c = cli({dir.file(), "meta"});
    CHECK(contains(c.out, "  commit          did not complete: range 0 "));
  }
  SUBCASE("a damaged range list") {
    const std::size_t e = im.at(cur, fmt::meta::kSize + fmt::meta::kRangeCrc);
    im.bytes[e] = static_cast<char>(im.bytes[e] ^ 1);
    const std::uint32_t computed =
        klite::crc32c::value(im.bytes.data() + im.at(cur, fmt::meta::kSize),
                             newest.range_count * fmt::meta::kRangeSize);
    expect_fallback("the range list's CRC does not match (stored " +
                    hex32(newest.range_list_crc) + ", computed " +
                    hex32(computed) + ")");
  }
  SUBCASE("a range into the meta pages") {
    im.set_range(cur, 1, 1024, 64);
    expect_fallback("range 1 (offset 1024, 64 bytes) lies outside pages [2, " +
                    std::to_string(newest.page_count) + ")");
  }
  SUBCASE("a range past the page count") {
    const std::uint64_t end = std::uint64_t{newest.page_count} * 1024;
    im.set_range(cur, 0, end - 10, 11);
    expect_fallback("range 0 (offset " + std::to_string(end - 10) +
                    ", 11 bytes) lies outside pages [2, " +
                    std::to_string(newest.page_count) + ")");
  }
  SUBCASE("a range of length 0") {
    im.set_range(cur, 0, first.offset, 0);
    expect_fallback("range 0 (offset " + std::to_string(first.offset) +
                    ", 0 bytes) has length 0");
  }
  SUBCASE("more ranges than the meta page holds") {
    // Open reads the overlay, which now lies past the page, first.
    REQUIRE(newest.overlay_size > 0);
    wr32(im.bytes, im.at(cur, fmt::meta::kRangeCount), 61);
    im.fix_meta_crc(cur);
    expect_fallback("its descriptor overlay runs past the end of the meta "
                    "page (" +
                    std::to_string(newest.overlay_size) +
                    " bytes at offset 1040, page size 1024)");
  }
  SUBCASE("more ranges than a meta page without an overlay holds") {
    wr32(im.bytes, im.at(cur, fmt::meta::kRangeCount), 61);
    wr32(im.bytes, im.at(cur, fmt::meta::kOverlaySize), 0);
    wr32(im.bytes, im.at(cur, fmt::meta::kOverlayCrc), 0);
    im.fix_meta_crc(cur);
    expect_fallback("range count 61 exceeds the 60 a 1024-byte meta page "
                    "holds");
  }
  SUBCASE("the file is shorter than the commit's page count") {
    const std::uint64_t need = std::uint64_t{newest.page_count} * 1024;
    REQUIRE(f0.meta(static_cast<int>(old)).page_count < newest.page_count);
    im.bytes.resize(need - 1);
    expect_fallback("the file is shorter than the commit's page count (" +
                    std::to_string(need - 1) + " bytes, " +
                    std::to_string(newest.page_count) + " pages need " +
                    std::to_string(need) + ")");
  }
  SUBCASE("an incomplete commit and no other meta page") {
    const std::uint64_t at = first.offset;
    im.bytes[at] = static_cast<char>(im.bytes[at] ^ 0x40);
    im.flip(old, fmt::meta::kTxnId);
    ins::File f = im.file();
    CHECK(f.current() == static_cast<int>(cur)); // as open: the newest
    ins::Report r = ins::check(f);
    INFO(describe(r));
    CHECK_PROBLEM(r, cur,
                  "holds a commit that did not complete (range 0 (offset " +
                      std::to_string(first.offset) + ", " +
                      std::to_string(first.length) +
                      " bytes) does not match its CRC");
    CHECK_PROBLEM(r, cur,
                  "), and with meta page " + std::to_string(old) +
                      " not valid there is none to fall back to: open uses "
                      "it as it is");
  }
  SUBCASE("the torn commit is several commits past the fallback (Durability::Normal)") {
    im.set_range(cur, 0, first.offset, 0);
    wr64(im.bytes, im.at(cur, fmt::meta::kTxnId), txn + 2);
    im.fix_meta_crc(cur);
    ins::File f = im.file();
    CHECK(f.current() == static_cast<int>(old));
    ins::Report r = ins::check(f);
    INFO(describe(r));
    CHECK(r.clean());
    CHECK(r.warnings == 1); // the torn commit, not the gap in txn ids
  }
}

TEST_CASE("Inspect: the meta page choice agrees with the engine's") {
  // Random bytes changed in a file whose commits list their ranges: when
  // check calls the result clean, the engine must open it and read the same
  // records (whichever commit both chose).
  TempDir dir;
  build_listed(dir.file(), 6);
  const Image base{klite::test::read_file_bytes(dir.file()), 1024};
  klite::test::Rng rng(7);
  const std::uint64_t txn = base.file().txn_id();
  const std::size_t span = base.at(base.file().page_count());
  int fell_back = 0, clean = 0;
  for (int iter = 0; iter < 150; ++iter) {
    CAPTURE(iter);
    Image im = base;
    const std::size_t off = static_cast<std::size_t>(rng.range(0, span - 1));
    im.bytes[off] = static_cast<char>(rng.next());
    klite::test::write_file_bytes(dir.file(), im.bytes);
    ins::File f(dir.file());
    ins::Report r = ins::check(f);
    fell_back += f.has_snapshot() && f.txn_id() < txn;
    // Whenever the engine opens the file, it chose the same commit.
    if (auto t = engine_txn(dir.file())) {
      REQUIRE(f.has_snapshot());
      CHECK(f.txn_id() == *t);
    }
    if (!r.clean())
      continue;
    ++clean;
    INFO(describe(r));
    CHECK(engine_records(dir.file()) == r.records);
  }
  CHECK(fell_back > 10);
  CHECK(clean > 10);
}

TEST_CASE("Inspect: the meta page choice agrees with the engine's, with "
          "damaged overlays") {
  // Random bytes changed in the descriptor overlays of both meta pages, or
  // in their size and CRC fields, with the CRCs fixed after some of the
  // changes (so that the damage is a writer's, not a torn write's): inspect
  // has a snapshot exactly when the engine opens the file, of the same
  // commit, and when check calls it clean the engine reads those records.
  TempDir dir;
  build_overlay(dir.file(), klite::Durability::Full);
  const Image base{klite::test::read_file_bytes(dir.file()), 1024};
  const ins::File f0 = base.file();
  REQUIRE(f0.meta(0).overlay_size > 0);
  REQUIRE(f0.meta(1).overlay_size > 0);
  klite::test::Rng rng(11);
  int fell_back = 0, none = 0, clean = 0;
  for (int iter = 0; iter < 300; ++iter) {
    CAPTURE(iter);
    Image im = base;
    const std::uint64_t slots = rng.range(1, 3); // bit i: damage slot i
    for (std::uint32_t slot : {0u, 1u}) {
      if (!(slots >> slot & 1))
        continue;
      const ins::MetaSlot& m = f0.meta(static_cast<int>(slot));
      const std::size_t off =
          rng.range(0, 3) == 0
              ? fmt::meta::kOverlaySize + rng.range(0, 7)
              : m.overlay_offset + rng.range(0, m.overlay_size - 1);
      im.bytes[im.at(slot, off)] = static_cast<char>(rng.next());
      if (rng.range(0, 1))
        im.fix_overlay_crc(slot);
      else
        im.fix_meta_crc(slot);
    }
    klite::test::write_file_bytes(dir.file(), im.bytes);
    ins::File f(dir.file());
    ins::Report r = ins::check(f);
    INFO(describe(r));
    const std::optional<std::uint64_t> t = engine_txn(dir.file());
    CHECK(f.has_snapshot() == t.has_value());
    none += !f.has_snapshot();
    if (!t || !f.has_snapshot())
      continue;
    CHECK(f.txn_id() == *t);
    fell_back += f.txn_id() < f0.txn_id();
    if (!r.clean())
      continue;
    ++clean;
    CHECK(engine_records(dir.file()) == r.records);
  }
  CHECK(fell_back > 10);
  CHECK(none > 10);
  CHECK(clean > 10);
}

TEST_CASE("Inspect: a version-1 file") {
  // Version 1 is version 4 without range lists and overlays: both meta
  // pages rewritten so, the file reads as before. The newest commit
  // creates a stream, so it writes the catalog tree and has no overlay;
  // what its bytes 52..59 hold is ignored, and the other meta page's
  // overlay too.
  TempDir dir;
  build_listed(dir.file(), 3);
  {
    Options o;
    o.durability = klite::Durability::Full;
    Engine::open(dir.file(), o).create_stream("t");
  }
  Image im{klite::test::read_file_bytes(dir.file()), 1024};
  const std::uint64_t txn = im.file().txn_id();
  REQUIRE(im.file().meta(im.file().current()).overlay_size == 0);
  REQUIRE(im.file().meta(1 - im.file().current()).overlay_size > 0);
  for (std::uint32_t slot : {0u, 1u}) {
    wr32(im.bytes, im.at(slot, fmt::meta::kVersion), 1);
    wr32(im.bytes, im.at(slot, fmt::meta::kRangeCount), 0);
    wr32(im.bytes, im.at(slot, fmt::meta::kRangeListCrc), 0);
    wr64(im.bytes, im.at(slot, fmt::meta::kOverlaySize), ~0ull);
    im.fix_meta_crc(slot);
  }
  klite::test::write_file_bytes(dir.file(), im.bytes);
  ins::File f(dir.file());
  CHECK(f.txn_id() == txn);
  for (int slot : {0, 1}) {
    CHECK(f.meta(slot).valid);
    CHECK(f.meta(slot).version == 1);
    CHECK(f.meta(slot).complete);
    CHECK(f.meta(slot).ranges.empty());
    CHECK(f.meta(slot).overlay_size == 0);
    CHECK(f.meta(slot).overlay_status == "none");
  }
  ins::Report r = ins::check(f);
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.problems.empty());
  CHECK(r.records == 3);
  CHECK(engine_records(dir.file()) == 3);
  CliResult c = cli({dir.file(), "header"});
  CHECK(contains(c.out, "format version   1\n"));
}

TEST_CASE("Inspect: a truncated file") {
  Image im = rich(1024);
  ins::File f0 = im.file();
  const std::uint32_t cur = static_cast<std::uint32_t>(f0.current());
  im.bytes.resize(im.at(f0.page_count() - 3));
  ins::Report r = im.check();
  CHECK_PROBLEM(r, cur, "the file is truncated");
  CHECK(r.errors >= 2); // and whatever lived on the missing pages

  TempDir dir;
  klite::test::write_file_bytes(dir.file(), im.bytes);
  CliResult c = cli({dir.file(), "check"});
  CHECK(c.code == ins::kExitProblems);
  CHECK(contains(c.out,
                 "page " + std::to_string(cur) + ": the file is truncated"));
  // Cut inside the meta pages: no longer a klite file.
  im.bytes.resize(40);
  klite::test::write_file_bytes(dir.file(), im.bytes);
  CHECK(cli({dir.file(), "check"}).code == ins::kExitCannot);
}

TEST_CASE("Inspect: damaged B+tree pages") {
  Image im = rich(1024);
  ins::File f0 = im.file();
  auto ss = ins::streams(f0, nullptr);
  ins::TreeView cat = ins::tree(f0, f0.catalog_root(), ins::KeyKind::Catalog);
  REQUIRE(cat.levels.size() >= 2);
  const std::uint32_t cat_branch = cat.levels[0][0].pgno;
  const std::uint32_t cat_leaf = cat.levels.back()[1].pgno;
  const ins::Stream& alpha = stream(ss, "alpha");
  ins::TreeView idx = ins::tree(f0, alpha.d.index_root, ins::KeyKind::Index);
  REQUIRE(idx.levels.size() >= 2);
  const std::uint32_t idx_branch = idx.levels[0][0].pgno;
  const std::uint32_t idx_leaf = idx.levels.back()[1].pgno;
  const std::uint32_t ps = im.ps;

  SUBCASE("a flipped byte in each kind of B+tree page") {
    for (std::uint32_t pg : {cat_branch, cat_leaf, idx_branch, idx_leaf}) {
      CAPTURE(pg);
      Image d = im;
      d.flip(pg, ps - 3); // inside a cell: cells are packed at the end
      CHECK_PROBLEM(d.check(), pg, "checksum mismatch");
    }
  }
  SUBCASE("keys out of order in a leaf") {
    // Swap the first two slots, and fix the CRC.
    std::size_t s0 = im.at(idx_leaf, 32);
    std::swap(im.bytes[s0], im.bytes[s0 + 2]);
    std::swap(im.bytes[s0 + 1], im.bytes[s0 + 3]);
    im.fix_page_crc(idx_leaf);
    CHECK_PROBLEM(im.check(), idx_leaf, "keys out of order");
  }
  SUBCASE("a key outside its parent's fences") {
    // The first key of the second leaf becomes 1, below its separator.
    ins::File f = im.file();
    std::uint32_t off = field_offset(f, idx_leaf, "cell 0", "key");
    wr64(im.bytes, im.at(idx_leaf, off), 0);
    im.bytes[im.at(idx_leaf, off + 7)] = 1;
    im.fix_page_crc(idx_leaf);
    ins::Report r = im.check();
    CHECK_PROBLEM(r, idx_leaf, "below the parent's separator");
    CHECK_PROBLEM(r, idx_leaf, "entry 1 -> page"); // and it matches no page
  }
  SUBCASE("a wrong content start") {
    wr16(im.bytes, im.at(cat_leaf, fmt::checked::kContentStart),
         static_cast<std::uint16_t>(ps - 1));
    im.fix_page_crc(cat_leaf);
    CHECK_PROBLEM(im.check(), cat_leaf, "content start");
  }
  SUBCASE("a page that records another page number") {
    wr32(im.bytes, im.at(idx_leaf, fmt::checked::kPageNo), idx_leaf + 1);
    im.fix_page_crc(idx_leaf);
    CHECK_PROBLEM(im.check(), idx_leaf, "records page number");
  }
  SUBCASE("a page written after the snapshot") {
    wr64(im.bytes, im.at(cat_leaf, fmt::checked::kTxnId), f0.txn_id() + 5);
    im.fix_page_crc(cat_leaf);
    CHECK_PROBLEM(im.check(), cat_leaf, "after the snapshot's txn");
  }
  SUBCASE("an index entry pointing at the wrong data page") {
    std::vector<std::uint32_t> pages = chain(im, alpha);
    ins::File f = im.file();
    std::uint32_t off = field_offset(f, idx_leaf, "cell 0", "data page");
    const std::uint32_t was = rd32(im.bytes, im.at(idx_leaf, off));
    const std::uint32_t other = was == pages[0] ? pages[1] : pages[0];
    wr32(im.bytes, im.at(idx_leaf, off), other);
    im.fix_page_crc(idx_leaf);
    ins::Report r = im.check();
    CHECK_PROBLEM(r, idx_leaf, "-> page " + std::to_string(other));
  }
  SUBCASE("a child link into another tree") {
    // The branch's leftmost child becomes a page of the catalog: reached
    // twice, and the old child's subtree is left unreachable.
    wr32(im.bytes, im.at(idx_branch, fmt::checked::kLink), cat_leaf);
    im.fix_page_crc(idx_branch);
    ins::Report r = im.check();
    CHECK_PROBLEM(r, cat_leaf, "already a page of the catalog");
    CHECK(r.unreachable_pages > 0);
  }
  SUBCASE("a tree that loops back to its root") {
    wr32(im.bytes, im.at(idx_branch, fmt::checked::kLink), idx_branch);
    im.fix_page_crc(idx_branch);
    CHECK_PROBLEM(im.check(), idx_branch, "already a page of the key index");
  }
}

TEST_CASE("Inspect: damaged data pages") {
  Image im = rich(1024);
  ins::File f0 = im.file();
  auto ss = ins::streams(f0, nullptr);
  const ins::Stream& alpha = stream(ss, "alpha");
  const ins::Stream& big = stream(ss, "big");
  std::vector<std::uint32_t> pages = chain(im, alpha);
  REQUIRE(pages.size() >= 10);
  const std::uint32_t mid = pages[pages.size() / 2];

  SUBCASE("a flipped byte in a record") {
    im.flip(mid, 200);
    CHECK_PROBLEM(im.check(), mid, "checksum mismatch");
  }
  SUBCASE("a flipped byte in a continuation page") {
    std::vector<std::uint32_t> bp = chain(im, big);
    std::uint32_t pg = 0;
    for (std::uint32_t p : bp)
      if (rd32(im.bytes, im.at(p, 0)) >> 16 == im.ps - 32) { // cont = full page
        pg = p;
        break;
      }
    REQUIRE(pg != 0);
    im.flip(pg, 500);
    // The record began on an earlier page: its CRC fails there.
    ins::Report r = im.check();
    INFO(describe(r));
    CHECK_FALSE(r.clean());
    CHECK(std::any_of(
        r.problems.begin(), r.problems.end(), [&](const ins::Problem& p) {
          return contains(p.message, "checksum mismatch") &&
                 std::find(bp.begin(), bp.end(), p.page) != bp.end();
        }));
  }
  SUBCASE("a flipped first key") {
    im.flip(mid, fmt::data::kFirstKey, 0x01);
    ins::Report r = im.check();
    CHECK_PROBLEM(r, mid, "first key");
  }
  SUBCASE("a wrong page type") {
    const std::uint32_t before =
        pages[static_cast<std::size_t>(
                  std::find(pages.begin(), pages.end(), mid) - pages.begin()) -
              1];
    im.bytes[im.at(mid)] = static_cast<char>(fmt::kLeafPage);
    ins::Report r = im.check();
    CHECK_PROBLEM(r, before,
                  "the next link of data page " + std::to_string(before) +
                      " points to page " + std::to_string(mid) +
                      ", of type 2, not a data page");
    CHECK_PROBLEM(r, mid, "neither reachable nor free");
  }
  SUBCASE("a next link into the free list") {
    ins::FreeListView fl = ins::freelist(im.file());
    REQUIRE(!fl.entries.empty());
    const std::uint32_t chunk = fl.entries[0].chunk;
    wr32(im.bytes, im.at(pages[1], fmt::data::kNext), chunk);
    ins::Report r = im.check();
    // Reported where the link is; the chunk itself is left to the free list.
    CHECK_PROBLEM(r, pages[1], "points to page " + std::to_string(chunk));
    CHECK_FALSE(has_error(r, chunk, "already"));
  }
  SUBCASE("a broken next link") {
    const std::uint32_t before = pages[3];
    wr32(im.bytes, im.at(before, fmt::data::kNext), pages[5]);
    ins::Report r = im.check();
    CHECK_PROBLEM(r, pages[5], "prev link is " + std::to_string(pages[4]));
    CHECK_PROBLEM(r, pages[4], "neither reachable nor free");
  }
  SUBCASE("a next link out of the file") {
    wr32(im.bytes, im.at(pages[2], fmt::data::kNext), 0x7fffffff);
    CHECK_PROBLEM(im.check(), pages[2], "outside the snapshot's pages");
  }
  SUBCASE("a broken prev link") {
    wr32(im.bytes, im.at(pages[6], fmt::data::kPrev), pages[1]);
    CHECK_PROBLEM(im.check(), pages[6],
                  "prev link is " + std::to_string(pages[1]) + ", expected " +
                      std::to_string(pages[5]));
  }
  SUBCASE("a chain that loops") {
    wr32(im.bytes, im.at(pages[8], fmt::data::kNext), pages[2]);
    ins::Report r = im.check();
    CHECK_PROBLEM(r, pages[2], "already a data page of stream \"alpha\"");
  }
  SUBCASE("a wrong cont") {
    wr16(im.bytes, im.at(mid, fmt::data::kCont), 5);
    CHECK_PROBLEM(im.check(), mid, "cont is 5");
  }
  SUBCASE("a record length that wraps around 64 bits") {
    // Found by the fuzzer: dump_page added the length to the offset first.
    const std::size_t first = 32 + (rd32(im.bytes, im.at(mid, 0)) >> 16);
    for (std::size_t i = 0; i < 9; ++i)
      im.bytes[im.at(mid, first + i)] = static_cast<char>(0xff);
    im.bytes[im.at(mid, first + 9)] = 1;
    CHECK_PROBLEM(im.check(), mid, "over the limit");
    ins::PageDump d = ins::dump_page(im.file(), mid);
    CHECK(std::any_of(d.notes.begin(), d.notes.end(), [](const std::string& n) {
      return contains(n, "over the limit");
    }));
  }
  SUBCASE("a wrong end") {
    wr16(im.bytes, im.at(mid, fmt::data::kEnd),
         static_cast<std::uint16_t>(rd32(im.bytes, im.at(mid, 4)) - 3));
    CHECK_PROBLEM(im.check(), mid, "runs past");
  }
}

TEST_CASE("Inspect: damaged free list") {
  Image im = rich(1024);
  ins::File f0 = im.file();
  ins::FreeListView fl = ins::freelist(f0);
  REQUIRE(!fl.dir_pages.empty());
  REQUIRE(!fl.entries.empty());
  const ins::FreeEntry* e = nullptr;
  for (const ins::FreeEntry& x : fl.entries)
    if (!x.pages.empty())
      e = &x;
  REQUIRE(e != nullptr);
  auto ss = ins::streams(f0, nullptr);
  std::vector<std::uint32_t> pages = chain(im, stream(ss, "alpha"));

  SUBCASE("a flipped byte in a directory page") {
    im.flip(fl.dir_pages[0], im.ps - 1);
    CHECK_PROBLEM(im.check(), fl.dir_pages[0], "checksum mismatch");
  }
  SUBCASE("a flipped byte in a chunk page") {
    im.flip(e->chunk, im.ps - 1);
    CHECK_PROBLEM(im.check(), e->chunk, "checksum mismatch");
  }
  SUBCASE("a page both in a chain and on the free list") {
    const std::uint32_t data = pages[4];
    wr32(im.bytes, im.at(e->chunk, 32 + 4 * e->used), data);
    im.fix_page_crc(e->chunk);
    ins::Report r = im.check();
    CHECK_PROBLEM(
        r, data, "is a free page (listed in chunk " + std::to_string(e->chunk));
    CHECK_PROBLEM(r, data, "already a data page of stream \"alpha\"");
    CHECK_PROBLEM(r, e->pages[0], "neither reachable nor free");
  }
  SUBCASE("a free page listed twice") {
    REQUIRE(e->pages.size() >= 2);
    wr32(im.bytes, im.at(e->chunk, 32 + 4 * (e->used + 1)), e->pages[0]);
    im.fix_page_crc(e->chunk);
    CHECK_PROBLEM(im.check(), e->pages[0], "already a free page");
  }
  SUBCASE("a chunk count that disagrees with its entry") {
    wr16(im.bytes, im.at(e->chunk, fmt::checked::kCount),
         static_cast<std::uint16_t>(e->count - 1));
    im.fix_page_crc(e->chunk);
    CHECK_PROBLEM(im.check(), e->chunk, "says " + std::to_string(e->count));
  }
}

TEST_CASE("Inspect: descriptor fields that disagree with the chain") {
  Image im = rich(1024);
  ins::File f0 = im.file();
  auto ss = ins::streams(f0, nullptr);
  const ins::Stream& alpha = stream(ss, "alpha");
  const std::uint32_t leaf = alpha.leaf;
  auto patch = [&](const char* name, auto change) {
    patch_descriptor(im, alpha, name, change);
  };
  SUBCASE("data pages") {
    patch("data pages",
          [&](std::size_t at) { wr32(im.bytes, at, alpha.d.data_pages + 1); });
    CHECK_PROBLEM(im.check(), leaf,
                  "says " + std::to_string(alpha.d.data_pages + 1) +
                      " data pages, but the chain has " +
                      std::to_string(alpha.d.data_pages));
  }
  SUBCASE("payload bytes") {
    patch("payload bytes",
          [&](std::size_t at) { wr64(im.bytes, at, alpha.d.bytes - 1); });
    CHECK_PROBLEM(im.check(), leaf, "payload bytes, but the records hold");
  }
  SUBCASE("next key") {
    patch("next key",
          [&](std::size_t at) { wr64(im.bytes, at, alpha.d.next_key + 1); });
    ins::Report r = im.check();
    CHECK_PROBLEM(r, leaf,
                  "next key is " + std::to_string(alpha.d.next_key + 1));
  }
  SUBCASE("next key below a stored record") {
    patch("next key",
          [&](std::size_t at) { wr64(im.bytes, at, alpha.d.next_key - 1); });
    CHECK_PROBLEM(im.check(), alpha.d.tail, "but the stream's next key is");
  }
  SUBCASE("last timestamp") {
    patch("last timestamp",
          [&](std::size_t at) { wr64(im.bytes, at, alpha.d.last_ts + 1); });
    CHECK_PROBLEM(im.check(), leaf, "last timestamp");
  }
  SUBCASE("tail offset") {
    patch("tail offset",
          [&](std::size_t at) { wr32(im.bytes, at, alpha.d.tail_offset + 9); });
    CHECK_PROBLEM(im.check(), alpha.d.tail, "record");
  }
  SUBCASE("tail page") {
    std::vector<std::uint32_t> pages = chain(im, alpha);
    patch("tail page",
          [&](std::size_t at) { wr32(im.bytes, at, pages[pages.size() - 2]); });
    ins::Report r = im.check();
    CHECK_PROBLEM(r, pages.back(), "neither reachable nor free");
  }
  SUBCASE("stream id") {
    patch("stream id", [&](std::size_t at) { wr64(im.bytes, at, 1u << 20); });
    CHECK_PROBLEM(im.check(), leaf, "next stream id");
  }
  SUBCASE("a descriptor too short to decode shows as zeros") {
    patch("value length", [&](std::size_t at) { im.bytes[at] = 100; });
    auto short_ss = ins::streams(im.file(), nullptr);
    const ins::Stream& s = stream(short_ss, "alpha");
    CHECK(s.value_size == 100);
    CHECK(s.d.first_key == 0);
    CHECK(s.d.next_key == 0);
    CHECK(s.tree.first_key == 0);
    CHECK(s.tree.next_key == 0);
    CHECK_PROBLEM(im.check(), leaf,
                  "the descriptor is 100 bytes, shorter than 104");
  }
}

// ---------------------------------------------------------------------------
// Descriptor overlays (format version 4)

TEST_CASE("Inspect: a file with descriptor overlays") {
  TempDir dir;
  build_overlay(dir.file());
  ins::File f(dir.file());
  const auto cur = static_cast<std::uint32_t>(f.current());
  const ins::MetaSlot& m = f.meta(static_cast<int>(cur));
  CHECK(m.overlay_ok);
  CHECK(m.overlay_read);
  CHECK(m.overlay_status == "ok");
  CHECK(m.overlay_malformed.empty());
  CHECK(m.overlay_offset == 64);
  CHECK(m.overlay_size == 212);
  CHECK(m.computed_overlay_crc == m.overlay_crc);
  REQUIRE(m.overlay.size() == 2);
  CHECK(m.overlay[0].offset == 64);
  CHECK(m.overlay[0].name == "a");
  CHECK(m.overlay[1].offset == 170);
  CHECK(m.overlay[1].name == "b");
  CHECK(m.overlay[1].d.first_key == 12);
  REQUIRE(f.meta(1 - static_cast<int>(cur)).overlay.size() == 1);

  // check reads the current descriptors: the tree's are older.
  ins::Report r = ins::check(f);
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.problems.empty());
  CHECK(r.records == 25 + 9 + 20);
  CHECK(r.records == engine_records(dir.file()));
  const auto ss = ins::streams(f, nullptr);
  REQUIRE(ss.size() == 3);
  const ins::Stream& a = stream(ss, "a");
  CHECK(a.overlaid);
  CHECK(a.desc_page == cur);
  CHECK(a.overlay_offset == 64);
  CHECK(a.d.next_key == 26);
  CHECK(a.tree.next_key == 21);
  CHECK(stream(ss, "b").overlaid);
  CHECK(stream(ss, "b").d.first_key == 12);
  const ins::Stream& c = stream(ss, "c");
  CHECK_FALSE(c.overlaid);
  CHECK(c.desc_page == c.leaf);
  for (const ins::StreamStats& st : r.streams)
    CHECK(st.overlaid == (st.name != "c"));

  // dump returns what the engine returns.
  Options o;
  o.read_only = true;
  Engine e = Engine::open(dir.file(), o);
  auto t = e.read();
  for (const char* name : {"a", "b", "c"}) {
    CAPTURE(name);
    std::vector<std::uint64_t> got, want;
    CHECK(ins::dump(f, name, [&](const ins::DumpRecord& d) {
            got.push_back(d.key);
          }).empty());
    klite::Cursor cursor = t.cursor(name);
    for (bool ok = cursor.first(); ok; ok = cursor.next())
      want.push_back(cursor.record().key);
    CHECK(got == want);
  }

  // The meta page's dump decodes the overlay's fields and entries.
  ins::PageDump md = ins::dump_page(f, cur);
  CHECK(field_offset(f, cur, "", "overlay size") == 52);
  CHECK(field_offset(f, cur, "", "overlay crc") == 56);
  CHECK(md.header[10].value == "212");
  CHECK(md.header[11].value == hex32(m.overlay_crc) + " (ok)");
  CHECK(field_offset(f, cur, "overlay entry 1", "name length") == 170);
  CHECK(field_offset(f, cur, "overlay entry 1", "stream name") == 171);
  CHECK(field_offset(f, cur, "overlay entry 1", "stream id") == 172);
  CHECK(field_offset(f, cur, "overlay entry 1", "flags") == 172 + 100);
  CHECK(contains(md.notes[1], "its descriptor overlay (212 bytes at offset "
                              "64): ok"));
  // The catalog leaf's dump says which of its descriptors are replaced.
  ins::PageDump leaf = ins::dump_page(f, a.leaf);
  CHECK(std::count(leaf.notes.begin(), leaf.notes.end(),
                   "stream \"a\": the overlay of meta page " +
                       std::to_string(cur) +
                       " (the entry at offset 64) replaces this "
                       "descriptor") == 1);
  CHECK(std::none_of(
      leaf.notes.begin(), leaf.notes.end(),
      [](const std::string& n) { return n.starts_with("stream \"c\""); }));

  // The command line says where each descriptor comes from.
  CliResult cl = cli({dir.file(), "streams"});
  CHECK(cl.code == 0);
  CHECK(contains(cl.out, "3 streams, 2 descriptors from the overlay of meta "
                         "page " +
                             std::to_string(cur) + "\n"));
  cl = cli({dir.file(), "stream", "a"});
  CHECK(cl.code == 0);
  CHECK(contains(cl.out, "descriptor in         the overlay of meta page " +
                             std::to_string(cur) +
                             " (offset 64), replacing catalog page " +
                             std::to_string(a.leaf) + "'s\n"));
  CHECK(contains(cl.out, "next key              26\n"));
  cl = cli({dir.file(), "analyze"});
  CHECK(cl.code == 0);
  CHECK(contains(cl.out, "descriptor in ...................... the overlay "
                         "of meta page " +
                             std::to_string(cur) + "\n"));
  cl = cli({dir.file(), "header"});
  CHECK(contains(cl.out, "overlay          2 descriptors (212 bytes)\n"));
}

TEST_CASE("Inspect: golden output of a file with descriptor overlays") {
  TempDir dir;
  build_overlay(dir.file());
  REQUIRE(ins::File(dir.file()).current() == 0);
  // page 0 in text only: its JSON shows the same, and the hex.
  check_golden_commands(dir.file(), "overlay",
                        {{"meta"}, {"streams"}, {"stream", "a"}});
  CliResult c = cli({dir.file(), "page", "0"});
  CHECK(c.code == 0);
  check_golden("tests/golden/inspect_overlay_page_0.txt", c.out);
}

TEST_CASE("Inspect: damaged descriptor overlays") {
  // Damage to the current meta page's overlay with its CRCs fixed (what a
  // writer's bug would leave): check names the meta page and the entry.
  TempDir dir;
  build_overlay(dir.file());
  Image im{klite::test::read_file_bytes(dir.file()), 1024};
  const ins::File f0 = im.file();
  const auto cur = static_cast<std::uint32_t>(f0.current());
  const auto ss = ins::streams(f0, nullptr);
  const ins::Stream& a = stream(ss, "a");
  const std::string c = std::to_string(cur);
  const std::string overlay = "meta page " + c + " overlay: ";
  const std::string desc =
      "stream \"a\" (descriptor in the overlay of meta page " + c + "): ";
  auto set_byte = [&](std::size_t off, std::uint8_t v) {
    im.bytes[im.at(cur, off)] = static_cast<char>(v);
    im.fix_overlay_crc(cur);
  };

  SUBCASE("a name length of 0") {
    set_byte(170, 0);
    ins::Report r = im.check();
    CHECK_EXACT_PROBLEM(r, cur,
                        overlay + "the entry at offset 170 has name length 0, "
                                  "not 1 to 128");
    // The engine cannot read the catalog either.
    CHECK_THROWS_AS(
        [&] {
          klite::test::write_file_bytes(dir.file(), im.bytes);
          Options o;
          o.read_only = true;
          Engine::open(dir.file(), o).streams();
        }(),
        klite::Error);
  }
  SUBCASE("a name length over 128") {
    set_byte(170, 129);
    CHECK_EXACT_PROBLEM(im.check(), cur,
                        overlay + "the entry at offset 170 has name length "
                                  "129, not 1 to 128");
  }
  SUBCASE("an entry that runs past the overlay") {
    wr32(im.bytes, im.at(cur, fmt::meta::kOverlaySize), 211);
    im.fix_overlay_crc(cur);
    CHECK_EXACT_PROBLEM(im.check(), cur,
                        overlay + "the entry at offset 170 (1 + 1 + 104 "
                                  "bytes) runs past the overlay's end at "
                                  "offset 275");
    // Its page dump notes it too.
    ins::PageDump d = ins::dump_page(im.file(), cur);
    CHECK(std::count(d.notes.begin(), d.notes.end(),
                     "its descriptor overlay: the entry at offset 170 (1 + "
                     "1 + 104 bytes) runs past the overlay's end at offset "
                     "275") == 1);
  }
  SUBCASE("an entry for a stream the tree does not hold") {
    set_byte(65, 'z');
    ins::Report r = im.check();
    CHECK_EXACT_PROBLEM(r, cur,
                        overlay + "the entry at offset 64 names stream \"z\", "
                                  "which the catalog tree does not hold (an "
                                  "overlay only replaces the tree's "
                                  "descriptors)");
    // "a" is read from the tree then, like the engine reads it.
    const auto ss = ins::streams(im.file(), nullptr);
    const ins::Stream& was = stream(ss, "a");
    CHECK_FALSE(was.overlaid);
    CHECK(was.d.next_key == 21);
  }
  SUBCASE("two entries for one stream") {
    set_byte(171, 'a');
    ins::Report r = im.check();
    CHECK_EXACT_PROBLEM(r, cur,
                        overlay + "the entry at offset 170 names stream \"a\" "
                                  "again (the entry at offset 64 is the one "
                                  "read)");
    CHECK(stream(ins::streams(im.file(), nullptr), "a").d.next_key == 26);
  }
  SUBCASE("an entry whose stream id is not the tree's") {
    const std::uint64_t other = stream(ss, "c").d.id;
    patch_descriptor(im, a, "stream id",
                     [&](std::size_t at) { wr64(im.bytes, at, other); });
    ins::Report r = im.check();
    CHECK_EXACT_PROBLEM(r, cur,
                        desc + "stream id " + std::to_string(other) +
                            " differs from the catalog tree's " +
                            std::to_string(a.d.id) + " (catalog page " +
                            std::to_string(a.leaf) + ")");
  }
  SUBCASE("descriptor fields out of range") {
    const struct {
      const char* field;
      std::uint64_t value;
      const char* message;
    } cases[] = {
        {"first key", 0,
         "first key 0 and next key 26 are out of order (1 <= first key <= "
         "next key)"},
        {"tail offset", 20, "tail offset 20 is outside [32, page size]"},
        {"flags", 6, "flags 6 are not known"},
        {"retention max records", 3,
         "25 live records, over the retention's max records 3 (a commit "
         "that changes a stream expires it down to its retention)"},
        {"stream id", 99,
         "stream id 99 is not below the meta page's next stream id 4"},
    };
    for (const auto& x : cases) {
      CAPTURE(x.field);
      Image damaged = im;
      patch_descriptor(damaged, a, x.field, [&](std::size_t at) {
        if (std::string_view(x.field) == "tail offset" ||
            std::string_view(x.field) == "flags")
          wr32(damaged.bytes, at, static_cast<std::uint32_t>(x.value));
        else
          wr64(damaged.bytes, at, x.value);
      });
      CHECK_EXACT_PROBLEM(damaged.check(), cur, desc + x.message);
    }
  }
  SUBCASE("a descriptor that disagrees with the chain") {
    patch_descriptor(im, a, "data pages", [&](std::size_t at) {
      wr32(im.bytes, at, a.d.data_pages + 1);
    });
    ins::Report r = im.check();
    CHECK_EXACT_PROBLEM(r, cur,
                        desc + "says " + std::to_string(a.d.data_pages + 1) +
                            " data pages, but the chain has " +
                            std::to_string(a.d.data_pages));
    CHECK(r.errors == 1);
    // On the command line, with the meta page's number.
    klite::test::write_file_bytes(dir.file(), im.bytes);
    CliResult cl = cli({dir.file(), "check"});
    CHECK(cl.code == ins::kExitProblems);
    CHECK(contains(cl.out, "page " + c + ": " + desc + "says "));
  }
  SUBCASE("a link in an overlay descriptor is reported on the meta page") {
    patch_descriptor(im, a, "head page",
                     [&](std::size_t at) { wr32(im.bytes, at, 1u << 20); });
    CHECK_PROBLEM(im.check(), cur,
                  "the head link of stream \"a\" points to page 1048576, "
                  "outside the snapshot's pages");
  }
}

TEST_CASE("Inspect: torn descriptor overlays") {
  // An overlay that does not read back whole makes open fall back to the
  // other meta page, as a torn range list does; with none to fall back
  // to, open fails. Inspect chooses as the engine does.
  TempDir dir;
  build_overlay(dir.file());
  Image im{klite::test::read_file_bytes(dir.file()), 1024};
  const ins::File f0 = im.file();
  const auto cur = static_cast<std::uint32_t>(f0.current());
  const std::uint32_t old = 1 - cur;
  const std::uint64_t txn = f0.txn_id();
  const std::string c = std::to_string(cur), o = std::to_string(old);
  const std::string name_cur =
      "meta page " + c + " (txn " + std::to_string(txn) + ")";
  const std::string name_old =
      "meta page " + o + " (txn " + std::to_string(txn - 1) + ")";
  // Flips byte `off` of meta page `slot`, inside its overlay; returns how
  // inspect words the CRC mismatch that leaves.
  auto flip_overlay = [&](std::uint32_t slot, std::size_t off) {
    im.flip(slot, off);
    const ins::MetaSlot m = im.file().meta(static_cast<int>(slot));
    REQUIRE(m.overlay_read);
    return "does not match its CRC (stored " + hex32(m.overlay_crc) +
           ", computed " + hex32(m.computed_overlay_crc) + ")";
  };
  auto open_error = [&] {
    klite::test::write_file_bytes(dir.file(), im.bytes);
    std::string error;
    CHECK_FALSE(engine_txn(dir.file(), &error));
    return error;
  };
  auto expect_fallback = [&](const std::string& reason) {
    klite::test::write_file_bytes(dir.file(), im.bytes);
    ins::File f(dir.file());
    CHECK(f.current() == static_cast<int>(old));
    CHECK(f.meta(static_cast<int>(cur)).incomplete == reason);
    ins::Report r = ins::check(f);
    INFO(describe(r));
    CHECK(r.clean());
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].warning);
    CHECK(r.problems[0].page == cur);
    CHECK(r.problems[0].message ==
          name_cur + " holds a commit that did not complete (" + reason +
              "): a crash while a commit synced leaves this, and the next "
              "commit overwrites that meta page; if no commit was "
              "interrupted, its commit was lost");
    // The commit before: "b" not yet expired.
    CHECK(r.records == 25 + 20 + 20);
    CHECK(engine_records(dir.file()) == r.records);
    CHECK(engine_txn(dir.file()) == txn - 1);
  };

  SUBCASE("an overlay that does not match its CRC") {
    const std::string crc = flip_overlay(cur, 100);
    expect_fallback("its descriptor overlay " + crc);
    CliResult cl = cli({dir.file(), "meta"});
    CHECK(contains(cl.out, "  commit          did not complete: its "
                           "descriptor overlay " +
                               crc + "\n"));
  }
  SUBCASE("an overlay that runs past the meta page") {
    wr32(im.bytes, im.at(cur, fmt::meta::kOverlaySize), 961);
    im.fix_meta_crc(cur);
    expect_fallback("its descriptor overlay runs past the end of the meta "
                    "page (961 bytes at offset 64, page size 1024)");
  }
  SUBCASE("no other meta page: open fails") {
    const std::string crc = flip_overlay(cur, 100);
    im.flip(old, fmt::meta::kTxnId);
    ins::File f = im.file();
    CHECK_FALSE(f.has_snapshot());
    CHECK(f.page_size() == 1024);
    const std::string why = name_cur + ": its descriptor overlay " + crc +
                            "; meta page " + o + " is not valid";
    CHECK(f.choice() == "no meta page can be used: " + why);
    ins::Report r = ins::check(f);
    CHECK_EXACT_PROBLEM(r, cur, why + ": there is no commit to open");
    CHECK(open_error() == dir.file() + ": page " + c +
                              ": meta page overlay does not match its "
                              "checksum");
    CliResult cl = cli({dir.file(), "streams"});
    CHECK(cl.code == ins::kExitCannot);
    CHECK(cl.err == "klite-inspect: " + dir.file() +
                        ": no meta page can be used: " + why + "\n");
    cl = cli({dir.file(), "check"});
    CHECK(cl.code == ins::kExitProblems);
    CHECK(contains(cl.out, "page " + c + ": " + why));
    // meta and page still show it.
    CHECK(cli({dir.file(), "meta"}).code == ins::kExitProblems);
    CHECK(cli({dir.file(), "page", c}).code == ins::kExitOk);
  }
  SUBCASE("the meta page open falls back to has a torn overlay: open fails") {
    const std::string crc_cur = flip_overlay(cur, 100);
    const std::string crc_old = flip_overlay(old, 100);
    ins::File f = im.file();
    CHECK_FALSE(f.has_snapshot());
    const std::string why = name_old + ": its descriptor overlay " + crc_old +
                            "; meta page " + c +
                            " holds a commit that did not complete";
    ins::Report r = ins::check(f);
    CHECK_EXACT_PROBLEM(r, old, why + ": there is no commit to open");
    CHECK(r.warnings == 1); // the newest, torn
    CHECK(open_error() == dir.file() + ": page " + o +
                              ": meta page overlay does not match its "
                              "checksum");
  }
  SUBCASE("the other meta page's torn overlay does not matter") {
    flip_overlay(old, 100);
    ins::File f = im.file();
    CHECK(f.current() == static_cast<int>(cur));
    CHECK_FALSE(f.meta(static_cast<int>(old)).overlay_ok);
    ins::Report r = ins::check(f);
    INFO(describe(r));
    CHECK(r.clean());
    CHECK(r.problems.empty());
  }
  SUBCASE("a meta page cut short by the end of the file") {
    // Open reads what the file holds of a meta page: one cut short is torn
    // only if its overlay lies past the end.
    const std::size_t at1 = f0.meta(1).overlay_offset;
    REQUIRE(f0.meta(1).overlay_size > 0);
    im.bytes.resize(1024 + at1 + f0.meta(1).overlay_size); // all of it
    {
      ins::File f = im.file();
      CHECK(f.meta(1).overlay_ok);
      CHECK(f.current() == static_cast<int>(cur));
      CHECK_PROBLEM(ins::check(f), cur, "the file is truncated");
    }
    im.bytes.resize(1024 + at1 + 10); // ten bytes of it
    ins::File f = im.file();
    CHECK(f.meta(1).overlay_status ==
          "cannot be read: the meta page is cut short (the file ends " +
              std::to_string(at1 + 10) + " bytes into it)");
    CHECK(f.current() == 0); // meta page 1 is torn
    CHECK_PROBLEM(ins::check(f), 0, "the file is truncated");
    CHECK(contains(open_error(), "file is truncated"));
    // Cut inside meta page 0's overlay too: there is no commit to open.
    const std::size_t at0 = f0.meta(0).overlay_offset;
    REQUIRE(f0.meta(0).overlay_size > 0);
    im.bytes.resize(at0 + 10);
    CHECK_EXACT_PROBLEM(im.check(), 0,
                        "meta page 0 (txn " +
                            std::to_string(f0.meta(0).txn_id) +
                            "): the meta page is cut short (the file ends " +
                            std::to_string(at0 + 10) +
                            " bytes into it); meta page 1 is not valid: "
                            "there is no commit to open");
    CHECK(contains(open_error(), "page 0: "));
  }
}

// ---------------------------------------------------------------------------
// Expiry and TTLs

TEST_CASE("Inspect: expired ranges and TTLs") {
  TempDir dir;
  build_expiry(dir.file());
  ins::File f(dir.file());
  ins::Report r = ins::check(f);
  INFO("problems:\n" << describe(r));
  CHECK(r.clean());
  CHECK(r.problems.empty());
  const Image im{klite::test::read_file_bytes(dir.file()), 1024};
  const auto ss = ins::streams(f, nullptr);
  // The engine, read-only, at a time before any TTL runs out.
  FakeClock clock;
  clock.set(kT0 + 40'000);
  Options o = options(1024, clock);
  o.read_only = true;
  Engine e = Engine::open(dir.file(), o);
  REQUIRE(r.streams.size() == 6);
  for (const ins::StreamStats& st : r.streams) {
    CAPTURE(st.name);
    const ins::Stream& s = stream(ss, st.name);
    CHECK(st.descriptor.first_key == s.d.first_key);
    CHECK(st.descriptor.max_records == s.d.max_records);
    // Only the live records count, as the engine counts them.
    const klite::StreamInfo info = e.read().info(st.name);
    CHECK(st.records == info.records);
    CHECK(st.payload_bytes == info.bytes);
    // The expired records are those starting on the head below the first
    // key, and their bytes run from 32 to the first live record (or to the
    // tail offset when there is none).
    const std::uint64_t head_first =
        rd32(im.bytes, im.at(s.d.head, fmt::data::kFirstKey));
    CHECK(st.expired_records == s.d.first_key - head_first);
    const std::uint32_t live_at =
        s.d.first_key == s.d.next_key
            ? s.d.tail_offset
            : field_offset(f, s.d.head,
                           "record " + std::to_string(s.d.first_key),
                           "body length");
    CHECK(st.expired_bytes == live_at - 32);
    CHECK(st.expired_pages == (st.name == "done" ? 1u : 0u));
    // Titles in the head page's dump mark them.
    ins::PageDump head = ins::dump_page(f, s.d.head);
    for (const ins::Item& it : head.items)
      if (it.title.starts_with("record ")) {
        const std::uint64_t key = std::stoull(it.title.substr(7));
        CHECK(contains(it.title, "(expired)") == (key < s.d.first_key));
      }
  }
  std::map<std::string, ins::StreamStats> by_name;
  for (const ins::StreamStats& st : r.streams)
    by_name[st.name] = st;
  const ins::StreamStats& ev = by_name["ev"];
  CHECK(ev.expired_records == 2);
  CHECK(ev.ttl_records == 6); // 15, 18, ... 30: 12 has expired
  CHECK(ev.ttl_payload_bytes == 6 * 90);
  CHECK(ev.ttl_first_expiry == kT0 + 15'000 + 60'000'000);
  CHECK(ev.ttl_last_expiry == kT0 + 30'000 + 60'000'000);
  CHECK(by_name["span"].expired_records == 0);
  CHECK(by_name["span"].expired_bytes ==
        rd32(im.bytes, im.at(stream(ss, "span").d.head)) >> 16); // its cont
  CHECK(by_name["capped"].records == 5);
  CHECK(by_name["capped"].expired_records == 15);
  CHECK(by_name["kept"].ttl_records == 1);
  CHECK(by_name["kept"].ttl_first_expiry == kT0 + 30'000 + 90 * 60'000'000ull);
  for (const char* name : {"span", "capped", "done", "plain"})
    CHECK(by_name[name].ttl_records == 0);

  // The free pages, and those the next commit may reuse.
  const ins::FreeListView fl = ins::freelist(f);
  CHECK(r.free_pages == fl.free_pages);
  CHECK(r.reusable_pages == fl.reusable_pages);
  CHECK(r.free_pages > 0);

  // dump: every record from the first key on, with the engine's expiry.
  std::vector<ins::DumpRecord> got;
  CHECK(ins::dump(f, "ev", [&](const ins::DumpRecord& d) {
          got.push_back(d);
        }).empty());
  auto t = e.read();
  klite::Cursor c = t.cursor("ev");
  std::size_t i = 0;
  for (bool ok = c.first(); ok; ok = c.next(), ++i) {
    REQUIRE(i < got.size());
    CHECK(got[i].key == c.record().key);
    CHECK(got[i].timestamp == c.record().timestamp);
    CHECK(got[i].expires == c.record().expires);
  }
  CHECK(i == got.size());
  CHECK(got.front().key == 14);
  CHECK(got[1].expires == kT0 + 15'000 + 60'000'000);
  // Once their TTLs run out reads pass over them; dump, which does not
  // know the time, still shows them.
  clock.set(kT0 + 2 * 60'000'000);
  CHECK_FALSE(e.read().get("ev", 15).has_value());
  std::size_t n = 0;
  CHECK(ins::dump(f, "ev", [&](const ins::DumpRecord&) { ++n; }).empty());
  CHECK(n == 17);
}

TEST_CASE("Inspect: golden output of a file after expiry") {
  TempDir dir;
  build_expiry(dir.file());
  check_golden_commands(dir.file(), "expiry",
                        {{"analyze"}, {"stream", "ev"}, {"stream", "kept"}});
}

TEST_CASE("Inspect: descriptor fields for people") {
  CHECK(ins::describe_stream_flags(0) == "none");
  CHECK(ins::describe_stream_flags(1) == "has TTL");
  CHECK(ins::describe_stream_flags(5) == "has TTL, unknown 0x00000004");
  CHECK(ins::describe_stream_flags(6) == "unknown 0x00000006");
  CHECK(klite::text::describe_duration(0) == "0s");
  CHECK(klite::text::describe_duration(1) == "0.000001s");
  CHECK(klite::text::describe_duration(1'500'000) == "1.5s");
  CHECK(klite::text::describe_duration(90'000'000) == "1m 30s");
  CHECK(klite::text::describe_duration(7 * 86'400'000'000ull) == "7d");
  CHECK(klite::text::describe_duration(86'400'000'000ull + 7'200'000'000ull + 1) ==
        "1d 2h 0.000001s");
  CHECK(klite::text::describe_bytes(0) == "0 bytes");
  CHECK(klite::text::describe_bytes(1) == "1 byte");
  CHECK(klite::text::describe_bytes(1023) == "1023 bytes");
  CHECK(klite::text::describe_bytes(1024) == "1 KiB");
  CHECK(klite::text::describe_bytes(1536) == "1.5 KiB");
  CHECK(klite::text::describe_bytes(8ull << 20) == "8 MiB");
  CHECK(klite::text::describe_bytes(3ull << 40) == "3 TiB");
  CHECK(klite::text::describe_bytes(~0ull) == "16.0 EiB");
}

TEST_CASE("Inspect: damaged expiry state") {
  TempDir dir;
  build_expiry(dir.file());
  Image im{klite::test::read_file_bytes(dir.file()), 1024};
  const auto ss = ins::streams(im.file(), nullptr);
  const ins::Stream& ev = stream(ss, "ev");
  const std::string leaf = std::to_string(ev.leaf);
  const std::string desc =
      "stream \"ev\" (descriptor in catalog page " + leaf + "): ";

  SUBCASE("the head's prev link and its expired continuation are not read") {
    wr32(im.bytes, im.at(ev.d.head, fmt::data::kPrev), 0x7fffffff);
    ins::Report r = im.check();
    INFO(describe(r));
    CHECK(r.clean());
  }
  SUBCASE("the head page's first key after the stream's first key") {
    wr64(im.bytes, im.at(ev.d.head, fmt::data::kFirstKey), ev.d.first_key + 1);
    CHECK_EXACT_PROBLEM(im.check(), ev.d.head,
                        "stream \"ev\": the head page's first key is 15, but "
                        "the stream's first key is 14");
  }
  SUBCASE("payload bytes that count the expired records") {
    patch_descriptor(im, ev, "payload bytes", [&](std::size_t at) {
      wr64(im.bytes, at, ev.d.bytes + 2 * 90);
    });
    CHECK_EXACT_PROBLEM(im.check(), ev.leaf,
                        desc + "says 1710 payload bytes, but the records hold "
                               "1530");
  }
  SUBCASE("an expired record on the head is still checked") {
    const std::uint32_t at =
        field_offset(im.file(), ev.d.head, "record 12 (expired)", "value");
    im.flip(ev.d.head, at + 5);
    ins::Report r = im.check();
    CHECK(r.errors == 1);
    CHECK_PROBLEM(r, ev.d.head,
                  "stream \"ev\": record 12 at offset 118: "
                  "checksum mismatch");
  }
  SUBCASE("a TTL of 0") {
    // Record 15's TTL varint, rewritten (overlong) to decode as 0.
    ins::File f = im.file();
    const std::uint32_t at = field_offset(f, ev.d.head, "record 15", "ttl");
    const std::uint32_t record =
        field_offset(f, ev.d.head, "record 15", "body length");
    for (std::size_t i = 0; i < 4; ++i)
      im.bytes[im.at(ev.d.head, at + i)] = static_cast<char>(i < 3 ? 0x80 : 0);
    ins::Report r = im.check();
    CHECK_EXACT_PROBLEM(r, ev.d.head,
                        "stream \"ev\": bad record header at offset " +
                            std::to_string(record));
    ins::PageDump d = ins::dump_page(im.file(), ev.d.head);
    CHECK(std::find(d.notes.begin(), d.notes.end(),
                    "bad record header at offset " + std::to_string(record)) !=
          d.notes.end());
  }
  SUBCASE("live records with a TTL, and no kHasTtl") {
    patch_descriptor(im, ev, "flags",
                     [&](std::size_t at) { wr32(im.bytes, at, 0); });
    CHECK_EXACT_PROBLEM(im.check(), ev.leaf,
                        desc + "record 15 has a TTL (and 5 more live "
                               "records), but the flags lack kHasTtl (1): "
                               "reads would show it after its TTL runs out");
    const ins::Stream& kept = stream(ss, "kept");
    patch_descriptor(im, kept, "flags",
                     [&](std::size_t at) { wr32(im.bytes, at, 0); });
    CHECK_EXACT_PROBLEM(im.check(), kept.leaf,
                        "stream \"kept\" (descriptor in catalog page " +
                            std::to_string(kept.leaf) +
                            "): record 1 has a TTL, but the flags lack "
                            "kHasTtl (1): reads would show it after its TTL "
                            "runs out");
  }
  SUBCASE("kHasTtl without a live TTL is fine") {
    patch_descriptor(im, stream(ss, "plain"), "flags",
                     [&](std::size_t at) { wr32(im.bytes, at, 1); });
    ins::Report r = im.check();
    INFO(describe(r));
    CHECK(r.clean());
  }
  SUBCASE("unknown descriptor flags") {
    patch_descriptor(im, ev, "flags",
                     [&](std::size_t at) { wr32(im.bytes, at, 5); });
    CHECK_EXACT_PROBLEM(im.check(), ev.leaf, desc + "flags 5 are not known");
  }
  SUBCASE("unknown data page flags") {
    im.bytes[im.at(ev.d.head, fmt::data::kFlags)] = 3;
    CHECK_EXACT_PROBLEM(im.check(), ev.d.head,
                        "stream \"ev\": flags 3 are not known");
    ins::PageDump d = ins::dump_page(im.file(), ev.d.head);
    CHECK(d.header[1].value ==
          "3 (records v3: TTL bits in record headers, unknown 0x00000002)");
  }
  SUBCASE("more than the retention keeps") {
    const ins::Stream& capped = stream(ss, "capped");
    const struct {
      const char* field;
      std::uint64_t limit;
      const char* message;
    } cases[] = {{"retention max records", 4,
                  "5 live records, over the retention's max records 4"},
                 {"retention max bytes", 249,
                  "250 payload bytes, over the retention's max bytes 249"}};
    for (const auto& c : cases) {
      CAPTURE(c.field);
      Image damaged = im;
      patch_descriptor(damaged, capped, c.field, [&](std::size_t at) {
        wr64(damaged.bytes, at, c.limit);
      });
      CHECK_EXACT_PROBLEM(damaged.check(), capped.leaf,
                          "stream \"capped\" (descriptor in catalog page " +
                              std::to_string(capped.leaf) + "): " + c.message +
                              " (a commit that changes a stream expires it "
                              "down to its retention)");
    }
  }
}

TEST_CASE("Inspect: a timestamp that goes back along a stream") {
  // The engine never writes one (its clock is held to the stream's last
  // timestamp), so the writer's internals write it: record 1 fills a 1 KiB
  // page, so that record 2 starts the next with its own base timestamp.
  TempDir dir;
  const std::string path = dir.file();
  Options o = klite::test::fast_options();
  o.page_size = 1024;
  Engine(Engine::open(path, o)).create_stream("s");
  {
    klite::Pager pager(path, o);
    klite::Pages base = pager.acquire();
    pager.release(base);
    klite::Writer w(base);
    auto d = klite::catalog::find(w.pages(), "s");
    REQUIRE(d);
    klite::chain::append(w, *d, 2'000'000, {}, std::string(980, 'a'));
    klite::chain::append(w, *d, 1'000'000, {}, "b");
    klite::catalog::put(w, "s", *d);
    w.commit();
    REQUIRE(d->head != d->tail);
  }
  const ins::Report r = ins::check(ins::File(path));
  INFO(describe(r));
  CHECK(r.errors == 1);
  const auto ss = ins::streams(ins::File(path), nullptr);
  // Seeks by time and max_age rely on it (chain::Reader's binary search).
  CHECK_EXACT_PROBLEM(r, ss[0].d.tail,
                      "stream \"s\": base timestamp 1000000 is before the "
                      "previous record's timestamp 2000000");
}

TEST_CASE("Inspect: random damage never crashes or hangs") {
  // Every check, view and dump on files with random bytes changed, cut
  // short or links redirected; the ASan build makes this a memory check.
  Image base = rich(1024);
  klite::test::Rng rng(2026);
  int unclean = 0;
  for (int iter = 0; iter < 300; ++iter) {
    CAPTURE(iter);
    Image im = base;
    const std::uint64_t kind = rng.range(0, 3);
    std::size_t span = im.at(ins::File::from_bytes(im.bytes).page_count());
    for (std::uint64_t n = rng.range(1, 8); n > 0; --n) {
      std::size_t off = static_cast<std::size_t>(rng.range(0, span - 1));
      if (kind == 0) {
        im.bytes[off] = static_cast<char>(rng.next());
      } else if (kind == 1) { // a plausible page number in a link field
        std::size_t pg = off / im.ps;
        std::size_t field = rng.range(0, 1) ? 8 : 12;
        wr32(im.bytes, pg * im.ps + field,
             static_cast<std::uint32_t>(rng.range(0, span / im.ps + 2)));
        if (pg >= 2 && im.bytes[pg * im.ps] != fmt::kDataPage)
          im.fix_page_crc(static_cast<std::uint32_t>(pg));
      } else if (kind == 2) {
        im.bytes.resize(off);
        break;
      } else { // change a byte and fix the page's CRC
        std::size_t pg = off / im.ps;
        im.bytes[off] = static_cast<char>(rng.next());
        if (pg >= 2)
          im.fix_page_crc(static_cast<std::uint32_t>(pg));
        else
          im.fix_meta_crc(static_cast<std::uint32_t>(pg));
      }
    }
    try {
      ins::File f = im.file();
      ins::Report r = ins::check(f);
      unclean += !r.clean();
      for (const ins::Stream& s : ins::streams(f, nullptr)) {
        ins::dump(f, s.name, [](const ins::DumpRecord&) {});
        ins::tree(f, s.d.index_root, ins::KeyKind::Index);
      }
      ins::tree(f, f.catalog_root(), ins::KeyKind::Catalog);
      ins::freelist(f);
      for (std::uint32_t pg = 0; pg < f.file_pages() && pg < 64; ++pg)
        ins::dump_page(f, pg);
    } catch (const klite::Error&) {
      // not a klite file any more, or a page past the end: fine
    }
  }
  CHECK(unclean > 200);
}

// ---------------------------------------------------------------------------
// The command line

TEST_CASE("Inspect: command line") {
  TempDir dir;
  build_rich(dir.file(), 1024);

  SUBCASE("check, clean") {
    CliResult c = cli({dir.file(), "check"});
    CHECK(c.code == ins::kExitOk);
    CHECK(contains(c.out, "ok: "));
    CHECK(c.err.empty());
    c = cli({dir.file(), "check", "--json"});
    CHECK(c.code == ins::kExitOk);
    CHECK(contains(c.out, "\"clean\": true"));
    CHECK(contains(c.out, "\"problems\": []"));
  }
  SUBCASE("check, damaged") {
    Image im{klite::test::read_file_bytes(dir.file()), 1024};
    ins::File f = im.file();
    auto ss = ins::streams(f, nullptr);
    const std::uint32_t pg = chain(im, stream(ss, "alpha"))[3];
    im.flip(pg, 300);
    klite::test::write_file_bytes(dir.file(), im.bytes);
    CliResult c = cli({dir.file(), "check"});
    CHECK(c.code == ins::kExitProblems);
    CHECK(contains(c.out, "page " + std::to_string(pg) + ": stream \"alpha\""));
    CHECK(contains(c.out, "1 error"));
    c = cli({dir.file(), "check", "--json"});
    CHECK(c.code == ins::kExitProblems);
    CHECK(contains(c.out, "\"page\": " + std::to_string(pg)));
    CHECK(contains(c.out, "\"clean\": false"));
    c = cli({dir.file(), "analyze"});
    CHECK(c.code == ins::kExitProblems);
  }
  SUBCASE("every command runs") {
    ins::File f(dir.file());
    const std::string pages = std::to_string(f.page_count());
    std::vector<std::vector<std::string>> cmds = {
        {"header"},
        {"meta"},
        {"streams"},
        {"stream", "alpha"},
        {"btree", "alpha"},
        {"btree", "catalog"},
        {"btree", "index:hdr"},
        {"btree", std::to_string(f.catalog_root())},
        {"freelist"},
        {"analyze"},
        {"page", "0"},
        {"page", "1"},
        {"dump", "hdr"}};
    for (std::uint32_t pg = 2; pg < f.page_count(); pg += 7)
      cmds.push_back({"page", std::to_string(pg)});
    for (auto& cmd : cmds) {
      for (bool json : {false, true}) {
        std::vector<std::string> args = {dir.file()};
        args.insert(args.end(), cmd.begin(), cmd.end());
        if (json)
          args.push_back("--json");
        CAPTURE(args[1]);
        CAPTURE(json);
        CliResult c = cli(args);
        CHECK(c.code == ins::kExitOk);
        CHECK(c.err.empty());
        CHECK(!c.out.empty());
      }
    }
  }
  SUBCASE("bad usage and missing things") {
    CHECK(cli({}).code == ins::kExitCannot);
    CHECK(cli({dir.file()}).code == ins::kExitCannot);
    CHECK(cli({dir.file(), "frobnicate"}).code == ins::kExitCannot);
    CHECK(cli({dir.file(), "stream"}).code == ins::kExitCannot);
    CHECK(cli({dir.file(), "check", "--bogus"}).code == ins::kExitCannot);
    CHECK(cli({dir.file(), "stream", "nope"}).code == ins::kExitCannot);
    CHECK(cli({dir.file(), "dump", "nope"}).code == ins::kExitCannot);
    CHECK(cli({dir.file(), "page", "x"}).code == ins::kExitCannot);
    CHECK(cli({dir.file(), "page", "99999999"}).code == ins::kExitCannot);
    CHECK(cli({"--help"}).code == ins::kExitOk);
  }
  SUBCASE("the built binary") {
    CliResult c = run_binary("'" + dir.file() + "' check", dir);
    CHECK(c.code == 0);
    CHECK(contains(c.out, "ok: "));
    c = run_binary("'" + dir.file("missing") + "' check", dir);
    CHECK(c.code == 2);
    CHECK(contains(c.err, "no such file"));
    klite::test::write_file_bytes(dir.file("junk"), std::string(5000, 'j'));
    c = run_binary("'" + dir.file("junk") + "' header", dir);
    CHECK(c.code == 2);
    CHECK(contains(c.err, "not a klite file"));
    Image im{klite::test::read_file_bytes(dir.file()), 1024};
    auto ss = ins::streams(im.file(), nullptr);
    const std::uint32_t pg = chain(im, stream(ss, "big"))[0];
    im.flip(pg, 40);
    klite::test::write_file_bytes(dir.file("bad"), im.bytes);
    c = run_binary("'" + dir.file("bad") + "' check", dir);
    CHECK(c.code == 1);
    CHECK(contains(c.out, "page " + std::to_string(pg) + ": "));
    c = run_binary("'" + dir.file() + "' dump hdr", dir);
    CHECK(c.code == 0);
    CHECK(std::count(c.out.begin(), c.out.end(), '\n') == 120);
  }
}

TEST_CASE("Inspect: dump format") {
  TempDir dir;
  FakeClock clock;
  clock.set(1'795'600'800'000'000); // 2026-11-25T10:00:00Z
  {
    Engine e = Engine::open(dir.file(), options(4096, clock));
    e.append("s", "plain \"text\"\n\ttab");
    clock.set(clock() + 1500);
    e.append("s", std::string("\x00\xff", 2));
    clock.set(clock() + 1);
    klite::Header hs[] = {{"t", "x"}, {"bin", std::string_view("\xc3\x28", 2)}};
    e.append("s", "ok", hs);
    e.append("s", "");
    e.append("s", "caf\xc3\xa9 \xe2\x82\xac");
    e.append("s", "t", {}, kMinute);
  }
  CliResult c = cli({dir.file(), "dump", "s"});
  CHECK(c.code == 0);
  CHECK(c.err.empty());
  CHECK(c.out ==
        "{\"key\":1,\"ts\":\"2026-11-25T10:00:00.000000Z\",\"value\":\"plain "
        "\\\"text\\\"\\n\\ttab\"}\n"
        "{\"key\":2,\"ts\":\"2026-11-25T10:00:00.001500Z\",\"value\":\"AP8=\","
        "\"encoding\":\"base64\"}\n"
        "{\"key\":3,\"ts\":\"2026-11-25T10:00:00.001501Z\",\"value\":\"ok\","
        "\"headers\":[{\"name\":\"t\",\"value\":\"x\"},{\"name\":\"Ymlu\","
        "\"value\":\"wyg=\",\"encoding\":\"base64\"}]}\n"
        "{\"key\":4,\"ts\":\"2026-11-25T10:00:00.001501Z\",\"value\":\"\"}\n"
        "{\"key\":5,\"ts\":\"2026-11-25T10:00:00.001501Z\",\"value\":"
        "\"caf\xc3\xa9 "
        "\xe2\x82\xac\"}\n"
        "{\"key\":6,\"ts\":\"2026-11-25T10:00:00.001501Z\",\"expires\":\"2026-"
        "11-25T10:01:00.001501Z\",\"value\":\"t\"}\n");
}

TEST_CASE("Inspect: golden header and meta output") {
  // The example file of docs/FORMAT.md: 1 KiB pages, stream "s", records 1
  // to 6 in commit 2, record 7 in commit 3 and 8 in commit 4.
  TempDir dir;
  FakeClock clock;
  clock.set(1'795'600'800'000'000);
  {
    Engine e = Engine::open(dir.file(), options(1024, clock));
    {
      auto w = e.write();
      for (int i = 0; i < 5; ++i)
        w.append("s", std::string(158, 'a'));
      w.append("s", std::string(160, 'b'));
      w.commit();
    }
    e.append("s", "hi");
    clock.set(clock() + 1500);
    klite::Header h[] = {{"t", "x"}};
    e.append("s", "ok", h);
  }
  for (const char* cmd : {"header", "meta"}) {
    for (bool json : {false, true}) {
      std::vector<std::string> args = {dir.file(), cmd};
      if (json)
        args.push_back("--json");
      CliResult c = cli(args);
      CHECK(c.code == 0);
      std::string out = c.out;
      for (std::size_t at; (at = out.find(dir.file())) != std::string::npos;)
        out.replace(at, dir.file().size(), "FILE");
      check_golden(std::string("tests/golden/inspect_") + cmd +
                       (json ? ".json" : ".txt"),
                   out);
    }
  }
  // Commits 3 and 4 leave the descriptor in the meta page's overlay, so
  // the catalog leaf (page 4) holds the one commit 2 wrote.
  ins::File f(dir.file());
  CHECK(f.page_count() == 9);
  CHECK(f.catalog_root() == 4);
  CHECK(f.meta(f.current()).overlay.size() == 1);
  CHECK(ins::check(f).clean());
}

TEST_CASE("Inspect: golden meta output with commit range lists") {
  TempDir dir;
  build_listed(dir.file(), 3);
  for (bool json : {false, true}) {
    std::vector<std::string> args = {dir.file(), "meta"};
    if (json)
      args.push_back("--json");
    CliResult c = cli(args);
    CHECK(c.code == 0);
    check_golden(std::string("tests/golden/inspect_meta_ranges") +
                     (json ? ".json" : ".txt"),
                 c.out);
  }
  // The same file after a crash cut the last commit's sync short: a byte
  // of its first range did not reach the disk.
  Image im{klite::test::read_file_bytes(dir.file()), 1024};
  const ins::CommitRange r = im.file().meta(im.file().current()).ranges[0];
  im.bytes[r.offset] = static_cast<char>(im.bytes[r.offset] ^ 0x40);
  klite::test::write_file_bytes(dir.file(), im.bytes);
  CliResult c = cli({dir.file(), "meta"});
  CHECK(c.code == 0);
  check_golden("tests/golden/inspect_meta_torn.txt", c.out);
}

TEST_CASE("Inspect: fuzz seed corpus") {
  // tests/fuzz/corpus/inspect/ holds small valid files for the fuzz target
  // (trimmed to their page count). They must check clean; with
  // KLITE_UPDATE_GOLDEN=1 they are written afresh. v3_range_lists.seed is
  // not: a format version 3 file kept from before version 4, so that meta
  // pages without an overlay stay covered.
  const std::string corpus = source_path("tests/fuzz/corpus/inspect");
  if (update_golden()) {
    std::filesystem::create_directories(corpus);
    struct Seed {
      const char* name;
      std::uint32_t ps;
      void (*fill)(Engine&, FakeClock&);
      bool listed = false; // Durability::Full: meta pages with range lists
    };
    const Seed seeds[] = {
        {"one_stream", 1024,
         [](Engine& e, FakeClock& c) {
           for (int i = 0; i < 30; ++i) {
             c.set(c() + 10);
             e.append("s", value_of(static_cast<std::uint64_t>(i), 40));
           }
         }},
        {"spanning_and_headers", 1024,
         [](Engine& e, FakeClock& c) {
           e.append("big", value_of(1, 2500));
           klite::Header h[] = {{"type", "a"}, {"id", "42"}};
           for (int i = 0; i < 10; ++i) {
             c.set(c() + 1000);
             e.append("h", "v" + std::to_string(i), h);
           }
           e.append("big", value_of(2, 700));
         }},
        {"free_list", 1024,
         [](Engine& e, FakeClock&) {
           for (int i = 0; i < 6; ++i)
             e.append("t" + std::to_string(i), value_of(1, 300));
           e.drop_stream("t2");
           e.drop_stream("t4");
           for (int i = 0; i < 4; ++i)
             e.append("t0", value_of(2, 100));
         }},
        {"index_levels", 1024,
         [](Engine& e, FakeClock&) {
           auto w = e.write();
           for (int i = 0; i < 700; ++i)
             w.append("k", value_of(static_cast<std::uint64_t>(i), 8));
           w.commit();
         }},
        {"many_streams", 1024,
         [](Engine& e, FakeClock&) {
           auto w = e.write();
           for (int i = 0; i < 20; ++i)
             w.append(klite::test::numbered("stream",
                                            static_cast<std::uint64_t>(i), 2),
                      "x");
           w.commit();
         }},
        {"page_4096", 4096,
         [](Engine& e, FakeClock& c) {
           for (int i = 0; i < 5; ++i) {
             c.set(c() + 3);
             e.append("s", value_of(static_cast<std::uint64_t>(i), 1500));
           }
           e.create_stream("empty");
         }},
        {"expiry_and_ttls", 1024,
         [](Engine& e, FakeClock& c) {
           for (int i = 0; i < 24; ++i) {
             c.set(c() + 1000);
             e.append("t", value_of(static_cast<std::uint64_t>(i), 120), {},
                      i % 2 ? kMinute : std::chrono::microseconds{0});
           }
           e.expire_before("t", 12);
           e.create_stream("r", klite::Retention{{}, 0, 4});
           for (int i = 0; i < 12; ++i)
             e.append("r", value_of(static_cast<std::uint64_t>(i), 300));
         }},
        {"overlays", 1024,
         [](Engine& e, FakeClock& c) {
           // The last commits change only streams the tree holds: their
           // descriptors are in both meta pages' overlays.
           {
             auto w = e.write();
             for (int i = 0; i < 6; ++i)
               for (const char* s : {"a", "b", "c"})
                 w.append(s, value_of(static_cast<std::uint64_t>(i), 90));
             w.commit();
           }
           for (int i = 0; i < 3; ++i) {
             c.set(c() + 7);
             e.append(i % 2 ? "a" : "c",
                      value_of(static_cast<std::uint64_t>(i), 200));
           }
           e.expire_before("c", 3);
         },
         true},
        {"range_lists", 1024,
         [](Engine& e, FakeClock& c) {
           for (int i = 0; i < 4; ++i) {
             c.set(c() + 5);
             e.append(i % 2 ? "a" : "b",
                      value_of(static_cast<std::uint64_t>(i), 600));
           }
         },
         true},
    };
    for (const Seed& s : seeds) {
      TempDir dir;
      FakeClock clock;
      clock.set(1'795'600'800'000'000);
      {
        Options o = options(s.ps, clock);
        if (s.listed)
          o.durability = klite::Durability::Full;
        Engine e = Engine::open(dir.file(), o);
        s.fill(e, clock);
      }
      std::string bytes = klite::test::read_file_bytes(dir.file());
      ins::File f = ins::File::from_bytes(bytes);
      bytes.resize(std::size_t{f.page_count()} * s.ps);
      REQUIRE(bytes.size() <= 64 * 1024);
      klite::test::write_file_bytes(corpus + "/" + s.name + ".seed", bytes);
    }
    MESSAGE("rewrote " << corpus);
  }
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    CAPTURE(entry.path().string());
    ins::File f(entry.path().string());
    ins::Report r = ins::check(f);
    INFO(describe(r));
    CHECK(r.clean());
    CHECK(r.warnings == 0);
    CHECK(f.file_size() <= 64 * 1024);
    ++n;
  }
  CHECK(n >= 5);
}
