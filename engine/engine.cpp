// The native API (include/klite/engine.h) over the pager, catalog and
// value chain.
#include <klite/engine.h>

#include "engine/btree.h"
#include "engine/catalog.h"
#include "engine/chain.h"
#include "engine/coding.h"
#include "engine/errors.h"
#include "engine/format.h"
#include "engine/pager.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <set>
#include <mutex>
#include <new>
#include <utility>

namespace klite {

using catalog::Descriptor;

struct Engine::Impl {
  Impl(const std::string& path, const Options& options)
      : pager(path, options) {}
  Pager pager;

  // Group commit (docs/ARCHITECTURE.md section 6). One write transaction
  // runs at a time, whichever thread runs it. One that commits leaves its
  // changes in the open group's Writer and waits; the group is written as
  // one commit as soon as no transaction runs and no other group's commit
  // is in flight, so the transactions that commit during one sync share
  // the next. A transaction that begins while a group is open builds on
  // it behind a savepoint, so that it can abort alone. The file's write
  // lock is held from the first transaction until none runs, none waits
  // and no commit is in flight.
  struct Batch { // what the transactions of one group wait for
    std::size_t commits = 0;
    bool done = false;
    std::exception_ptr error;
    // Its transactions wait here for `done`, or to write the group.
    std::condition_variable cv;
  };
  std::mutex writer_mu;
  std::condition_variable slot_cv;  // write() waits here for a transaction
  std::condition_variable group_cv; // and here for a group to be taken
  bool writing = false;           // guarded by writer_mu, as are the rest
  bool flushing = false;          // a group's commit is in flight
  std::unique_ptr<Writer> group;  // the open group
  std::shared_ptr<Batch> batch;   // the open group's outcome

  // Begins the write transaction: waits up to busy_timeout for the one
  // running (and for a group about to be written), then for the file lock.
  Writer& begin_write();
  // Commits the running transaction into the open group, and returns the
  // group's outcome; the next transaction may begin at once.
  std::shared_ptr<Batch> join_group();
  // Returns once group `b` is durable (writing it, if that falls to this
  // thread); throws the error of writing or syncing it.
  void await_group(const std::shared_ptr<Batch>& b);
  void abort_write() noexcept;
  // Writes the open group as one commit and syncs it. REQUIRES: `lock`
  // holds writer_mu, no transaction runs, no commit is in flight.
  void write_group(std::unique_lock<std::mutex>& lock);
  // Makes the open group, for the transaction that begins now: on the
  // commit in flight, or on the newest one once it has the file lock.
  // REQUIRES: `lock` holds writer_mu, `writing`, no group.
  void open_group(std::unique_lock<std::mutex>& lock,
                  std::chrono::steady_clock::time_point deadline);
  // Wakes the one thread that can go on now, if any: a transaction of a
  // group that is ready to be written, else one waiting in write(). Also
  // lets go of the file lock once nothing needs it. REQUIRES: writer_mu.
  void hand_on() noexcept;
  bool group_ready() const noexcept {
    return batch && batch->commits > 0 && !writing && !flushing;
  }

  // Engine::append from several threads (docs/ARCHITECTURE.md section 6).
  // One of them, the leader, takes the writer and then every append
  // queued by then, and writes them in one transaction: they share a group
  // commit without the writer passing from thread to thread for each (a
  // wake-up costs ~20-40 us on our VMs). The others wait for their `done`.
  struct Append {
    Append(std::string_view s, std::string_view v, std::span<const Header> h,
           std::chrono::microseconds t)
        : stream(s), value(v), headers(h), ttl(t) {}
    std::string_view stream, value;
    std::span<const Header> headers;
    std::chrono::microseconds ttl;
    std::uint64_t key = 0;
    std::exception_ptr error;
    bool done = false; // key or error is set
    bool lead = false; // the leader handed on: take the next batch
    std::condition_variable cv;
  };
  std::mutex append_mu;
  std::vector<Append*> appends; // queued; guarded by append_mu
  bool appending = false;       // a leader is at work; guarded by append_mu

