#!/usr/bin/env bash
# Runs all of machina's benchmarks; those with a QEMU counterpart run Debian's qemu-system-x86_64
# side by side (installed here if missing) and print medians and ratios. JSON results go to
# build/bench/results/. MACHINA_BENCH_RUNS=N sets the repetitions of the boot benchmark (3).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
if ! command -v qemu-system-x86_64 >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends qemu-system-x86 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-system-x86; }
fi
./scripts/build.sh
./scripts/build-guest.sh build/guest
out=build/bench/results
mkdir -p "$out"
echo "== memory dispatch =="
build/bench/memory_dispatch_bench --benchmark_out="$out/memory_dispatch.json" \
  --benchmark_out_format=json
echo "== software CPU =="
build/bench/tcg_bench
echo "== start-up and idle memory (machina vs QEMU) =="
build/bench/startup_bench --runs 15 --json "$out/startup.json"
echo "== virtio-blk device path (machina vs QEMU) =="
build/bench/virtio_blk_bench --seconds 3 --json "$out/virtio_blk.json"
echo "== boot of the default guest (machina vs QEMU) =="
build/bench/pc_boot_bench --runs "${MACHINA_BENCH_RUNS:-3}" --json "$out/pc_boot.json"
echo "== PCIe hot-plug of a virtio disk with the default guest (machina vs QEMU) =="
build/bench/hotplug_bench --runs "${MACHINA_BENCH_RUNS:-5}" --json "$out/hotplug.json"
build/bench/hotplug_bench --runs 3 --native --json "$out/hotplug_native.json"
echo "== disk and network throughput in the default guest (machina vs QEMU) =="
build/bench/guest_io_bench --json "$out/guest_io.json"
