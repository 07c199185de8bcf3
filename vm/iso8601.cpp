#include "vm/iso8601.h"

#include <chrono>

namespace klite::vm {

namespace {

// Reads exactly `n` digits at `at`.
bool digits(std::string_view s, std::size_t& at, int n, int& out) {
  if (at + static_cast<std::size_t>(n) > s.size())
    return false;
  out = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[at + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9')
      return false;
    out = out * 10 + (c - '0');
  }
  at += static_cast<std::size_t>(n);
  return true;
}

bool eat(std::string_view s, std::size_t& at, char c) {
  if (at < s.size() && s[at] == c) {
    ++at;
    return true;
  }
  return false;
}

} // namespace

std::optional<std::uint64_t> parse_iso8601(std::string_view s) {
  std::size_t at = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::int64_t micros = 0;
  if (!digits(s, at, 4, year) || !eat(s, at, '-') || !digits(s, at, 2, month) ||
      !eat(s, at, '-') || !digits(s, at, 2, day))
    return std::nullopt;
  namespace chr = std::chrono;
  chr::year_month_day ymd{chr::year(year),
                          chr::month(static_cast<unsigned>(month)),
                          chr::day(static_cast<unsigned>(day))};
  if (!ymd.ok())
    return std::nullopt;
  if (at < s.size() && (s[at] == 'T' || s[at] == 't' || s[at] == ' ')) {
    ++at;
    if (!digits(s, at, 2, hour) || !eat(s, at, ':') ||
        !digits(s, at, 2, minute))
      return std::nullopt;
    if (eat(s, at, ':')) {
      if (!digits(s, at, 2, second))
        return std::nullopt;
      if (eat(s, at, '.') || eat(s, at, ',')) {
        std::size_t start = at;
        std::int64_t scale = 100000;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
          micros += (s[at] - '0') * scale;
          scale /= 10;
          ++at;
        }
        if (at == start)
          return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 59)
      return std::nullopt;
  }
  std::int64_t offset_minutes = 0;
  if (at < s.size()) {
    char c = s[at];
    if (c == 'Z' || c == 'z') {
      ++at;
    } else if (c == '+' || c == '-') {
      ++at;
      int oh = 0, om = 0;
      if (!digits(s, at, 2, oh))
        return std::nullopt;
      if (at < s.size()) {
        eat(s, at, ':');
        if (!digits(s, at, 2, om))
          return std::nullopt;
      }
      if (oh > 23 || om > 59)
        return std::nullopt;
      offset_minutes = (oh * 60 + om) * (c == '-' ? -1 : 1);
    } else {
      return std::nullopt;
    }
  }
  if (at != s.size())
    return std::nullopt;
  std::int64_t days = chr::sys_days(ymd).time_since_epoch().count();
  std::int64_t secs =
      days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  std::int64_t total = secs * 1000000 + micros;
  if (total < 0)
    return 0;
  return static_cast<std::uint64_t>(total);
}

} // namespace klite::vm
