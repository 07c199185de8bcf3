// The pager and free list: snapshots survive page reuse, freed pages are
// reused (the file stops growing), the free list survives reopen; small
// Full commits grow the file with written blocks.
#include "test_util.h"

#include "engine/os.h"
#include "engine/pager.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <optional>
#include <vector>

namespace {

using klite::Engine;
using klite::Options;
using klite::test::payload;

// Pages in use or free, per the newest commit of the file at `path`.
std::uint32_t page_count(const std::string& path) {
  Options ro;
  ro.read_only = true;
  klite::Pager pager(path, ro);
  klite::Pages snap = pager.acquire();
  std::uint32_t n = snap.meta().page_count;
  pager.release(snap);
  return n;
}

// Whether any extent of the file at `path` is allocated but "unwritten"
// (reads as zeros until first written); nullopt if the filesystem cannot
// tell (no FIEMAP).
std::optional<bool> has_unwritten_extent(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  constexpr unsigned kExtents = 512;
  std::vector<char> buf(sizeof(fiemap) + kExtents * sizeof(fiemap_extent));
  auto* map = reinterpret_cast<fiemap*>(buf.data());
  map->fm_length = FIEMAP_MAX_OFFSET;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = kExtents;
  const int r = ::ioctl(fd, FS_IOC_FIEMAP, map);
  ::close(fd);
  if (r != 0)
    return std::nullopt;
  REQUIRE(map->fm_mapped_extents < kExtents); // all of them were listed
  for (unsigned i = 0; i < map->fm_mapped_extents; ++i)
    if (map->fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN)
      return true;
  return false;
}

Options small_pages() {
  Options o;
  o.page_size = 1024;
  o.durability = klite::Durability::Off;
  return o;
}

} // namespace

TEST_CASE("Pager: snapshots and page reuse") {
  klite::test::TempDir dir;
  const std::string path = dir.file();

  SUBCASE("a reader keeps its snapshot while the writer reuses pages") {
    Engine engine = Engine::open(path, small_pages());
    for (std::uint64_t k = 1; k <= 200; ++k)
      engine.append("s", payload(k, 300));
    auto reader = engine.read();
    // Many commits: each copies catalog and index pages and frees the old
    // ones, which must not be reused while `reader` can see them.
    for (int commit = 0; commit < 100; ++commit) {
      auto txn = engine.write();
      for (int i = 0; i < 5; ++i)
        txn.append("s", payload(201 + commit * 5 + i, 300));
      txn.append("other" + std::to_string(commit % 7), "x");
      txn.commit();
    }
    CHECK(reader.info("s").records == 200);
    auto c = reader.cursor("s");
    std::uint64_t k = 0;
    for (bool ok = c.first(); ok; ok = c.next()) {
      ++k;
      REQUIRE(c.record().key == k);
      REQUIRE(c.record().value == payload(k, 300));
    }
    CHECK(k == 200);
    CHECK_FALSE(reader.has_stream("other0"));
    CHECK(engine.info("s").records == 700);
  }

  SUBCASE("steady churn does not grow the file") {
    Engine engine = Engine::open(path, small_pages());
    std::uint32_t after_warmup = 0;
    for (int round = 0; round < 60; ++round) {
      auto txn = engine.write();
      std::string name = "churn" + std::to_string(round % 3);
      if (txn.has_stream(name))
        txn.drop_stream(name);
      for (std::uint64_t k = 1; k <= 300; ++k)
        txn.append(name, payload(k, 200));
      txn.commit();
      if (round == 20)
        after_warmup = page_count(path);
    }
    CAPTURE(after_warmup);
    // Three streams of ~60 pages each live at any time, plus pages waiting
    // two commits for reuse; the count must settle, not climb by ~60 pages
    // a round (which would be 2400 more pages by now).
    CHECK(page_count(path) <= after_warmup + 70);
  }

  SUBCASE("a large free list spans several directory pages and survives reopen") {
    {
      Engine engine = Engine::open(path, small_pages());
      auto txn = engine.write();
      for (std::uint64_t k = 1; k <= 20000; ++k)
        txn.append("big", payload(k, 900)); // about one 1 KiB page each
      txn.commit();
      engine.drop_stream("big");
      engine.append("t", "1"); // two more commits so the pages are reusable
      engine.append("t", "2");
    }
    const std::uint32_t before = page_count(path);
    {
      Engine engine = Engine::open(path, small_pages());
      for (int batch = 0; batch < 20; ++batch) {
        auto txn = engine.write();
        for (std::uint64_t i = 1; i <= 1000; ++i)
          txn.append("again", payload(batch * 1000 + i, 900));
        txn.commit();
      }
      CHECK(engine.info("again").records == 20000);
    }
    CAPTURE(before);
    // The same volume again fits in the freed pages (a few extra for the
    // index and free-list pages written along the way).
    CHECK(page_count(path) <= before + 100);
    Engine engine = Engine::open(path, small_pages());
    auto c = engine.read().info("again");
    CHECK(c.last_key == 20000);
  }

  SUBCASE("a read-only engine refuses to write") {
    { Engine engine = Engine::open(path); engine.append("s", "v"); }
    Options ro;
    ro.read_only = true;
    Engine engine = Engine::open(path, ro);
    CHECK(engine.get("s", 1)->value == "v");
    try {
      engine.append("s", "w");
      FAIL("append on a read-only engine succeeded");
    } catch (const klite::Error& e) {
      CHECK(e.code() == klite::ErrorCode::ReadOnly);
      CHECK(std::string(e.what()).find("read-only") != std::string::npos);
    }
  }
}

