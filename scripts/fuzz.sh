#!/usr/bin/env bash
# Builds the libFuzzer targets with clang++ (ASan+UBSan) in build-fuzz/ and
# runs each for SECONDS (default 60), starting from the checked-in seeds.
#   scripts/fuzz.sh [SECONDS] [TARGET ...]      targets: query_fuzz inspect_fuzz
# New inputs go to a scratch corpus, so the checked-in seeds stay as they
# are. A crash is saved as build-fuzz/crash-<sha1>; rerun it with
# build-fuzz/TARGET build-fuzz/crash-<sha1>. .ci/run calls this briefly.
set -euo pipefail

cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(query_fuzz inspect_fuzz)
fi

cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DKLITE_FUZZ=ON -DBUILD_TESTING=OFF
cmake --build build-fuzz -j2 --target "${targets[@]}"

for target in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/${target%_fuzz}
  echo "== fuzz: $target for ${seconds} s"
  scratch=$(mktemp -d)
  "build-fuzz/$target" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=build-fuzz/ \
    "$scratch" "$corpus"
  rm -rf "$scratch"
done
