// klite-bench: klite against SQLite and LMDB on the same workloads.
//
//   klite-bench [--records N] [--gets N] [--value-size B] [--batch B]
//               [--engines klite,sqlite,lmdb] [--dir DIR] [--keep] [--json]
//
// Workloads (numbered as in the benchmark plan; the rest come later):
//   W1 append       N records of --value-size bytes, --batch per transaction,
//                   no sync on commit (klite Durability::Off, SQLite WAL +
//                   synchronous=OFF, LMDB MDB_NOSYNC).
//   W3 point reads  the engine is reopened, then N uniformly random gets
//                   (one fixed key sequence for every engine), each verified.
//   W4 forward scan every record in key order, every value read and verified
//                   (also as one `GET n AFTER 0` through Engine::exec).
//   W6 space        allocated bytes on disk after closing / payload bytes.
//   W7 query cost   klite only: N appends in one transaction through the
//                   native WriteTxn::append, through a prepared `ADD ? TO s`
//                   inside BEGIN ... COMMIT (bind, step, reset per record),
//                   and through Engine::exec of a fresh `ADD x'..' TO s`
//                   string per record (also inside BEGIN); the ratios to
//                   native are printed after the table.
//
// Payloads are pseudo-random (incompressible) bytes whose first 8 bytes are
// the key, little-endian. Every read checks the key; every --sample-every'th
// read (default 64) also compares all bytes.
//
// Every engine runs over the same pre-generated payload buffer, so payload
// generation is not timed. All files live in the OS page cache (nothing is
// synced), so this measures CPU cost and write amplification, not the disk.
// Peers run with their defaults otherwise (SQLite: no mmap, 2 MB page cache;
// LMDB: no MDB_WRITEMAP). The pre-generated payloads take records x size of
// RAM (100 MB by default).
//
// To add a workload: write one function per engine returning a Result, call
// them in run() in the same engine order, and they appear in the table.
#include <klite/engine.h>
#include <klite/statement.h>

#include "engine/text.h" // json_string, shared with the other tools

#include <lmdb.h>
#include <sqlite3.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

// Workload functions stay out of line so a profile (perf, callgrind) can
// attribute every sample to the workload and engine that caused it.
#define KLITE_BENCH_WORKLOAD [[gnu::noinline]]

