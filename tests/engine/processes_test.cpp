// Several processes on one file (issue 8): a writer process and 4 reader
// processes, readers checking every snapshot, while the parent SIGKILLs
// readers and the writer at random and starts new ones. Each new writer
// gets the lock of the one killed; each killed reader's slot is reclaimed;
// no reader ever sees a snapshot that mixes commits, and the file checks
// clean at the end.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/inspect.h"
#include "snapshot_util.h"
#include "test_util.h"

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using klite::Engine;

#if defined(KLITE_LONG_TESTS) && KLITE_LONG_TESTS
constexpr auto kRun = std::chrono::seconds(20);
#else
constexpr auto kRun = std::chrono::seconds(2);
#endif

const char* const kStreams[] = {"a", "b", "c"};

klite::Options options() {
  klite::Options o;
  o.durability = klite::Durability::Off; // a killed process loses nothing
  o.busy_timeout = std::chrono::seconds(30);
  return o;
}

// Runs `body` in a child process; a failure is written to `report` and
// ends the child with status 1.
template <class F> pid_t spawn(const std::string& report, F&& body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::string failure;
    try {
      failure = body();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      std::ofstream(report, std::ios::app) << failure << "\n";
      ::_exit(1);
    }
    ::_exit(0);
  }
  return pid;
}

// Kills and reaps every child; a child that failed left its reason in
// `report`.
void stop_all(const std::vector<pid_t>& readers, pid_t writer,
              const std::string& report) {
  for (pid_t p : readers)
    ::kill(p, SIGKILL);
  ::kill(writer, SIGKILL);
  while (::waitpid(-1, nullptr, 0) > 0) {
  }
  const bool failed = std::filesystem::exists(report);
  CHECK_FALSE(failed);
  if (failed)
    MESSAGE("failures:\n" << klite::test::read_file_bytes(report));
}

// Commits forever: 1 to 3 streams, 1 to 20 records each, and the log.
std::string write_forever(const std::string& path, std::uint64_t seed) {
  Engine e = Engine::open(path, options());
  klite::test::Rng rng(seed);
  for (;;) {
    auto w = e.write(); // a killed writer's lock went with it
    std::uint64_t counts[3];
    for (int s = 0; s < 3; ++s)
      counts[s] = w.info(kStreams[s]).records;
    for (int i = 0, n = 1 + static_cast<int>(rng.next() % 3); i < n; ++i) {
      const int s = static_cast<int>(rng.next() % 3);
      for (auto k = 1 + rng.next() % 20; k > 0; --k) {
        ++counts[s];
        w.append(kStreams[s], klite::test::stream_value(kStreams[s], counts[s]));
      }
    }
    w.append("log", klite::test::counts_line(kStreams, counts));
    w.commit();
  }
}

// Checks snapshots forever; returns the first inconsistency.
std::string read_forever(const std::string& path, std::uint64_t seed) {
  Engine e = Engine::open(path, options());
  klite::test::Rng rng(seed);
  for (std::uint64_t rows = 0;;) {
    auto t = e.read();
    if (std::string problem = klite::test::check_snapshot(t, kStreams, rng, rows); !problem.empty())
      return problem;
  }
}

} // namespace

TEST_CASE("Processes: a writer and 4 readers, SIGKILLed at random, never see a torn snapshot") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  const std::string report = dir.file("failures.txt");
  {
    Engine e = Engine::open(path, options());
    auto w = e.write();
    for (const char* s : kStreams)
      w.create_stream(s);
    w.append("log", "a=0 b=0 c=0 ");
    w.commit();
  }
  klite::test::Rng rng(7);
  std::uint64_t seed = 1;
  pid_t writer = spawn(report, [&] { return write_forever(path, seed); });
  // (Each writer gets its own seed: the lambdas run in the children.)
  std::vector<pid_t> readers;
  for (int r = 0; r < 4; ++r)
    readers.push_back(spawn(report, [&] { return read_forever(path, seed); }));

  int writer_kills = 0, reader_kills = 0;
  std::uint64_t commits_seen = 0;
  const auto end = std::chrono::steady_clock::now() + kRun;
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng.next() % 80));
    // A child that ended by itself found something wrong.
    int status = 0;
    if (::waitpid(-1, &status, WNOHANG) > 0)
      break;
    if (rng.next() % 4 == 0) {
      REQUIRE(::kill(writer, SIGKILL) == 0);
      REQUIRE(::waitpid(writer, nullptr, 0) == writer);
      ++writer_kills;
      // The new writer must make progress past the killed one's commits.
      commits_seen = Engine::open(path, options()).info("log").records;
      ++seed;
      writer = spawn(report, [&] { return write_forever(path, seed); });
    } else {
      pid_t& victim = readers[rng.next() % readers.size()];
      REQUIRE(::kill(victim, SIGKILL) == 0);
      REQUIRE(::waitpid(victim, nullptr, 0) == victim);
      ++reader_kills;
      victim = spawn(report, [&] { return read_forever(path, seed); });
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop_all(readers, writer, report);
  Engine e = Engine::open(path, options());
  const std::uint64_t commits = e.info("log").records;
  CHECK(commits > commits_seen); // the last writer committed too
  CHECK(writer_kills > 0);
  CHECK(reader_kills > 0);
  CHECK(klite::inspect::check(klite::inspect::File(path)).clean());
  MESSAGE("processes: " << commits << " commits, " << writer_kills << " writers and "
                        << reader_kills << " readers killed");
}

