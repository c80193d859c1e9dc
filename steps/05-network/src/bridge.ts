/**
 * What all containers share: the bridge `ctr0` with the gateway address, IP forwarding, and one
 * nftables table, `ip ctr`, with the masquerade rule and the published ports. `pnpm net status`
 * shows them, `pnpm net clean` removes them when no container uses them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { RuntimeError } from '@ctr/runtime';
import {
  CANDIDATE_SUBNETS,
  chooseSubnet,
  formatIp,
  formatSubnet,
  gatewayOf,
  macOf,
  parseSubnet,
  type Subnet,
} from './addresses.js';
import { run } from './host-commands.js';

export const BRIDGE = 'ctr0';
export const NFT_TABLE = 'ctr';
/** `addr_assign_type` of a MAC set by hand (include/uapi/linux/netdevice.h), which a bridge keeps. */
const NET_ADDR_SET = '3';

/** The subnet of the bridge if it exists: its address is the one record of which subnet is in use. */
export function bridgeSubnet(): Subnet | null {
  const result = JSON.parse(run('ip', ['-j', '-4', 'addr', 'show', 'dev', BRIDGE], undefined).trim() || '[]') as {
    addr_info?: { local: string; prefixlen: number }[];
  }[];
  const info = result[0]?.addr_info?.[0];
  return info ? parseSubnetOfAddress(info.local, info.prefixlen) : null;
}

function parseSubnetOfAddress(address: string, prefix: number): Subnet {
  const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
  const n = ((a * 256 + b) * 256 + c) * 256 + d;
  return { base: n - (n % 2 ** (32 - prefix)), prefix };
}

function bridgeExists(): boolean {
  try {
    readFileSync(`/sys/class/net/${BRIDGE}/bridge/bridge_id`);
    return true;
  } catch {
    return false;
  }
}

// #region ensure-bridge
/** Creates what is missing of the shared part, idempotently: two runtimes may do it at once. */
export function ensureBridge(): Subnet {
  const wanted = process.env.CTR_SUBNET ? parseSubnet(process.env.CTR_SUBNET) : null;
  const existing = bridgeExists() ? bridgeSubnet() : null;
  if (existing && wanted && formatSubnet(existing) !== formatSubnet(wanted)) {
    throw new RuntimeError(
      `${BRIDGE} already uses ${formatSubnet(existing)}, not CTR_SUBNET=${formatSubnet(wanted)}: stop the containers and run "pnpm net clean" to change it`,
    );
  }
  const subnet = existing ?? wanted ?? chooseSubnet(CANDIDATE_SUBNETS, hostRoutes());
  if (!existing) {
    try {
      // A bridge without an address of its own takes the lowest MAC of its ports and changes it
      // as containers come and go, which flushes the host's neighbour entries and leaves the
      // containers' cached gateway MAC pointing nowhere. A MAC set by hand is kept.
      run('ip', ['link', 'add', BRIDGE, 'address', macOf(gatewayOf(subnet)), 'type', 'bridge']);
    } catch (error) {
      if (!/File exists/.test((error as Error).message)) throw error; // another runtime was first
    }
    run('ip', ['addr', 'replace', `${formatIp(gatewayOf(subnet))}/${subnet.prefix}`, 'dev', BRIDGE]);
  } else if (readFileSync(`/sys/class/net/${BRIDGE}/addr_assign_type`, 'utf8').trim() !== NET_ADDR_SET) {
    run('ip', ['link', 'set', BRIDGE, 'address', macOf(gatewayOf(subnet))]); // made by an older version
  }
  run('ip', ['link', 'set', BRIDGE, 'up']);
  // Routing between the bridge and the host's other interfaces: a machine-wide switch, left on.
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  // Lets 127.0.0.1:PORT reach a published port: the kernel otherwise drops packets from 127/8 that
  // leave through a real interface (docker does the same when it runs without its userland proxy).
  // It also lets packets *to* 127/8 arrive from the bridge: the input rule in ensureNat drops new
  // connections of that kind, or a container could reach the host's loopback-only services
  // (CVE-2020-8558 was this hole in Kubernetes).
  writeFileSync(`/proc/sys/net/ipv4/conf/${BRIDGE}/route_localnet`, '1');
  ensureNat(subnet);
  return subnet;
}
// #endregion ensure-bridge