namespace {

constexpr std::string_view kStream = "bench";

// --- configuration ----------------------------------------------------------

struct Config {
  std::uint64_t records = 1'000'000;
  std::size_t value_size = 100;
  std::size_t batch = 1000;
  std::uint64_t gets = 0; // 0: as many as records
  std::uint64_t seed = 42;
  std::uint64_t sample_every = 64; // full-byte verification of every n-th read
  std::string dir;                 // empty: a fresh temp dir under /tmp
  bool keep = false;
  bool json = false;
  bool engines[3] = {true, true, true}; // indexed by Family
};

[[noreturn]] void usage(const char* argv0, int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: %s [--records N] [--gets N] [--value-size B] "
               "[--batch B]\n"
               "          [--seed S] [--sample-every K] [--dir DIR] [--keep] "
               "[--json]\n"
               "          [--engines klite,sqlite,lmdb]\n"
               "  --records N      records to append (default 1000000)\n"
               "  --gets N         random gets in W3 (default: --records)\n"
               "  --value-size B   payload bytes per record, >= 8 (default "
               "100)\n"
               "  --batch B        records per write transaction (default "
               "1000)\n"
               "  --dir DIR        work directory (default: a new one under "
               "/tmp)\n"
               "  --keep           keep the database files\n"
               "  --json           also print the results as JSON\n"
               "  --engines LIST   run only these engines (default: all)\n",
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

void parse_engines(Config& c, std::string_view list) {
  for (bool& e : c.engines)
    e = false;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    if (name == "klite")
      c.engines[0] = true;
    else if (name == "sqlite")
      c.engines[1] = true;
    else if (name == "lmdb")
      c.engines[2] = true;
    else
      throw std::runtime_error("unknown engine: " + std::string(name));
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
    else if (a == "--gets")
      c.gets = parse_u64(value(), "--gets");
    else if (a == "--value-size")
      c.value_size = parse_u64(value(), "--value-size");
    else if (a == "--batch")
      c.batch = parse_u64(value(), "--batch");
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
    else if (a == "--engines")
      parse_engines(c, value());
    else if (a == "-h" || a == "--help")
      usage(argv[0], 0);
    else
      usage(argv[0], 2);
  }
  if (c.records == 0 || c.value_size < 8 || c.batch == 0 ||
      c.sample_every == 0)
    usage(argv[0], 2);
  if (c.gets == 0)
    c.gets = c.records;
  return c;
}

// --- data set ---------------------------------------------------------------

std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void put_u64le(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<char>(v >> (8 * i));
}

std::uint64_t get_u64le(const void* src) {
  const auto* p = static_cast<const unsigned char*>(src);
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

// The payload of key k (1-based) for every engine: k little-endian, then
// pseudo-random bytes. Generated once, before anything is timed.
class DataSet {
public:
  DataSet(std::uint64_t records, std::size_t value_size, std::uint64_t seed)
      : n_(records), size_(value_size), buf_(records * value_size) {
    for (std::uint64_t k = 1; k <= n_; ++k) {
      char* p = buf_.data() + (k - 1) * size_;
      put_u64le(p, k);
      std::uint64_t s = seed ^ (k * 0x2545f4914f6cdd1dULL);
      for (std::size_t i = 8; i < size_; i += 8) {
        std::uint64_t r = splitmix64(s);
        std::memcpy(p + i, &r, std::min<std::size_t>(8, size_ - i));
      }
    }
  }
  std::uint64_t records() const { return n_; }
  std::size_t value_size() const { return size_; }
  std::uint64_t payload_bytes() const { return n_ * size_; }
  std::string_view value(std::uint64_t key) const {
    return {buf_.data() + (key - 1) * size_, size_};
  }

private:
  std::uint64_t n_;
  std::size_t size_;
  std::vector<char> buf_;
};

// Verification shared by every engine's reader. `full` also compares bytes.
struct Verifier {
  const DataSet& data;
  std::uint64_t sample_every;
  std::uint64_t reads = 0;

  void check(std::uint64_t key, const void* p, std::size_t n,
             const char* engine) {
    if (n != data.value_size())
      fail(engine, key, "value size " + std::to_string(n));
    if (get_u64le(p) != key)
      fail(engine, key, "payload carries key " + std::to_string(get_u64le(p)));
    if (reads++ % sample_every == 0 &&
        std::memcmp(p, data.value(key).data(), n) != 0)
      fail(engine, key, "payload bytes differ");
  }
  [[noreturn]] static void fail(const char* engine, std::uint64_t key,
                                const std::string& why) {
    throw std::runtime_error(std::string(engine) + ": key " +
                             std::to_string(key) + ": " + why);
  }
};

// --- results ----------------------------------------------------------------

enum class Family { Klite, SQLite, LMDB };

struct Result {
  std::string workload; // "W1 append"
  Family family;
  std::string variant; // "klite append_batch"
  std::uint64_t ops = 0;
  std::uint64_t bytes = 0; // payload bytes moved
  double seconds = 0;
  // W6 only
  std::uint64_t disk_bytes = 0;
  std::uint64_t apparent_bytes = 0;
  bool space = false;

  double ops_per_s() const { return seconds > 0 ? ops / seconds : 0; }
  double mb_per_s() const { return seconds > 0 ? bytes / seconds / 1e6 : 0; }
  double amplification() const {
    return bytes ? static_cast<double>(disk_bytes) / bytes : 0;
  }
};

class Timer {
public:
  Timer() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start_)
        .count();
  }

private:
  std::chrono::steady_clock::time_point start_;
};

// Allocated and apparent bytes of one file; zeros when it does not exist.
std::pair<std::uint64_t, std::uint64_t> file_space(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0)
    return {0, 0};
  return {static_cast<std::uint64_t>(st.st_blocks) * 512,
          static_cast<std::uint64_t>(st.st_size)};
}

Result space_result(Family f, std::string variant, const DataSet& data,
                    const std::vector<fs::path>& files) {
  Result r{"W6 space", f, std::move(variant)};
  r.space = true;
  r.bytes = data.payload_bytes();
  for (const auto& p : files) {
    auto [alloc, apparent] = file_space(p);
    r.disk_bytes += alloc;
    r.apparent_bytes += apparent;
  }
  return r;
}

// --- paths ------------------------------------------------------------------

struct Paths {
  fs::path root;
  fs::path klite() const { return root / "klite" / "bench.klite"; }
  fs::path klite_single() const {
    return root / "klite-single" / "bench.klite";
  }
  fs::path sqlite() const { return root / "sqlite" / "bench.db"; }
  fs::path lmdb() const { return root / "lmdb"; }
  fs::path w7(const char* variant) const {
    return root / "w7" / (std::string(variant) + ".klite");
  }
};

// ============================================================================
// klite
// ============================================================================

klite::Engine klite_open(const fs::path& p, bool verify = true) {
  klite::Options o;
  o.durability = klite::Durability::Off;
  o.verify_checksums = verify;
  return klite::Engine::open(p.string(), o);
}

