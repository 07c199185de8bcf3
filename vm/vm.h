// The interpreter: runs a Program (vm/program.h) over cursors of one
// transaction of the public native API, a row at a time.
//
// State: registers r[1..n] (klite::Value: null, an integer, or a view of
// bytes), cursor slots (a Cursor, or a list of StreamInfo), the bound
// parameters, and the statement's transaction: its own ReadTxn or WriteTxn,
// or the write transaction that BEGIN opened in its session (joined; see
// vm/session.h for which session, and the lock a joined step() holds).
//
// Nothing here allocates per execution once the first has run: registers,
// the row and the parameter buffers are reused. A prepared `ADD ? TO s` in
// a BEGIN runs at ~0.8x of WriteTxn::append's throughput (ARCHITECTURE.md
// section 6), and a prepared `GET ? AFTER ?` reading 1,000 rows a time at
// ~0.85x of a Cursor loop doing the same (klite-bench W7, 2026-12-07).
//
// Engine::interrupt(): a run records the engine's interrupt generation when
// it starts, and a read checks it (one relaxed load) whenever step()
// resumes it and on every backward jump (Goto, ScanNext, NextStream), so a
// loop that yields no row stops too. A change fails the run with
// Error(Interrupted) like any other error.
#pragma once

#include "vm/program.h"
#include "vm/session.h"

#include <klite/engine.h>
#include <klite/statement.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace klite {

// How the VM fills a Row, whose members are private to users.
struct Row::Access {
  static void shape(Row& row, const std::vector<std::string>* columns) {
    row.columns_ = columns;
    row.values_.assign(columns->size(), Value());
  }
  static Value* values(Row& row) noexcept { return row.values_.data(); }
};

namespace vm {

class Vm {
public:
  // `engine` is a handle from Engine::Sessions::share, `sessions` its
  // table. `session`: the session to run in (an exec() script's), or
  // nullptr for that of the thread that starts each run. `program` must
  // outlive the Vm.
  Vm(Engine engine, std::shared_ptr<SessionTable> sessions,
     std::shared_ptr<Session> session, const Program& program);
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;
  ~Vm();

  // Parameters, 1-based; see Statement::bind. Throw InvalidArgument for an
  // index or name the program does not have, Misuse while a row is out.
  void bind(std::size_t index, std::uint64_t v);
  void bind(std::size_t index, std::string_view bytes, Keep keep) {
    Binding& b = binding(index);
    b.assign(bytes, keep); // may throw bad_alloc: the binding is unchanged
    unbound_ -= b.type == Value::Type::Null;
    b.type = Value::Type::Bytes;
  }
  void bind(std::string_view name, std::uint64_t v);
  void bind(std::string_view name, std::string_view bytes, Keep keep);
  void clear_bindings();

  // Runs to the next row (true) or to the end (false, also on every call
  // after that until reset()). On error the statement's own transaction is
  // rolled back, the statement is done, and the error names the position
  // of the instruction that failed.
  bool step();
  // REQUIRES: the last step() returned true (Misuse otherwise).
  const Row& row() const;
  // Back to the start; ends the statement's own transaction.
  void reset() noexcept {
    if (read_ || write_ || joined_ || !slots_.empty())
      end_transaction();
    state_ = State::Ready;
    on_row_ = false;
    pc_ = 0;
  }

  const Program& program() const noexcept { return *program_; }

  // True if Engine::interrupt() was called since this run started; the
  // next step() then throws Interrupted.
  bool interrupted() const noexcept {
    return interrupts_->load(std::memory_order_relaxed) != interrupt_start_;
  }

private:
  enum class State : std::uint8_t { Ready, Running, Done };

  // A bound value. Copied bytes go to a buffer that only grows, so
  // rebinding allocates nothing once it is big enough; borrowed ones are
  // the caller's.
  struct Binding {
    Value::Type type = Value::Type::Null;
    std::uint64_t integer = 0;
    std::string_view bytes; // into `copy`, or borrowed
    std::unique_ptr<char[]> copy;
    std::size_t capacity = 0;

