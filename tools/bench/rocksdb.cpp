// RocksDB's side of klite-bench (Debian librocksdb-dev, 7.8).
//
// Configuration (its honest best for a journal):
// - Keys are the record key as 8 bytes big-endian, so the default bytewise
//   comparator orders them as integers and appends arrive in order.
// - One WriteBatch per transaction (--batch records), written with
//   WriteOptions::sync=false for the no-sync runs (the WAL is written but
//   not synced, like SQLite's synchronous=OFF) and sync=true for W2 (the
//   WAL is fdatasync'ed before Write returns). The WAL stays on: turning it
//   off would lose committed data on a process crash, which no other
//   engine here does.
// - No compression: the payloads are incompressible random bytes, so
//   Snappy (the default) would burn CPU on every flush and compaction and
//   save nothing. With compression off the block layout is the same.
// - A 1 GiB LRU block cache (the default is 8 MB; the other engines read
//   through the OS page cache, which holds their whole file), and the
//   binary-and-hash data block index, which RocksDB recommends for point
//   lookups. No Bloom filter: every get hits an existing key, and the
//   appended SST files do not overlap, so file key ranges already prune.
// - Block checksums are verified on every read (ReadOptions default), the
//   counterpart of klite's record CRCs. Gets use PinnableSlice (no copy
//   out of the block cache); scans use one Iterator.
// - Defaults otherwise: 64 MB memtable, level compaction, 2 background
//   jobs. Closing does not flush the memtable (its data is in the WAL);
//   a reopen replays it, which the readers do before their clock starts.
#include "tools/bench/bench.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace kbench {

namespace {

void check(const rocksdb::Status& s, const char* what) {
  if (!s.ok())
    throw std::runtime_error(std::string("rocksdb: ") + what + ": " +
                             s.ToString());
}

std::unique_ptr<rocksdb::DB> open_rocksdb(const fs::path& dir) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.compression = rocksdb::kNoCompression;
  o.bottommost_compression = rocksdb::kNoCompression;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(std::size_t{1} << 30);
  t.data_block_index_type =
      rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  rocksdb::DB* db = nullptr;
  check(rocksdb::DB::Open(o, dir.string(), &db), "open");
  return std::unique_ptr<rocksdb::DB>(db);
}

// Big-endian, so byte order is key order.
struct Key {
  char bytes[8];
  explicit Key(std::uint64_t k) {
    for (int i = 0; i < 8; ++i)
      bytes[i] = static_cast<char>(k >> (56 - 8 * i));
  }
  rocksdb::Slice slice() const { return {bytes, sizeof bytes}; }
};

std::uint64_t decode_key(const rocksdb::Slice& s) {
  if (s.size() != 8)
    throw std::runtime_error("rocksdb: key of " + std::to_string(s.size()) +
                             " bytes");
  std::uint64_t k = 0;
  for (int i = 0; i < 8; ++i)
    k = (k << 8) | static_cast<unsigned char>(s.data()[i]);
  return k;
}

} // namespace

std::string rocksdb_version() { return rocksdb::GetRocksVersionAsString(); }

std::vector<fs::path> rocksdb_files(const fs::path& dir) {
  // Every file that holds data, a log or metadata (SSTs, the WAL,
  // MANIFEST, CURRENT, OPTIONS); the text info logs (LOG, LOG.old.*) and
  // the empty LOCK file are not the database.
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name == "LOCK" || name.rfind("LOG", 0) == 0)
      continue;
    files.push_back(e.path());
  }
  return files;
}

KLITE_BENCH_WORKLOAD Result rocksdb_append(const std::string& workload,
                                           const Config& c, const DataSet& data,
                                           const fs::path& dir,
                                           std::uint64_t keep) {
  Batch batch(data, c.batch);
  std::uint64_t dropped = 1; // the keys below it are deleted
  rocksdb::WriteOptions wo;
  wo.sync = false;
  rocksdb::WriteBatch wb;
  Stopwatch sw;
  sw.start();
  {
    auto db = open_rocksdb(dir);
    for (std::uint64_t k = 1; k <= data.records();) {
      std::uint64_t end =
          std::min<std::uint64_t>(k + c.batch, data.records() + 1);
      sw.stop();
      batch.load(k, end);
      sw.start();
      wb.Clear();
      for (std::uint64_t i = 0; k < end; ++k, ++i) {
        std::string_view v = batch.value(i);
        check(wb.Put(Key(k).slice(), rocksdb::Slice(v.data(), v.size())),
              "put");
      }
      // One range tombstone per batch; compaction drops what it covers.
      if (keep && end - 1 > keep) {
        check(wb.DeleteRange(Key(dropped).slice(), Key(end - keep).slice()),
              "delete_range");
        dropped = end - keep;
      }
      check(db->Write(wo, &wb), "write");
    }
    check(db->Close(), "close");
  }
  sw.stop();
  return {workload,
          Family::RocksDB,
          keep ? "rocksdb WriteBatch + DeleteRange" : "rocksdb WriteBatch",
          data.records(),
          data.payload_bytes(),
          sw.seconds()};
}

