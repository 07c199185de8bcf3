// Power loss, simulated through the OS layer's fault hook (issue 7): a
// random workload runs until its k-th file operation, where the power
// "fails". The file is then rebuilt as the disk could hold it: every page
// as of the last sync that returned, except that each page written since
// is, at random, as written, as before, or with the bytes written to it
// since the sync turned to garbage, and a size grown since may be lost. That file must open, pass klite::inspect::check, and hold
// exactly the transactions whose commit returned, plus the one in flight
// either whole or not at all.
//
// Why this model is faithful: klite writes with pwrite and flushes with
// fdatasync (docs/ARCHITECTURE.md section 3); until a flush returns, the
// kernel may write back any dirty page, in any order, whole or torn, and
// nothing written after the last flush is sure. Garbage stays within the
// bytes written: like SQLite's default (SQLITE_IOCAP_POWERSAFE_OVERWRITE),
// we assume a write never damages bytes of its sector it did not change,
// which klite relies on when it appends into the unused tail of a
// stream's last data page (docs/ARCHITECTURE.md, invariant 1).
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/inspect.h"
#include "engine/os.h"
#include "fault_util.h"
#include "test_util.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <utility>
#include <string>
#include <vector>

namespace {

using klite::test::HookScope;
using klite::test::Model;
using klite::test::read_model;
using klite::test::Workload;

constexpr std::uint64_t kPage = 4096;

struct Crash {}; // thrown by the hook where the power fails

// Page p of the file at `path` as it is now (shorter at the end of the
// file, empty past it).
std::string read_page(const std::string& path, std::uint64_t p) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(p * kPage));
  std::string page(kPage, '\0');
  in.read(page.data(), static_cast<std::streamsize>(kPage));
  page.resize(static_cast<std::size_t>(in.gcount()));
  return page;
}

// Tracks one file: its bytes as of the last sync, and the pages written
// since. Throws Crash at the crash_at-th operation (0: never), counting
// only syncs if `syncs_only`. With `work`, it also tracks the oldest state
// of it a power loss may leave: the commit the last sync made durable.
class PowerLoss final : public klite::os::FaultHook {
public:
  PowerLoss(std::string path, std::uint64_t crash_at, bool syncs_only = false,
            const Workload* work = nullptr)
      : path_(std::move(path)), crash_at_(crash_at), syncs_only_(syncs_only),
        work_(work), durable_(klite::test::read_file_bytes(path_)) {}

  int before(Op op, const std::string&) override {
    if (crashed_) // the power is off: nothing reaches the file any more
      throw Crash{};
    if (syncs_only_ && op != Op::Sync)
      return 0;
    if (++ops_ == crash_at_) {
      crashed_ = true;
      throw Crash{};
    }
    return 0;
  }
  void wrote(const std::string& path, std::uint64_t off, std::size_t n) override {
    if (path != path_ || n == 0)
      return;
    if (work_ && off < 2 * kPage) // a meta page: that of the commit in flight
      meta_of_ = work_->history.size();
    for (std::uint64_t p = off / kPage; p <= (off + n - 1) / kPage; ++p)
      dirty_[p].emplace_back(std::max(off, p * kPage), std::min(off + n, (p + 1) * kPage));
  }
  void synced(const std::string& path) override {
    if (path != path_)
      return;
    durable_.resize(std::filesystem::file_size(path_));
    for (const auto& [p, ranges] : dirty_)
      if (p * kPage < durable_.size())
        durable_.replace(p * kPage, kPage, read_page(path_, p));
    dirty_.clear();
    ++syncs_;
    if (work_) { // what is durable now: the commit in flight, if it wrote its meta page
      const std::size_t returned = work_->history.size() - 1;
      floor_ = meta_of_ == returned + 1 ? returned + 1 : returned;
    }
  }

  // The oldest entry of the workload's history a power loss now may leave
  // (history.size(): only the commit in flight).
  std::size_t floor() const { return floor_; }

  std::uint64_t ops() const { return ops_; }
  std::uint64_t syncs() const { return syncs_; }

