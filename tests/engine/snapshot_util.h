// The snapshot check shared by the concurrency tests (threads, processes):
// a writer appends values "stream:key" and, in the same commit, a record
// to stream "log" holding every stream's record count; a reader checks
// that what it sees is exactly one commit.
#pragma once

#include <klite/engine.h>

#include "test_util.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace klite::test {

inline std::string stream_value(std::string_view stream, std::uint64_t key) {
  return std::string(stream) + ":" + std::to_string(key);
}

// "a=3 b=0 c=7 ": the log record of a commit that leaves these counts.
inline std::string counts_line(std::span<const char* const> streams,
                               std::span<const std::uint64_t> counts) {
  std::string line;
  for (std::size_t s = 0; s < streams.size(); ++s)
    line += std::string(streams[s]) + "=" + std::to_string(counts[s]) + " ";
  return line;
}

// Reads each of `streams` whole through `t`, forwards or backwards at
// random: keys dense from 1, values as written, as many rows as INFO says,
// and the counts those of the last log record. Returns the first problem,
// or "" if the snapshot is one commit; adds the rows read to `rows`.
inline std::string check_snapshot(ReadTxn& t, std::span<const char* const> streams, Rng& rng,
                                  std::uint64_t& rows) {
  const std::string expect(t.get("log", t.info("log").last_key)->value);
  std::vector<std::uint64_t> counts;
  for (const char* name : streams) {
    const std::uint64_t records = t.info(name).records;
    counts.push_back(records);
    std::uint64_t key = 0;
    auto c = t.cursor(name);
    const bool forward = rng.next() % 2 == 0;
    for (bool ok = forward ? c.first() : c.last(); ok; ok = forward ? c.next() : c.prev()) {
      const std::uint64_t want = forward ? key + 1 : records - key;
      if (c.record().key != want || c.record().value != stream_value(name, want))
        return std::string("stream ") + name + ": key " + std::to_string(c.record().key) +
               " where " + std::to_string(want) + " was due, value " +
               std::string(c.record().value);
      ++key;
    }
    if (key != records)
      return std::string("stream ") + name + ": " + std::to_string(key) + " rows, INFO says " +
             std::to_string(records);
    rows += key;
  }
  if (counts_line(streams, counts) != expect)
    return "the snapshot mixes commits: streams hold " + counts_line(streams, counts) +
           ", its log says " + expect;
  return "";
}

} // namespace klite::test
