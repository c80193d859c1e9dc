/** Rootless networking in user mode (rootless.ts): slirp4netns serves the container's tap0. */
import { spawn } from 'node:child_process';
import { type Cleanup, RuntimeError } from '@ctr/runtime';
import { trace } from '@ctr/syscalls';

/**
 * slirp4netns joins the container's user and network namespaces, makes tap0 there (10.0.2.100/24,
 * gateway 10.0.2.2) and carries its traffic through sockets of the host's network stack, as the
 * user. It says "1" on its ready fd once tap0 is configured; it is stopped at clean-up.
 */
export async function startSlirp4netns(pid: number, cleanup: Cleanup): Promise<void> {
  const args = [
    '--configure',
    '--mtu=65520',
    '--disable-host-loopback',
    `--userns-path=/proc/${pid}/ns/user`,
    '--ready-fd=3',
    String(pid),
    'tap0',
  ];
  trace(`$ slirp4netns ${args.join(' ')} &`);
  const slirp = spawn('slirp4netns', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => slirp.once('exit', () => resolve()));
  cleanup.defer('stop slirp4netns', async () => {
    slirp.kill();
    await exited;
  });
  let stderr = '';
  slirp.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => slirp.stdio[3]?.once('data', () => resolve(true))),
    exited.then(() => false),
  ]);
  if (!ready) throw new RuntimeError(`slirp4netns failed: ${stderr.trim().split('\n').pop() ?? 'it exited'}`);
}
