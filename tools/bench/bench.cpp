// The shared parts of klite-bench declared in bench.h: payloads,
// verification, space and latency results.
#include "tools/bench/bench.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace kbench {

const char* family_name(Family f) {
  switch (f) {
  case Family::Klite:
    return "klite";
  case Family::SQLite:
    return "sqlite";
  case Family::LMDB:
    return "lmdb";
  case Family::RocksDB:
    return "rocksdb";
  }
  return "?";
}

void put_u64le(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<char>(v >> (8 * i));
}

std::uint64_t get_u64le(const void* src) {
  const auto* p = static_cast<const unsigned char*>(src);
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

void DataSet::fill(std::uint64_t key, char* out) const {
  put_u64le(out, key);
  std::uint64_t s = seed_ ^ (key * 0x2545f4914f6cdd1dULL);
  for (std::size_t i = 8; i < size_; i += 8) {
    std::uint64_t r = splitmix64(s);
    std::memcpy(out + i, &r, std::min<std::size_t>(8, size_ - i));
  }
}

void Batch::load(std::uint64_t first, std::uint64_t end) {
  const std::size_t size = data_.value_size();
  views_.clear();
  char* p = buf_.data();
  for (std::uint64_t k = first; k < end; ++k, p += size) {
    data_.fill(k, p);
    views_.emplace_back(p, size);
  }
}

void Verifier::check(std::uint64_t key, const void* p, std::size_t n,
                     const char* engine) {
  if (n != data_.value_size())
    fail(engine, key, "value size " + std::to_string(n));
  if (get_u64le(p) != key)
    fail(engine, key, "payload carries key " + std::to_string(get_u64le(p)));
  if (reads_++ % sample_every_ == 0) {
    data_.fill(key, scratch_.data());
    if (std::memcmp(p, scratch_.data(), n) != 0)
      fail(engine, key, "payload bytes differ");
  }
}

void Verifier::fail(const char* engine, std::uint64_t key,
                    const std::string& why) {
  throw std::runtime_error(std::string(engine) + ": key " +
                           std::to_string(key) + ": " + why);
}

Result space_result(std::string workload, Family f, std::string variant,
                    const DataSet& data, const std::vector<fs::path>& files) {
  Result r{std::move(workload), f, std::move(variant)};
  r.space = true;
  r.bytes = data.payload_bytes();
  for (const auto& p : files) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0)
      continue;
    r.disk_bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
    r.apparent_bytes += static_cast<std::uint64_t>(st.st_size);
  }
  return r;
}

void set_latencies(Result& r, std::vector<double> samples) {
  if (samples.empty())
    return;
  r.p50_us = percentile(samples, 50) * 1e6;
  r.p99_us = percentile(samples, 99) * 1e6;
}

} // namespace kbench