  // The query layer's (vm/session.h): made on first use, dropped when the
  // user's handle goes; under sessions_mu, since threads race to both.
  std::mutex sessions_mu;
  std::shared_ptr<Engine::Sessions> sessions;
  // Engine::interrupt() bumps it, possibly from a signal handler, so it
  // must be a lock-free atomic.
  std::atomic<std::uint64_t> interrupts{0};
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
};

namespace {

// The exception in `e` again, as an object that shares nothing with it,
// for one of the transactions or appends a group's error goes to: one
// exception object rethrown in several threads at once races inside the
// C++ runtime (a reference count ThreadSanitizer cannot see, and the
// message std::runtime_error shares on copy).
std::exception_ptr own_copy(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& x) {
    return std::make_exception_ptr(
        Error(x.code(), std::string(x.what()), x.line(), x.column()));
  } catch (const std::bad_alloc&) {
    return std::make_exception_ptr(std::bad_alloc());
  } catch (...) {
    return std::current_exception();
  }
}

} // namespace

Writer& Engine::Impl::begin_write() {
  pager.check_writable();
  const auto timeout = pager.options().busy_timeout;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  auto busy_deadline = [&] {
    if (!deadline)
      deadline = std::chrono::steady_clock::now() + timeout;
    return *deadline;
  };
  std::unique_lock lock(writer_mu);
  // busy_timeout limits the wait for a running transaction. A group ready
  // to be written is taken at once by its own threads (write_group wakes
  // every thread waiting for that), so that wait does not count.
  while (writing || group_ready()) {
    if (!writing) {
      group_cv.wait(lock);
    } else if (slot_cv.wait_until(lock, busy_deadline()) ==
                   std::cv_status::timeout &&
               writing) {
      hand_on(); // it may have been woken to go on just now: pass that on
      throw_busy(pager.path() + ": a write transaction is already open",
                 timeout);
    }
  }
  writing = true;
  try {
    if (group)
      group->savepoint();
    else
      open_group(lock, busy_deadline());
  } catch (...) {
    if (!lock.owns_lock())
      lock.lock();
    writing = false;
    hand_on(); // lets go of the file lock too, if this took it
    throw;
  }
  return *group;
}

void Engine::Impl::open_group(std::unique_lock<std::mutex>& lock,
                              std::chrono::steady_clock::time_point deadline) {
  auto b = std::make_shared<Batch>();
  std::unique_ptr<Writer> w;
  if (flushing) {
    w = std::make_unique<Writer>(pager.in_flight());
  } else { // nothing holds the file lock: take it, unlocked (it may wait)
    lock.unlock();
    pager.begin_write(deadline);
    // After the lock, so that it builds on the newest commit.
    Pages base = pager.acquire();
    pager.release(base);
    w = std::make_unique<Writer>(base);
    lock.lock();
  }
  group = std::move(w);
  batch = std::move(b);
}

std::shared_ptr<Engine::Impl::Batch> Engine::Impl::join_group() {
  std::lock_guard lock(writer_mu);
  group->release();
  writing = false;
  ++batch->commits;
  if (!group_ready())
    hand_on(); // a commit is in flight: the next transaction may begin
  return batch;
}

void Engine::Impl::await_group(const std::shared_ptr<Batch>& mine) {
  std::unique_lock lock(writer_mu);
  while (!mine->done) {
    if (group_ready() && batch == mine)
      write_group(lock);
    else
      mine->cv.wait(lock);
  }
  if (mine->error) { // copied under the lock: the group's threads share it
    const std::exception_ptr error = own_copy(mine->error);
    lock.unlock();
    std::rethrow_exception(error);
  }
}

void Engine::Impl::abort_write() noexcept {
  std::lock_guard lock(writer_mu);
  if (batch->commits == 0) { // it was the group's first: no savepoint
    group.reset();
    batch.reset();
  } else {
    group->rollback();
  }
  writing = false;
  hand_on();
}

void Engine::Impl::hand_on() noexcept {
  if (group_ready())
    batch->cv.notify_one(); // one of its transactions writes it
  else if (!writing)
    slot_cv.notify_one();
  if (!writing && !group && !flushing)
    pager.end_write();
}

