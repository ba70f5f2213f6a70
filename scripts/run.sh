#!/usr/bin/env bash
# machina's main job: build machina and the default guest if needed, then boot Debian's kernel on
# the q35 machine with the software CPU, its serial console on this terminal (Ctrl-a x quits,
# Ctrl-a c switches to the human monitor) and a QMP socket beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh machina
./scripts/build-guest.sh build/guest
qmp="${MACHINA_QMP:-/tmp/machina-qmp.sock}"
cmd=(build/machina -M q35 -accel tcg -m 512M -nographic
     -kernel build/guest/vmlinuz -initrd build/guest/initramfs.gz -append "console=ttyS0"
     -qmp "unix:$qmp,server=on,wait=off")
echo "+ ${cmd[*]}"
exec "${cmd[@]}" "$@"