/** Destinations of the host's IPv4 routes (main table), to keep clear of. */
function hostRoutes(): string[] {
  const routes = JSON.parse(run('ip', ['-j', '-4', 'route', 'show']).trim() || '[]') as { dst: string; dev?: string }[];
  return routes.filter((route) => route.dev !== BRIDGE).map((route) => route.dst);
}

// #region nat
/**
 * The table is built in one `nft -f` transaction: applied whole or not at all. `add` leaves what
 * exists alone and `flush` + `add rule` rewrites the shared rules, so running it again (or twice
 * at once) never duplicates a rule and never touches the published ports' rules.
 */
export function ensureNat(subnet: Subnet): void {
  // #task 05.3
  const cidr = formatSubnet(subnet);
  run(
    'nft',
    ['-f', '-'],
    `add table ip ${NFT_TABLE}
add chain ip ${NFT_TABLE} prerouting { type nat hook prerouting priority dstnat; policy accept; }
add chain ip ${NFT_TABLE} output { type nat hook output priority -100; policy accept; }
add chain ip ${NFT_TABLE} postrouting { type nat hook postrouting priority srcnat; policy accept; }
add chain ip ${NFT_TABLE} forward { type filter hook forward priority filter; policy accept; }
add chain ip ${NFT_TABLE} input { type filter hook input priority filter; policy accept; }
flush chain ip ${NFT_TABLE} postrouting
flush chain ip ${NFT_TABLE} forward
flush chain ip ${NFT_TABLE} input
add rule ip ${NFT_TABLE} postrouting ip saddr ${cidr} oifname != "${BRIDGE}" masquerade
add rule ip ${NFT_TABLE} postrouting ip saddr 127.0.0.0/8 oifname "${BRIDGE}" masquerade
add rule ip ${NFT_TABLE} input iifname "${BRIDGE}" ip daddr 127.0.0.0/8 ct state new drop
add rule ip ${NFT_TABLE} forward iifname "${BRIDGE}" accept
add rule ip ${NFT_TABLE} forward oifname "${BRIDGE}" ct state established,related accept
`,
  );
  // #end-task
}
// #endregion nat

/** Starts the comment on a container's published-port rules; the container id follows. */
const RULE_OWNER = 'ctr ';

/** The comment on a container's published-port rules: who they belong to. */
export function ruleComment(id: string): string {
  return `${RULE_OWNER}${id}`;
}

function tableExists(): boolean {
  return run('nft', ['list', 'tables']).includes(`table ip ${NFT_TABLE}`);
}

/**
 * Deletes the published-port rules of containers not in `running` (their runtime was killed and
 * could not delete them), by the container id in their comment. Returns what it did.
 */
export function removeStaleRules(running: ReadonlySet<string>): string[] {
  return removeRulesOf((id) => !running.has(id));
}

/** Deletes the published-port rules of one container whose runtime is gone. Returns what it did. */
export function removeContainerRules(id: string): string[] {
  return removeRulesOf((owner) => owner === id);
}

function removeRulesOf(doomed: (id: string) => boolean): string[] {
  if (!tableExists()) return [];
  const listed = JSON.parse(run('nft', ['-j', 'list', 'table', 'ip', NFT_TABLE])) as {
    nftables: { rule?: { chain: string; handle: number; comment?: string } }[];
  };
  const done: string[] = [];
  for (const { rule } of listed.nftables) {
    const id = rule?.comment?.startsWith(RULE_OWNER) ? rule.comment.slice(RULE_OWNER.length) : null;
    if (!rule || !id || !doomed(id)) continue;
    run('nft', ['delete', 'rule', 'ip', NFT_TABLE, rule.chain, 'handle', String(rule.handle)]);
    done.push(`deleted the ${rule.chain} rule of container ${id} (handle ${rule.handle})`);
  }
  return done;
}

/** Removes the shared part: the table (with any rules left in it) and the bridge. */
export function removeShared(): string[] {
  const done: string[] = [];
  if (tableExists()) {
    run('nft', ['delete', 'table', 'ip', NFT_TABLE]);
    done.push(`deleted nftables table ip ${NFT_TABLE}`);
  }
  if (bridgeExists()) {
    run('ip', ['link', 'delete', BRIDGE]);
    done.push(`deleted bridge ${BRIDGE}`);
  }
  return done;
}
