// SQLite's side of klite-bench.
//
// Configuration (its honest best for a journal): a rowid table
// `t(k INTEGER PRIMARY KEY, v BLOB)`, so the key is the B-tree key and no
// second index exists; WAL mode; prepared statements (prepare_v3 with
// SQLITE_PREPARE_PERSISTENT) bound with SQLITE_STATIC, so no blob copy on
// the way in; one explicit BEGIN ... COMMIT per --batch records.
// synchronous=OFF for the no-sync runs, synchronous=FULL for W2 (in WAL
// mode one fsync of the WAL per commit), and NORMAL beside klite's Normal
// (the WAL synced at checkpoints only). Defaults otherwise: 2 MB page
// cache and no mmap (mmap_size=0), as shipped; the OS page cache holds the
// file either way. W8 uses its own table `t(k INTEGER PRIMARY KEY,
// ts INTEGER, v BLOB)` with an index on ts, filled (untimed) with klite's
// records and the timestamps klite gave them.
#include "tools/bench/bench.h"

#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace kbench {

namespace {

class Sqlite {
public:
  explicit Sqlite(const fs::path& p) {
    if (sqlite3_open(p.c_str(), &db_) != SQLITE_OK)
      die("open");
  }
  ~Sqlite() {
    for (auto* s : stmts_)
      sqlite3_finalize(s);
    sqlite3_close(db_);
  }
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;

  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(std::string("sqlite: ") + sql + ": " + msg);
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
                           nullptr) != SQLITE_OK)
      die(sql);
    stmts_.push_back(s);
    return s;
  }
  // Runs a statement without results to completion and resets it.
  void run(sqlite3_stmt* s) {
    if (sqlite3_step(s) != SQLITE_DONE)
      die(sqlite3_sql(s));
    sqlite3_reset(s);
  }
  [[noreturn]] void die(const char* what) {
    throw std::runtime_error(std::string("sqlite: ") + what + ": " +
                             sqlite3_errmsg(db_));
  }

private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> stmts_;
};

// `synchronous`: OFF, NORMAL (WAL synced at checkpoints only) or FULL.
void configure(Sqlite& db, const char* synchronous = "OFF") {
  db.exec("PRAGMA journal_mode=WAL");
  db.exec(("PRAGMA synchronous=" + std::string(synchronous)).c_str());
}

void bind_value(sqlite3_stmt* s, int col, std::string_view v) {
  sqlite3_bind_blob(s, col, v.data(), static_cast<int>(v.size()),
                    SQLITE_STATIC);
}

} // namespace

const char* sqlite_version() { return sqlite3_libversion(); }

std::vector<fs::path> sqlite_files(const fs::path& path) {
  return {path, fs::path(path.string() + "-wal")};
}

KLITE_BENCH_WORKLOAD Result sqlite_append(const std::string& workload,
                                          const Config& c, const DataSet& data,
                                          const fs::path& path,
                                          std::uint64_t keep) {
  Batch batch(data, c.batch);
  Stopwatch sw;
  sw.start();
  {
    Sqlite db(path);
    configure(db);
    db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
    auto* begin = db.prepare("BEGIN");
    auto* commit = db.prepare("COMMIT");
    auto* ins = db.prepare("INSERT INTO t(k, v) VALUES (?1, ?2)");
    // A range delete on the rowid: the freed pages go to SQLite's free list
    // and the next inserts reuse them.
    auto* del = db.prepare("DELETE FROM t WHERE k < ?1");
    for (std::uint64_t k = 1; k <= data.records();) {
      std::uint64_t end =
          std::min<std::uint64_t>(k + c.batch, data.records() + 1);
      sw.stop();
      batch.load(k, end);
      sw.start();
      db.run(begin);
      for (std::uint64_t i = 0; k < end; ++k, ++i) {
        sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(k));
        bind_value(ins, 2, batch.value(i));
        db.run(ins);
      }
      if (keep && end - 1 > keep) {
        sqlite3_bind_int64(del, 1, static_cast<sqlite3_int64>(end - keep));
        db.run(del);
      }
      db.run(commit);
    }
  }
  sw.stop();
  return {workload,
          Family::SQLite,
          keep ? "sqlite INSERT + DELETE k < ?" : "sqlite INSERT",
          data.records(),
          data.payload_bytes(),
          sw.seconds()};
}