void klite_expect_key(std::uint64_t got, std::uint64_t want) {
  if (got != want)
    throw std::runtime_error("klite: append returned key " +
                             std::to_string(got) + ", expected " +
                             std::to_string(want));
}

KLITE_BENCH_WORKLOAD Result klite_append_batch(const Config& c, const DataSet& data,
                          const fs::path& path) {
  std::vector<std::string_view> views;
  views.reserve(c.batch);
  Timer t;
  {
    auto e = klite_open(path);
    for (std::uint64_t k = 1; k <= data.records();) {
      std::uint64_t end = std::min<std::uint64_t>(k + c.batch,
                                                  data.records() + 1);
      views.clear();
      for (std::uint64_t j = k; j < end; ++j)
        views.push_back(data.value(j));
      auto w = e.write();
      klite_expect_key(w.append_batch(kStream, views), k);
      w.commit();
      k = end;
    }
  }
  return {"W1 append", Family::Klite, "klite append_batch", data.records(),
          data.payload_bytes(), t.seconds()};
}

KLITE_BENCH_WORKLOAD Result klite_append_single(const Config& c, const DataSet& data,
                           const fs::path& path) {
  Timer t;
  {
    auto e = klite_open(path);
    for (std::uint64_t k = 1; k <= data.records();) {
      std::uint64_t end = std::min<std::uint64_t>(k + c.batch,
                                                  data.records() + 1);
      auto w = e.write();
      for (; k < end; ++k)
        klite_expect_key(w.append(kStream, data.value(k)), k);
      w.commit();
    }
  }
  return {"W1 append", Family::Klite, "klite append (per record)",
          data.records(), data.payload_bytes(), t.seconds()};
}

KLITE_BENCH_WORKLOAD Result klite_get_txn(const DataSet& data, const fs::path& path,
                     const std::vector<std::uint64_t>& keys,
                     std::uint64_t sample_every, bool verify_crc) {
  Verifier v{data, sample_every};
  Timer t;
  {
    auto e = klite_open(path, verify_crc);
    auto r = e.read();
    for (std::uint64_t k : keys) {
      auto rec = r.get(kStream, k);
      if (!rec)
        Verifier::fail("klite", k, "not found");
      if (rec->key != k)
        Verifier::fail("klite", k, "record key " + std::to_string(rec->key));
      v.check(k, rec->value.data(), rec->value.size(), "klite");
    }
  }
  return {"W3 get", Family::Klite,
          verify_crc ? "klite ReadTxn::get" : "klite ReadTxn::get (no crc)",
          keys.size(), keys.size() * data.value_size(), t.seconds()};
}

KLITE_BENCH_WORKLOAD Result klite_get_engine(const DataSet& data, const fs::path& path,
                        const std::vector<std::uint64_t>& keys,
                        std::uint64_t sample_every) {
  Verifier v{data, sample_every};
  Timer t;
  {
    auto e = klite_open(path);
    for (std::uint64_t k : keys) {
      auto rec = e.get(kStream, k);
      if (!rec)
        Verifier::fail("klite", k, "not found");
      v.check(k, rec->value.data(), rec->value.size(), "klite");
    }
  }
  return {"W3 get", Family::Klite, "klite Engine::get (txn/get)", keys.size(),
          keys.size() * data.value_size(), t.seconds()};
}

KLITE_BENCH_WORKLOAD Result klite_scan(const DataSet& data, const fs::path& path,
                  std::uint64_t sample_every, bool verify_crc) {
  Verifier v{data, sample_every};
  std::uint64_t expect = 1;
  Timer t;
  {
    auto e = klite_open(path, verify_crc);
    auto r = e.read();
    auto cur = r.cursor(kStream);
    for (bool ok = cur.first(); ok; ok = cur.next()) {
      const klite::Record& rec = cur.record();
      if (rec.key != expect)
        Verifier::fail("klite", expect, "scan found " + std::to_string(rec.key));
      v.check(expect, rec.value.data(), rec.value.size(), "klite");
      ++expect;
    }
  }
  if (expect != data.records() + 1)
    Verifier::fail("klite", expect, "scan ended early");
  return {"W4 scan", Family::Klite,
          verify_crc ? "klite Cursor (crc on)" : "klite Cursor (crc off)",
          data.records(), data.payload_bytes(), t.seconds()};
}

