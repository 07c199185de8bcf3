// Text helpers for everything that shows bytes and timestamps to people:
// the shell's output modes (shell/output.cpp), klite-inspect
// (engine/inspect.cpp, tools/inspect_cli.cpp) and klite-demo. They live in
// engine/, the lowest layer of the library, so every part of the tree can
// use one copy. Parsing ISO-8601 is a query-language job and stays in
// vm/iso8601.h; format_iso8601 is its inverse for whole microseconds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace klite::text {

// True if s is well-formed UTF-8 (RFC 3629): no overlong forms, no UTF-16
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
// sequence. The empty string is valid.
bool is_valid_utf8(std::string_view s);

// s in standard base64 (RFC 4648 section 4: "+/" alphabet, "=" padding).
std::string base64(std::string_view s);

// s as a JSON string literal, quotes included: " \ \b \f \n \r \t are
// escaped as such, other bytes below 0x20 as \u00xx, everything else is
// copied. If s as a whole is not valid UTF-8, every byte >= 0x80 becomes
// \ufffd, so the result is always valid JSON; callers that must not lose
// bytes check is_valid_utf8 first and use base64 instead.
std::string json_string(std::string_view s);

// s in double quotes, C style: printable ASCII as is with " and \ escaped
// by a backslash, every other byte as \xNN (lowercase). Safe for any bytes
// and readable for names and short values in messages.
std::string quote(std::string_view s);

// s as lowercase hex digits, two a byte ("00ff"), without a prefix.
std::string hex(std::string_view s);

// Microseconds since the Unix epoch as ISO-8601 UTC with six fraction
// digits: "2026-11-25T10:00:00.000000Z". Defined for every uint64 (years
// past 9999 get more than four digits).
std::string format_iso8601(std::uint64_t micros);

// A duration in microseconds by its parts: "7d", "1d 2h 30m", "1.5s".
std::string describe_duration(std::uint64_t us);
// A byte count with a binary unit: "8 MiB", "1.5 KiB", "100 bytes".
std::string describe_bytes(std::uint64_t n);

} // namespace klite::text
