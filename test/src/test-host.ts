/**
 * "The internet", played by a network namespace the test makes: a veth from the host to it on
 * 198.18.0.0/30 (a range reserved for benchmarks, RFC 2544), and a TCP server in it that answers
 * with the address it sees the connection come from. Traffic to it never leaves this machine.
 */
import { execFileSync, spawn } from 'node:child_process';

export interface TestHost {
  /** The test host's address, to connect to from a container. */
  address: string;
  /** The host's end of the veth: what the test host sees when NAT works. */
  hostAddress: string;
  port: number;
  stop(): void;
}

export async function startTestHost(port: number): Promise<TestHost> {
  const ns = `ctrtest-${process.pid}`;
  const hostEnd = `vt${process.pid % 100000}h`;
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  execFileSync('ip', ['addr', 'add', '198.18.0.1/30', 'dev', hostEnd]);
  execFileSync('ip', ['link', 'set', hostEnd, 'up']);
  execFileSync('ip', ['-n', ns, 'addr', 'add', '198.18.0.2/30', 'dev', 'eth0']);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  // Before any packet: the test host's address must route through our veth, nowhere else.
  const route = execFileSync('ip', ['route', 'get', '198.18.0.2'], { encoding: 'utf8' });
  if (!route.includes(`dev ${hostEnd}`)) throw new Error(`198.18.0.2 does not route through ${hostEnd}: ${route}`);
  const program = `require('net').createServer(s=>s.end('seen-from '+s.remoteAddress.replace('::ffff:','')+'\\n')).listen(${port},'198.18.0.2',()=>console.log('listening'))`;
  const server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', program], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
  return {
    address: '198.18.0.2',
    hostAddress: '198.18.0.1',
    port,
    stop() {
      server.kill();
      execFileSync('ip', ['link', 'delete', hostEnd]);
      execFileSync('ip', ['netns', 'delete', ns]);
    },
  };
}
