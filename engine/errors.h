// Helpers that build klite::Error values with uniform messages.
#pragma once

#include <klite/error.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace klite {

// Throws Error(IO): "<path>: <op>: <strerror(err)>".
[[noreturn]] void throw_io(const std::string& path, const char* op, int err);
// Throws Error(Corrupt): "<path>: page <pgno>: <what>".
[[noreturn]] void throw_corrupt(const std::string& path, std::uint32_t pgno,
                                const std::string& what);
// Throws Error(Busy): "<what>", then " (waited N ms)" if `waited` > 0.
[[noreturn]] void throw_busy(const std::string& what,
                             std::chrono::milliseconds waited);

} // namespace klite
