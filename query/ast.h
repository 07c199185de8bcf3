// The AST of the klite query language (docs/QUERY.md), as the parser
// (query/parser.h) produces it and the compiler (vm/compiler.h) consumes it.
//
// Every node carries the source position of its first character, so the
// compiler can name the place of a semantic error ("line 1, col 5: key 0 is
// not a valid key").
#pragma once

#include <boost/spirit/home/x3/support/ast/variant.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace klite::query::ast {

struct Pos {
  std::uint32_t line = 0; // 1-based
  std::uint32_t col = 0;  // 1-based, in bytes
};

struct Node {
  Pos pos;
};

// `?` or `:name`. Numbered from 1 in source order across the whole script:
// each `?` takes the next index; a `:name` takes the next index where the
// name first appears, and later uses of the same name share it.
struct Param : Node {
  std::uint32_t index = 0; // 1-based, as above
  std::string name;        // without the ':'; empty for `?`
};

// An unsigned 64-bit literal; the parser rejects values above 2^64 - 1.
struct Number : Node {
  std::uint64_t value = 0;
};

// A string literal ('...' or "..." with escapes) or a blob (x'00ff'),
// already decoded to its bytes.
struct Bytes : Node {
  std::string value;
};

// A stream name: an identifier, as catalog::check_name accepts.
struct Ident : Node {
  std::string name;
};

// A duration: `7d`, `90s`, `15m`, `12h`, in microseconds (at most
// query::kMaxDurationMicros).
struct Duration : Node {
  std::uint64_t micros = 0;
};

struct Integer : boost::spirit::x3::variant<Number, Param> {
  using base_type::base_type;
  using base_type::operator=;
};

struct Value : boost::spirit::x3::variant<Bytes, Param> {
  using base_type::base_type;
  using base_type::operator=;
};

// A duration, size or record count (query/amounts.h) as written: a bare
// word already read into its unit (a Duration; a Number of bytes or
// records; `none` is 0), a string literal for the compiler to read ('7d',
// '1GiB'), or a parameter. The compiler takes a Number or a Duration as the
// value in the unit of the place it stands in.
struct Amount : boost::spirit::x3::variant<Number, Duration, Bytes, Param> {
  using base_type::base_type;
  using base_type::operator=;
};

// ADD v1, v2, ... TO stream [TTL duration]
struct Add : Node {
  std::vector<Value> values;
  Ident stream;
  std::optional<Amount> ttl; // every record's, when given
};

// GET k1, k2, ... FROM stream
struct GetKeys : Node {
  std::vector<Integer> keys;
  Ident stream;
};

enum class Direction { After, Before };

// GET n AFTER key FROM stream / GET n BEFORE key FROM stream
struct GetRange : Node {
  Integer count;
  Direction direction = Direction::After;
  Integer key;
  Ident stream;
};

// GET FIRST n FROM stream / GET LAST n FROM stream
struct GetEnd : Node {
  bool last = false;
  Integer count;
  Ident stream;
};

// GET n AFTER TIME '2026-11-25T10:00:00Z' FROM stream. The time is a string
// literal or a parameter; it is converted (ISO-8601, UTC or with an offset)
// by the compiler or, for a parameter, at run time.
struct GetAfterTime : Node {
  Integer count;
  Value time;
  Ident stream;
};

// The limits of a stream's retention (klite::Retention), in its order.
enum class Limit : std::uint8_t { MaxAge, MaxBytes, MaxRecords };
inline constexpr std::size_t kLimitCount = 3;
// Their names in the language, indexed by Limit.
inline constexpr std::string_view kLimitNames[kLimitCount] = {
    "max_age", "max_bytes", "max_records"};

// `max_records = 1000`: one option of CREATE STREAM ... WITH (...) or
// ALTER STREAM ... SET (...). Its position is the option name's.
struct RetentionOption : Node {
  Limit limit = Limit::MaxAge;
  Amount value;
};

// CREATE STREAM stream [WITH (option, ...)]; no options without WITH.
struct CreateStream : Node {
  Ident stream;
  std::vector<RetentionOption> options;
};
// ALTER STREAM stream SET (option, ...)
struct AlterStream : Node {
  Ident stream;
  std::vector<RetentionOption> options;
};
struct DropStream : Node {
  Ident stream;
};
struct ShowStreams : Node {};
struct Info : Node {
  Ident stream;
};
struct Begin : Node {};
struct Commit : Node {};
struct Rollback : Node {};
struct Vacuum : Node {};

// EXPIRE stream BEFORE key / EXPIRE stream OLDER THAN duration
struct Expire : Node {
  Ident stream;
  std::optional<Integer> before;
  std::optional<Amount> older_than;
};

struct Explain;

struct Statement
    : boost::spirit::x3::variant<
          Add, GetKeys, GetRange, GetEnd, GetAfterTime, CreateStream,
          AlterStream, DropStream, ShowStreams, Info, Begin, Commit, Rollback,
          Expire, Vacuum, boost::spirit::x3::forward_ast<Explain>> {
  using base_type::base_type;
  using base_type::operator=;
};

// EXPLAIN statement: the program of `statement`, not its result.
struct Explain : Node {
  Statement statement;
};

// One or more statements separated by ';'. Parameters are numbered across
// the whole script.
struct Script {
  std::vector<Statement> statements;
  // Each statement's source text, trimmed, for EXPLAIN and error messages.
  std::vector<std::string> texts;
};

} // namespace klite::query::ast
