// Out of memory (issue 7): allocation k fails (std::bad_alloc) for
// k = 1, 2, ... over a workload of opens, appends to several streams (the
// last few through Engine::append), stream creation, expiry and drops,
// commits and reads, until the workload runs clean. Nothing may crash or leak (LeakSanitizer in the ASan build); an
// operation either fails with std::bad_alloc or does all it should (a few
// allocations are optional, e.g. keeping a spare page buffer, and their
// failure is absorbed); and afterwards the file must check clean and hold
// exactly the commits that returned.
//
// A binary of its own (klite-oom-tests), because it replaces the global
// operator new: in klite-tests that would take ASan's new/delete checks
// away from every other test.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/inspect.h"
#include "tests/engine/fault_util.h"
#include "tests/engine/test_util.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <new>
#include <string>
#include <vector>

namespace {

// Armed allocations left before one fails; negative: none fails.
std::atomic<long> g_countdown{-1};
std::atomic<bool> g_armed{false};
std::atomic<std::uint64_t> g_failed{0};

void* allocate(std::size_t n) {
  if (g_armed.load(std::memory_order_relaxed) &&
      g_countdown.load(std::memory_order_relaxed) >= 0 &&
      g_countdown.fetch_sub(1, std::memory_order_relaxed) == 0) {
    g_failed.fetch_add(1, std::memory_order_relaxed);
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n == 0 ? 1 : n))
    return p;
  throw std::bad_alloc();
}

// Counts allocations down for the life of the object, so only the
// engine's allocations inside it can fail, not the test's bookkeeping.
struct Armed {
  Armed() { g_armed.store(true); }
  ~Armed() { g_armed.store(false); }
  Armed(const Armed&) = delete;
  Armed& operator=(const Armed&) = delete;
};

using klite::test::Model;
using klite::test::read_model;

// One transaction of the workload, made before anything is armed.
struct Txn {
  std::vector<std::pair<std::string, std::string>> appends; // stream, value
  std::string create, drop;
  std::string expire; // expire_before(expire, before) after the appends
  std::uint64_t before = 0;
  bool one_shot = false; // its one append through Engine::append
};

std::vector<Txn> make_workload() {
  klite::test::Rng rng(0x00e);
  std::vector<Txn> txns(12);
  for (std::size_t t = 0; t < txns.size(); ++t) {
    if (t == 4)
      txns[t].create = "extra";
    if (t == 9)
      txns[t].drop = "extra";
    if (t == 6 || t == 10) { // some of a, then all of b
      txns[t].expire = t == 6 ? "a" : "b";
      txns[t].before = t == 6 ? 12 : 1000;
    }
    const auto n = 1 + rng.next() % 30;
    for (std::uint64_t i = 0; i < n; ++i) {
      const char* stream = t >= 4 && t < 9 && i % 3 == 0 ? "extra" : (i % 2 ? "a" : "b");
      txns[t].appends.emplace_back(stream, std::string(1 + rng.next() % 9000, 'a' + i % 26));
    }
  }
  for (const char* stream : {"a", "b", "new"}) { // the last creates a stream
    Txn t;
    t.appends.emplace_back(stream, std::string(1 + rng.next() % 9000, 'z'));
    t.one_shot = true;
    txns.push_back(std::move(t));
  }
  return txns;
}

} // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE("Out of memory: allocation k fails, for every k") {
  klite::test::TempDir dir;
  const std::string path = dir.file();
  const std::vector<Txn> work = make_workload();
  std::uint64_t runs = 0, failures = 0, absorbed = 0;
  for (long k = 0;; ++k) {
    CAPTURE(k);
    std::filesystem::remove(path);
    Model committed;
    bool failed = false;
    const std::uint64_t before = g_failed.load();
    try {
      std::optional<klite::Engine> engine;
      g_countdown.store(k);
      {
        Armed armed;
        engine.emplace(klite::Engine::open(path));
      }
      for (const Txn& t : work) {
        Model next = committed;
        for (const auto& [stream, value] : t.appends)
          next[stream].push_back(value);
        if (!t.expire.empty()) {
          auto& values = next[t.expire];
          for (std::size_t i = 0; i + 1 < t.before && i < values.size(); ++i)
            values[i] = klite::test::kExpired;
        }
        if (!t.create.empty())
          next[t.create];
        if (!t.drop.empty())
          next.erase(t.drop);
        try {
          Armed armed;
          if (t.one_shot) {
            engine->append(t.appends[0].first, t.appends[0].second);
            committed = std::move(next);
            continue;
          }
          auto w = engine->write();
          if (!t.create.empty())
            w.create_stream(t.create);
          for (const auto& [stream, value] : t.appends)
            w.append(stream, value);
          if (!t.expire.empty())
            w.expire_before(t.expire, t.before);
          if (!t.drop.empty())
            w.drop_stream(t.drop);
          w.commit();
        } catch (const std::bad_alloc&) {
          failed = true;
          continue; // the transaction is gone, the engine goes on
        }
        committed = std::move(next);
      }
      Armed armed;
      auto txn = engine->read();
      for (const auto& info : txn.streams())
        (void)txn.info(info.name);
    } catch (const std::bad_alloc&) {
      failed = true;
    }
    g_countdown.store(-1);
    ++runs;
    const bool injected = g_failed.load() > before;
    failures += injected ? 1 : 0;
    CHECK((injected || !failed)); // bad_alloc only where one was injected
    absorbed += injected && !failed;
    // The allocator is healthy again: the file checks clean and holds
    // what the commits that returned promised.
    if (std::filesystem::exists(path)) {
      CHECK(klite::inspect::check(klite::inspect::File(path)).clean());
      auto engine = klite::Engine::open(path);
      CHECK(read_model(engine) == committed);
    }
    if (!injected)
      break;
  }
  MESSAGE("out of memory: " << runs << " runs, " << failures << " allocation failures injected, "
                            << absorbed << " absorbed by optional allocations");
}
