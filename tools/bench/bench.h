// What every part of klite-bench shares: the configuration, the data set
// (payloads made from the key), read verification, results and timing, and
// the workload functions of each engine (one .cpp per engine).
//
// Layout: bench.cpp defines what this header declares outside the engine
// sections; main.cpp parses the command line and runs the workloads in order
// (engines alternating); report.cpp prints the table and the JSON;
// klite.cpp, sqlite.cpp, lmdb.cpp and rocksdb.cpp hold one engine each,
// with that engine's configuration documented at the top.
#pragma once

#include "tools/bench/stats.h"

#include <klite/statement.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Workload functions stay out of line so a profile (perf, callgrind) can
// attribute every sample to the workload and engine that caused it.
#define KLITE_BENCH_WORKLOAD [[gnu::noinline]]

namespace kbench {

namespace fs = std::filesystem;

inline constexpr std::string_view kStream = "bench";

// --- configuration ----------------------------------------------------------

enum class Family { Klite, SQLite, LMDB, RocksDB };
inline constexpr int kFamilies = 4;
const char* family_name(Family f);

struct Config {
  std::uint64_t records = 1'000'000; // W1 100 B, W3, W4/W5, W6, W8
  std::uint64_t records_1k = 0;      // W1/W6 1 KiB; 0: as many as records
  std::uint64_t gets = 0;            // W3; 0: as many as records
  std::uint64_t commits = 2000;      // W2, per engine
  std::uint64_t time_ops = 100'000;  // W8, per form and engine
  std::uint64_t w7_records = 0;      // W7; 0: min(records, 1M)
  std::size_t batch = 1000;          // records per write transaction
  std::uint64_t rounds = 1;          // best of N runs per workload (not W2)
  std::uint64_t seed = 42;
  std::uint64_t sample_every = 64; // full-byte verification of every n-th read
  std::string dir;                 // empty: a fresh temp dir under /tmp
  bool keep = false;
  bool json = false;
  bool engines[kFamilies] = {true, true, true, true}; // indexed by Family
  bool workloads[10] = {false, true, true, true, true,
                        true,  true, true, true, true}; // [1..9]
};

// --- data set ---------------------------------------------------------------

// The payload of key k (1-based), the same for every engine: k
// little-endian in the first 8 bytes, then pseudo-random (incompressible)
// bytes that depend only on (seed, k). Payloads are made on demand instead
// of held in memory, so 100M records need no 10 GB buffer: writers fill one
// batch at a time outside the timed region (Batch below); readers remake a
// payload only for the sampled full-byte comparison (Verifier), inside the
// timed region, which costs each engine alike (~20 ns / 64 reads at 100 B).
class DataSet {
public:
  DataSet(std::uint64_t records, std::size_t value_size, std::uint64_t seed)
      : n_(records), size_(value_size), seed_(seed) {}
  std::uint64_t records() const { return n_; }
  std::size_t value_size() const { return size_; }
  std::uint64_t payload_bytes() const { return n_ * size_; }
  // Writes the value_size() bytes of key's payload to `out`.
  void fill(std::uint64_t key, char* out) const;

private:
  std::uint64_t n_;
  std::size_t size_;
  std::uint64_t seed_;
};

// Payloads of the keys [first, end) side by side, for one write batch.
class Batch {
public:
  Batch(const DataSet& data, std::size_t max_records)
      : data_(data), buf_(max_records * data.value_size()) {
    views_.reserve(max_records);
  }
  // REQUIRES: end - first <= max_records.
  void load(std::uint64_t first, std::uint64_t end);
  const std::vector<std::string_view>& views() const { return views_; }
  std::string_view value(std::uint64_t i) const { return views_[i]; }

private:
  const DataSet& data_;
  std::vector<char> buf_;
  std::vector<std::string_view> views_;
};

// Verification shared by every engine's reader: the size and the key in
// the first 8 bytes of every value read, all bytes of every
// sample_every-th one. Throws std::runtime_error naming the engine.
class Verifier {
public:
  Verifier(const DataSet& data, std::uint64_t sample_every)
      : data_(data), sample_every_(sample_every), scratch_(data.value_size()) {}
  void check(std::uint64_t key, const void* p, std::size_t n,
             const char* engine);
  std::uint64_t reads() const { return reads_; }
  [[noreturn]] static void fail(const char* engine, std::uint64_t key,
                                const std::string& why);

private:
  const DataSet& data_;
  std::uint64_t sample_every_;
  std::uint64_t reads_ = 0;
  std::vector<char> scratch_;
};

void put_u64le(char* p, std::uint64_t v);
std::uint64_t get_u64le(const void* p);

// --- results ----------------------------------------------------------------

struct Result {
  Result(std::string workload_, Family family_, std::string variant_,
         std::uint64_t ops_ = 0, std::uint64_t bytes_ = 0, double seconds_ = 0)
      : workload(std::move(workload_)), family(family_),
        variant(std::move(variant_)), ops(ops_), bytes(bytes_),
        seconds(seconds_) {}

  std::string workload; // "W1 append 100 B": rows with the same one compare
  Family family;
  std::string variant; // "klite append_batch"
  std::uint64_t ops = 0;
  std::uint64_t bytes = 0; // payload bytes moved
  double seconds = 0;
  // W2: commit latency percentiles, microseconds (0: not measured)
  double p50_us = 0;
  double p99_us = 0;
  // W6: space
  bool space = false;
  std::uint64_t disk_bytes = 0;
  std::uint64_t apparent_bytes = 0;
  // W7 scan and W8: the sum of the keys read, which every row must agree on
  std::uint64_t key_sum = 0;
  // A row that cannot be measured yet, and why (printed instead of numbers)
  std::string unavailable;

