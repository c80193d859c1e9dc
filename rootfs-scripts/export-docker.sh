#!/usr/bin/env bash
# export-docker.sh [TARGET] [IMAGE]: make a rootfs from any container image, with docker or podman.
#
# An image is a stack of filesystem layers. An engine can flatten them for us: `create` makes a
# container from the image (its layers merged into one tree) without starting it, and `export`
# writes that tree out as a tar stream. Unpacked, it is a rootfs like any other: the runtime
# we build in this workshop needs no image format, only the directory.
#
# IMAGE (second argument, or the IMAGE environment variable) defaults to alpine:3.20.
# TARGET defaults to rootfs/ at the top of this repository (or $CTR_ROOTFS, like the runtime).
# Run as root: the image's files belong to root and other users, and only root can keep that.
set -euo pipefail

# lib.sh provides $me, $repo, die, say, choose_target, refuse_existing_target, require_root,
# make_work_dir and install_work_dir: the steps these scripts share, and the reasons for them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# --- Where to build, from what ---------------------------------------------------------------
if [ $# -gt 2 ]; then die "usage: $me [TARGET] [IMAGE]  (defaults: $repo/rootfs alpine:3.20)"; fi
choose_target "${1:-}"
image=${2:-${IMAGE:-alpine:3.20}}
refuse_existing_target

if command -v docker >/dev/null; then
  engine=docker
elif command -v podman >/dev/null; then
  engine=podman
else
  die "neither docker nor podman is installed: use alpine.sh, busybox.sh or debootstrap.sh instead"
fi
require_root "unpacking must keep the files' owners" "${1:-}" "${2:-}"

# --- Temporary directory and container, removed if anything fails ----------------------------
# The rootfs is built beside TARGET and renamed into place only when complete (lib.sh says why).
work="" container=""
cleanup() {
  if [ -n "$container" ]; then "$engine" rm "$container" >/dev/null || true; fi
  if [ -n "$work" ]; then rm -rf -- "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP # Ctrl-C too: exiting runs the EXIT trap above
make_work_dir

# --- Create (never start) a container, export its filesystem ---------------------------------
say "creating a container from $image with $engine (pulls the image if needed)"
# The container is never started: the command "true" is only there for images that have no
# default command, which `create` would otherwise refuse.
container=$("$engine" create "$image" true) ||
  die "$engine create $image failed (see above): is the $engine daemon running, the image name right?"
say "exporting container ${container:0:12} into $work"
# As root, tar restores each file's owner and mode (-p). --numeric-owner keeps the uid/gid numbers
# written in the archive instead of looking their names up in the *host's* /etc/passwd, whose
# users have nothing to do with the container's.
if ! "$engine" export "$container" | tar -xpf - -C "$work" --numeric-owner; then
  die "$engine export $container | tar -x failed (see above)"
fi
"$engine" rm "$container" >/dev/null
container=""

# The engine may leave an empty /.dockerenv (docker) or /run/.containerenv (podman), which tell
# programs they run under it. Under our runtime that would be a lie: remove them.
rm -f -- "$work/.dockerenv" "$work/run/.containerenv"
# -L as well as -e: /bin/sh is often a symlink to /bin/busybox, an absolute path that only
# resolves inside the container; seen from the host it may point nowhere, and -e would say no.
if ! [ -L "$work/bin/sh" ] && ! [ -e "$work/bin/sh" ]; then
  say "note: $image has no /bin/sh: the runtime refuses that as its default rootfs; use --rootfs"
fi

install_work_dir

say "rootfs ready at $target: the filesystem of $image, exported with $engine"
say "use it with --rootfs $target"
