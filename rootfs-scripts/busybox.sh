#!/usr/bin/env bash
# busybox.sh [TARGET]: make a minimal rootfs around one static busybox binary.
#
# busybox is a single program that contains ~300 small tools (sh, ls, cat, ps, mount...). It
# picks the tool to run from the name it was started under, so one binary plus one symlink per
# tool ("applet") is a whole userland. We need a *static* busybox: a dynamically linked program
# asks the kernel to start its loader (/lib/ld-linux...) and libc first, and those would not
# exist inside the new /. A static binary carries everything it needs and runs alone.
#
# Where the binary comes from, as in the runtime (shared/rootfs/src/sources.ts, busybox.ts):
#   1. Debian's busybox-static package, fetched with `apt-get download` and unpacked with
#      `dpkg-deb -x` into a temporary directory: nothing is installed on this machine;
#   2. otherwise the host's own busybox, if it is statically linked.
#
# TARGET defaults to rootfs/ at the top of this repository (or $CTR_ROOTFS, like the runtime).
set -euo pipefail

# lib.sh provides $me, $repo, die, say, choose_target, refuse_existing_target, require_root,
# make_work_dir and install_work_dir: the steps these scripts share, and the reasons for them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# --- Where to build --------------------------------------------------------------------------
if [ $# -gt 1 ]; then die "usage: $me [TARGET]  (default: $repo/rootfs)"; fi
choose_target "${1:-}"
refuse_existing_target

# --- Temporary directories, removed if anything fails ----------------------------------------
# The rootfs is built beside TARGET and renamed into place only when complete (lib.sh says why).
start_work_and_download_dirs busybox

# --- Is a binary static? ---------------------------------------------------------------------
# A dynamically linked executable names its loader in an ELF program header of type INTERP
# ("Requesting program interpreter: /lib64/ld-linux-x86-64.so.2"); a static one has none.
is_static() {
  local headers
  if command -v readelf >/dev/null; then
    headers=$(readelf --program-headers --wide "$1" 2>/dev/null) || return 1 # not ELF at all
    if grep -q INTERP <<<"$headers"; then return 1; fi
    return 0
  elif command -v file >/dev/null; then
    file --dereference "$1" | grep -Eq 'statically linked|static-pie linked'
  else
    die "cannot tell whether $1 is static: install binutils (readelf) or file"
  fi
}

# --- 1. Debian's busybox-static package ------------------------------------------------------
busybox="" describe=""
if command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; then
  say "fetching busybox-static with apt-get download (into $download, nothing is installed)"
  # apt-get download saves the .deb in the current directory, hence the cd in a subshell.
  if ! (cd "$download" && apt-get download busybox-static) 2>"$download/apt.err"; then
    # Only a fresh container or VM whose package lists were never fetched needs this.
    if grep -Eq 'Unable to locate|has no installation candidate' "$download/apt.err"; then
      if [ "$(id -u)" -ne 0 ]; then
        say "apt's package lists do not know busybox-static yet, and apt-get update needs root"
      else
        say "apt's package lists do not know busybox-static yet: running apt-get update"
        apt-get update || true # if it fails, the retry below says why
        (cd "$download" && apt-get download busybox-static) 2>"$download/apt.err" || true
      fi
    fi
  fi
  deb=$(find "$download" -maxdepth 1 -name '*.deb' | head -n 1)
  if [ -n "$deb" ]; then
    say "unpacking $(basename "$deb") with dpkg-deb -x"
    dpkg-deb -x "$deb" "$download/pkg"
    busybox=$download/pkg/bin/busybox
    describe="a static busybox from Debian's busybox-static package"
  else
    say "apt-get download busybox-static failed: $(grep -v '^W:' "$download/apt.err" | tail -n 1)"
  fi
else
  say "apt-get and dpkg-deb are not here (not a Debian-family host)"
fi

# --- 2. The host's own busybox, if it is static ----------------------------------------------
if [ -z "$busybox" ]; then
  for candidate in /bin/busybox /usr/bin/busybox /sbin/busybox /usr/sbin/busybox; do
    [ -e "$candidate" ] || continue
    if is_static "$candidate"; then
      busybox=$candidate
      describe="the host's own static busybox ($candidate)"
    else
      say "$candidate is dynamically linked and would not run alone in a rootfs"
    fi
    break
  done
fi
[ -n "$busybox" ] || die "no static busybox found: try alpine.sh or export-docker.sh, or install busybox-static"
say "using $describe"

# --- Build the tree --------------------------------------------------------------------------
# The directories programs expect; proc, sys and dev stay empty: the runtime mounts them later.
for sub in bin sbin usr/bin usr/sbin etc root home proc sys dev var/tmp tmp; do
  mkdir -p "$work/$sub"
done
chmod 1777 "$work/tmp" # everyone may write, only the owner may delete (the "sticky" bit)
chmod 0700 "$work/root"
cp "$busybox" "$work/bin/busybox"
chmod 0755 "$work/bin/busybox"

# The static binary runs here on the host too, so it can list its own applets with their
# usual paths: "bin/ls", "usr/bin/wc"... Each becomes a symlink to /bin/busybox. The link is
# absolute on purpose: it is resolved inside the container, where /bin/busybox is ours.
applets=$("$busybox" --list-full)
count=0
while IFS= read -r applet; do
  [ -n "$applet" ] || continue
  link=$work/$applet
  if [ -e "$link" ] || [ -L "$link" ]; then continue; fi
  mkdir -p "$(dirname "$link")"
  ln -s /bin/busybox "$link"
  count=$((count + 1))
done <<<"$applets"
say "linked $count applets to /bin/busybox"

# A few files in /etc that many programs read: who root is, our own name, and an empty DNS
# configuration (the container has no network until the runtime gives it one).
cat >"$work/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$work/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$work/etc/hosts"
echo ctr >"$work/etc/hostname"
: >"$work/etc/resolv.conf"
cat >"$work/etc/os-release" <<'EOF'
NAME="busybox"
ID=busybox
PRETTY_NAME="busybox rootfs (ctr-workshop)"
EOF

install_work_dir

say "rootfs ready at $target: $describe"
say "use it with --rootfs $target"
