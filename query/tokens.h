// The lexical parsers of the query language (docs/QUERY.md, "Lexical
// rules"): keywords, punctuation, numbers, parameters, string and blob
// literals, identifiers, and durations, sizes and counts, written as X3
// primitive parsers.
//
// Each one skips leading whitespace and comments itself (x3::skip_over),
// then reads one token with no skipping inside. A parser that does not see
// its token returns false (so an alternative can try the next one, or an
// expectation names what was expected); one that sees its token but finds
// it broken (an unterminated literal, a number above 2^64 - 1) throws a
// LexicalFailure, because no other reading of the text could succeed.
#pragma once

#include "query/amounts.h"
#include "query/error_handler.h"
#include "query/grammar.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

namespace klite::query::grammar {

inline constexpr std::size_t kMaxNameSize = 128; // identifiers, :names
inline constexpr int kMaxExplainDepth = 4;       // EXPLAIN EXPLAIN ...

template <typename Context> ParseState& state(Context const& context) {
  return x3::get<state_tag>(context);
}

// A keyword, case-insensitive, not followed by a letter, digit or '_'
// (so FROM does not match the start of FROMAGE).
struct keyword_parser : x3::parser<keyword_parser> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;
  constexpr explicit keyword_parser(std::string_view upper) : word(upper) {}

  template <typename Context, typename RContext, typename Attribute>
  bool parse(iterator_type& first, iterator_type const& last,
             Context const& context, RContext&, Attribute&) const {
    x3::skip_over(first, last, context);
    if (!starts_with_word(first, last, word))
      return false;
    const char* after = first + word.size();
    if (after != last && (is_alpha(*after) || is_digit(*after)))
      return false;
    first = after;
    return true;
  }

  std::string_view word;
};

// One punctuation character.
struct punct_parser : x3::parser<punct_parser> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;
  constexpr explicit punct_parser(char c) : ch(c) {}

  template <typename Context, typename RContext, typename Attribute>
  bool parse(iterator_type& first, iterator_type const& last,
             Context const& context, RContext&, Attribute&) const {
    x3::skip_over(first, last, context);
    if (first == last || *first != ch)
      return false;
    ++first;
    return true;
  }

  char ch;
};

// The end of the input (after trailing whitespace and comments).
struct end_parser : x3::parser<end_parser> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;

  template <typename Context, typename RContext, typename Attribute>
  bool parse(iterator_type& first, iterator_type const& last,
             Context const& context, RContext&, Attribute&) const {
    x3::skip_over(first, last, context);
    return first == last;
  }
};

// Reads the decimal digits at p into `value`; returns their end. Throws
// "number out of range" above 2^64 - 1.
inline const char* read_u64(const char* p, const char* last,
                            std::uint64_t& value) {
  const char* start = p;
  if (!read_digits(p, last, value))
    throw LexicalFailure(start, amount_range_problem(Measure::Count),
                         static_cast<std::size_t>(p - start));
  return p;
}

// An unsigned decimal integer, 0 to 2^64 - 1, not followed by a word
// character ("10abc", "1.5" and "-1" are not numbers).
struct number_parser : x3::parser<number_parser> {
  using attribute_type = ast::Number;
  static bool const has_attribute = true;

  template <typename Context, typename RContext, typename Attribute>
  bool parse(iterator_type& first, iterator_type const& last,
             Context const& context, RContext&, Attribute& attr) const {
    x3::skip_over(first, last, context);
    if (first == last || !is_digit(*first))
      return false;
    if (word_end(first, last) != std::find_if_not(first, last, is_digit))
      return false;
    ast::Number n;
    n.pos = state(context).pos(first);
    first = read_u64(first, last, n.value);
    x3::traits::move_to(n, attr);
    return true;
  }
};

// A name after ':' or a stream name: [A-Za-z_][A-Za-z0-9_.-]*, ending
// before a `--` comment. Returns its end (p if there is none); throws if it
// is longer than kMaxNameSize, naming the token that starts at `token`.
inline const char* read_name(const char* p, const char* last, const char* what,
                             const char* token) {
  if (p == last || !is_alpha(*p))
    return p;
  const char* end = word_end(p, last);
  if (static_cast<std::size_t>(end - p) > kMaxNameSize)
    throw LexicalFailure(token,
                         std::string(what) + " longer than " +
                             std::to_string(kMaxNameSize) + " bytes",
                         static_cast<std::size_t>(end - token));
  return end;
}

// `?` or `:name`. The parser (query/parser.cpp) numbers them afterwards.
struct param_parser : x3::parser<param_parser> {
  using attribute_type = ast::Param;
  static bool const has_attribute = true;

