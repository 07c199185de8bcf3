// klite-bench: klite against SQLite, LMDB and RocksDB on the same
// workloads, in one process run (issue 6). README.md "Benchmarks" has the
// latest figures; each engine's configuration is documented at the top of
// its file (klite.cpp, sqlite.cpp, lmdb.cpp, rocksdb.cpp).
//
// Workloads, run in this order (but W2 first: see there); inside each, the
// engines alternate (klite, sqlite, lmdb, rocksdb, then klite's extra
// variants) so machine drift hits all alike:
//   W1 append      --records x 100 B and --records-1k x 1 KiB, --batch
//                  records per transaction, no sync per commit. Timed: open,
//                  appends, commits, close; not timed: making each batch's
//                  payloads (done between transactions, clock paused).
//   W2 durable     --commits single-record transactions per engine with full
//                  durability (commit returns once on stable storage);
//                  commits/s and p50/p99 commit latency, of 100 B records
//                  and (W2 durable 4 KiB) of 4 KiB ones; klite and SQLite
//                  also with Normal durability; klite with 1, 4 and 16
//                  threads sharing one Engine (commits that arrive while a
//                  sync runs share the next one: group commit), each
//                  record a WriteTxn, and each an Engine::append.
//   W3 get         reopen (untimed), then --gets uniformly random gets over
//                  the 100 B records, one key sequence for every engine.
//   W4/W5 scan     reopen (untimed), then every record forward (W4) and
//                  backward (W5), every value read; klite with record CRCs
//                  verified and not.
//   W6 space       allocated bytes (st_blocks) of every data and log file
//                  after the engine settles / payload bytes, 100 B and 1 KiB.
//   W8 time        klite and SQLite (an index on ts, klite's timestamps):
//                  --time-ops random `GET 10 AFTER TIME t` and `GET LAST 10`,
//                  each op its own read transaction, every value verified.
//   W9 window      the W1 100 B appends into a window of the newest
//                  --records / 10: every transaction also drops what fell
//                  out of it (klite: Retention::max_records; SQLite DELETE
//                  k < ?; LMDB cursor deletes; RocksDB DeleteRange); then
//                  the files' space over the window's payload, settled as
//                  in W6: what a bounded journal costs, and whether the
//                  engine gives the space back.
//   W7 query layer klite only: appends through the native API, a prepared
//                  `ADD ?` (bound with Keep::Borrow and with Keep::Copy)
//                  and exec() of a fresh string; then W4's scan in chunks
//                  of --batch records through a cursor, a prepared
//                  `GET ? AFTER ?` and exec() of a fresh `GET n AFTER k`;
//                  ratios to native.
//
// --rounds N repeats each workload (but W2) N times, the engines still
// alternating within every round, and keeps each row's fastest run; on a
// machine shared with builds that is the run least disturbed by them.
//
// Payloads: incompressible pseudo-random bytes whose first 8 bytes are the
// key (DataSet in bench.h); every read checks the key, every
// --sample-every'th read all bytes. Nothing is synced except in W2, so
// apart from W2 this measures CPU cost and write amplification through the
// OS page cache, not the disk.
//
// Disk and memory: a run keeps the 100 B files of every engine to the end
// (about 1.2x payload each, plus klite's per-record file and the W8 SQLite
// copy: ~7x records x 100 B in all; 100M records need ~75 GB, so run
// --workloads to pick what fits); the 1 KiB files are deleted after W6.
// Memory is O(--batch), not O(--records), except W7 (min(records, 1M)).
#include "tools/bench/bench.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <unistd.h>

