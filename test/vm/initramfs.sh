#!/usr/bin/env bash
# Builds the guest's initramfs: a static busybox, the few kernel modules that Debian's kernel has
# as modules but the guest needs before it has a root (virtio, 9p, overlay), and ./init.
#
#   test/vm/initramfs.sh <kernel version> <output .cpio.gz>
#
# Built fresh for every boot (well under a second): nothing to go stale when the kernel package is
# upgraded, nothing left on the host.
set -euo pipefail
version=$1 output=$2
here=$(cd "$(dirname "$0")" && pwd)
busybox=$(command -v busybox || true)

# busybox-static is linked statically: the initramfs has no libc to load a dynamic one with.
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "ctr-vm: no static busybox: install Debian's busybox-static (./setup.sh --tests does)" >&2
  exit 1
fi

staging=$(mktemp -d /tmp/ctr-vm-initramfs.XXXXXX)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"/{bin,dev,proc,sys,lower,rw,newroot,modules}
cp "$busybox" "$staging/bin/busybox"
cp "$here/init" "$staging/init"
chmod 755 "$staging/init"

# virtio_pci and virtio_console carry the 9p shares and the command's stdout/stderr; 9p and
# overlay make the root. modprobe resolves each one's dependencies in load order (netfs and
# fscache before 9p, ...); the guest loads them with busybox insmod, in that order, once each.
: >"$staging/modules/order"
for module in virtio_pci virtio_console 9pnet_virtio 9p overlay; do
  modprobe --set-version "$version" --show-depends "$module" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r path; do
  name=$(basename "$path")
  case "$name" in
    *.ko) cp "$path" "$staging/modules/$name" ;;
    # Some kernels ship compressed modules; busybox insmod reads only plain ELF.
    *.ko.xz) xz -dc "$path" >"$staging/modules/${name%.xz}" && name=${name%.xz} ;;
    *.ko.zst) zstd -qdc "$path" >"$staging/modules/${name%.zst}" && name=${name%.zst} ;;
    *) echo "ctr-vm: unexpected module file $path" >&2 && exit 1 ;;
  esac
  echo "$name" >>"$staging/modules/order"
done

(cd "$staging" && find . -print0 | cpio --null --create --format=newc --quiet) | gzip -1 >"$output"
