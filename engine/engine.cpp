// The native API (include/klite/engine.h) over the pager, catalog and
// value chain.
#include <klite/engine.h>

#include "engine/catalog.h"
#include "engine/chain.h"
#include "engine/errors.h"
#include "engine/pager.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

namespace klite {

using catalog::Descriptor;

struct Engine::Impl {
  Impl(const std::string& path, const Options& options)
      : pager(path, options) {}
  Pager pager;
  // The write transaction of this Engine: at most one, whichever thread
  // runs it; write() on another thread waits for it up to busy_timeout.
  std::mutex writer_mu;
  std::condition_variable writer_done;
  bool writing = false; // guarded by writer_mu

  // Lets go of the file's write lock, then of this Engine's writer slot.
  void end_writer() noexcept {
    pager.end_write();
    {
      std::lock_guard lock(writer_mu);
      writing = false;
    }
    writer_done.notify_one();
  }
  // The query layer's (vm/session.h): made on first use, dropped when the
  // user's handle goes; under sessions_mu, since threads race to both.
  std::mutex sessions_mu;
  std::shared_ptr<Engine::Sessions> sessions;
  // Engine::interrupt() bumps it, possibly from a signal handler, so it
  // must be a lock-free atomic.
  std::atomic<std::uint64_t> interrupts{0};
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
};

struct ReadTxn::Impl {
  // One stream as this transaction sees it. Read transactions cache
  // descriptors here; the write transaction also keeps its changes here
  // until commit writes them to the catalog.
  struct Stream {
    Descriptor d;
    bool exists = true;
    bool dirty = false;
  };

  Impl(std::shared_ptr<Engine::Impl> e, Pages snap)
      : engine(std::move(e)), snapshot(std::move(snap)) {}
  Impl(std::shared_ptr<Engine::Impl> e, std::unique_ptr<Writer> w)
      : engine(std::move(e)), snapshot(w->pages()), writer(std::move(w)) {
    snapshot.meta().txn_id -= 1; // the commit the writer builds on
  }
  ~Impl() { finish(); }

  Pages& pages() { return writer ? writer->pages() : snapshot; }
  bool verify() const { return engine->pager.options().verify_checksums; }

  Stream* find(std::string_view name) {
    auto it = streams.find(name);
    if (it == streams.end()) {
      auto d = catalog::find(pages(), name);
      if (!d)
        return nullptr;
      it = streams.emplace(std::string(name), Stream{*d}).first;
    }
    return it->second.exists ? &it->second : nullptr;
  }
  Stream& require(std::string_view name) {
    if (Stream* s = find(name))
      return *s;
    throw Error(ErrorCode::NoSuchStream,
                "no such stream: " + std::string(name));
  }

  void finish() noexcept {
    if (finished)
      return;
    finished = true;
    *alive = false;
    if (writer) {
      writer.reset();
      engine->end_writer();
    } else {
      engine->pager.release(snapshot);
    }
  }

