// ISO-8601 times for GET ... AFTER TIME, as microseconds since the Unix
// epoch (the unit of record timestamps).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace klite::vm {

// Accepts  YYYY-MM-DD[(T|t| )hh:mm[:ss[.f...]]][Z|z|(+|-)hh[[:]mm]]
// (fractions of any length, cut to microseconds; no zone means UTC). A time
// before 1970-01-01T00:00:00Z is clamped to 0, which no timestamp precedes.
// Returns nullopt for anything else, including impossible dates
// (2026-02-30) and fields out of range (hour 24, second 60).
std::optional<std::uint64_t> parse_iso8601(std::string_view text);

} // namespace klite::vm
