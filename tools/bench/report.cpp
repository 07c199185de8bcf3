// klite-bench's output: the table (ratios klite/peer on every klite row)
// and the JSON form of the same results.
#include "tools/bench/bench.h"

#include "engine/text.h" // json_string, shared with the other tools

#include <cinttypes>
#include <cstdio>

namespace kbench {

namespace {

constexpr Family kPeers[] = {Family::SQLite, Family::LMDB, Family::RocksDB};

// The first result of `f` in `workload`: the peer a klite row compares to.
const Result* peer(const std::vector<Result>& rs, const std::string& workload,
                   Family f) {
  for (const auto& r : rs)
    if (r.workload == workload && r.family == f && r.unavailable.empty())
      return &r;
  return nullptr;
}

std::string ratio(double num, double den) {
  if (den <= 0 || num <= 0)
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", num / den);
  return buf;
}

std::string with_commas(double v) {
  auto n = static_cast<std::uint64_t>(v + 0.5);
  std::string digits = std::to_string(n), s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      s += ',';
    s += digits[i];
  }
  return s;
}

// The ratio columns of one row: klite's `metric` over each peer's, blank
// for peer rows.
template <class Metric>
void print_ratios(const std::vector<Result>& rs, const Result& r,
                  Metric metric) {
  for (Family f : kPeers) {
    std::string cell;
    if (r.family == Family::Klite) {
      const Result* p = peer(rs, r.workload, f);
      cell = p ? ratio(metric(r), metric(*p)) : "-";
    }
    std::printf(" %10s", cell.c_str());
  }
  std::printf("\n");
}

void print_header(const char* a, const char* b, const char* c) {
  std::printf("\n%-21s %-37s %13s %9s %8s %10s %10s %10s\n", "workload",
              "engine", a, b, c, "k/sqlite", "k/lmdb", "k/rocksdb");
}

// W2 rows go to the latency table, W7 rows to their own (ratios to
// native); the rest are rates.
bool latency_row(const Result& r) { return r.workload.rfind("W2", 0) == 0; }
bool w7_row(const Result& r) { return r.workload.rfind("W7", 0) == 0; }

void print_unavailable(const Result& r) {
  std::printf("%-21s %-37s n/a: %s\n", r.workload.c_str(), r.variant.c_str(),
              r.unavailable.c_str());
}

void print_rate_rows(const std::vector<Result>& rs) {
  std::string last;
  for (const auto& r : rs) {
    if (r.space || latency_row(r) || w7_row(r))
      continue;
    if (last.empty())
      print_header("ops/s", "MB/s", "secs");
    else if (r.workload != last)
      std::printf("\n");
    last = r.workload;
    if (!r.unavailable.empty()) {
      print_unavailable(r);
      continue;
    }
    std::printf("%-21s %-37s %13s %9.1f %8.3f", r.workload.c_str(),
                r.variant.c_str(), with_commas(r.ops_per_s()).c_str(),
                r.mb_per_s(), r.seconds);
    print_ratios(rs, r, [](const Result& x) { return x.ops_per_s(); });
  }
}

void print_latency_rows(const std::vector<Result>& rs) {
  bool any = false;
  for (const auto& r : rs) {
    if (!latency_row(r))
      continue;
    if (!any)
      print_header("commits/s", "p50 ms", "p99 ms");
    any = true;
    if (!r.unavailable.empty()) {
      print_unavailable(r);
      continue;
    }
    std::printf("%-21s %-37s %13s %9.3f %8.3f", r.workload.c_str(),
                r.variant.c_str(), with_commas(r.ops_per_s()).c_str(),
                r.p50_us / 1000, r.p99_us / 1000);
    print_ratios(rs, r, [](const Result& x) { return x.ops_per_s(); });
  }
}

void print_space_rows(const std::vector<Result>& rs) {
  bool any = false;
  std::string last;
  for (const auto& r : rs) {
    if (!r.space)
      continue;
    if (!any)
      print_header("disk bytes", "disk/pay", "");
    else if (r.workload != last)
      std::printf("\n");
    any = true;
    last = r.workload;
    std::printf("%-21s %-37s %13s %9.3f %8s", r.workload.c_str(),
                r.variant.c_str(),
                with_commas(static_cast<double>(r.disk_bytes)).c_str(),
                r.amplification(), "");
    // Lower is better here: the ratio is klite's bytes over the peer's.
    print_ratios(rs, r, [](const Result& x) {
      return static_cast<double>(x.disk_bytes);
    });
  }
}

// W7's ratios: each query-layer variant's throughput over the native one,
// which main.cpp puts first in each W7 workload.
void print_w7(const std::vector<Result>& rs) {
  std::string last;
  const Result* native = nullptr;
  for (const auto& r : rs) {
    if (!w7_row(r))
      continue;
    if (!native)
      std::printf("\n%-21s %-37s %13s %9s %8s %10s %14s\n", "workload",
                  "engine", "ops/s", "MB/s", "secs", "vs native",
                  "ns per record");
    if (r.workload != last) {
      if (native)
        std::printf("\n");
      native = &r;
      last = r.workload;
    }
    std::printf("%-21s %-37s %13s %9.1f %8.3f %10s %14.0f\n",
                r.workload.c_str(), r.variant.c_str(),
                with_commas(r.ops_per_s()).c_str(), r.mb_per_s(), r.seconds,
                ratio(r.ops_per_s(), native->ops_per_s()).c_str(),
                r.seconds * 1e9 / static_cast<double>(r.ops));
  }
}

} // namespace

void print_table(const Config&, const std::vector<Result>& rs) {
  print_rate_rows(rs);
  print_latency_rows(rs);
  print_space_rows(rs);
  print_w7(rs);
}

void print_json(const Config& c, const std::vector<Result>& rs,
                const std::string& machine) {
  using klite::text::json_string;
  std::printf("{\"machine\": %s, \"records\": %" PRIu64
              ", \"records_1k\": %" PRIu64
              ", \"batch\": %zu, \"gets\": %" PRIu64 ", \"commits\": %" PRIu64
              ", \"time_ops\": %" PRIu64 ", \"results\": [\n",
              json_string(machine).c_str(), c.records, c.records_1k, c.batch,
              c.gets, c.commits, c.time_ops);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const Result& r = rs[i];
    std::printf("  {\"workload\": %s, \"engine\": \"%s\", \"variant\": %s, ",
                json_string(r.workload).c_str(), family_name(r.family),
                json_string(r.variant).c_str());
    if (!r.unavailable.empty())
      std::printf("\"available\": false, \"reason\": %s}",
                  json_string(r.unavailable).c_str());
    else if (r.space)
      std::printf("\"disk_bytes\": %" PRIu64 ", \"apparent_bytes\": %" PRIu64
                  ", \"payload_bytes\": %" PRIu64 ", \"amplification\": %.4f}",
                  r.disk_bytes, r.apparent_bytes, r.bytes, r.amplification());
    else {
      std::printf("\"ops\": %" PRIu64 ", \"seconds\": %.6f, "
                  "\"ops_per_s\": %.1f, \"mb_per_s\": %.2f",
                  r.ops, r.seconds, r.ops_per_s(), r.mb_per_s());
      if (r.p50_us > 0)
        std::printf(", \"p50_us\": %.1f, \"p99_us\": %.1f", r.p50_us, r.p99_us);
      std::printf("}");
    }
    std::printf("%s\n", i + 1 < rs.size() ? "," : "");
  }
  std::printf("]}\n");
}

} // namespace kbench
