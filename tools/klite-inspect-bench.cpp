// klite-inspect-bench: how long `klite-inspect check` takes on a large
// clean file (the goal: 1,000,000 records of 100 bytes in under 2 s).
//
//   klite-inspect-bench [--records N] [--value-size B] [--batch B]
//                       [--page-size P] [--runs R] [--file PATH] [--keep]
//
// Builds the file with the native API (Durability::Off, B records per
// transaction, pseudo-random incompressible payloads), then runs
// inspect::check R times on a fresh inspect::File each time and prints the
// time of each run. The file stays in the OS page cache, so this measures
// the checker's CPU cost (CRCs, parsing, page accounting), not the disk.
#include "engine/inspect.h"

#include <klite/engine.h>

#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

std::uint64_t arg_u64(const char* s) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0') {
    std::fprintf(stderr, "klite-inspect-bench: bad number %s\n", s);
    std::exit(2);
  }
  return v;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

} // namespace

int main(int argc, char** argv) {
  std::uint64_t records = 1'000'000, value_size = 100, batch = 1000,
                page_size = 4096, runs = 3;
  std::string path;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "klite-inspect-bench: %s needs a value\n",
                     argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--records")
      records = arg_u64(value());
    else if (a == "--value-size")
      value_size = arg_u64(value());
    else if (a == "--batch")
      batch = arg_u64(value());
    else if (a == "--page-size")
      page_size = arg_u64(value());
    else if (a == "--runs")
      runs = arg_u64(value());
    else if (a == "--file")
      path = value();
    else if (a == "--keep")
      keep = true;
    else {
      std::fprintf(stderr,
                   "usage: klite-inspect-bench [--records N] [--value-size B] "
                   "[--batch B] [--page-size P] [--runs R] [--file PATH] "
                   "[--keep]\n");
      return 2;
    }
  }
  if (batch == 0 || runs == 0)
    return 2;
  if (path.empty())
    path = (std::filesystem::temp_directory_path() /
            ("klite-inspect-bench-" + std::to_string(::getpid()) + ".klite"))
               .string();
  try {
    std::filesystem::remove(path);
    {
      klite::Options o;
      o.durability = klite::Durability::Off;
      o.page_size = static_cast<std::uint32_t>(page_size);
      auto e = klite::Engine::open(path, o);
      std::string v(value_size, '\0');
      std::uint64_t s = 42;
      auto t = std::chrono::steady_clock::now();
      for (std::uint64_t k = 0; k < records;) {
        auto w = e.write();
        for (std::uint64_t j = 0; j < batch && k < records; ++j, ++k) {
          for (std::size_t i = 0; i < v.size(); ++i) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            v[i] = static_cast<char>(s >> 56);
          }
          w.append("bench", v);
        }
        w.commit();
      }
      std::fprintf(stderr,
                   "built %s: %" PRIu64 " records x %" PRIu64 " B in %.2f s\n",
                   path.c_str(), records, value_size, seconds_since(t));
    }
    int rc = 0;
    for (std::uint64_t r = 0; r < runs; ++r) {
      auto t = std::chrono::steady_clock::now();
      klite::inspect::File f(path);
      klite::inspect::Report rep = klite::inspect::check(f);
      double secs = seconds_since(t);
      std::printf("check run %" PRIu64 ": %.3f s, %" PRIu64 " pages, %" PRIu64
                  " records, %" PRIu64
                  " errors (%.1f M records/s, %.0f MB/s)\n",
                  r + 1, secs, std::uint64_t{rep.page_count}, rep.records,
                  rep.errors, rep.records / secs / 1e6,
                  double(rep.page_count) * rep.page_size / secs / 1e6);
      if (!rep.clean()) {
        for (const auto& p : rep.problems)
          std::fprintf(stderr, "page %" PRIu32 ": %s\n", p.page,
                       p.message.c_str());
        rc = 1;
      }
    }
    if (!keep)
      std::filesystem::remove(path);
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "klite-inspect-bench: %s\n", e.what());
    return 1;
  }
}