  std::shared_ptr<Engine::Impl> engine;
  Pages snapshot;
  std::unique_ptr<Writer> writer;
  std::map<std::string, Stream, std::less<>> streams;
  std::optional<chain::Reader> getter;
  bool finished = false;
  // Shared with this transaction's cursors, which check it before every
  // step: a cursor used after its transaction ended is Misuse, not UB.
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

namespace {

StreamInfo make_info(std::string_view name, const Descriptor& d) {
  StreamInfo i;
  i.name = name;
  i.id = d.id;
  i.records = d.records();
  i.bytes = d.bytes;
  i.next_key = d.next_key;
  i.created = d.created;
  if (i.records > 0) {
    i.first_key = d.first_key;
    i.last_key = d.next_key - 1;
    i.first_timestamp = d.first_ts;
    i.last_timestamp = d.last_ts;
  }
  return i;
}

[[noreturn]] void finished_misuse() {
  throw Error(ErrorCode::Misuse, "the transaction is finished");
}

} // namespace

std::vector<Header> Record::headers() const {
  return chain::decode_headers(raw_headers);
}

// ---------------------------------------------------------------------------
// Cursor

struct Cursor::Impl {
  Impl(std::shared_ptr<const bool> alive, const Pages& pages,
       const Descriptor& d, bool verify)
      : alive(std::move(alive)), reader(pages, d, verify) {}
  std::shared_ptr<const bool> alive;
  chain::Reader reader;
};

Cursor::Cursor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Cursor::Cursor(Cursor&&) noexcept = default;
Cursor& Cursor::operator=(Cursor&&) noexcept = default;
Cursor::~Cursor() = default;

namespace {
chain::Reader& reader_of(const std::unique_ptr<Cursor::Impl>& impl) {
  if (!impl)
    throw Error(ErrorCode::Misuse, "use of a moved-from cursor");
  if (!*impl->alive)
    throw Error(ErrorCode::Misuse, "use of a cursor whose transaction ended");
  return impl->reader;
}
} // namespace

bool Cursor::seek(std::uint64_t key) { return reader_of(impl_).seek(key); }
bool Cursor::seek_before(std::uint64_t key) {
  return reader_of(impl_).seek_before(key);
}
bool Cursor::seek_time(std::uint64_t ts) {
  return reader_of(impl_).seek_time(ts);
}
bool Cursor::first() { return reader_of(impl_).first(); }
bool Cursor::last() { return reader_of(impl_).last(); }
bool Cursor::next() { return reader_of(impl_).next(); }
bool Cursor::prev() { return reader_of(impl_).prev(); }
bool Cursor::valid() const noexcept {
  return impl_ && *impl_->alive && impl_->reader.valid();
}
const Record& Cursor::record() const {
  const chain::Reader& r = reader_of(impl_);
  if (!r.valid())
    throw Error(ErrorCode::Misuse, "record() on a cursor that is not valid");
  return r.record();
}

// ---------------------------------------------------------------------------
// ReadTxn

ReadTxn::ReadTxn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReadTxn::ReadTxn(ReadTxn&&) noexcept = default;
ReadTxn& ReadTxn::operator=(ReadTxn&&) noexcept = default;
ReadTxn::~ReadTxn() = default;

namespace {
ReadTxn::Impl& live(const std::unique_ptr<ReadTxn::Impl>& impl) {
  if (!impl || impl->finished)
    finished_misuse();
  return *impl;
}
} // namespace

std::optional<Record> ReadTxn::get(std::string_view stream,
                                   std::uint64_t key) {
  Impl& t = live(impl_);
  const Descriptor& d = t.require(stream).d;
  if (t.getter)
    t.getter->reset(d);
  else
    t.getter.emplace(t.pages(), d, t.verify());
  if (!t.getter->seek(key) || t.getter->record().key != key)
    return std::nullopt;
  return t.getter->record();
}

Cursor ReadTxn::cursor(std::string_view stream) {
  Impl& t = live(impl_);
  return Cursor(std::make_unique<Cursor::Impl>(
      t.alive, t.pages(), t.require(stream).d, t.verify()));
}

bool ReadTxn::has_stream(std::string_view stream) {
  return live(impl_).find(stream) != nullptr;
}

StreamInfo ReadTxn::info(std::string_view stream) {
  return make_info(stream, live(impl_).require(stream).d);
}

std::vector<StreamInfo> ReadTxn::streams() {
  Impl& t = live(impl_);
  std::vector<StreamInfo> out;
  if (!t.writer) {
    catalog::each(t.pages(), [&](std::string_view name, const Descriptor& d) {
      out.push_back(make_info(name, d));
    });
    return out;
  }
  // The writer's changes are not in the catalog until commit: overlay them.
  std::map<std::string, Descriptor, std::less<>> all;
  catalog::each(t.pages(), [&](std::string_view name, const Descriptor& d) {
    all.emplace(std::string(name), d);
  });
  for (auto& [name, s] : t.streams) {
    if (s.exists)
      all[name] = s.d;
    else
      all.erase(name);
  }
  for (auto& [name, d] : all)
    out.push_back(make_info(name, d));
  return out;
}

std::uint64_t ReadTxn::snapshot_id() const noexcept {
  return impl_ ? impl_->snapshot.meta().txn_id : 0;
}

// ---------------------------------------------------------------------------
// WriteTxn

WriteTxn::WriteTxn(WriteTxn&&) noexcept = default;
WriteTxn& WriteTxn::operator=(WriteTxn&&) noexcept = default;
WriteTxn::~WriteTxn() = default;

namespace {

Writer& writer_of(const std::unique_ptr<ReadTxn::Impl>& impl) {
  return *live(impl).writer;
}

// Runs a change; if it fails half-way the transaction is aborted, since its
// pages may be half-written.
template <class F> auto guarded(ReadTxn::Impl& t, F&& f) {
  try {
    return f();
  } catch (...) {
    t.finish();
    throw;
  }
}

// `now` is the creation time; an append that creates the stream passes its
// own clock reading, so no record is older than its stream.
ReadTxn::Impl::Stream& create(ReadTxn::Impl& t, std::string_view name,
                              std::uint64_t now) {
  catalog::check_name(name);
  Writer& w = *t.writer;
  Descriptor d;
  d.id = w.meta().next_stream_id++;
  d.created = now;
  auto& s = t.streams[std::string(name)];
  s = ReadTxn::Impl::Stream{d, true, true};
  return s;
}

ReadTxn::Impl::Stream& stream_for_append(ReadTxn::Impl& t,
                                         std::string_view name,
                                         std::uint64_t now) {
  if (auto* s = t.find(name))
    return *s;
  if (!t.engine->pager.options().auto_create_streams)
    throw Error(ErrorCode::NoSuchStream,
                "no such stream: " + std::string(name) +
                    " (auto-create is off)");
  return create(t, name, now);
}

void check_value(std::string_view value) {
  if (value.size() > kMaxValueSize)
    throw Error(ErrorCode::TooBig, "value of " + std::to_string(value.size()) +
                                       " bytes exceeds the limit of " +
                                       std::to_string(kMaxValueSize));
}

} // namespace

std::uint64_t WriteTxn::append(std::string_view stream, std::string_view value,
                               std::span<const Header> headers) {
  Impl& t = live(impl_);
  check_value(value);
  std::string block = chain::encode_headers(headers);
  std::uint64_t now = t.engine->pager.now();
  auto& s = stream_for_append(t, stream, now);
  return guarded(t, [&] {
    std::uint64_t ts = std::max(now, s.d.last_ts);
    std::uint64_t key = s.d.next_key;
    chain::append(*t.writer, s.d, ts, block, value);
    s.dirty = true;
    return key;
  });
}

std::uint64_t WriteTxn::append_batch(std::string_view stream,
                                     std::span<const std::string_view> values) {
  Impl& t = live(impl_);
  for (std::string_view v : values)
    check_value(v);
  std::uint64_t now = t.engine->pager.now();
  auto& s = stream_for_append(t, stream, now);
  return guarded(t, [&] {
    std::uint64_t ts = std::max(now, s.d.last_ts);
    std::uint64_t first = s.d.next_key;
    chain::append_batch(*t.writer, s.d, ts, values);
    s.dirty = true;
    return first;
  });
}

void WriteTxn::create_stream(std::string_view stream) {
  Impl& t = live(impl_);
  if (t.find(stream))
    throw Error(ErrorCode::StreamExists,
                "stream already exists: " + std::string(stream));
  create(t, stream, t.engine->pager.now());
}

void WriteTxn::drop_stream(std::string_view stream) {
  Impl& t = live(impl_);
  auto& s = t.require(stream);
  guarded(t, [&] {
    chain::destroy(*t.writer, s.d);
    s.exists = false;
    s.dirty = true;
  });
}

void WriteTxn::commit() {
  Impl& t = live(impl_);
  Writer& w = writer_of(impl_);
  guarded(t, [&] {
    for (auto& [name, s] : t.streams) {
      if (!s.dirty)
        continue;
      if (s.exists)
        catalog::put(w, name, s.d);
      else
        catalog::erase(w, name);
    }
    w.commit();
  });
  t.finish();
}

void WriteTxn::abort() { live(impl_).finish(); }

// ---------------------------------------------------------------------------
// Engine

Engine::Engine(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::Engine(Engine&& other) noexcept
    : impl_(std::move(other.impl_)), owner_(other.owner_) {}
Engine& Engine::operator=(Engine&& other) noexcept {
  if (this != &other) {
    close_session();
    impl_ = std::move(other.impl_);
    owner_ = other.owner_;
  }
  return *this;
}
Engine::~Engine() { close_session(); }

void Engine::close_session() noexcept {
  // The sessions may hold transactions, which hold the engine's state:
  // dropping them when the user's handle goes breaks that cycle. Dropping
  // them rolls back every thread's open BEGIN, so `sessions` outlives the
  // lock.
  if (!owner_ || !impl_)
    return;
  std::shared_ptr<Sessions> sessions;
  std::lock_guard lock(impl_->sessions_mu);
  sessions.swap(impl_->sessions);
}

Engine Engine::open(const std::string& path, const Options& options) {
  return Engine(std::make_shared<Impl>(path, options));
}

namespace {
const std::shared_ptr<Engine::Impl>&
engine_of(const std::shared_ptr<Engine::Impl>& impl) {
  if (!impl)
    throw Error(ErrorCode::Misuse, "use of a moved-from engine");
  return impl;
}
} // namespace

ReadTxn Engine::read() {
  const auto& e = engine_of(impl_);
  return ReadTxn(std::make_unique<ReadTxn::Impl>(e, e->pager.acquire()));
}

WriteTxn Engine::write() {
  const auto& e = engine_of(impl_);
  e->pager.check_writable();
  const auto timeout = e->pager.options().busy_timeout;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::unique_lock lock(e->writer_mu);
    if (!e->writer_done.wait_until(lock, deadline, [&] { return !e->writing; }))
      throw_busy(e->pager.path() + ": a write transaction is already open", timeout);
    e->writing = true;
  }
  try {
    e->pager.begin_write(deadline);
  } catch (...) {
    e->end_writer(); // unlocking a lock not taken does nothing
    throw;
  }
  try {
    Pages base = e->pager.acquire();
    e->pager.release(base); // the writer's base is the newest commit anyway
    return WriteTxn(
        std::make_unique<ReadTxn::Impl>(e, std::make_unique<Writer>(base)));
  } catch (...) {
    e->end_writer();
    throw;
  }
}

std::uint64_t Engine::append(std::string_view stream, std::string_view value,
                             std::span<const Header> headers) {
  WriteTxn t = write();
  std::uint64_t key = t.append(stream, value, headers);
  t.commit();
  return key;
}

std::optional<OwnedRecord> Engine::get(std::string_view stream,
                                       std::uint64_t key) {
  // ReadTxn::get without the transaction object: one snapshot, one catalog
  // lookup, one reader on the stack. The same checks and errors.
  const auto& e = engine_of(impl_);
  Pages snap = e->pager.acquire();
  struct Release {
    Pager& pager;
    const Pages& snap;
    ~Release() { pager.release(snap); }
  } release{e->pager, snap};
  std::optional<Descriptor> d = catalog::find(snap, stream);
  if (!d)
    throw Error(ErrorCode::NoSuchStream,
                "no such stream: " + std::string(stream));
  chain::Reader reader(snap, *d, e->pager.options().verify_checksums);
  if (!reader.seek(key) || reader.record().key != key)
    return std::nullopt;
  const Record& r = reader.record();
  OwnedRecord o{r.key, r.timestamp, std::string(r.value), {}};
  if (!r.raw_headers.empty())
    for (const Header& h : r.headers())
      o.headers.emplace_back(h.name, h.value);
  return o;
}

void Engine::create_stream(std::string_view stream) {
  WriteTxn t = write();
  t.create_stream(stream);
  t.commit();
}

void Engine::drop_stream(std::string_view stream) {
  WriteTxn t = write();
  t.drop_stream(stream);
  t.commit();
}

StreamInfo Engine::info(std::string_view stream) { return read().info(stream); }

std::vector<StreamInfo> Engine::streams() { return read().streams(); }

Engine::Sessions& Engine::sessions(std::shared_ptr<Sessions> (*make)()) const {
  const auto& e = engine_of(impl_);
  std::lock_guard lock(e->sessions_mu);
  if (!e->sessions)
    e->sessions = make();
  return *e->sessions;
}

void Engine::interrupt() noexcept {
  // Nothing but the atomic add: this runs in signal handlers.
  if (impl_)
    impl_->interrupts.fetch_add(1, std::memory_order_relaxed);
}

const std::atomic<std::uint64_t>& Engine::interrupts() const {
  return engine_of(impl_)->interrupts;
}

const std::string& Engine::path() const {
  return engine_of(impl_)->pager.path();
}

} // namespace klite
