// klite: the one error type every layer throws.
//
// Errors that end an operation are thrown as klite::Error; expected outcomes
// (a key that does not exist) are return values (std::optional).
#pragma once

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
};

// Stable upper-case name of a code, e.g. "Corrupt".
std::string_view to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

private:
  ErrorCode code_;
};

} // namespace klite
