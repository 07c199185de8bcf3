#include "shell/output.h"

#include "engine/text.h"

#include <algorithm>

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

bool is_timestamp_column(std::string_view column) {
  return column == "ts" || column == "first_timestamp" ||
         column == "last_timestamp" || column == "created";
}

namespace {

// Bytes shown in table and line mode: as they are if valid UTF-8 without
// control characters, else as a blob literal x'..'.
std::string display_bytes(std::string_view s) {
  bool plain = text::is_valid_utf8(s);
  for (char ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
      plain = false;
  if (plain)
    return std::string(s);
  return "x'" + text::hex(s) + "'";
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
      return text::format_iso8601(cell.integer);
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
      out_ << text::json_string(columns[i]) << ": ";
      const Cell& c = cells[i];
      if (c.type == Value::Type::Null) {
        out_ << "null";
      } else if (c.type == Value::Type::Integer) {
        if (is_timestamp_column(columns[i]))
          out_ << '"' << text::format_iso8601(c.integer) << '"';
        else
          out_ << c.integer;
      } else if (text::is_valid_utf8(c.bytes)) {
        out_ << text::json_string(c.bytes);
      } else {
        out_ << '"' << text::base64(c.bytes) << "\", "
             << text::json_string(columns[i] + "_encoding") << ": \"base64\"";
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

void Printer::flush() {
  if (mode_ != Mode::Table || table_.empty())
    return;
  auto print = [&](const std::vector<std::string>& line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (i > 0)
        out_ << "  ";
      out_ << line[i];
      if (i + 1 < line.size() && i < widths_.size() && width(line[i]) < widths_[i])
        out_ << std::string(widths_[i] - width(line[i]), ' ');
    }
    out_ << '\n';
  };
  if (widths_.empty()) {
    widths_.resize(columns_.size());
    for (std::size_t i = 0; i < columns_.size(); ++i)
      widths_[i] = width(columns_[i]);
    for (const auto& line : table_)
      for (std::size_t i = 0; i < line.size() && i < widths_.size(); ++i)
        widths_[i] = std::max(widths_[i], width(line[i]));
    print(columns_);
    std::vector<std::string> rule;
    for (std::size_t x : widths_)
      rule.emplace_back(x, '-');
    print(rule);
  }
  for (const auto& line : table_)
    print(line);
  table_.clear();
}

} // namespace klite::shell
