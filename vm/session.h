// Engine::Session: what Engine::exec and Engine::prepare keep between calls
// on one engine -- the write transaction that BEGIN opened, until COMMIT or
// ROLLBACK. The engine holds it (Engine::session_slot) and drops it when the
// user's Engine handle goes, which rolls an open BEGIN back.
//
// One session per open engine, like one SQLite connection: statements from
// exec() and prepare() on it share the BEGIN, so use it from one thread at a
// time.
#pragma once

#include <klite/engine.h>

#include <atomic>
#include <cstdint>
#include <optional>

namespace klite {

struct Engine::Session {
  // Open between BEGIN and COMMIT/ROLLBACK.
  std::optional<WriteTxn> txn;
  // Changes whenever `txn` begins or ends (unique across sessions), so a
  // statement that joined a BEGIN can tell that it has ended.
  std::uint64_t generation = 0;

  // The engine's session, created if it has none. Called by exec() and
  // prepare() on the user's handle, so that a missing session later means
  // the user's handle has closed it.
  static Session& of(const Engine& engine);
  // The engine's session, or nullptr once the user's handle has gone.
  static Session* find(const Engine& engine);
  // A handle on the same engine that does not own the session.
  static Engine share(const Engine& engine) { return engine.share(); }
  // The engine's interrupt generation (Engine::interrupt).
  static const std::atomic<std::uint64_t>& interrupts(const Engine& engine) {
    return engine.interrupts();
  }
  // A fresh generation number.
  static std::uint64_t next_generation() noexcept;
};

} // namespace klite
