// The query layer shared by threads (issue 8): each thread has its own
// session on an Engine (vm/session.h), so a BEGIN belongs to the thread that
// ran it. The test cases that start threads are called "Concurrency: ..."
// so that CI also runs them under ThreadSanitizer. Worker threads do not
// CHECK (doctest's CHECK is not thread-safe): they record what they saw,
// and the main thread checks it after join().
#include "tests/vm/vm_test_util.h"
#include "vm/session.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

// Failed CHECKs show the rows: {"1|1000000|'a'", "Busy: ..."}.
namespace doctest {
template <> struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string out = "{";
    for (std::size_t i = 0; i < v.size(); ++i)
      out += (i ? ", \"" : "\"") + v[i] + "\"";
    out += "}";
    return String(out.c_str());
  }
};
} // namespace doctest

using namespace klite;
using namespace klite::test;
using V = std::vector<std::uint64_t>;
using S = std::vector<std::string>;

namespace {

Options waiting(std::chrono::milliseconds timeout) {
  Options o = fast_options();
  o.busy_timeout = timeout;
  return o;
}
constexpr std::chrono::milliseconds kPatient{30'000};

std::uint64_t committed(Engine& e, std::string_view stream) {
  ReadTxn t = e.read();
  return t.has_stream(stream) ? t.info(stream).records : 0;
}

template <class F> void on_thread(F&& f) {
  std::thread t(std::forward<F>(f));
  t.join();
}

// A one-way signal between threads.
struct Flag {
  std::atomic<bool> value{false};
  void set() { value.store(true); }
  void wait() const {
    while (!value.load())
      std::this_thread::yield();
  }
};

// The first problem a worker thread records, for the main thread to CHECK.
struct Problem {
  std::string what;
  void operator()(std::string w) {
    if (what.empty())
      what = std::move(w);
  }
};

std::string busy(const std::string& path, int col = 1) {
  return "Busy: line 1, col " + std::to_string(col) + ": " + path +
         ": a write transaction is already open";
}

} // namespace

TEST_CASE("Concurrency: 4 threads run ADD and GET through exec() and "
          "prepared statements on one Engine") {
  Db db(waiting(kPatient));
  constexpr int kThreads = 4;
  constexpr std::uint64_t kRounds = 300;
  std::vector<Problem> problems(kThreads);
  std::vector<V> shared_keys(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Problem& problem = problems[i];
      const std::string own = "t" + std::to_string(i);
      try {
        Statement add = db->prepare("ADD ? TO shared");
        Statement get = db->prepare("GET ? FROM shared");
        for (std::uint64_t k = 1; k <= kRounds; ++k) {
          const std::string v = own + ":" + std::to_string(k);
          // exec(): the thread's own stream gets dense keys, read back.
          if (V got = keys(*db, "ADD '" + v + "' TO " + own); got != V{k})
            problem(v + ": ADD returned " + std::to_string(got.size()) +
                    " keys, the first " +
                    (got.empty() ? "-" : std::to_string(got[0])));
          const S want{std::to_string(k) + "|1000000|'" + v + "'"};
          if (rows(*db, "GET " + std::to_string(k) + " FROM " + own) != want)
            problem(v + ": GET does not return it");
          // Prepared: the stream all threads add to, read back by key.
          add.bind(1, v);
          if (!add.step()) {
            problem(v + ": the prepared ADD returned no key");
            continue;
          }
          const std::uint64_t key = add.row()[0].as_integer();
          add.reset();
          shared_keys[i].push_back(key);
          get.bind(1, key);
          if (!get.step() || get.row()[2].as_bytes() != v)
            problem(v + ": the prepared GET " + std::to_string(key) +
                    " does not return it");
          get.reset();
        }
      } catch (const Error& e) {
        problem(std::string(to_string(e.code())) + ": " + e.what());
      }
    });
  }
  for (std::thread& t : threads)
    t.join();

  V all;
  for (int i = 0; i < kThreads; ++i) {
    CAPTURE(i);
    CHECK(problems[i].what == "");
    CHECK(std::is_sorted(shared_keys[i].begin(), shared_keys[i].end()));
    CHECK(committed(*db, "t" + std::to_string(i)) == kRounds);
    all.insert(all.end(), shared_keys[i].begin(), shared_keys[i].end());
  }
  std::sort(all.begin(), all.end());
  CHECK(all == range(1, kThreads * kRounds)); // each key to one ADD
  CHECK(committed(*db, "shared") == kThreads * kRounds);
}

