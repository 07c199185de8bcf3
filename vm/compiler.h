// The compiler: one AST statement (query/ast.h) -> one Program (vm/program.h).
//
// Literal checks happen here, with the node's position in the message:
//   key 0 in GET k / BEFORE k  InvalidArgument "key 0 is not a valid key; ..."
//   a count of 0               InvalidArgument "count 0 is not a valid count;
//                              ..."
//   a time that is not ISO-8601  InvalidArgument "invalid time '...': ..."
//   a quoted duration or size that does not read ('7w', '1XB')
//                              InvalidArgument "invalid max_bytes '1XB': ..."
//   a retention option given twice  InvalidArgument "option ... given twice"
//   TTL 0, or a TTL over 2^61 us  InvalidArgument "TTL 0 is not a valid TTL;
//                              ...", "TTL out of range ..."
//   a bad stream name          InvalidArgument (as the engine checks it)
//   EXPLAIN EXPLAIN ...        InvalidArgument
// and, for hand-built ASTs the parser never makes: EXPIRE with neither or
// both of BEFORE and OLDER THAN, ALTER STREAM without options, an unknown
// retention option, a duration over 2^63 - 1 us.
// Parameters are checked the same way when the program runs (the Param
// opcode).
#pragma once

#include "query/ast.h"
#include "vm/program.h"

#include <klite/error.h>

#include <string>
#include <string_view>

namespace klite::vm {

// "line 3, col 7: " -- the prefix of every error that names a place.
std::string where(const query::ast::Pos& pos);

// Throws Error(code) with the message `where(pos) + what` and the
// position as data (Error::line(), Error::column()).
[[noreturn]] void fail(ErrorCode code, const query::ast::Pos& pos,
                       const std::string& what);

// Compiles `statement`; `text` is its source, kept for messages.
Program compile(const query::ast::Statement& statement,
                std::string_view text = {});

} // namespace klite::vm
