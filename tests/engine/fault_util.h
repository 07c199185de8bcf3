// Shared by the fault-injection tests (power loss, I/O errors): a scope
// that installs an os::FaultHook, and a random multi-stream workload that
// tracks what its commits promised.
#pragma once

#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/os.h"
#include "test_util.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace klite::test {

// Each stream's values, in key order from key 1; an expired record's
// value is kExpired.
using Model = std::map<std::string, std::vector<std::string>>;
inline const std::string kExpired{"\0expired", 8}; // no workload value

// Installs a hook for the life of the object.
struct HookScope {
  explicit HookScope(os::FaultHook* hook) { os::set_fault_hook(hook); }
  ~HookScope() { os::set_fault_hook(nullptr); }
};

// A random workload: transactions of appends to one or two of three
// streams (values up to three pages, so records span pages), now and then
// creating or dropping a fourth, and expiring the oldest records of one
// (so pages go to the free list and come back). With `wide` > 0, one transaction in eight
// instead appends a record to each of `wide` streams: with enough of them
// (300 at 4 KiB pages) the commit writes too many byte ranges for its meta
// page to list, so it syncs twice (FORMAT.md section 12). `committed` is
// the state after the last commit that returned; while a transaction runs,
// `in_flight` is the state it would commit (and stays so if it throws).
struct Workload {
  explicit Workload(std::uint64_t seed, int wide = 0) : rng(seed), wide(wide) {}

  void step(Engine& engine) {
    Model next = committed;
    in_flight = committed;
    auto w = engine.write();
    const auto kind = rng.next() % 8;
    if (kind == 1 && wide > 0) {
      ++wide_txns;
      for (int s = 0; s < wide; ++s) {
        const std::string name = "w" + std::to_string(s);
        std::string value = name + ":" + std::to_string(next[name].size() + 1);
        w.append(name, value);
        next[name].push_back(value);
      }
    } else if (kind == 0) {
      if (next.count("d")) {
        w.drop_stream("d");
        next.erase("d");
      } else {
        w.create_stream("d");
        next["d"];
      }
    } else {
      const int streams = kind < 3 ? 2 : 1;
      for (int s = 0; s < streams; ++s) {
        const std::string name(1, static_cast<char>('a' + rng.next() % 3));
        const auto count = 1 + rng.next() % 40;
        for (std::uint64_t i = 0; i < count; ++i) {
          std::string value = name + std::to_string(next[name].size() + 1) + ":";
          value.resize(value.size() + rng.next() % (kind == 7 ? 12000 : 150),
                       static_cast<char>('a' + rng.next() % 26));
          w.append(name, value);
          next[name].push_back(value);
        }
      }
      const std::string name =
          kind == 6 ? std::string(1, static_cast<char>('a' + rng.next() % 3)) : "";
      if (next.count(name)) {
        auto& values = next[name];
        const auto first = static_cast<std::uint64_t>(
            std::find_if(values.begin(), values.end(),
                         [](const std::string& v) { return v != kExpired; }) -
            values.begin());
        // Up to one past the last key: none, some, or all.
        const std::uint64_t before = 1 + first + rng.next() % (values.size() - first + 2);
        w.expire_before(name, before);
        for (auto i = first; i + 1 < before && i < values.size(); ++i)
          values[i] = kExpired;
      }
    }
    in_flight = next;
    w.commit();
    committed = next;
    in_flight = committed;
    history.push_back(committed);
  }

  void run(Engine& engine, int txns) {
    for (int t = 0; t < txns; ++t)
      step(engine);
  }

  Rng rng;
  int wide;
  int wide_txns = 0; // wide transactions begun
  Model committed, in_flight;
  // The state after each commit that returned: history[k] after the k-th
  // (history[0]: before the first).
  std::vector<Model> history{Model{}};
};

// Every stream of the engine, checking keys are dense from 1.
inline Model read_model(Engine& engine) {
  Model m;
  auto txn = engine.read();
  for (const auto& info : txn.streams()) {
    auto& values = m[info.name];
    values.resize(info.next_key - 1 - info.records, kExpired);
    auto c = txn.cursor(info.name);
    for (bool ok = c.first(); ok; ok = c.next()) {
      REQUIRE(c.record().key == values.size() + 1); // dense keys, no holes
      values.emplace_back(c.record().value);
    }
  }
  return m;
}

} // namespace klite::test
