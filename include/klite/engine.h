// klite: an embedded event journal. One memory-mapped file holds named
// streams of records; each record has a key (assigned on append, dense and
// strictly increasing per stream, starting at 1), an append timestamp, an
// opaque byte value and optional headers.
//
// Concurrency model: one write transaction at a time per file (across
// Engines and processes: see write()), any number of read transactions.
// One Engine may be used from many threads at once. Native API: each
// transaction (and its cursors) by one thread at a time, but read
// transactions on any number of threads beside the write transaction,
// neither blocking the other. Write transactions of several threads take
// turns, and those that commit while an earlier commit syncs share the
// next sync (group commit, WriteTxn::commit). Query layer (exec, prepare):
// each thread is its own connection, with its own BEGIN (see exec()); each
// Statement and Result by one thread at a time, and it may move between
// threads. A read transaction sees the snapshot of the last commit before
// it began, for its whole life. Committed pages are never modified in
// place (copy-on-write), so there is no recovery step on open.
//
// Lifetimes: a transaction keeps the file open, so it may outlive the
// Engine that began it. A cursor used after its transaction ended throws
// Misuse. Views returned by reads (Record::value, Record::raw_headers) stay
// valid until the next read through the same ReadTxn/WriteTxn or Cursor, or
// until that object ends, whichever comes first. Copy what you keep longer.
#pragma once

#include <klite/error.h>
#include <klite/statement.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace klite {

// Limits, part of the file-format contract (docs/FORMAT.md).
inline constexpr std::size_t kMaxValueSize = std::size_t{64} << 20;   // bytes
inline constexpr std::size_t kMaxHeadersSize = std::size_t{64} << 10; // encoded
inline constexpr std::size_t kMaxStreamNameSize = 128;                // bytes
inline constexpr std::chrono::microseconds kMaxTtl{std::int64_t{1} << 61}; // ~73,000 years

// What an OS crash or power loss can take (a process crash loses nothing
// that commit() returned for, in any mode). docs/ARCHITECTURE.md section 9.
enum class Durability {
  Full,   // every commit is on stable storage when commit() returns
  Normal, // commits are synced at most Options::sync_interval apart, so a
          // power loss may lose the commits since the last sync, but never
          // damages the file: it opens at a commit that returned, whole
          // (like SQLite's WAL synchronous=NORMAL)
  Off,    // no sync: a power loss may lose recent commits and, like LMDB's
          // MDB_NOSYNC, may damage the file
};

struct Options {
  bool create_if_missing = true;
  bool read_only = false;
  bool auto_create_streams = true; // append to a missing stream creates it
  std::uint32_t page_size = 4096;  // new files only: a power of two, 1024..32768
  Durability durability = Durability::Full;
  // Durability::Normal: a commit that finds the last sync this long ago
  // syncs (once it is written), and so does closing the file (where a
  // failed sync cannot be reported: the commits since stay as durable as
  // Normal promises). Between syncs, commits write their pages and meta
  // page but wait for no disk. Zero: every commit syncs, as with Full.
  std::chrono::milliseconds sync_interval{100};
  bool verify_checksums = true; // check record CRCs on every read
  // How long write() waits while another thread's write transaction on
  // this Engine, or another open of the file (another process, or another
  // Engine in this one) holds the write lock, before it throws Busy. Zero:
  // Busy at once.
  std::chrono::milliseconds busy_timeout{0};
  // Clock for append timestamps, in microseconds since the Unix epoch.
  // Empty means the system clock. Tests inject their own.
  std::function<std::uint64_t()> clock;
};

struct Header {
  std::string_view name;
  std::string_view value;
};

// A record as read inside a transaction; see "Lifetimes" above.
struct Record {
  std::uint64_t key = 0;
  std::uint64_t timestamp = 0; // microseconds since the Unix epoch
  std::string_view value;
  std::string_view raw_headers; // encoded header block, empty when none
  // When the record's TTL runs out (timestamp + TTL, microseconds since the
  // Unix epoch); 0 if it has none. A transaction never shows a record
  // whose TTL ran out by the clock's time at its first read of that stream.
  std::uint64_t expires = 0;

  // The decoded headers, in the order they were appended.
  // Throws Error(Corrupt) if the block does not decode.
  std::vector<Header> headers() const;
};