KLITE_BENCH_WORKLOAD Result rocksdb_durable(const DataSet& data,
                                            const fs::path& dir) {
  Batch values(data, data.records());
  values.load(1, data.records() + 1);
  std::vector<double> lat;
  lat.reserve(data.records());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::WriteBatch wb;
  auto db = open_rocksdb(dir);
  Stopwatch all;
  all.start();
  for (std::uint64_t k = 1; k <= data.records(); ++k) {
    auto t0 = Stopwatch::clock::now();
    wb.Clear();
    std::string_view v = values.value(k - 1);
    check(wb.Put(Key(k).slice(), rocksdb::Slice(v.data(), v.size())), "put");
    check(db->Write(wo, &wb), "write");
    lat.push_back(
        std::chrono::duration<double>(Stopwatch::clock::now() - t0).count());
  }
  all.stop();
  check(db->Close(), "close");
  Result r{"W2 durable commit", Family::RocksDB,      "rocksdb sync=true",
           data.records(),      data.payload_bytes(), all.seconds()};
  set_latencies(r, std::move(lat));
  return r;
}

KLITE_BENCH_WORKLOAD Result rocksdb_get(const Config& c, const DataSet& data,
                                        const fs::path& dir) {
  Verifier v(data, c.sample_every);
  UniformSeq keys(c.seed, 1, data.records());
  auto db = open_rocksdb(dir);
  rocksdb::ReadOptions ro;
  rocksdb::PinnableSlice value;
  Stopwatch sw;
  sw.start();
  for (std::uint64_t i = 0; i < c.gets; ++i) {
    std::uint64_t k = keys.next();
    value.Reset();
    rocksdb::Status s =
        db->Get(ro, db->DefaultColumnFamily(), Key(k).slice(), &value);
    if (s.IsNotFound())
      Verifier::fail("rocksdb", k, "not found");
    check(s, "get");
    v.check(k, value.data(), value.size(), "rocksdb");
  }
  sw.stop();
  value.Reset(); // unpin its block before the cache goes
  check(db->Close(), "close");
  return {"W3 random get",
          Family::RocksDB,
          "rocksdb Get (PinnableSlice)",
          c.gets,
          c.gets * data.value_size(),
          sw.seconds()};
}

KLITE_BENCH_WORKLOAD Result rocksdb_scan(const Config& c, const DataSet& data,
                                         const fs::path& dir, bool forward) {
  Verifier v(data, c.sample_every);
  std::uint64_t expect = forward ? 1 : data.records();
  std::uint64_t seen = 0;
  auto db = open_rocksdb(dir);
  rocksdb::ReadOptions ro;
  Stopwatch sw;
  sw.start();
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    for (forward ? it->SeekToFirst() : it->SeekToLast(); it->Valid();
         forward ? it->Next() : it->Prev()) {
      std::uint64_t k = decode_key(it->key());
      if (k != expect)
        Verifier::fail("rocksdb", expect, "scan found " + std::to_string(k));
      rocksdb::Slice value = it->value();
      v.check(k, value.data(), value.size(), "rocksdb");
      expect += forward ? 1 : -1;
      ++seen;
    }
    check(it->status(), "iterator");
  }
  sw.stop();
  check(db->Close(), "close");
  if (seen != data.records())
    Verifier::fail("rocksdb", expect, "scan ended early");
  return {forward ? "W4 forward scan" : "W5 backward scan",
          Family::RocksDB,
          forward ? "rocksdb Iterator::Next" : "rocksdb Iterator::Prev",
          data.records(),
          data.payload_bytes(),
          sw.seconds()};
}

// Flushes the memtable into an SST and closes, so the space figure is the
// settled database (as SQLite's is after a checkpoint).
void rocksdb_settle(const fs::path& dir) {
  auto db = open_rocksdb(dir);
  check(db->Flush(rocksdb::FlushOptions()), "flush");
  check(db->Close(), "close");
}

} // namespace kbench
