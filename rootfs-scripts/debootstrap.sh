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

# lib.sh provides $me, $repo, die, say, choose_target, refuse_existing_target, require_root,
# make_work_dir and install_work_dir: the steps these scripts share, and the reasons for them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# --- Where to build --------------------------------------------------------------------------
if [ $# -gt 1 ]; then die "usage: [MIRROR=url] $me [TARGET]  (default: $repo/rootfs)"; fi
choose_target "${1:-}"
refuse_existing_target
command -v debootstrap >/dev/null || die "debootstrap is not installed: sudo apt-get install debootstrap"
require_root "debootstrap installs packages as root" "${1:-}"

# --- Temporary directory, removed if anything fails ------------------------------------------
# The rootfs is built beside TARGET and renamed into place only when complete (lib.sh says why).
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
make_work_dir

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

install_work_dir

say "rootfs ready at $target: Debian $SUITE minbase from $MIRROR"
say "use it with --rootfs $target"
