/**
 * The container's own network stack. `--net none`: a new network namespace with only `lo`, up.
 * `--net bridge` (the default): also a veth pair, one end in the container as eth0 with an address
 * of the project's subnet, the other on the host's bridge ctr0, a default route via the bridge, and
 * masquerading NAT so that the container reaches what the host reaches. `--net host`: no new
 * namespace at all. Names and meanings as in docker.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  containerStateDir,
  defineFeature,
  type FlagValues,
  flag,
  RuntimeError,
  repeatable,
  UsageError,
} from '@ctr/runtime';
import { bringLoopbackUp, CLONE_NEWNET } from '@ctr/syscalls';
import { containerAddresses, formatIp, formatSubnet, gatewayOf, macOf, parseIp, parseSubnet } from './addresses.js';
import { BRIDGE, ensureBridge, NFT_TABLE, removeContainerRules, ruleComment } from './bridge.js';
import { ipInside, requireTools, run } from './host-commands.js';
import { allLeases, type Holder, removeLease, tryLease } from './leases.js';
import { type PublishedPort, parsePublish } from './ports.js';

export const MODES = ['bridge', 'none', 'host'] as const;
export type Mode = (typeof MODES)[number];

export interface NetworkConfig {
  mode: Mode;
  publish: PublishedPort[];
  /** Filled in by `create` in bridge mode: the container's address and its subnet. */
  address: string | null;
  subnet: string | null;
}

/** The host end of the container's veth pair: IFNAMSIZ allows 15 characters. */
export const vethName = (id: string): string => `vctr${id.slice(0, 8)}`;

export const NETWORK_FLAGS = {
  net: flag('--net <mode>', 'network: bridge (own address, NAT to the outside), none (only lo) or host', 'bridge'),
  publish: repeatable(
    '-p, --publish <host:container>',
    'publish a container port on the host, e.g. 8080:80 or 5353:53/udp',
  ),
};

// #region configure
/** Trace: `host 05 net.configure`, no system call: the mode and ports are checked, the tools looked up. */
export function configureNetwork({ net, publish }: FlagValues<typeof NETWORK_FLAGS>): NetworkConfig {
  const mode = MODES.find((known) => known === net);
  if (!mode) throw new UsageError(`--net "${net}" is not a network mode: use bridge, none or host`);
  const ports = publish.map(parsePublish);
  if (ports.length > 0 && mode !== 'bridge') {
    throw new UsageError(`-p publishes ports through the bridge: it needs --net bridge, not --net ${mode}`);
  }
  if (mode === 'bridge') requireTools(mode, ['ip', 'nsenter', 'nft']);
  return { mode, publish: ports, address: null, subnet: null };
}
// #endregion configure

export const network = defineFeature({
  name: 'net',
  flags: NETWORK_FLAGS,
  configure: configureNetwork,
  namespaces: (config) => (config.mode === 'host' ? 0 : CLONE_NEWNET),
  // #region create
  // Trace: `host 05 net.create`, while the init starts: the bridge and NAT table (once), an address.
  create(config, spec, cleanup) {
    if (config.mode !== 'bridge') return;
    const subnet = ensureBridge();
    const lease = leaseAddress(subnet, spec.id);
    cleanup.defer(`release the address lease ${lease.file}`, lease.release);
    for (const port of config.publish) {
      const held = tryLease('ports', `${port.protocol}-${port.hostPort}`, spec.id);
      if (!held)
        throw new RuntimeError(
          `host port ${port.hostPort}/${port.protocol} is already published by another container: pick another`,
        );
      cleanup.defer(`release host port ${port.hostPort}`, held.release);
    }
    config.address = lease.address;
    config.subnet = formatSubnet(subnet);

    const dir = containerStateDir(spec.id);
    mkdirSync(dir, { recursive: true });
    cleanup.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'owner'), String(process.pid)); // for `pnpm clean` after a killed runtime
    writeFileSync(join(dir, 'resolv.conf'), containerResolvConf(hostResolvConf()));
    writeFileSync(
      join(dir, 'hosts'),
      `127.0.0.1\tlocalhost\n::1\tlocalhost\n${lease.address}\t${spec.hostname ?? spec.id}\n`,
    );
    // Stated for step 03's mount namespace, which binds them into the container's /etc.
    spec.etcFiles['resolv.conf'] = join(dir, 'resolv.conf');
    spec.etcFiles.hosts = join(dir, 'hosts');
  },
  // #endregion create
  // #region attach
  // Trace: `host 05 net.attach`, the init in its new network namespace: the veth, the ports.
  attach(config, pid, spec, cleanup) {
    if (config.mode !== 'bridge') return;
    // #task 05.2
    const subnet = parseSubnet(config.subnet as string);
    const veth = vethName(spec.id);
    // The peer is born in the container's namespace, already named eth0: nothing to move or rename.
    const mac = macOf(parseIp(config.address as string));
    run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'address', mac, 'netns', String(pid)]);
    cleanup.defer(`delete the veth ${veth}`, () => deleteLink(veth));
    run('ip', ['link', 'set', veth, 'master', BRIDGE, 'up']);
    ipInside(pid, [
      `addr add ${config.address}/${subnet.prefix} dev eth0`,
      'link set eth0 up',
      `route add default via ${formatIp(gatewayOf(subnet))}`,
    ]);
    // #end-task
    for (const port of config.publish) {
      // #task 05.4
      for (const chain of ['prerouting', 'output']) {
        // prerouting: connections from elsewhere; output: from the host itself (127.0.0.1 too).
        // `insert` puts the rule first: a rule that a killed runtime left for the same port would
        // otherwise match first and send the traffic to its old address, maybe another
        // container's now. The comment names the container, for `pnpm net clean`.
        const rule = `fib daddr type local ${port.protocol} dport ${port.hostPort} dnat to ${config.address}:${port.containerPort}`;
        const echoed = run('nft', [
          '--echo',
          '--handle',
          'insert',
          'rule',
          'ip',
          NFT_TABLE,
          chain,
          ...rule.split(' '),
          'comment',
          `"${ruleComment(spec.id)}"`,
        ]);
        const handle = /# handle (\d+)/.exec(echoed)?.[1];
        if (!handle) throw new RuntimeError(`nft did not report the handle of its rule: ${echoed.trim()}`);
        cleanup.defer(`delete the rule for port ${port.hostPort}`, () =>
          run('nft', ['delete', 'rule', 'ip', NFT_TABLE, chain, 'handle', handle]),
        );
      }
      // #end-task
    }
  },
  // #endregion attach
  // Trace: `init 05 net.setup`: lo up, inside.
  setup(config) {
    setupLoopback(config);
  },
});

