// A one-line text form of the query AST for the parser tests: the statement
// in its own syntax, every node followed by @line:col, parameters by their
// index ("?#1", ":k#2"), bytes quoted with \xHH for anything unprintable,
// durations in microseconds, sizes in bytes:
//   GET@1:1 10@1:5 AFTER :k#1@1:14 FROM s@1:22
//   ALTER STREAM@1:1 s@1:14 SET (max_bytes@1:19 = 1024@1:31)
#pragma once

#include "query/ast.h"

#include <string>

namespace klite::query::test {

inline std::string dump(const ast::Pos& p) {
  return "@" + std::to_string(p.line) + ":" + std::to_string(p.col);
}

inline std::string dump(const ast::Number& n) {
  return std::to_string(n.value) + dump(n.pos);
}
inline std::string dump(const ast::Param& p) {
  return (p.name.empty() ? "?" : ":" + p.name) + "#" + std::to_string(p.index) +
         dump(p.pos);
}
inline std::string dump(const ast::Bytes& b) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "'";
  for (char ch : b.value) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
      out += ch;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "'" + dump(b.pos);
}
inline std::string dump(const ast::Ident& i) { return i.name + dump(i.pos); }
inline std::string dump(const ast::Duration& d) {
  return std::to_string(d.micros) + "us" + dump(d.pos);
}
inline std::string dump(const ast::Integer& v) {
  return boost::apply_visitor([](const auto& x) { return dump(x); }, v);
}
inline std::string dump(const ast::Value& v) {
  return boost::apply_visitor([](const auto& x) { return dump(x); }, v);
}
inline std::string dump(const ast::Amount& v) {
  return boost::apply_visitor([](const auto& x) { return dump(x); }, v);
}
inline std::string dump(const ast::RetentionOption& o) {
  return std::string(ast::kLimitNames[static_cast<std::size_t>(o.limit)]) +
         dump(o.pos) + " = " + dump(o.value);
}
template <typename T>
std::string dump_list(const std::vector<T>& items, const char* open = "[",
                      const char* close = "]") {
  std::string out = open;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? ", " : "") + dump(items[i]);
  return out + close;
}

std::string dump(const ast::Statement& s);

inline std::string dump(const ast::Add& s) {
  std::string out = "ADD" + dump(s.pos) + " " + dump_list(s.values) +
                    " TO " + dump(s.stream);
  if (s.ttl)
    out += " TTL " + dump(*s.ttl);
  return out;
}
inline std::string dump(const ast::GetKeys& s) {
  return "GET" + dump(s.pos) + " " + dump_list(s.keys) + " FROM " +
         dump(s.stream);
}
inline std::string dump(const ast::GetRange& s) {
  return "GET" + dump(s.pos) + " " + dump(s.count) +
         (s.direction == ast::Direction::After ? " AFTER " : " BEFORE ") +
         dump(s.key) + " FROM " + dump(s.stream);
}
inline std::string dump(const ast::GetEnd& s) {
  return "GET" + dump(s.pos) + (s.last ? " LAST " : " FIRST ") + dump(s.count) +
         " FROM " + dump(s.stream);
}
inline std::string dump(const ast::GetAfterTime& s) {
  return "GET" + dump(s.pos) + " " + dump(s.count) + " AFTER TIME " +
         dump(s.time) + " FROM " + dump(s.stream);
}
inline std::string dump(const ast::CreateStream& s) {
  std::string out = "CREATE STREAM" + dump(s.pos) + " " + dump(s.stream);
  if (!s.options.empty())
    out += " WITH " + dump_list(s.options, "(", ")");
  return out;
}
inline std::string dump(const ast::AlterStream& s) {
  return "ALTER STREAM" + dump(s.pos) + " " + dump(s.stream) + " SET " +
         dump_list(s.options, "(", ")");
}
inline std::string dump(const ast::DropStream& s) {
  return "DROP STREAM" + dump(s.pos) + " " + dump(s.stream);
}
inline std::string dump(const ast::ShowStreams& s) {
  return "SHOW STREAMS" + dump(s.pos);
}
inline std::string dump(const ast::Info& s) {
  return "INFO" + dump(s.pos) + " " + dump(s.stream);
}
inline std::string dump(const ast::Begin& s) { return "BEGIN" + dump(s.pos); }
inline std::string dump(const ast::Commit& s) { return "COMMIT" + dump(s.pos); }
inline std::string dump(const ast::Rollback& s) {
  return "ROLLBACK" + dump(s.pos);
}
inline std::string dump(const ast::Vacuum& s) { return "VACUUM" + dump(s.pos); }
inline std::string dump(const ast::Expire& s) {
  std::string out = "EXPIRE" + dump(s.pos) + " " + dump(s.stream);
  if (s.before)
    out += " BEFORE " + dump(*s.before);
  if (s.older_than)
    out += " OLDER THAN " + dump(*s.older_than);
  return out;
}
inline std::string dump(const ast::Explain& s) {
  return "EXPLAIN" + dump(s.pos) + " (" + dump(s.statement) + ")";
}
template <typename T>
std::string dump(const boost::spirit::x3::forward_ast<T>& f) {
  return dump(f.get());
}

inline std::string dump(const ast::Statement& s) {
  return boost::apply_visitor([](const auto& x) { return dump(x); }, s);
}

// All statements of a script, separated by "; ".
inline std::string dump(const ast::Script& script) {
  std::string out;
  for (std::size_t i = 0; i < script.statements.size(); ++i)
    out += (i ? "; " : "") + dump(script.statements[i]);
  return out;
}

} // namespace klite::query::test