// W4 through the query layer: one GET for the whole stream, rows streamed.
KLITE_BENCH_WORKLOAD Result klite_scan_query(const DataSet& data,
                                             const fs::path& path,
                                             std::uint64_t sample_every) {
  Verifier v{data, sample_every};
  std::uint64_t expect = 1;
  Timer t;
  {
    auto e = klite_open(path);
    klite::Result r = e.exec("GET " + std::to_string(data.records()) +
                             " AFTER 0 FROM bench");
    while (r.next()) {
      const klite::Row& row = r.row();
      if (row[0].as_integer() != expect)
        Verifier::fail("klite", expect,
                       "GET found " + std::to_string(row[0].as_integer()));
      std::string_view value = row[2].as_bytes();
      v.check(expect, value.data(), value.size(), "klite");
      ++expect;
    }
  }
  if (expect != data.records() + 1)
    Verifier::fail("klite", expect, "GET ended early");
  return {"W4 scan", Family::Klite, "klite exec(GET n AFTER 0)",
          data.records(), data.payload_bytes(), t.seconds()};
}

// W7: the cost of the query layer over the native API, one transaction.
KLITE_BENCH_WORKLOAD Result klite_w7_native(const DataSet& data,
                                            const fs::path& path) {
  Timer t;
  {
    auto e = klite_open(path);
    auto w = e.write();
    for (std::uint64_t k = 1; k <= data.records(); ++k)
      klite_expect_key(w.append(kStream, data.value(k)), k);
    w.commit();
  }
  return {"W7 query", Family::Klite, "klite WriteTxn::append",
          data.records(), data.payload_bytes(), t.seconds()};
}

KLITE_BENCH_WORKLOAD Result klite_w7_prepared(const DataSet& data,
                                              const fs::path& path) {
  Timer t;
  {
    auto e = klite_open(path);
    e.exec("BEGIN");
    klite::Statement add = e.prepare("ADD ? TO bench");
    for (std::uint64_t k = 1; k <= data.records(); ++k) {
      add.bind(1, data.value(k));
      if (!add.step())
        throw std::runtime_error("klite: ADD returned no key");
      klite_expect_key(add.row()[0].as_integer(), k);
      add.reset();
    }
    e.exec("COMMIT");
  }
  return {"W7 query", Family::Klite, "klite prepared ADD ? (BEGIN)",
          data.records(), data.payload_bytes(), t.seconds()};
}

KLITE_BENCH_WORKLOAD Result klite_w7_exec(const DataSet& data,
                                          const fs::path& path) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string q;
  Timer t;
  {
    auto e = klite_open(path);
    e.exec("BEGIN");
    for (std::uint64_t k = 1; k <= data.records(); ++k) {
      q.assign("ADD x'");
      for (char ch : data.value(k)) {
        auto u = static_cast<unsigned char>(ch);
        q += kHex[u >> 4];
        q += kHex[u & 15];
      }
      q += "' TO bench";
      klite::Result r = e.exec(q);
      if (!r.next())
        throw std::runtime_error("klite: ADD returned no key");
      klite_expect_key(r.row()[0].as_integer(), k);
    }
    e.exec("COMMIT");
  }
  return {"W7 query", Family::Klite, "klite exec(\"ADD x'..'\") (BEGIN)",
          data.records(), data.payload_bytes(), t.seconds()};
}

// ============================================================================
// SQLite
// ============================================================================

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

void sqlite_configure(Sqlite& db) {
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=OFF");
}

KLITE_BENCH_WORKLOAD Result sqlite_append(const Config& c, const DataSet& data,
                     const fs::path& path) {
  Timer t;
  {
    Sqlite db(path);
    sqlite_configure(db);
    db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
    auto* begin = db.prepare("BEGIN");
    auto* commit = db.prepare("COMMIT");
    auto* ins = db.prepare("INSERT INTO t(k, v) VALUES (?1, ?2)");
    for (std::uint64_t k = 1; k <= data.records();) {
      std::uint64_t end = std::min<std::uint64_t>(k + c.batch,
                                                  data.records() + 1);
      db.run(begin);
      for (; k < end; ++k) {
        auto v = data.value(k);
        sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(k));
        sqlite3_bind_blob(ins, 2, v.data(), static_cast<int>(v.size()),
                          SQLITE_STATIC);
        db.run(ins);
      }
      db.run(commit);
    }
  }
  return {"W1 append", Family::SQLite, "sqlite INSERT", data.records(),
          data.payload_bytes(), t.seconds()};
}

KLITE_BENCH_WORKLOAD Result sqlite_get(const DataSet& data, const fs::path& path,
                  const std::vector<std::uint64_t>& keys,
                  std::uint64_t sample_every) {
  Verifier v{data, sample_every};
  Timer t;
  {
    Sqlite db(path);
    sqlite_configure(db);
    auto* sel = db.prepare("SELECT v FROM t WHERE k = ?1");
    db.exec("BEGIN");
    for (std::uint64_t k : keys) {
      sqlite3_bind_int64(sel, 1, static_cast<sqlite3_int64>(k));
      if (sqlite3_step(sel) != SQLITE_ROW)
        Verifier::fail("sqlite", k, "not found");
      v.check(k, sqlite3_column_blob(sel, 0),
              static_cast<std::size_t>(sqlite3_column_bytes(sel, 0)),
              "sqlite");
      sqlite3_reset(sel);
    }
    db.exec("COMMIT");
  }
  return {"W3 get", Family::SQLite, "sqlite SELECT", keys.size(),
          keys.size() * data.value_size(), t.seconds()};
}