// A record that owns its bytes, for reads outside a transaction.
struct OwnedRecord {
  std::uint64_t key = 0;
  std::uint64_t timestamp = 0;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  std::uint64_t expires = 0; // as Record::expires
};

// How much of a stream to keep (docs/QUERY.md, "Retention"). Each limit
// is off when 0. The writer enforces them when it commits a transaction
// that appended to the stream or changed its retention: the oldest
// records are expired (WriteTxn::expire_before) until all limits hold.
// Reads never show a record older than max_age by the clock at the
// transaction's first read of the stream, even before that commit;
// StreamInfo counts it until then.
struct Retention {
  std::chrono::microseconds max_age{0}; // by record timestamp, against clock
  std::uint64_t max_bytes = 0;          // payload bytes of live records
  std::uint64_t max_records = 0;        // live records

  friend bool operator==(const Retention&, const Retention&) = default;
};

struct StreamInfo {
  std::string name;
  std::uint64_t id = 0;
  std::uint64_t records = 0;   // live records
  std::uint64_t bytes = 0;     // payload bytes of live records
  std::uint64_t first_key = 0; // 0 when the stream is empty
  std::uint64_t last_key = 0;  // 0 when the stream is empty
  std::uint64_t next_key = 1;  // the key the next append gets
  std::uint64_t first_timestamp = 0;
  std::uint64_t last_timestamp = 0;
  std::uint64_t created = 0; // microseconds since the Unix epoch
  Retention retention;
};

class Engine;
class ReadTxn;
class WriteTxn;

// A position in one stream of a transaction's snapshot. Every positioning
// call returns valid().
class Cursor {
public:
  Cursor(Cursor&&) noexcept;
  Cursor& operator=(Cursor&&) noexcept;
  ~Cursor();

  bool seek(std::uint64_t key);        // first record with key >= `key`
  bool seek_before(std::uint64_t key); // last record with key < `key`
  // The first record with timestamp >= `ts` (microseconds since the Unix
  // epoch). Timestamps never decrease along a stream, so this is a binary
  // search: O(log n) key lookups, not a scan.
  bool seek_time(std::uint64_t ts);
  bool first();
  bool last();
  bool next();
  bool prev();
  bool valid() const noexcept;
  // The current record. Throws Misuse unless valid().
  const Record& record() const;

  struct Impl;

private:
  friend class ReadTxn;
  explicit Cursor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A consistent snapshot of the file. Cheap to begin; end it promptly, since
// pages it can see are not reused while it lives.
class ReadTxn {
public:
  ReadTxn(ReadTxn&&) noexcept;
  ReadTxn& operator=(ReadTxn&&) noexcept;
  ReadTxn(WriteTxn&&) = delete; // a write txn does not decay to a read txn
  ReadTxn& operator=(WriteTxn&&) = delete;
  ~ReadTxn();

  // The record with `key`, or nullopt if the stream never had it or it was
  // expired. Throws NoSuchStream if the stream does not exist.
  std::optional<Record> get(std::string_view stream, std::uint64_t key);
  // A cursor over `stream`, not positioned yet. Throws NoSuchStream.
  Cursor cursor(std::string_view stream);
  bool has_stream(std::string_view stream);
  // Throws NoSuchStream.
  StreamInfo info(std::string_view stream);
  // All streams in name (byte) order.
  std::vector<StreamInfo> streams();
  // The id of the commit this snapshot shows (for a WriteTxn: the commit it
  // builds on).
  std::uint64_t snapshot_id() const noexcept;

  struct Impl;

protected:
  friend class Engine;
  explicit ReadTxn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The single write transaction. Reads through it see its own writes.
// Destroying it without commit() aborts it.
class WriteTxn : public ReadTxn {
public:
  WriteTxn(WriteTxn&&) noexcept;
  WriteTxn& operator=(WriteTxn&&) noexcept;
  ~WriteTxn();

