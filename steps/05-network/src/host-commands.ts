/**
 * The host side is driven with the same commands a person would type (iproute2's `ip`,
 * util-linux's `nsenter`, nftables' `nft`), so every step can be replayed and inspected by hand
 * (`ip link`, `nft list table ip ctr`). A netlink library would save a few milliseconds of
 * process start-up and hide exactly what this step is about.
 */
import { hostCommand, onPath, RuntimeError } from '@ctr/runtime';

export function run(command: string, args: readonly string[], input?: string): string {
  const result = hostCommand(command, args, input);
  if (result.error) throw new RuntimeError(`cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    // nft prints its error, then the offending line, then a line of ^^^ under it: keep the error.
    const lines = result.stderr.split('\n').filter((line) => line.trim() && !/^[\s^~]*$/.test(line));
    const reason = lines.find((line) => /error/i.test(line)) ?? lines.pop() ?? `exit status ${result.status}`;
    throw new RuntimeError(`${command} ${args.join(' ')} failed: ${reason}`);
  }
  return result.stdout;
}

/** The tools a network mode needs, and the Debian/Ubuntu package of each. */
const PACKAGES: Record<string, string> = { ip: 'iproute2', nsenter: 'util-linux', nft: 'nftables' };

/** Checked before anything is created, so a missing tool costs nothing to fix. */
export function requireTools(mode: string, commands: readonly string[]): void {
  const missing = commands.filter((command) => !onPath(command));
  if (missing.length > 0) {
    const packages = missing.map((command) => PACKAGES[command] ?? command).join(' ');
    throw new RuntimeError(
      `--net ${mode} needs ${missing.join(', ')}: install them (Debian/Ubuntu: apt-get install ${packages})`,
    );
  }
}

/** `ip` commands run inside the network namespace of process `pid` (the container's init). */
export function ipInside(pid: number, commands: readonly string[]): void {
  run('nsenter', ['--target', String(pid), '--net', '--', 'ip', '-batch', '-'], `${commands.join('\n')}\n`);
}
