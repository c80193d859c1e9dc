#!/usr/bin/env bash
# pnpm test:v2: the cgroup suites on a pure cgroup v2 kernel, in a QEMU guest (run.sh), with the
# runtime in a systemd-style service cgroup (guest.sh). This project's own machines are v1 hybrid,
# where the v2 code paths cannot run; most students' machines are v2.
#
#   step 04   the whole suite, against step 04's runtime
#   step 07   its cgroup tests (step 04's properties again, with an init that stays and a user
#             namespace) and the rootless one that must turn --memory into a notice
#   doctor    pnpm run doctor's tests: its facts against what a v2 machine really has
#
# Fails, never skips, when QEMU or the kernel is missing (run.sh says which package to install).
set -euo pipefail
# In braces: bash reads all of it before running any, so an edit during a run cannot shift it.
{
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
started=$(date +%s)
status=0
"$here/run.sh" bash "$here/suites-v2.sh" || status=$?
echo "test:v2: $(($(date +%s) - started)) s on the host, boot included (exit status $status)" >&2
exit "$status"
}
