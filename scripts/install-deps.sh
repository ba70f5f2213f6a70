#!/usr/bin/env bash
# Installs what machina needs to build and test on Debian 12 (run as root). Does nothing when all
# packages are present already.
set -euo pipefail
pkgs=(build-essential cmake ninja-build g++ clang libclang-rt-14-dev clang-format
      libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev acpica-tools liburing-dev
      python3 socat e2fsprogs liblz4-dev liblzma-dev zlib1g-dev libzstd-dev pkg-config cpio libslirp-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
