// The sessions of vm/session.h: the per-engine table and each thread's
// list of its sessions.
#include "vm/session.h"

#include <algorithm>

namespace klite {
namespace vm {

namespace {

// Ends `s` for `why` and rolls back its BEGIN, outside its lock.
void end(Session& s, Session::Ended why) noexcept {
  std::optional<WriteTxn> t;
  {
    std::lock_guard lock(s.mu);
    s.ended = why;
    t = s.take();
  }
}

// The sessions this thread has, one per engine it ran statements on.
// Destroyed when the thread exits, which rolls back their BEGINs.
struct ThreadSessions {
  struct Entry {
    // Holding the table keeps its address, the key, from being reused by
    // another engine's table while the entry exists.
    std::shared_ptr<SessionTable> table;
    std::shared_ptr<Session> session;
  };
  std::vector<Entry> entries;

  ~ThreadSessions() {
    gone = true;
    for (Entry& e : entries) {
      end(*e.session, Session::Ended::ThreadExited);
      e.table->forget(e.session.get());
    }
  }

  // Set once this thread's list is destroyed: a statement stepped from
  // another thread_local's destructor after that must not touch it.
  static thread_local bool gone;
};

thread_local bool ThreadSessions::gone = false;
thread_local ThreadSessions tls;

} // namespace

std::optional<WriteTxn> Session::take() noexcept {
  std::optional<WriteTxn> t;
  if (txn) {
    t.emplace(std::move(*txn));
    txn.reset();
    generation = next_generation();
    open.store(false, std::memory_order_relaxed);
  }
  return t;
}

const std::shared_ptr<Session>* SessionTable::mine() const noexcept {
  if (ThreadSessions::gone) [[unlikely]]
    return nullptr;
  for (const ThreadSessions::Entry& e : tls.entries)
    if (e.table.get() == this)
      return &e.session;
  return nullptr;
}

const std::shared_ptr<Session>& SessionTable::mine_or_make() {
  if (const auto* s = mine())
    return *s;
  if (ThreadSessions::gone)
    throw Error(ErrorCode::Misuse, "BEGIN on a thread that is exiting");
  // Entries of engines closed since are of no use any more.
  std::erase_if(tls.entries, [](const ThreadSessions::Entry& e) {
    return e.table->closed();
  });
  tls.entries.reserve(tls.entries.size() + 1); // no throw after the lock
  auto s = std::make_shared<Session>();
  {
    std::lock_guard lock(mu_);
    if (closed_.load())
      throw Error(ErrorCode::Misuse, "BEGIN after the Engine was closed");
    all_.push_back(s);
  }
  tls.entries.push_back({shared_from_this(), std::move(s)});
  return tls.entries.back().session;
}

void SessionTable::close() noexcept {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lock(mu_);
    closed_.store(true);
    all.swap(all_);
  }
  // All are ended before any rolls back: a BEGIN waiting for the writer
  // that a rollback frees must find its session ended, not open.
  for (const auto& s : all) {
    std::lock_guard lock(s->mu);
    s->ended = Session::Ended::EngineClosed;
  }
  for (const auto& s : all)
    end(*s, Session::Ended::EngineClosed);
}

void SessionTable::forget(const Session* s) noexcept {
  std::lock_guard lock(mu_);
  std::erase_if(all_, [&](const auto& p) { return p.get() == s; });
}

std::uint64_t next_generation() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

} // namespace vm

std::shared_ptr<vm::SessionTable> Engine::Sessions::of(const Engine& engine) {
  return engine
      .sessions([]() -> std::shared_ptr<Sessions> {
        return std::make_shared<Sessions>();
      })
      .table;
}

} // namespace klite
