// A compiled statement: a flat vector of instructions with jumps, like
// SQLite's VDBE programs, and the tiny code-generator API that builds one.
#pragma once

#include "query/amounts.h"
#include "query/ast.h"
#include "vm/opcodes.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace klite::vm {

// P4, the operand that is not an integer.
struct Text { // a bytes literal, shown quoted by EXPLAIN
  std::string bytes;
};
struct Name { // a stream or parameter name, shown as it is
  std::string name;
};
using P4 = std::variant<std::monostate, Text, Name>;

// EXPLAIN's rendering of P4: empty, 'text' (x'..' if not printable ASCII,
// cut after 32 bytes) or the name.
std::string p4_text(const P4& p4);

struct Instruction {
  Opcode op = Opcode::Halt;
  std::uint64_t p1 = 0;
  std::uint64_t p2 = 0;
  std::uint64_t p3 = 0;
  P4 p4;
  std::string comment; // from the code generator; may be empty
  query::ast::Pos pos; // the source an error of this instruction names

  // The bytes of P4 (a Text's bytes or a Name's name); empty for none.
  std::string_view p4_view() const noexcept;
};

// How a Param instruction checks and converts its value (its P3).
enum class ParamUse : std::uint8_t {
  Key = 0,      // an integer >= 1
  AfterKey = 1, // an integer, 0 allowed
  Count = 2,    // an integer >= 1
  Value = 3,    // bytes
  Time = 4,     // ISO-8601 bytes or integer microseconds -> integer
  // A duration, size or record count (query/amounts.h): an integer in its
  // unit, or bytes as the language writes it ("7d", "1GiB").
  Duration = 5,   // EXPIRE ... OLDER THAN: microseconds
  MaxAge = 6,     // like Duration; "none" is 0
  MaxBytes = 7,   // bytes; "none" is 0
  MaxRecords = 8, // records; "none" is 0
  Ttl = 9,        // ADD ... TTL: microseconds, 1 to kMaxTtl
};

// The use of a retention option's value: the limits in ast::Limit order.
constexpr ParamUse limit_use(query::ast::Limit limit) noexcept {
  return static_cast<ParamUse>(static_cast<std::uint8_t>(ParamUse::MaxAge) +
                               static_cast<std::uint8_t>(limit));
}
static_assert(limit_use(query::ast::Limit::MaxBytes) == ParamUse::MaxBytes &&
              limit_use(query::ast::Limit::MaxRecords) == ParamUse::MaxRecords);

// What a value of `use` is called in EXPLAIN comments and messages: "key",
// "count", "duration", "max_bytes", "TTL".
std::string_view use_name(ParamUse use) noexcept;
// For the ParamUse values from Duration on: what the amount measures, and
// if it is a retention limit (which takes `none`).
query::Measure amount_measure(ParamUse use) noexcept;
inline bool amount_limit(ParamUse use) noexcept {
  return use >= ParamUse::MaxAge && use <= ParamUse::MaxRecords;
}
// Why `micros` is no TTL that an ADD may give (0, or over kMaxTtl), or
// nullptr: the compiler's check of a literal and the VM's of a parameter.
const char* ttl_problem(std::uint64_t micros) noexcept;

struct Parameter {
  std::string name;    // ":id" or "?"
  query::ast::Pos pos; // of its first use
};

// What the interpreter reads of an instruction: the operands only (48 bytes
// rather than 112), so a program's hot part spans few cache lines. The
// engine's work between two instructions evicts them often enough for that
// to show in the prepared-ADD loop.
struct Op {
  Opcode op = Opcode::Halt;
  std::uint64_t p1 = 0;
  std::uint64_t p2 = 0;
  std::uint64_t p3 = 0;
  std::string_view p4; // Instruction::p4_view() of the same instruction
};

// Move-only: `ops` holds views of the P4 strings inside `code`.
struct Program {
  Program() = default;
  Program(Program&&) noexcept = default;
  Program& operator=(Program&&) noexcept = default;
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  // Rebuilds `ops` from `code`; call after `code` last changes.
  void seal();

  std::vector<Instruction> code;
  std::vector<Op> ops;
  // The columns of the rows (docs/QUERY.md): points to a static list.
  const std::vector<std::string>* columns = nullptr;
  // Parameter i (1-based) is params[i - 1].
  std::vector<Parameter> params;
  std::uint32_t registers = 0; // r[1] .. r[registers]
  std::uint32_t slots = 0;     // cursor[0] .. cursor[slots - 1]
  bool writes = false;         // needs the write transaction
  // EXPLAIN: this program has no code of its own; its rows list `explained`.
  std::shared_ptr<const Program> explained;
  std::string text; // the statement's source text, when known
};

// The column lists, by statement kind.
const std::vector<std::string>& get_columns();
const std::vector<std::string>& add_columns();
const std::vector<std::string>& info_columns();
const std::vector<std::string>& expire_columns();
const std::vector<std::string>& vacuum_columns();
const std::vector<std::string>& explain_columns();
const std::vector<std::string>& no_columns();

// EXPLAIN's comment for instruction `i`: the opcode's synopsis with the
// operands filled in, then the code generator's comment, if any.
std::string explain_comment(const Instruction& i);

// The program as a table, one line per instruction, as SQLite's shell shows
// EXPLAIN:  addr  opcode  p1  p2  p3  p4  comment
std::string format(const Program& program);

// The code generator's API: add an instruction, make a label, resolve it,
// comment the last instruction, allocate registers and cursor slots.
class Builder {
public:
  Builder() { program_.code.reserve(16); }

  // A forward jump target; pass it as P2 of a jumping opcode.
  struct Label {
    std::uint32_t id;
  };

  // Appends an instruction at the current source position; returns its
  // address.
  std::size_t add(Opcode op, std::uint64_t p1 = 0, std::uint64_t p2 = 0,
                  std::uint64_t p3 = 0, P4 p4 = {});
  // Same, with P2 a label (resolved when finish() runs).
  std::size_t add_jump(Opcode op, std::uint64_t p1, Label target,
                       std::uint64_t p3 = 0);
  Label make_label();
  // The label now points at the next instruction to be added.
  void resolve(Label label);
  // Sets the comment of the last instruction added.
  void comment(std::string text);
  // The source position of the instructions added from now on.
  void at(query::ast::Pos pos) { pos_ = pos; }

  std::uint64_t new_register() { return ++program_.registers; }
  std::uint64_t new_slot() { return program_.slots++; }
  std::size_t next_address() const { return program_.code.size(); }
  Program& program() { return program_; }

  // Resolves every label; REQUIRES: each was resolved.
  Program finish();

private:
  Program program_;
  std::vector<std::int64_t> labels_; // label -> address or -1
  std::vector<std::pair<std::size_t, std::uint32_t>> fixups_; // addr, label
  query::ast::Pos pos_;
};

} // namespace klite::vm
