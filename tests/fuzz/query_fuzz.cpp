// libFuzzer target: query text through parse -> compile -> run, against a
// small database.
//
// Each input is a script. Its first byte picks how it runs:
//   even  Engine::exec, every row consumed (at most kMaxRows);
//   odd   Engine::prepare of the rest, then bound from a deterministic
//         mix of integers and bytes (valid keys, 0, 2^64-1, ISO-8601
//         times, junk), stepped, reset, rebound and stepped again.
// The oracle: a klite::Error of any code is fine; any other exception, a
// crash, a hang, a leak or UB (ASan, UBSan) is a finding. After every input
// the engine must still answer SHOW STREAMS, and an open BEGIN is rolled
// back so that inputs do not leak into each other. The database is rebuilt
// every 500 inputs so that ADDs cannot grow it without bound.
//
// Build: cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DKLITE_FUZZ=ON
//        cmake --build build-fuzz --target query_fuzz
// Run:   mkdir -p /tmp/qcorpus && build-fuzz/query_fuzz -max_total_time=600 \
//          -timeout=10 -max_len=4096 /tmp/qcorpus tests/fuzz/corpus/query
#include <klite/engine.h>
#include <klite/error.h>
#include <klite/statement.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h>

namespace {

constexpr std::uint64_t kMaxRows = 100000;

struct Db {
  std::string path;
  std::optional<klite::Engine> engine;
  std::uint64_t runs = 0;

  Db() {
    path = (std::filesystem::temp_directory_path() /
            ("klite-query-fuzz-" + std::to_string(::getpid()) + ".klite"))
               .string();
    rebuild();
  }
  ~Db() {
    engine.reset();
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }

  void rebuild() {
    engine.reset();
    std::error_code ec;
    std::filesystem::remove(path, ec);
    klite::Options o;
    o.durability = klite::Durability::Off;
    std::uint64_t now = 1795600800000000; // 2026-11-25T10:00:00Z
    o.clock = [now]() mutable { return now += 1000000; };
    engine.emplace(klite::Engine::open(path, o));
    engine->exec("CREATE STREAM e; ADD 'a', 'b', x'00ff', '' TO s; "
                 "ADD 'c', 'd', 'e', 'f', 'g', 'h' TO s; ADD 'x' TO t.1")
        .drain();
  }
};

[[noreturn]] void finding(const char* what, std::string_view input) {
  std::fprintf(stderr, "query_fuzz: %s\ninput (%zu bytes): %.*s\n", what,
               input.size(), static_cast<int>(input.size()), input.data());
  std::abort();
}

void drain(klite::Result& r) {
  for (std::uint64_t n = 0; n < kMaxRows && r.next(); ++n) {
    const klite::Row& row = r.row();
    for (std::size_t i = 0; i < row.size(); ++i)
      (void)row[i].type();
  }
}

std::uint64_t steps(klite::Statement& s) {
  std::uint64_t n = 0;
  while (n < kMaxRows && s.step())
    ++n;
  return n;
}

// Binds every parameter from `seed`: integers (small keys, 0, 2^64-1, a
// time in microseconds) and bytes (a value, an ISO-8601 time, junk).
void bind_all(klite::Statement& s, std::uint64_t seed) {
  static const std::uint64_t kInts[] = {1, 2, 3, 5, 0, 18446744073709551615u,
                                        1795600805000000};
  static const char* const kBytes[] = {"v", "2026-11-25T10:00:03Z",
                                       "1970-01-01", "not a time", ""};
  for (std::size_t i = 1; i <= s.parameter_count(); ++i) {
    std::uint64_t pick = (seed >> ((i * 3) % 60)) % 12;
    if (pick < 7)
      s.bind(i, kInts[pick]);
    else
      s.bind(i, std::string_view(kBytes[pick - 7]));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static Db db;
  if (size == 0)
    return 0;
  if (++db.runs % 500 == 0)
    db.rebuild();
  klite::Engine& e = *db.engine;
  const bool prepared = data[0] & 1;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (!prepared) {
      klite::Result r = e.exec(text);
      drain(r);
    } else {
      klite::Statement s = e.prepare(text);
      std::uint64_t seed = size * 0x9e3779b97f4a7c15ULL;
      for (std::size_t i = 0; i < size; ++i)
        seed = (seed ^ data[i]) * 0x100000001b3ULL;
      (void)s.explain();
      bind_all(s, seed);
      try {
        steps(s);
      } catch (const klite::Error&) {
      }
      s.reset();
      bind_all(s, seed >> 7);
      steps(s);
    }
  } catch (const klite::Error&) {
    // Every kind of bad input ends here.
  } catch (const std::exception& ex) {
    finding(ex.what(), text);
  }
  // The session and the engine must still be usable.
  try {
    e.exec("ROLLBACK").drain();
  } catch (const klite::Error& err) {
    if (err.code() != klite::ErrorCode::Misuse)
      finding(err.what(), text);
  }
  try {
    e.exec("SHOW STREAMS").drain();
  } catch (const klite::Error& err) {
    finding(err.what(), text);
  }
  return 0;
}
