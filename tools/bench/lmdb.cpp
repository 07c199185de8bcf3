// LMDB's side of klite-bench.
//
// Configuration (its honest best for a journal): the unnamed database with
// MDB_INTEGERKEY (native size_t keys, compared as integers) and every put
// with MDB_APPEND (keys arrive in order, so no search and full pages).
// MDB_NOSYNC for the no-sync runs; the default (an fdatasync of the data
// and one of the meta page per commit) for W2. No MDB_WRITEMAP (it trades
// safety against stray writes for speed). Reads through read-only
// transactions, values read in place from the map. The map size is only
// address space (4x the payload plus 1 GiB).
#include "tools/bench/bench.h"

#include <lmdb.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace kbench {

namespace {

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS)
    throw std::runtime_error(std::string("lmdb: ") + what + ": " +
                             mdb_strerror(rc));
}

class Env {
public:
  Env(const fs::path& dir, std::size_t mapsize, unsigned flags) {
    check(mdb_env_create(&env_), "env_create");
    check(mdb_env_set_mapsize(env_, mapsize), "set_mapsize");
    int rc = mdb_env_open(env_, dir.c_str(), flags, 0664);
    if (rc != MDB_SUCCESS) {
      mdb_env_close(env_);
      check(rc, "env_open");
    }
  }
  ~Env() { mdb_env_close(env_); }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  MDB_env* get() { return env_; }

private:
  MDB_env* env_ = nullptr;
};

// Aborts the transaction unless it was committed.
class Txn {
public:
  Txn(MDB_env* env, unsigned flags) {
    check(mdb_txn_begin(env, nullptr, flags, &txn_), "txn_begin");
  }
  ~Txn() {
    if (txn_)
      mdb_txn_abort(txn_);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  MDB_txn* get() { return txn_; }
  void commit() {
    MDB_txn* t = txn_;
    txn_ = nullptr;
    check(mdb_txn_commit(t), "txn_commit");
  }

private:
  MDB_txn* txn_ = nullptr;
};

std::size_t mapsize(const DataSet& data) {
  return static_cast<std::size_t>(data.payload_bytes()) * 4 +
         (std::size_t{1} << 30) + data.records() * 64;
}

MDB_dbi open_dbi(MDB_txn* txn, unsigned flags) {
  MDB_dbi dbi = 0;
  check(mdb_dbi_open(txn, nullptr, MDB_INTEGERKEY | flags, &dbi), "dbi_open");
  return dbi;
}

// Deletes the records with keys below `bound`, from the first on: LMDB has
// no range delete, and its freed pages are reused once no reader holds them.
void delete_below(MDB_txn* txn, MDB_dbi dbi, std::uint64_t bound) {
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn, dbi, &cur), "cursor_open");
  MDB_val mk, mv;
  int rc = mdb_cursor_get(cur, &mk, &mv, MDB_FIRST);
  std::size_t key = 0;
  // After mdb_cursor_del the cursor is on the next record, which MDB_NEXT
  // then returns rather than skips.
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &mk, &mv, MDB_NEXT)) {
    std::memcpy(&key, mk.mv_data, sizeof key);
    if (key >= bound)
      break;
    rc = mdb_cursor_del(cur, 0);
    if (rc != MDB_SUCCESS)
      break;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
    check(rc, "cursor_del");
}

void put(MDB_txn* txn, MDB_dbi dbi, std::uint64_t k, std::string_view v) {
  std::size_t key = k; // MDB_INTEGERKEY: native size_t
  MDB_val mk{sizeof key, &key};
  MDB_val mv{v.size(), const_cast<char*>(v.data())};
  check(mdb_put(txn, dbi, &mk, &mv, MDB_APPEND), "put");
}

} // namespace

const char* lmdb_version() { return mdb_version(nullptr, nullptr, nullptr); }

std::vector<fs::path> lmdb_files(const fs::path& dir) {
  return {dir / "data.mdb"}; // lock.mdb is fixed-size and holds no data
}

KLITE_BENCH_WORKLOAD Result lmdb_append(const std::string& workload,
                                        const Config& c, const DataSet& data,
                                        const fs::path& dir,
                                        std::uint64_t keep) {
  fs::create_directories(dir);
  Batch batch(data, c.batch);
  Stopwatch sw;
  sw.start();
  {
    Env env(dir, mapsize(data), MDB_NOSYNC);
    MDB_dbi dbi = 0;
    for (std::uint64_t k = 1; k <= data.records();) {
      std::uint64_t end =
          std::min<std::uint64_t>(k + c.batch, data.records() + 1);
      sw.stop();
      batch.load(k, end);
      sw.start();
      Txn txn(env.get(), 0);
      if (k == 1)
        dbi = open_dbi(txn.get(), MDB_CREATE);
      for (std::uint64_t i = 0; k < end; ++k, ++i)
        put(txn.get(), dbi, k, batch.value(i));
      if (keep && end - 1 > keep)
        delete_below(txn.get(), dbi, end - keep);
      txn.commit();
    }
  }
  sw.stop();
  return {workload,
          Family::LMDB,
          keep ? "lmdb put MDB_APPEND + cursor del" : "lmdb put MDB_APPEND",
          data.records(),
          data.payload_bytes(),
          sw.seconds()};
}

