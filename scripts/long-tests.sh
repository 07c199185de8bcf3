#!/usr/bin/env bash
# The long versions of the stress and fault tests: a Release build with
# -DKLITE_LONG_TESTS=ON in build-long/ (every power-loss crash point, 10x
# the SIGKILL crash runs, the long speed checks of .import, ...), then the
# whole suite. Takes far longer than .ci/run's short versions.
#   scripts/long-tests.sh [CTEST ARGS ...]     e.g. -R 'Power loss'
set -euo pipefail

cd "$(dirname "$0")/.."

cmake -S . -B build-long -DCMAKE_BUILD_TYPE=Release -DKLITE_LONG_TESTS=ON
cmake --build build-long -j2
ctest --test-dir build-long --output-on-failure "$@"
