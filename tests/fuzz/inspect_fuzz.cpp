// libFuzzer target: damaged klite files through klite-inspect's checker and
// the engine's reader.
//
// Each input is a whole file. The seed corpus (tests/fuzz/corpus/inspect/,
// written by the "Inspect: fuzz seed corpus" test) holds small valid files;
// libFuzzer mutates their bytes, and half of the time the custom mutator
// then recomputes the CRCs of the meta pages (their range lists and
// descriptor overlays included) and of every checked page, so that
// mutations get past the checksums into the structural checks.
//
// For every input:
//  - inspect::check, the views (streams, tree, freelist, dump_page) and
//    dump of every stream must not crash, hang or leak (ASan, UBSan);
//  - the engine, opening the same bytes read-only, must read every stream
//    forwards and backwards without crashing (errors are fine);
//  - and when check() calls the file clean, the engine must read every
//    record without an error, and exactly the records dump returned
//    (a differential oracle: either check missed damage, or the engine
//    rejects a file the format allows). A violation aborts with a message.
//
// Build: cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DKLITE_FUZZ=ON
//        cmake --build build-fuzz --target inspect_fuzz
// Run:   mkdir -p /tmp/corpus
//        build-fuzz/inspect_fuzz -max_total_time=600 -timeout=10 /tmp/corpus
//          tests/fuzz/corpus/inspect
//        (new inputs go to the first directory; the checked-in seeds stay).
#include "engine/coding.h"
#include "engine/crc32c.h"
#include "engine/format.h"
#include "engine/chain.h"
#include "engine/inspect.h"

#include <klite/engine.h>
#include <klite/error.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size,
                                        std::size_t max_size);

namespace {

namespace fmt = klite::format;
namespace ins = klite::inspect;
using namespace klite::coding;

void fix_crcs(std::uint8_t* data, std::size_t size) {
  std::uint32_t ps = size >= fmt::meta::kSize ? get_u32(data + 12) : 0;
  if (ps < fmt::kMinPageSize || ps > fmt::kMaxPageSize || (ps & (ps - 1)))
    ps = fmt::kMinPageSize;
  for (std::size_t off = 2 * std::size_t{ps}; off + ps <= size; off += ps) {
    std::uint8_t* p = data + off;
    std::uint8_t t = p[0];
    if (t == fmt::kBranchPage || t == fmt::kLeafPage ||
        t == fmt::kFreeDirPage || t == fmt::kFreeChunkPage) {
      put_u32(p + fmt::checked::kCrc, 0);
      put_u32(p + fmt::checked::kCrc, klite::crc32c::value(p, ps));
    }
  }
  // The meta pages last: their range lists cover checked pages.
  for (std::size_t slot = 0; slot < 2; ++slot) {
    std::uint8_t* m = data + slot * ps;
    if (slot * ps + fmt::meta::kSize > size ||
        std::memcmp(m, fmt::kMagic, sizeof fmt::kMagic) != 0)
      continue;
    // The commit range list: each range's CRC (those inside the input),
    // then the list's, so a mutated listed byte does not always make open
    // fall back to the other meta page.
    const std::size_t n = get_u32(m + fmt::meta::kRangeCount);
    std::uint8_t* list = m + fmt::meta::kSize;
    if (n > 0 && n <= fmt::meta::max_ranges(ps) &&
        slot * ps + fmt::meta::kSize + n * fmt::meta::kRangeSize <= size) {
      for (std::size_t i = 0; i < n; ++i) {
        std::uint8_t* e = list + i * fmt::meta::kRangeSize;
        const std::uint64_t off = get_u64(e + fmt::meta::kRangeOffset);
        const std::uint32_t len = get_u32(e + fmt::meta::kRangeLength);
        if (off >= 2 * std::uint64_t{ps} && off <= size && len <= size - off)
          put_u32(e + fmt::meta::kRangeCrc,
                  klite::crc32c::value(data + off, len));
      }
      put_u32(m + fmt::meta::kRangeListCrc,
              klite::crc32c::value(list, n * fmt::meta::kRangeSize));
    }
    // The descriptor overlay after the list (version 4), so that mutated
    // entries reach the catalog's checks.
    const std::size_t at = fmt::meta::kSize + n * fmt::meta::kRangeSize;
    const std::size_t v = get_u32(m + fmt::meta::kOverlaySize);
    if (get_u32(m + fmt::meta::kVersion) >= 4 && v > 0 && at + v <= ps &&
        slot * ps + at + v <= size)
      put_u32(m + fmt::meta::kOverlayCrc, klite::crc32c::value(m + at, v));
    put_u32(m + fmt::meta::kCrc, klite::crc32c::value(m, fmt::meta::kCrc));
  }
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "inspect_fuzz: %s\n", what.c_str());
  std::abort();
}

const std::string& temp_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string d = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                    : dir                         ? dir
                                                  : "/tmp";
    return d + "/klite-inspect-fuzz-" + std::to_string(getpid()) + ".db";
  }();
  return path;
}