namespace {

constexpr int kChurnRecords = 20;
constexpr std::size_t kChurnValue = 2000;

// Replaces stream "x" in every commit: the live data stays the same size,
// and each commit frees the pages of the one before (copy-on-write churn).
std::string churn_forever(const std::string& path) {
  Engine e = Engine::open(path, options());
  for (std::uint64_t n = 0;; ++n) {
    auto w = e.write();
    if (w.has_stream("x"))
      w.drop_stream("x");
    for (int i = 0; i < kChurnRecords; ++i)
      w.append("x", std::string(kChurnValue, static_cast<char>('a' + n % 26)));
    w.commit();
    // Paced, so that a reader's few milliseconds pin a few commits' pages,
    // not thousands: what stays pinned is then what was not reclaimed.
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

// Holds snapshots for 0 to 10 ms each, so that a SIGKILL often finds one
// open: its slot then pins that snapshot's pages until a writer clears it.
std::string pin_forever(const std::string& path, std::uint64_t seed) {
  Engine e = Engine::open(path, options());
  klite::test::Rng rng(seed);
  for (;;) {
    auto t = e.read();
    if (!t.has_stream("x"))
      continue;
    auto c = t.cursor("x");
    int n = 0;
    const char first = c.first() ? c.record().value[0] : 0;
    for (bool ok = c.valid(); ok; ok = c.next(), ++n)
      if (c.record().value != std::string(kChurnValue, first))
        return "a record of another commit in snapshot " + std::to_string(t.snapshot_id());
    if (n != kChurnRecords)
      return std::to_string(n) + " records in snapshot " + std::to_string(t.snapshot_id());
    std::this_thread::sleep_for(std::chrono::microseconds(rng.next() % 10000));
  }
}

// Runs `write` in a writer process and `pin(seed)` in 4 reader processes
// for kRun, SIGKILLing one of them at random every 10 to 50 ms and starting
// another in its place; returns the file's size a quarter of the way in.
std::uintmax_t churn(const std::string& path, const std::string& report,
                     const std::function<std::string()>& write,
                     const std::function<std::string(std::uint64_t)>& pin) {
  klite::test::Rng rng(11);
  std::uint64_t seed = 100;
  pid_t writer = spawn(report, write);
  std::vector<pid_t> readers;
  for (int r = 0; r < 4; ++r, ++seed)
    readers.push_back(spawn(report, [&] { return pin(seed); }));
  int kills = 0;
  const auto start = std::chrono::steady_clock::now();
  std::uintmax_t warm_size = 0;
  while (std::chrono::steady_clock::now() < start + kRun) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10 + rng.next() % 40));
    int status = 0;
    if (::waitpid(-1, &status, WNOHANG) > 0)
      break;
    pid_t& victim = rng.next() % 5 == 0 ? writer : readers[rng.next() % readers.size()];
    const bool was_writer = &victim == &writer;
    REQUIRE(::kill(victim, SIGKILL) == 0);
    REQUIRE(::waitpid(victim, nullptr, 0) == victim);
    ++kills;
    ++seed;
    victim = was_writer ? spawn(report, write) : spawn(report, [&] { return pin(seed); });
    if (warm_size == 0 && std::chrono::steady_clock::now() > start + kRun / 4)
      warm_size = std::filesystem::file_size(path);
  }
  stop_all(readers, writer, report);
  MESSAGE(kills << " processes killed");
  return warm_size;
}

