#!/usr/bin/env bash
# Builds machina's default guest from Debian's packages only (nothing is compiled):
#   OUTDIR/vmlinuz       Debian's cloud kernel (bzImage, LZ4 payload), from linux-image-cloud-amd64
#   OUTDIR/initramfs.gz  busybox-static + the virtio modules + an /init script (cpio newc, gzip)
#   OUTDIR/KVER          the kernel release (uname -r in the guest)
# Usage: scripts/build-guest.sh [OUTDIR]   (default: build/guest in the repository)
#
# The packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x` into
# OUTDIR/work; they are never installed on the host. The guest's /init mounts proc, sysfs and
# devtmpfs, loads the virtio modules in dependency order, prints MACHINA-GUEST-READY on the
# console, then either runs the test given on the kernel command line and powers off, or starts
# a shell on the console. Test forms accepted on the command line:
#   machina.test=CMD            (a single word)
#   machina.test="CMD WITH SPACES"
#   machina.test=b64:BASE64     (a whole script, base64-encoded)
# The test's exit status is printed as `MACHINA-TEST-EXIT <n>` before the power-off.
#
# A second run with everything present does nothing. Needs root only to install missing tools.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$repo/build/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/work
self_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)

if [[ -s $out/vmlinuz && -s $out/initramfs.gz && -s $out/KVER && -f $out/.stamp ]] &&
  [[ $(cat "$out/.stamp") == "$self_hash" ]]; then
  echo "guest in $out is up to date (kernel $(cat "$out/KVER"))"
  exit 0
fi

log() { echo "build-guest: $*"; }
die() {
  echo "build-guest: error: $*" >&2
  exit 1
}

# --- Tools ------------------------------------------------------------------------------------
need_pkgs=()
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v dpkg-deb >/dev/null || need_pkgs+=(dpkg)
command -v gzip >/dev/null || need_pkgs+=(gzip)
command -v apt-get >/dev/null || die "apt-get not found: this script needs a Debian system"
if ((${#need_pkgs[@]})); then
  ((EUID == 0)) || die "missing tools (${need_pkgs[*]}): run as root or install them"
  log "installing tools: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"; }
fi

# --- Packages ---------------------------------------------------------------------------------
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1)
if [[ -z $kpkg ]]; then
  ((EUID == 0)) && apt-get update -qq
  kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1)
fi
[[ -n $kpkg ]] || die "cannot resolve the kernel package linux-image-cloud-amd64 depends on"
log "kernel package: $kpkg"

rm -rf "$work"
mkdir -p "$work/debs"
# apt drops privileges to _apt for downloads; let it write here.
chmod 0777 "$work/debs"
# e2fsprogs (mkfs.ext4) and the shared libraries it needs: the guest tests make a filesystem
# on a virtio disk.
e2fs_pkgs=(e2fsprogs libext2fs2 libcom-err2 libblkid1 libuuid1 libc6)
download() {
  (cd "$work/debs" && apt-get download -q "$kpkg" busybox-static "${e2fs_pkgs[@]}")
}
if ! download; then
  ((EUID == 0)) || die "apt-get download failed (run as root so that apt-get update can run)"
  log "download failed, running apt-get update"
  apt-get update -qq
  download || die "apt-get download of $kpkg busybox-static failed"
fi
kdeb=$(ls "$work"/debs/"${kpkg}"_*.deb 2>/dev/null | head -n1)
bdeb=$(ls "$work"/debs/busybox-static_*.deb 2>/dev/null | head -n1)
[[ -n $kdeb && -n $bdeb ]] || die "downloaded packages not found in $work/debs"

log "unpacking $(basename "$kdeb") and $(basename "$bdeb")"
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bdeb" "$work/busybox"
bb=$work/busybox/bin/busybox
[[ -x $bb ]] || die "busybox binary missing from $(basename "$bdeb")"
for p in "${e2fs_pkgs[@]}"; do
  deb=$(ls "$work"/debs/"${p}"_*.deb 2>/dev/null | head -n1)
  [[ -n $deb ]] || die "downloaded package $p not found in $work/debs"
  dpkg-deb -x "$deb" "$work/e2fs"
done

moddir_base=lib/modules
[[ -d $work/kernel/$moddir_base ]] || moddir_base=usr/lib/modules
kver=$(ls "$work/kernel/$moddir_base" | head -n1)
[[ -n $kver && -f $work/kernel/boot/vmlinuz-$kver ]] || die "kernel image not found in $kdeb"
log "kernel release: $kver"

# --- Modules ----------------------------------------------------------------------------------
# The .deb ships no modules.dep (depmod runs at install time); generate it with busybox.
"$bb" depmod -b "$work/kernel" "$kver"
kmods=$work/kernel/$moddir_base/$kver
[[ -s $kmods/modules.dep ]] || die "depmod produced no modules.dep"