KLITE_BENCH_WORKLOAD Result sqlite_scan(const DataSet& data, const fs::path& path,
                   std::uint64_t sample_every) {
  Verifier v{data, sample_every};
  std::uint64_t expect = 1;
  Timer t;
  {
    Sqlite db(path);
    sqlite_configure(db);
    auto* sel = db.prepare("SELECT k, v FROM t ORDER BY k");
    int rc;
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
      auto k = static_cast<std::uint64_t>(sqlite3_column_int64(sel, 0));
      if (k != expect)
        Verifier::fail("sqlite", expect, "scan found " + std::to_string(k));
      v.check(k, sqlite3_column_blob(sel, 1),
              static_cast<std::size_t>(sqlite3_column_bytes(sel, 1)),
              "sqlite");
      ++expect;
    }
    if (rc != SQLITE_DONE)
      db.die("scan");
  }
  if (expect != data.records() + 1)
    Verifier::fail("sqlite", expect, "scan ended early");
  return {"W4 scan", Family::SQLite, "sqlite SELECT ORDER BY k",
          data.records(), data.payload_bytes(), t.seconds()};
}

// Checkpoints the WAL into the main file and closes, so the space figure is
// the settled file (plus any WAL left behind).
void sqlite_settle(const fs::path& path) {
  Sqlite db(path);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

// ============================================================================
// LMDB
// ============================================================================

void mdb_check(int rc, const char* what) {
  if (rc != MDB_SUCCESS)
    throw std::runtime_error(std::string("lmdb: ") + what + ": " +
                             mdb_strerror(rc));
}

class Lmdb {
public:
  Lmdb(const fs::path& dir, std::size_t mapsize, unsigned flags) {
    mdb_check(mdb_env_create(&env_), "env_create");
    mdb_check(mdb_env_set_mapsize(env_, mapsize), "set_mapsize");
    int rc = mdb_env_open(env_, dir.c_str(), flags, 0664);
    if (rc != MDB_SUCCESS) {
      mdb_env_close(env_);
      mdb_check(rc, "env_open");
    }
  }
  ~Lmdb() { mdb_env_close(env_); }
  Lmdb(const Lmdb&) = delete;
  Lmdb& operator=(const Lmdb&) = delete;
  MDB_env* env() { return env_; }

private:
  MDB_env* env_ = nullptr;
};

// Aborts the transaction unless it was committed.
class MdbTxn {
public:
  MdbTxn(MDB_env* env, unsigned flags) {
    mdb_check(mdb_txn_begin(env, nullptr, flags, &txn_), "txn_begin");
  }
  ~MdbTxn() {
    if (txn_)
      mdb_txn_abort(txn_);
  }
  MdbTxn(const MdbTxn&) = delete;
  MdbTxn& operator=(const MdbTxn&) = delete;
  MDB_txn* get() { return txn_; }
  void commit() {
    MDB_txn* t = txn_;
    txn_ = nullptr;
    mdb_check(mdb_txn_commit(t), "txn_commit");
  }

private:
  MDB_txn* txn_ = nullptr;
};

std::size_t lmdb_mapsize(const DataSet& data) {
  // Leaf pages hold ~35 100-byte records; 4x the payload plus 1 GiB is
  // plenty for any record size, and costs only address space.
  return static_cast<std::size_t>(data.payload_bytes()) * 4 +
         (std::size_t{1} << 30) + data.records() * 64;
}

MDB_dbi lmdb_dbi(MDB_txn* txn, unsigned flags) {
  MDB_dbi dbi = 0;
  mdb_check(mdb_dbi_open(txn, nullptr, MDB_INTEGERKEY | flags, &dbi),
            "dbi_open");
  return dbi;
}

KLITE_BENCH_WORKLOAD Result lmdb_append(const Config& c, const DataSet& data, const fs::path& dir) {
  fs::create_directories(dir);
  Timer t;
  {
    Lmdb env(dir, lmdb_mapsize(data), MDB_NOSYNC);
    MDB_dbi dbi = 0;
    for (std::uint64_t k = 1; k <= data.records();) {
      std::uint64_t end = std::min<std::uint64_t>(k + c.batch,
                                                  data.records() + 1);
      MdbTxn txn(env.env(), 0);
      if (k == 1)
        dbi = lmdb_dbi(txn.get(), MDB_CREATE);
      for (; k < end; ++k) {
        std::size_t key = k; // MDB_INTEGERKEY: native size_t
        auto v = data.value(k);
        MDB_val mk{sizeof key, &key};
        MDB_val mv{v.size(), const_cast<char*>(v.data())};
        mdb_check(mdb_put(txn.get(), dbi, &mk, &mv, MDB_APPEND), "put");
      }
      txn.commit();
    }
  }
  return {"W1 append", Family::LMDB, "lmdb put MDB_APPEND", data.records(),
          data.payload_bytes(), t.seconds()};
}

KLITE_BENCH_WORKLOAD Result lmdb_get(const DataSet& data, const fs::path& dir,
                const std::vector<std::uint64_t>& keys,
                std::uint64_t sample_every) {
  Verifier v{data, sample_every};
  Timer t;
  {
    Lmdb env(dir, lmdb_mapsize(data), MDB_NOSYNC | MDB_RDONLY);
    MdbTxn txn(env.env(), MDB_RDONLY);
    MDB_dbi dbi = lmdb_dbi(txn.get(), 0);
    for (std::uint64_t k : keys) {
      std::size_t key = k;
      MDB_val mk{sizeof key, &key};
      MDB_val mv{};
      int rc = mdb_get(txn.get(), dbi, &mk, &mv);
      if (rc == MDB_NOTFOUND)
        Verifier::fail("lmdb", k, "not found");
      mdb_check(rc, "get");
      v.check(k, mv.mv_data, mv.mv_size, "lmdb");
    }
  }
  return {"W3 get", Family::LMDB, "lmdb mdb_get", keys.size(),
          keys.size() * data.value_size(), t.seconds()};
}

KLITE_BENCH_WORKLOAD Result lmdb_scan(const DataSet& data, const fs::path& dir,
                 std::uint64_t sample_every) {
  Verifier v{data, sample_every};
  std::uint64_t expect = 1;
  Timer t;
  {
    Lmdb env(dir, lmdb_mapsize(data), MDB_NOSYNC | MDB_RDONLY);
    MdbTxn txn(env.env(), MDB_RDONLY);
    MDB_dbi dbi = lmdb_dbi(txn.get(), 0);
    MDB_cursor* cur = nullptr;
    mdb_check(mdb_cursor_open(txn.get(), dbi, &cur), "cursor_open");
    MDB_val mk{}, mv{};
    int rc;
    for (rc = mdb_cursor_get(cur, &mk, &mv, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &mk, &mv, MDB_NEXT)) {
      std::size_t k = 0;
      std::memcpy(&k, mk.mv_data, sizeof k);
      if (k != expect)
        Verifier::fail("lmdb", expect, "scan found " + std::to_string(k));
      v.check(k, mv.mv_data, mv.mv_size, "lmdb");
      ++expect;
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
      mdb_check(rc, "cursor_get");
  }
  if (expect != data.records() + 1)
    Verifier::fail("lmdb", expect, "scan ended early");
  return {"W4 scan", Family::LMDB, "lmdb cursor MDB_NEXT", data.records(),
          data.payload_bytes(), t.seconds()};
}

// ============================================================================
// report
// ============================================================================

// The first result of `f` in `workload` (the peer a klite row compares to).
const Result* peer(const std::vector<Result>& rs, const std::string& workload,
                   Family f) {
  for (const auto& r : rs)
    if (r.workload == workload && r.family == f)
      return &r;
  return nullptr;
}

std::string ratio(double num, double den) {
  if (den <= 0 || num <= 0)
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", num / den);
  return buf;
}

std::string with_commas(double v) {
  auto n = static_cast<std::uint64_t>(v + 0.5);
  std::string digits = std::to_string(n), s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      s += ',';
    s += digits[i];
  }
  return s;
}

void print_table(const std::vector<Result>& rs) {
  std::printf("\n%-10s %-30s %13s %9s %8s %12s %12s\n", "workload", "engine",
              "ops/s", "MB/s", "secs", "klite/sqlite", "klite/lmdb");
  std::string last;
  for (const auto& r : rs) {
    if (r.space)
      continue;
    if (!last.empty() && r.workload != last)
      std::printf("\n");
    last = r.workload;
    std::string vs_sqlite, vs_lmdb;
    if (r.family == Family::Klite) {
      const Result* s = peer(rs, r.workload, Family::SQLite);
      const Result* l = peer(rs, r.workload, Family::LMDB);
      vs_sqlite = s ? ratio(r.ops_per_s(), s->ops_per_s()) : "-";
      vs_lmdb = l ? ratio(r.ops_per_s(), l->ops_per_s()) : "-";
    }
    std::printf("%-10s %-30s %13s %9.1f %8.3f %12s %12s\n",
                r.workload.c_str(), r.variant.c_str(),
                with_commas(r.ops_per_s()).c_str(), r.mb_per_s(), r.seconds,
                vs_sqlite.c_str(), vs_lmdb.c_str());
  }

  bool any_space = std::any_of(rs.begin(), rs.end(),
                               [](const Result& r) { return r.space; });
  if (!any_space)
    return;
  std::printf("\n%-10s %-30s %14s %14s %8s %12s %12s\n", "workload",
              "engine", "disk bytes", "payload", "disk/pay", "klite/sqlite",
              "klite/lmdb");
  for (const auto& r : rs) {
    if (!r.space)
      continue;
    std::string vs_sqlite, vs_lmdb;
    if (r.family == Family::Klite) {
      const Result* s = peer(rs, r.workload, Family::SQLite);
      const Result* l = peer(rs, r.workload, Family::LMDB);
      vs_sqlite = s ? ratio(static_cast<double>(r.disk_bytes),
                            static_cast<double>(s->disk_bytes))
                    : "-";
      vs_lmdb = l ? ratio(static_cast<double>(r.disk_bytes),
                          static_cast<double>(l->disk_bytes))
                  : "-";
    }
    std::printf("%-10s %-30s %14s %14s %8.3f %12s %12s\n", r.workload.c_str(),
                r.variant.c_str(),
                with_commas(static_cast<double>(r.disk_bytes)).c_str(),
                with_commas(static_cast<double>(r.bytes)).c_str(),
                r.amplification(), vs_sqlite.c_str(), vs_lmdb.c_str());
  }
}

const char* family_name(Family f) {
  switch (f) {
  case Family::Klite: return "klite";
  case Family::SQLite: return "sqlite";
  case Family::LMDB: return "lmdb";
  }
  return "?";
}

void print_json(const Config& c, const std::vector<Result>& rs) {
  std::printf("{\"records\": %" PRIu64 ", \"value_size\": %zu, "
              "\"batch\": %zu, \"gets\": %" PRIu64 ", \"results\": [\n",
              c.records, c.value_size, c.batch, c.gets);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const Result& r = rs[i];
    std::printf("  {\"workload\": %s, \"engine\": \"%s\", \"variant\": %s, ",
                klite::text::json_string(r.workload).c_str(),
                family_name(r.family),
                klite::text::json_string(r.variant).c_str());
    if (r.space)
      std::printf("\"disk_bytes\": %" PRIu64 ", \"apparent_bytes\": %" PRIu64
                  ", \"payload_bytes\": %" PRIu64 ", \"amplification\": %.4f}",
                  r.disk_bytes, r.apparent_bytes, r.bytes, r.amplification());
    else
      std::printf("\"ops\": %" PRIu64 ", \"seconds\": %.6f, "
                  "\"ops_per_s\": %.1f, \"mb_per_s\": %.2f}",
                  r.ops, r.seconds, r.ops_per_s(), r.mb_per_s());
    std::printf("%s\n", i + 1 < rs.size() ? "," : "");
  }
  std::printf("]}\n");
}

