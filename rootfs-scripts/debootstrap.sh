#!/usr/bin/env bash
# debootstrap.sh [TARGET]: make a minimal Debian 12 "bookworm" rootfs with debootstrap.
#
# debootstrap downloads Debian's essential packages from a mirror and installs them into a
# directory, the same way Debian's installer starts a new system. --variant=minbase keeps only
# the essential packages and apt (well over 100 MB): bigger than Alpine or busybox, but a real Debian
# with bash, coreutils and apt-get inside the container. The runtime never picks this one by
# itself; make it by hand and pass --rootfs.
#
# Needs the debootstrap package (sudo apt-get install debootstrap) and root.
# TARGET defaults to rootfs/ at the top of this repository (or $CTR_ROOTFS, like the runtime).
# MIRROR overrides the Debian mirror, e.g. MIRROR=http://ftp.de.debian.org/debian ./debootstrap.sh
set -euo pipefail

SUITE=bookworm
MIRROR=${MIRROR:-http://deb.debian.org/debian}

me=$(basename "$0")
die() {
  echo "$me: $*" >&2
  exit 1
}
say() { echo "$me: $*" >&2; }

# --- Where to build --------------------------------------------------------------------------
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 1 ]; then die "usage: [MIRROR=url] $me [TARGET]  (default: $repo/rootfs)"; fi
target=${1:-${CTR_ROOTFS:-$repo/rootfs}}
case $target in /*) ;; *) target=$PWD/$target ;; esac # absolute: the runtime's --rootfs wants one
while [ "$target" != / ] && [ "${target%/}" != "$target" ]; do target=${target%/}; done

# Never overwrite: the runtime reuses whatever is there, so deleting is left to a human.
if [ -e "$target" ] || [ -L "$target" ]; then
  if ! [ -d "$target" ] || [ -n "$(ls -A "$target")" ]; then
    die "$target already exists and is not empty: delete it (sudo rm -rf $target) or give another path"
  fi
fi
command -v debootstrap >/dev/null || die "debootstrap is not installed: sudo apt-get install debootstrap"
[ "$(id -u)" -eq 0 ] || die "run me as root (sudo $0 ${1:-}): debootstrap installs packages as root"

# --- Temporary directory, removed if anything fails ------------------------------------------
# The rootfs is built in a directory beside TARGET and renamed into place only when complete.
# A rename within one filesystem is atomic, so TARGET is either absent or finished; never a
# half-installed tree that the runtime would then reuse forever.
work=""
cleanup() {
  if [ -z "$work" ]; then return; fi
  # debootstrap mounts /proc, /sys and /dev/pts inside the tree while it installs; if it
  # stopped halfway they may still be mounted. Unmount them first, and let rm stay on this
  # filesystem (--one-file-system) so it can never wander into the host's /proc or /sys.
  for mnt in dev/pts proc sys; do
    if mountpoint -q "$work/$mnt" 2>/dev/null; then umount --lazy "$work/$mnt" || true; fi
  done
  rm -rf --one-file-system -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP # Ctrl-C too: exiting runs the EXIT trap above
mkdir -p "$(dirname "$target")"
work=$(mktemp -d "$target.partial-XXXXXX")
chmod 0755 "$work" # mktemp makes it 0700; a / that only root may enter would surprise

# --- Install ---------------------------------------------------------------------------------
# debootstrap picks this machine's architecture (dpkg --print-architecture) by itself.
say "installing Debian $SUITE (minbase) from $MIRROR into $work: this takes a few minutes"
if ! debootstrap --variant=minbase "$SUITE" "$work" "$MIRROR"; then
  # Its log lives inside the tree that the EXIT trap is about to delete: show the end of it now.
  log=$work/debootstrap/debootstrap.log
  if [ -f "$log" ]; then
    say "last lines of debootstrap.log:"
    tail -n 20 "$log" >&2
  fi
  die "debootstrap failed: is $MIRROR reachable? (set MIRROR=... to use another mirror)"
fi
# -L as well as -e: /bin/sh is often a symlink to /bin/busybox, an absolute path that only
# resolves inside the container; seen from the host it may point nowhere, and -e would say no.
[ -L "$work/bin/sh" ] || [ -e "$work/bin/sh" ] || die "debootstrap finished but left no /bin/sh: not a usable rootfs"

if [ -d "$target" ]; then rmdir "$target"; fi # an empty directory was allowed: make room
mv "$work" "$target"
work="" # renamed into place: nothing left to clean up

say "rootfs ready at $target: Debian $SUITE minbase from $MIRROR"
say "use it with --rootfs $target"
