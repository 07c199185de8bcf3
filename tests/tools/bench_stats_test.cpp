#include "tools/bench/stats.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

namespace {

using kbench::percentile;
using kbench::UniformSeq;

TEST_CASE("klite-bench: percentile by nearest rank") {
  SUBCASE("small sets") {
    std::vector<double> v{4, 1, 3, 2};
    CHECK(percentile(v, 50) == 2);
    CHECK(percentile(v, 75) == 3);
    CHECK(percentile(v, 76) == 4);
    CHECK(percentile(v, 100) == 4);
    CHECK(percentile(v, 1) == 1);
    std::vector<double> one{7};
    CHECK(percentile(one, 50) == 7);
    CHECK(percentile(one, 99) == 7);
  }
  SUBCASE("p99 of 1..2000 is 1980") {
    std::vector<double> v;
    for (int i = 2000; i >= 1; --i)
      v.push_back(i);
    CHECK(percentile(v, 99) == 1980);
    CHECK(percentile(v, 50) == 1000);
  }
}

TEST_CASE("klite-bench: UniformSeq stays in range and repeats per seed") {
  UniformSeq a(42, 5, 9), b(42, 5, 9);
  bool seen[5] = {};
  for (int i = 0; i < 1000; ++i) {
    std::uint64_t x = a.next();
    CAPTURE(i);
    REQUIRE(x >= 5);
    REQUIRE(x <= 9);
    CHECK(x == b.next());
    seen[x - 5] = true;
  }
  for (bool s : seen)
    CHECK(s);
  UniformSeq single(1, 3, 3);
  CHECK(single.next() == 3);
}

} // namespace
