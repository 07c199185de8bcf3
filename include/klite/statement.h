// klite's query language from C++: Engine::exec runs a script, and
// Engine::prepare compiles one statement to run many times with bound
// parameters. The language is described in docs/QUERY.md.
//
// Rows stream out one at a time (nothing materializes a whole result). A
// row's views stay valid until the next step()/next() or reset() of the
// object that produced it.
#pragma once

#include <klite/error.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace klite {

// One value in a row, or a bound parameter.
class Value {
public:
  enum class Type { Null, Integer, Bytes };

  Value() = default; // null
  static Value integer(std::uint64_t v) noexcept {
    Value x;
    x.type_ = Type::Integer;
    x.integer_ = v;
    return x;
  }
  // A view: the bytes must outlive the Value.
  static Value bytes(std::string_view v) noexcept {
    Value x;
    x.type_ = Type::Bytes;
    x.bytes_ = v;
    return x;
  }

  Type type() const noexcept { return type_; }
  bool is_null() const noexcept { return type_ == Type::Null; }
  // Throw Misuse if the value has another type. (Inline: the VM moves
  // values through registers on every row.)
  std::uint64_t as_integer() const {
    if (type_ != Type::Integer)
      wrong_type(Type::Integer);
    return integer_;
  }
  std::string_view as_bytes() const {
    if (type_ != Type::Bytes)
      wrong_type(Type::Bytes);
    return bytes_;
  }

  friend bool operator==(const Value&, const Value&) noexcept;

private:
  [[noreturn]] void wrong_type(Type wanted) const;

  Type type_ = Type::Null;
  std::uint64_t integer_ = 0;
  std::string_view bytes_;
};

// The columns of a statement's rows, by statement kind (docs/QUERY.md):
//   GET ...            key, ts, value
//   ADD ...            key                     (one row per record added)
//   SHOW STREAMS, INFO name, records, bytes, first_key, last_key,
//                      first_timestamp, last_timestamp, created
//   EXPLAIN ...        addr, opcode, p1, p2, p3, p4, comment
//   others             (no rows)
// Timestamps are integers: microseconds since the Unix epoch.
class Row {
public:
  std::size_t size() const noexcept { return values_.size(); }
  const std::vector<std::string>& columns() const noexcept { return *columns_; }
  // Throw Misuse for an index out of range or an unknown column name.
  const Value& operator[](std::size_t i) const {
    if (i >= values_.size())
      out_of_range(i);
    return values_[i];
  }
  const Value& operator[](std::string_view column) const;

  struct Access; // for the VM, which fills rows

private:
  [[noreturn]] void out_of_range(std::size_t i) const;

  const std::vector<std::string>* columns_ = nullptr;
  std::vector<Value> values_;
};

class Engine;

// How Statement::bind keeps bytes (SQLite's SQLITE_TRANSIENT and
// SQLITE_STATIC).
enum class Keep : std::uint8_t {
  Copy,   // a copy: the caller's buffer may change or go at once
  Borrow, // a view, saving the copy: the bytes are read whenever the
          // statement runs, so they must stay valid until the parameter is
          // bound again, clear_bindings(), or the statement is destroyed,
          // and must not change while a run is in progress (a temporary
          // std::string dies too soon)
};

// A compiled statement. Use it from one thread at a time; it may move
// between threads. Each run (from the first step() after prepare() or
// reset() until it is done or reset) is in the BEGIN of the thread that
// started it, if that thread has one open then, whichever thread steps it
// on; once that BEGIN has ended (COMMIT, ROLLBACK, its thread's exit, the
// Engine's destruction) its next step() throws Misuse.
class Statement {
public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  // Binds parameter `index` (1-based: the n-th `?` or `:name` from the
  // left) or `:name`. Throws InvalidArgument for an index or name the
  // statement does not have. Bindings survive reset().
  void bind(std::size_t index, std::uint64_t v);
  void bind(std::size_t index, std::string_view bytes, Keep keep = Keep::Copy);
  void bind(std::string_view name, std::uint64_t v);
  void bind(std::string_view name, std::string_view bytes,
            Keep keep = Keep::Copy);
  void clear_bindings();
  std::size_t parameter_count() const noexcept;

  // Runs until the next row: true if there is one (see row()), false when
  // the statement is done. An unbound parameter is an error
  // (InvalidArgument) on the first step.
  bool step();
  // REQUIRES: the last step() returned true; Misuse otherwise.
  const Row& row() const;
  // Rewinds, so the next step() runs the statement again. Ends the
  // statement's own transaction if it had one (a read is released, an
  // unfinished write is rolled back).
  void reset();

  const std::vector<std::string>& columns() const noexcept;
  // The statement's program, one line per instruction, as EXPLAIN shows.
  std::string explain() const;

  struct Impl;

private:
  friend class Engine;
  explicit Statement(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The rows of a script run by Engine::exec: each statement runs in turn
// when the rows of the one before are consumed (or at once if it has none),
// in the session of the thread that called exec(). Use it from one thread
// at a time; it may move between threads.
class Result {
public:
  Result(Result&&) noexcept;
  Result& operator=(Result&&) noexcept;
  ~Result();

  // Advances to the next row of the script; false when every statement has
  // run. Errors are thrown from here (or from exec for the first statement).
  bool next();
  // REQUIRES: the last next() returned true; Misuse otherwise.
  const Row& row() const;
  // Runs what is left, discarding rows; returns the number of rows.
  std::uint64_t drain();

  struct Impl;

private:
  friend class Engine;
  explicit Result(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace klite