namespace kbench {
namespace {

[[noreturn]] void usage(const char* argv0, int code) {
  std::fprintf(
      code ? stderr : stdout,
      "usage: %s [options]\n"
      "  --records N      100 B records for W1/W3-W6/W8 (default 1000000)\n"
      "  --records-1k N   1 KiB records for W1/W6 (default: --records)\n"
      "  --gets N         random gets in W3 (default: --records)\n"
      "  --commits N      durable single-record commits in W2 (default 2000)\n"
      "  --time-ops N     W8 operations per form (default 100000)\n"
      "  --w7-records N   records in W7 (default: min(--records, 1000000))\n"
      "  --batch B        records per write transaction (default 1000)\n"
      "  --rounds N       run each workload N times, engines alternating,\n"
      "                   and keep each one's fastest (default 1; not W2)\n"
      "  --seed S         payload and key-sequence seed (default 42)\n"
      "  --sample-every K compare all bytes of every K-th read (default 64)\n"
      "  --engines LIST   klite,sqlite,lmdb,rocksdb (default: all)\n"
      "  --workloads LIST 1,2,...,9 (default: all)\n"
      "  --dir DIR        work directory (default: a new one under /tmp)\n"
      "  --keep           keep the database files\n"
      "  --json           also print the results as JSON\n",
      argv0);
  std::exit(code);
}

std::uint64_t parse_u64(const char* s, const char* what) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0')
    throw std::runtime_error(std::string("bad number for ") + what + ": " + s);
  return v;
}

// Calls `each` with every comma-separated item of `list`.
template <class F> void for_each_item(std::string_view list, F each) {
  while (!list.empty()) {
    auto comma = list.find(',');
    each(list.substr(0, comma));
    list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
  }
}

Config parse_args(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc)
        usage(argv[0], 2);
      return argv[++i];
    };
    if (a == "--records")
      c.records = parse_u64(value(), "--records");
    else if (a == "--records-1k")
      c.records_1k = parse_u64(value(), "--records-1k");
    else if (a == "--gets")
      c.gets = parse_u64(value(), "--gets");
    else if (a == "--commits")
      c.commits = parse_u64(value(), "--commits");
    else if (a == "--time-ops")
      c.time_ops = parse_u64(value(), "--time-ops");
    else if (a == "--w7-records")
      c.w7_records = parse_u64(value(), "--w7-records");
    else if (a == "--batch")
      c.batch = parse_u64(value(), "--batch");
    else if (a == "--rounds")
      c.rounds = parse_u64(value(), "--rounds");
    else if (a == "--seed")
      c.seed = parse_u64(value(), "--seed");
    else if (a == "--sample-every")
      c.sample_every = parse_u64(value(), "--sample-every");
    else if (a == "--dir")
      c.dir = value();
    else if (a == "--keep")
      c.keep = true;
    else if (a == "--json")
      c.json = true;
    else if (a == "--engines") {
      for (bool& e : c.engines)
        e = false;
      for_each_item(value(), [&](std::string_view name) {
        for (int f = 0; f < kFamilies; ++f)
          if (name == family_name(static_cast<Family>(f))) {
            c.engines[f] = true;
            return;
          }
        throw std::runtime_error("unknown engine: " + std::string(name));
      });
    } else if (a == "--workloads") {
      for (bool& w : c.workloads)
        w = false;
      for_each_item(value(), [&](std::string_view w) {
        if (w.size() == 2 && (w[0] == 'W' || w[0] == 'w'))
          w.remove_prefix(1);
        if (w.size() != 1 || w[0] < '1' || w[0] > '9')
          throw std::runtime_error("unknown workload: " + std::string(w));
        c.workloads[w[0] - '0'] = true;
      });
    } else if (a == "-h" || a == "--help")
      usage(argv[0], 0);
    else
      usage(argv[0], 2);
  }
  if (c.records == 0 || c.batch == 0 || c.sample_every == 0 || c.commits == 0 ||
      c.time_ops == 0)
    usage(argv[0], 2);
  if (c.records_1k == 0)
    c.records_1k = c.records;
  if (c.gets == 0)
    c.gets = c.records;
  if (c.w7_records == 0)
    c.w7_records = std::min<std::uint64_t>(c.records, 1'000'000);
  return c;
}

std::string first_line(const char* file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "?";
}