  template <typename Context, typename RContext, typename Attribute>
  bool parse(iterator_type& first, iterator_type const& last,
             Context const& context, RContext&, Attribute& attr) const {
    x3::skip_over(first, last, context);
    if (first == last || (*first != '?' && *first != ':'))
      return false;
    ast::Param param;
    param.pos = state(context).pos(first);
    if (*first == '?') {
      ++first;
    } else {
      const char* name = first + 1;
      const char* end = read_name(name, last, "parameter name", first);
      if (end == name)
        throw LexicalFailure(first, "expected a parameter name after ':'", 1);
      param.name.assign(name, end);
      first = end;
    }
    x3::traits::move_to(param, attr);
    return true;
  }
};

inline int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// '...' or "..." with escapes, decoded into out; returns the end.
// REQUIRES: *p is the opening quote.
inline const char* read_string(const char* p, const char* last,
                               std::string& out) {
  const char* start = p;
  const char quote = *p++;
  for (;;) {
    // Copy the plain run up to the next quote or backslash in one go.
    const char* q = p;
    while (q != last && *q != quote && *q != '\\')
      ++q;
    out.append(p, q);
    p = q;
    if (p == last)
      throw LexicalFailure(start, "unterminated string literal");
    if (*p == quote)
      return p + 1;
    // An escape.
    if (last - p < 2)
      throw LexicalFailure(start, "unterminated string literal");
    switch (p[1]) {
    case '\\':
      out += '\\';
      break;
    case '\'':
      out += '\'';
      break;
    case '"':
      out += '"';
      break;
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case 't':
      out += '\t';
      break;
    case '0':
      out += '\0';
      break;
    case 'x': {
      int hi = last - p >= 3 ? hex_value(p[2]) : -1;
      int lo = last - p >= 4 ? hex_value(p[3]) : -1;
      if (hi < 0 || lo < 0)
        throw LexicalFailure(
            p, "expected two hex digits after \\x",
            static_cast<std::size_t>(std::min<std::ptrdiff_t>(last - p, 4)));
      out += static_cast<char>(hi * 16 + lo);
      p += 2;
      break;
    }
    default: {
      std::size_t u = utf8_length(p + 1, last);
      throw LexicalFailure(p,
                           "expected an escape sequence (\\\\, \\', \\\", "
                           "\\n, \\r, \\t, \\0 or \\xHH)",
                           1 + (u ? u : 1));
    }
    }
    p += 2;
  }
}

// x'00ff' or X'00FF': an even number of hex digits, decoded into out;
// returns the end. REQUIRES: p[0] is x or X and p[1] is a quote.
inline const char* read_blob(const char* p, const char* last,
                             std::string& out) {
  const char* start = p;
  const char* body = p + 2;
  auto* close = static_cast<const char*>(std::memchr(body, '\'', last - body));
  if (!close)
    throw LexicalFailure(start, "unterminated blob");
  for (const char* q = body; q != close; ++q)
    if (hex_value(*q) < 0)
      throw LexicalFailure(q, "expected a hex digit or the closing quote");
  if ((close - body) % 2 != 0)
    throw LexicalFailure(start, "expected an even number of hex digits",
                         static_cast<std::size_t>(close + 1 - start));
  out.reserve(static_cast<std::size_t>(close - body) / 2);
  for (const char* q = body; q != close; q += 2)
    out += static_cast<char>(hex_value(q[0]) * 16 + hex_value(q[1]));
  return close + 1;
}

// A string literal, or (if blobs) a string literal or a blob.
template <bool Blobs>
struct literal_parser : x3::parser<literal_parser<Blobs>> {
  using attribute_type = ast::Bytes;
  static bool const has_attribute = true;

  template <typename Context, typename RContext, typename Attribute>
  bool parse(iterator_type& first, iterator_type const& last,
             Context const& context, RContext&, Attribute& attr) const {
    x3::skip_over(first, last, context);
    if (first == last)
      return false;
    ast::Bytes bytes;
    bytes.pos = state(context).pos(first);
    if (*first == '\'' || *first == '"')
      first = read_string(first, last, bytes.value);
    else if (Blobs && (*first == 'x' || *first == 'X') && last - first >= 2 &&
             first[1] == '\'')
      first = read_blob(first, last, bytes.value);
    else
      return false;
    x3::traits::move_to(std::move(bytes), attr);
    return true;
  }
};

// A stream name: an identifier that is not a keyword.
struct ident_parser : x3::parser<ident_parser> {
  using attribute_type = ast::Ident;
  static bool const has_attribute = true;

  template <typename Context, typename RContext, typename Attribute>
  bool parse(iterator_type& first, iterator_type const& last,
             Context const& context, RContext&, Attribute& attr) const {
    x3::skip_over(first, last, context);
    const char* end = read_name(first, last, "identifier", first);
    if (end == first || is_keyword(std::string_view(first, end - first)))
      return false;
    ast::Ident ident;
    ident.pos = state(context).pos(first);
    ident.name.assign(first, end);
    first = end;
    x3::traits::move_to(std::move(ident), attr);
    return true;
  }
};

