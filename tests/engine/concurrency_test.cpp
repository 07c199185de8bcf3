// One Engine shared by threads (issue 8): read transactions run beside the
// write transaction, never blocking it nor blocked by it, and each sees
// exactly one commit. Also run under ThreadSanitizer in CI (the
// "Concurrency: " prefix selects them).
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "snapshot_util.h"
#include "test_util.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace {

using klite::Engine;
using klite::ErrorCode;

#if defined(KLITE_LONG_TESTS) && KLITE_LONG_TESTS
constexpr auto kStress = std::chrono::seconds(10);
#else
constexpr auto kStress = std::chrono::milliseconds(1500);
#endif

const char* const kStreams[] = {"a", "b", "c", "d"};
constexpr int kReaders = 8;

} // namespace

TEST_CASE("Concurrency: 8 readers and a writer share one Engine; every snapshot is one commit") {
  klite::test::TempDir dir;
  klite::Options o;
  o.durability = klite::Durability::Off;
  o.busy_timeout = std::chrono::seconds(30); // the second writer below takes turns
  Engine engine = Engine::open(dir.file(), o);
  for (const char* s : kStreams)
    engine.create_stream(s);
  engine.append("log", "a=0 b=0 c=0 d=0 ");

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> commits{0}, aborts{0}, snapshots{0}, rows{0};
  std::atomic<int> failures{0};
  auto fail = [&](const std::string& what) {
    if (failures.fetch_add(1) < 5)
      MESSAGE(what); // doctest's CHECK is not thread-safe: count instead
  };

  std::thread writer([&] {
    klite::test::Rng rng(42);
    std::uint64_t counts[4] = {};
    try {
      while (!stop.load()) {
        auto w = engine.write();
        std::uint64_t next[4];
        std::copy(std::begin(counts), std::end(counts), next);
        const int streams = 1 + static_cast<int>(rng.next() % 3);
        for (int i = 0; i < streams; ++i) {
          const int s = static_cast<int>(rng.next() % 4);
          const auto n = 1 + rng.next() % 20;
          for (std::uint64_t k = 0; k < n; ++k) {
            ++next[s];
            w.append(kStreams[s], klite::test::stream_value(kStreams[s], next[s]));
          }
        }
        w.append("log", klite::test::counts_line(kStreams, next));
        if (rng.next() % 5 == 0) { // never seen by any reader
          w.abort();
          ++aborts;
        } else {
          w.commit();
          std::copy(std::begin(next), std::end(next), counts);
          ++commits;
        }
      }
    } catch (const std::exception& e) {
      fail(std::string("writer: ") + e.what());
    }
  });

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      klite::test::Rng rng(100 + static_cast<std::uint64_t>(r));
      try {
        std::uint64_t read = 0;
        while (!stop.load()) {
          auto t = engine.read();
          if (const std::string problem = klite::test::check_snapshot(t, kStreams, rng, read);
              !problem.empty())
            fail(problem);
          ++snapshots;
        }
        rows += read;
      } catch (const std::exception& e) {
        fail(std::string("reader: ") + e.what());
      }
    });
  }

  // A second writer thread: it waits for the first, up to its timeout.
  std::this_thread::sleep_for(kStress / 2);
  {
    Engine second = Engine::open(dir.file(), o);
    for (int i = 0; i < 3; ++i) {
      auto w = second.write(); // another open: waits for the file's lock
      w.abort();
    }
  }
  std::this_thread::sleep_for(kStress / 2);
  stop = true;
  writer.join();
  for (auto& t : readers)
    t.join();

  CHECK(failures.load() == 0);
  CHECK(commits.load() > 10);
  CHECK(aborts.load() > 0);
  CHECK(snapshots.load() > 10);
  MESSAGE("concurrency: " << commits.load() << " commits, " << aborts.load() << " aborted, "
                          << snapshots.load() << " snapshots checked by " << kReaders
                          << " readers, " << rows.load() << " rows read");
  const auto info = engine.info("log");
  CHECK(info.records == commits.load() + 1);
}

TEST_CASE("Concurrency: write() on another thread waits for the writer, up to busy_timeout") {
  klite::test::TempDir dir;
  klite::Options o;
  o.durability = klite::Durability::Off;
  o.busy_timeout = std::chrono::seconds(30);
  Engine engine = Engine::open(dir.file(), o);
  auto w = engine.write();
  w.append("s", "first");
  std::atomic<bool> committed{false};
  std::uint64_t key = 0;
  std::thread second([&] {
    auto w2 = engine.write(); // returns once the first has committed
    key = w2.append("s", committed.load() ? "after" : "too early");
    w2.commit();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  committed = true;
  w.commit();
  second.join();
  CHECK(key == 2);
  CHECK(engine.get("s", 2)->value == "after");

  // With no timeout: Busy at once, the message as before.
  klite::Options now = o;
  now.busy_timeout = {};
  Engine quick = Engine::open(dir.file("quick"), now);
  auto held = quick.write();
  std::string message;
  std::thread third([&] {
    try {
      quick.write();
    } catch (const klite::Error& e) {
      message = std::string(klite::to_string(e.code())) + ": " + e.what();
    }
  });
  third.join();
  CHECK(message == "Busy: " + dir.file("quick") + ": a write transaction is already open");

  // With a short one: Busy after it, saying so.
  klite::Options brief = o;
  brief.busy_timeout = std::chrono::milliseconds(20);
  Engine patient = Engine::open(dir.file("brief"), brief);
  auto held2 = patient.write();
  std::thread fourth([&] {
    try {
      patient.write();
    } catch (const klite::Error& e) {
      message = e.what();
    }
  });
  fourth.join();
  CHECK(message == dir.file("brief") + ": a write transaction is already open (waited 20 ms)");
}
