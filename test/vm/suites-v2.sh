#!/usr/bin/env bash
# Runs in the guest (see test-v2.sh): each suite in turn, each with its own summary line.
set -uo pipefail
cd "$(dirname "$0")/../.."
vitest=$PWD/node_modules/.bin/vitest
echo "guest: $(uname -r), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup), this shell in $(cut -d: -f3 /proc/self/cgroup), up $(cut -d' ' -f1 /proc/uptime) s"
# Each step's runtime from its esbuild bundle, not through tsx: the same code, but tsx's start-up
# costs 6-11 s per start in this guest, and a suite starts a container 150 times or more.
export CTR_TEST_ENTRY=bundle
status=0
# suite NAME DIR [vitest args...]: one package's suite, in its directory with its own vitest
# config (as `pnpm --filter NN test` runs it).
suite() {
  local name=$1 dir=$2 started=$SECONDS
  shift 2
  echo "== $name"
  (
    cd "$dir" || exit 1
    # A step's runtime: one start through tsx makes the bundle, or finds it fresh
    # (shared/runtime/src/fast-start.ts).
    if [ -f src/main.ts ]; then node --import tsx src/main.ts start /bin/true || exit 1; fi
    "$vitest" run "$@"
  ) || status=1
  echo "== $name: $((SECONDS - started)) s in the guest"
}
suite "step 04, the whole suite" steps/04-cgroups
# -t keeps step 07's cgroup tests; the rest of its suite (user namespaces, networking) is what the
# host runs, and it has nothing v2-specific. The summary counts the tests left out as skipped.
suite "step 07, its cgroup tests" steps/07-userns -t 'step 07: cgroup|degrades what needs host privileges'
# pnpm run doctor's facts (cgroup layout, controllers, delegation) checked against a v2 machine.
suite "doctor" shared/doctor
exit "$status"