// #region loopback
/** Container side: a new network namespace starts with `lo` down, even in --net none. */
function setupLoopback(config: NetworkConfig): void {
  // #task 05.1
  if (config.mode !== 'host') bringLoopbackUp();
  // #end-task
}
// #endregion loopback

// #region lease-address
function leaseAddress(
  subnet: ReturnType<typeof parseSubnet>,
  id: string,
): { address: string; file: string; release(): void } {
  for (const n of containerAddresses(subnet)) {
    const address = formatIp(n);
    const lease = tryLease(`addresses/${formatSubnet(subnet).replace('/', '_')}`, address, id);
    if (lease) return { address, ...lease };
  }
  throw new RuntimeError(`no free address left in ${formatSubnet(subnet)}: run "pnpm net clean" to drop stale leases`);
}
// #endregion lease-address

function deleteLink(name: string): void {
  // Usually gone already: a veth pair dies with the container's network namespace.
  if (!existsSync(`/sys/class/net/${name}`)) return;
  try {
    run('ip', ['link', 'delete', name]);
  } catch (error) {
    // Gone already: a veth pair dies with the container's network namespace.
    if (!/Cannot find device|No such device/.test((error as Error).message)) throw error;
  }
}

/** The leases container `id` holds: its address, its host ports, each with the pid of its runtime. */
export const leasesOf = (id: string): Holder[] => allLeases().filter((lease) => lease.id === id);

/**
 * What a killed runtime left of one container's network, for a caller that knows the runtime is
 * gone and the container's processes with it: the veth (gone already unless something still held
 * the namespace), the port rules, then the leases, last, so that the address and the ports are
 * free only once nothing of the container uses them. `pnpm net clean` does the same for all
 * containers at once, and also removes the shared part when no container is left.
 */
export function cleanContainerNetwork(id: string, say: (line: string) => void): void {
  const veth = vethName(id);
  if (existsSync(`/sys/class/net/${veth}`)) {
    deleteLink(veth);
    say(`deleted the veth ${veth}`);
  }
  for (const line of removeContainerRules(id)) say(line);
  for (const lease of leasesOf(id)) {
    removeLease(lease);
    say(`removed the lease ${lease.kind}/${lease.name} of container ${id}`);
  }
}

/** With systemd-resolved, /etc/resolv.conf names its stub; the upstream servers are listed here. */
function hostResolvConf(): string {
  const main = readFileSync('/etc/resolv.conf', 'utf8');
  if (/^\s*nameserver\s+127\.0\.0\.53/m.test(main)) {
    try {
      return readFileSync('/run/systemd/resolve/resolv.conf', 'utf8');
    } catch {}
  }
  return main;
}

/**
 * The host's resolv.conf minus loopback name servers: 127.0.0.53 (systemd-resolved) is the host's
 * own loopback, which the container's `lo` does not reach.
 */
export function containerResolvConf(host: string): string {
  const kept = host.split('\n').filter((line) => !/^\s*nameserver\s+(127\.|::1)/.test(line));
  return `${kept.join('\n').trim()}\n`;
}
