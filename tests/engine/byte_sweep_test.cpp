// Corrupt files, exhaustively (issue 7): for small valid files (1 KiB
// pages: two meta pages, the catalog, key-index levels, data pages with
// spanning records and headers, free-list pages), every byte of every page
// is flipped in turn, and the file is cut at every page boundary. With
// each damaged file the engine must either read every stream both ways
// and return exactly the data of the last commit (or, when the newest
// meta page is the damage, of the one before) and then take a commit, or
// fail with Corrupt or NotKlite; never another error, wrong data, a
// sanitizer report, a SIGBUS or a hang. And whenever inspect::check calls
// the file clean, the engine must read it. (Damage in a structure the
// engine reads lazily, such as a free-list chunk it does not need yet, is
// found by check and by the engine when it gets there.)
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/inspect.h"
#include "test_util.h"

#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <utility>
#include <vector>
#include <optional>
#include <string>

namespace {

using klite::ErrorCode;

using Model = std::map<std::string, std::vector<std::pair<std::uint64_t, std::string>>>;

// Every stream's records, read forwards, checked against a backward read.
Model read_all(klite::Engine& engine) {
  Model m;
  auto txn = engine.read();
  for (const auto& info : txn.streams()) {
    auto& records = m[info.name];
    auto c = txn.cursor(info.name);
    for (bool ok = c.first(); ok; ok = c.next())
      records.emplace_back(c.record().key, std::string(c.record().value));
    std::size_t n = records.size();
    for (bool ok = c.last(); ok; ok = c.prev())
      CHECK((n > 0 && records[--n].first == c.record().key));
    CHECK(n == 0);
  }
  return m;
}

// Opens `bytes` (written to `path`) read-only into `got`, then commits an
// append. Returns the error code, or nullopt if it all worked.
std::optional<ErrorCode> open_and_read(const std::string& path, const std::string& bytes,
                                       Model& got) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  try {
    klite::Options o;
    o.read_only = true;
    {
      auto engine = klite::Engine::open(path, o);
      got = read_all(engine);
    }
    // A writer reads what readers do not: the free list.
    klite::Options rw;
    rw.durability = klite::Durability::Off;
    auto writer = klite::Engine::open(path, rw);
    writer.append("many", "one more");
    return std::nullopt;
  } catch (const klite::Error& e) {
    return e.code();
  }
}

// A small file with every kind of page; `prev` and `last` get the data of
// its last two commits.
std::string make_file(const std::string& path, Model& prev, Model& last) {
  klite::Options o;
  o.page_size = 1024;
  o.durability = klite::Durability::Off;
  auto engine = klite::Engine::open(path, o);
  {
    auto w = engine.write();
    for (int i = 0; i < 300; ++i) // enough for a two-level key index
      w.append("many", "record " + std::to_string(i));
    const klite::Header h[] = {{"trace", "7f3a"}};
    w.append("spans", std::string(2500, 's'), h); // spans three pages
    w.create_stream("empty");
    w.append("dropped", std::string(3000, 'd'));
    w.commit();
  }
  engine.drop_stream("dropped"); // free-list pages
  prev = read_all(engine);
  engine.append("many", "after the drop");
  last = read_all(engine);
  return klite::test::read_file_bytes(path);
}

} // namespace

