// Pure helpers of klite-bench that tests/tools/bench_stats_test.cpp checks:
// latency percentiles and the uniform key sequence every engine replays.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kbench {

// The p-th percentile (0 < p <= 100) by the nearest-rank method: the
// smallest sample with at least p% of the samples at or below it, so p100
// is the maximum and p50 of {1, 2, 3, 4} is 2. Reorders `samples`.
// REQUIRES: !samples.empty().
inline double percentile(std::vector<double>& samples, double p) {
  auto n = samples.size();
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(n));
  if (static_cast<double>(rank) < p / 100.0 * static_cast<double>(n))
    ++rank; // ceil, without <cmath>'s rounding of exact products
  rank = std::clamp<std::size_t>(rank, 1, n);
  std::nth_element(samples.begin(), samples.begin() + (rank - 1),
                   samples.end());
  return samples[rank - 1];
}

inline std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform values in [lo, hi], the same sequence for the same seed, made on
// the fly (a few ns each) so 100M random gets need no 800 MB key array.
// Lemire's multiply-shift maps 64 random bits onto the range; its bias is
// below 2^-32 for any range a benchmark uses.
class UniformSeq {
  __extension__ typedef unsigned __int128 u128; // a GNU type (-Wpedantic)

public:
  UniformSeq(std::uint64_t seed, std::uint64_t lo, std::uint64_t hi)
      : state_(seed), lo_(lo), span_(hi - lo + 1) {}
  std::uint64_t next() {
    std::uint64_t r = splitmix64(state_);
    if (span_ == 0) // [0, 2^64 - 1]
      return r;
    return lo_ +
           static_cast<std::uint64_t>((static_cast<u128>(r) * span_) >> 64);
  }

private:
  std::uint64_t state_;
  std::uint64_t lo_;
  std::uint64_t span_;
};

} // namespace kbench
