// Syntax errors: how a parse failure becomes the klite::Error(Syntax) a user
// reads, "line 3, col 7: expected FROM, found \"FORM\"".
//
// Two kinds of failure reach the handler:
//   - an X3 expectation failure (`a > b` where b did not match): the
//     message is "expected <b's name>", at the first token after `where`;
//   - a LexicalFailure, thrown by a lexical parser (query/tokens.h) that
//     recognised a token but found it broken: the message is its own
//     ("number out of range ..."), at the token's first byte.
// Both end in ", found <token>", the offending token as the user wrote it
// (at most kTokenShown bytes, escaped), or "found end of input".
#pragma once

#include "query/chars.h"
#include "query/grammar.h"

#include <klite/error.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace klite::query::grammar {

// A token that was recognised but is malformed. `problem` is the whole
// message part ("unterminated string literal"); `length` is how many bytes
// from `where` the "found" part shows (0: the usual token at `where`).
struct LexicalFailure : x3::expectation_failure<iterator_type> {
  LexicalFailure(iterator_type where, const std::string& problem,
                 std::size_t length = 0)
      : x3::expectation_failure<iterator_type>(where, problem), length(length) {
  }
  std::size_t length;
};

inline constexpr std::size_t kTokenShown = 20; // bytes of "found" shown

// The bytes [p, p + n) for a message: printable ASCII and valid UTF-8 as
// they are, `"` and `\` escaped, everything else as \n, \r, \t or \xHH.
inline std::string escape_for_message(const char* p, std::size_t n) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  const char* last = p + n;
  while (p != last) {
    auto c = static_cast<unsigned char>(*p);
    std::size_t u = utf8_length(p, last);
    if (c >= 0x80 && u > 1) {
      out.append(p, u);
      p += u;
      continue;
    }
    ++p;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// How long the token at p is, for "found": a word (a keyword, a name, a
// number, "-1"), a quoted literal or blob up to its closing quote, or one
// character (one UTF-8 sequence, or one byte if invalid).
inline std::size_t token_length(const char* p, const char* last) {
  if (p == last)
    return 0;
  char c = *p;
  if (c == '\'' || c == '"' ||
      ((c == 'x' || c == 'X') && last - p >= 2 && p[1] == '\'')) {
    const char* q = c == '\'' || c == '"' ? p : p + 1;
    for (const char* s = q + 1; s != last; ++s) {
      if (*s == '\\' && s + 1 != last)
        ++s;
      else if (*s == *q)
        return static_cast<std::size_t>(s + 1 - p);
    }
    return static_cast<std::size_t>(last - p);
  }
  if (is_word_char(p, last))
    return static_cast<std::size_t>(word_end(p, last) - p);
  std::size_t u = utf8_length(p, last);
  return u ? u : 1;
}

// "found \"GET\"", "found \"aaaaaaaaaaaaaaaaaaaa...\"", "found end of input".
inline std::string found_text(const char* p, const char* last,
                              std::size_t length) {
  if (p == last)
    return "found end of input";
  if (length == 0)
    length = token_length(p, last);
  length = std::min<std::size_t>(length, last - p);
  std::size_t shown = length;
  if (shown > kTokenShown) {
    shown = kTokenShown;
    // Do not cut a UTF-8 sequence in two.
    while (shown > 0 && (static_cast<unsigned char>(p[shown]) & 0xC0) == 0x80)
      --shown;
  }
  std::string out = "found \"" + escape_for_message(p, shown);
  if (shown < length)
    out += "...";
  return out + "\"";
}

// The message of a failure at `where`: "line L, col C: <problem>, found T".
inline std::string syntax_message(const ParseState& st, const char* where,
                                  std::string_view problem,
                                  std::size_t length) {
  ast::Pos pos = st.pos(where);
  std::string msg = "line " + std::to_string(pos.line) + ", col " +
                    std::to_string(pos.col) + ": ";
  msg += problem;
  msg += ", ";
  msg += found_text(where, st.end, length);
  if (problem == "expected a stream name" && where != st.end &&
      is_keyword(std::string_view(where, word_end(where, st.end) - where)))
    msg += " (a reserved word)";
  return msg;
}

// Throws Error(Syntax) with syntax_message() and its position as data
// (Error::line(), Error::column()).
[[noreturn]] inline void throw_syntax(const ParseState& st, const char* where,
                                      std::string_view problem,
                                      std::size_t length) {
  ast::Pos pos = st.pos(where);
  throw Error(ErrorCode::Syntax, syntax_message(st, where, problem, length),
              pos.line, pos.col);
}

// The on_error hook of the script rule: turns any failure into
// klite::Error(Syntax) and throws it, ending the parse.
struct error_handler {
  template <typename Exception, typename Context>
  x3::error_handler_result on_error(iterator_type&, iterator_type const&,
                                    Exception const& x,
                                    Context const& context) const {
    const ParseState& st = x3::get<state_tag>(context);
    if (auto* lex = dynamic_cast<const LexicalFailure*>(&x))
      throw_syntax(st, lex->where(), lex->which(), lex->length);
    // An expectation failure's position may lie before the whitespace the
    // failed parser skipped: report the token itself.
    const char* where = skipper_parser::skip(x.where(), st.end);
    throw_syntax(st, where, "expected " + x.which(), 0);
  }
};

} // namespace klite::query::grammar
