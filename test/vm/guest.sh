#!/bin/bash
# PID 1 of the guest once its root is the overlay (see init): mounts what a Debian system with
# systemd would have, on a pure cgroup v2 hierarchy, runs the host's command as root, writes its
# exit status for the host and powers off.
set -uo pipefail
# The initramfs's PATH (its busybox in /bin) came along through switch_root: Debian's own now.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
io=/run/ctr-vm

fail() {
  echo "ctr-vm guest: $*" >&2
  /bin/busybox reboot -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# A /tmp of the guest's own, empty like a booted system's. A checkout under /tmp (a CI clone, say)
# would vanish under it: its directory is bound back through a view of the overlay's /tmp kept
# before the tmpfs hides it.
repo=$(cd "$(dirname "$0")/../.." && pwd)
case $repo/ in
  /tmp/*)
    mkdir -p /run/ctr-vm-tmp && mount --bind /tmp /run/ctr-vm-tmp || fail "cannot keep a view of /tmp"
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    mkdir -p "$repo" && mount --bind "/run/ctr-vm-tmp${repo#/tmp}" "$repo" || fail "cannot bind $repo back under the new /tmp"
    ;;
  *) mount -t tmpfs -o mode=1777 tmpfs /tmp ;;
esac
mount -t tmpfs -o mode=755 tmpfs /var/tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# cgroup_no_v1=all on the kernel command line keeps every v1 hierarchy away: cgroup2 alone, as on
# a systemd host since systemd 247 (Debian 11+, Ubuntu 21.10+, Fedora 31+).
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || fail "cannot mount cgroup2"
ip link set lo up 2>/dev/null || true
# The kernel loads most modules on demand (veth, bridge, nf_tables) with the host's modprobe and
# /lib/modules, both under this root; /dev/net/tun exists only once tun is loaded, and
# slirp4netns (step 07, rootless networking) opens it rather than asking for it.
modprobe tun 2>/dev/null || echo "ctr-vm guest: modprobe tun failed: rootless networking will not work" >&2
# devtmpfs makes it 0600; udev's rule (50-udev-default.rules) opens it to every user, and a
# rootless runtime's slirp4netns runs as that user ("child failed(1)" otherwise).
chmod 0666 /dev/net/tun 2>/dev/null || true
hostname ctr-vm

# systemd's layout: the root cgroup passes the controllers down, PID 1 sits in init.scope, and
# every service in a leaf under system.slice (v2's no-internal-processes rule: a cgroup with
# processes cannot also hand controllers to children, so processes live only in leaves). The
# command runs in system.slice/ctr-vm.service, where a runtime started by a unit or from a login
# shell would be, so the runtime cannot put containers under its own cgroup by writing its
# subtree_control: that cgroup holds the runtime itself.
cg=/sys/fs/cgroup
controllers="+memory +pids +cpu"
echo "$controllers" >"$cg/cgroup.subtree_control" || fail "cannot enable $controllers at the root"
mkdir -p "$cg/init.scope" "$cg/system.slice/ctr-vm.service"
echo $$ >"$cg/init.scope/cgroup.procs"
echo "$controllers" >"$cg/system.slice/cgroup.subtree_control"

[ -f "$io/command" ] || fail "no command in $io"
# The host wrote the command (cwd, environment, argv) as a bash script; stdout and stderr go to
# the two virtio ports the host reads, found by the name the host gave them.
port() {
  local dev
  for dev in /sys/class/virtio-ports/*; do
    [ "$(cat "$dev/name" 2>/dev/null)" = "$1" ] && echo "/dev/$(basename "$dev")" && return
  done
  fail "no virtio port named $1"
}
stdout=$(port ctr-vm.stdout)
stderr=$(port ctr-vm.stderr)
(
  echo "$BASHPID" >"$cg/system.slice/ctr-vm.service/cgroup.procs"
  exec bash "$io/command" </dev/null >"$stdout" 2>"$stderr"
)
echo $? >"$io/status.partial" && mv "$io/status.partial" "$io/status"
sync
/bin/busybox reboot -f
