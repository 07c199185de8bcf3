// The query parser: text -> AST (query/ast.h), with Boost.Spirit X3.
#pragma once

#include "query/ast.h"

#include <string_view>

namespace klite::query {

// Parses a script of one or more statements separated by ';'. Throws
// Error(Syntax) whose message names the place and what was expected:
// "line 1, col 10: expected FROM, found \"FORM\"".
ast::Script parse(std::string_view text);

} // namespace klite::query
