#!/usr/bin/env bash
# Runs one command as root in a QEMU guest with Debian's kernel on a pure cgroup v2 hierarchy,
# with the host's / (and so this repository) as its root, read-only under a tmpfs overlay.
# Prints the command's stdout and stderr and exits with its status.
#
#   test/vm/run.sh <command> [args...]        (pnpm vm -- <command> [args...])
#
# Environment: CTR_VM_MEMORY (MiB, default 3072), CTR_VM_KERNEL (a version in /lib/modules),
# CTR_VM_ENV (names of host variables to pass on, besides PATH, HOME, TERM, CI and LANG).
set -euo pipefail
# In braces: bash reads all of it before running any, so an edit during a run cannot shift it.
{
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

say() { printf 'ctr-vm: %s\n' "$*" >&2; }
# pnpm passes on the -- of `pnpm vm -- <command>` in some versions and drops it in others.
[ "${1:-}" != -- ] || shift
[ $# -gt 0 ] || { say "no command given: use  pnpm vm -- <command> [args...]"; exit 125; }

qemu=$(command -v qemu-system-x86_64 || true)
if [ -z "$qemu" ]; then
  say "qemu-system-x86_64 is not installed: install Debian's qemu-system-x86 (./setup.sh --tests does)"
  exit 125
fi
# The newest Debian kernel whose modules are installed: its vmlinuz boots, its modules supply
# 9p and overlay. Which kernel the host itself runs does not matter: the guest mounts cgroup2 alone.
kernel_version=${CTR_VM_KERNEL:-}
if [ -z "$kernel_version" ]; then
  for vmlinuz in $(ls -v /boot/vmlinuz-* 2>/dev/null | tac); do
    candidate=${vmlinuz#/boot/vmlinuz-}
    [ -d "/lib/modules/$candidate/kernel/fs/9p" ] && kernel_version=$candidate && break
  done
fi
if [ -z "$kernel_version" ] || [ ! -r "/boot/vmlinuz-$kernel_version" ]; then
  say "no bootable kernel with 9p modules in /boot and /lib/modules: install Debian's linux-image-amd64 (./setup.sh --tests does)"
  exit 125
fi

run_dir=$(mktemp -d /tmp/ctr-vm.XXXXXX)
qemu_pid= copiers=
cleanup() {
  # Killed midway (Ctrl-C, a CI timeout): QEMU goes with us, and with it the whole guest; the
  # guest wrote only to its tmpfs and to run_dir, so removing run_dir leaves the host as it was.
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill -TERM "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  for pid in $copiers; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

"$here/initramfs.sh" "$kernel_version" "$run_dir/initramfs.cpio.gz"

# The command, as a script the guest runs with bash: same directory, same arguments, the host's
# PATH (node and pnpm are found where they are on the host, through the 9p root).
{
  # Under `pnpm vm`, INIT_CWD is where it was typed (pnpm runs scripts from the repository's root).
  cwd=$PWD
  [ "${npm_lifecycle_event:-}" = vm ] && [ -n "${INIT_CWD:-}" ] && cwd=$INIT_CWD
  printf 'cd %q || exit 125\n' "$cwd"
  for name in PATH HOME TERM CI LANG ${CTR_VM_ENV:-}; do
    [ -n "${!name+set}" ] && printf 'export %s=%q\n' "$name" "${!name}"
  done
  printf 'export CTR_VM=1\n'
  # The guest runs 6-12x slower than its host: the test kit's waits stretch by this factor.
  printf 'export CTR_TEST_SLOWNESS=%q\n' "${CTR_TEST_SLOWNESS:-10}"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$run_dir/command"

# TCG, QEMU's software CPU, not KVM: /dev/kvm exists on this project's machines, but QEMU aborts
# there ("failed to set MSR 0x10a", with -cpu max and -cpu host alike: the cloud VM's nested
# virtualisation does not offer what QEMU sets up). TCG is 6-12x slower and needs nothing from the
# host kernel, so it behaves the same on every machine.
console_log=$run_dir/console.log
# -serial: the guest's console (kernel messages, init's errors) goes to a file, kept on failure.
# virtio ports: the command's stdout and stderr, byte for byte, through FIFOs that cat copies to
# ours. Not /proc/self/fd/1: QEMU would open it as a new file description, whose offset is not
# ours, and when our stdout is a file, its writes and ours would overwrite each other.
# -no-reboot: the guest's reboot -f ends QEMU.
mkfifo "$run_dir/stdout" "$run_dir/stderr"
cat "$run_dir/stdout" &
copiers=$!
cat "$run_dir/stderr" >&2 &
copiers="$copiers $!"
"$qemu" \
  -accel tcg,thread=multi -cpu max -smp "$(nproc)" -m "${CTR_VM_MEMORY:-3072}" \
  -nodefaults -no-user-config -nographic -no-reboot \
  -kernel "/boot/vmlinuz-$kernel_version" \
  -initrd "$run_dir/initramfs.cpio.gz" \
  -append "console=ttyS0 loglevel=4 panic=-1 cgroup_no_v1=all ctrvm_stage2=$here/guest.sh" \
  -serial "file:$console_log" \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap" \
  -virtfs "local,path=$run_dir,mount_tag=vmio,security_model=passthrough" \
  -device virtio-serial-pci \
  -chardev "file,id=stdout,path=$run_dir/stdout" -device virtserialport,chardev=stdout,name=ctr-vm.stdout \
  -chardev "file,id=stderr,path=$run_dir/stderr" -device virtserialport,chardev=stderr,name=ctr-vm.stderr \
  </dev/null &
qemu_pid=$!
wait "$qemu_pid" || true
qemu_pid=
# QEMU closed the FIFOs: the copiers end once they have passed on the last bytes.
wait $copiers || true
copiers=

if [ ! -f "$run_dir/status" ]; then
  mkdir -p "$repo/test-results"
  kept=$repo/test-results/vm-console.log
  cp "$console_log" "$kept" 2>/dev/null || : >"$kept"
  say "the guest stopped before the command finished; its console is in $kept"
  tail -n 5 "$kept" | sed 's/^/ctr-vm:   /' >&2
  exit 125
fi
exit "$(cat "$run_dir/status")"
}
