#!/usr/bin/env bash
# Everything a fresh Linux machine needs before `pnpm --filter NN start`: pnpm itself, the
# workspace's dependencies (exact versions from pnpm-lock.yaml) and the default rootfs; with
# --tests, also what `pnpm test` needs. Safe to run again: each part is skipped when it is there.
#
#   ./setup.sh            a container's needs
#   ./setup.sh --tests    and the test suites'
#   ./setup.sh start      a container's needs, then a shell in a step 03 container
#   ./setup.sh test       the test suites' needs, then every suite (pnpm test; and where the
#                         host is not pure cgroup v2, pnpm test:v2, the cgroup v2 suites in a VM)
#
# It needs root (packages, the rootfs's device nodes, and the containers after it). Run as root
# it goes on; run as a user it runs itself again under sudo, so the README's commands work as
# written both where the user is root and there is no sudo (minimal Debian images, containers,
# many VMs) and on a desktop with sudo.
set -euo pipefail
cd "$(dirname "$0")"

PNPM_VERSION=12.21.0
NODE_MAJOR_MIN=20

say() { printf 'setup: %s\n' "$*" >&2; }

then_run=()
with_tests=false
run_tests=false
case "${1:-}" in
  '') ;;
  --tests) with_tests=true ;;
  start) then_run=(pnpm --filter 03 start) ;;
  test) with_tests=true run_tests=true ;;
  -h | --help)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 0
    ;;
  *)
    say "unknown argument \"$1\": use one of  start, test, --tests  (or none: set up only)"
    exit 2
    ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    say "this needs root, and there is no sudo here: run it as root (su -c './setup.sh${*:+ $*}')"
    exit 1
  fi
  # PATH goes along: under sudo, a Node from nvm or a user's pnpm would not be on root's PATH.
  say "not root: running again under sudo"
  exec sudo env "PATH=$PATH" "$0" "$@"
fi

if ! command -v node >/dev/null 2>&1; then
  say "node is not on this PATH. Install Node.js >= ${NODE_MAJOR_MIN} (https://nodejs.org or your distribution);"
  say "under sudo, a Node from nvm is not on root's PATH: run  sudo env PATH=\"\$PATH\" ./setup.sh"
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt "$NODE_MAJOR_MIN" ]; then
  say "Node.js $(node --version) is too old: this project needs Node.js >= ${NODE_MAJOR_MIN}"
  exit 1
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  say "installing pnpm ${PNPM_VERSION} (npm install -g)"
  npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}" >/dev/null
fi

# apt-get install, with one update first only when the package lists are stale or missing.
apt_install() {
  apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "$@" >/dev/null; }
}

# Installs the Debian packages of the commands it is given as command:package pairs that are not
# on PATH yet, when this is a Debian-family machine; names them otherwise.
install_missing() {
  local why=$1 missing=() tool
  shift
  for tool in "$@"; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (apt-get), for $why"
    apt_install "${missing[@]}"
  else
    say "missing ${missing[*]}: install them with your package manager ($why needs them)"
  fi
}

# Host tools the network step drives (ip, nsenter, nft), its tests use (ping), the C compiler step
# 07 builds its native helper with (gcc, which brings libc6-dev for static test programs), and
# slirp4netns for step 07's rootless networking.
install_missing "steps 05 and 07" ip:iproute2 nsenter:util-linux nft:nftables ping:iputils-ping cc:gcc slirp4netns:slirp4netns

# libseccomp for step 08's seccomp filter (it dlopen()s libseccomp.so.2 through koffi): a library,
# not a command, so the dynamic linker's cache says whether it is there (ldconfig is in /sbin,
# which a user's PATH passed through sudo may lack). Steps 01-07 run without it, so set-up goes on
# when it cannot be installed, and pnpm run doctor names it.
ld_cache=$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true)
case $ld_cache in
  *'libseccomp.so.2 '*) ;;
  *)
    if command -v apt-get >/dev/null 2>&1; then
      say "installing libseccomp2 (apt-get), for step 08"
      apt_install libseccomp2 || say "could not install libseccomp2: step 08 needs it (apt-get install libseccomp2)"
    else
      say "missing libseccomp.so.2: install libseccomp with your package manager (step 08 needs it)"
    fi
    ;;
esac

# What only the test suites need, with --tests: Chromium for the docs' browser test
# (docs/test/browser.test.ts), runc and jq for the runc adapter that the test kit grades
# (test/adapters/runc), and the CNCF distribution registry (Debian's docker-registry) that step
# 09's suite starts on 127.0.0.1 to pull its test images from, and zstd for its zstd layers. A
# student's first container needs none of it.
# A host whose /sys/fs/cgroup is cgroup2 alone runs the v2 paths in pnpm test itself; any other
# (v1, hybrid) proves them in a VM booted on a v2 kernel (test/vm/).
pure_v2=false
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then pure_v2=true; fi
if $run_tests; then
  if $pure_v2; then then_run=(pnpm test); else then_run=(bash -c 'pnpm test && pnpm test:v2'); fi
  # What the user would type: the bash -c wrapper only chains the two for exec.
  then_typed=${then_run[*]: -1}
fi

if $with_tests; then
  install_missing "the test suites" chromium:chromium runc:runc jq:jq docker-registry:docker-registry zstd:zstd
  # pnpm test:v2 (test/vm/), on a host that is not pure cgroup v2 only: the v2 code is proven in
  # a QEMU guest running Debian's kernel. QEMU itself (software CPU: no KVM needed), a static
  # busybox and cpio for the guest's initramfs, modprobe to find the modules' order.
  if ! $pure_v2; then
    install_missing "pnpm test:v2" qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio modprobe:kmod
    # A kernel that is a file, not a command: linux-image-amd64 brings /boot/vmlinuz-* and the 9p,
    # virtio and overlay modules the guest loads. The host keeps booting its own kernel. Where it
    # cannot be had (another distribution), set-up goes on and pnpm test:v2 says what is missing.
    if ! ls /lib/modules/*/kernel/fs/9p >/dev/null 2>&1 || ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
      say "installing linux-image-amd64 (apt-get), for pnpm test:v2 (a kernel to boot in QEMU)"
      if ! apt_install linux-image-amd64 2>/dev/null; then
        say "no linux-image-amd64 here: install your distribution's kernel package with 9p modules (pnpm test:v2 needs one in /boot)"
      fi
    fi
  fi
fi

say "installing dependencies (pnpm install --frozen-lockfile)"
pnpm install --frozen-lockfile --reporter=append-only >/dev/null

say "making sure the default rootfs exists (pnpm rootfs)"
pnpm --silent rootfs >/dev/null
say "done"

if [ ${#then_run[@]} -gt 0 ]; then
  say "running: ${then_typed:=${then_run[*]}}   (next time, that command alone; as a user: sudo ${then_typed//&& /\&\& sudo })"
  exec "${then_run[@]}"
fi