KLITE_BENCH_WORKLOAD Result sqlite_durable(const DataSet& data,
                                           const fs::path& path,
                                           bool normal) {
  Batch values(data, data.records());
  values.load(1, data.records() + 1);
  std::vector<double> lat;
  lat.reserve(data.records());
  Sqlite db(path);
  configure(db, normal ? "NORMAL" : "FULL");
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
  auto* begin = db.prepare("BEGIN");
  auto* commit = db.prepare("COMMIT");
  auto* ins = db.prepare("INSERT INTO t(k, v) VALUES (?1, ?2)");
  Stopwatch all;
  all.start();
  for (std::uint64_t k = 1; k <= data.records(); ++k) {
    auto t0 = Stopwatch::clock::now();
    db.run(begin);
    sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(k));
    bind_value(ins, 2, values.value(k - 1));
    db.run(ins);
    db.run(commit);
    lat.push_back(
        std::chrono::duration<double>(Stopwatch::clock::now() - t0).count());
  }
  all.stop();
  Result r{normal ? "W2 normal commit" : "W2 durable commit", Family::SQLite,
           normal ? "sqlite WAL synchronous=NORMAL"
                  : "sqlite WAL synchronous=FULL",
           data.records(), data.payload_bytes(), all.seconds()};
  set_latencies(r, std::move(lat));
  return r;
}

KLITE_BENCH_WORKLOAD Result sqlite_get(const Config& c, const DataSet& data,
                                       const fs::path& path) {
  Verifier v(data, c.sample_every);
  UniformSeq keys(c.seed, 1, data.records());
  Sqlite db(path);
  configure(db);
  auto* sel = db.prepare("SELECT v FROM t WHERE k = ?1");
  Stopwatch sw;
  sw.start();
  db.exec("BEGIN");
  for (std::uint64_t i = 0; i < c.gets; ++i) {
    std::uint64_t k = keys.next();
    sqlite3_bind_int64(sel, 1, static_cast<sqlite3_int64>(k));
    if (sqlite3_step(sel) != SQLITE_ROW)
      Verifier::fail("sqlite", k, "not found");
    v.check(k, sqlite3_column_blob(sel, 0),
            static_cast<std::size_t>(sqlite3_column_bytes(sel, 0)), "sqlite");
    sqlite3_reset(sel);
  }
  db.exec("COMMIT");
  sw.stop();
  return {"W3 random get",
          Family::SQLite,
          "sqlite SELECT WHERE k=?",
          c.gets,
          c.gets * data.value_size(),
          sw.seconds()};
}

KLITE_BENCH_WORKLOAD Result sqlite_scan(const Config& c, const DataSet& data,
                                        const fs::path& path, bool forward) {
  Verifier v(data, c.sample_every);
  std::uint64_t expect = forward ? 1 : data.records();
  std::uint64_t seen = 0;
  Sqlite db(path);
  configure(db);
  auto* sel = db.prepare(forward ? "SELECT k, v FROM t ORDER BY k"
                                 : "SELECT k, v FROM t ORDER BY k DESC");
  Stopwatch sw;
  sw.start();
  int rc;
  while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
    auto k = static_cast<std::uint64_t>(sqlite3_column_int64(sel, 0));
    if (k != expect)
      Verifier::fail("sqlite", expect, "scan found " + std::to_string(k));
    v.check(k, sqlite3_column_blob(sel, 1),
            static_cast<std::size_t>(sqlite3_column_bytes(sel, 1)), "sqlite");
    expect += forward ? 1 : -1;
    ++seen;
  }
  if (rc != SQLITE_DONE)
    db.die("scan");
  sqlite3_reset(sel);
  sw.stop();
  if (seen != data.records())
    Verifier::fail("sqlite", expect, "scan ended early");
  return {forward ? "W4 forward scan" : "W5 backward scan",
          Family::SQLite,
          forward ? "sqlite ORDER BY k" : "sqlite ORDER BY k DESC",
          data.records(),
          data.payload_bytes(),
          sw.seconds()};
}

