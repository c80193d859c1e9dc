/**
 * What step 05 promises, on the real kernel. Traffic stays on this machine: between the host, the
 * containers on the bridge, and a test host the suite makes in a network namespace of its own.
 */

import { execFileSync } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  added,
  CONTRACT,
  containerPid1,
  describeLeftovers,
  hint,
  hostState,
  namespaceOf,
  REFERENCE,
  REPO,
  run,
  scaled,
  settledLeftovers,
  sleepIn,
  startContainer,
  startTestHost,
  type TestHost,
  task,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Connects (retrying while the server starts) and returns all the server sent. `serving`: false
 * once the server can no longer start (its runtime exited), which ends the retries at once.
 */
async function fetchTcp(
  host: string,
  port: number,
  timeoutMs = scaled(10_000),
  serving: () => boolean = () => true,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket: Socket = connect({ host, port });
        let data = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => {
          data += chunk;
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(data));
        socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
      });
    } catch (error) {
      if (!serving())
        throw new Error(`no answer from ${host}:${port}, and the runtime has exited: ${(error as Error).message}`);
      if (Date.now() > deadline) throw new Error(`no answer from ${host}:${port}: ${(error as Error).message}`);
      await sleep(50);
    }
  }
}

const addressIn = (output: string): string => {
  const address = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(output)?.[1];
  if (!address) throw new Error(`no address in: ${output}`);
  return address;
};