TEST_CASE("Concurrency: each thread's BEGIN ... COMMIT is atomic, and its "
          "ROLLBACK leaves nothing") {
  Db db(waiting(kPatient));
  db->exec("CREATE STREAM pairs");
  constexpr int kThreads = 4;
  constexpr int kTxns = 60;
  std::vector<Problem> problems(kThreads + 1);
  std::vector<S> kept(kThreads); // the "i:t" of each committed pair
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> snapshots{0};
  std::atomic<bool> reader_ended{false}; // e.g. it failed before its first

  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Problem& problem = problems[i];
      // Under load the writers could finish before the reader first runs.
      while (snapshots.load() == 0 && !reader_ended.load())
        std::this_thread::yield();
      try {
        for (int t = 1; t <= kTxns; ++t) {
          const std::string tag = std::to_string(i) + ":" + std::to_string(t);
          db->exec("BEGIN");
          V a = keys(*db, "ADD '" + tag + "a' TO pairs");
          V b = keys(*db, "ADD '" + tag + "b' TO pairs");
          if (a.size() != 1 || b != V{a[0] + 1})
            problem(tag + ": the pair's keys are not adjacent");
          // The thread sees its own uncommitted pair.
          S last = rows(*db, "GET LAST 2 FROM pairs");
          if (last.size() != 2 ||
              last[0].find(tag + "a'") == std::string::npos ||
              last[1].find(tag + "b'") == std::string::npos)
            problem(tag + ": GET LAST 2 inside BEGIN does not show the pair");
          if (t % 4 == 0) {
            db->exec("ROLLBACK");
          } else {
            db->exec("COMMIT");
            kept[i].push_back(tag);
          }
        }
      } catch (const Error& e) {
        problem(std::string(to_string(e.code())) + ": " + e.what());
      }
    });
  }
  // A reader outside any BEGIN sees whole pairs only.
  std::thread reader([&] {
    Problem& problem = problems[kThreads];
    try {
      Statement last = db->prepare("GET LAST 2 FROM pairs");
      while (!stop.load()) {
        S r = rows(last);
        last.reset();
        ++snapshots;
        if (r.empty())
          continue;
        if (r.size() != 2 || r[0].back() != '\'' || r[1].back() != '\'') {
          problem("GET LAST 2 returned " + std::to_string(r.size()) + " rows");
          continue;
        }
        // "k|ts|'i:ta'" and "k+1|ts|'i:tb'"
        std::string a = r[0].substr(r[0].find('\'')),
                    b = r[1].substr(r[1].find('\''));
        if (a.size() < 4 ||
            a.substr(0, a.size() - 2) != b.substr(0, b.size() - 2) ||
            a[a.size() - 2] != 'a' || b[b.size() - 2] != 'b')
          problem("half a pair: " + r[0] + " " + r[1]);
      }
    } catch (const Error& e) {
      problem("reader: " + std::string(to_string(e.code())) + ": " + e.what());
    }
    reader_ended.store(true);
  });
  for (std::thread& t : threads)
    t.join();
  stop.store(true);
  reader.join();

  for (std::size_t i = 0; i < problems.size(); ++i) {
    CAPTURE(i);
    CHECK(problems[i].what == "");
  }
  CHECK(snapshots.load() > 0);
  // The file holds exactly the committed pairs, each whole, keys dense.
  std::set<std::string> want;
  for (const S& k : kept)
    want.insert(k.begin(), k.end());
  S all = rows(*db, "GET 100000 AFTER 0 FROM pairs");
  REQUIRE(all.size() == 2 * want.size());
  std::set<std::string> got;
  for (std::size_t j = 0; j < all.size(); j += 2) {
    const std::string a = all[j].substr(all[j].find('\'') + 1),
                      b = all[j + 1].substr(all[j + 1].find('\'') + 1);
    CHECK(all[j].rfind(std::to_string(j + 1) + "|", 0) == 0);
    CHECK(a.substr(0, a.size() - 2) == b.substr(0, b.size() - 2));
    got.insert(a.substr(0, a.size() - 2));
  }
  CHECK(got == want);
  CHECK(want.size() == kThreads * (kTxns - kTxns / 4));
}

