// One operator() per AST node, as in Spirit X3's calc9 compiler. Each
// statement compiles to a straight program in the same shape:
//
//   load literals and parameters into registers   (Integer, Bytes, Param)
//   Begin                                         (the statement's txn)
//   the body: Open + a seek + an Emit loop, or Append, CreateStream, ...
//   Commit 0                                      (ends the statement's txn)
//   Halt
//
// Loads come first so a badly bound parameter fails before a transaction
// begins. ADD commits before its first row, so the keys a caller sees are
// already durable and abandoning the rows cannot undo the append.
#include "vm/compiler.h"

#include "vm/iso8601.h"

#include <klite/engine.h> // kMaxStreamNameSize

#include <memory>

namespace klite::vm {

namespace ast = query::ast;

std::string where(const ast::Pos& pos) {
  return "line " + std::to_string(pos.line) + ", col " +
         std::to_string(pos.col) + ": ";
}

void fail(ErrorCode code, const ast::Pos& pos, const std::string& what) {
  throw Error(code, where(pos) + what, pos.line, pos.col);
}

namespace {

// The stream-name rule of the engine's catalog (docs/FORMAT.md); the
// parser enforces it too, this keeps hand-built ASTs honest.
void check_stream(const ast::Ident& id) {
  const std::string& n = id.name;
  auto alpha = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  bool ok = !n.empty() && n.size() <= kMaxStreamNameSize && alpha(n[0]);
  for (char c : n)
    ok = ok && (alpha(c) || (c >= '0' && c <= '9') || c == '.' || c == '-');
  if (!ok)
    fail(ErrorCode::InvalidArgument, id.pos,
         "invalid stream name \"" + n.substr(0, 64) +
             (n.size() > 64 ? "...\"" : "\"") +
             ": a letter or '_', then letters, digits, '_', '.' or '-', at "
             "most " +
             std::to_string(kMaxStreamNameSize) + " bytes");
}

class Compiler {
public:
  using result_type = void;
  explicit Compiler(Builder& b) : b_(b) {}

  void operator()(const ast::Add& s) const {
    b_.at(s.pos);
    check_stream(s.stream);
    const auto n = static_cast<std::uint64_t>(s.values.size());
    if (n == 0)
      fail(ErrorCode::InvalidArgument, s.pos, "ADD needs a value");
    std::uint64_t base = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t r = b_.new_register();
      if (i == 0)
        base = r;
    }
    for (std::uint64_t i = 0; i < n; ++i)
      load_value(s.values[i], base + i);
    std::uint64_t key = b_.new_register();
    b_.at(s.pos);
    b_.add(Opcode::Begin, 1, 0);
    b_.comment("write, or join the open BEGIN");
    b_.at(s.stream.pos);
    b_.add(Opcode::Append, base, n, key, Name{s.stream.name});
    b_.at(s.pos);
    b_.add(Opcode::Commit, 0);
    b_.comment("before the first row");
    if (n == 1) {
      b_.add(Opcode::ResultRow, key, 1);
    } else {
      std::uint64_t left = b_.new_register();
      b_.add(Opcode::Integer, n, left);
      b_.comment("rows to return");
      auto loop = b_.make_label(), done = b_.make_label();
      b_.resolve(loop);
      b_.add(Opcode::ResultRow, key, 1);
      b_.add_jump(Opcode::DecrJumpZero, left, done);
      b_.add(Opcode::AddImm, key, 1);
      b_.comment("the keys are dense");
      b_.add_jump(Opcode::Goto, 0, loop);
      b_.resolve(done);
    }
    b_.add(Opcode::Halt);
    program().writes = true;
    program().columns = &add_columns();
  }

  void operator()(const ast::GetKeys& s) const {
    b_.at(s.pos);
    check_stream(s.stream);
    std::vector<std::uint64_t> regs;
    regs.reserve(s.keys.size());
    for (const ast::Integer& k : s.keys)
      regs.push_back(load_integer(k, ParamUse::Key));
    std::uint64_t c = open(s, s.stream);
    for (std::uint64_t r : regs) {
      auto skip = b_.make_label();
      b_.add_jump(Opcode::Seek, c, skip, r);
      b_.add(Opcode::Emit, c);
      b_.resolve(skip);
    }
    end_read();
  }

  void operator()(const ast::GetRange& s) const {
    b_.at(s.pos);
    check_stream(s.stream);
    std::uint64_t count = load_integer(s.count, ParamUse::Count);
    bool after = s.direction == ast::Direction::After;
    std::uint64_t key =
        load_integer(s.key, after ? ParamUse::AfterKey : ParamUse::Key);
    std::uint64_t c = open(s, s.stream);
    auto done = b_.make_label();
    if (after) {
      b_.add_jump(Opcode::SeekAfter, c, done, key);
      forward(c, count, done);
    } else {
      b_.add_jump(Opcode::SeekBefore, c, done, key);
      backward(c, count, done);
    }
    b_.resolve(done);
    end_read();
  }

