// klite's side of klite-bench.
//
// Configuration: Durability::Off for the no-sync runs (W1, W7: a process
// crash loses nothing, an OS crash may lose recent commits, like SQLite's
// synchronous=OFF and LMDB's MDB_NOSYNC); Durability::Full for W2. Default
// page size (4096). verify_checksums on (record CRCs checked on every
// read) unless a row says "crc off". Writes go through append_batch, one
// transaction per --batch records; the "append (per record)" row calls
// WriteTxn::append once per record in the same transactions.
#include "tools/bench/bench.h"

#include <klite/engine.h>
#include <klite/statement.h>

#include <chrono>
#include <ctime>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kbench {

namespace {

klite::Engine open_klite(const fs::path& p, bool verify = true,
                         klite::Durability d = klite::Durability::Off) {
  klite::Options o;
  o.durability = d;
  o.verify_checksums = verify;
  return klite::Engine::open(p.string(), o);
}

void expect_key(std::uint64_t got, std::uint64_t want) {
  if (got != want)
    throw std::runtime_error("klite: append returned key " +
                             std::to_string(got) + ", expected " +
                             std::to_string(want));
}

// `'2026-11-25T10:00:00.123456Z'` for a timestamp in µs (W8's exec form).
std::string iso_literal(std::uint64_t us) {
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "'%04d-%02d-%02dT%02d:%02d:%02d.%06uZ'",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<unsigned>(us % 1'000'000));
  return buf;
}

} // namespace

KLITE_BENCH_WORKLOAD Result klite_append_batch(const std::string& workload,
                                               const Config& c,
                                               const DataSet& data,
                                               const fs::path& path,
                                               std::uint64_t keep) {
  Batch batch(data, c.batch);
  Stopwatch sw;
  sw.start();
  {
    auto e = open_klite(path);
    if (keep) { // each commit expires what falls out of the window
      klite::Retention r;
      r.max_records = keep;
      e.create_stream(kStream, r);
    }
    for (std::uint64_t k = 1; k <= data.records();) {
      std::uint64_t end =
          std::min<std::uint64_t>(k + c.batch, data.records() + 1);
      sw.stop();
      batch.load(k, end);
      sw.start();
      auto w = e.write();
      expect_key(w.append_batch(kStream, batch.views()), k);
      w.commit();
      k = end;
    }
  }
  sw.stop();
  return {workload,
          Family::Klite,
          keep ? "klite append_batch, max_records" : "klite append_batch",
          data.records(),
          data.payload_bytes(),
          sw.seconds()};
}

KLITE_BENCH_WORKLOAD Result klite_append_single(const std::string& workload,
                                                const Config& c,
                                                const DataSet& data,
                                                const fs::path& path) {
  Batch batch(data, c.batch);
  Stopwatch sw;
  sw.start();
  {
    auto e = open_klite(path);
    for (std::uint64_t k = 1; k <= data.records();) {
      std::uint64_t end =
          std::min<std::uint64_t>(k + c.batch, data.records() + 1);
      sw.stop();
      batch.load(k, end);
      sw.start();
      auto w = e.write();
      for (std::uint64_t i = 0; k < end; ++k, ++i)
        expect_key(w.append(kStream, batch.value(i)), k);
      w.commit();
    }
  }
  sw.stop();
  return {workload,       Family::Klite,        "klite append (per record)",
          data.records(), data.payload_bytes(), sw.seconds()};
}

// W2: one record per transaction, Durability::Full (one fdatasync per
// commit: the meta page lists the pages' byte ranges with CRCs, FORMAT.md
// section 12), or Normal (a sync per Options::sync_interval, 100 ms).
// Latency is begin to commit's return.
KLITE_BENCH_WORKLOAD Result klite_durable(const DataSet& data,
                                          const fs::path& path,
                                          bool normal) {
  Batch values(data, data.records());
  values.load(1, data.records() + 1);
  std::vector<double> lat;
  lat.reserve(data.records());
  auto e = open_klite(path, true,
                      normal ? klite::Durability::Normal : klite::Durability::Full);
  e.create_stream(kStream); // untimed, as SQLite's CREATE TABLE and LMDB's dbi
  Stopwatch all;
  all.start();
  for (std::uint64_t k = 1; k <= data.records(); ++k) {
    auto t0 = Stopwatch::clock::now();
    auto w = e.write();
    expect_key(w.append(kStream, values.value(k - 1)), k);
    w.commit();
    lat.push_back(
        std::chrono::duration<double>(Stopwatch::clock::now() - t0).count());
  }
  all.stop();
  Result r{normal ? "W2 normal commit" : "W2 durable commit", Family::Klite,
           normal ? "klite Durability::Normal" : "klite Durability::Full",
           data.records(), data.payload_bytes(), all.seconds()};
  set_latencies(r, std::move(lat));
  return r;
}

