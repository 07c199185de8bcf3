// Crash safety and damaged files: a writer SIGKILLed at random points never
// loses a commit or shows a partial one; truncated, foreign and corrupted
// files give an Error (never a crash or wrong data).
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/inspect.h"
#include "test_util.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(KLITE_LONG_TESTS) && KLITE_LONG_TESTS
constexpr bool kLong = true;
#else
constexpr bool kLong = false;
#endif

using klite::Durability;
using klite::Engine;
using klite::ErrorCode;
using klite::Options;
using klite::test::catch_error;
using klite::test::contains;
using klite::test::first_difference;
using klite::test::mix;
using klite::test::payload;
using klite::test::Rng;
using klite::test::TempDir;

namespace {

// Kills the whole test run if one step hangs (a lock left by a killed
// process, a loop in a damaged chain), so CI reports it instead of waiting.
struct Watchdog {
  explicit Watchdog(unsigned seconds) { ::alarm(seconds); }
  ~Watchdog() { ::alarm(0); }
};

// ---------------------------------------------------------------------------
// The kill -9 test.

constexpr int kCrashStreams = 3;
const char* const kCrashStreamNames[kCrashStreams] = {"alpha", "beta", "gamma"};

std::size_t crash_size(int s, std::uint64_t key) {
  return static_cast<std::size_t>(mix(static_cast<std::uint64_t>(s) + 1, key) % 3001);
}

// The value of `key` in crash stream `s`: 0..3000 bytes, fixed by (s, key).
std::string crash_value(int s, std::uint64_t key) {
  return payload(key, crash_size(s, key), 1000 + static_cast<std::uint64_t>(s));
}

// Streams beta and gamma have retention, so most commits also expire
// records and free pages, and kills land in expiry too.
klite::Retention crash_retention(int s) {
  klite::Retention r;
  if (s == 1)
    r.max_records = 400;
  if (s == 2)
    r.max_bytes = 200'000;
  return r;
}

// The first live key of stream s after a commit that left `last` as its
// last key: retention is enforced exactly at every commit.
std::uint64_t crash_first(int s, std::uint64_t last) {
  const klite::Retention r = crash_retention(s);
  if (r.max_records)
    return last > r.max_records ? last - r.max_records + 1 : 1;
  std::uint64_t first = last + 1;
  for (std::uint64_t bytes = 0; r.max_bytes && first > 1; --first) {
    bytes += crash_size(s, first - 1);
    if (bytes > r.max_bytes)
      break;
  }
  return r.max_bytes ? first : 1;
}

using State = std::array<std::uint64_t, kCrashStreams>; // last key per stream

// The transactions of one child run, fixed by the run's seed: transaction j
// appends counts[s] records to stream s (1..3 streams, 1..50 records each).
class Plan {
public:
  explicit Plan(std::uint64_t seed) : rng_(mix(0xc0ffee, seed)) {}
  State next() {
    State counts{};
    auto mask = rng_.range(1, 7);
    for (int s = 0; s < kCrashStreams; ++s)
      if (mask & (1u << s))
        counts[static_cast<std::size_t>(s)] = rng_.range(1, 50);
    return counts;
  }

private:
  Rng rng_;
};

struct Message {
  std::uint64_t seq; // 1, 2, ...: the commit's number in this run
  State last;        // the last key of each stream after that commit
};
static_assert(sizeof(Message) <= PIPE_BUF,
              "pipe writes of a Message must be atomic");

// Child exit codes (a clean run never exits: it is killed).
enum ChildExit : int {
  kChildDone = 0,
  kChildKliteError = 10, // + the ErrorCode
  kChildBadKey = 40,
  kChildPipe = 41,
  kChildOther = 42,
};

// The child: commit the plan's transactions until killed, reporting each
// commit on `fd`. No doctest here; the result is the exit code.
[[noreturn]] void run_writer(const std::string& path, std::uint64_t seed,
                             Durability durability, int fd) {
  try {
    Options options;
    options.durability = durability;
    Engine engine = Engine::open(path, options);
    State last{};
    {
      auto txn = engine.write();
      for (int s = 0; s < kCrashStreams; ++s) {
        if (txn.has_stream(kCrashStreamNames[s]))
          last[static_cast<std::size_t>(s)] =
              txn.info(kCrashStreamNames[s]).next_key - 1;
        else
          txn.create_stream(kCrashStreamNames[s], crash_retention(s));
      }
      txn.commit();
    }
    Plan plan(seed);
    for (std::uint64_t seq = 1; seq < 100'000'000; ++seq) {
      State counts = plan.next();
      auto txn = engine.write();
      for (int s = 0; s < kCrashStreams; ++s) {
        auto& l = last[static_cast<std::size_t>(s)];
        for (std::uint64_t i = 0; i < counts[static_cast<std::size_t>(s)];
             ++i) {
          std::uint64_t key = l + 1;
          if (txn.append(kCrashStreamNames[s], crash_value(s, key)) != key)
            ::_exit(kChildBadKey);
          l = key;
        }
      }
      txn.commit();
      Message m{seq, last};
      ssize_t n;
      do {
        n = ::write(fd, &m, sizeof m);
      } while (n < 0 && errno == EINTR);
      if (n != static_cast<ssize_t>(sizeof m))
        ::_exit(kChildPipe);
    }
    ::_exit(kChildDone);
  } catch (const klite::Error& e) {
    ::_exit(kChildKliteError + static_cast<int>(e.code()));
  } catch (...) {
    ::_exit(kChildOther);
  }
}

// Reads the visible state of the crash streams and checks each stream is
// dense, 1..last, with the right bytes. With `full` every record is read;
// otherwise the keys from `from[s]` on, and a sample of older ones.
State check_crash_file(const std::string& path, const State& from, bool full) {
  Engine engine = Engine::open(path);
  auto txn = engine.read();
  State visible{};
  for (int s = 0; s < kCrashStreams; ++s) {
    const char* name = kCrashStreamNames[s];
    CAPTURE(name);
    if (!txn.has_stream(name))
      continue;
    auto info = txn.info(name);
    std::uint64_t last = info.next_key - 1;
    visible[static_cast<std::size_t>(s)] = last;
    // Nothing unexpired is lost, and nothing expired reappears.
    const std::uint64_t first = crash_first(s, last);
    CHECK(info.records == last + 1 - first);
    CHECK(info.last_key == last);
    CHECK(info.first_key == (last ? first : 0u));
    CHECK(info.retention == crash_retention(s));
    CHECK_FALSE(txn.get(name, last + 1).has_value());
    if (first > 1)
      CHECK_FALSE(txn.get(name, first - 1).has_value());

    std::uint64_t start = std::max(
        first, full ? 1 : std::max<std::uint64_t>(1, from[static_cast<std::size_t>(s)]));
    std::uint64_t bad = 0, first_bad = 0, seen = 0;
    auto c = txn.cursor(name);
    std::uint64_t expect = start;
    for (bool ok = c.seek(start); ok && expect <= last + 1;
         ok = c.next(), ++expect) {
      ++seen;
      if (c.record().key != expect ||
          c.record().value != crash_value(s, expect)) {
        if (bad++ == 0)
          first_bad = expect;
      }
    }
    CAPTURE(first_bad);
    CHECK(bad == 0);
    CHECK(seen == (last >= start ? last - start + 1 : 0));
    if (!full) {
      Rng rng(last);
      for (int i = 0; i < 50 && last >= first; ++i) {
        std::uint64_t k = rng.range(first, last);
        CAPTURE(k);
        auto rec = txn.get(name, k);
        REQUIRE(rec);
        CHECK(first_difference(rec->value, crash_value(s, k)) == -1);
      }
    }
  }
  return visible;
}

void kill_test(Durability durability, int runs, std::uint64_t seed_base) {
  TempDir dir;
  const std::string path = dir.file();
  // The file exists before the first child, so a kill during the child's
  // open never meets a half-created file.
  { Engine engine = Engine::open(path); }

  Rng delays(seed_base);
  State base{}; // verified state before this run
  std::size_t total_reported = 0, runs_with_unreported_commit = 0;
  for (int run = 0; run < runs; ++run) {
    CAPTURE(run);
    Watchdog watchdog(kLong ? 600 : 120);
    const std::uint64_t seed =
        seed_base * 1000 + static_cast<std::uint64_t>(run);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      run_writer(path, seed, durability, fds[1]);
    }
    ::close(fds[1]);
    auto delay_us = static_cast<useconds_t>(delays.range(0, 20'000));
    CAPTURE(delay_us);
    ::usleep(delay_us);
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);

    std::vector<Message> messages;
    std::string bytes;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      bytes.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    REQUIRE(bytes.size() % sizeof(Message) == 0);
    messages.resize(bytes.size() / sizeof(Message));
    if (!messages.empty())
      std::memcpy(messages.data(), bytes.data(), bytes.size());

    int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    CAPTURE(exit_code);
    REQUIRE_MESSAGE(WIFSIGNALED(status),
                    "the writer stopped by itself (see exit_code)");
    CHECK(WTERMSIG(status) == SIGKILL);

    // Replay the plan: after commit j the state must be states[j].
    Plan plan(seed);
    std::vector<State> states{base};
    for (std::size_t j = 0; j <= messages.size(); ++j) {
      State next = states.back();
      State counts = plan.next();
      for (std::size_t s = 0; s < kCrashStreams; ++s)
        next[s] += counts[s];
      states.push_back(next);
    }
    for (std::size_t j = 0; j < messages.size(); ++j) {
      CAPTURE(j);
      CHECK(messages[j].seq == j + 1);
      CHECK(messages[j].last == states[j + 1]);
    }
    const std::size_t reported = messages.size();
    CAPTURE(reported);

    const bool full = run % 10 == 9 || run == runs - 1;
    State visible = check_crash_file(path, base, full);
    if (full) {
      const klite::inspect::File f(path);
      const auto report = klite::inspect::check(f);
      for (const auto& p : report.problems)
        MESSAGE(p.message);
      CHECK(report.clean());
    }
    // Every reported commit is there; at most the one transaction that was
    // committing when the kill came is there too, and then all of it.
    const State& committed = states[reported];
    const State& maybe = states[reported + 1];
    CAPTURE(visible[0]);
    CAPTURE(visible[1]);
    CAPTURE(visible[2]);
    CAPTURE(committed[0]);
    CAPTURE(committed[1]);
    CAPTURE(committed[2]);
    CHECK((visible == committed || visible == maybe));
    total_reported += reported;
    if (visible != committed && visible == maybe)
      ++runs_with_unreported_commit;
    base = visible;
  }
  MESSAGE(runs << " runs, " << total_reported << " reported commits, "
               << runs_with_unreported_commit
               << " runs with a commit the kill left unreported");
  // A last full check of everything written over all the runs.
  check_crash_file(path, base, true);
}

// ---------------------------------------------------------------------------
// A reference file for the damage tests, and its expected contents.

struct Expected {
  // stream -> values, key k at [k - 1]; records with key % 7 == 0 carry headers
  std::map<std::string, std::vector<std::string>> streams;
  std::string last_stream; // the stream the last commit appended one record to
};

const klite::Header kHeaders[] = {{"type", "damage-test"},
                                  {"id", std::string_view("\0\1", 2)}};

Expected build_reference(const std::string& path, std::uint32_t page_size) {
  Expected ex;
  Options options;
  options.page_size = page_size;
  Engine engine = Engine::open(path, options);
  Rng rng(99);
  const char* names[] = {"orders", "payments", "logs"};
  for (int commit = 0; commit < 12; ++commit) {
    auto txn = engine.write();
    for (std::uint64_t stream = 0; stream < 3; ++stream) {
      const char* name = names[stream];
      auto& values = ex.streams[name];
      auto n = rng.range(5, 40);
      for (std::uint64_t i = 0; i < n; ++i) {
        std::uint64_t key = values.size() + 1;
        auto size = static_cast<std::size_t>(rng.range(0, 9) == 0
                                                 ? rng.range(0, 3 * page_size)
                                                 : rng.range(0, 600));
        values.push_back(payload(key, size, mix(mix(stream, commit), key)));
        if (key % 7 == 0)
          txn.append(name, values.back(), kHeaders);
        else
          txn.append(name, values.back());
      }
    }
    txn.commit();
  }
  engine.create_stream("empty");
  ex.streams["empty"];
  // The last commit is small, so a fallback to the older meta page is visible
  // as exactly this one record missing.
  ex.last_stream = "logs";
  auto& logs = ex.streams["logs"];
  logs.push_back(payload(logs.size() + 1, 77, 5));
  engine.append("logs", logs.back());
  return ex;
}

// Reads everything in `path` and compares it with `ex`. A klite::Error from
// open or any read propagates; anything read must be right. The newest
// commit may be missing (the engine fell back to the older meta page).
void read_and_compare(const std::string& path, const Expected& ex) {
  Engine engine = Engine::open(path);
  auto txn = engine.read();
  auto list = txn.streams();
  std::vector<std::string> names;
  for (const auto& info : list)
    names.push_back(info.name);
  std::vector<std::string> expected_names;
  for (const auto& [name, values] : ex.streams)
    expected_names.push_back(name);
  CHECK(names == expected_names);

  for (const auto& entry : ex.streams) {
    // A plain reference, since clang 14 cannot capture structured bindings.
    const std::string& name = entry.first;
    const auto& values = entry.second;
    CAPTURE(name);
    auto info = txn.info(name);
    std::uint64_t n = values.size();
    if (name == ex.last_stream && info.records == n - 1)
      --n; // older meta page
    CHECK(info.records == n);
    CHECK(info.next_key == n + 1);
    for (std::uint64_t k = 1; k <= n; ++k) {
      CAPTURE(k);
      auto rec = txn.get(name, k);
      REQUIRE(rec);
      CHECK(rec->key == k);
      CHECK(first_difference(rec->value, values[k - 1]) == -1);
      if (k % 7 == 0 && !(name == ex.last_stream && k == values.size())) {
        auto h = rec->headers();
        REQUIRE(h.size() == 2);
        CHECK(h[0].name == "type");
        CHECK(h[1].value == kHeaders[1].value);
      }
    }
    CHECK_FALSE(txn.get(name, n + 1).has_value());
    std::uint64_t k = 0;
    auto c = txn.cursor(name);
    for (bool ok = c.first(); ok && k <= n; ok = c.next()) {
      ++k;
      CHECK(c.record().key == k);
      CHECK(first_difference(c.record().value, values[k - 1]) == -1);
    }
    CHECK(k == n);
    for (bool ok = c.last(); ok && k >= 1; ok = c.prev()) {
      CHECK(c.record().key == k);
      CHECK(first_difference(c.record().value, values[k - 1]) == -1);
      --k;
    }
    CHECK(k == 0);
  }
}

// Runs read_and_compare; returns the Error it threw, if any.
std::optional<klite::Error> try_read(const std::string& path,
                                     const Expected& ex) {
  return catch_error([&] { read_and_compare(path, ex); });
}

bool is_one_of(ErrorCode code, std::initializer_list<ErrorCode> allowed) {
  return std::find(allowed.begin(), allowed.end(), code) != allowed.end();
}

// Whether `region` holds 32 bytes of any record value of at least 48 bytes.
bool holds_record_bytes(std::string_view region, const Expected& ex) {
  for (const auto& [name, values] : ex.streams)
    for (const auto& v : values)
      if (v.size() >= 48 && region.find(std::string_view(v).substr(8, 32)) !=
                                std::string_view::npos)
        return true;
  return false;
}

} // namespace