KLITE_BENCH_WORKLOAD Result lmdb_durable(const DataSet& data,
                                         const fs::path& dir) {
  fs::create_directories(dir);
  Batch values(data, data.records());
  values.load(1, data.records() + 1);
  std::vector<double> lat;
  lat.reserve(data.records());
  Env env(dir, mapsize(data), 0);
  MDB_dbi dbi = 0;
  {
    Txn txn(env.get(), 0);
    dbi = open_dbi(txn.get(), MDB_CREATE);
    txn.commit();
  }
  Stopwatch all;
  all.start();
  for (std::uint64_t k = 1; k <= data.records(); ++k) {
    auto t0 = Stopwatch::clock::now();
    Txn txn(env.get(), 0);
    put(txn.get(), dbi, k, values.value(k - 1));
    txn.commit();
    lat.push_back(
        std::chrono::duration<double>(Stopwatch::clock::now() - t0).count());
  }
  all.stop();
  Result r{"W2 durable commit", Family::LMDB,         "lmdb default sync",
           data.records(),      data.payload_bytes(), all.seconds()};
  set_latencies(r, std::move(lat));
  return r;
}

KLITE_BENCH_WORKLOAD Result lmdb_get(const Config& c, const DataSet& data,
                                     const fs::path& dir) {
  Verifier v(data, c.sample_every);
  UniformSeq keys(c.seed, 1, data.records());
  Env env(dir, mapsize(data), MDB_NOSYNC | MDB_RDONLY);
  Stopwatch sw;
  sw.start();
  {
    Txn txn(env.get(), MDB_RDONLY);
    MDB_dbi dbi = open_dbi(txn.get(), 0);
    for (std::uint64_t i = 0; i < c.gets; ++i) {
      std::size_t key = keys.next();
      MDB_val mk{sizeof key, &key};
      MDB_val mv{};
      int rc = mdb_get(txn.get(), dbi, &mk, &mv);
      if (rc == MDB_NOTFOUND)
        Verifier::fail("lmdb", key, "not found");
      check(rc, "get");
      v.check(key, mv.mv_data, mv.mv_size, "lmdb");
    }
  }
  sw.stop();
  return {"W3 random get",
          Family::LMDB,
          "lmdb mdb_get",
          c.gets,
          c.gets * data.value_size(),
          sw.seconds()};
}

KLITE_BENCH_WORKLOAD Result lmdb_scan(const Config& c, const DataSet& data,
                                      const fs::path& dir, bool forward) {
  Verifier v(data, c.sample_every);
  std::uint64_t expect = forward ? 1 : data.records();
  std::uint64_t seen = 0;
  Env env(dir, mapsize(data), MDB_NOSYNC | MDB_RDONLY);
  Stopwatch sw;
  sw.start();
  {
    Txn txn(env.get(), MDB_RDONLY);
    MDB_dbi dbi = open_dbi(txn.get(), 0);
    MDB_cursor* cur = nullptr;
    check(mdb_cursor_open(txn.get(), dbi, &cur), "cursor_open");
    MDB_val mk{}, mv{};
    const MDB_cursor_op start = forward ? MDB_FIRST : MDB_LAST;
    const MDB_cursor_op step = forward ? MDB_NEXT : MDB_PREV;
    int rc;
    for (rc = mdb_cursor_get(cur, &mk, &mv, start); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &mk, &mv, step)) {
      std::size_t k = 0;
      std::memcpy(&k, mk.mv_data, sizeof k);
      if (k != expect) {
        mdb_cursor_close(cur);
        Verifier::fail("lmdb", expect, "scan found " + std::to_string(k));
      }
      v.check(k, mv.mv_data, mv.mv_size, "lmdb");
      expect += forward ? 1 : -1;
      ++seen;
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
      check(rc, "cursor_get");
  }
  sw.stop();
  if (seen != data.records())
    Verifier::fail("lmdb", expect, "scan ended early");
  return {forward ? "W4 forward scan" : "W5 backward scan",
          Family::LMDB,
          forward ? "lmdb cursor MDB_NEXT" : "lmdb cursor MDB_PREV",
          data.records(),
          data.payload_bytes(),
          sw.seconds()};
}

} // namespace kbench