    void assign(std::string_view v, Keep keep) {
      if (keep == Keep::Borrow) {
        bytes = v;
        return;
      }
      if (v.size() > capacity) {
        const std::size_t grown = std::max(v.size(), 2 * capacity);
        copy = std::make_unique_for_overwrite<char[]>(grown);
        capacity = grown;
      }
      if (!v.empty())
        std::memcpy(copy.get(), v.data(), v.size());
      bytes = {copy.get(), v.size()};
    }
  };

  struct Slot {
    std::optional<Cursor> cursor;
    std::vector<StreamInfo> streams; // ListStreams, Info
    std::size_t at = 0;
  };

  bool run();
  bool explain_step();
  void check_bindings() const;
  void load_param(const Op& i);
  ReadTxn& txn();
  WriteTxn& write_txn();
  // write_txn() with the joined-BEGIN case inline (the prepared-ADD loop).
  WriteTxn& writer() {
    if (joined_ && joined_->txn && joined_->generation == joined_generation_)
        [[likely]]
      return *joined_->txn;
    return write_txn();
  }
  Cursor& cursor(std::uint64_t slot);
  // Joins the open BEGIN of the statement's session, if there is one, and
  // holds the session's lock for the rest of the step (the prepared-ADD
  // loop runs this for every execution).
  bool join() {
    const std::shared_ptr<Session>* s =
        fixed_session_ ? &fixed_session_ : sessions_->mine();
    if (!s || !(*s)->open.load(std::memory_order_relaxed))
      return false;
    lock(s->get());
    if (!(*s)->txn) {
      unlock();
      return false;
    }
    joined_ = s->get();
    joined_generation_ = joined_->generation;
    if (joined_ref_ != *s)
      joined_ref_ = *s;
    return true;
  }
  // The statement's session for BEGIN, COMMIT and ROLLBACK.
  Session* session() const noexcept {
    if (fixed_session_)
      return fixed_session_.get();
    const std::shared_ptr<Session>* s = sessions_->mine();
    return s ? s->get() : nullptr;
  }
  void lock(Session* s) {
    s->mu.lock();
    locked_ = s;
  }
  void unlock() noexcept {
    locked_->mu.unlock();
    locked_ = nullptr;
  }
  void begin(const Op& i);
  void commit(const Op& i);
  void rollback();
  void end_transaction() noexcept; // rolls back / releases what it owns
  void close_slots() noexcept;
  void failed(const Error& e); // cleanup after an error; rethrows
  Binding& binding(std::size_t index) {
    if (index == 0 || index > bindings_.size() || state_ == State::Running)
        [[unlikely]]
      bad_binding(index);
    return bindings_[index - 1];
  }
  [[noreturn]] void bad_binding(std::size_t index) const;
  void fill_info_row(const StreamInfo& info);

  Engine engine_;
  const Program* program_;
  State state_ = State::Ready;
  bool on_row_ = false;
  std::size_t pc_ = 0;
  std::vector<Value> regs_;
  std::vector<Slot> slots_;
  std::vector<Binding> bindings_;
  std::size_t unbound_ = 0;             // bindings_ still null
  std::vector<std::string_view> batch_; // Append of several values
  Row row_;

  std::optional<ReadTxn> read_;
  std::optional<WriteTxn> write_;
  std::shared_ptr<SessionTable> sessions_;
  std::shared_ptr<Session> fixed_session_; // an exec() script's, or null
  // Running in a session's BEGIN: the session and the generation of its
  // transaction when the statement joined, checked whenever step() resumes
  // (COMMIT, ROLLBACK, the Engine's close or the thread's exit may have
  // ended it since). joined_ref_ keeps the session it last joined alive
  // (its thread may exit), and is kept to save reference counting.
  Session* joined_ = nullptr;
  std::uint64_t joined_generation_ = 0;
  std::shared_ptr<Session> joined_ref_;
  // The session whose lock this step() holds, if any.
  Session* locked_ = nullptr;

  // Engine::interrupt(): the engine's generation counter (a counter that
  // never changes for a program that writes, which is not interrupted),
  // and its value when the run started.
  const std::atomic<std::uint64_t>* interrupts_;
  std::uint64_t interrupt_start_ = 0;

  // EXPLAIN rows.
  std::string p4_buf_, comment_buf_;
};

} // namespace vm
} // namespace klite
