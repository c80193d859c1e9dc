# shellcheck shell=bash
# lib.sh: what the rootfs scripts in this folder have in common. It is sourced, not run (and so
# not executable): each script does, right after `set -euo pipefail`,
#
#   source "$(dirname "$0")/lib.sh"
#
# It only defines $me, $repo and the functions below; it leaves the shell options to the script.
# Inside a sourced file $0 is still the script's path, so messages name the script, not lib.sh.

me=$(basename "$0")
die() {
  echo "$me: $*" >&2
  exit 1
}
say() { echo "$me: $*" >&2; }

# The top of this repository: the scripts live one level down, in rootfs-scripts/.
repo=$(cd "$(dirname "$0")/.." && pwd)

# --- Where to build --------------------------------------------------------------------------
# choose_target ARG: set $target to ARG, else $CTR_ROOTFS, else rootfs/ at the top of this
# repository: the same default as the runtime's.
choose_target() {
  target=${1:-${CTR_ROOTFS:-$repo/rootfs}}
  case $target in /*) ;; *) target=$PWD/$target ;; esac # absolute: the runtime's --rootfs wants one
  # No trailing slash: "$target.partial-XXXXXX" (make_work_dir) must be beside TARGET, not in it.
  while [ "$target" != / ] && [ "${target%/}" != "$target" ]; do target=${target%/}; done
}

# refuse_existing_target: stop unless $target is absent or an empty directory.
# Never overwrite: the runtime reuses whatever is there, so deleting is left to a human.
refuse_existing_target() {
  if [ -e "$target" ] || [ -L "$target" ]; then
    if ! [ -d "$target" ] || [ -n "$(ls -A "$target")" ]; then
      die "$target already exists and is not empty: delete it (sudo rm -rf $target) or give another path"
    fi
  fi
}

# require_root WHY [ARG...]: stop unless we run as root, saying WHY root is needed and how to run
# again: "sudo <this script> ARG...", ARGs being the script's own arguments as it wants them shown.
require_root() {
  local why=$1
  shift
  [ "$(id -u)" -eq 0 ] || die "run me as root (sudo $0 $*): $why"
}

# --- The work directory, renamed into place when complete ------------------------------------
# The rootfs is built in a directory beside TARGET and renamed into place only when complete.
# A rename within one filesystem is atomic, so TARGET is either absent or finished; never a
# half-made tree that the runtime would then reuse forever.
#
# The script removes $work in its own EXIT trap (set work="" before make_work_dir, trap first),
# since only it knows what else to clean up and how: debootstrap.sh must unmount first.

# make_work_dir: create TARGET's parent if needed, and set $work to a new directory beside TARGET.
make_work_dir() {
  mkdir -p "$(dirname "$target")"
  work=$(mktemp -d "$target.partial-XXXXXX")
  chmod 0755 "$work" # mktemp makes it 0700; a / that only root may enter would surprise
}

# install_work_dir: rename the finished $work to TARGET, and clear $work so the trap keeps it.
install_work_dir() {
  if [ -d "$target" ]; then rmdir "$target"; fi # an empty directory was allowed: make room
  mv "$work" "$target"
  work="" # renamed into place: nothing left to clean up
}

# start_work_and_download_dirs NAME: make $work (beside TARGET) and $download (in $TMPDIR, named
# after NAME), and remove both when the script exits, however it exits. For the scripts that only
# download and unpack (alpine.sh, busybox.sh); the others clean up in their own ways.
start_work_and_download_dirs() {
  work="" download=""
  trap remove_work_and_download_dirs EXIT
  trap 'exit 130' INT TERM HUP # Ctrl-C too: exiting runs the EXIT trap above
  make_work_dir
  download=$(mktemp -d "${TMPDIR:-/tmp}/ctr-$1-XXXXXX")
}
remove_work_and_download_dirs() {
  if [ -n "$work" ]; then rm -rf -- "$work"; fi
  if [ -n "$download" ]; then rm -rf -- "$download"; fi
}