  double ops_per_s() const { return seconds > 0 ? ops / seconds : 0; }
  double mb_per_s() const { return seconds > 0 ? bytes / seconds / 1e6 : 0; }
  double amplification() const {
    return bytes ? static_cast<double>(disk_bytes) / bytes : 0;
  }
};

// A stopwatch that can pause, so untimed work (making the next batch's
// payloads) can sit inside a timed loop.
class Stopwatch {
public:
  using clock = std::chrono::steady_clock;
  void start() { t0_ = clock::now(); }
  void stop() { total_ += clock::now() - t0_; }
  double seconds() const {
    return std::chrono::duration<double>(total_).count();
  }

private:
  clock::time_point t0_{};
  clock::duration total_{};
};

// Allocated bytes (st_blocks * 512) and apparent bytes of files; missing
// files count zero.
Result space_result(std::string workload, Family f, std::string variant,
                    const DataSet& data, const std::vector<fs::path>& files);

// Latency percentiles of W2's samples (seconds) into `r`.
void set_latencies(Result& r, std::vector<double> samples);

// W8's random times: `ops` uniform timestamps in [first, last], µs.
struct TimeRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

// ============================================================================
// The workloads of each engine. `path` is a file for klite and SQLite and a
// directory for LMDB and RocksDB. W1 functions time open, appends and close;
// readers open untimed, then time the reads. The names say what they run.
// The append functions take `keep` for W9: with keep > 0 each transaction
// also drops the records that fall out of a window of the newest `keep`,
// the engine's best way (klite: Retention::max_records).
// ============================================================================

// klite.cpp
Result klite_append_batch(const std::string& workload, const Config& c,
                          const DataSet& data, const fs::path& path,
                          std::uint64_t keep = 0);
Result klite_append_single(const std::string& workload, const Config& c,
                           const DataSet& data, const fs::path& path);
Result klite_durable(const DataSet& data, const fs::path& path, bool normal);
Result klite_durable_threads(const DataSet& data, const fs::path& path,
                             unsigned threads, bool one_shot);
Result klite_get_txn(const Config& c, const DataSet& data, const fs::path& path,
                     bool verify_crc);
Result klite_get_engine(const Config& c, const DataSet& data,
                        const fs::path& path);
Result klite_scan(const Config& c, const DataSet& data, const fs::path& path,
                  bool forward, bool verify_crc);
TimeRange klite_time_range(const fs::path& path);
// Calls `each(key, timestamp, value)` for every record, in key order.
void klite_export(const fs::path& path,
                  const std::function<void(std::uint64_t key, std::uint64_t ts,
                                           std::string_view value)>& each);
// W7 and W8: the same reads through the native API, a prepared statement
// and exec() of a fresh query string.
enum class Api { Native, Prepared, Exec };
Result klite_after_time(const Config& c, const DataSet& data,
                        const fs::path& path, TimeRange range, Api api);
Result klite_last10(const Config& c, const DataSet& data, const fs::path& path,
                    Api api);
Result klite_w7_native(const DataSet& data, const fs::path& path);
Result klite_w7_prepared(const DataSet& data, const fs::path& path,
                         klite::Keep keep); // Copy or Borrow
Result klite_w7_exec(const DataSet& data, const fs::path& path);
Result klite_w7_scan(const Config& c, const DataSet& data, const fs::path& path,
                     Api api);

// sqlite.cpp
Result sqlite_append(const std::string& workload, const Config& c,
                     const DataSet& data, const fs::path& path,
                     std::uint64_t keep = 0);
Result sqlite_durable(const DataSet& data, const fs::path& path, bool normal);
Result sqlite_get(const Config& c, const DataSet& data, const fs::path& path);
Result sqlite_scan(const Config& c, const DataSet& data, const fs::path& path,
                   bool forward);
void sqlite_settle(const fs::path& path);
std::vector<fs::path> sqlite_files(const fs::path& path);
// W8: a copy of klite's records with their timestamps, indexed on ts.
void sqlite_build_time_table(const Config& c, const fs::path& klite_path,
                             const fs::path& path);
Result sqlite_after_time(const Config& c, const DataSet& data,
                         const fs::path& path, TimeRange range);
Result sqlite_last10(const Config& c, const DataSet& data,
                     const fs::path& path);
const char* sqlite_version();

// lmdb.cpp
Result lmdb_append(const std::string& workload, const Config& c,
                   const DataSet& data, const fs::path& dir,
                   std::uint64_t keep = 0);
Result lmdb_durable(const DataSet& data, const fs::path& dir);
Result lmdb_get(const Config& c, const DataSet& data, const fs::path& dir);
Result lmdb_scan(const Config& c, const DataSet& data, const fs::path& dir,
                 bool forward);
std::vector<fs::path> lmdb_files(const fs::path& dir);
const char* lmdb_version();

// rocksdb.cpp
Result rocksdb_append(const std::string& workload, const Config& c,
                      const DataSet& data, const fs::path& dir,
                      std::uint64_t keep = 0);
Result rocksdb_durable(const DataSet& data, const fs::path& dir);
Result rocksdb_get(const Config& c, const DataSet& data, const fs::path& dir);
Result rocksdb_scan(const Config& c, const DataSet& data, const fs::path& dir,
                    bool forward);
void rocksdb_settle(const fs::path& dir);
std::vector<fs::path> rocksdb_files(const fs::path& dir);
std::string rocksdb_version();

// report.cpp
void print_table(const Config& c, const std::vector<Result>& rs);
void print_json(const Config& c, const std::vector<Result>& rs,
                const std::string& machine);

} // namespace kbench