// W7's ratios: each query-layer variant's throughput over the native one.
void print_w7(const std::vector<Result>& rs) {
  const Result* native = nullptr;
  for (const auto& r : rs)
    if (r.workload == "W7 query" && r.variant == "klite WriteTxn::append")
      native = &r;
  if (!native)
    return;
  std::printf("\n%-10s %-30s %12s %14s\n", "workload", "engine", "vs native",
              "ns per record");
  for (const auto& r : rs)
    if (r.workload == "W7 query")
      std::printf("%-10s %-30s %12s %14.0f\n", r.workload.c_str(),
                  r.variant.c_str(),
                  ratio(r.ops_per_s(), native->ops_per_s()).c_str(),
                  r.seconds * 1e9 / static_cast<double>(r.ops));
}

// Progress on stderr, so stdout stays a clean table (or JSON).
void note(const Result& r) {
  std::fprintf(stderr, "  %-10s %-30s %8.3f s\n", r.workload.c_str(),
               r.variant.c_str(), r.seconds);
}

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
    for (const char* sub : {"klite", "klite-single", "sqlite", "lmdb", "w7"})
      if (fs::exists(paths.root / sub))
        throw std::runtime_error((paths.root / sub).string() +
                                 " exists; give an empty --dir");
  }
  for (const char* sub : {"klite", "klite-single", "sqlite", "lmdb", "w7"})
    fs::create_directories(paths.root / sub);

  struct Cleanup {
    fs::path root;
    bool remove_root;
    bool keep;
    ~Cleanup() {
      if (keep)
        return;
      std::error_code ec;
      for (const char* sub : {"klite", "klite-single", "sqlite", "lmdb", "w7"})
        fs::remove_all(root / sub, ec);
      if (remove_root)
        fs::remove(root, ec);
    }
  } cleanup{paths.root, own_dir, c.keep};