  void operator()(const ast::GetEnd& s) const {
    b_.at(s.pos);
    check_stream(s.stream);
    std::uint64_t count = load_integer(s.count, ParamUse::Count);
    std::uint64_t c = open(s, s.stream);
    auto done = b_.make_label();
    if (s.last) {
      b_.add_jump(Opcode::Last, c, done);
      backward(c, count, done);
    } else {
      b_.add_jump(Opcode::First, c, done);
      forward(c, count, done);
    }
    b_.resolve(done);
    end_read();
  }

  void operator()(const ast::GetAfterTime& s) const {
    b_.at(s.pos);
    check_stream(s.stream);
    std::uint64_t count = load_integer(s.count, ParamUse::Count);
    std::uint64_t time = b_.new_register();
    load_time(s.time, time);
    std::uint64_t c = open(s, s.stream);
    auto done = b_.make_label();
    b_.add_jump(Opcode::SeekTime, c, done, time);
    forward(c, count, done);
    b_.resolve(done);
    end_read();
  }

  void operator()(const ast::CreateStream& s) const {
    write_one(s, s.stream, Opcode::CreateStream);
  }
  void operator()(const ast::DropStream& s) const {
    write_one(s, s.stream, Opcode::DropStream);
  }

  void operator()(const ast::ShowStreams& s) const {
    b_.at(s.pos);
    b_.add(Opcode::Begin, 0, 0);
    b_.comment("read, or join the open BEGIN");
    std::uint64_t c = b_.new_slot();
    auto loop = b_.make_label(), done = b_.make_label();
    b_.add_jump(Opcode::ListStreams, c, done);
    b_.resolve(loop);
    b_.add(Opcode::EmitInfo, c);
    b_.add_jump(Opcode::NextStream, c, loop);
    b_.resolve(done);
    end_read();
    program().columns = &info_columns();
  }

  void operator()(const ast::Info& s) const {
    b_.at(s.pos);
    check_stream(s.stream);
    b_.add(Opcode::Begin, 0, 0);
    b_.comment("read, or join the open BEGIN");
    std::uint64_t c = b_.new_slot();
    b_.at(s.stream.pos);
    b_.add(Opcode::Info, c, 0, 0, Name{s.stream.name});
    b_.at(s.pos);
    b_.add(Opcode::EmitInfo, c);
    end_read();
    program().columns = &info_columns();
  }

  void operator()(const ast::Begin& s) const {
    b_.at(s.pos);
    b_.add(Opcode::Begin, 1, 1);
    b_.comment("BEGIN");
    b_.add(Opcode::Halt);
    program().writes = true;
  }
  void operator()(const ast::Commit& s) const {
    b_.at(s.pos);
    b_.add(Opcode::Commit, 1);
    b_.comment("COMMIT");
    b_.add(Opcode::Halt);
    program().writes = true;
  }
  void operator()(const ast::Rollback& s) const {
    b_.at(s.pos);
    b_.add(Opcode::Rollback);
    b_.add(Opcode::Halt);
  }

  void operator()(const ast::Expire& s) const {
    fail(ErrorCode::Unsupported, s.pos, "EXPIRE is not supported yet");
  }

  void operator()(const boost::spirit::x3::forward_ast<ast::Explain>& f) const {
    const ast::Explain& e = f.get();
    if (const auto* inner =
            boost::get<boost::spirit::x3::forward_ast<ast::Explain>>(
                &e.statement.get()))
      fail(ErrorCode::InvalidArgument, inner->get().pos,
           "EXPLAIN of an EXPLAIN is not supported");
    auto inner = std::make_shared<Program>(compile(e.statement));
    program().params = inner->params;
    program().explained = std::move(inner);
    program().columns = &explain_columns();
  }

private:
  Program& program() const { return b_.program(); }

  // Registers a parameter's name and position; returns the P4 that names
  // it in EXPLAIN.
  Name note_param(const ast::Param& p) const {
    auto& params = program().params;
    std::size_t index = p.index;
    if (index == 0) // a hand-built AST: number from the left
      index = params.size() + 1;
    if (params.size() < index)
      params.resize(index);
    Parameter& slot = params[index - 1];
    std::string name = p.name;
    if (!name.empty() && name[0] != ':')
      name.insert(name.begin(), ':');
    if (slot.name.empty()) {
      slot.name = name.empty() ? "?" : name;
      slot.pos = p.pos;
    }
    return Name{name.empty() ? "?" + std::to_string(index) : name};
  }

  std::uint64_t param_index(const ast::Param& p) const {
    return p.index ? p.index : program().params.size();
  }

  void load_param(const ast::Param& p, std::uint64_t reg, ParamUse use) const {
    b_.at(p.pos);
    Name n = note_param(p);
    b_.add(Opcode::Param, param_index(p), reg, static_cast<std::uint64_t>(use),
           std::move(n));
    static constexpr const char* kUse[] = {"key", "key", "count", "value",
                                           "time"};
    b_.comment(kUse[static_cast<int>(use)]);
  }