TEST_CASE("Pager: small Full commits grow the file with written blocks, large ones leave that to their writes") {
  // Small commits then write into blocks whose extents are final, so their
  // fdatasync has no extent metadata to commit; a large commit's own
  // writes convert its blocks in one sync, and zeros would double them
  // (Pager::grow).
  klite::test::TempDir dir;
  {
    // Where fallocate leaves no unwritten extents (or FIEMAP cannot say),
    // there is nothing to check.
    const std::string probe = dir.file("probe");
    klite::os::File(probe, klite::os::File::Mode::Create).allocate(1 << 20);
    if (has_unwritten_extent(probe) != true) {
      MESSAGE("this filesystem has no unwritten extents: not checked");
      return;
    }
  }
  Options full;
  full.durability = klite::Durability::Full;
  // Commits of `records` x 1,000 B until the file has grown once.
  auto fill = [&](const std::string& path, int records) {
    auto engine = Engine::open(path, full);
    const std::uint64_t first_size = std::filesystem::file_size(path);
    std::uint64_t key = 0;
    do {
      auto txn = engine.write();
      for (int j = 0; j < records; ++j)
        txn.append("s", payload(++key, 1000));
      txn.commit();
    } while (std::filesystem::file_size(path) == first_size);
  };
  const std::string small = dir.file("small.klite");
  fill(small, 10);
  CHECK(has_unwritten_extent(small) == false);
  const std::string large = dir.file("large.klite");
  fill(large, 500);
  CHECK(has_unwritten_extent(large) == true);
}

TEST_CASE("Pager: File::write_zeros zeroes exactly its range, in any length") {
  // It writes a small buffer many times over (1 MiB per pwritev): the
  // lengths cross its 64 KiB pieces and 1 MiB writes, and start unaligned.
  klite::test::TempDir dir;
  const std::string path = dir.file("zeros");
  constexpr std::uint64_t kSize = std::uint64_t{5} << 20;
  for (const auto& range : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {0, 0}, {7, 1}, {4096, 65535}, {3, 65537}, {100, (1 << 20) + 3},
           {65536, (std::uint64_t{3} << 20) + 4096 * 3 + 17}}) {
    const std::uint64_t off = range.first, n = range.second; // (clang 14
    // cannot capture a structured binding, as CAPTURE does)
    CAPTURE(off);
    CAPTURE(n);
    klite::test::write_file_bytes(path, std::string(kSize, '\xA5'));
    klite::os::File(path, klite::os::File::Mode::ReadWrite).write_zeros(off, n);
    const std::string bytes = klite::test::read_file_bytes(path);
    REQUIRE(bytes.size() == kSize);
    CHECK(bytes.find_first_not_of('\xA5') == (n ? off : std::string::npos));
    CHECK(bytes.find_first_not_of('\0', off) == (n ? off + n : off));
    CHECK(bytes.find_first_not_of('\xA5', off + n) == std::string::npos);
  }
}
