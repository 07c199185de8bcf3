// The catalog's descriptor overlay (docs/FORMAT.md sections 2 and 5): a
// commit that changes only streams the catalog tree holds carries their
// descriptors in its meta page and writes no catalog page; creating or
// dropping a stream, or an overlay past a quarter page, writes them into
// the tree. What readers see must not depend on where a descriptor is.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/coding.h"
#include "engine/crc32c.h"
#include "engine/format.h"
#include "engine/os.h"
#include "fault_util.h"
#include "test_util.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace {

namespace fmt = klite::format;
using klite::Engine;
using klite::ErrorCode;
using klite::Options;
using klite::test::HookScope;
using klite::test::TempDir;

// Counts the writes to the database file (not its lock file), and syncs.
struct WriteCounter final : klite::os::FaultHook {
  explicit WriteCounter(std::string p) : path(std::move(p)) {}
  int before(Op op, const std::string& p) override {
    syncs += op == Op::Sync && p == path;
    return 0;
  }
  void wrote(const std::string& p, std::uint64_t off, std::size_t n) override {
    if (p == path)
      writes.push_back({off, n});
  }
  void synced(const std::string&) override {}
  std::string path;
  std::vector<std::pair<std::uint64_t, std::size_t>> writes;
  int syncs = 0;
};

// A meta page's fields, read from the file as format.h lays them out.
struct MetaImage {
  std::string bytes;
  std::uint32_t ps = 0;

  explicit MetaImage(const std::string& path)
      : bytes(klite::test::read_file_bytes(path)),
        ps(klite::coding::get_u32(p(fmt::meta::kPageSize))) {}
  const std::uint8_t* p(std::size_t off) const {
    return reinterpret_cast<const std::uint8_t*>(bytes.data() + off);
  }
  std::uint8_t* p(std::size_t off) {
    return reinterpret_cast<std::uint8_t*>(bytes.data() + off);
  }
  std::uint64_t txn(int slot) const {
    return klite::coding::get_u64(p(slot * ps + fmt::meta::kTxnId));
  }
  int newest() const { return txn(1) > txn(0) ? 1 : 0; }
  std::uint32_t field(int slot, std::size_t off) const {
    return klite::coding::get_u32(p(slot * ps + off));
  }
  void set_field(int slot, std::size_t off, std::uint32_t v) {
    klite::coding::put_u32(p(slot * ps + off), v);
  }
  std::uint32_t overlay_size(int slot) const {
    return field(slot, fmt::meta::kOverlaySize);
  }
  std::size_t overlay_at(int slot) const {
    return slot * ps + fmt::meta::kSize +
           field(slot, fmt::meta::kRangeCount) * fmt::meta::kRangeSize;
  }
  void fix_meta_crc(int slot) {
    set_field(slot, fmt::meta::kCrc,
              klite::crc32c::value(p(slot * ps), fmt::meta::kCrc));
  }
  // The overlay's CRC and the meta page's, after a change to either.
  void fix_crcs(int slot) {
    set_field(slot, fmt::meta::kOverlayCrc,
              klite::crc32c::value(p(overlay_at(slot)), overlay_size(slot)));
    fix_meta_crc(slot);
  }
  void save(const std::string& path) const {
    klite::test::write_file_bytes(path, bytes);
  }
};

// Stream "s" with two records, the second appended by a commit that put
// its descriptor in the overlay.
void make_two(const std::string& path) {
  Engine e = Engine::open(path);
  e.append("s", "one");
  e.append("s", "two");
}

// Runs `f`, which must fail with Corrupt and exactly `message`.
void expect_corrupt(const std::function<void()>& f, const std::string& message) {
  const auto err = klite::test::catch_error(f);
  REQUIRE(err);
  CHECK(err->code() == ErrorCode::Corrupt);
  CHECK(std::string(err->what()) == message);
}

std::uint64_t records(Engine& e, const std::string& stream) {
  std::uint64_t n = 0;
  auto r = e.read();
  auto c = r.cursor(stream);
  for (bool ok = c.first(); ok; ok = c.next())
    ++n;
  return n;
}

} // namespace

TEST_CASE("Catalog: appending to a stream writes the record and the meta page, nothing else") {
  TempDir dir;
  const std::string path = dir.file();
  WriteCounter count(path);
  HookScope scope(&count);
  Engine e = Engine::open(path);
  e.append("s", "first"); // creates s: the catalog tree gets it
  CHECK(MetaImage(path).overlay_size(MetaImage(path).newest()) == 0);
  for (int i = 0; i < 10; ++i) {
    CAPTURE(i);
    count.writes.clear();
    const std::string value = "record " + std::to_string(i);
    e.append("s", value);
    REQUIRE(count.writes.size() == 2);
    // The record's bytes in the tail page, then the meta page: its fixed
    // part, the range list of that one range, and the overlay entry of "s".
    CHECK(count.writes[0].first >= 2 * 4096);
    CHECK(count.writes[0].second <= value.size() + fmt::kMaxRecordHeader);
    const MetaImage im(path);
    const int slot = im.newest();
    CHECK(count.writes[1].first == slot * 4096u);
    CHECK(im.overlay_size(slot) == 1 + 1 + fmt::desc::kSize);
    CHECK(count.writes[1].second ==
          fmt::meta::kSize + fmt::meta::kRangeSize + im.overlay_size(slot));
  }
  CHECK(e.info("s").records == 11);
  CHECK(records(e, "s") == 11);
  klite::test::reopen(e, path);
  CHECK(e.info("s").records == 11);
  CHECK(e.get("s", 11)->value == "record 9");
}