// A duration, a size or a record count as a bare word (query/amounts.h):
// `7d`, `1GiB`, `1000`, and with Limit also `none`. A duration is read into
// an ast::Duration, the others into an ast::Number. A word that is not one
// is no match; one that is, but too large, is broken.
template <Measure M, bool Limit>
struct amount_parser : x3::parser<amount_parser<M, Limit>> {
  using attribute_type =
      std::conditional_t<M == Measure::Duration, ast::Duration, ast::Number>;
  static bool const has_attribute = true;

  template <typename Context, typename RContext, typename Attribute>
  bool parse(iterator_type& first, iterator_type const& last,
             Context const& context, RContext&, Attribute& attr) const {
    x3::skip_over(first, last, context);
    const char* end = word_end(first, last);
    AmountReading r = read_amount(
        M, std::string_view(first, static_cast<std::size_t>(end - first)),
        Limit);
    if (r.status == AmountReading::Status::Malformed)
      return false;
    if (r.status == AmountReading::Status::OutOfRange)
      throw LexicalFailure(first, amount_range_problem(M),
                           static_cast<std::size_t>(end - first));
    attribute_type node;
    node.pos = state(context).pos(first);
    if constexpr (M == Measure::Duration)
      node.micros = r.value;
    else
      node.value = r.value;
    first = end;
    x3::traits::move_to(node, attr);
    return true;
  }
};

// nested[EXPLAIN's statement]: counts EXPLAINs, and refuses the
// (kMaxExplainDepth + 1)-th, which bounds the parser's recursion.
template <typename Subject>
struct nested_directive : x3::unary_parser<Subject, nested_directive<Subject>> {
  using base_type = x3::unary_parser<Subject, nested_directive<Subject>>;
  static bool const is_pass_through_unary = true;
  constexpr explicit nested_directive(Subject const& subject)
      : base_type(subject) {}

  template <typename Context, typename RContext, typename Attribute>
  bool parse(iterator_type& first, iterator_type const& last,
             Context const& context, RContext& rcontext,
             Attribute& attr) const {
    ParseState& st = state(context);
    if (st.explain_depth + 1 >= kMaxExplainDepth) {
      const char* p = skipper_parser::skip(first, last);
      iterator_type q = p;
      x3::unused_type unused;
      if (keyword_parser("EXPLAIN").parse(q, last, x3::unused, unused, unused))
        throw LexicalFailure(p, "EXPLAIN nested more than " +
                                    std::to_string(kMaxExplainDepth) + " deep");
    }
    ++st.explain_depth;
    bool ok = this->subject.parse(first, last, context, rcontext, attr);
    --st.explain_depth;
    return ok;
  }
};

struct nested_gen {
  template <typename Subject>
  constexpr nested_directive<
      typename x3::extension::as_parser<Subject>::value_type>
  operator[](Subject const& subject) const {
    return nested_directive<
        typename x3::extension::as_parser<Subject>::value_type>(
        x3::as_parser(subject));
  }
};

} // namespace klite::query::grammar

// The names expectation failures use ("expected FROM").
namespace boost::spirit::x3 {
// An action or nested[] takes its subject's name.
template <typename Subject, typename Action>
struct get_info<action<Subject, Action>> {
  using result_type = std::string;
  std::string operator()(action<Subject, Action> const& p) const {
    return what(p.subject);
  }
};
template <typename Subject>
struct get_info<klite::query::grammar::nested_directive<Subject>> {
  using result_type = std::string;
  std::string
  operator()(klite::query::grammar::nested_directive<Subject> const& p) const {
    return what(p.subject);
  }
};
template <> struct get_info<klite::query::grammar::keyword_parser> {
  using result_type = std::string;
  std::string operator()(klite::query::grammar::keyword_parser const& p) const {
    return std::string(p.word);
  }
};
template <> struct get_info<klite::query::grammar::ident_parser> {
  using result_type = std::string;
  std::string operator()(klite::query::grammar::ident_parser const&) const {
    return "a stream name";
  }
};
template <> struct get_info<klite::query::grammar::punct_parser> {
  using result_type = std::string;
  std::string operator()(klite::query::grammar::punct_parser const& p) const {
    return std::string("'") + p.ch + "'";
  }
};
template <> struct get_info<klite::query::grammar::end_parser> {
  using result_type = std::string;
  std::string operator()(klite::query::grammar::end_parser const&) const {
    return "';' or end of input";
  }
};
} // namespace boost::spirit::x3
