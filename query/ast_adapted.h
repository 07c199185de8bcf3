// The Fusion adaptation of the AST (query/ast.h) for the grammar's
// attribute propagation, and nothing else. `pos` is not adapted: the
// lexical parsers (query/tokens.h) and the statement rule's on_success
// (query/grammar_def.h) fill it.
//
// Statements with a single field (DROP, INFO, EXPLAIN) and EXPIRE
// are built by semantic actions instead: X3's handling of one-element
// structs is fragile, and EXPIRE's two optional fields do not map onto a
// sequence.
#pragma once

#include "query/ast.h"

#include <boost/fusion/include/adapt_struct.hpp>

BOOST_FUSION_ADAPT_STRUCT(klite::query::ast::Add, values, stream, ttl)
BOOST_FUSION_ADAPT_STRUCT(klite::query::ast::GetKeys, keys, stream)
BOOST_FUSION_ADAPT_STRUCT(klite::query::ast::GetRange, count, direction, key,
                          stream)
BOOST_FUSION_ADAPT_STRUCT(klite::query::ast::GetEnd, last, count, stream)
BOOST_FUSION_ADAPT_STRUCT(klite::query::ast::GetAfterTime, count, time, stream)
BOOST_FUSION_ADAPT_STRUCT(klite::query::ast::RetentionOption, limit, value)
BOOST_FUSION_ADAPT_STRUCT(klite::query::ast::CreateStream, stream, options)
BOOST_FUSION_ADAPT_STRUCT(klite::query::ast::AlterStream, stream, options)