TEST_CASE("Catalog: the overlay goes into the tree on create, drop and when it outgrows a quarter page") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path);
  // Names of two bytes: entries of 1 + 2 + 104 bytes, nine of which fit
  // in a quarter of a 4 KiB page (963 bytes), ten not (1070).
  for (int s = 0; s < 10; ++s)
    e.create_stream("s" + std::to_string(s));
  auto overlay = [&] {
    const MetaImage im(path);
    return im.overlay_size(im.newest());
  };
  CHECK(overlay() == 0);
  for (int s = 0; s < 9; ++s) {
    e.append("s" + std::to_string(s), "x");
    CHECK(overlay() == (s + 1) * (3 + fmt::desc::kSize));
  }
  e.append("s0", "again"); // replaces its entry
  CHECK(overlay() == 9 * (3 + fmt::desc::kSize));

  SUBCASE("a tenth stream: the tree gets them all") {
    e.append("s9", "x");
    CHECK(overlay() == 0);
  }
  SUBCASE("a new stream in the same commit as staged ones") {
    auto w = e.write();
    w.append("s1", "y");
    w.append("new", "z");
    w.commit();
    CHECK(overlay() == 0);
  }
  SUBCASE("a dropped stream") {
    e.drop_stream("s8");
    CHECK(overlay() == 0);
    CHECK_FALSE(e.read().has_stream("s8"));
  }
  SUBCASE("several streams in one commit that all fit") {
    auto w = e.write();
    for (int s = 0; s < 9; ++s)
      w.append("s" + std::to_string(s), "w");
    w.commit();
    CHECK(overlay() == 9 * (3 + fmt::desc::kSize));
  }
  // Wherever the descriptors are, every stream reads the same.
  auto expect_all = [&](Engine& en) {
    const auto all = en.streams();
    std::uint64_t total = 0;
    for (const auto& info : all) {
      CAPTURE(info.name);
      CHECK(info.records == records(en, info.name));
      total += info.records;
    }
    return total;
  };
  const std::uint64_t total = expect_all(e);
  CHECK(total >= 9); // s0 twice, s1 to s7 (s8 may be dropped)
  klite::test::reopen(e, path);
  CHECK(expect_all(e) == total);
}

TEST_CASE("Catalog: a snapshot keeps the descriptor it began with while commits change the overlay") {
  TempDir dir;
  const std::string path = dir.file();
  Engine e = Engine::open(path);
  e.append("s", "1");
  e.append("s", "2");
  auto r = e.read();
  for (int i = 0; i < 5; ++i)
    e.append("s", "more");
  CHECK(r.info("s").records == 2);
  CHECK(e.info("s").records == 7);
  auto c = r.cursor("s");
  std::uint64_t n = 0;
  for (bool ok = c.first(); ok; ok = c.next())
    ++n;
  CHECK(n == 2);
}

TEST_CASE("Catalog: a torn overlay makes open fall back to the commit before") {
  TempDir dir;
  const std::string path = dir.file();
  {
    Engine e = Engine::open(path);
    e.append("s", "one");
    e.append("s", "two");
    e.append("s", "three"); // its meta page: the overlay with 3 records
  }
  MetaImage im(path);
  const int slot = im.newest();
  REQUIRE(im.overlay_size(slot) > 0);
  // A byte of the overlay that did not reach the disk: the meta page's own
  // CRC (of bytes 0..59) still holds.
  const std::size_t at = im.overlay_at(slot) + 10;
  im.bytes[at] = static_cast<char>(im.bytes[at] ^ 0x01);

  SUBCASE("the other meta page is valid: its commit") {
    im.save(path);
    Engine e = Engine::open(path);
    CHECK(e.info("s").records == 2);
    e.append("s", "three again"); // and it goes on from there
    CHECK(e.info("s").records == 3);
  }
  SUBCASE("the other meta page is not valid: Corrupt") {
    im.bytes[(1 - slot) * im.ps + fmt::meta::kTxnId] ^= 1; // its CRC fails
    im.save(path);
    expect_corrupt([&] { Engine::open(path); },
                   path + ": page " + std::to_string(slot) +
                       ": meta page overlay does not match its checksum");
  }
  SUBCASE("an overlay size that runs past the page") {
    im.bytes[at] = static_cast<char>(im.bytes[at] ^ 0x01); // as written
    im.set_field(slot, fmt::meta::kOverlaySize, im.ps);
    im.fix_meta_crc(slot);
    im.save(path);
    Engine e = Engine::open(path);
    CHECK(e.info("s").records == 2);
  }
}

