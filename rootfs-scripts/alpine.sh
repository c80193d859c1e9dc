#!/usr/bin/env bash
# alpine.sh [TARGET]: make a rootfs from Alpine Linux's "minirootfs" tarball.
#
# This is the recipe the runtime tries first (shared/rootfs/src/sources.ts): Alpine publishes a
# ~3 MB tarball that is a complete, tiny Linux userland (busybox, musl libc, apk). We download
# one pinned release, check it against a pinned sha256, and unpack it.
#
# TARGET defaults to rootfs/ at the top of this repository (or $CTR_ROOTFS, like the runtime).
# Run as root: the tarball's files belong to root and other users, and only root can keep that.
set -euo pipefail

ALPINE_VERSION=3.20.3
ALPINE_MINOR=${ALPINE_VERSION%.*} # 3.20
# The checksums come from Alpine's own .sha256 files for this release. Pinning them here means a
# tampered or truncated download is refused instead of becoming the / of every container.
SHA256_X86_64=d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c
SHA256_AARCH64=041fa34a81788242df9e78fa69b97ab45b8ec47ddbf88864755610414a7bf3de

# lib.sh provides $me, $repo, die, say, choose_target, refuse_existing_target, require_root,
# make_work_dir and install_work_dir: the steps these scripts share, and the reasons for them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# --- Where to build --------------------------------------------------------------------------
if [ $# -gt 1 ]; then die "usage: $me [TARGET]  (default: $repo/rootfs)"; fi
choose_target "${1:-}"
refuse_existing_target
require_root "unpacking must keep the files' owners" "${1:-}"

# --- Which tarball ---------------------------------------------------------------------------
machine=$(uname -m)
case $machine in
  x86_64) arch=x86_64 sha256=$SHA256_X86_64 ;;
  aarch64 | arm64) arch=aarch64 sha256=$SHA256_AARCH64 ;;
  *) die "no pinned Alpine minirootfs for $machine (only x86_64 and aarch64): try busybox.sh or export-docker.sh" ;;
esac
file=alpine-minirootfs-$ALPINE_VERSION-$arch.tar.gz
url=https://dl-cdn.alpinelinux.org/alpine/v$ALPINE_MINOR/releases/$arch/$file

# --- Temporary directories, removed if anything fails ----------------------------------------
# The rootfs is built beside TARGET and renamed into place only when complete (lib.sh says why).
start_work_and_download_dirs alpine

# --- Download --------------------------------------------------------------------------------
say "downloading $url"
# --connect-timeout: a host with no route fails at once, but one that drops packets would hang.
if command -v curl >/dev/null; then
  curl --fail --location --connect-timeout 10 --progress-bar --output "$download/$file" "$url" ||
    die "could not download $url (curl exit $?): no internet? try busybox.sh or export-docker.sh instead"
elif command -v wget >/dev/null; then
  wget --timeout=10 --tries=1 --output-document="$download/$file" "$url" ||
    die "could not download $url (wget exit $?): no internet? try busybox.sh or export-docker.sh instead"
else
  die "neither curl nor wget is installed: apt-get install curl"
fi

# --- Verify ----------------------------------------------------------------------------------
actual=$(sha256sum "$download/$file" | cut -d ' ' -f 1)
if [ "$actual" != "$sha256" ]; then
  die "checksum mismatch for $file: expected $sha256, got $actual (refusing to unpack it)"
fi
say "sha256 ok: $sha256"

# --- Unpack ----------------------------------------------------------------------------------
# As root, tar restores each file's owner and mode (-p). --numeric-owner keeps the uid/gid numbers
# written in the archive instead of looking their names up in the *host's* /etc/passwd, whose
# users have nothing to do with the container's.
tar -xzpf "$download/$file" -C "$work" --numeric-owner
# -L as well as -e: /bin/sh is often a symlink to /bin/busybox, an absolute path that only
# resolves inside the container; seen from the host it may point nowhere, and -e would say no.
[ -L "$work/bin/sh" ] || [ -e "$work/bin/sh" ] || die "the tarball has no /bin/sh: not a usable rootfs"

install_work_dir

say "rootfs ready at $target: Alpine Linux $ALPINE_VERSION minirootfs ($arch)"
say "use it with --rootfs $target"