// W2 with `threads` threads sharing one Engine, each committing its share
// of the records one per transaction. The transactions take turns, but
// those that commit while a sync runs share the next one (group commit).
// `one_shot`: each record through Engine::append, where one thread writes
// every append waiting (no turn taking); else a WriteTxn each.
KLITE_BENCH_WORKLOAD Result klite_durable_threads(const DataSet& data,
                                                  const fs::path& path,
                                                  unsigned threads,
                                                  bool one_shot) {
  Batch values(data, data.records());
  values.load(1, data.records() + 1);
  klite::Options o;
  o.durability = klite::Durability::Full;
  o.busy_timeout = std::chrono::minutes(10);
  auto e = klite::Engine::open(path.string(), o);
  e.create_stream(kStream); // untimed, as in klite_durable
  std::vector<std::vector<double>> lat(threads);
  std::vector<std::string> errors(threads);
  Stopwatch all;
  all.start();
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        for (std::uint64_t k = 1 + t; k <= data.records(); k += threads) {
          auto t0 = Stopwatch::clock::now();
          if (one_shot) {
            e.append(kStream, values.value(k - 1));
          } else {
            auto w = e.write();
            w.append(kStream, values.value(k - 1));
            w.commit();
          }
          lat[t].push_back(std::chrono::duration<double>(
                               Stopwatch::clock::now() - t0).count());
        }
      } catch (const std::exception& x) {
        errors[t] = x.what();
      }
    });
  for (auto& t : pool)
    t.join();
  all.stop();
  for (const auto& err : errors)
    if (!err.empty())
      throw std::runtime_error("klite: " + err);
  if (e.info(kStream).records != data.records())
    throw std::runtime_error("klite: the threads committed " +
                             std::to_string(e.info(kStream).records) +
                             " records, expected " +
                             std::to_string(data.records()));
  Result r{"W2 group commit", Family::Klite,
           "klite " + std::to_string(threads) + " thread" +
               (threads > 1 ? "s" : "") +
               (one_shot ? ", Engine::append" : ", WriteTxn each"),
           data.records(), data.payload_bytes(), all.seconds()};
  std::vector<double> samples;
  for (auto& l : lat)
    samples.insert(samples.end(), l.begin(), l.end());
  set_latencies(r, std::move(samples));
  return r;
}

KLITE_BENCH_WORKLOAD Result klite_get_txn(const Config& c, const DataSet& data,
                                          const fs::path& path,
                                          bool verify_crc) {
  Verifier v(data, c.sample_every);
  UniformSeq keys(c.seed, 1, data.records());
  auto e = open_klite(path, verify_crc);
  Stopwatch sw;
  sw.start();
  {
    auto r = e.read();
    for (std::uint64_t i = 0; i < c.gets; ++i) {
      std::uint64_t k = keys.next();
      auto rec = r.get(kStream, k);
      if (!rec)
        Verifier::fail("klite", k, "not found");
      if (rec->key != k)
        Verifier::fail("klite", k, "record key " + std::to_string(rec->key));
      v.check(k, rec->value.data(), rec->value.size(), "klite");
    }
  }
  sw.stop();
  return {"W3 random get",
          Family::Klite,
          verify_crc ? "klite ReadTxn::get" : "klite ReadTxn::get (crc off)",
          c.gets,
          c.gets * data.value_size(),
          sw.seconds()};
}