TEST_CASE("Catalog: a malformed overlay entry is Corrupt, naming the meta page") {
  TempDir dir;
  const std::string path = dir.file();
  make_two(path);
  MetaImage im(path);
  const int slot = im.newest();
  REQUIRE(im.overlay_size(slot) == 1 + 1 + fmt::desc::kSize);
  const std::size_t at = im.overlay_at(slot);
  std::string expected;
  SUBCASE("a name of length 0") {
    im.bytes[at] = 0;
    expected = "meta page overlay entry runs past the overlay";
  }
  SUBCASE("a name longer than the entry") {
    im.bytes[at] = 120;
    expected = "meta page overlay entry runs past the overlay";
  }
  SUBCASE("a descriptor with fields out of range") {
    // first key 0 (FORMAT.md section 5)
    klite::coding::put_u64(im.p(at + 2 + fmt::desc::kFirstKey), 0);
    expected = "catalog entry for \"s\" has fields out of range";
  }
  im.fix_crcs(slot);
  im.save(path);
  Engine e = Engine::open(path); // the meta page is whole: its CRCs hold
  // A reader, and a writer (whose own txn id is one past the meta page's
  // commit): both name the meta page the overlay is on.
  for (bool write : {false, true}) {
    CAPTURE(write);
    expect_corrupt(
        [&] {
          if (write)
            e.append("s", "three");
          else
            e.info("s");
        },
        path + ": page " + std::to_string(slot) + ": " + expected);
  }
}

TEST_CASE("Catalog: under Durability::Normal the range list and an overlay share the meta page") {
  // 1 KiB pages and a stream name of the longest kind: an overlay entry of
  // 233 bytes leaves room for (1024 - 64 - 233) / 16 = 45 ranges. Values
  // that each start a new page (and copy the key index) add ranges until
  // the list is full and a sync starts it afresh.
  TempDir dir;
  const std::string path = dir.file();
  const std::string name(klite::kMaxStreamNameSize, 'n');
  Options o;
  o.page_size = 1024;
  o.durability = klite::Durability::Normal;
  o.sync_interval = std::chrono::hours(1);
  std::uint32_t most = 0;
  WriteCounter count(path);
  {
    HookScope scope(&count);
    Engine e = Engine::open(path, o);
    e.create_stream(name);
    for (int i = 0; i < 200; ++i) {
      e.append(name, std::string(900, static_cast<char>('a' + i % 26)));
      const MetaImage im(path);
      const int slot = im.newest();
      CAPTURE(i);
      REQUIRE(im.overlay_size(slot) == 1 + name.size() + fmt::desc::kSize);
      const std::uint32_t n = im.field(slot, fmt::meta::kRangeCount);
      CHECK(n <= fmt::meta::max_ranges(1024, im.overlay_size(slot)));
      most = std::max(most, n);
    }
  }
  // The list filled beside the overlay (the writer syncs when the next
  // commit might not fit, so before the last entry), again and again.
  CHECK(most > 20);
  CHECK(count.syncs >= 5);
  Engine e = Engine::open(path, o);
  CHECK(e.info(name).records == 200);
  CHECK(records(e, name) == 200);
}

TEST_CASE("Catalog: an overlay that contradicts the tree is Corrupt") {
  TempDir dir;
  const std::string path = dir.file();
  {
    Engine e = Engine::open(path);
    e.create_stream("other");
    e.append("s", "one");
    e.append("s", "two"); // the overlay: "s"
  }
  MetaImage im(path);
  const int slot = im.newest();
  const std::size_t at = im.overlay_at(slot);
  const std::uint32_t size = im.overlay_size(slot);
  REQUIRE(size == 1 + 1 + fmt::desc::kSize);
  std::string expected;
  std::function<void(Engine&)> read;
  SUBCASE("a name given twice") {
    im.bytes.replace(at + size, size, im.bytes.substr(at, size)); // after it: unused
    im.set_field(slot, fmt::meta::kOverlaySize, 2 * size);
    expected = "meta page overlay names stream \"s\" twice";
    read = [](Engine& e) { e.info("s"); };
  }
  SUBCASE("a name the tree does not hold") {
    im.bytes[at + 1] = 't';
    expected = "meta page overlay names a stream the catalog does not hold";
    read = [](Engine& e) { e.streams(); };
  }
  im.fix_crcs(slot);
  im.save(path);
  Engine e = Engine::open(path);
  expect_corrupt([&] { read(e); },
                 path + ": page " + std::to_string(slot) + ": " + expected);
}

TEST_CASE("Catalog: a version-3 meta page's bytes 52..59 are not an overlay") {
  TempDir dir;
  const std::string path = dir.file();
  make_two(path);
  MetaImage im(path);
  const int slot = im.newest();
  // Read as version 3, the newest meta page has no overlay: the tree's
  // descriptor (one record) is the stream's.
  im.set_field(slot, fmt::meta::kVersion, 3);
  im.fix_crcs(slot);
  im.save(path);
  Options ro;
  ro.read_only = true;
  Engine e = Engine::open(path, ro);
  CHECK(e.info("s").records == 1);
}
