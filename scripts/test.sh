#!/usr/bin/env bash
# Runs every test: the unit, qtest and guest suites, the unit and qtest suites again under
# ASan+UBSan, and a short smoke run of each libFuzzer target. MACHINA_FAST=1 runs only the first
# part; `ctest -L unit` (or -L qtest, -L guest) in build/ runs one tier.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
# The default guest (Debian's cloud kernel and busybox; cached) for the tests labelled "guest".
./scripts/build-guest.sh build/guest

echo "== tests (build/) =="
(cd build && ctest -j"$(nproc)" --output-on-failure)

if [[ "${MACHINA_FAST:-0}" == 1 ]]; then exit 0; fi

echo "== unit and qtest tests under ASan+UBSan (build-asan/) =="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMACHINA_SANITIZE=ON \
  -DMACHINA_BENCH=OFF >/dev/null
ninja -C build-asan -j"$(nproc)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -j"$(nproc)" -LE guest --output-on-failure)

echo "== fuzz smoke (build-fuzz/) =="
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DMACHINA_FUZZ=ON -DMACHINA_TESTS=OFF -DMACHINA_BENCH=OFF >/dev/null
ninja -C build-fuzz -j"$(nproc)"
secs="${MACHINA_FUZZ_SECONDS:-30}"
for f in build-fuzz/fuzz/*_fuzz; do
  echo "-- $f for ${secs}s"
  corpus=$(mktemp -d)
  "$f" -max_total_time="$secs" -rss_limit_mb=4096 "$corpus" 2>&1 | tail -3
  rm -rf "$corpus"
done