  // Appends one record and returns its key. Creates the stream if it does
  // not exist and auto_create_streams is on (else NoSuchStream). Throws
  // TooBig for a value over kMaxValueSize or headers over kMaxHeadersSize.
  // A `ttl` > 0 gives the record an expiry time (Record::expires): reads
  // never return it after that, and commits expire it once every record
  // before it has expired too, so its space comes back. Throws
  // InvalidArgument for a negative ttl or one over kMaxTtl.
  std::uint64_t append(std::string_view stream, std::string_view value,
                       std::span<const Header> headers = {},
                       std::chrono::microseconds ttl = {});
  // Appends many records, all with the same ttl; returns the key of the
  // first (the rest follow densely). All or nothing: on TooBig none is
  // appended.
  std::uint64_t append_batch(std::string_view stream,
                             std::span<const std::string_view> values,
                             std::chrono::microseconds ttl = {});
  // Throws StreamExists, or InvalidArgument for a bad name (see
  // kMaxStreamNameSize and docs/FORMAT.md for the charset).
  void create_stream(std::string_view stream, const Retention& retention = {});
  // Replaces the stream's retention; the new limits hold from this commit
  // on. Throws NoSuchStream.
  void set_retention(std::string_view stream, const Retention& retention);
  // Expires the stream's records with keys below `key` (all of them when
  // `key` is past the last), and returns how many were live. Keys are
  // never reused: the stream's first key advances, and a get of an expired
  // key finds nothing. The data pages that no live record touches any
  // more go to the free list, for appends to any stream once no snapshot
  // can see them. Throws NoSuchStream.
  std::uint64_t expire_before(std::string_view stream, std::uint64_t key);
  // Expires the records with a timestamp older than Options::clock's now
  // minus `age`, and returns how many. Throws InvalidArgument for a
  // negative age, NoSuchStream.
  std::uint64_t expire_older_than(std::string_view stream,
                                  std::chrono::microseconds age);
  // Removes a stream and all its records; its pages are reused once no
  // snapshot can see them. Throws NoSuchStream.
  void drop_stream(std::string_view stream);

  // Makes every change durable (per Options::durability) and visible to
  // transactions that begin afterwards. The transaction is finished either
  // way: on error nothing of it is visible, and it throws. After a failed
  // sync (or meta page write) the engine cannot know what reached the
  // disk: write() throws IO until the file is reopened, and the reopened
  // file may or may not hold this commit, whole (docs/ARCHITECTURE.md
  // section 9).
  //
  // Group commit: while one commit syncs, the write transactions of other
  // threads on this Engine run and commit behind it, and then share one
  // write and one sync. So commit() returns once the group holding this
  // transaction is durable, and an error writing or syncing that group
  // is thrown by the commit() of each transaction in it.
  void commit();
  // Discards every change. Finishing an already finished txn is Misuse.
  // In a group, only this transaction's changes are undone.
  void abort();

private:
  friend class Engine;
  using ReadTxn::ReadTxn;
};

class Engine {
public:
  // Opens (or creates, per options) the klite file at `path`.
  // Errors: NotFound, NotKlite, Unsupported, Corrupt, IO, InvalidArgument.
  static Engine open(const std::string& path, const Options& options = {});

  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  ~Engine();

  ReadTxn read();
  // Begins the write transaction. One write transaction at a time per
  // file: it holds the file's write lock (FILE-lock, docs/ARCHITECTURE.md
  // section 6) until it commits or aborts. Throws ReadOnly on a read-only
  // engine, and Busy if the write transaction of this Engine (begun on any
  // thread) or the lock of another open of the file is held for longer
  // than Options::busy_timeout.
  WriteTxn write();

  // Conveniences, each one whole transaction.
  //
  // append: WriteTxn::append and commit. Calls from several threads wait
  // for each other, whatever busy_timeout says, and are written together:
  // one thread takes the writer and commits all that are waiting then in
  // one transaction. Each record is still its own: one that fails, say
  // TooBig, fails alone (answered at once, not after the others' sync,
  // unless its thread is the one writing them; a batch in which all fail
  // writes nothing), and if one fails in a way that ends the shared
  // transaction, the others go again one transaction each. So they share syncs (group commit) without the
  // writer passing from thread to thread.
  // Busy still comes from another transaction that holds the writer past
  // busy_timeout, including one of the calling thread's own.
  std::uint64_t append(std::string_view stream, std::string_view value,
                       std::span<const Header> headers = {},
                       std::chrono::microseconds ttl = {});
  std::optional<OwnedRecord> get(std::string_view stream, std::uint64_t key);
  void create_stream(std::string_view stream, const Retention& retention = {});
  void set_retention(std::string_view stream, const Retention& retention);
  std::uint64_t expire_before(std::string_view stream, std::uint64_t key);
  std::uint64_t expire_older_than(std::string_view stream,
                                  std::chrono::microseconds age);
  void drop_stream(std::string_view stream);
  // Moves the live pages down to the start of the file and gives the free
  // space after them back to the OS, like SQLite's VACUUM; returns the
  // bytes the file shrank by. It shrinks only while no other open of the
  // file (in any process: each maps it, and a shrink under a mapping is a
  // SIGBUS there) and no read transaction of this Engine older than the
  // VACUUM exists; otherwise it returns 0, and the pages it moved away
  // from stay free for later appends. Several write transactions, each
  // taking the write lock like write(); copies every page that must move.
  std::uint64_t vacuum();
  StreamInfo info(std::string_view stream);
  std::vector<StreamInfo> streams();