// Checkpoints the WAL into the main file and closes, so the space figure is
// the settled file (plus any WAL left behind).
void sqlite_settle(const fs::path& path) {
  Sqlite db(path);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

void sqlite_build_time_table(const Config& c, const fs::path& klite_path,
                             const fs::path& path) {
  Sqlite db(path);
  configure(db);
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, ts INTEGER NOT NULL, "
          "v BLOB)");
  auto* begin = db.prepare("BEGIN");
  auto* commit = db.prepare("COMMIT");
  auto* ins = db.prepare("INSERT INTO t(k, ts, v) VALUES (?1, ?2, ?3)");
  std::uint64_t n = 0;
  db.run(begin);
  klite_export(klite_path,
               [&](std::uint64_t k, std::uint64_t ts, std::string_view value) {
                 sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(k));
                 sqlite3_bind_int64(ins, 2, static_cast<sqlite3_int64>(ts));
                 bind_value(ins, 3, value);
                 db.run(ins);
                 if (++n % c.batch == 0) {
                   db.run(commit);
                   db.run(begin);
                 }
               });
  db.run(commit);
  db.exec("CREATE INDEX t_ts ON t(ts)");
  db.exec("ANALYZE");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

namespace {

// Reads the rows of a W8 query; every statement runs in its own autocommit
// read transaction, as klite's do.
std::uint64_t read_rows(Sqlite& db, sqlite3_stmt* s, Verifier& v,
                        std::uint64_t& key_sum) {
  std::uint64_t n = 0;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    auto k = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
    v.check(k, sqlite3_column_blob(s, 2),
            static_cast<std::size_t>(sqlite3_column_bytes(s, 2)), "sqlite");
    key_sum += k;
    ++n;
  }
  if (rc != SQLITE_DONE)
    db.die(sqlite3_sql(s));
  sqlite3_reset(s);
  return n;
}

} // namespace

KLITE_BENCH_WORKLOAD Result sqlite_after_time(const Config& c,
                                              const DataSet& data,
                                              const fs::path& path,
                                              TimeRange range) {
  Verifier v(data, c.sample_every);
  UniformSeq times(c.seed + 1, range.first, range.last);
  std::uint64_t key_sum = 0;
  Sqlite db(path);
  configure(db);
  // The index on ts holds (ts, rowid), so this ORDER BY needs no sort.
  auto* sel = db.prepare(
      "SELECT k, ts, v FROM t WHERE ts >= ?1 ORDER BY ts, k LIMIT 10");
  Stopwatch sw;
  sw.start();
  for (std::uint64_t i = 0; i < c.time_ops; ++i) {
    sqlite3_bind_int64(sel, 1, static_cast<sqlite3_int64>(times.next()));
    read_rows(db, sel, v, key_sum);
  }
  sw.stop();
  Result r{"W8 GET 10 AFTER TIME",
           Family::SQLite,
           "sqlite ts >= ? ORDER BY ts LIMIT 10",
           c.time_ops,
           v.reads() * data.value_size(),
           sw.seconds()};
  r.key_sum = key_sum;
  return r;
}

KLITE_BENCH_WORKLOAD Result sqlite_last10(const Config& c, const DataSet& data,
                                          const fs::path& path) {
  Verifier v(data, c.sample_every);
  std::uint64_t key_sum = 0;
  Sqlite db(path);
  configure(db);
  auto* sel = db.prepare("SELECT k, ts, v FROM t ORDER BY k DESC LIMIT 10");
  Stopwatch sw;
  sw.start();
  for (std::uint64_t i = 0; i < c.time_ops; ++i)
    read_rows(db, sel, v, key_sum);
  sw.stop();
  Result r{"W8 GET LAST 10",
           Family::SQLite,
           "sqlite ORDER BY k DESC LIMIT 10",
           c.time_ops,
           v.reads() * data.value_size(),
           sw.seconds()};
  r.key_sum = key_sum;
  return r;
}

} // namespace kbench
