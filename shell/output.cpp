#include "shell/output.h"

#include <algorithm>
#include <cstdio>

namespace klite::shell {

std::optional<Mode> parse_mode(std::string_view name) {
  if (name == "table")
    return Mode::Table;
  if (name == "line")
    return Mode::Line;
  if (name == "json")
    return Mode::Json;
  if (name == "csv")
    return Mode::Csv;
  if (name == "raw")
    return Mode::Raw;
  return std::nullopt;
}

std::string_view mode_name(Mode mode) {
  switch (mode) {
  case Mode::Table:
    return "table";
  case Mode::Line:
    return "line";
  case Mode::Json:
    return "json";
  case Mode::Csv:
    return "csv";
  case Mode::Raw:
    return "raw";
  }
  return "?";
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + len > n)
      return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0u) != 0x80u)
        return false;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

std::string base64(std::string_view s) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((s.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= s.size(); i += 3) {
    const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + 1])) << 8) |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = s.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])) << 16;
    if (rest == 2)
      v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out += buf;
      } else {
        out += ch;
      }
    }
  }
  out += '"';
  return out;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos)
    return std::string(s);
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"')
      out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

std::string iso8601(std::uint64_t micros) {
  const std::uint64_t secs = micros / 1000000;
  const std::uint64_t frac = micros % 1000000;
  const std::uint64_t days = secs / 86400;
  const std::uint64_t sod = secs % 86400;
  // civil_from_days (H. Hinnant), for days >= 0.
  const std::uint64_t z = days + 719468;
  const std::uint64_t era = z / 146097;
  const std::uint64_t doe = z - era * 146097;
  const std::uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::uint64_t y = yoe + era * 400;
  const std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::uint64_t mp = (5 * doy + 2) / 153;
  const std::uint64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::uint64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2)
    ++y;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04llu-%02llu-%02lluT%02llu:%02llu:%02llu.%06lluZ",
                static_cast<unsigned long long>(y), static_cast<unsigned long long>(m),
                static_cast<unsigned long long>(d),
                static_cast<unsigned long long>(sod / 3600),
                static_cast<unsigned long long>(sod / 60 % 60),
                static_cast<unsigned long long>(sod % 60),
                static_cast<unsigned long long>(frac));
  return buf;
}

bool is_timestamp_column(std::string_view column) {
  return column == "timestamp" || column == "ts" || column == "first_timestamp" ||
         column == "last_timestamp" || column == "created";
}

namespace {

// Bytes shown in table and line mode: as they are if valid UTF-8 without
// control characters, else as a blob literal x'..'.
std::string display_bytes(std::string_view s) {
  bool plain = is_valid_utf8(s);
  for (char ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
      plain = false;
  if (plain)
    return std::string(s);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "x'";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  out += '\'';
  return out;
}

// Display width: code points (bytes that are not UTF-8 continuations).
std::size_t width(std::string_view s) {
  std::size_t w = 0;
  for (char ch : s)
    if ((static_cast<unsigned char>(ch) & 0xC0u) != 0x80u)
      ++w;
  return w;
}

} // namespace

std::string Printer::text(const std::string& column, const Cell& cell) const {
  switch (cell.type) {
  case Value::Type::Null:
    return mode_ == Mode::Csv || mode_ == Mode::Raw ? "" : "NULL";
  case Value::Type::Integer:
    if (is_timestamp_column(column) && mode_ != Mode::Raw)
      return iso8601(cell.integer);
    return std::to_string(cell.integer);
  case Value::Type::Bytes:
    if (mode_ == Mode::Csv || mode_ == Mode::Raw)
      return cell.bytes;
    return display_bytes(cell.bytes);
  }
  return "";
}

void Printer::row(const Row& row) {
  const auto& columns = row.columns();
  std::vector<Cell> cells(row.size());
  for (std::size_t i = 0; i < row.size(); ++i) {
    const Value& v = row[i];
    cells[i].type = v.type();
    if (v.type() == Value::Type::Integer)
      cells[i].integer = v.as_integer();
    else if (v.type() == Value::Type::Bytes)
      cells[i].bytes = std::string(v.as_bytes());
  }
  const bool first = rows_ == 0;
  ++rows_;
  if (first)
    columns_ = columns;

  switch (mode_) {
  case Mode::Table: {
    std::vector<std::string> line;
    for (std::size_t i = 0; i < cells.size(); ++i)
      line.push_back(text(columns[i], cells[i]));
    table_.push_back(std::move(line));
    break;
  }
  case Mode::Line: {
    if (!first)
      out_ << '\n';
    std::size_t w = 0;
    for (const auto& c : columns)
      w = std::max(w, width(c));
    for (std::size_t i = 0; i < cells.size(); ++i)
      out_ << std::string(w - width(columns[i]), ' ') << columns[i] << " = "
           << text(columns[i], cells[i]) << '\n';
    break;
  }
  case Mode::Json: {
    out_ << '{';
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0)
        out_ << ", ";
      out_ << json_string(columns[i]) << ": ";
      const Cell& c = cells[i];
      if (c.type == Value::Type::Null) {
        out_ << "null";
      } else if (c.type == Value::Type::Integer) {
        if (is_timestamp_column(columns[i]))
          out_ << '"' << iso8601(c.integer) << '"';
        else
          out_ << c.integer;
      } else if (is_valid_utf8(c.bytes)) {
        out_ << json_string(c.bytes);
      } else {
        out_ << '"' << base64(c.bytes) << "\", "
             << json_string(columns[i] + "_encoding") << ": \"base64\"";
      }
    }
    out_ << "}\n";
    break;
  }
  case Mode::Csv: {
    if (first) {
      for (std::size_t i = 0; i < columns.size(); ++i)
        out_ << (i > 0 ? "," : "") << csv_field(columns[i]);
      out_ << '\n';
    }
    for (std::size_t i = 0; i < cells.size(); ++i)
      out_ << (i > 0 ? "," : "") << csv_field(text(columns[i], cells[i]));
    out_ << '\n';
    break;
  }
  case Mode::Raw: {
    auto it = std::find(columns.begin(), columns.end(), "value");
    if (it != columns.end()) {
      out_ << text(*it, cells[static_cast<std::size_t>(it - columns.begin())]) << '\n';
    } else {
      for (std::size_t i = 0; i < cells.size(); ++i)
        out_ << (i > 0 ? "\t" : "") << text(columns[i], cells[i]);
      out_ << '\n';
    }
    break;
  }
  }
}

void Printer::finish() {
  if (mode_ != Mode::Table || table_.empty())
    return;
  std::vector<std::size_t> w(columns_.size());
  for (std::size_t i = 0; i < columns_.size(); ++i)
    w[i] = width(columns_[i]);
  for (const auto& line : table_)
    for (std::size_t i = 0; i < line.size() && i < w.size(); ++i)
      w[i] = std::max(w[i], width(line[i]));
  auto print = [&](const std::vector<std::string>& line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (i > 0)
        out_ << "  ";
      out_ << line[i];
      if (i + 1 < line.size())
        out_ << std::string(w[i] - width(line[i]), ' ');
    }
    out_ << '\n';
  };
  print(columns_);
  std::vector<std::string> rule;
  for (std::size_t x : w)
    rule.emplace_back(x, '-');
  print(rule);
  for (const auto& line : table_)
    print(line);
  table_.clear();
}

} // namespace klite::shell