TEST_CASE("Concurrency: a BEGIN on one thread is not seen by another") {
  Db db; // busy_timeout 0: Busy at once
  const std::string path = db.dir.file();
  db->exec("ADD 'one' TO s");
  db->exec("BEGIN; ADD 'two' TO s; CREATE STREAM t").drain();
  S seen;
  on_thread([&] {
    // Reads run in a snapshot of their own: the last commit.
    for (const std::string& r : rows(*db, "GET FIRST 10 FROM s"))
      seen.push_back(r);
    seen.push_back(error_of([&] { db->exec("GET 1 FROM t"); }));
    // Writes need the writer, which the other thread's BEGIN holds.
    seen.push_back(error_of([&] { db->exec("ADD 'three' TO s"); }));
    seen.push_back(error_of([&] { db->exec("CREATE STREAM u"); }));
    seen.push_back(error_of([&] { db->exec("BEGIN"); }));
    seen.push_back(error_of([&] { db->exec("VACUUM"); }));
    Statement add = db->prepare("ADD ? TO s");
    add.bind(1, "three");
    seen.push_back(error_of([&] { add.step(); }));
    // This thread has no BEGIN to end.
    seen.push_back(error_of([&] { db->exec("COMMIT"); }));
    seen.push_back(error_of([&] { db->exec("ROLLBACK"); }));
  });
  CHECK(seen == S{"1|1000000|'one'",
                  "NoSuchStream: line 1, col 12: no such stream: t", busy(path),
                  busy(path), busy(path), busy(path), busy(path),
                  "Misuse: line 1, col 1: no transaction is open",
                  "Misuse: line 1, col 1: no transaction is open"});
  // The BEGIN is still open here, with its changes.
  CHECK(keys(*db, "GET FIRST 10 FROM s") == V{1, 2});
  CHECK(rows(*db, "SHOW STREAMS").size() == 2);
  db->exec("COMMIT");
  V after;
  on_thread([&] { after = keys(*db, "ADD 'three' TO s"); });
  CHECK(after == V{3});
  CHECK(committed(*db, "s") == 3);
  CHECK(committed(*db, "t") == 0);
  CHECK(db->read().has_stream("t"));
}