void Engine::Impl::write_group(std::unique_lock<std::mutex>& lock) {
  std::unique_ptr<Writer> w = std::move(group);
  const std::shared_ptr<Batch> b = std::move(batch);
  group_cv.notify_all(); // taken: write() may go on (begin_write)
  std::exception_ptr error;
  try {
    w->write_commit(); // no sync yet (but see Pager::write_commit)
  } catch (...) {
    error = std::current_exception();
  }
  const Meta meta = w->meta();
  w.reset(); // the next group reads these pages from the file
  if (!error) {
    flushing = true; // the next group may begin, on this commit
    hand_on();
    lock.unlock();
    try {
      pager.finish_commit(meta);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    flushing = false;
  }
  b->error = error;
  b->done = true;
  b->cv.notify_all();
  hand_on();
}

struct ReadTxn::Impl {
  // One stream as this transaction sees it. Read transactions cache
  // descriptors here; the write transaction also keeps its changes here
  // until commit writes them to the catalog.
  struct Stream {
    Descriptor d;
    bool exists = true;
    bool dirty = false;
    bool in_tree = true; // false: created by this transaction
  };

  Impl(std::shared_ptr<Engine::Impl> e, Pages snap)
      : engine(std::move(e)), snapshot(std::move(snap)) {}
  Impl(std::shared_ptr<Engine::Impl> e, Writer& w)
      : engine(std::move(e)), snapshot(w.pages()), writer(&w) {
    snapshot.meta().txn_id -= 1; // the commit the writer builds on
  }
  Impl(const Impl&) = delete; // last_found points into `streams`
  Impl& operator=(const Impl&) = delete;
  ~Impl() { finish(); }

  Pages& pages() { return writer ? writer->pages() : snapshot; }
  bool verify() const { return engine->pager.options().verify_checksums; }
  // The time a Reader of stream `d` judges TTLs and max_age by
  // (chain::Reader): the clock at the transaction's first read of a stream
  // that needs one, so that what it shows does not change while it lives;
  // 0 for other streams.
  std::uint64_t read_now(const Descriptor& d) {
    if (!d.read_by_clock())
      return 0;
    if (now == 0)
      now = engine->pager.now();
    return now;
  }

  Stream* find(std::string_view name) {
    // An append or read loop names one stream again and again; the map
    // lookup (string compares down the tree) was ~10% of an append.
    if (!last_found || last_found->first != name) [[unlikely]] {
      auto it = streams.find(name);
      if (it == streams.end()) {
        auto d = catalog::find(pages(), name);
        if (!d)
          return nullptr;
        it = streams.emplace(std::string(name), Stream{*d}).first;
      }
      last_found = &*it;
    }
    return last_found->second.exists ? &last_found->second : nullptr;
  }
  Stream& require(std::string_view name) {
    if (Stream* s = find(name))
      return *s;
    throw Error(ErrorCode::NoSuchStream,
                "no such stream: " + std::string(name));
  }

  // Ends the transaction; a write transaction is aborted.
  void finish() noexcept {
    if (finished)
      return;
    end();
    if (writer) {
      writer = nullptr;
      engine->abort_write();
    } else {
      engine->pager.release(snapshot);
    }
  }
  void end() noexcept {
    finished = true;
    *alive = false;
  }

  std::shared_ptr<Engine::Impl> engine;
  Pages snapshot;
  Writer* writer = nullptr; // the open group's, while this txn runs
  // Entries are only added (a dropped stream's says so), so pointers to
  // them stay valid.
  std::map<std::string, Stream, std::less<>> streams;
  decltype(streams)::value_type* last_found = nullptr; // see find()
  std::optional<chain::Reader> getter;
  std::uint64_t now = 0; // see read_now()
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
  i.retention = {std::chrono::microseconds(d.max_age), d.max_bytes,
                 d.max_records};
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
       const Descriptor& d, bool verify, std::uint64_t now)
      : alive(std::move(alive)), reader(pages, d, verify, now) {}
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
  const std::uint64_t now = t.read_now(d);
  if (t.getter)
    t.getter->reset(d, now);
  else
    t.getter.emplace(t.pages(), d, t.verify(), now);
  if (!t.getter->find(key))
    return std::nullopt;
  return t.getter->record();
}

