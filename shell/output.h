// klite shell: output modes. A Printer receives the rows of one statement
// and writes them to a stream in one of the modes `klite --help` documents.
#pragma once

#include <klite/statement.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace klite::shell {

enum class Mode { Table, Line, Json, Csv, Raw };

// "table", "line", "json", "csv", "raw"; nullopt for anything else.
std::optional<Mode> parse_mode(std::string_view name);
std::string_view mode_name(Mode mode);

// Helpers, exposed for tests. The ones the shell shares with klite-inspect
// (UTF-8 check, base64, JSON strings, ISO-8601 times) are in engine/text.h.
std::string csv_field(std::string_view s); // quoted if RFC 4180 needs it
// Columns whose integers are timestamps: ts, first_timestamp,
// last_timestamp, created.
bool is_timestamp_column(std::string_view column);

// Writes the rows of one statement. Table mode buffers rows to align the
// columns and writes them on flush(): the first flush() fixes the widths
// and prints the header, later ones (.tail) print rows under it. The
// other modes write each row at once.
class Printer {
public:
  Printer(std::ostream& out, Mode mode) : out_(out), mode_(mode) {}
  void row(const Row& row);
  void flush();

private:
  struct Cell {
    Value::Type type = Value::Type::Null;
    std::uint64_t integer = 0;
    std::string bytes;
  };
  std::string text(const std::string& column, const Cell& cell) const;

  std::ostream& out_;
  Mode mode_;
  std::size_t rows_ = 0;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> table_; // Table mode only
  std::vector<std::size_t> widths_; // Table mode, fixed by the first flush()
};

} // namespace klite::shell