// W3 through Engine::get: a read transaction and an owned copy per get.
KLITE_BENCH_WORKLOAD Result klite_get_engine(const Config& c,
                                             const DataSet& data,
                                             const fs::path& path) {
  Verifier v(data, c.sample_every);
  UniformSeq keys(c.seed, 1, data.records());
  auto e = open_klite(path);
  Stopwatch sw;
  sw.start();
  for (std::uint64_t i = 0; i < c.gets; ++i) {
    std::uint64_t k = keys.next();
    auto rec = e.get(kStream, k);
    if (!rec)
      Verifier::fail("klite", k, "not found");
    v.check(k, rec->value.data(), rec->value.size(), "klite");
  }
  sw.stop();
  return {"W3 random get",
          Family::Klite,
          "klite Engine::get (txn per get)",
          c.gets,
          c.gets * data.value_size(),
          sw.seconds()};
}

KLITE_BENCH_WORKLOAD Result klite_scan(const Config& c, const DataSet& data,
                                       const fs::path& path, bool forward,
                                       bool verify_crc) {
  Verifier v(data, c.sample_every);
  std::uint64_t expect = forward ? 1 : data.records();
  std::uint64_t seen = 0;
  auto e = open_klite(path, verify_crc);
  Stopwatch sw;
  sw.start();
  {
    auto r = e.read();
    auto cur = r.cursor(kStream);
    for (bool ok = forward ? cur.first() : cur.last(); ok;
         ok = forward ? cur.next() : cur.prev()) {
      const klite::Record& rec = cur.record();
      if (rec.key != expect)
        Verifier::fail("klite", expect,
                       "scan found " + std::to_string(rec.key));
      v.check(expect, rec.value.data(), rec.value.size(), "klite");
      expect += forward ? 1 : -1;
      ++seen;
    }
  }
  sw.stop();
  if (seen != data.records())
    Verifier::fail("klite", expect, "scan ended early");
  std::string variant = forward ? "klite Cursor::next" : "klite Cursor::prev";
  variant += verify_crc ? " (crc on)" : " (crc off)";
  return {forward ? "W4 forward scan" : "W5 backward scan",
          Family::Klite,
          variant,
          data.records(),
          data.payload_bytes(),
          sw.seconds()};
}

TimeRange klite_time_range(const fs::path& path) {
  auto e = open_klite(path);
  klite::StreamInfo i = e.info(kStream);
  return {i.first_timestamp, i.last_timestamp};
}

void klite_export(const fs::path& path,
                  const std::function<void(std::uint64_t key, std::uint64_t ts,
                                           std::string_view value)>& each) {
  auto e = open_klite(path);
  auto r = e.read();
  auto cur = r.cursor(kStream);
  for (bool ok = cur.first(); ok; ok = cur.next())
    each(cur.record().key, cur.record().timestamp, cur.record().value);
}

namespace {

const char* api_name(Api api) {
  switch (api) {
  case Api::Native:
    return "native";
  case Api::Prepared:
    return "prepared";
  case Api::Exec:
    return "exec";
  }
  return "?";
}

// Reads the rows of one GET (key, ts, value) into the verifier.
template <class Rows>
std::uint64_t read_rows(Rows& rows, Verifier& v, std::uint64_t& key_sum) {
  std::uint64_t n = 0;
  while (rows.next()) {
    const klite::Row& row = rows.row();
    std::uint64_t k = row[0].as_integer();
    std::string_view value = row[2].as_bytes();
    v.check(k, value.data(), value.size(), "klite");
    key_sum += k;
    ++n;
  }
  return n;
}

// Statement has step(); Result has next(). One shape for read_rows.
struct StepRows {
  klite::Statement& s;
  bool next() { return s.step(); }
  const klite::Row& row() const { return s.row(); }
};

} // namespace

