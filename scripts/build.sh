#!/usr/bin/env bash
# Configures and builds machina into build/ (the emulator is build/machina).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$(nproc)" "$@"