TEST_CASE("Concurrency: another thread's write waits for COMMIT, up to "
          "busy_timeout") {
  SUBCASE("it waits, and runs after the COMMIT") {
    Db db(waiting(kPatient));
    db->exec("BEGIN; ADD 'first' TO s").drain();
    std::atomic<bool> committing{false};
    bool after_commit = false;
    V got;
    std::thread other([&] {
      got = keys(*db, "ADD 'second' TO s"); // waits for the COMMIT below
      after_commit = committing.load();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    committing.store(true);
    db->exec("COMMIT");
    other.join();
    CHECK(got == V{2});
    CHECK(after_commit);
    CHECK(committed(*db, "s") == 2);
  }
  SUBCASE("Busy once busy_timeout has passed") {
    Db db(waiting(std::chrono::milliseconds(20)));
    const std::string path = db.dir.file();
    db->exec("BEGIN; ADD 'first' TO s").drain();
    S seen;
    on_thread([&] {
      seen.push_back(error_of([&] { db->exec("ADD 'second' TO s"); }));
      seen.push_back(error_of([&] { db->exec("  BEGIN"); }));
    });
    CHECK(seen ==
          S{busy(path) + " (waited 20 ms)", busy(path, 3) + " (waited 20 ms)"});
    db->exec("COMMIT");
    CHECK(committed(*db, "s") == 1);
  }
}

TEST_CASE("Concurrency: a thread that exits with an open BEGIN rolls it "
          "back") {
  Db db; // busy_timeout 0: a BEGIN left open would make writes here Busy
  db->exec("ADD 'keep' TO s");
  std::optional<Statement> get;
  std::optional<Result> script;
  bool stepped = false;
  on_thread([&] {
    db->exec("BEGIN; ADD 'lost' TO s; CREATE STREAM t").drain();
    get.emplace(db->prepare("GET FIRST 10 FROM s"));
    stepped = get->step();                           // in the thread's BEGIN
    script.emplace(db->exec("ADD 'a' TO u; BEGIN")); // runs up to a row
  });
  CHECK(stepped);
  CHECK(committed(*db, "s") == 1);
  CHECK(!db->read().has_stream("t"));
  CHECK(!db->read().has_stream("u"));
  // The writer is free again, and the lost record's key is unused.
  CHECK(keys(*db, "ADD 'next' TO s") == V{2});

  // A statement that ran in that BEGIN cannot go on.
  CHECK(error_of([&] { get->step(); }) ==
        "Misuse: line 1, col 1: the transaction this statement ran in has "
        "ended");
  CHECK(!get->step());
  get->reset(); // started again here: in this thread's session
  CHECK(rows(*get) == S{"1|1000000|'keep'", "2|1000000|'next'"});

  // The script ran in the exited thread's session: its ADD's key (rolled
  // back with the BEGIN) is still reported, and the BEGIN cannot open.
  REQUIRE(script->next());
  CHECK(script->row()[0].as_integer() == 1);
  CHECK(error_of([&] { script->next(); }) ==
        "Misuse: line 1, col 15: BEGIN in a script whose thread has exited");
  CHECK(!script->next());
  CHECK(!db->read().has_stream("u"));
  db->exec("BEGIN; ADD 'c' TO s; COMMIT").drain();
  CHECK(committed(*db, "s") == 3);
}

TEST_CASE("Concurrency: destroying the Engine rolls back another thread's "
          "open BEGIN") {
  TempDir dir;
  Options o = waiting(kPatient);
  o.clock = FakeClock();
  std::optional<Engine> e(Engine::open(dir.file(), o));
  e->exec("ADD 'keep' TO s");
  // Prepared here: the threads may not use *e while it is destroyed.
  Statement begin = e->prepare("BEGIN");
  Statement add = e->prepare("ADD ? TO s");
  Statement get = e->prepare("GET FIRST 10 FROM s");
  Statement begin2 = e->prepare("BEGIN");
  Flag begun, waiting_begin, closed;
  S owner_saw;
  std::string waiter_saw;
  std::thread owner([&] {
    try {
      begin.step();
      add.bind(1, "lost");
      add.step();
      add.reset();
      if (get.step()) // in the BEGIN: row 1 of 2
        owner_saw.push_back(show(get.row()));
    } catch (const Error& x) {
      owner_saw.push_back(std::string("error: ") + x.what());
    }
    begun.set();
    closed.wait();
    owner_saw.push_back(error_of([&] { get.step(); }));
    begin.reset();
    owner_saw.push_back(error_of([&] { begin.step(); }));
    add.bind(1, "own"); // on its own now
    try {
      for (const std::string& r : rows(add))
        owner_saw.push_back(r);
    } catch (const Error& x) {
      owner_saw.push_back(std::string("error: ") + x.what());
    }
    get.reset();
    try {
      for (const std::string& r : rows(get))
        owner_saw.push_back(r);
    } catch (const Error& x) {
      owner_saw.push_back(std::string("error: ") + x.what());
    }
  });
  begun.wait();
  // Another thread waits in BEGIN for the owner's writer as the Engine goes.
  std::thread waiter([&] {
    waiting_begin.set();
    waiter_saw = error_of([&] { begin2.step(); });
  });
  waiting_begin.wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  e.reset();
  closed.set();
  owner.join();
  waiter.join();

  CHECK(owner_saw ==
        S{"1|1000000|'keep'",
          "Misuse: line 1, col 1: the transaction this statement ran in has "
          "ended",
          "Misuse: line 1, col 1: BEGIN after the Engine was closed", "2",
          "1|1000000|'keep'", "2|1000000|'own'"});
  CHECK(waiter_saw ==
        "Misuse: line 1, col 1: BEGIN after the Engine was closed");
  Engine again = Engine::open(dir.file(), fast_options());
  CHECK(committed(again, "s") == 2);
  again.exec("BEGIN; ADD 'c' TO s; COMMIT").drain(); // the writer is free
  CHECK(committed(again, "s") == 3);
}

TEST_CASE("Concurrency: a Statement moved between threads runs in the "
          "session of the thread that starts it") {
  Db db; // busy_timeout 0
  const std::string path = db.dir.file();
  db->exec("ADD 'a' TO s");
  Statement get = db->prepare("GET 10 AFTER 0 FROM s");
  Statement add = db->prepare("ADD ? TO s");
  db->exec("BEGIN; ADD 'b' TO s").drain();
  // Started here, it runs in this thread's BEGIN, also when another thread
  // steps it on.
  REQUIRE(get.step());
  CHECK(show(get.row()) == "1|1000000|'a'");
  S rest, own_read;
  std::string own_write;
  on_thread([&] {
    while (get.step())
      rest.push_back(show(get.row()));
    get.reset();
    // Started on this thread, which has no BEGIN: transactions of their
    // own, so the read does not see 'b' and the write is Busy.
    own_read = rows(get);
    get.reset();
    add.bind(1, "c");
    own_write = error_of([&] { add.step(); });
    add.reset();
  });
  CHECK(rest == S{"2|1000000|'b'"});
  CHECK(own_read == S{"1|1000000|'a'"});
  CHECK(own_write == busy(path));
  // Back here, they join this thread's BEGIN again.
  add.bind(1, "c");
  CHECK(rows(add) == S{"3"});
  add.reset();
  CHECK(rows(get).size() == 3);
  get.reset();
  db->exec("COMMIT");
  S later;
  on_thread([&] {
    add.bind(1, "d");
    later = rows(add);
    add.reset();
  });
  CHECK(later == S{"4"});
  CHECK(committed(*db, "s") == 4);
}

TEST_CASE("Concurrency: an exec() script runs in the session of the thread "
          "that called exec()") {
  Db db;
  Result r = db->exec("BEGIN; ADD 'a' TO s; ADD 'b' TO s; COMMIT");
  V got;
  on_thread([&] { got = keys(std::move(r)); }); // BEGIN ... COMMIT there
  CHECK(got == V{1, 2});
  CHECK(committed(*db, "s") == 2);
  CHECK(error_of([&] { db->exec("COMMIT"); }) ==
        "Misuse: line 1, col 1: no transaction is open");
  // And the other way: a thread's script in its BEGIN, consumed here.
  std::optional<Result> script;
  on_thread([&] {
    db->exec("BEGIN");
    script.emplace(db->exec("ADD 'c' TO s; COMMIT"));
  });
  // That thread exited before the script's COMMIT: rolled back.
  REQUIRE(script->next());
  CHECK(error_of([&] { script->next(); }) ==
        "Misuse: line 1, col 15: no transaction is open");
  CHECK(committed(*db, "s") == 2);
}

TEST_CASE("Concurrency: interrupt() stops the running statements of every "
          "thread") {
  Db db;
  {
    std::vector<std::string> values;
    for (int k = 1; k <= 20'000; ++k)
      values.push_back("v" + std::to_string(k));
    std::vector<std::string_view> views(values.begin(), values.end());
    WriteTxn t = db->write();
    t.append_batch("s", views);
    t.commit();
  }
  constexpr int kThreads = 3;
  std::atomic<int> started{0};
  Flag sent;
  std::vector<S> saw(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      S& out = saw[i];
      try {
        // Thread 0 reads inside its BEGIN, which the interrupt leaves open.
        if (i == 0)
          db->exec("BEGIN; ADD 'mine' TO s").drain();
        Result r = db->exec("GET 20000 AFTER 0 FROM s");
        std::uint64_t n = 0;
        while (n < 100 && r.next())
          ++n;
        out.push_back(std::to_string(n));
        ++started;
        sent.wait();
        out.push_back(error_of([&] { r.next(); }));
        // Thread 0 sees its uncommitted record; the others do not.
        out.push_back(std::to_string(
            keys(*db, i == 0 ? "GET LAST 1 FROM s" : "GET 1 FROM s").at(0)));
        if (i == 0)
          db->exec("COMMIT");
      } catch (const Error& e) {
        out.push_back(std::string("error: ") + e.what());
      }
    });
  }
  while (started.load() < kThreads)
    std::this_thread::yield();
  db->interrupt();
  sent.set();
  for (std::thread& t : threads)
    t.join();
  const std::string interrupted = "Interrupted: line 1, col 1: interrupted";
  CHECK(saw[0] == S{"100", interrupted, "20001"}); // its own 'mine'
  for (int i = 1; i < kThreads; ++i) {
    CAPTURE(i);
    CHECK(saw[i] == S{"100", interrupted, "1"});
  }
  CHECK(committed(*db, "s") == 20'001);
}

namespace {
// Steps `statement` when its thread exits: set it up before the thread's
// first statement, so that it is destroyed after the thread's sessions.
struct StepAtExit {
  Statement* statement = nullptr;
  std::string* saw = nullptr;
  ~StepAtExit() {
    if (statement)
      *saw = error_of([&] {
        if (!statement->step())
          throw Error(ErrorCode::NotFound, "no row");
      });
  }
};
thread_local StepAtExit step_at_exit;
} // namespace

TEST_CASE("Concurrency: statements stepped after the thread's sessions are "
          "gone, as the thread exits") {
  Db db;
  Statement begin = db->prepare("BEGIN");
  Statement add = db->prepare("ADD 'late' TO s");
  std::string begin_saw, add_saw;
  on_thread([&] {
    step_at_exit.statement = &begin;
    step_at_exit.saw = &begin_saw;
    db->exec("ADD 'early' TO s"); // the thread's sessions exist from here
  });
  CHECK(begin_saw ==
        "Misuse: line 1, col 1: BEGIN on a thread that is exiting");
  on_thread([&] {
    step_at_exit.statement = &add;
    step_at_exit.saw = &add_saw;
    db->exec("ADD 'early' TO s");
  });
  CHECK(add_saw == "no error"); // on its own, as outside any BEGIN
  CHECK(committed(*db, "s") == 3);
  db->exec("BEGIN; COMMIT").drain(); // nothing was left open
}

TEST_CASE("Concurrency: destroying the Engine while another thread steps a "
          "statement in its BEGIN") {
  // The destruction waits for the step in progress, then rolls the BEGIN
  // back; the thread's next step says so. The thread reads only the keys
  // of its rows: their values are bytes of the transaction, which the
  // rollback frees (engine.h: exec()'s REQUIRES).
  TempDir dir;
  constexpr std::uint64_t kRecords = 20'000;
  std::optional<Engine> e(Engine::open(dir.file(), waiting(kPatient)));
  {
    std::vector<std::string> values(kRecords, "v");
    std::vector<std::string_view> views(values.begin(), values.end());
    WriteTxn t = e->write();
    t.append_batch("s", views);
    t.commit();
  }
  Statement begin = e->prepare("BEGIN");
  Statement get = e->prepare("GET 20000 AFTER 0 FROM s");
  Flag started;
  std::uint64_t rows_seen = 0;
  bool in_order = true;
  std::string end;
  std::thread owner([&] {
    try {
      begin.step();
      while (get.step()) {
        in_order = in_order && get.row()[0].as_integer() == ++rows_seen;
        if (rows_seen == 100)
          started.set();
      }
      end = "done";
    } catch (const Error& x) {
      end = std::string(to_string(x.code())) + ": " + x.what();
    }
    started.set();
  });
  started.wait();
  e.reset();
  owner.join();
  CHECK(in_order);
  CAPTURE(rows_seen);
  CHECK(rows_seen >= 100);
  if (rows_seen < kRecords)
    CHECK(end == "Misuse: line 1, col 1: the transaction this statement ran "
                 "in has ended");
  else
    CHECK(end == "done");
  Engine again = Engine::open(dir.file(), fast_options());
  CHECK(committed(again, "s") == kRecords);
  again.exec("BEGIN; COMMIT").drain(); // the writer is free
}

TEST_CASE("Concurrency: statements in one BEGIN stepped from two threads at "
          "once take turns") {
  Db db;
  constexpr std::uint64_t kRead = 2000, kAdd = 2000;
  std::string script = "ADD 'r'";
  for (std::uint64_t i = 1; i < kRead; ++i)
    script += ", 'r'";
  db->exec(script + " TO s").drain();
  Statement get = db->prepare("GET " + std::to_string(kRead) +
                              " AFTER 0 FROM s");
  Statement add = db->prepare("ADD 'w' TO s");
  db->exec("BEGIN");
  // Started here, the GET runs in this thread's BEGIN also while the other
  // thread steps it on, so both threads step statements of one write
  // transaction at once: every step() takes the session's lock.
  REQUIRE(get.step());
  std::vector<std::uint64_t> keys{get.row()[0].as_integer()};
  Problem problem;
  Flag go;
  std::thread other([&] {
    go.wait();
    try {
      while (get.step()) {
        keys.push_back(get.row()[0].as_integer());
        if (get.row()[2].as_bytes() != "r")
          problem("row " + std::to_string(keys.back()) + " is not 'r'");
      }
    } catch (const Error& e) {
      problem(e.what());
    }
  });
  go.set();
  // Nothing may throw out of here while `other` runs (REQUIRE would).
  std::uint64_t added = 0;
  std::string failure;
  try {
    while (added < kAdd && add.step() &&
           add.row()[0].as_integer() == kRead + added + 1) {
      ++added;
      add.reset();
    }
  } catch (const Error& e) {
    failure = e.what();
  }
  other.join();
  CHECK(failure == "");
  CHECK(added == kAdd);
  CHECK(problem.what == "");
  V want(kRead);
  for (std::uint64_t k = 0; k < kRead; ++k)
    want[k] = k + 1;
  CHECK(keys == want);
  CHECK(committed(*db, "s") == kRead); // not before COMMIT
  db->exec("COMMIT");
  CHECK(committed(*db, "s") == kRead + kAdd);
}

TEST_CASE("Concurrency: the session lock excludes, and wakes its waiters") {
  vm::SessionMutex mu;
  constexpr int kThreads = 4, kRounds = 20000;
  std::uint64_t count = 0; // guarded by mu; TSan reports any race
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        std::lock_guard lock(mu);
        ++count;
        if (r % 1000 == 0) // hold it long enough for others to sleep on it
          std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    });
  for (std::thread& t : threads)
    t.join();
  CHECK(count == std::uint64_t{kThreads} * kRounds);
}
