#include "vm/vm.h"

#include "vm/compiler.h"
#include "vm/iso8601.h"

#include <atomic>
#include <chrono>
#include <limits>

namespace klite {

namespace vm {

namespace {

[[noreturn]] void misuse(const std::string& what) {
  throw Error(ErrorCode::Misuse, what);
}
[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::InvalidArgument, what);
}

// True while `t` can still be used: the engine finishes a write transaction
// itself when a change fails half-way (its pages may be half-written).
// engine.h has no query for that, so ask something harmless.
bool alive(ReadTxn& t) noexcept {
  try {
    (void)t.has_stream("");
    return true;
  } catch (...) {
    return false;
  }
}

[[noreturn, gnu::cold]] void throw_interrupted() {
  throw Error(ErrorCode::Interrupted, "interrupted");
}

// What a program that writes watches instead of the engine's interrupt
// generation: its change is one instruction, and once made it runs to
// completion (an ADD returns all its keys), so nothing interrupts it. An
// EXPLAIN only lists its program, and watches it too.
const std::atomic<std::uint64_t> kNeverInterrupted{0};

std::string param_label(const Program& p, std::size_t index) {
  const Parameter& param = p.params[index - 1];
  std::string s = "parameter " + std::to_string(index);
  if (param.name != "?")
    s += " (" + param.name + ")";
  return s;
}

const char* use_text(ParamUse use) {
  switch (use) {
  case ParamUse::Key:
    return "a key (an integer >= 1)";
  case ParamUse::AfterKey:
    return "a key (an integer)";
  case ParamUse::Count:
    return "a count (an integer >= 1)";
  case ParamUse::Value:
    return "a value (bytes)";
  case ParamUse::Time:
    return "a time (ISO-8601 bytes, or an integer of microseconds)";
  case ParamUse::Duration:
    return "a duration (bytes such as '7d', or an integer of microseconds)";
  case ParamUse::MaxAge:
    return "a max_age (bytes such as '7d' or 'none', or an integer of "
           "microseconds)";
  case ParamUse::MaxBytes:
    return "a max_bytes (bytes such as '1GiB' or 'none', or an integer)";
  case ParamUse::MaxRecords:
    return "a max_records (an integer, or bytes such as '1000' or 'none')";
  case ParamUse::Ttl:
    return "a TTL (bytes such as '60s', or an integer of microseconds)";
  }
  return "?";
}

} // namespace

Vm::Vm(Engine engine, std::shared_ptr<SessionTable> sessions,
       std::shared_ptr<Session> session, const Program& program)
    : engine_(std::move(engine)), program_(&program),
      regs_(program.registers + 1), slots_(program.slots),
      bindings_(program.params.size()), unbound_(bindings_.size()),
      sessions_(std::move(sessions)), fixed_session_(std::move(session)),
      interrupts_(program.writes || program.explained
                      ? &kNeverInterrupted
                      : &Engine::Sessions::interrupts(engine_)) {
  Row::Access::shape(row_, program.columns);
}

Vm::~Vm() { reset(); }

// ---------------------------------------------------------------------------
// Parameters

void Vm::bad_binding(std::size_t index) const {
  if (index == 0 || index > bindings_.size())
    invalid("no parameter " + std::to_string(index) + ": the statement has " +
            std::to_string(bindings_.size()));
  misuse("bind() while the statement is running; reset() it first");
}

void Vm::bind(std::size_t index, std::uint64_t v) {
  Binding& b = binding(index);
  b.integer = v;
  unbound_ -= b.type == Value::Type::Null;
  b.type = Value::Type::Integer;
}

namespace {
// Every index of `p` whose parameter is called `name` (":id" or "id").
template <class F>
void each_named(const Program& p, std::string_view name, F&& f) {
  if (!name.empty() && name[0] == ':')
    name.remove_prefix(1);
  bool any = false;
  for (std::size_t i = 0; i < p.params.size(); ++i) {
    std::string_view n = p.params[i].name;
    if (n.size() == name.size() + 1 && n[0] == ':' && n.substr(1) == name) {
      f(i + 1);
      any = true;
    }
  }
  if (!any)
    invalid("no parameter named :" + std::string(name));
}
} // namespace

void Vm::bind(std::string_view name, std::uint64_t v) {
  each_named(*program_, name, [&](std::size_t i) { bind(i, v); });
}

void Vm::bind(std::string_view name, std::string_view bytes, Keep keep) {
  each_named(*program_, name, [&](std::size_t i) { bind(i, bytes, keep); });
}

void Vm::clear_bindings() {
  if (state_ == State::Running)
    misuse("clear_bindings() while the statement is running; reset() it "
           "first");
  for (Binding& b : bindings_)
    b.type = Value::Type::Null;
  unbound_ = bindings_.size();
}

void Vm::check_bindings() const {
  for (std::size_t i = 0; i < bindings_.size(); ++i)
    if (bindings_[i].type == Value::Type::Null)
      fail(ErrorCode::InvalidArgument, program_->params[i].pos,
           param_label(*program_, i + 1) + " is not bound");
}

void Vm::load_param(const Op& i) {
  const Binding& b = bindings_[i.p1 - 1];
  auto use = static_cast<ParamUse>(i.p3);
  Value& r = regs_[i.p2];
  auto wrong = [&](const std::string& why) {
    invalid(param_label(*program_, i.p1) + " must be " + use_text(use) + why);
  };
  switch (use) {
  case ParamUse::Value:
    if (b.type != Value::Type::Bytes)
      wrong(", not an integer");
    r = Value::bytes(b.bytes);
    return;
  case ParamUse::Time:
    if (b.type == Value::Type::Integer) {
      r = Value::integer(b.integer);
    } else if (auto t = parse_iso8601(b.bytes)) {
      r = Value::integer(*t);
    } else {
      wrong(", not '" + std::string(b.bytes.substr(0, 64)) + "'");
    }
    return;
  case ParamUse::Duration:
  case ParamUse::MaxAge:
  case ParamUse::MaxBytes:
  case ParamUse::MaxRecords:
  case ParamUse::Ttl: {
    using Status = query::AmountReading::Status;
    const query::Measure m = amount_measure(use);
    query::AmountReading a{Status::Ok, b.integer};
    if (b.type == Value::Type::Bytes) {
      a = query::read_amount(m, b.bytes, amount_limit(use));
      if (a.status == Status::Malformed)
        wrong(", not '" + std::string(b.bytes.substr(0, 64)) + "'");
    }
    // The engine takes durations as signed microseconds.
    if (m == query::Measure::Duration && a.value > query::kMaxDurationMicros)
      a.status = Status::OutOfRange;
    if (a.status == Status::OutOfRange)
      invalid(param_label(*program_, i.p1) + ": " +
              query::amount_range_problem(m));
    if (use == ParamUse::Ttl)
      if (const char* problem = ttl_problem(a.value))
        invalid(std::string(problem) + " (" + param_label(*program_, i.p1) +
                ")");
    r = Value::integer(a.value);
    return;
  }
  case ParamUse::Key:
  case ParamUse::AfterKey:
  case ParamUse::Count:
    if (b.type != Value::Type::Integer)
      wrong(", not bytes");
    if (b.integer == 0 && use == ParamUse::Key)
      invalid("key 0 is not a valid key; keys start at 1 (" +
              param_label(*program_, i.p1) + ")");
    if (b.integer == 0 && use == ParamUse::Count)
      invalid("count 0 is not a valid count; counts start at 1 (" +
              param_label(*program_, i.p1) + ")");
    r = Value::integer(b.integer);
    return;
  }
}

// ---------------------------------------------------------------------------
// Transactions

// A joined statement's session lock is held here (step() took it).
ReadTxn& Vm::txn() {
  if (joined_) {
    if (!joined_->txn || joined_->generation != joined_generation_)
      misuse("the transaction this statement ran in has ended");
    return *joined_->txn;
  }
  if (write_)
    return *write_;
  if (read_)
    return *read_;
  misuse("vm: no transaction (a program without Begin)");
}

WriteTxn& Vm::write_txn() {
  if (joined_ || write_)
    return static_cast<WriteTxn&>(txn());
  misuse("vm: a write outside a write transaction");
}

namespace {
void check_not_ended(const Session& s) {
  switch (s.ended) {
  case Session::Ended::No:
    return;
  case Session::Ended::EngineClosed:
    misuse("BEGIN after the Engine was closed");
  case Session::Ended::ThreadExited:
    misuse("BEGIN in a script whose thread has exited");
  }
}

// Takes the session's BEGIN out, to commit or roll back outside its lock.
WriteTxn take_open(Session* s) {
  std::optional<WriteTxn> t;
  if (s) {
    std::lock_guard lock(s->mu);
    t = s->take();
  }
  if (!t)
    misuse("no transaction is open");
  return std::move(*t);
}
} // namespace

void Vm::begin(const Op& i) {
  if (i.p2 == 0) { // the statement's own: join() found no BEGIN to join
    if (i.p1)
      write_.emplace(engine_.write());
    else
      read_.emplace(engine_.read());
    return;
  }
  Session& s = fixed_session_ ? *fixed_session_ : *sessions_->mine_or_make();
  {
    std::lock_guard lock(s.mu);
    check_not_ended(s);
    if (s.txn)
      misuse("a transaction is already open");
  }
  // Not under the session's lock: write() may wait for another writer, and
  // the Engine's close would wait with it.
  WriteTxn t = engine_.write();
  std::lock_guard lock(s.mu);
  check_not_ended(s); // it ended meanwhile: `t` rolls back
  if (s.txn)
    misuse("a transaction is already open");
  s.txn.emplace(std::move(t));
  s.generation = next_generation();
  s.open.store(true, std::memory_order_relaxed);
}

void Vm::commit(const Op& i) {
  if (i.p1 == 0) {
    close_slots();
    joined_ = nullptr;
    read_.reset();
    if (write_) {
      WriteTxn t = std::move(*write_);
      write_.reset();
      t.commit(); // finished even if it throws
    }
    return;
  }
  take_open(session()).commit();
}

void Vm::rollback() {
  WriteTxn t = take_open(session());
  if (alive(t))
    t.abort();
}

void Vm::close_slots() noexcept {
  for (Slot& s : slots_) {
    s.cursor.reset();
    s.streams.clear();
  }
}

void Vm::end_transaction() noexcept {
  close_slots();
  joined_ = nullptr;
  write_.reset(); // destroying an unfinished WriteTxn aborts it
  read_.reset();
}

Cursor& Vm::cursor(std::uint64_t slot) {
  std::optional<Cursor>& c = slots_[slot].cursor;
  if (!c)
    misuse("vm: cursor " + std::to_string(slot) + " is not open");
  return *c;
}

// ---------------------------------------------------------------------------
// Running

bool Vm::step() {
  on_row_ = false;
  if (state_ == State::Done)
    return false;
  if (program_->explained)
    return explain_step();
  // Releases the session lock that join() or the resume below took, after
  // failed() has looked at the session.
  struct Unlock {
    Vm& vm;
    ~Unlock() {
      if (vm.locked_)
        vm.unlock();
    }
  } unlock{*this};
  if (state_ == State::Ready) {
    if (unbound_ != 0)
      check_bindings();
    state_ = State::Running;
    pc_ = 0;
    interrupt_start_ = interrupts_->load(std::memory_order_relaxed);
  } else if (joined_) {
    lock(joined_); // txn() then checks that the BEGIN is still the one
  }
  try {
    if (joined_ && (!joined_->txn || joined_->generation != joined_generation_))
        [[unlikely]] // COMMIT, ROLLBACK, a thread exit or the close did it
      misuse("the transaction this statement ran in has ended");
    if (interrupted()) [[unlikely]]
      throw_interrupted(); // a resume: reported at the next instruction
    return run();
  } catch (const Error& e) {
    failed(e);
  } catch (...) { // bad_alloc and the like: no position to add
    end_transaction();
    state_ = State::Done;
    throw;
  }
  return false; // not reached
}

void Vm::failed(const Error& e) {
  std::string message = e.what();
  std::uint32_t line = e.line(), column = e.column();
  if (line == 0 && message.rfind("line ", 0) != 0) {
    const query::ast::Pos& pos = program_->code[pc_].pos;
    message = where(pos) + message;
    line = pos.line;
    column = pos.col;
  }
  Session* s = joined_; // its lock is held
  end_transaction();
  state_ = State::Done;
  // A change that failed half-way ends the session's transaction too.
  if (s && s->txn && s->generation == joined_generation_ && !alive(*s->txn)) {
    s->take(); // already finished: nothing to roll back
    message += " (the open transaction was rolled back)";
  }
  throw Error(e.code(), message, line, column);
}

// Computed goto is a GNU extension, hence the pragma (-Wpedantic is on).
#if (defined(__GNUC__) || defined(__clang__)) && !defined(KLITE_VM_SWITCH)
#define KLITE_VM_THREADED 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#else
#define KLITE_VM_THREADED 0
#endif

bool Vm::run() {
  const Op* const code = program_->ops.data();
  const Op* ip = code + pc_;
  Value* r = regs_.data();
  Value* out = Row::Access::values(row_);
  // The position lives in `ip` while the loop runs; pc_ gets it back when a
  // row is out, and when an error leaves (step() reports that instruction).
  auto yield = [&] {
    pc_ = static_cast<std::size_t>(ip - code) + 1;
    on_row_ = true;
    return true;
  };
  // Engine::interrupt(), checked on every backward jump. In locals, not
  // members, so that across the cursor calls the check stays one relaxed
  // load and a compare (a GET scan checks once per row here and once in
  // step()).
  const std::atomic<std::uint64_t>* const interrupts = interrupts_;
  const std::uint64_t interrupt_start = interrupt_start_;
  auto interrupted_now = [&] {
    return interrupts->load(std::memory_order_relaxed) != interrupt_start;
  };
  // Dispatch: with GCC and Clang, "threaded code": every opcode ends in its
  // own indirect jump to the next (computed goto), which the CPU predicts
  // per opcode (after ScanNext comes Emit), where a switch has one shared
  // jump. A GET scan runs ~20% faster so. -DKLITE_VM_SWITCH selects the
  // portable switch.
  // clang-format off
#if KLITE_VM_THREADED
  static void* const kTargets[] = {
#define KLITE_VM_TARGET(name, operands, jumps, synopsis, doc, see) &&op_##name,
    KLITE_OPCODES(KLITE_VM_TARGET)
#undef KLITE_VM_TARGET
  };
#define VM_CASE(name) op_##name:
#define VM_DISPATCH() goto *kTargets[static_cast<std::size_t>(ip->op)]
#else
#define VM_CASE(name) case Opcode::name:
#define VM_DISPATCH() goto dispatch
#endif
#define VM_NEXT() do { ++ip; VM_DISPATCH(); } while (0)
#define VM_JUMP(target) do { ip = code + (target); VM_DISPATCH(); } while (0)

  try {
#if KLITE_VM_THREADED
    VM_DISPATCH();
#else
  dispatch:
    switch (ip->op) {
#endif
    VM_CASE(Halt)
      end_transaction();
      state_ = State::Done;
      return false;

    VM_CASE(Goto)
      if (interrupted_now()) [[unlikely]]
        throw_interrupted();
      VM_JUMP(ip->p2);

    VM_CASE(Integer)
      r[ip->p2] = Value::integer(ip->p1);
      VM_NEXT();

    VM_CASE(Bytes)
      r[ip->p2] = Value::bytes(ip->p4);
      VM_NEXT();

    VM_CASE(Param) {
      const Binding& b = bindings_[ip->p1 - 1];
      if (static_cast<ParamUse>(ip->p3) == ParamUse::Value &&
          b.type == Value::Type::Bytes) // ADD's values: the common case
        r[ip->p2] = Value::bytes(b.bytes);
      else
        load_param(*ip);
      VM_NEXT();
    }

    VM_CASE(AddImm)
      r[ip->p1] = Value::integer(r[ip->p1].as_integer() + ip->p2);
      VM_NEXT();

    VM_CASE(DecrJumpZero) {
      std::uint64_t v = r[ip->p1].as_integer() - 1;
      r[ip->p1] = Value::integer(v);
      if (v == 0) {
        VM_JUMP(ip->p2);
      }
      VM_NEXT();
    }

    VM_CASE(Begin)
      if (ip->p2 == 0 && join()) // the prepared-ADD loop
        VM_NEXT();
      begin(*ip);
      VM_NEXT();

    VM_CASE(Commit)
      if (ip->p1 == 0 && joined_ && program_->slots == 0) {
        joined_ = nullptr; // nothing of the BEGIN's to release
        VM_NEXT();
      }
      commit(*ip);
      VM_NEXT();

    VM_CASE(Rollback)
      rollback();
      VM_NEXT();

    VM_CASE(Open)
      slots_[ip->p1].cursor.emplace(txn().cursor(ip->p4));
      VM_NEXT();

    VM_CASE(Seek) {
      Cursor& c = cursor(ip->p1);
      std::uint64_t key = r[ip->p3].as_integer();
      if (!c.seek(key) || c.record().key != key) {
        VM_JUMP(ip->p2);
      }
      VM_NEXT();
    }

    VM_CASE(SeekAfter) {
      Cursor& c = cursor(ip->p1);
      std::uint64_t key = r[ip->p3].as_integer();
      if (key == std::numeric_limits<std::uint64_t>::max() ||
          !c.seek(key + 1)) {
        VM_JUMP(ip->p2);
      }
      VM_NEXT();
    }

    VM_CASE(SeekBefore)
      if (!cursor(ip->p1).seek_before(r[ip->p3].as_integer())) {
        VM_JUMP(ip->p2);
      }
      VM_NEXT();

    VM_CASE(SeekTime)
      if (!cursor(ip->p1).seek_time(r[ip->p3].as_integer())) {
        VM_JUMP(ip->p2);
      }
      VM_NEXT();

    VM_CASE(First)
      if (!cursor(ip->p1).first()) {
        VM_JUMP(ip->p2);
      }
      VM_NEXT();

    VM_CASE(Last)
      if (!cursor(ip->p1).last()) {
        VM_JUMP(ip->p2);
      }
      VM_NEXT();

    VM_CASE(ScanNext)
      if (cursor(ip->p1).next()) {
        if (interrupted_now()) [[unlikely]]
          throw_interrupted();
        VM_JUMP(ip->p2);
      }
      VM_NEXT();

    VM_CASE(ScanPrev)
      if (cursor(ip->p1).prev()) {
        VM_JUMP(ip->p2);
      }
      VM_NEXT();

    VM_CASE(Emit) {
      const Record& rec = cursor(ip->p1).record();
      out[0] = Value::integer(rec.key);
      out[1] = Value::integer(rec.timestamp);
      out[2] = Value::bytes(rec.value);
      return yield();
    }

    VM_CASE(ResultRow)
      for (std::uint64_t k = 0; k < ip->p2; ++k) {
        // Rebuilt, not copied: a register written field by field just
        // before (Append's key) reads back without a store-forwarding
        // stall this way, which a 32-byte copy does not.
        const Value& v = r[ip->p1 + k];
        out[k] = v.type() == Value::Type::Integer
                     ? Value::integer(v.as_integer())
                     : v;
      }
      return yield();

    VM_CASE(Append) {
      WriteTxn& w = writer();
      const std::chrono::microseconds ttl(
          ip->p3 ? static_cast<std::int64_t>(r[ip->p3].as_integer()) : 0);
      std::uint64_t key;
      if (ip->p2 == 1) {
        key = w.append(ip->p4, r[ip->p1].as_bytes(), {}, ttl);
      } else {
        batch_.clear();
        for (std::uint64_t k = 0; k < ip->p2; ++k)
          batch_.push_back(r[ip->p1 + k].as_bytes());
        key = w.append_batch(ip->p4, batch_, ttl);
      }
      r[ip->p1] = Value::integer(key);
      VM_NEXT();
    }

    VM_CASE(CreateStream)
      write_txn().create_stream(ip->p4);
      VM_NEXT();

    VM_CASE(DropStream)
      write_txn().drop_stream(ip->p4);
      VM_NEXT();

    VM_CASE(SetRetention) {
      WriteTxn& w = write_txn();
      Retention ret = w.info(ip->p4).retention; // NoSuchStream
      if (ip->p1)
        ret.max_age = std::chrono::microseconds(
            static_cast<std::int64_t>(r[ip->p1].as_integer()));
      if (ip->p2)
        ret.max_bytes = r[ip->p2].as_integer();
      if (ip->p3)
        ret.max_records = r[ip->p3].as_integer();
      w.set_retention(ip->p4, ret);
      VM_NEXT();
    }

    VM_CASE(ExpireBefore)
      r[ip->p2] = Value::integer(
          write_txn().expire_before(ip->p4, r[ip->p1].as_integer()));
      VM_NEXT();

    VM_CASE(ExpireOlder)
      r[ip->p2] = Value::integer(write_txn().expire_older_than(
          ip->p4, std::chrono::microseconds(
                      static_cast<std::int64_t>(r[ip->p1].as_integer()))));
      VM_NEXT();

    VM_CASE(Vacuum) {
      if (Session* s = session()) {
        std::lock_guard lock(s->mu);
        if (s->txn)
          misuse("VACUUM cannot run inside BEGIN ... COMMIT");
      }
      r[ip->p1] = Value::integer(engine_.vacuum());
      VM_NEXT();
    }

    VM_CASE(ListStreams) {
      Slot& s = slots_[ip->p1];
      s.streams = txn().streams();
      s.at = 0;
      if (s.streams.empty()) {
        VM_JUMP(ip->p2);
      }
      VM_NEXT();
    }

    VM_CASE(NextStream) {
      Slot& s = slots_[ip->p1];
      if (++s.at < s.streams.size()) {
        if (interrupted_now()) [[unlikely]]
          throw_interrupted();
        VM_JUMP(ip->p2);
      }
      VM_NEXT();
    }

    VM_CASE(Info) {
      Slot& s = slots_[ip->p1];
      s.streams.clear();
      s.streams.push_back(txn().info(ip->p4));
      s.at = 0;
      VM_NEXT();
    }

    VM_CASE(EmitInfo) {
      const Slot& s = slots_[ip->p1];
      if (s.at >= s.streams.size())
        misuse("vm: EmitInfo on an empty slot");
      fill_info_row(s.streams[s.at]);
      return yield();
    }
#if !KLITE_VM_THREADED
    }
    misuse("vm: bad opcode " + std::to_string(static_cast<unsigned>(ip->op)));
#endif
  } catch (...) {
    pc_ = static_cast<std::size_t>(ip - code);
    throw;
  }
#undef VM_CASE
#undef VM_DISPATCH
#undef VM_NEXT
#undef VM_JUMP
// clang-format on
}
#if KLITE_VM_THREADED
#pragma GCC diagnostic pop
#endif

void Vm::fill_info_row(const StreamInfo& info) {
  Value* out = Row::Access::values(row_);
  bool empty = info.records == 0;
  auto opt = [&](std::uint64_t v) {
    return empty ? Value() : Value::integer(v);
  };
  out[0] = Value::bytes(info.name);
  out[1] = Value::integer(info.records);
  out[2] = Value::integer(info.bytes);
  out[3] = opt(info.first_key);
  out[4] = opt(info.last_key);
  out[5] = opt(info.first_timestamp);
  out[6] = opt(info.last_timestamp);
  out[7] = Value::integer(info.created);
  out[8] = Value::integer(
      static_cast<std::uint64_t>(info.retention.max_age.count()));
  out[9] = Value::integer(info.retention.max_bytes);
  out[10] = Value::integer(info.retention.max_records);
}

bool Vm::explain_step() {
  const Program& p = *program_->explained;
  if (state_ == State::Ready) {
    state_ = State::Running;
    pc_ = 0;
  } else {
    ++pc_;
  }
  if (pc_ >= p.code.size()) {
    state_ = State::Done;
    return false;
  }
  const Instruction& i = p.code[pc_];
  Value* out = Row::Access::values(row_);
  p4_buf_ = p4_text(i.p4);
  comment_buf_ = explain_comment(i);
  out[0] = Value::integer(pc_);
  out[1] = Value::bytes(name(i.op));
  out[2] = Value::integer(i.p1);
  out[3] = Value::integer(i.p2);
  out[4] = Value::integer(i.p3);
  out[5] = std::holds_alternative<std::monostate>(i.p4) ? Value()
                                                        : Value::bytes(p4_buf_);
  out[6] = Value::bytes(comment_buf_);
  on_row_ = true;
  return true;
}

const Row& Vm::row() const {
  if (!on_row_)
    misuse("row() without a row: the last step() did not return true");
  return row_;
}

} // namespace vm
} // namespace klite