TEST_CASE("Crash: SIGKILL during commits (Durability::Full)") {
  kill_test(Durability::Full, kLong ? 2000 : 200, 1);
}

TEST_CASE("Crash: SIGKILL during commits (Durability::Off)") {
  // A process crash loses nothing even without syncs (engine.h).
  kill_test(Durability::Off, kLong ? 500 : 50, 2);
}

TEST_CASE("Damaged files") {
  TempDir dir;
  const std::string path = dir.file();
  const std::uint32_t page_size = 4096;
  const Expected ex = build_reference(path, page_size);
  const std::string original = klite::test::read_file_bytes(path);
  REQUIRE(original.size() >= 3 * page_size);
  Watchdog watchdog(kLong ? 1200 : 300);

  SUBCASE("the reference file reads back intact") {
    auto err = try_read(path, ex);
    if (err)
      FAIL_CHECK("unexpected error: " << err->what());
  }

  SUBCASE("a truncated file gives Corrupt or IO, never a crash or wrong data") {
    const std::vector<std::size_t> sizes = {original.size() / 2,
                                            original.size() - page_size,
                                            original.size() - 1,
                                            original.size() / 2 + 100,
                                            3 * page_size,
                                            2 * page_size,
                                            page_size + 10,
                                            page_size,
                                            100};
    for (std::size_t size : sizes) {
      CAPTURE(size);
      klite::test::write_file_bytes(path, original);
      std::filesystem::resize_file(path, size);
      const bool cut_live_data =
          holds_record_bytes(std::string_view(original).substr(size), ex);
      CAPTURE(cut_live_data);
      auto err = try_read(path, ex);
      if (err) {
        const std::string message = err->what();
        CAPTURE(message);
        if (size < 2 * page_size)
          CHECK(is_one_of(err->code(), {ErrorCode::Corrupt, ErrorCode::IO,
                                        ErrorCode::NotKlite}));
        else
          CHECK(is_one_of(err->code(), {ErrorCode::Corrupt, ErrorCode::IO}));
      } else {
        // No error is only right when nothing live was cut off (and then
        // read_and_compare has checked every byte).
        CHECK_FALSE(cut_live_data);
      }
    }
  }

  SUBCASE("a file cut in half gives an Error on open or on first read") {
    std::filesystem::resize_file(path, original.size() / 2);
    REQUIRE(holds_record_bytes(
        std::string_view(original).substr(original.size() / 2), ex));
    auto err = try_read(path, ex);
    REQUIRE(err);
    const std::string message = err->what();
    CAPTURE(message);
    CHECK(is_one_of(err->code(), {ErrorCode::Corrupt, ErrorCode::IO}));
  }

  SUBCASE("an empty file is NotKlite") {
    klite::test::write_file_bytes(path, "");
    for (bool read_only : {false, true}) {
      CAPTURE(read_only);
      Options options;
      options.read_only = read_only;
      auto err = catch_error([&] { Engine::open(path, options); });
      REQUIRE(err);
      CHECK(err->code() == ErrorCode::NotKlite);
      CHECK(contains(err->what(), "not a klite file"));
      CHECK(contains(err->what(), path));
      CHECK(std::filesystem::file_size(path) == 0); // left as it was
    }
  }

  SUBCASE("a text file is NotKlite and is left as it was") {
    std::string text;
    while (text.size() < 8192)
      text += "This is a plain text file, not a journal.\n";
    text.resize(8192);
    for (const std::string& content :
         {text, std::string("abc"), std::string(4096, '\0')}) {
      CAPTURE(content.size());
      klite::test::write_file_bytes(path, content);
      auto err = catch_error([&] { Engine::open(path); });
      REQUIRE(err);
      CHECK(err->code() == ErrorCode::NotKlite);
      CHECK(contains(err->what(), "not a klite file"));
      CHECK(klite::test::read_file_bytes(path) == content);
    }
  }

  SUBCASE("a file whose first 8 bytes are overwritten") {
    std::string damaged = original;
    std::memcpy(damaged.data(), "GARBAGE!", 8);
    klite::test::write_file_bytes(path, damaged);
    // Either the second meta page carries the file (an older commit may be
    // all that is left), or the file is not recognised; never a crash.
    auto err = try_read(path, ex);
    if (err) {
      const std::string message = err->what();
      CAPTURE(message);
      CHECK(is_one_of(err->code(), {ErrorCode::NotKlite, ErrorCode::Corrupt}));
    }
  }

  SUBCASE("a flipped byte in a record value is Corrupt on read") {
    const std::string& victim = ex.streams.at("payments").at(9); // key 10
    REQUIRE(victim.size() >= 48);
    // Damage every copy of the value's bytes (a stale copy may sit in a free
    // page).
    const std::string_view fingerprint = std::string_view(victim).substr(8, 32);
    std::string damaged = original;
    int copies = 0;
    for (auto at = original.find(fingerprint); at != std::string::npos;
         at = original.find(fingerprint, at + 1), ++copies)
      damaged[at + 10] = static_cast<char>(damaged[at + 10] ^ 0x20);
    CAPTURE(copies);
    REQUIRE(copies >= 1);
    klite::test::write_file_bytes(path, damaged);

    Engine engine = Engine::open(path);
    auto txn = engine.read();
    auto err = catch_error([&] { txn.get("payments", 10); });
    REQUIRE(err);
    CHECK(err->code() == ErrorCode::Corrupt);
    CHECK(contains(err->what(), "page"));
    // Other streams are unaffected.
    auto rec = txn.get("orders", 10);
    REQUIRE(rec);
    CHECK(rec->value == ex.streams.at("orders").at(9));
    // A scan reaches the damage and reports it.
    auto scan_err = catch_error([&] {
      auto c = txn.cursor("payments");
      for (bool ok = c.first(); ok; ok = c.next()) {
        if (c.record().key == 10)
          FAIL_CHECK("record 10 read without error");
      }
    });
    REQUIRE(scan_err);
    CHECK(scan_err->code() == ErrorCode::Corrupt);
  }

  SUBCASE("random single-byte damage never crashes or returns wrong data") {
    // The allowed outcomes: an Error (Corrupt/IO/NotKlite/Unsupported), or
    // everything reads back exactly (the byte was unused, or the older meta
    // page took over).
    Rng rng(2026);
    const int flips = kLong ? 2000 : 150;
    int errors = 0;
    for (int i = 0; i < flips; ++i) {
      // A third of the flips hit the two meta pages, the rest anywhere.
      std::size_t pos =
          i % 3 == 0
              ? static_cast<std::size_t>(rng.range(0, 2 * page_size - 1))
              : static_cast<std::size_t>(rng.range(0, original.size() - 1));
      auto mask = static_cast<char>(rng.range(1, 255));
      CAPTURE(i);
      CAPTURE(pos);
      std::string damaged = original;
      damaged[pos] = static_cast<char>(damaged[pos] ^ mask);
      klite::test::write_file_bytes(path, damaged);
      auto err = try_read(path, ex);
      if (err) {
        ++errors;
        const std::string message = err->what();
        CAPTURE(message);
        CHECK(is_one_of(err->code(),
                        {ErrorCode::Corrupt, ErrorCode::IO, ErrorCode::NotKlite,
                         ErrorCode::Unsupported}));
      }
    }
    MESSAGE(errors << " of " << flips << " flips reported an error");
  }

  SUBCASE(
      "a file shrunk underneath an open engine gives an Error, not SIGBUS") {
    // In a child process, so a SIGBUS fails this test and not the whole run.
    auto run_child = [&](bool keep_old_txn) -> int {
      pid_t pid = ::fork();
      if (pid == 0) {
        int code = 0;
        try {
          Engine engine = Engine::open(path);
          std::optional<klite::ReadTxn> txn;
          if (keep_old_txn)
            txn.emplace(engine.read());
          std::filesystem::resize_file(path, 2 * page_size);
          if (!keep_old_txn)
            txn.emplace(engine.read());
          bool all_right = true;
          for (const auto& [name, values] : ex.streams) {
            for (std::uint64_t k = 1; k <= values.size(); ++k) {
              auto rec = txn->get(name, k);
              if (!rec || rec->value != values[k - 1])
                all_right = false;
            }
          }
          code = all_right ? 1 : 2; // 1: everything read right without error
        } catch (const klite::Error& e) {
          code = e.code() == ErrorCode::Corrupt || e.code() == ErrorCode::IO
                     ? 0
                     : 3;
        } catch (...) {
          code = 4;
        }
        ::_exit(code);
      }
      int status = 0;
      if (pid < 0 || ::waitpid(pid, &status, 0) != pid)
        return -2;
      if (WIFSIGNALED(status))
        return -1000 - WTERMSIG(status);
      return WEXITSTATUS(status);
    };
    // A transaction begun after the shrink must notice it (DESIGN.md 5:
    // validate sizes before touching pages).
    klite::test::write_file_bytes(path, original);
    int code = run_child(false);
    CAPTURE(code);
    CHECK((code == 0 || code == 1));
    // A transaction that was already open: reported, not (yet) required.
    klite::test::write_file_bytes(path, original);
    int old_code = run_child(true);
    CAPTURE(old_code);
    WARN((old_code == 0 || old_code == 1));
  }
}
