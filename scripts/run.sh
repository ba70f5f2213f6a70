#!/usr/bin/env bash
# machina's main job: build if needed, then run the emulator with a QMP socket beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh machina
qmp="${MACHINA_QMP:-/tmp/machina-qmp.sock}"
cmd=(build/machina -M none -display none -qmp "unix:$qmp,server=on,wait=off")
echo "+ ${cmd[*]}"
exec "${cmd[@]}" "$@"