// With KLITE_FUZZ_STATS=1, prints how the inputs fared at exit, to see that
// the differential oracle (clean inputs) is exercised.
struct Stats {
  std::uint64_t not_klite = 0, clean = 0, damaged = 0, engine_ok = 0;
  ~Stats() {
    if (std::getenv("KLITE_FUZZ_STATS"))
      std::fprintf(stderr,
                   "inspect_fuzz: %llu not klite, %llu clean, %llu damaged; "
                   "the engine read %llu of them without an error\n",
                   static_cast<unsigned long long>(not_klite),
                   static_cast<unsigned long long>(clean),
                   static_cast<unsigned long long>(damaged),
                   static_cast<unsigned long long>(engine_ok));
  }
} stats;

struct Rec {
  std::uint64_t key, ts;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  bool operator==(const Rec&) const = default;
};

} // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data,
                                               std::size_t size,
                                               std::size_t max_size,
                                               unsigned int seed) {
  size = LLVMFuzzerMutate(data, size, max_size);
  if (seed % 2 == 0)
    fix_crcs(data, size);
  return size;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);

  // One time for both sides: the engine hides the records whose TTL ran
  // out by then or that max_age no longer keeps; dump (which does not know
  // the time) shows them.
  const auto now = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());

  // The inspector.
  bool clean = false;
  bool refused = false;
  std::vector<std::pair<std::string, std::vector<Rec>>> dumped;
  std::optional<ins::File> opened;
  try {
    opened.emplace(ins::File::from_bytes(bytes));
  } catch (const klite::Error&) {
    ++stats.not_klite; // the engine must refuse it too (below)
    refused = true;
  }
  if (opened) {
    const ins::File& f = *opened;
    ins::Report r = ins::check(f);
    clean = r.clean();
    for (const ins::Stream& s : ins::streams(f, nullptr)) {
      std::vector<Rec> recs;
      std::uint64_t live = 0;
      auto problems = ins::dump(f, s.name, [&](const ins::DumpRecord& d) {
        ++live;
        if ((d.expires != 0 && d.expires <= now) ||
            (s.d.max_age != 0 &&
             d.timestamp < klite::chain::age_cutoff(now, s.d.max_age)))
          return;
        Rec x{d.key, d.timestamp, std::string(d.value), {}};
        for (auto [n, v] : d.headers)
          x.headers.emplace_back(std::string(n), std::string(v));
        recs.push_back(std::move(x));
      });
      if (clean && !problems.empty())
        fail("check is clean, but dump of \"" + s.name +
             "\" found: " + problems[0].message);
      if (clean && live != s.d.next_key - s.d.first_key)
        fail("check is clean, but dump of \"" + s.name + "\" returned " +
             std::to_string(live) + " records");
      dumped.emplace_back(s.name, std::move(recs));
      ins::tree(f, s.d.index_root, ins::KeyKind::Index);
    }
    ins::tree(f, f.catalog_root(), ins::KeyKind::Catalog);
    ins::freelist(f);
    if (f.page_size() != 0)
      for (std::uint32_t pg = 0; pg < f.file_pages() && pg < 80; ++pg)
        ins::dump_page(f, pg);
    ++(clean ? stats.clean : stats.damaged);
  }

  // The engine, on the same bytes.
  const std::string& path = temp_path();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  klite::Options o;
  o.read_only = true;
  o.create_if_missing = false;
  o.clock = [now] { return now; };
  std::size_t seen_streams = 0;
  try {
    klite::Engine e = klite::Engine::open(path, o);
    klite::ReadTxn t = e.read();
    for (const klite::StreamInfo& si : t.streams()) {
      std::vector<Rec> recs;
      {
        klite::Cursor c = t.cursor(si.name);
        for (bool ok = c.first(); ok; ok = c.next()) {
          const klite::Record& rec = c.record();
          Rec x{rec.key, rec.timestamp, std::string(rec.value), {}};
          for (const klite::Header& h : rec.headers())
            x.headers.emplace_back(std::string(h.name), std::string(h.value));
          recs.push_back(std::move(x));
        }
      }
      {
        klite::Cursor c = t.cursor(si.name);
        for (bool ok = c.last(); ok; ok = c.prev()) {
        }
      }
      if (clean) {
        if (seen_streams >= dumped.size() ||
            dumped[seen_streams].first != si.name)
          fail("check is clean, but the engine lists stream \"" + si.name +
               "\" that dump did not see");
        if (dumped[seen_streams].second != recs)
          fail("check is clean, but the engine and dump disagree on the "
               "records of \"" +
               si.name + "\"");
      }
      ++seen_streams;
    }
    ++stats.engine_ok;
    if (refused)
      fail("the inspector refuses the file, but the engine opens it");
  } catch (const klite::Error& e) {
    if (clean)
      fail(std::string("check is clean, but the engine throws: ") + e.what());
  }
  if (clean && seen_streams != dumped.size())
    fail("check is clean, but the engine saw " + std::to_string(seen_streams) +
         " streams, dump " + std::to_string(dumped.size()));
  return 0;
}
