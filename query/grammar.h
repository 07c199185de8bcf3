// The grammar's declaration and configuration (the X3 "config" part): the
// iterator, the skipper, the parse state every rule can reach through the
// context, and the one rule the parser calls. The grammar itself is in
// query/grammar_def.h; query/parser.cpp instantiates it, once.
#pragma once

#include "query/ast.h"

#include <boost/spirit/home/x3.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace klite::query::grammar {

namespace x3 = boost::spirit::x3;

using iterator_type = const char*;

// The mutable state of one parse, reached from every parser through the
// context (x3::get<state_tag>): the source, for positions and error
// messages, the EXPLAIN nesting depth, and the source range of each
// top-level statement.
struct ParseState {
  explicit ParseState(std::string_view text)
      : begin(text.data()), end(text.data() + text.size()) {
    line_starts.push_back(begin);
    for (const char* p = begin; p != end;) {
      auto* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
      if (!nl)
        break;
      p = nl + 1;
      line_starts.push_back(p);
    }
  }

  // The 1-based line and byte column of `p` (begin <= p <= end).
  ast::Pos pos(const char* p) const {
    auto it = std::upper_bound(line_starts.begin(), line_starts.end(), p);
    auto line = static_cast<std::size_t>(it - line_starts.begin());
    auto col = static_cast<std::size_t>(p - *(it - 1)) + 1;
    auto clamp = [](std::size_t v) {
      return static_cast<std::uint32_t>(std::min<std::size_t>(v, UINT32_MAX));
    };
    return {clamp(line), clamp(col)};
  }

  const char* begin;
  const char* end;
  std::vector<const char*> line_starts; // the first byte of each line
  int explain_depth = 0;                // EXPLAINs open around the parser
  std::vector<std::pair<const char*, const char*>> statements;
};

struct state_tag;

// Whitespace (space, \t, \n, \r, \f, \v) and `--` comments to the end of
// the line. Nothing else: bytes >= 0x80 are never whitespace.
struct skipper_parser : x3::parser<skipper_parser> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;

  static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
  }

  // Past the whitespace and comments at `p`.
  static const char* skip(const char* p, const char* last) {
    while (p != last) {
      if (is_space(*p)) {
        ++p;
      } else if (*p == '-' && last - p >= 2 && p[1] == '-') {
        auto* nl = static_cast<const char*>(std::memchr(p, '\n', last - p));
        p = nl ? nl : last;
      } else {
        break;
      }
    }
    return p;
  }

  template <typename Context, typename RContext, typename Attribute>
  bool parse(iterator_type& first, iterator_type const& last, Context const&,
             RContext&, Attribute&) const {
    const char* p = skip(first, last);
    bool moved = p != first;
    first = p;
    return moved;
  }
};

using skipper_type = skipper_parser;
using phrase_context_type = x3::phrase_parse_context<skipper_type>::type;
using context_type = x3::context<state_tag, ParseState, phrase_context_type>;

// script = statement { ";" statement } [ ";" ] end of input
using script_type = x3::rule<struct script_class, std::vector<ast::Statement>>;
BOOST_SPIRIT_DECLARE(script_type);

script_type const& script();

} // namespace klite::query::grammar
