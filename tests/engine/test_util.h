// Shared helpers for the engine tests: a temporary directory removed at the
// end, deterministic payloads whose first 8 bytes carry the key, a fixed-seed
// random generator, an injectable clock, and helpers for checking klite::Error.
#pragma once

#include <doctest/doctest.h>
#include <klite/engine.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <unistd.h>

// Prints error codes by name in failed CHECKs ("Corrupt" rather than "5").
namespace doctest {
template <> struct StringMaker<klite::ErrorCode> {
  static String convert(klite::ErrorCode code) {
    auto name = klite::to_string(code);
    return String(name.data(), static_cast<String::size_type>(name.size()));
  }
};
} // namespace doctest

namespace klite::test {

// The page sizes engine.h documents for Options::page_size: powers of two in
// [kMinPageSize, kMaxPageSize].
inline constexpr std::uint32_t kMinPageSize = 1024;
inline constexpr std::uint32_t kMaxPageSize = 32768;

// A fresh directory under the system temp directory, removed (with all it
// holds) when the object goes away. `under` picks another parent (e.g.
// /dev/shm); empty means the system's.
class TempDir {
public:
  explicit TempDir(const std::filesystem::path& under = {}) {
    static std::atomic<unsigned> counter{0};
    auto base = under.empty() ? std::filesystem::temp_directory_path() : under;
    for (;;) {
      auto candidate = base / ("klite-test-" + std::to_string(::getpid()) +
                               "-" + std::to_string(counter++));
      std::error_code ec;
      if (std::filesystem::create_directory(candidate, ec)) {
        path_ = candidate;
        return;
      }
      if (ec)
        throw std::filesystem::filesystem_error("create temp dir", candidate,
                                                ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const { return path_; }
  // The path of `name` inside the directory, as the string Engine::open takes.
  std::string file(const std::string& name = "test.klite") const {
    return (path_ / name).string();
  }

private:
  std::filesystem::path path_;
};

// splitmix64: a tiny, fully specified generator, so sequences are the same on
// every platform and standard library (std::uniform_int_distribution is not).
class Rng {
public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform-enough in [lo, hi] (inclusive); the modulo bias does not matter
  // here.
  std::uint64_t range(std::uint64_t lo, std::uint64_t hi) {
    return lo + next() % (hi - lo + 1);
  }

private:
  std::uint64_t state_;
};

inline std::uint64_t mix(std::uint64_t a, std::uint64_t b = 0) {
  Rng r(a * 0x100000001b3ULL ^ (b + 0x632be59bd9b4e019ULL));
  return r.next();
}

// Deterministic bytes for the record `key` of size `size`: the first 8 bytes
// are the key, little-endian (cut short if size < 8); the rest are pseudo-
// random bytes determined by (seed, key), which include NUL and 0xFF bytes.
inline std::string payload(std::uint64_t key, std::size_t size,
                           std::uint64_t seed = 0) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size && i < 8; ++i)
    out[i] = static_cast<char>((key >> (8 * i)) & 0xff);
  Rng r(mix(seed, key));
  std::size_t i = 8;
  while (i < size) {
    std::uint64_t word = r.next();
    for (int b = 0; b < 8 && i < size; ++b, ++i)
      out[i] = static_cast<char>((word >> (8 * b)) & 0xff);
  }
  return out;
}

// Bytes with long runs of 0x00 and 0xFF mixed with random bytes, for limit
// tests; the first 8 bytes carry `key` as in payload().
inline std::string pattern_payload(std::uint64_t key, std::size_t size) {
  std::string out = payload(key, size, 0xfeed);
  Rng r(mix(0xabcdef, key));
  std::size_t i = 8;
  while (i < size) {
    std::size_t run = static_cast<std::size_t>(r.range(1, 4096));
    auto kind = r.range(0, 2);
    for (std::size_t j = 0; j < run && i < size; ++j, ++i) {
      if (kind == 0)
        out[i] = '\0';
      else if (kind == 1)
        out[i] = static_cast<char>(0xff);
      // kind 2 keeps the random bytes
    }
  }
  return out;
}

// The key stored in the first 8 bytes of a payload (only if size >= 8).
inline std::uint64_t payload_key(std::string_view value) {
  std::uint64_t key = 0;
  for (std::size_t i = 0; i < 8 && i < value.size(); ++i)
    key |= std::uint64_t(static_cast<unsigned char>(value[i])) << (8 * i);
  return key;
}

// The first index where a and b differ, or -1 when equal. Comparing big values
// with CHECK(a == b) would print megabytes on failure; check this instead.
inline long long first_difference(std::string_view a, std::string_view b) {
  std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i])
      return static_cast<long long>(i);
  if (a.size() != b.size())
    return static_cast<long long>(n);
  return -1;
}

// A clock the test moves by hand; copies share the same time.
struct FakeClock {
  std::shared_ptr<std::uint64_t> now =
      std::make_shared<std::uint64_t>(1'000'000);
  void set(std::uint64_t t) { *now = t; }
  std::uint64_t operator()() const { return *now; }
};

// Options for tests that need speed more than durability.
inline Options fast_options() {
  Options o;
  o.durability = Durability::Off;
  return o;
}

// Closes `engine` and opens `path` again into it. The old engine is closed
// first: two engines on one file in one process would share the process's
// file locks, which is not what a reopen means.
inline void reopen(Engine& engine, const std::string& path,
                   const Options& options = {}) {
  { Engine closing = std::move(engine); }
  engine = Engine::open(path, options);
}

// Runs f and returns the klite::Error it threw, or nullopt if it returned.
// Any other exception propagates (doctest reports it).
template <class F> std::optional<Error> catch_error(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

inline void write_file_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Names like "s000123", whose byte order is their numeric order.
inline std::string numbered(const char* prefix, std::uint64_t n,
                            int width = 6) {
  std::string digits = std::to_string(n);
  if (static_cast<int>(digits.size()) < width)
    digits.insert(0, static_cast<std::size_t>(width) - digits.size(), '0');
  return prefix + digits;
}

} // namespace klite::test

// CHECK that `expr` throws klite::Error with code `expected` (exact).
#define KLITE_CHECK_ERROR(expr, expected)                                      \
  do {                                                                         \
    auto klite_err_ = ::klite::test::catch_error([&] { (void)(expr); });       \
    CHECK_MESSAGE(klite_err_.has_value(),                                      \
                  "expected klite::Error for: " #expr);                        \
    if (klite_err_)                                                            \
      CHECK(klite_err_->code() == (expected));                                 \
  } while (0)