/** veths, leases and published-port rules on the host: what a container must not leave behind. */
function networkLeftovers() {
  const veths = execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => /vctr/.test(line));
  const leases = (() => {
    try {
      return execFileSync('find', ['/run/ctr', '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    } catch {
      return [];
    }
  })();
  const rules = (() => {
    try {
      return execFileSync('nft', ['list', 'table', 'ip', 'ctr'], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => /dnat to/.test(line));
    } catch {
      return [];
    }
  })();
  return { veths, leases, rules };
}

/**
 * Runs `body` while another container (`sleep <seconds>`) holds a port on the bridge, as other
 * containers would on a real host: the bridge, its MAC and the nftables table stay.
 */
async function whileAnotherRuns(step: string, seconds: number, body: () => Promise<void>): Promise<void> {
  const keeper = startContainer(step, ['sleep', String(seconds)]);
  const keeperSleep = await sleepIn(keeper, seconds);
  try {
    await body();
  } finally {
    process.kill(keeperSleep, 'SIGKILL');
    await keeper.result;
  }
}

export function networkProperties(step: string): void {
  describe(`step ${step}: --net none`, CONTRACT, () => {
    it('has only lo, and lo is up', task('05.1'), async () => {
      const result = await run(step, [
        '--net',
        'none',
        '/bin/sh',
        '-c',
        'ls /sys/class/net; cat /sys/class/net/lo/flags; ping -c1 -W2 127.0.0.1 >/dev/null && echo lo-works',
      ]);
      expect(result).toExit(0);
      const [devices, flags, works] = [
        result.stdout.split('\n').slice(0, 1),
        result.stdout.split('\n')[1],
        result.stdout.split('\n')[2],
      ];
      expect(devices).toEqual(['lo']);
      expect(Number(flags) & 0x1).toBe(1); // IFF_UP
      expect(works).toBe('lo-works');
    });
  });

  describe(`step ${step}: --net host`, CONTRACT, () => {
    it("shares the host's network namespace", async () => {
      const result = await run(step, ['--net', 'host', 'readlink', '/proc/self/ns/net']);
      expect(result.stdout.trim()).toBe(namespaceOf('self', 'net'));
    });
  });

  describe(`step ${step}: --net bridge (the default)`, CONTRACT, () => {
    it('gives the container eth0 with an address, and a default route via the bridge', task('05.2'), async () => {
      const result = await run(step, ['/bin/sh', '-c', 'ls /sys/class/net; ip -o -4 addr show eth0; ip route']);
      expect(result).toExit(0);
      expect(result.stdout).toMatch(/^eth0\nlo\n/);
      expect(result.stdout).toMatch(/default via \d+\.\d+\.\d+\.\d+ dev eth0/);
    });

    it('is reachable from the host: ping and a TCP connection to its address', task('05.2'), async () => {
      const container = startContainer(step, [
        '/bin/sh',
        '-c',
        'ip -o -4 addr show eth0; exec nc -l -p 7001 -e echo pong',
      ]);
      await container.waitForOutput('inet ');
      const address = addressIn(container.stdout());
      const ping = execFileSync('ping', ['-c', '1', '-W', '2', address], { encoding: 'utf8' });
      expect(ping).toMatch(/1 received/);
      expect(await fetchTcp(address, 7001)).toBe('pong\n');
      expect(await container.result).toExit(0);
    });

    it('answers the host at once on an address that a container which just ended had', REFERENCE, async () => {
      // The host caches the first container's MAC for this address (REACHABLE, up to 45 s) and
      // does not ask again: the next container on the address must answer to the same MAC. The
      // keeper holds a port on the bridge throughout, as other containers would: a bridge that
      // loses its last port (or its lowest MAC) changes its own MAC and flushes that cache.
      await whileAnotherRuns(step, 3502, async () => {
        const listen = (reply: string) =>
          startContainer(step, ['/bin/sh', '-c', `ip -o -4 addr show eth0; exec nc -l -p 7005 -e echo ${reply}`]);
        const first = listen('first');
        await first.waitForOutput('inet ');
        const address = addressIn(first.stdout());
        expect(await fetchTcp(address, 7005)).toBe('first\n');
        await first.result;
        const second = listen('second');
        await second.waitForOutput('inet ');
        expect(addressIn(second.stdout()), 'the freed address is handed out again (the lowest free one)').toBe(address);
        expect(await fetchTcp(address, 7005, 3000)).toBe('second\n');
        await second.result;
      });
    });

    it("reaches the host's bridge address: ping and a TCP connection", task('05.2'), async () => {
      const probe = await run(step, ['/bin/sh', '-c', "ip route | awk '/default/ {print $3}'"]);
      const gateway = probe.stdout.trim();
      const server = createServer((socket) => socket.end('hello-from-host\n'));
      await new Promise<void>((resolve) => server.listen(7002, gateway, resolve));
      try {
        const result = await run(step, [
          '/bin/sh',
          '-c',
          `ping -c1 -W2 ${gateway} >/dev/null && echo ping-ok; nc ${gateway} 7002`,
        ]);
        expect(result.stdout).toBe('ping-ok\nhello-from-host\n');
      } finally {
        server.close();
      }
    });

    it('gives containers started at once different addresses, and they reach each other', task('05.5'), async () => {
      const containers = Array.from({ length: 4 }, (_, i) =>
        startContainer(step, ['/bin/sh', '-c', `ip -o -4 addr show eth0; exec nc -l -p 7003 -e echo from-${i}`]),
      );
      await Promise.all(containers.map((c) => c.waitForOutput('inet ')));
      const addresses = containers.map((c) => addressIn(c.stdout()));
      expect(new Set(addresses).size).toBe(4);
      const reply = await run(step, ['/bin/sh', '-c', `nc ${addresses[2]} 7003`]);
      expect(reply.stdout).toBe('from-2\n');
      // The others still listen: answering ends them.
      for (const [i, address] of addresses.entries()) if (i !== 2) await fetchTcp(address, 7003);
      await Promise.all(containers.map((c) => c.result));
    });

    it('publishes a port: -p HOST:CONTAINER answers on the host', task('05.4'), async () => {
      const hostPort = await freePort();
      const container = startContainer(step, [
        '-p',
        `${hostPort}:80`,
        'nc',
        '-l',
        '-p',
        '80',
        '-e',
        'echo',
        'published',
      ]);
      const serving = () => container.runtime.exitCode === null && container.runtime.signalCode === null;
      expect(await fetchTcp('127.0.0.1', hostPort, scaled(10_000), serving)).toBe('published\n');
      expect(await container.result).toExit(0);
    });

    it('refuses to publish a host port that another container holds', task('05.5'), async () => {
      const hostPort = await freePort();
      const first = startContainer(step, ['-p', `${hostPort}:80`, '/bin/sh', '-c', 'echo ready; exec sleep 3501']);
      await first.waitForOutput('ready');
      const second = await run(step, ['-p', `${hostPort}:81`, '/bin/true']);
      process.kill(containerPid1(first.runtime.pid as number) as number, 'SIGKILL');
      await first.result;
      expect(second).toFailCleanly({ naming: [String(hostPort)] });
    });
  });

  describe(`step ${step}: NAT, proven with a test host of our own`, CONTRACT, () => {
    let internet: TestHost;
    beforeAll(async () => {
      internet = await startTestHost(7004);
    });
    afterAll(() => internet?.stop());

    it(
      "reaches a host beyond the bridge, which sees the host's address, not the container's",
      task('05.3'),
      async () => {
        const result = await run(step, [
          '/bin/sh',
          '-c',
          `ip -o -4 addr show eth0; nc ${internet.address} ${internet.port}`,
        ]);
        expect(result).toExit(0);
        const containerAddress = addressIn(result.stdout);
        expect(result.stdout).toContain(`seen-from ${internet.hostAddress}\n`);
        expect(result.stdout).not.toContain(`seen-from ${containerAddress}`);
      },
    );
  });

  describe(`step ${step}: nothing left on the host`, CONTRACT, () => {
    it(
      'leaves the host as it found it after bridged containers with published ports end or are killed',
      task('05.4'),
      async () => {
        // The first run may set up what containers share (a bridge, a NAT table); the rest must not add to it.
        await run(step, ['-p', `${await freePort()}:80`, '/bin/true']);
        const before = hostState();
        await run(step, ['-p', `${await freePort()}:80`, '/bin/true']);
        const container = startContainer(step, ['-p', `${await freePort()}:80`, 'sleep', '3505']);
        process.kill(await sleepIn(container, 3505), 'SIGKILL');
        expect(await container.result).toExit(137);
        expect(
          describeLeftovers(await settledLeftovers(before)),
          hint("a container's veth, its address, its port rules and its namespace go when it ends"),
        ).toBe('');
      },
    );

    it('removes the veth, the leases and the port rules after a normal exit and after SIGKILL', REFERENCE, async () => {
      const before = networkLeftovers();
      await run(step, ['-p', `${await freePort()}:80`, '/bin/true']);
      const container = startContainer(step, ['-p', `${await freePort()}:80`, 'sleep', '3502']);
      process.kill(await sleepIn(container, 3502), 'SIGKILL');
      expect(await container.result).toExit(137);
      const after = networkLeftovers();
      expect({
        veths: added(before.veths, after.veths),
        leases: added(before.leases, after.leases),
        rules: added(before.rules, after.rules),
      }).toEqual({ veths: [], leases: [], rules: [] });
    });

    it(
      'after a SIGKILLed runtime, `pnpm clean` removes its lease and port rules, and the port works again',
      REFERENCE,
      async () => {
        const hostPort = await freePort();
        const forThisPort = () => networkLeftovers().rules.filter((rule) => rule.includes(`dport ${hostPort} `));
        // While another container runs, the table stays: the stale rules must go one by one.
        await whileAnotherRuns(step, 3504, async () => {
          const killed = startContainer(step, ['-p', `${hostPort}:80`, '/bin/sh', '-c', 'echo ready; exec sleep 3503']);
          await killed.waitForOutput('ready');
          killed.runtime.kill('SIGKILL'); // no clean-up runs; the container dies with it (PDEATHSIG)
          await killed.result;
          expect(forThisPort(), 'a killed runtime leaves its rules').toHaveLength(2);
          // `pnpm clean` runs `pnpm net clean`, and removes the cgroups the killed runtime left too.
          execFileSync('pnpm', ['--silent', 'clean'], { cwd: REPO, stdio: 'ignore' });
          expect(forThisPort()).toEqual([]);
          const again = startContainer(step, ['-p', `${hostPort}:80`, 'nc', '-l', '-p', '80', '-e', 'echo', 'again']);
          expect(await fetchTcp('127.0.0.1', hostPort)).toBe('again\n');
          expect(await again.result).toExit(0);
        });
      },
    );

    it.each([
      [['--net', 'weird'], ['weird']],
      [['-p', 'abc'], ['abc']],
      [
        ['--net', 'none', '-p', '8080:80'],
        ['-p', '--publish', '--net'],
      ],
    ])('rejects %j with 125 and one line naming it', async (flags, naming) => {
      expect(await run(step, [...flags, '/bin/true'])).toFailCleanly({ naming });
    });

    it.each([
      [['--net', 'weird'], /--net "weird" is not a network mode/],
      [['-p', 'abc'], /HOST_PORT:CONTAINER_PORT/],
      [['--net', 'none', '-p', '8080:80'], /needs --net bridge/],
    ])('says what to do about %j', REFERENCE, async (flags, message) => {
      expect((await run(step, [...flags, '/bin/true'])).stderr).toMatch(message);
    });
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