  const std::string& path() const;

  // Runs a script of one or more statements separated by ';'
  // (docs/QUERY.md) and returns its rows. A statement outside
  // BEGIN ... COMMIT commits on its own; BEGIN opens a transaction that
  // later exec() scripts and prepared statements of the same thread run in,
  // until COMMIT or ROLLBACK. Other threads do not see it: their writes
  // wait for it like any other writer (up to Options::busy_timeout, then
  // Busy). Every statement of a script runs in the transaction of the
  // thread that called exec(), wherever its rows are read. A BEGIN is
  // rolled back if its thread exits, or when this Engine is destroyed,
  // before COMMIT. Throws Syntax ("line 1, col 12: expected FROM, found
  // "FORM""), or the statement's error.
  //
  // Thread-safe. REQUIRES: no exec() or prepare() on this Engine while it
  // is destroyed, and no row of a statement running in another thread's
  // BEGIN in use then (the rollback ends it).
  Result exec(std::string_view query);
  // Compiles exactly one statement for repeated runs with bound parameters.
  // It runs in the BEGIN of the thread that starts it (its first step()
  // after prepare() or reset()), if that thread has one. Thread-safe.
  Statement prepare(std::string_view query);

  // Stops the statements of this Engine that are running now, on every
  // thread, like sqlite3_interrupt: every exec() Result and prepared
  // Statement that has started (stepped) and has not finished or been
  // reset throws Error(Interrupted, "line L, col C: interrupted") from its
  // next check. The interpreter checks whenever such a statement resumes
  // for its next row (Result::next, Statement::step) and on every loop
  // iteration, so a long scan stops promptly. Statements that start after
  // the call are not affected: a stale interrupt never stops the next
  // query.
  //
  // Only reads (GET, SHOW STREAMS, INFO) are interrupted. A write makes its
  // change in one step (all values of an ADD in one append) and then runs
  // to completion, so an ADD still returns every key; EXPLAIN only lists.
  // An interrupted statement has therefore changed nothing, and it fails
  // like any other statement that fails without a change: outside BEGIN
  // its read is released; inside BEGIN the transaction stays open with
  // every change made before (COMMIT or ROLLBACK it). Either way the rest
  // of that exec() script does not run (docs/QUERY.md, "Interrupting").
  //
  // Thread-safe and async-signal-safe (one lock-free atomic add), so a
  // SIGINT handler may call it. A moved-from Engine ignores it.
  // REQUIRES: the Engine is not being moved, assigned or destroyed at the
  // same time.
  void interrupt() noexcept;

  struct Impl;
  // What exec() and prepare() keep between calls: each thread's session
  // and its open BEGIN, defined by the query layer (vm/session.h).
  struct Sessions;

private:
  explicit Engine(std::shared_ptr<Impl> impl);
  // The query layer's sessions, made by `make` on first use. Thread-safe.
  Sessions& sessions(std::shared_ptr<Sessions> (*make)()) const;
  // Another handle on the same open file, for the query layer's statements.
  // Only the user's handle ends the session (rolling back an open BEGIN).
  Engine share() const {
    Engine e(impl_);
    e.owner_ = false;
    return e;
  }
  void close_session() noexcept;
  // append(): writes the appends queued by other threads, its own among
  // them.
  void lead_appends();
  // The interrupt generation: interrupt() adds 1, and a running statement
  // compares it with its value when the statement started.
  const std::atomic<std::uint64_t>& interrupts() const;
  std::shared_ptr<Impl> impl_; // shared with the transactions
  bool owner_ = true;
};

} // namespace klite
