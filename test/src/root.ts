/** The suites create real namespaces, mounts and cgroups: without root they fail, loudly. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('these tests need root: run them as root (sudo pnpm test); they are not skipped');
  }
}