#ifndef NDEBUG
  std::fprintf(stderr, "warning: assertions are on; build with "
                       "-DCMAKE_BUILD_TYPE=Release for meaningful figures\n");
#endif
  std::fprintf(stderr,
               "klite-bench: %" PRIu64 " records x %zu B, %zu per txn, %" PRIu64
               " gets, dir %s\n",
               c.records, c.value_size, c.batch, c.gets,
               paths.root.c_str());
  std::fprintf(stderr, "  SQLite %s, LMDB %s\n", sqlite3_libversion(),
               mdb_version(nullptr, nullptr, nullptr));

  DataSet data(c.records, c.value_size, c.seed);
  std::vector<std::uint64_t> keys(c.gets);
  {
    std::mt19937_64 rng(c.seed);
    std::uniform_int_distribution<std::uint64_t> dist(1, c.records);
    for (auto& k : keys)
      k = dist(rng);
  }

  std::vector<Result> rs;
  auto add = [&](Result r) {
    note(r);
    rs.push_back(std::move(r));
  };

  auto want = [&](Family f) { return c.engines[static_cast<int>(f)]; };
  const bool K = want(Family::Klite), S = want(Family::SQLite),
             L = want(Family::LMDB);

  // W1: engines alternate; klite's per-record variant writes its own file.
  if (K) add(klite_append_batch(c, data, paths.klite()));
  if (S) add(sqlite_append(c, data, paths.sqlite()));
  if (L) add(lmdb_append(c, data, paths.lmdb()));
  if (K) add(klite_append_single(c, data, paths.klite_single()));

  // W3: every reader reopens its engine.
  if (K) add(klite_get_txn(data, paths.klite(), keys, c.sample_every, true));
  if (S) add(sqlite_get(data, paths.sqlite(), keys, c.sample_every));
  if (L) add(lmdb_get(data, paths.lmdb(), keys, c.sample_every));
  if (K) add(klite_get_txn(data, paths.klite(), keys, c.sample_every, false));
  if (K) add(klite_get_engine(data, paths.klite(), keys, c.sample_every));

  // W4
  if (K) add(klite_scan(data, paths.klite(), c.sample_every, true));
  if (S) add(sqlite_scan(data, paths.sqlite(), c.sample_every));
  if (L) add(lmdb_scan(data, paths.lmdb(), c.sample_every));
  if (K) add(klite_scan(data, paths.klite(), c.sample_every, false));
  if (K) add(klite_scan_query(data, paths.klite(), c.sample_every));

  // W6: everything is closed by now. Lock files (fixed size, no data) are
  // left out; every file that holds data or a log is in.
  if (K)
    rs.push_back(space_result(Family::Klite, "klite (append_batch file)",
                              data, {paths.klite()}));
  if (S) {
    sqlite_settle(paths.sqlite());
    rs.push_back(space_result(
        Family::SQLite, "sqlite (db + wal, checkpointed)", data,
        {paths.sqlite(), fs::path(paths.sqlite().string() + "-wal")}));
  }
  if (L)
    rs.push_back(space_result(Family::LMDB, "lmdb (data.mdb)", data,
                              {paths.lmdb() / "data.mdb"}));
  if (K)
    rs.push_back(space_result(Family::Klite, "klite (append file)", data,
                              {paths.klite_single()}));

  // W7 (klite only): native and prepared alternate for five rounds, each
  // on a new file, and the best round of each counts (single runs of
  // ~0.15 s vary by +-20% here with file growth and page-cache state).
  if (K) {
    std::optional<Result> native, prepared;
    for (int round = 0; round < 5; ++round) {
      Result n = klite_w7_native(data, paths.w7("native"));
      Result p = klite_w7_prepared(data, paths.w7("prepared"));
      if (!native || n.seconds < native->seconds)
        native = n;
      if (!prepared || p.seconds < prepared->seconds)
        prepared = p;
      fs::remove(paths.w7("native"));
      fs::remove(paths.w7("prepared"));
    }
    add(*native);
    add(*prepared);
    add(klite_w7_exec(data, paths.w7("exec")));
  }

  print_table(rs);
  print_w7(rs);
  if (c.json) {
    std::printf("\n");
    print_json(c, rs);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "klite-bench: %s\n", e.what());
    return 1;
  }
}
