#include "engine/errors.h"

#include <cerrno>
#include <cstring>

namespace klite {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
  case ErrorCode::Syntax: return "Syntax";
  case ErrorCode::NoSuchStream: return "NoSuchStream";
  case ErrorCode::StreamExists: return "StreamExists";
  case ErrorCode::NotFound: return "NotFound";
  case ErrorCode::InvalidArgument: return "InvalidArgument";
  case ErrorCode::Corrupt: return "Corrupt";
  case ErrorCode::NotKlite: return "NotKlite";
  case ErrorCode::Unsupported: return "Unsupported";
  case ErrorCode::IO: return "IO";
  case ErrorCode::Busy: return "Busy";
  case ErrorCode::ReadOnly: return "ReadOnly";
  case ErrorCode::TooBig: return "TooBig";
  case ErrorCode::Misuse: return "Misuse";
  case ErrorCode::Interrupted: return "Interrupted";
  }
  return "Unknown";
}

void throw_io(const std::string& path, const char* op, int err) {
  std::string message = path + ": " + op + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT)
    message += " (the disk is full: free some space, then retry)";
  throw Error(ErrorCode::IO, message);
}

void throw_corrupt(const std::string& path, std::uint32_t pgno,
                   const std::string& what) {
  throw Error(ErrorCode::Corrupt,
              path + ": page " + std::to_string(pgno) + ": " + what);
}

void throw_busy(const std::string& what, std::chrono::milliseconds waited) {
  throw Error(ErrorCode::Busy,
              waited.count() > 0
                  ? what + " (waited " + std::to_string(waited.count()) + " ms)"
                  : what);
}

} // namespace klite
