#include "vm/program.h"

#include <klite/engine.h>
#include <klite/error.h>

#include <algorithm>

namespace klite::vm {

std::string_view Instruction::p4_view() const noexcept {
  if (const auto* t = std::get_if<Text>(&p4))
    return t->bytes;
  if (const auto* n = std::get_if<Name>(&p4))
    return n->name;
  return {};
}

std::string p4_text(const P4& p4) {
  if (const auto* n = std::get_if<Name>(&p4))
    return n->name;
  const auto* t = std::get_if<Text>(&p4);
  if (!t)
    return {};
  constexpr std::size_t kShown = 32;
  std::string_view b = t->bytes;
  std::string_view shown = b.substr(0, kShown);
  bool printable = std::all_of(shown.begin(), shown.end(),
                               [](char c) { return c >= 0x20 && c < 0x7f; });
  std::string out;
  if (printable) {
    out += '\'';
    for (char c : shown) {
      if (c == '\'' || c == '\\')
        out += '\\';
      out += c;
    }
    out += '\'';
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "x'";
    for (char c : shown) {
      auto u = static_cast<unsigned char>(c);
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
    out += '\'';
  }
  if (b.size() > kShown)
    out += "... (" + std::to_string(b.size()) + " bytes)";
  return out;
}

query::Measure amount_measure(ParamUse use) noexcept {
  switch (use) {
  case ParamUse::MaxBytes:
    return query::Measure::Size;
  case ParamUse::MaxRecords:
    return query::Measure::Count;
  default:
    return query::Measure::Duration;
  }
}

std::string_view use_name(ParamUse use) noexcept {
  switch (use) {
  case ParamUse::Key:
  case ParamUse::AfterKey:
    return "key";
  case ParamUse::Count:
    return "count";
  case ParamUse::Value:
    return "value";
  case ParamUse::Time:
    return "time";
  case ParamUse::Duration:
    return "duration";
  case ParamUse::MaxAge:
  case ParamUse::MaxBytes:
  case ParamUse::MaxRecords:
    return query::ast::kLimitNames[static_cast<std::size_t>(use) -
                                   static_cast<std::size_t>(ParamUse::MaxAge)];
  case ParamUse::Ttl:
    return "TTL";
  }
  return "?";
}

// The largest TTL in whole days, as the message below names it.
static_assert(26687997 * 86400'000000 <= kMaxTtl.count() &&
              26687998 * 86400'000000 > kMaxTtl.count());

const char* ttl_problem(std::uint64_t micros) noexcept {
  if (micros == 0)
    return "TTL 0 is not a valid TTL; leave TTL out for records that do not "
           "expire";
  if (micros > static_cast<std::uint64_t>(kMaxTtl.count()))
    return "TTL out of range (the largest is 26687997d)";
  return nullptr;
}

const std::vector<std::string>& get_columns() {
  static const std::vector<std::string> c{"key", "ts", "value"};
  return c;
}
const std::vector<std::string>& add_columns() {
  static const std::vector<std::string> c{"key"};
  return c;
}
const std::vector<std::string>& info_columns() {
  static const std::vector<std::string> c{
      "name",     "records",         "bytes",          "first_key",
      "last_key", "first_timestamp", "last_timestamp", "created",
      "max_age",  "max_bytes",       "max_records"};
  return c;
}
const std::vector<std::string>& expire_columns() {
  static const std::vector<std::string> c{"expired"};
  return c;
}
const std::vector<std::string>& vacuum_columns() {
  static const std::vector<std::string> c{"bytes_freed"};
  return c;
}
const std::vector<std::string>& explain_columns() {
  static const std::vector<std::string> c{"addr", "opcode", "p1",     "p2",
                                          "p3",   "p4",     "comment"};
  return c;
}
const std::vector<std::string>& no_columns() {
  static const std::vector<std::string> c;
  return c;
}

std::string explain_comment(const Instruction& i) {
  std::string s = describe(i.op, i.p1, i.p2, i.p3, p4_text(i.p4));
  if (!i.comment.empty()) {
    s += "; ";
    s += i.comment;
  }
  return s;
}

std::string format(const Program& program) {
  struct Line {
    std::string cells[7];
  };
  std::vector<Line> lines;
  lines.push_back({{"addr", "opcode", "p1", "p2", "p3", "p4", "comment"}});
  for (std::size_t a = 0; a < program.code.size(); ++a) {
    const Instruction& i = program.code[a];
    lines.push_back(
        {{std::to_string(a), std::string(name(i.op)), std::to_string(i.p1),
          std::to_string(i.p2), std::to_string(i.p3), p4_text(i.p4),
          explain_comment(i)}});
  }
  std::size_t width[7] = {};
  for (const Line& l : lines)
    for (int c = 0; c < 6; ++c)
      width[c] = std::max(width[c], l.cells[c].size());
  std::string out;
  auto row = [&](const Line& l) {
    std::string s;
    for (int c = 0; c < 7; ++c) {
      s += l.cells[c];
      if (c < 6)
        s.append(width[c] - l.cells[c].size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ')
      s.pop_back();
    out += s;
    out += '\n';
  };
  row(lines[0]);
  Line rule;
  for (int c = 0; c < 7; ++c)
    rule.cells[c] = std::string(c < 6 ? width[c] : 7, '-');
  row(rule);
  for (std::size_t l = 1; l < lines.size(); ++l)
    row(lines[l]);
  return out;
}

// ---------------------------------------------------------------------------
// Builder

std::size_t Builder::add(Opcode op, std::uint64_t p1, std::uint64_t p2,
                         std::uint64_t p3, P4 p4) {
  Instruction i;
  i.op = op;
  i.p1 = p1;
  i.p2 = p2;
  i.p3 = p3;
  i.p4 = std::move(p4);
  i.pos = pos_;
  program_.code.push_back(std::move(i));
  return program_.code.size() - 1;
}

std::size_t Builder::add_jump(Opcode op, std::uint64_t p1, Label target,
                              std::uint64_t p3) {
  std::size_t at = add(op, p1, 0, p3);
  fixups_.emplace_back(at, target.id);
  return at;
}

Builder::Label Builder::make_label() {
  labels_.push_back(-1);
  return Label{static_cast<std::uint32_t>(labels_.size() - 1)};
}

void Builder::resolve(Label label) {
  labels_.at(label.id) = static_cast<std::int64_t>(program_.code.size());
}

void Builder::comment(std::string text) {
  if (!program_.code.empty())
    program_.code.back().comment = std::move(text);
}

void Program::seal() {
  ops.clear();
  ops.reserve(code.size());
  for (const Instruction& i : code)
    ops.push_back(Op{i.op, i.p1, i.p2, i.p3, i.p4_view()});
}

Program Builder::finish() {
  for (auto [at, id] : fixups_) {
    std::int64_t target = labels_.at(id);
    if (target < 0)
      throw Error(ErrorCode::Misuse, "vm: unresolved label in program");
    program_.code[at].p2 = static_cast<std::uint64_t>(target);
  }
  fixups_.clear();
  labels_.clear();
  program_.seal();
  return std::move(program_);
}

} // namespace klite::vm
