#include "query/amounts.h"

#include "query/chars.h"

#include <array>
#include <limits>

namespace klite::query {

namespace {

struct Unit {
  std::string_view upper; // as starts_with_word compares it
  std::uint64_t scale;
};

// Decimal units are powers of 1000 and binary ones of 1024: the `i` alone
// tells them apart, never the case, so `kb`, `kB` and `KB` are all 1000.
constexpr std::array<Unit, 10> kSizeUnits = {{
    {"", 1},
    {"B", 1},
    {"KB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
    {"KIB", std::uint64_t{1} << 10},
    {"MIB", std::uint64_t{1} << 20},
    {"GIB", std::uint64_t{1} << 30},
    {"TIB", std::uint64_t{1} << 40},
}};
constexpr std::array<Unit, 4> kDurationUnits = {{
    {"S", 1'000'000},
    {"M", 60'000'000},
    {"H", 3'600'000'000},
    {"D", 86'400'000'000},
}};
constexpr std::array<Unit, 1> kCountUnits = {{{"", 1}}};

bool same_word(std::string_view text, std::string_view upper) {
  return text.size() == upper.size() &&
         grammar::starts_with_word(text.data(), text.data() + text.size(),
                                   upper);
}

// The scale of `unit` in measure `m`, or 0 if `m` has no such unit.
template <std::size_t N>
std::uint64_t scale_of(const std::array<Unit, N>& units,
                       std::string_view unit) {
  for (const Unit& u : units)
    if (same_word(unit, u.upper))
      return u.scale;
  return 0;
}

std::uint64_t scale_of(Measure m, std::string_view unit) {
  switch (m) {
  case Measure::Duration:
    return scale_of(kDurationUnits, unit);
  case Measure::Size:
    return scale_of(kSizeUnits, unit);
  case Measure::Count:
    return scale_of(kCountUnits, unit);
  }
  return 0;
}

} // namespace

AmountReading read_amount(Measure m, std::string_view text, bool limit) {
  using Status = AmountReading::Status;
  if (limit && same_word(text, "NONE"))
    return {Status::Ok, 0};
  const char* p = text.data();
  const char* last = p + text.size();
  const char* digits = p;
  std::uint64_t n = 0;
  bool fits = grammar::read_digits(p, last, n);
  if (p == digits)
    return {};
  std::string_view unit(p, static_cast<std::size_t>(last - p));
  std::uint64_t scale = scale_of(m, unit);
  // Zero is zero in every unit, so a duration of 0 needs none.
  if (scale == 0)
    return unit.empty() && fits && n == 0 ? AmountReading{Status::Ok, 0}
                                          : AmountReading{};
  const std::uint64_t max = m == Measure::Duration
                                ? kMaxDurationMicros
                                : std::numeric_limits<std::uint64_t>::max();
  if (!fits || n > max / scale)
    return {Status::OutOfRange, 0};
  return {Status::Ok, n * scale};
}

} // namespace klite::query
