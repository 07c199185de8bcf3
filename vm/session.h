// The query layer's sessions. Each thread that uses an Engine through
// exec() and prepare() has its own session on it, like its own SQLite
// connection: the write transaction its BEGIN opened, until COMMIT or
// ROLLBACK. Which session a statement runs in:
//   - an exec() script: the session of the thread that called exec(), for
//     every statement of the script, whichever thread consumes the rows;
//   - a prepared Statement: the session of the thread that starts it (its
//     first step() after prepare() or reset()), until it finishes or is
//     reset, whichever thread steps it meanwhile.
// A statement outside its session's BEGIN runs in a transaction of its own,
// so a write waits for the single writer (Engine::write(): up to
// Options::busy_timeout, then Busy), another thread's BEGIN included.
//
// Who holds what:
//   Engine::Impl's slot -> Engine::Sessions -> vm::SessionTable
//   vm::SessionTable    -> every Session of the engine (to close them)
//   each thread         -> its (SessionTable, Session) pairs (thread_local)
//   a statement's Vm    -> the SessionTable, its exec() caller's Session,
//                          and the Session it last joined
// A session's BEGIN is rolled back when its thread exits (the thread_local
// list's destructor) and when the user's Engine handle goes (dropping
// Engine::Sessions closes the table: every BEGIN is rolled back, and none
// can begin afterwards).
//
// Locking: Session::mu guards txn, generation and ended; whoever uses the
// transaction holds it: a statement for each step() in which it runs in the
// BEGIN, BEGIN, COMMIT and ROLLBACK while they change it, and the rollbacks
// above (which therefore wait for a step() in progress). SessionTable::mu_
// guards the table's list. No code holds both. A statement on a thread
// with no BEGIN open pays one thread_local lookup and one relaxed load, no
// lock; one inside a BEGIN one uncontended lock per step().
#pragma once

#include <klite/engine.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace klite {
namespace vm {

// Session::mu: a futex lock (Drepper, "Futexes Are Tricky", mutex 3) on
// std::atomic wait/notify. Uncontended, lock() and unlock() are one atomic
// instruction each, where std::mutex runs ~55 instructions through the
// gthread and pthread layers; a prepared statement in a BEGIN pays them on
// every step() (klite-bench W7).
class SessionMutex {
public:
  void lock() noexcept {
    std::uint32_t seen = kFree;
    if (!state_.compare_exchange_strong(seen, kHeld,
                                        std::memory_order_acquire))
        [[unlikely]]
      wait(seen);
  }
  // Touches the lock after freeing it (to wake a waiter), which std::mutex
  // allows and this does not: every unlocker holds a shared_ptr to the
  // Session, so it cannot be destroyed under the call.
  void unlock() noexcept {
    if (state_.exchange(kFree, std::memory_order_release) == kContended)
        [[unlikely]]
      state_.notify_one();
  }

private:
  static constexpr std::uint32_t kFree = 0, kHeld = 1, kContended = 2;
  // Marks the lock contended, so that its unlock() wakes a waiter, and
  // sleeps until it is free; taking it then leaves it marked, since other
  // threads may still wait.
  void wait(std::uint32_t seen) noexcept {
    if (seen != kContended)
      seen = state_.exchange(kContended, std::memory_order_acquire);
    while (seen != kFree) {
      state_.wait(kContended, std::memory_order_relaxed);
      seen = state_.exchange(kContended, std::memory_order_acquire);
    }
  }
  std::atomic<std::uint32_t> state_{kFree};
};

// One thread's session on one engine.
struct Session {
  enum class Ended : std::uint8_t { No, EngineClosed, ThreadExited };

  SessionMutex mu;
  // Open between BEGIN and COMMIT/ROLLBACK.
  std::optional<WriteTxn> txn;
  // Changes whenever `txn` begins or ends (unique across sessions), so a
  // statement that joined a BEGIN can tell that it has ended.
  std::uint64_t generation = 0;
  // Once not No, BEGIN fails (with a message saying why).
  Ended ended = Ended::No;
  // txn.has_value(), for a check without `mu`: a true is checked again
  // under `mu`; a false is not stale for a thread that the BEGIN happened
  // before (the thread that ran it, or one that synchronized with it).
  std::atomic<bool> open{false};

  // REQUIRES: `mu` is held. Takes the transaction out, if any; the caller
  // ends it after unlocking (destroying it rolls it back).
  std::optional<WriteTxn> take() noexcept;
};

// The sessions of one engine.
class SessionTable : public std::enable_shared_from_this<SessionTable> {
public:
  // This thread's session on this engine, or nullptr if it has none. The
  // pointer is valid until this thread's next mine_or_make().
  const std::shared_ptr<Session>* mine() const noexcept;
  // This thread's session, made if missing. Throws Misuse ("BEGIN after
  // the Engine was closed") once the table is closed.
  const std::shared_ptr<Session>& mine_or_make();
  // Rolls back every session's BEGIN and ends them. Idempotent.
  void close() noexcept;
  bool closed() const noexcept { return closed_.load(); }
  // Drops `s`, whose thread has ended, from the table.
  void forget(const Session* s) noexcept;

private:
  std::mutex mu_;
  std::vector<std::shared_ptr<Session>> all_; // guarded by mu_
  std::atomic<bool> closed_{false};
};

// A fresh generation number.
std::uint64_t next_generation() noexcept;

} // namespace vm

// The Engine's hold on its session table. Only the user's Engine handle
// drops it (Engine::close_session), and dropping it closes the table.
struct Engine::Sessions {
  std::shared_ptr<vm::SessionTable> table =
      std::make_shared<vm::SessionTable>();
  Sessions() = default;
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;
  ~Sessions() { table->close(); }

  // The engine's table, made on first use. For exec() and prepare() on
  // the user's handle. Thread-safe.
  static std::shared_ptr<vm::SessionTable> of(const Engine& engine);
  // A handle on the same engine that does not own the sessions.
  static Engine share(const Engine& engine) { return engine.share(); }
  // The engine's interrupt generation (Engine::interrupt).
  static const std::atomic<std::uint64_t>& interrupts(const Engine& engine) {
    return engine.interrupts();
  }
};

} // namespace klite