// What `churn` must leave: a file that stopped growing though it was
// written `written` bytes, and that checks clean.
void check_stopped_growing(const std::string& path, std::uintmax_t warm_size,
                           std::uint64_t written) {
  const std::uintmax_t size = std::filesystem::file_size(path);
  MESSAGE("wrote " << written / 1000000 << " MB; the file grew from " << warm_size << " to "
                   << size << " bytes after the first quarter");
  REQUIRE(warm_size > 0);
  CHECK(written > 8 * size); // without reuse the file would hold it all
  // Growth comes in steps of at least 1 MiB (docs/ARCHITECTURE.md section
  // 5), and a reader descheduled for a while pins more; a killed reader's
  // slot that was never cleared would pin everything written after it.
  CHECK(size <= warm_size + (std::uintmax_t{8} << 20));
  CHECK(klite::inspect::check(klite::inspect::File(path)).clean());
}

// A window of 5 commits' records, kept by retention.
constexpr std::uint64_t kWindow = 5 * kChurnRecords;

// Appends to stream "w" forever: retention expires as much as each commit
// adds, so its pages are freed from the head while the tail grows.
std::string append_forever(const std::string& path) {
  Engine e = Engine::open(path, options());
  for (;;) {
    auto w = e.write();
    std::uint64_t key = w.info("w").next_key;
    for (int i = 0; i < kChurnRecords; ++i, ++key)
      w.append("w", klite::test::payload(key, kChurnValue));
    w.commit();
    std::this_thread::sleep_for(std::chrono::microseconds(500)); // as churn_forever
  }
}

// Holds snapshots of "w" as pin_forever does: each must hold exactly the
// window of the newest records, every one intact.
std::string pin_window_forever(const std::string& path, std::uint64_t seed) {
  Engine e = Engine::open(path, options());
  klite::test::Rng rng(seed);
  for (;;) {
    auto t = e.read();
    const auto info = t.info("w");
    const std::uint64_t last = info.next_key - 1;
    const std::string at = " in snapshot " + std::to_string(t.snapshot_id());
    if (info.records != std::min(last, kWindow))
      return std::to_string(info.records) + " records up to key " + std::to_string(last) + at;
    auto c = t.cursor("w");
    std::uint64_t key = last - info.records + 1;
    for (bool ok = c.first(); ok; ok = c.next(), ++key)
      if (c.record().key != key || c.record().value != klite::test::payload(key, kChurnValue))
        return "key " + std::to_string(c.record().key) + " where " + std::to_string(key) +
               " should be, or its value is wrong," + at;
    if (key != last + 1)
      return "the records end at key " + std::to_string(key - 1) + at;
    std::this_thread::sleep_for(std::chrono::microseconds(rng.next() % 10000));
  }
}

} // namespace

TEST_CASE("Processes: under copy-on-write churn, with readers and writers SIGKILLed, the file stops growing") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  const std::string report = dir.file("failures.txt");
  {
    Engine e = Engine::open(path, options());
    auto w = e.write();
    for (int i = 0; i < kChurnRecords; ++i)
      w.append("x", std::string(kChurnValue, 'z'));
    w.commit();
  }
  const std::uintmax_t warm_size =
      churn(path, report, [&] { return churn_forever(path); },
            [&](std::uint64_t seed) { return pin_forever(path, seed); });
  // Each commit made a new stream "x": its id counts the commits.
  const std::uint64_t commits = Engine::open(path, options()).info("x").id;
  check_stopped_growing(path, warm_size, commits * kChurnRecords * kChurnValue);
}

TEST_CASE("Processes: a stream under retention, with readers and writers SIGKILLed, keeps its window and stops growing") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  const std::string report = dir.file("failures.txt");
  {
    Engine e = Engine::open(path, options());
    klite::Retention r;
    r.max_records = kWindow;
    e.create_stream("w", r);
  }
  const std::uintmax_t warm_size =
      churn(path, report, [&] { return append_forever(path); },
            [&](std::uint64_t seed) { return pin_window_forever(path, seed); });
  Engine e = Engine::open(path, options());
  const auto info = e.info("w");
  CHECK(info.records == kWindow);
  CHECK(info.first_key == info.next_key - kWindow);
  check_stopped_growing(path, warm_size, (info.next_key - 1) * kChurnValue);
}
