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

#include "query/amounts.h"
#include "vm/iso8601.h"

#include <klite/engine.h> // kMaxStreamNameSize

#include <array>
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
    // No TTL is register 0, never allocated: no instruction loads it.
    std::uint64_t ttl = 0;
    if (s.ttl) {
      ttl = b_.new_register();
      load_amount(*s.ttl, ParamUse::Ttl, ttl);
    }
    begin_write(s);
    b_.at(s.stream.pos);
    // The first key replaces the first value, which is spent by then.
    const std::uint64_t key = base;
    b_.add(Opcode::Append, base, n, ttl, Name{s.stream.name});
    if (!s.ttl)
      b_.comment("no TTL");
    commit_write(s, "before the first row");
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

  // CREATE STREAM s WITH (...) is CREATE STREAM s, then the retention
  // change of ALTER STREAM, in one transaction.
  void operator()(const ast::CreateStream& s) const {
    b_.at(s.pos);
    check_stream(s.stream);
    Limits limits = load_limits(s.options);
    begin_write(s);
    b_.at(s.stream.pos);
    b_.add(Opcode::CreateStream, 0, 0, 0, Name{s.stream.name});
    if (!s.options.empty())
      set_retention(s.stream, limits);
    end_write(s);
  }

  void operator()(const ast::AlterStream& s) const {
    b_.at(s.pos);
    check_stream(s.stream);
    if (s.options.empty())
      fail(ErrorCode::InvalidArgument, s.pos, "ALTER STREAM needs an option");
    Limits limits = load_limits(s.options);
    begin_write(s);
    set_retention(s.stream, limits);
    end_write(s);
  }

  void operator()(const ast::DropStream& s) const {
    b_.at(s.pos);
    check_stream(s.stream);
    begin_write(s);
    b_.at(s.stream.pos);
    b_.add(Opcode::DropStream, 0, 0, 0, Name{s.stream.name});
    end_write(s);
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

  // Like ADD: the count is returned after the commit.
  void operator()(const ast::Expire& s) const {
    b_.at(s.pos);
    check_stream(s.stream);
    if (s.before.has_value() == s.older_than.has_value())
      fail(ErrorCode::InvalidArgument, s.pos,
           "EXPIRE needs one of BEFORE and OLDER THAN");
    std::uint64_t arg = 0;
    if (s.before) {
      arg = load_integer(*s.before, ParamUse::Key);
    } else {
      arg = b_.new_register();
      load_amount(*s.older_than, ParamUse::Duration, arg);
    }
    std::uint64_t expired = b_.new_register();
    begin_write(s);
    b_.at(s.stream.pos);
    b_.add(s.before ? Opcode::ExpireBefore : Opcode::ExpireOlder, arg, expired,
           0, Name{s.stream.name});
    commit_write(s, "before the row");
    b_.add(Opcode::ResultRow, expired, 1);
    b_.add(Opcode::Halt);
    program().columns = &expire_columns();
  }

  // VACUUM runs its own transactions (Engine::vacuum), so it joins no
  // BEGIN and begins none here.
  void operator()(const ast::Vacuum& s) const {
    b_.at(s.pos);
    std::uint64_t freed = b_.new_register();
    b_.add(Opcode::Vacuum, freed);
    b_.add(Opcode::ResultRow, freed, 1);
    b_.add(Opcode::Halt);
    program().writes = true;
    program().columns = &vacuum_columns();
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
    b_.comment(std::string(use_name(use)));
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

  // A duration, size or record count (per `use`, one of the ParamUse
  // values from Duration on) into register `reg`.
  void load_amount(const ast::Amount& v, ParamUse use,
                   std::uint64_t reg) const {
    const std::string what(use_name(use));
    if (const auto* p = boost::get<ast::Param>(&v.get()))
      return load_param(*p, reg, use);
    ast::Pos pos;
    std::uint64_t value = 0;
    if (const auto* n = boost::get<ast::Number>(&v.get())) {
      pos = n->pos;
      value = n->value;
    } else if (const auto* d = boost::get<ast::Duration>(&v.get())) {
      pos = d->pos;
      value = d->micros;
    } else {
      const auto& text = boost::get<ast::Bytes>(v.get());
      pos = text.pos;
      query::AmountReading r = query::read_amount(
          amount_measure(use), text.value, amount_limit(use));
      if (r.status != query::AmountReading::Status::Ok)
        fail(ErrorCode::InvalidArgument, pos,
             "invalid " + what + " '" + text.value.substr(0, 64) + "': " +
                 (r.status == query::AmountReading::Status::OutOfRange
                      ? query::amount_range_problem(amount_measure(use))
                      : std::string("expected ") +
                            query::expected_amount(amount_measure(use),
                                                   amount_limit(use))));
      value = r.value;
    }
    // The parser never makes a longer duration; a hand-built AST might, and
    // the engine takes durations as signed microseconds.
    if (amount_measure(use) == query::Measure::Duration &&
        value > query::kMaxDurationMicros)
      fail(ErrorCode::InvalidArgument, pos,
           query::amount_range_problem(query::Measure::Duration));
    if (use == ParamUse::Ttl)
      if (const char* problem = ttl_problem(value))
        fail(ErrorCode::InvalidArgument, pos, problem);
    b_.at(pos);
    b_.add(Opcode::Integer, value, reg);
    b_.comment(what);
  }

  // The registers of the retention limits an option list sets, by
  // ast::Limit; 0 for a limit it leaves as it is.
  using Limits = std::array<std::uint64_t, ast::kLimitCount>;

  Limits load_limits(const std::vector<ast::RetentionOption>& options) const {
    Limits limits{};
    for (const ast::RetentionOption& o : options) {
      auto i = static_cast<std::size_t>(o.limit);
      if (i >= ast::kLimitCount) // a hand-built AST
        fail(ErrorCode::InvalidArgument, o.pos, "unknown retention option");
      if (limits[i] != 0)
        fail(ErrorCode::InvalidArgument, o.pos,
             "option " + std::string(ast::kLimitNames[i]) + " given twice");
      limits[i] = b_.new_register();
      load_amount(o.value, limit_use(o.limit), limits[i]);
    }
    return limits;
  }

  void set_retention(const ast::Ident& stream, const Limits& limits) const {
    b_.at(stream.pos);
    b_.add(Opcode::SetRetention, limits[0], limits[1], limits[2],
           Name{stream.name});
    std::string kept;
    for (std::size_t i = 0; i < ast::kLimitCount; ++i)
      if (limits[i] == 0)
        kept += (kept.empty() ? "" : ", ") + std::string(ast::kLimitNames[i]);
    if (!kept.empty())
      b_.comment("keeps " + kept);
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

  // Begin: the statement's write transaction, or a join of the open BEGIN.
  void begin_write(const ast::Node& s) const {
    b_.at(s.pos);
    b_.add(Opcode::Begin, 1, 0);
    b_.comment("write, or join the open BEGIN");
    program().writes = true;
  }

  void commit_write(const ast::Node& s, const char* comment = nullptr) const {
    b_.at(s.pos);
    b_.add(Opcode::Commit, 0);
    if (comment)
      b_.comment(comment);
  }

  // The end of a write without rows.
  void end_write(const ast::Node& s) const {
    commit_write(s);
    b_.add(Opcode::Halt);
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
