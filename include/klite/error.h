// klite: the one error type every layer throws.
//
// Errors that end an operation are thrown as klite::Error; expected outcomes
// (a key that does not exist) are return values (std::optional).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace klite {

enum class ErrorCode {
  Syntax,          // a malformed query (query layer)
  NoSuchStream,    // the named stream does not exist
  StreamExists,    // CREATE of a stream that already exists
  NotFound,        // the file to open does not exist (and create is off)
  InvalidArgument, // a bad stream name, option or limit
  Corrupt,         // a checksum or structural check failed; names the page
  NotKlite,        // the file is not a klite file
  Unsupported,     // a klite file of a format version we cannot read
  IO,              // the OS refused a file operation; names path and errno
  Busy,            // another writer holds the write lock
  ReadOnly,        // a write on a read-only engine
  TooBig,          // a value or header block over the documented limit
  Misuse,          // the API was used against its contract
  Interrupted,     // Engine::interrupt() stopped the statement
};

// Stable upper-case name of a code, e.g. "Corrupt".
std::string_view to_string(ErrorCode code) noexcept;

// An error from the query layer that names a place in the query text has
// a message starting with "line L, col C: " and carries L and C as data too
// (line() and column()), so a caller can point at the place without parsing
// the message. Both count from 1: the line by '\n' bytes, the column in
// bytes from the start of that line (a tab, or each byte of a UTF-8
// sequence, is one column). Errors without a place (from the storage layer
// or the native API) have line() == column() == 0.
class Error : public std::runtime_error {
public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  // `message` should already begin with "line L, col C: " (vm::where
  // builds it).
  Error(ErrorCode code, const std::string& message, std::uint32_t line,
        std::uint32_t column)
      : std::runtime_error(message), code_(code), line_(line),
        column_(column) {}
  ErrorCode code() const noexcept { return code_; }
  // The place in the query text, 1-based; 0 when the error has none.
  std::uint32_t line() const noexcept { return line_; }
  std::uint32_t column() const noexcept { return column_; }

private:
  ErrorCode code_;
  std::uint32_t line_ = 0;
  std::uint32_t column_ = 0;
};

} // namespace klite