Cursor ReadTxn::cursor(std::string_view stream) {
  Impl& t = live(impl_);
  const Descriptor& d = t.require(stream).d;
  return Cursor(std::make_unique<Cursor::Impl>(t.alive, t.pages(), d,
                                               t.verify(), t.read_now(d)));
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

void set(Descriptor& d, const Retention& r) {
  if (r.max_age.count() < 0)
    throw Error(ErrorCode::InvalidArgument,
                "retention max_age is negative: " +
                    std::to_string(r.max_age.count()) + " us");
  d.max_age = static_cast<std::uint64_t>(r.max_age.count());
  d.max_bytes = r.max_bytes;
  d.max_records = r.max_records;
}

// `now` is the creation time; an append that creates the stream passes its
// own clock reading, so no record is older than its stream.
ReadTxn::Impl::Stream& create(ReadTxn::Impl& t, std::string_view name,
                              std::uint64_t now, const Retention& r = {}) {
  catalog::check_name(name);
  Writer& w = *t.writer;
  Descriptor d;
  set(d, r);
  d.id = w.meta().next_stream_id++;
  d.created = now;
  auto& s = t.streams[std::string(name)];
  s = ReadTxn::Impl::Stream{d, true, true, false};
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

// The key of the first live record with a timestamp of at least `ts`, or
// the next key if there is none: where expiry by age stops. Like the walks
// of expiry itself it checks no record CRCs (chain::expire), since the
// records it passes are about to go.
std::uint64_t key_at_time(ReadTxn::Impl& t, const Descriptor& d,
                          std::uint64_t ts) {
  chain::Reader r(t.pages(), d, false);
  return r.seek_time(ts) ? r.record().key : d.next_key;
}

// Expires what the stream's retention no longer keeps.
void enforce_retention(ReadTxn::Impl& t, Descriptor& d) {
  std::uint64_t before = d.first_key;
  if (d.max_records && d.records() > d.max_records)
    before = d.next_key - d.max_records;
  const std::uint64_t now = d.read_by_clock() ? t.engine->pager.now() : 0;
  if (d.max_age && d.records() > 0) {
    const std::uint64_t ts = chain::age_cutoff(now, d.max_age);
    if (d.first_ts < ts)
      before = std::max(before, key_at_time(t, d, ts));
  }
  if (d.has_ttl()) { // the head's run-out TTLs
    chain::Reader r(t.pages(), d, false); // as key_at_time
    bool ok = r.seek(before);
    while (ok && r.record().expires != 0 && r.record().expires <= now)
      ok = r.next();
    before = ok ? r.record().key : d.next_key;
  }
  if (before > d.first_key || (d.max_bytes && d.bytes > d.max_bytes))
    chain::expire(*t.writer, d, before, d.max_bytes);
}

std::uint64_t check_ttl(std::chrono::microseconds ttl) {
  if (ttl.count() < 0 || ttl > kMaxTtl)
    throw Error(ErrorCode::InvalidArgument,
                "ttl of " + std::to_string(ttl.count()) +
                    " us is out of range (0 to 2^61 us)");
  return static_cast<std::uint64_t>(ttl.count());
}

void check_value(std::string_view value) {
  if (value.size() > kMaxValueSize)
    throw Error(ErrorCode::TooBig, "value of " + std::to_string(value.size()) +
                                       " bytes exceeds the limit of " +
                                       std::to_string(kMaxValueSize));
}

} // namespace

std::uint64_t WriteTxn::append(std::string_view stream, std::string_view value,
                               std::span<const Header> headers,
                               std::chrono::microseconds ttl) {
  Impl& t = live(impl_);
  check_value(value);
  const std::uint64_t us = check_ttl(ttl);
  std::string block = chain::encode_headers(headers);
  std::uint64_t now = t.engine->pager.now();
  auto& s = stream_for_append(t, stream, now);
  return guarded(t, [&] {
    std::uint64_t ts = std::max(now, s.d.last_ts);
    std::uint64_t key = s.d.next_key;
    chain::append(*t.writer, s.d, ts, block, value, us);
    s.dirty = true;
    return key;
  });
}

std::uint64_t WriteTxn::append_batch(std::string_view stream,
                                     std::span<const std::string_view> values,
                                     std::chrono::microseconds ttl) {
  Impl& t = live(impl_);
  for (std::string_view v : values)
    check_value(v);
  const std::uint64_t us = check_ttl(ttl);
  std::uint64_t now = t.engine->pager.now();
  auto& s = stream_for_append(t, stream, now);
  return guarded(t, [&] {
    std::uint64_t ts = std::max(now, s.d.last_ts);
    std::uint64_t first = s.d.next_key;
    chain::append_batch(*t.writer, s.d, ts, values, us);
    s.dirty = true;
    return first;
  });
}

void WriteTxn::create_stream(std::string_view stream,
                             const Retention& retention) {
  Impl& t = live(impl_);
  if (t.find(stream))
    throw Error(ErrorCode::StreamExists,
                "stream already exists: " + std::string(stream));
  create(t, stream, t.engine->pager.now(), retention);
}

void WriteTxn::set_retention(std::string_view stream,
                             const Retention& retention) {
  Impl& t = live(impl_);
  auto& s = t.require(stream);
  set(s.d, retention);
  s.dirty = true;
}

std::uint64_t WriteTxn::expire_before(std::string_view stream,
                                      std::uint64_t key) {
  Impl& t = live(impl_);
  auto& s = t.require(stream);
  return guarded(t, [&] {
    s.dirty = true;
    return chain::expire(*t.writer, s.d, key, 0);
  });
}

std::uint64_t WriteTxn::expire_older_than(std::string_view stream,
                                          std::chrono::microseconds age) {
  Impl& t = live(impl_);
  auto& s = t.require(stream);
  // A negative age would expire records not yet appended: a sign error
  // that would empty the stream, so it is refused like a negative max_age.
  if (age.count() < 0)
    throw Error(ErrorCode::InvalidArgument,
                "expire age is negative: " + std::to_string(age.count()) +
                    " us");
  const std::uint64_t ts = chain::age_cutoff(
      t.engine->pager.now(), static_cast<std::uint64_t>(age.count()));
  return guarded(t, [&] {
    s.dirty = true;
    return chain::expire(*t.writer, s.d, key_at_time(t, s.d, ts), 0);
  });
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

namespace {

// The first half of WriteTxn::commit: expires what retention no longer
// keeps, writes the changed descriptors to the catalog, and puts the
// transaction into the open group. Returns the group, for await_group().
std::shared_ptr<Engine::Impl::Batch> join_group(ReadTxn::Impl& t) {
  Writer& w = *t.writer;
  guarded(t, [&] {
    // A commit that only changes streams the catalog tree has leaves
    // their descriptors in the meta page's overlay, if they fit: no
    // catalog page then changes (catalog.h). Creating or dropping a
    // stream writes the tree, and the overlay with it.
    std::vector<catalog::Change> changes;
    bool tree = false;
    for (auto& [name, s] : t.streams) {
      if (!s.dirty)
        continue;
      if (s.exists)
        enforce_retention(t, s.d);
      tree |= !s.exists || !s.in_tree;
      changes.push_back({name, &s.d});
    }
    if (changes.empty() || (!tree && catalog::stage(w, changes)))
      return;
    catalog::flush(w);
    for (auto& [name, s] : t.streams) {
      if (!s.dirty)
        continue;
      if (s.exists)
        catalog::put(w, name, s.d);
      else
        catalog::erase(w, name);
    }
  });
  t.end();
  t.writer = nullptr;
  return t.engine->join_group();
}

} // namespace

void WriteTxn::commit() {
  Impl& t = live(impl_);
  t.engine->await_group(join_group(t));
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
  Writer& w = e->begin_write();
  try {
    return WriteTxn(std::make_unique<ReadTxn::Impl>(e, w));
  } catch (...) {
    e->abort_write();
    throw;
  }
}

std::uint64_t Engine::append(std::string_view stream, std::string_view value,
                             std::span<const Header> headers,
                             std::chrono::microseconds ttl) {
  Impl& e = *engine_of(impl_);
  Impl::Append mine{stream, value, headers, ttl};
  {
    std::unique_lock lock(e.append_mu);
    e.appends.push_back(&mine);
    if (e.appending)
      mine.cv.wait(lock, [&] { return mine.done || mine.lead; });
    if (!mine.done)
      e.appending = true; // ours to lead
  }
  if (!mine.done)
    lead_appends();
  if (mine.error)
    std::rethrow_exception(mine.error);
  return mine.key;
}

namespace {

// Sets an append's error to `e`, as its own copy if that can be made.
void fail(Engine::Impl::Append& a, const std::exception_ptr& e) noexcept {
  try {
    a.error = own_copy(e);
  } catch (...) { // out of memory: the shared one
    a.error = e;
  }
}

// Answers the appends of `batch` that failed, and drops them from it:
// their errors are final (they fail alone, or ended the transaction), so
// their callers need not wait for the others' commit and sync.
void answer_failed(Engine::Impl& e, std::vector<Engine::Impl::Append*>& batch) {
  std::lock_guard lock(e.append_mu);
  std::erase_if(batch, [](Engine::Impl::Append* a) {
    if (!a->error)
      return false;
    a->done = true; // its caller may return, and `a` go, once we unlock
    a->cv.notify_one();
    return true;
  });
}

} // namespace

void Engine::lead_appends() {
  Impl& e = *impl_;
  // The writer first, so that what is queued while it waits joins in.
  std::optional<WriteTxn> txn;
  std::exception_ptr begin_error;
  try {
    txn.emplace(write());
  } catch (...) {
    begin_error = std::current_exception();
  }
  std::vector<Impl::Append*> batch;
  {
    std::lock_guard lock(e.append_mu);
    batch.swap(e.appends);
  }
  // Whatever happens below, the lead passes on and every append of the
  // batch is told: otherwise callers would wait forever.
  struct Done {
    Impl& e;
    std::vector<Impl::Append*>& batch;
    bool handed = false;
    // The next leader may begin while this one's group syncs.
    void hand_on() noexcept {
      if (std::exchange(handed, true))
        return;
      std::lock_guard lock(e.append_mu);
      if (e.appends.empty()) {
        e.appending = false;
      } else {
        e.appends.front()->lead = true;
        e.appends.front()->cv.notify_one();
      }
    }
    ~Done() {
      hand_on();
      // Under the lock: a waiter may return, and its Append go, once it
      // sees `done`.
      std::lock_guard lock(e.append_mu);
      for (Impl::Append* a : batch) {
        a->done = true;
        a->cv.notify_one();
      }
    }
  } done{e, batch};

  std::shared_ptr<Impl::Batch> group; // the batch's commit, once joined
  try {
    if (!txn) {
      for (Impl::Append* a : batch)
        fail(*a, begin_error);
    } else {
      // An append that fails and leaves the transaction alive (TooBig,
      // NoSuchStream, a bad name or ttl) fails alone. One that ends it (a
      // damaged page, out of memory), or a commit that fails (retention,
      // the catalog), takes the others' records along: those then go
      // again, one transaction each, so that each fails or commits alone.
      bool ended = false;
      for (Impl::Append* a : batch) {
        try {
          a->key = txn->append(a->stream, a->value, a->headers, a->ttl);
        } catch (...) {
          a->error = std::current_exception();
          if ((ended = txn->impl_->finished))
            break;
        }
      }
      answer_failed(e, batch);
      if (!ended && !batch.empty()) { // (an empty one commits nothing)
        try {
          group = join_group(*txn->impl_);
        } catch (...) {
          ended = true; // whose failure it is is not known: all go again
        }
      }
      txn.reset(); // aborts what did not commit
      // One at a time, each waiting for its own sync: a rare path. (No
      // group of this thread's is open, so write() cannot wait for one.)
      if (ended)
        for (Impl::Append* a : batch) {
          try {
            WriteTxn t = write();
            a->key = t.append(a->stream, a->value, a->headers, a->ttl);
            t.commit();
          } catch (...) {
            a->error = std::current_exception();
          }
        }
    }
  } catch (...) {
    // Out of memory outside any one append, before a commit.
    txn.reset();
    const std::exception_ptr error = std::current_exception();
    for (Impl::Append* a : batch)
      if (!group && !a->error)
        fail(*a, error);
  }
  done.hand_on();
  if (group) {
    try {
      e.await_group(group);
    } catch (...) {
      const std::exception_ptr error = std::current_exception();
      for (Impl::Append* a : batch)
        if (!a->error)
          fail(*a, error);
    }
  }
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
  chain::Reader reader(snap, *d, e->pager.options().verify_checksums,
                       d->read_by_clock() ? e->pager.now() : 0);
  if (!reader.find(key))
    return std::nullopt;
  const Record& r = reader.record();
  OwnedRecord o{r.key, r.timestamp, std::string(r.value), {}, r.expires};
  if (!r.raw_headers.empty())
    for (const Header& h : r.headers())
      o.headers.emplace_back(h.name, h.value);
  return o;
}

void Engine::create_stream(std::string_view stream,
                           const Retention& retention) {
  WriteTxn t = write();
  t.create_stream(stream, retention);
  t.commit();
}
void Engine::set_retention(std::string_view stream,
                           const Retention& retention) {
  WriteTxn t = write();
  t.set_retention(stream, retention);
  t.commit();
}
std::uint64_t Engine::expire_before(std::string_view stream,
                                    std::uint64_t key) {
  WriteTxn t = write();
  std::uint64_t n = t.expire_before(stream, key);
  t.commit();
  return n;
}
std::uint64_t Engine::expire_older_than(std::string_view stream,
                                        std::chrono::microseconds age) {
  WriteTxn t = write();
  std::uint64_t n = t.expire_older_than(stream, age);
  t.commit();
  return n;
}
namespace {

// The highest page number in use, plus one, when the pages `free` holds
// are free: the page count a commit could shrink the file to.
std::uint32_t end_of_used(const Meta& m, const std::set<std::uint32_t>& free) {
  std::uint32_t end = m.page_count;
  for (auto it = free.rbegin(); it != free.rend() && *it + 1 == end; ++it)
    --end;
  return std::max<std::uint32_t>(end, 2);
}

// The largest page number of a stream's chain and index.
std::uint32_t last_page(const Pages& pages, const Descriptor& d) {
  std::uint32_t last = 0;
  btree::pages_of(pages, d.index_root,
                  [&](std::uint32_t pg) { last = std::max(last, pg); });
  for (std::uint32_t pg = d.head, n = 0; pg != format::kNoPage && n <= d.data_pages; ++n) {
    last = std::max(last, pg);
    pg = pg == d.tail ? format::kNoPage : coding::get_u32(pages.get(pg) + format::data::kNext);
  }
  return last;
}

} // namespace

std::uint64_t Engine::vacuum() {
  Pager& pager = engine_of(impl_)->pager;
  // One step in its own commit. Durability::Normal syncs after each, since
  // it reuses no page freed after the last sync.
  auto in_txn = [&](auto&& f) {
    WriteTxn t = write();
    Writer& w = *t.impl_->writer;
    guarded(*t.impl_, [&] { f(w); });
    t.commit();
    if (pager.options().durability == Durability::Normal) {
      WriteTxn lock = write();
      pager.make_durable();
    }
    return t.snapshot_id() + 1;
  };
  // 1. Copy every stream with a page past where the pages in use would
  // end, to the lowest free pages; the catalog too. After two commits, so
  // that what the last ones freed is free for this one (FORMAT.md section
  // 9), unless a reader holds it.
  in_txn([](Writer&) {});
  in_txn([](Writer&) {});
  const std::uint64_t moved = in_txn([&](Writer& w) {
    w.take_free_pages();
    const std::uint32_t bound = w.meta().page_count - static_cast<std::uint32_t>(w.taken().size());
    std::vector<std::pair<std::string, Descriptor>> all;
    catalog::each(w.pages(), [&](std::string_view name, const Descriptor& d) {
      all.emplace_back(name, d);
    });
    for (auto& [name, d] : all)
      if (last_page(w.pages(), d) >= bound)
        chain::relocate(w, d);
    btree::destroy(w, w.meta().catalog_root);
    w.meta().catalog_root = format::kNoPage;
    for (const auto& [name, d] : all)
      catalog::put(w, name, d);
    w.give_back(w.meta().page_count);
  });
  // 2. Drop the free pages at the end from the page count, twice: the
  // pages step 1 freed become reusable two commits on, and the free list
  // pages freed in the first round in the second. Then (3.) a commit
  // without changes, so that both meta pages have the smaller count.
  for (int round = 0; round < 2; ++round) {
    in_txn([](Writer&) {});
    in_txn([](Writer& w) {
      w.take_free_pages();
      w.give_back(end_of_used(w.meta(), w.taken()));
    });
  }
  // 3. Cut the file, under the write lock.
  in_txn([](Writer&) {});
  WriteTxn t = write();
  return pager.shrink(moved);
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