declare -A dep_of=() path_of=() emitted=()
while IFS= read -r line; do
  mod=${line%%:*}
  deps=${line#*:}
  dep_of[$mod]=$deps
  name=$(basename "$mod" .ko)
  path_of[${name//-/_}]=$mod
done <"$kmods/modules.dep"

order=()
emit() { # emit MODPATH: its dependencies first, then itself
  local m=$1 d
  [[ -n ${emitted[$m]:-} ]] && return
  emitted[$m]=1
  for d in ${dep_of[$m]:-}; do emit "$d"; done
  order+=("$m")
}
wanted=(virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
  virtio_net virtio_console virtio-rng button evdev)
for w in "${wanted[@]}"; do
  p=${path_of[${w//-/_}]:-}
  if [[ -z $p ]]; then
    log "note: module $w is not a module of $kver (built in or absent)"
    continue
  fi
  emit "$p"
done

# --- Initramfs --------------------------------------------------------------------------------
root=$work/initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc}
mkdir -p "$root/lib/modules/$kver"
cp "$bb" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
for m in "${order[@]}"; do
  mkdir -p "$root/lib/modules/$kver/$(dirname "$m")"
  cp "$kmods/$m" "$root/lib/modules/$kver/$m"
done
printf '%s\n' "${order[@]}" >"$root/lib/modules/$kver/machina.order"
# mkfs.ext4: e2fsprogs' mke2fs (it picks the filesystem type from its name) and its libraries.
mke2fs=$(find "$work/e2fs" -name mke2fs -type f | head -n1)
[[ -n $mke2fs ]] || die "mke2fs missing from e2fsprogs"
cp "$mke2fs" "$root/usr/sbin/mkfs.ext4"
mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64"
for lib in libext2fs.so.2 libcom_err.so.2 libblkid.so.1 libuuid.so.1 libe2p.so.2 libc.so.6; do
  f=$(find "$work/e2fs" -name "$lib" | head -n1)
  [[ -n $f ]] || die "$lib missing from the e2fsprogs packages"
  cp -L "$f" "$root/lib/x86_64-linux-gnu/$lib"
done
ld=$(find "$work/e2fs" -name ld-linux-x86-64.so.2 | head -n1)
[[ -n $ld ]] || die "ld-linux-x86-64.so.2 missing from libc6"
cp -L "$ld" "$root/lib64/ld-linux-x86-64.so.2"
cp "$(find "$work/e2fs" -name mke2fs.conf -path '*etc*' | head -n1)" "$root/etc/mke2fs.conf"
# A modules.dep for the modules in the initramfs, so that modprobe works in the guest too.
"$bb" depmod -b "$root" "$kver"
# The kernel opens /dev/console before running /init; devtmpfs provides it later too.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true

cat >"$root/init" <<'EOF'
#!/bin/sh
# machina default guest init (written by scripts/build-guest.sh)
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root TERM=linux
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
kver=$(uname -r)
while read -r m; do
  insmod "/lib/modules/$kver/$m" 2>/dev/null || echo "machina-init: could not load $m"
done <"/lib/modules/$kver/machina.order"
hostname machina
# The ACPI power button (system_powerdown) powers the guest off, as acpid would. The device is
# opened here, before the ready marker, so that no press after the marker is missed.
for e in /sys/class/input/event*; do
  [ "$(cat "$e/device/name" 2>/dev/null)" = "Power Button" ] || continue
  exec 3<"/dev/input/${e##*/}"
  (dd of=/dev/null bs=24 count=1 <&3 2>/dev/null &&
    echo "machina-init: power button pressed, powering off" && sync && poweroff -f) &
  exec 3<&-
  break
done
echo MACHINA-GUEST-READY
cmdline=$(cat /proc/cmdline)
test=$(echo "$cmdline" | sed -n 's/.*machina\.test="\([^"]*\)".*/\1/p')
[ -n "$test" ] || test=$(echo "$cmdline" | sed -n 's/.*machina\.test=\([^ "]*\).*/\1/p')
if [ -n "$test" ]; then
  case "$test" in
    b64:*) echo "${test#b64:}" | base64 -d >/tmp/machina-test ;;
    b64gz:*) echo "${test#b64gz:}" | base64 -d | gunzip >/tmp/machina-test ;;
    *) echo "$test" >/tmp/machina-test ;;
  esac
  sh /tmp/machina-test
  echo "MACHINA-TEST-EXIT $?"
  sync
  poweroff -f
fi
while true; do
  setsid cttyhack sh -l
  echo "machina-init: shell exited, starting a new one"
done
EOF
chmod 0755 "$root/init"

log "packing initramfs"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 -n >"$out/initramfs.gz.tmp"
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
mv "$out/initramfs.gz.tmp" "$out/initramfs.gz"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
echo "$kver" >"$out/KVER"
echo "$self_hash" >"$out/.stamp"
log "modules in the initramfs: ${#order[@]}"
log "done: $out/vmlinuz ($(stat -c %s "$out/vmlinuz") bytes), $out/initramfs.gz ($(stat -c %s "$out/initramfs.gz") bytes), KVER $kver"