  // One file a power loss now could leave; with `whole`, the one where
  // everything written reached the disk, but the sync had not returned.
  std::string image(klite::test::Rng& rng, bool whole = false) const {
    const std::uint64_t size = std::filesystem::file_size(path_);
    std::string img = durable_;
    if (size > img.size() && (whole || rng.next() % 2 == 0))
      img.resize(size, '\0'); // the grown size reached the disk
    for (const auto& [p, ranges] : dirty_) {
      const std::uint64_t at = p * kPage;
      if (at >= img.size())
        continue;
      const std::uint64_t n = std::min<std::uint64_t>(kPage, img.size() - at);
      switch (whole ? 0 : rng.next() % 3) {
      case 0: { // written
        const std::string page = read_page(path_, p);
        img.replace(at, std::min<std::uint64_t>(n, page.size()), page, 0, n);
        break;
      }
      case 1: // dropped
        break;
      default: // garbage where it was written
        for (const auto& [lo, hi] : ranges)
          for (std::uint64_t i = lo; i < hi && i < img.size(); ++i)
            img[i] = static_cast<char>(rng.next());
      }
    }
    return img;
  }

private:
  std::string path_;
  std::uint64_t crash_at_;
  bool syncs_only_;
  std::uint64_t ops_ = 0; // counted ones
  bool crashed_ = false;
  std::uint64_t syncs_ = 0;
  const Workload* work_;
  std::size_t meta_of_ = 0; // the commit that last wrote a meta page
  std::size_t floor_ = 0;
  std::string durable_;
  // Pages written since the last sync, with the byte ranges written.
  std::map<std::uint64_t, std::vector<std::pair<std::uint64_t, std::uint64_t>>> dirty_;
};

#if defined(KLITE_LONG_TESTS) && KLITE_LONG_TESTS
constexpr bool kLong = true; // every file operation of 12 workloads
#else
constexpr bool kLong = false; // 500 of one workload's, chosen at random
#endif
constexpr std::uint64_t kSeed = 0x5eed;
constexpr int kTxns = 100;

// A file made before any hook, and the runs that crash copies of it.
struct Rig {
  // On tmpfs where there is one: the real fdatasync calls are not what
  // these tests are about, and cost most of their time on a disk.
  klite::test::TempDir dir{std::filesystem::exists("/dev/shm") ? "/dev/shm" : ""};
  std::string base = dir.file("base.klite");
  std::string pristine;
  std::uint64_t seed = kSeed; // of the workload
  int wide = 0;               // Workload's wide transactions
  std::uint64_t crashes = 0, images = 0, in_flight_kept = 0;
  std::uint64_t lost_returned = 0; // images without the last returned commit
  int txns = kTxns;
  int wide_txns = 0; // in the last count()
  klite::Options options; // of the workload's engine

  Rig() {
    klite::Engine::open(base); // Durability::Full; created and synced
    pristine = klite::test::read_file_bytes(base);
  }

  // The workload's file operations (or syncs) when nothing crashes.
  std::uint64_t count(bool syncs_only) {
    std::ofstream(base, std::ios::binary | std::ios::trunc) << pristine;
    PowerLoss counter(base, 0, syncs_only);
    HookScope scope(&counter);
    auto engine = klite::Engine::open(base, options);
    Workload work(seed, wide);
    work.run(engine, txns);
    wide_txns = work.wide_txns;
    return counter.ops();
  }

  // Crashes the workload at operation (or sync) k and checks `variants`
  // images of the file the power loss could leave, the first one with
  // everything written on disk.
  void crash_at(std::uint64_t k, bool syncs_only, int variants) {
    CAPTURE(k);
    std::ofstream(base, std::ios::binary | std::ios::trunc) << pristine;
    Workload work(seed, wide);
    PowerLoss loss(base, k, syncs_only, &work);
    {
      HookScope scope(&loss);
      try {
        auto engine = klite::Engine::open(base, options);
        work.run(engine, txns);
      } catch (const Crash&) {
        ++crashes;
      }
    }
    for (int variant = 0; variant < variants; ++variant, ++images) {
      klite::test::Rng rng(k * 31 + static_cast<std::uint64_t>(variant));
      const std::string img = loss.image(rng, variant == 0);
      const auto report = klite::inspect::check(klite::inspect::File::from_bytes(img));
      CHECK(report.clean());
      const std::string copy = dir.file("crashed.klite");
      std::ofstream(copy, std::ios::binary | std::ios::trunc) << img;
      klite::Options ro;
      ro.read_only = true;
      try {
        auto engine = klite::Engine::open(copy, ro);
        // The last commit the sync made durable, any commit that returned
        // after it (Durability::Normal: Full syncs each), or the one in
        // flight, whole.
        const Model got = read_model(engine);
        const bool committed = got == work.committed;
        const bool in_flight = got == work.in_flight;
        bool returned = false;
        for (std::size_t j = loss.floor(); j < work.history.size(); ++j)
          returned |= got == work.history[j];
        CHECK((returned || in_flight));
        in_flight_kept += in_flight && !committed;
        lost_returned += returned && !committed;
      } catch (const klite::Error& e) {
        FAIL_CHECK("the crashed file does not read: " << e.what());
      }
    }
  }
};

} // namespace

