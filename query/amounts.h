// Durations, sizes and record counts as the query language writes them
// (docs/QUERY.md, "Durations, sizes and limits"): `7d`, `1GiB`, `1000`, and
// for a retention limit `none`. One reader serves the three places such a
// text comes from: a bare token (the lexer, query/tokens.h), a string
// literal (the compiler) and a parameter bound to bytes (the VM), so
// `max_bytes = 1GiB`, `max_bytes = '1GiB'` and a bound "1GiB" cannot
// disagree.
#pragma once

#include <cstdint>
#include <string_view>

namespace klite::query {

// What an amount counts, and so which units it takes.
enum class Measure : std::uint8_t {
  Duration, // microseconds; s, m, h, d (a unit is needed, except for 0)
  Size,     // bytes; B, kB, MB, GB, TB, KiB, MiB, GiB, TiB or none
  Count,    // records; no unit
};

// The largest duration in microseconds: what std::chrono::microseconds,
// the engine's type for ages (Retention::max_age, expire_older_than), holds.
inline constexpr std::uint64_t kMaxDurationMicros = INT64_MAX;

struct AmountReading {
  enum class Status : std::uint8_t { Ok, Malformed, OutOfRange };
  Status status = Status::Malformed;
  std::uint64_t value = 0; // in the measure's unit, when Ok
};

// Reads all of `text` as an amount of `m`: decimal digits, then at once a
// unit (any case). With `limit` (a retention limit, where 0 means none) the
// word `none`, in any case, reads as 0. OutOfRange when the digits, or the
// digits times the unit, exceed what `m` holds (kMaxDurationMicros, 2^64 - 1).
AmountReading read_amount(Measure m, std::string_view text, bool limit);

// What an amount of `m` looks like, for "expected ..." messages and the
// grammar's rule names (so, literals).
constexpr const char* expected_amount(Measure m, bool limit) {
  switch (m) {
  case Measure::Duration:
    return limit ? "a duration (a number and s, m, h or d, as in 7d; 0 or "
                   "none for no limit)"
                 : "a duration (a number and s, m, h or d, as in 7d)";
  case Measure::Size:
    return "a size (a number and an optional unit B, kB, MB, GB, TB, KiB, "
           "MiB, GiB or TiB; 0 or none for no limit)";
  case Measure::Count:
    return "a number of records (0 or none for no limit)";
  }
  return "";
}

// The problem of an OutOfRange reading: "duration out of range (the
// largest is 106751991d)".
constexpr const char* amount_range_problem(Measure m) {
  switch (m) {
  case Measure::Duration:
    return "duration out of range (the largest is 106751991d)";
  case Measure::Size:
    return "size out of range (the largest is 18446744073709551615 bytes)";
  case Measure::Count:
    return "number out of range (the largest is 18446744073709551615)";
  }
  return "";
}

} // namespace klite::query