// W8: `GET 10 AFTER TIME t FROM bench` for random t. Every operation is its
// own read transaction, as a reader polling a journal would run it (the
// query forms begin one per statement; the native form begins one per op).
KLITE_BENCH_WORKLOAD Result klite_after_time(const Config& c,
                                             const DataSet& data,
                                             const fs::path& path,
                                             TimeRange range, Api api) {
  Verifier v(data, c.sample_every);
  UniformSeq times(c.seed + 1, range.first, range.last);
  std::uint64_t key_sum = 0;
  auto e = open_klite(path);
  klite::Statement stmt = e.prepare("GET 10 AFTER TIME ? FROM bench");
  Stopwatch sw;
  sw.start();
  for (std::uint64_t i = 0; i < c.time_ops; ++i) {
    std::uint64_t t = times.next();
    if (api == Api::Native) {
      auto r = e.read();
      auto cur = r.cursor(kStream);
      int n = 0;
      for (bool ok = cur.seek_time(t); ok; ok = cur.next()) {
        const klite::Record& rec = cur.record();
        v.check(rec.key, rec.value.data(), rec.value.size(), "klite");
        key_sum += rec.key;
        if (++n == 10)
          break;
      }
    } else if (api == Api::Prepared) {
      stmt.bind(1, t);
      StepRows rows{stmt};
      read_rows(rows, v, key_sum);
      stmt.reset();
    } else {
      klite::Result rows =
          e.exec("GET 10 AFTER TIME " + iso_literal(t) + " FROM bench");
      read_rows(rows, v, key_sum);
    }
  }
  sw.stop();
  Result r{"W8 GET 10 AFTER TIME",
           Family::Klite,
           api == Api::Native
               ? "klite seek_time + next (native)"
               : std::string("klite GET 10 AFTER TIME (") + api_name(api) + ")",
           c.time_ops,
           v.reads() * data.value_size(),
           sw.seconds()};
  r.key_sum = key_sum;
  return r;
}

// W8: `GET LAST 10 FROM bench`, the tail of the journal.
KLITE_BENCH_WORKLOAD Result klite_last10(const Config& c, const DataSet& data,
                                         const fs::path& path, Api api) {
  Verifier v(data, c.sample_every);
  std::uint64_t key_sum = 0;
  auto e = open_klite(path);
  klite::Statement stmt = e.prepare("GET LAST 10 FROM bench");
  Stopwatch sw;
  sw.start();
  for (std::uint64_t i = 0; i < c.time_ops; ++i) {
    if (api == Api::Native) {
      auto r = e.read();
      auto cur = r.cursor(kStream);
      int n = 0;
      for (bool ok = cur.last(); ok; ok = cur.prev()) {
        const klite::Record& rec = cur.record();
        v.check(rec.key, rec.value.data(), rec.value.size(), "klite");
        key_sum += rec.key;
        if (++n == 10)
          break;
      }
    } else if (api == Api::Prepared) {
      StepRows rows{stmt};
      read_rows(rows, v, key_sum);
      stmt.reset();
    } else {
      klite::Result rows = e.exec("GET LAST 10 FROM bench");
      read_rows(rows, v, key_sum);
    }
  }
  sw.stop();
  Result r{"W8 GET LAST 10",
           Family::Klite,
           api == Api::Native
               ? "klite last + prev (native)"
               : std::string("klite GET LAST 10 (") + api_name(api) + ")",
           c.time_ops,
           v.reads() * data.value_size(),
           sw.seconds()};
  r.key_sum = key_sum;
  return r;
}

// W7: the cost of the query layer over the native API, N appends in one
// transaction. The payloads are made before the clock starts (W7 runs at
// most 1M records, so they fit in memory).
KLITE_BENCH_WORKLOAD Result klite_w7_native(const DataSet& data,
                                            const fs::path& path) {
  Batch values(data, data.records());
  values.load(1, data.records() + 1);
  Stopwatch sw;
  sw.start();
  {
    auto e = open_klite(path);
    auto w = e.write();
    for (std::uint64_t k = 1; k <= data.records(); ++k)
      expect_key(w.append(kStream, values.value(k - 1)), k);
    w.commit();
  }
  sw.stop();
  return {"W7 query layer", Family::Klite,        "klite WriteTxn::append",
          data.records(),   data.payload_bytes(), sw.seconds()};
}