TEST_CASE("Power loss: every crash point leaves the last returned commit, whole") {
  Rig rig;
  std::uint64_t points = 0, ops = 0;
  for (std::uint64_t w = 0; w < (kLong ? 12 : 1); ++w) {
    rig.seed = kSeed + w;
    const std::uint64_t total_ops = rig.count(false);
    REQUIRE(total_ops > 50);
    ops += total_ops;
    klite::test::Rng pick(rig.seed + 1);
    const std::uint64_t n = kLong ? total_ops : std::min<std::uint64_t>(total_ops, 500);
    for (std::uint64_t i = 0; i < n; ++i)
      rig.crash_at(kLong ? i + 1 : 1 + pick.next() % total_ops, false, 3);
    points += n;
  }
  CHECK(rig.crashes == points);
  CHECK(rig.lost_returned == 0);
  MESSAGE("power loss: " << points << " crash points of " << ops << " file operations, "
                         << rig.images << " damaged images checked, " << rig.in_flight_kept
                         << " kept the commit in flight");
}

TEST_CASE("Power loss: a crash at every sync, several damage variants each") {
  Rig rig;
  const std::uint64_t syncs = rig.count(true);
  // One per commit, and one before the first: the engine did not sync the
  // commit it opened the file at (FORMAT.md section 12).
  REQUIRE(syncs == static_cast<std::uint64_t>(kTxns) + 1);
  for (std::uint64_t k = 1; k <= syncs; ++k)
    rig.crash_at(k, true, 4);
  CHECK(rig.crashes == syncs);
  CHECK(rig.lost_returned == 0);
  MESSAGE("power loss at every sync: " << syncs << " syncs, " << rig.images
                                       << " damaged images checked, " << rig.in_flight_kept
                                       << " kept the commit in flight");
}

TEST_CASE("Power loss: commits too big to list sync twice, and are as safe") {
  Rig rig;
  rig.wide = 300; // 300 streams' tail pages: more ranges than a meta page holds
  rig.txns = 40;
  const std::uint64_t syncs = rig.count(true);
  // A wide commit writes to 300 streams' tail pages, at least one range
  // each: too many to list, so it syncs twice.
  REQUIRE(rig.wide_txns >= 2);
  CHECK(syncs == static_cast<std::uint64_t>(rig.txns + 1 + rig.wide_txns));
  const std::uint64_t ops = rig.count(false);
  klite::test::Rng pick(kSeed + 7);
  const std::uint64_t n = kLong ? ops : 150;
  for (std::uint64_t i = 0; i < n; ++i)
    rig.crash_at(kLong ? i + 1 : 1 + pick.next() % ops, false, 2);
  for (std::uint64_t k = 1; k <= syncs; ++k)
    rig.crash_at(k, true, 2);
  CHECK(rig.crashes == n + syncs);
  CHECK(rig.lost_returned == 0);
  MESSAGE("power loss with wide commits: " << n << " crash points of " << ops
                                           << " file operations and every one of " << syncs
                                           << " syncs, " << rig.images << " damaged images checked, "
                                           << rig.in_flight_kept << " kept the commit in flight");
}

TEST_CASE("Power loss: Durability::Normal loses at most the commits since the last sync, never the file") {
  Rig rig;
  rig.options.durability = klite::Durability::Normal;
  SUBCASE("syncs only when the lists fill") {
    rig.options.sync_interval = std::chrono::hours(1);
    SUBCASE("small commits") {}
    SUBCASE("with commits too big to list") {
      rig.wide = 300;
      rig.txns = 40;
    }
    const std::uint64_t ops = rig.count(false);
    const std::uint64_t syncs = rig.count(true);
    CHECK(syncs < static_cast<std::uint64_t>(rig.txns) / 2); // shared by many commits
    klite::test::Rng pick(kSeed + 11);
    const std::uint64_t n = kLong ? ops : std::min<std::uint64_t>(ops, 200);
    for (std::uint64_t i = 0; i < n; ++i)
      rig.crash_at(kLong ? i + 1 : 1 + pick.next() % ops, false, 3);
    for (std::uint64_t k = 1; k <= syncs; ++k)
      rig.crash_at(k, true, 3);
    CHECK(rig.crashes == n + syncs);
    // Normal's loss happens, so a wrong one would be seen.
    CHECK(rig.lost_returned > 0);
    MESSAGE("power loss, Durability::Normal: " << n << " crash points of " << ops
                                               << " file operations, " << syncs << " syncs, "
                                               << rig.images << " damaged images, "
                                               << rig.lost_returned
                                               << " lost commits that had returned");
  }
  SUBCASE("an interval of zero loses nothing that returned") {
    rig.options.sync_interval = std::chrono::milliseconds(0);
    const std::uint64_t ops = rig.count(false);
    klite::test::Rng pick(kSeed + 12);
    for (int i = 0; i < 150; ++i)
      rig.crash_at(1 + pick.next() % ops, false, 2);
    CHECK(rig.lost_returned == 0);
  }
}