  std::uint64_t load_integer(const ast::Integer& v, ParamUse use) const {
    std::uint64_t reg = b_.new_register();
    if (const auto* p = boost::get<ast::Param>(&v.get())) {
      load_param(*p, reg, use);
      return reg;
    }
    const auto& n = boost::get<ast::Number>(v.get());
    b_.at(n.pos);
    if (n.value == 0 && use == ParamUse::Key)
      fail(ErrorCode::InvalidArgument, n.pos,
           "key 0 is not a valid key; keys start at 1");
    if (n.value == 0 && use == ParamUse::Count)
      fail(ErrorCode::InvalidArgument, n.pos,
           "count 0 is not a valid count; counts start at 1");
    b_.add(Opcode::Integer, n.value, reg);
    switch (use) {
    case ParamUse::Count:
      b_.comment("count");
      break;
    case ParamUse::Key:
    case ParamUse::AfterKey:
      b_.comment("key");
      break;
    default:
      break;
    }
    return reg;
  }

  void load_value(const ast::Value& v, std::uint64_t reg) const {
    if (const auto* p = boost::get<ast::Param>(&v.get()))
      return load_param(*p, reg, ParamUse::Value);
    const auto& bytes = boost::get<ast::Bytes>(v.get());
    b_.at(bytes.pos);
    b_.add(Opcode::Bytes, 0, reg, 0, Text{bytes.value});
  }

  void load_time(const ast::Value& v, std::uint64_t reg) const {
    if (const auto* p = boost::get<ast::Param>(&v.get()))
      return load_param(*p, reg, ParamUse::Time);
    const auto& t = boost::get<ast::Bytes>(v.get());
    auto micros = parse_iso8601(t.value);
    if (!micros)
      fail(ErrorCode::InvalidArgument, t.pos,
           "invalid time '" + t.value.substr(0, 64) +
               "': expected ISO-8601 such as '2026-11-25T10:00:00Z'");
    b_.at(t.pos);
    b_.add(Opcode::Integer, *micros, reg);
    b_.comment(t.value);
  }

  // Begin (a read, or a join of the open BEGIN) and Open; returns the slot.
  std::uint64_t open(const ast::Node& s, const ast::Ident& stream) const {
    b_.at(s.pos);
    b_.add(Opcode::Begin, 0, 0);
    b_.comment("read, or join the open BEGIN");
    std::uint64_t c = b_.new_slot();
    b_.at(stream.pos);
    b_.add(Opcode::Open, c, 0, 0, Name{stream.name});
    b_.at(s.pos);
    return c;
  }

  // Emits up to r[count] rows from cursor c onwards, then goes to `done`.
  void forward(std::uint64_t c, std::uint64_t count,
               Builder::Label done) const {
    auto loop = b_.make_label();
    b_.resolve(loop);
    b_.add(Opcode::Emit, c);
    b_.add_jump(Opcode::DecrJumpZero, count, done);
    b_.add_jump(Opcode::ScanNext, c, loop);
  }

  // Cursor c is on the last record to emit: steps back over up to
  // r[count] - 1 more, then emits them all forwards (ascending keys, no
  // buffering).
  void backward(std::uint64_t c, std::uint64_t count,
                Builder::Label done) const {
    std::uint64_t held = b_.new_register();
    auto back = b_.make_label(), more = b_.make_label(), emit = b_.make_label();
    b_.add(Opcode::Integer, 1, held);
    b_.comment("records to emit");
    b_.resolve(back);
    b_.add_jump(Opcode::DecrJumpZero, count, emit);
    b_.add_jump(Opcode::ScanPrev, c, more);
    b_.add_jump(Opcode::First, c, done);
    b_.comment("stepped off the front");
    b_.add_jump(Opcode::Goto, 0, emit);
    b_.resolve(more);
    b_.add(Opcode::AddImm, held, 1);
    b_.add_jump(Opcode::Goto, 0, back);
    b_.resolve(emit);
    forward(c, held, done);
  }

  void end_read() const {
    b_.add(Opcode::Commit, 0);
    b_.comment("release the read");
    b_.add(Opcode::Halt);
    program().columns = &get_columns();
  }

  void write_one(const ast::Node& s, const ast::Ident& stream,
                 Opcode op) const {
    b_.at(s.pos);
    check_stream(stream);
    b_.add(Opcode::Begin, 1, 0);
    b_.comment("write, or join the open BEGIN");
    b_.at(stream.pos);
    b_.add(op, 0, 0, 0, Name{stream.name});
    b_.at(s.pos);
    b_.add(Opcode::Commit, 0);
    b_.add(Opcode::Halt);
    program().writes = true;
  }

  Builder& b_;
};

} // namespace

Program compile(const ast::Statement& statement, std::string_view text) {
  Builder b;
  b.program().columns = &no_columns();
  statement.apply_visitor(Compiler(b));
  Program p = b.finish();
  p.text = text;
  for (std::size_t i = 0; i < p.params.size(); ++i)
    if (p.params[i].name.empty()) // an index the statement skips
      p.params[i].name = "?";
  return p;
}

} // namespace klite::vm
