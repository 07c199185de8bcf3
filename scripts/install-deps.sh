#!/usr/bin/env bash
# Installs what klite needs to build and test on Debian 12 (bookworm).
# Idempotent: packages already installed are left as they are. Runs as root,
# or through sudo otherwise.
set -euo pipefail

packages=(
  build-essential cmake g++ clang
  libclang-rt-14-dev # libFuzzer and the sanitizer runtimes for clang 14
  libboost1.81-dev doctest-dev
  libsqlite3-dev liblmdb-dev
  librocksdb-dev # klite-bench's fourth engine (tools/bench/rocksdb.cpp)
  libedit-dev # the shell's line editing and history (BSD licensed, unlike readline)
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
      grep -q '^install ok installed$'; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