// Keep::Borrow is SQLite's SQLITE_STATIC, which the SQLite rows bind with.
KLITE_BENCH_WORKLOAD Result klite_w7_prepared(const DataSet& data,
                                              const fs::path& path,
                                              klite::Keep keep) {
  Batch values(data, data.records());
  values.load(1, data.records() + 1);
  Stopwatch sw;
  sw.start();
  {
    auto e = open_klite(path);
    e.exec("BEGIN");
    klite::Statement add = e.prepare("ADD ? TO bench");
    for (std::uint64_t k = 1; k <= data.records(); ++k) {
      add.bind(1, values.value(k - 1), keep);
      if (!add.step())
        throw std::runtime_error("klite: ADD returned no key");
      expect_key(add.row()[0].as_integer(), k);
      add.reset();
    }
    e.exec("COMMIT");
  }
  sw.stop();
  return {"W7 query layer",
          Family::Klite,
          keep == klite::Keep::Borrow ? "klite prepared ADD ? (Keep::Borrow)"
                                      : "klite prepared ADD ? (Keep::Copy)",
          data.records(),
          data.payload_bytes(),
          sw.seconds()};
}

// Formatting the hex literal is timed: it is what a client of exec() pays.
KLITE_BENCH_WORKLOAD Result klite_w7_exec(const DataSet& data,
                                          const fs::path& path) {
  static constexpr char kHex[] = "0123456789abcdef";
  Batch values(data, data.records());
  values.load(1, data.records() + 1);
  std::string q;
  Stopwatch sw;
  sw.start();
  {
    auto e = open_klite(path);
    e.exec("BEGIN");
    for (std::uint64_t k = 1; k <= data.records(); ++k) {
      q.assign("ADD x'");
      for (char ch : values.value(k - 1)) {
        auto u = static_cast<unsigned char>(ch);
        q += kHex[u >> 4];
        q += kHex[u & 15];
      }
      q += "' TO bench";
      klite::Result r = e.exec(q);
      if (!r.next())
        throw std::runtime_error("klite: ADD returned no key");
      expect_key(r.row()[0].as_integer(), k);
    }
    e.exec("COMMIT");
  }
  sw.stop();
  return {"W7 query layer",
          Family::Klite,
          "klite exec(\"ADD x'..'\") (BEGIN)",
          data.records(),
          data.payload_bytes(),
          sw.seconds()};
}

// W7 scan: W4's forward scan in chunks of --batch records, each chunk its
// own read transaction, as a consumer polling a journal reads it: a cursor
// seek + next, a prepared `GET ? AFTER ? FROM bench`, or exec() of a fresh
// `GET n AFTER k FROM bench`. Every value is checked as in W4.
KLITE_BENCH_WORKLOAD Result klite_w7_scan(const Config& c, const DataSet& data,
                                          const fs::path& path, Api api) {
  Verifier v(data, c.sample_every);
  std::uint64_t key_sum = 0;
  auto e = open_klite(path);
  klite::Statement stmt = e.prepare("GET ? AFTER ? FROM bench");
  const std::uint64_t chunk = c.batch;
  Stopwatch sw;
  sw.start();
  for (std::uint64_t after = 0; after < data.records(); after += chunk) {
    std::uint64_t n = 0;
    if (api == Api::Native) {
      auto r = e.read();
      auto cur = r.cursor(kStream);
      for (bool ok = cur.seek(after + 1); ok; ok = cur.next()) {
        const klite::Record& rec = cur.record();
        v.check(rec.key, rec.value.data(), rec.value.size(), "klite");
        key_sum += rec.key;
        if (++n == chunk)
          break;
      }
    } else if (api == Api::Prepared) {
      stmt.bind(1, chunk);
      stmt.bind(2, after);
      StepRows rows{stmt};
      n = read_rows(rows, v, key_sum);
      stmt.reset();
    } else {
      klite::Result rows = e.exec("GET " + std::to_string(chunk) + " AFTER " +
                                  std::to_string(after) + " FROM bench");
      n = read_rows(rows, v, key_sum);
    }
    const std::uint64_t want = std::min(chunk, data.records() - after);
    if (n != want)
      Verifier::fail("klite", after + 1,
                     "chunk returned " + std::to_string(n) + " records");
  }
  sw.stop();
  Result r{"W7 query layer, scan",
           Family::Klite,
           api == Api::Native ? "klite seek + next (native)"
           : api == Api::Prepared
               ? "klite prepared GET ? AFTER ?"
               : "klite exec(\"GET n AFTER k\")",
           data.records(),
           data.payload_bytes(),
           sw.seconds()};
  r.key_sum = key_sum;
  return r;
}

} // namespace kbench
