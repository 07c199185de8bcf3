// The query API of include/klite/statement.h, and Engine::exec/prepare:
// parse (query/) -> compile (vm/compiler) -> run (vm/vm).
#include <klite/engine.h>
#include <klite/statement.h>

#include "query/parser.h"
#include "vm/compiler.h"
#include "vm/session.h"
#include "vm/vm.h"

#include <memory>
#include <optional>
#include <vector>

namespace klite {

namespace {
[[noreturn]] void misuse(const std::string& what) {
  throw Error(ErrorCode::Misuse, what);
}
} // namespace

// ---------------------------------------------------------------------------
// Value

void Value::wrong_type(Type wanted) const {
  const char* call = wanted == Type::Integer ? "as_integer()" : "as_bytes()";
  const char* is = type_ == Type::Null      ? "a null value"
                   : type_ == Type::Integer ? "an integer value"
                                            : "a bytes value";
  misuse(std::string(call) + " on " + is);
}

bool operator==(const Value& a, const Value& b) noexcept {
  if (a.type_ != b.type_)
    return false;
  switch (a.type_) {
  case Value::Type::Null:
    return true;
  case Value::Type::Integer:
    return a.integer_ == b.integer_;
  case Value::Type::Bytes:
    return a.bytes_ == b.bytes_;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Row

void Row::out_of_range(std::size_t i) const {
  misuse("column " + std::to_string(i) + " out of range: the row has " +
         std::to_string(values_.size()));
}

const Value& Row::operator[](std::string_view column) const {
  if (columns_)
    for (std::size_t i = 0; i < columns_->size(); ++i)
      if ((*columns_)[i] == column)
        return values_[i];
  misuse("no column named \"" + std::string(column) + "\"");
}

// ---------------------------------------------------------------------------
// Statement

struct Statement::Impl {
  Impl(Engine engine, std::shared_ptr<vm::SessionTable> sessions,
       std::shared_ptr<const vm::Program> p)
      : program(std::move(p)),
        machine(std::move(engine), std::move(sessions), nullptr, *program) {}
  std::shared_ptr<const vm::Program> program;
  vm::Vm machine;
};

Statement::Statement(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Statement::Statement(Statement&&) noexcept = default;
Statement& Statement::operator=(Statement&&) noexcept = default;
Statement::~Statement() = default;

namespace {
vm::Vm& machine(const std::unique_ptr<Statement::Impl>& impl) {
  if (!impl)
    misuse("use of a moved-from statement");
  return impl->machine;
}
} // namespace

void Statement::bind(std::size_t index, std::uint64_t v) {
  machine(impl_).bind(index, v);
}
void Statement::bind(std::size_t index, std::string_view bytes, Keep keep) {
  machine(impl_).bind(index, bytes, keep);
}
void Statement::bind(std::string_view name, std::uint64_t v) {
  machine(impl_).bind(name, v);
}
void Statement::bind(std::string_view name, std::string_view bytes,
                     Keep keep) {
  machine(impl_).bind(name, bytes, keep);
}
void Statement::clear_bindings() { machine(impl_).clear_bindings(); }
std::size_t Statement::parameter_count() const noexcept {
  return impl_ ? impl_->program->params.size() : 0;
}
bool Statement::step() { return machine(impl_).step(); }
const Row& Statement::row() const { return machine(impl_).row(); }
void Statement::reset() {
  if (impl_)
    impl_->machine.reset();
}
const std::vector<std::string>& Statement::columns() const noexcept {
  return impl_ ? *impl_->program->columns : vm::no_columns();
}
std::string Statement::explain() const {
  if (!impl_)
    misuse("use of a moved-from statement");
  const vm::Program& p = *impl_->program;
  return vm::format(p.explained ? *p.explained : p);
}

// ---------------------------------------------------------------------------
// Result

// Every statement of the script runs in the session of the thread that
// called exec() (vm/session.h), wherever its rows are consumed.
struct Result::Impl {
  Impl(const Engine& e, std::shared_ptr<vm::SessionTable> t,
       std::vector<std::shared_ptr<const vm::Program>> p)
      : engine(Engine::Sessions::share(e)), sessions(std::move(t)),
        session(sessions->mine_or_make()), programs(std::move(p)) {}

  // Runs statements until one yields a row (true) or none is left.
  bool advance() {
    try {
      while (at < programs.size()) {
        if (!machine)
          machine.emplace(Engine::Sessions::share(engine), sessions, session,
                          *programs[at]);
        if (machine->step())
          return true;
        machine.reset();
        ++at;
      }
      return false;
    } catch (...) {
      machine.reset();
      at = programs.size(); // a failed statement ends the script
      throw;
    }
  }

  Engine engine;
  std::shared_ptr<vm::SessionTable> sessions;
  std::shared_ptr<vm::Session> session;
  std::vector<std::shared_ptr<const vm::Program>> programs;
  std::size_t at = 0;
  std::optional<vm::Vm> machine;
  bool pending = false; // exec() ran up to a row that next() has not shown
  bool on_row = false;
};

Result::Result(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Result::Result(Result&&) noexcept = default;
Result& Result::operator=(Result&&) noexcept = default;
Result::~Result() = default;

bool Result::next() {
  if (!impl_)
    misuse("use of a moved-from result");
  Impl& r = *impl_;
  r.on_row = false;
  if (r.pending) {
    // exec() ran ahead to this row; an interrupt since then stops the
    // statement now (its step() throws), as it would have one row later.
    r.pending = false;
    r.on_row = r.machine->interrupted() ? r.advance() : true;
  } else {
    r.on_row = r.advance();
  }
  return r.on_row;
}

const Row& Result::row() const {
  if (!impl_ || !impl_->on_row)
    misuse("row() without a row: the last next() did not return true");
  return impl_->machine->row();
}

std::uint64_t Result::drain() {
  std::uint64_t n = 0;
  while (next())
    ++n;
  return n;
}

// ---------------------------------------------------------------------------
// Engine

Result Engine::exec(std::string_view query) {
  std::shared_ptr<vm::SessionTable> sessions = Sessions::of(*this);
  query::ast::Script script = query::parse(query);
  std::vector<std::shared_ptr<const vm::Program>> programs;
  programs.reserve(script.statements.size());
  for (std::size_t i = 0; i < script.statements.size(); ++i) {
    std::string_view text =
        i < script.texts.size() ? std::string_view(script.texts[i]) : "";
    auto p = std::make_shared<const vm::Program>(
        vm::compile(script.statements[i], text));
    if (!p->params.empty() && !p->explained)
      vm::fail(ErrorCode::InvalidArgument, p->params.front().pos,
               "exec() cannot bind parameters; use prepare()");
    programs.push_back(std::move(p));
  }
  auto impl = std::make_unique<Result::Impl>(*this, std::move(sessions),
                                             std::move(programs));
  impl->pending = impl->advance();
  return Result(std::move(impl));
}

Statement Engine::prepare(std::string_view query) {
  std::shared_ptr<vm::SessionTable> sessions = Sessions::of(*this);
  query::ast::Script script = query::parse(query);
  if (script.statements.size() != 1)
    throw Error(ErrorCode::InvalidArgument,
                "prepare takes one statement, not " +
                    std::to_string(script.statements.size()));
  std::string_view text =
      script.texts.empty() ? std::string_view() : script.texts[0];
  auto p = std::make_shared<const vm::Program>(
      vm::compile(script.statements[0], text));
  return Statement(std::make_unique<Statement::Impl>(
      share(), std::move(sessions), std::move(p)));
}

} // namespace klite