// The engines' files, one directory per engine and data set.
struct Paths {
  fs::path root;
  fs::path klite(const char* set) const { return root / set / "klite.klite"; }
  fs::path klite_single() const {
    return root / "100" / "klite-per-record.klite";
  }
  fs::path sqlite(const char* set) const { return root / set / "sqlite.db"; }
  fs::path lmdb(const char* set) const { return root / set / "lmdb"; }
  fs::path rocksdb(const char* set) const { return root / set / "rocksdb"; }
  fs::path w7(const char* variant) const {
    return root / "w7" / (std::string(variant) + ".klite");
  }
};
constexpr const char* kSets[] = {"100", "1k", "w2", "w2-4k", "w7", "w8", "w9"};

// Removes a file or directory tree, if it is there.
void fresh(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

// The jobs of one workload, one per engine or variant in table order.
// run() runs them `rounds` times, alternating (every job once per round,
// in order), and keeps each job's fastest run: on a shared machine the
// fastest run is the one least disturbed by others.
class Group {
public:
  void add(bool on, std::function<Result()> job) {
    if (on)
      jobs_.push_back(std::move(job));
  }
  std::vector<Result> run(std::uint64_t rounds) const {
    std::vector<std::optional<Result>> best(jobs_.size());
    for (std::uint64_t round = 0; round < rounds; ++round)
      for (std::size_t i = 0; i < jobs_.size(); ++i) {
        Result r = jobs_[i]();
        if (!best[i] || r.seconds < best[i]->seconds)
          best[i] = std::move(r);
      }
    std::vector<Result> out;
    for (auto& b : best)
      out.push_back(std::move(*b));
    return out;
  }

private:
  std::vector<std::function<Result()>> jobs_;
};

int run(const Config& c) {
  bool own_dir = c.dir.empty();
  Paths paths;
  if (own_dir) {
    std::string tmpl =
        (fs::temp_directory_path() / "klite-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed: " + tmpl);
    paths.root = tmpl;
  } else {
    paths.root = c.dir;
    fs::create_directories(paths.root);
    for (const char* sub : kSets)
      if (fs::exists(paths.root / sub))
        throw std::runtime_error((paths.root / sub).string() +
                                 " exists; give an empty --dir");
  }
  for (const char* sub : kSets)
    fs::create_directories(paths.root / sub);

  struct Cleanup {
    fs::path root;
    bool remove_root;
    bool keep;
    ~Cleanup() {
      if (keep)
        return;
      std::error_code ec;
      for (const char* sub : kSets)
        fs::remove_all(root / sub, ec);
      if (remove_root)
        fs::remove(root, ec);
    }
  } cleanup{paths.root, own_dir, c.keep};

#ifndef NDEBUG
  std::fprintf(stderr, "warning: assertions are on; build with "
                       "-DCMAKE_BUILD_TYPE=Release for meaningful figures\n");
#endif
  const std::string load_start = first_line("/proc/loadavg");
  std::fprintf(stderr,
               "klite-bench: %" PRIu64 " x 100 B, %" PRIu64
               " x 1 KiB, %zu per txn, %" PRIu64 " gets, %" PRIu64
               " durable commits, %" PRIu64 " W8 ops, dir %s\n",
               c.records, c.records_1k, c.batch, c.gets, c.commits, c.time_ops,
               paths.root.c_str());
  std::fprintf(stderr, "  SQLite %s, %s, RocksDB %s; %s, %u CPUs, load %s\n",
               sqlite_version(), lmdb_version(), rocksdb_version().c_str(),
               cpu_model().c_str(), std::thread::hardware_concurrency(),
               load_start.c_str());

  std::vector<Result> rs;
  auto add = [&](Result r) {
    std::fprintf(stderr, "  %-21s %-37s %8.3f s\n", r.workload.c_str(),
                 r.variant.c_str(), r.seconds);
    rs.push_back(std::move(r));
  };
  auto run_group = [&](const Group& g, bool report) {
    for (auto& r : g.run(c.rounds))
      if (report)
        add(std::move(r));
  };
  auto want = [&](Family f) { return c.engines[static_cast<int>(f)]; };
  const bool K = want(Family::Klite), S = want(Family::SQLite),
             L = want(Family::LMDB), R = want(Family::RocksDB);
  const bool* W = c.workloads;
  // W6 and W9: the space each engine's files of `set` take, settled
  // first, over the payload of `d`.
  auto space_rows = [&](const std::string& ws, const char* set,
                        const DataSet& d, const char* klite_variant) {
    if (K)
      rs.push_back(space_result(ws, Family::Klite, klite_variant, d,
                                {paths.klite(set)}));
    if (S) {
      sqlite_settle(paths.sqlite(set));
      rs.push_back(space_result(ws, Family::SQLite,
                                "sqlite (db + wal, checkpointed)", d,
                                sqlite_files(paths.sqlite(set))));
    }
    if (L)
      rs.push_back(space_result(ws, Family::LMDB, "lmdb (data.mdb)", d,
                                lmdb_files(paths.lmdb(set))));
    if (R) {
      rocksdb_settle(paths.rocksdb(set));
      rs.push_back(space_result(ws, Family::RocksDB,
                                "rocksdb (flushed; sst, wal, manifest)", d,
                                rocksdb_files(paths.rocksdb(set))));
    }
  };

  const DataSet data(c.records, 100, c.seed);
  const DataSet data_1k(c.records_1k, 1024, c.seed);

  // W2: durable single-record commits, each engine on a new file, one
  // round only (its p50/p99 already summarize --commits samples). It runs
  // first, after a sync: behind W1's ~1.4 GB of unsynced files the disk
  // is still writing back for the first runs' flushes (klite, first,
  // measured 0.72x SQLite there against 0.94x-1.00x alone).
  if (W[2]) {
    ::sync();
    // Every engine's Full commits of `data` on the files of `set`, as
    // rows of `workload`.
    auto durable_rows = [&](const DataSet& data, const char* set,
                            const char* workload) {
      auto put = [&](Result r) {
        r.workload = workload;
        add(std::move(r));
      };
      if (K)
        put(klite_durable(data, paths.klite(set), false));
      if (S)
        put(sqlite_durable(data, paths.sqlite(set), false));
      if (L)
        put(lmdb_durable(data, paths.lmdb(set)));
      if (R)
        put(rocksdb_durable(data, paths.rocksdb(set)));
    };
    const DataSet commits(c.commits, 100, c.seed);
    durable_rows(commits, "w2", "W2 durable commit");
    if (K) {
      fresh(paths.klite("w2"));
      add(klite_durable(commits, paths.klite("w2"), true));
    }
    if (S) {
      fresh(paths.sqlite("w2"));
      add(sqlite_durable(commits, paths.sqlite("w2"), true));
    }
    if (K)
      for (bool one_shot : {false, true})
        for (unsigned threads : {1u, 4u, 16u}) {
          fresh(paths.klite("w2")); // each on a new file, as above
          add(klite_durable_threads(commits, paths.klite("w2"), threads,
                                    one_shot));
        }
    // Events of 4 KiB: each commit fills about a page, so the files grow
    // with every commit (klite's 100 B commits mostly rewrite its tail
    // page, SQLite's its WAL).
    durable_rows(DataSet(c.commits, 4096, c.seed), "w2-4k", "W2 durable 4 KiB");
    fresh(paths.root / "w2");
    fresh(paths.root / "w2-4k");
  }

  // W1 100 B: its files feed W3-W8, so they are written whenever one of
  // those runs (and reported only for W1). Each round rewrites them.
  if (W[1] || W[3] || W[4] || W[5] || W[6] || W[7] || W[8]) {
    const std::string w = "W1 append 100 B";
    Group g;
    g.add(K, [&] {
      fresh(paths.klite("100"));
      return klite_append_batch(w, c, data, paths.klite("100"));
    });
    g.add(S, [&] {
      fresh(paths.sqlite("100"));
      return sqlite_append(w, c, data, paths.sqlite("100"));
    });
    g.add(L, [&] {
      fresh(paths.lmdb("100"));
      return lmdb_append(w, c, data, paths.lmdb("100"));
    });
    g.add(R, [&] {
      fresh(paths.rocksdb("100"));
      return rocksdb_append(w, c, data, paths.rocksdb("100"));
    });
    g.add(K && W[1], [&] {
      fresh(paths.klite_single());
      return klite_append_single(w, c, data, paths.klite_single());
    });
    run_group(g, W[1]);
  }

  // W1 1 KiB, then W6 1 KiB at once so the files can go.
  if (W[1] || W[6]) {
    const std::string w = "W1 append 1 KiB";
    Group g;
    g.add(K, [&] {
      fresh(paths.klite("1k"));
      return klite_append_batch(w, c, data_1k, paths.klite("1k"));
    });
    g.add(S, [&] {
      fresh(paths.sqlite("1k"));
      return sqlite_append(w, c, data_1k, paths.sqlite("1k"));
    });
    g.add(L, [&] {
      fresh(paths.lmdb("1k"));
      return lmdb_append(w, c, data_1k, paths.lmdb("1k"));
    });
    g.add(R, [&] {
      fresh(paths.rocksdb("1k"));
      return rocksdb_append(w, c, data_1k, paths.rocksdb("1k"));
    });
    run_group(g, W[1]);
    if (W[6])
      space_rows("W6 space 1 KiB", "1k", data_1k, "klite");
    fresh(paths.root / "1k");
  }

  // W3: every reader reopens its engine first.
  if (W[3]) {
    const fs::path kp = paths.klite("100");
    Group g;
    g.add(K, [&] { return klite_get_txn(c, data, kp, true); });
    g.add(S, [&] { return sqlite_get(c, data, paths.sqlite("100")); });
    g.add(L, [&] { return lmdb_get(c, data, paths.lmdb("100")); });
    g.add(R, [&] { return rocksdb_get(c, data, paths.rocksdb("100")); });
    g.add(K, [&] { return klite_get_txn(c, data, kp, false); });
    g.add(K, [&] { return klite_get_engine(c, data, kp); });
    run_group(g, true);
  }

  // W4 forward, W5 backward.
  for (bool fwd : {true, false}) {
    if (!W[fwd ? 4 : 5])
      continue;
    const fs::path kp = paths.klite("100");
    Group g;
    g.add(K, [&] { return klite_scan(c, data, kp, fwd, true); });
    g.add(S, [&] { return sqlite_scan(c, data, paths.sqlite("100"), fwd); });
    g.add(L, [&] { return lmdb_scan(c, data, paths.lmdb("100"), fwd); });
    g.add(R, [&] { return rocksdb_scan(c, data, paths.rocksdb("100"), fwd); });
    g.add(K, [&] { return klite_scan(c, data, kp, fwd, false); });
    run_group(g, true);
  }

  // W6 100 B: everything is closed by now. Lock files (fixed size, no
  // data) are left out; every file that holds data or a log is in.
  if (W[6]) {
    const std::string ws = "W6 space 100 B";
    space_rows(ws, "100", data, "klite (append_batch)");
    if (K && W[1])
      rs.push_back(space_result(ws, Family::Klite, "klite (append per record)",
                                data, {paths.klite_single()}));
  }

  // W8: SQLite gets a copy of klite's records with klite's timestamps
  // (untimed); both answer the same random times, and must agree.
  if (W[8] && K) {
    TimeRange range = klite_time_range(paths.klite("100"));
    if (S)
      sqlite_build_time_table(c, paths.klite("100"), paths.sqlite("w8"));
    const fs::path kp = paths.klite("100");
    const fs::path sp = paths.sqlite("w8");
    Group after, last;
    after.add(true, [&] {
      return klite_after_time(c, data, kp, range, Api::Native);
    });
    after.add(S, [&] { return sqlite_after_time(c, data, sp, range); });
    after.add(true, [&] {
      return klite_after_time(c, data, kp, range, Api::Prepared);
    });
    after.add(true, [&] {
      return klite_after_time(c, data, kp, range, Api::Exec);
    });
    last.add(true, [&] { return klite_last10(c, data, kp, Api::Native); });
    last.add(S, [&] { return sqlite_last10(c, data, sp); });
    last.add(true,
             [&] { return klite_last10(c, data, kp, Api::Prepared); });
    last.add(true, [&] { return klite_last10(c, data, kp, Api::Exec); });
    run_group(after, true);
    run_group(last, true);
    // Every W8 row of one form read the same records.
    for (const auto& a : rs)
      for (const auto& b : rs)
        if (a.workload == b.workload && a.workload.rfind("W8", 0) == 0 &&
            a.key_sum != b.key_sum)
          throw std::runtime_error(a.workload + ": " + a.variant + " and " +
                                   b.variant + " read different records");
  }

  // W9: as W1 100 B, but keeping only a window of the newest records.
  if (W[9]) {
    const std::uint64_t keep = std::max<std::uint64_t>(c.records / 10, 1);
    const DataSet window(keep, 100, c.seed);
    const std::string w = "W9 windowed append";
    Group g;
    g.add(K, [&] {
      fresh(paths.klite("w9"));
      return klite_append_batch(w, c, data, paths.klite("w9"), keep);
    });
    g.add(S, [&] {
      fresh(paths.sqlite("w9"));
      return sqlite_append(w, c, data, paths.sqlite("w9"), keep);
    });
    g.add(L, [&] {
      fresh(paths.lmdb("w9"));
      return lmdb_append(w, c, data, paths.lmdb("w9"), keep);
    });
    g.add(R, [&] {
      fresh(paths.rocksdb("w9"));
      return rocksdb_append(w, c, data, paths.rocksdb("w9"), keep);
    });
    run_group(g, true);
    space_rows("W9 space, window", "w9", window, "klite");
    fresh(paths.root / "w9");
  }

  // W7 (klite only): native and prepared (binding by borrowing and by
  // copying) alternate for five rounds, each on a new file, and the best
  // round of each counts (single runs of ~0.15 s vary by +-20% here with
  // file growth and page-cache state).
  if (W[7] && K) {
    const DataSet w7(c.w7_records, 100, c.seed);
    const std::function<Result()> variants[] = {
        [&] { return klite_w7_native(w7, paths.w7("native")); },
        [&] {
          return klite_w7_prepared(w7, paths.w7("borrow"),
                                   klite::Keep::Borrow);
        },
        [&] {
          return klite_w7_prepared(w7, paths.w7("copy"), klite::Keep::Copy);
        }};
    std::optional<Result> best[3];
    for (std::size_t round = 0; round < 5; ++round) {
      for (std::size_t k = 0; k < 3; ++k) { // each round starts elsewhere
        const std::size_t i = (round + k) % 3;
        Result r = variants[i]();
        if (!best[i] || r.seconds < best[i]->seconds)
          best[i] = r;
      }
      for (const char* v : {"native", "borrow", "copy"})
        fs::remove(paths.w7(v));
    }
    for (const std::optional<Result>& b : best)
      add(*b);
    add(klite_w7_exec(w7, paths.w7("exec")));

    // W4 through the same three forms, on W1's 100 B file.
    const fs::path kp = paths.klite("100");
    Group scan;
    for (Api api : {Api::Native, Api::Prepared, Api::Exec})
      scan.add(true, [&, api] { return klite_w7_scan(c, data, kp, api); });
    run_group(scan, true);
    const std::uint64_t n = data.records();
    for (const auto& r : rs)
      if (r.workload == "W7 query layer, scan" && r.key_sum != n * (n + 1) / 2)
        throw std::runtime_error(r.variant + " read other keys than 1.." +
                                 std::to_string(n));
  }

  const std::string load_end = first_line("/proc/loadavg");
  std::fprintf(stderr, "  load at the end: %s\n", load_end.c_str());
  print_table(c, rs);
  if (c.json) {
    std::printf("\n");
    print_json(c, rs,
               cpu_model() + ", " +
                   std::to_string(std::thread::hardware_concurrency()) +
                   " CPUs, loadavg at start " + load_start + ", at end " +
                   load_end);
  }
  return 0;
}

} // namespace
} // namespace kbench

int main(int argc, char** argv) {
  try {
    return kbench::run(kbench::parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "klite-bench: %s\n", e.what());
    return 1;
  }
}