TEST_CASE("Corrupt files: every byte of every page flipped, every page boundary cut") {
  klite::test::TempDir dir;
  Model prev, last, got;
  const std::string pristine = make_file(dir.file("base.klite"), prev, last);
  const std::string path = dir.file("damaged.klite");
  REQUIRE_FALSE(open_and_read(path, pristine, got));
  REQUIRE(got == last);
  // The file is grown ahead in 1 MiB steps; the pages past the last
  // commit's page count are unused space.
  const std::size_t used = std::size_t{1024} *
      klite::inspect::check(klite::inspect::File::from_bytes(pristine)).page_count;
  REQUIRE(used > 8 * 1024);
  REQUIRE(used <= pristine.size());

  std::uint64_t tried = 0, worked = 0, corrupt = 0;
  auto judge = [&](const std::string& bytes) {
    ++tried;
    bool clean = false; // inspect::File refuses what is not a klite file
    try {
      clean = klite::inspect::check(klite::inspect::File::from_bytes(bytes)).clean();
    } catch (const klite::Error& e) {
      CHECK(e.code() == ErrorCode::NotKlite);
    }
    const auto error = open_and_read(path, bytes, got);
    if (!error) {
      ++worked;
      CHECK((got == last || got == prev)); // never wrong data
    } else {
      ++corrupt;
      CHECK((*error == ErrorCode::Corrupt || *error == ErrorCode::NotKlite));
      CHECK_FALSE(clean); // a file check calls clean must read
    }
  };
  const std::string base = pristine.substr(0, used); // a valid file too
  for (std::size_t at = 0; at < used; ++at) {
    CAPTURE(at);
    std::string bytes = base;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
    judge(bytes);
  }
  for (std::size_t cut = 0; cut <= used; cut += 1024) {
    CAPTURE(cut);
    judge(base.substr(0, cut));
  }
  MESSAGE("corrupt files: " << tried << " damaged files (" << used << " byte flips, "
                            << used / 1024 + 1 << " cuts): " << worked
                            << " read right, " << corrupt << " refused as Corrupt or NotKlite");
}

// The damage the sweep above found the engine reading past (klite-inspect
// reported it; the engine returned the right data but said nothing): each
// is now Corrupt, forwards and backwards.
TEST_CASE("Corrupt files: data page fields the engine once read past (found by the sweep)") {
  klite::test::TempDir dir;
  const std::string base_path = dir.file("base.klite");
  {
    klite::Options o;
    o.page_size = 1024;
    auto engine = klite::Engine::open(base_path, o);
    auto w = engine.write();
    w.append("s", "a");
    w.append("s", std::string(2500, 'b')); // starts on the head page, spans two more
    w.append("s", "c");
    w.commit();
    // A later commit elsewhere: damage to the newest commit's own pages
    // makes open fall back to the commit before it (FORMAT.md section 2).
    engine.append("t", "later");
  }
  const std::string pristine = klite::test::read_file_bytes(base_path);
  const auto file = klite::inspect::File::from_bytes(pristine);
  std::vector<klite::inspect::Problem> problems;
  const auto streams = klite::inspect::streams(file, &problems);
  REQUIRE(streams.size() == 2);
  REQUIRE(streams[0].name == "s");
  const std::uint32_t head = streams[0].d.head;
  const auto at = [](std::uint32_t page, std::size_t off) { return std::size_t{page} * 1024 + off; };
  const auto u32 = [&](std::size_t off) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
      v = v << 8 | static_cast<unsigned char>(pristine[off + static_cast<std::size_t>(i)]);
    return v;
  };
  const std::uint32_t middle = u32(at(head, 12)); // next: the page no record starts on
  REQUIRE(middle != streams[0].d.tail);

  struct Case {
    const char* what;
    std::size_t offset;
    const char* message;
  };
  const Case cases[] = {
      // Without kRecordsV3 the headers decode differently.
      {"the flags byte", at(head, 1), "checksum mismatch"},
      {"reserved bytes 6-7", at(head, 7), "data page reserved bytes are not zero"},
      {"first key of a page no record starts on", at(middle, 16), "first key "},
      {"base timestamp of a page no record starts on", at(middle, 24), "base timestamp "},
  };
  const std::string path = dir.file("damaged.klite");
  for (const Case& c : cases) {
    CAPTURE(c.what);
    std::string bytes = pristine;
    bytes[c.offset] = static_cast<char>(bytes[c.offset] ^ 0x01);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    auto engine = klite::Engine::open(path);
    for (const bool forwards : {true, false}) {
      CAPTURE(forwards);
      auto txn = engine.read();
      auto cursor = txn.cursor("s");
      std::string error;
      try {
        for (bool ok = forwards ? cursor.first() : cursor.last(); ok;
             ok = forwards ? cursor.next() : cursor.prev()) {
        }
      } catch (const klite::Error& e) {
        CHECK(e.code() == ErrorCode::Corrupt);
        error = e.what();
      }
      CHECK_MESSAGE(error.find(c.message) != std::string::npos, error);
    }
  }
}
