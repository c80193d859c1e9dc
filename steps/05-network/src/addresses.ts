/** IPv4 subnets as numbers: parsing, overlap with the host's routes, the addresses inside. */

export interface Subnet {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIp(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`"${text}" is not an IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + p, 0);
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

const size = (prefix: number): number => 2 ** (32 - prefix);

/** A route destination as the kernel lists it: `192.0.2.0/24`, or a bare address for one host. */
export function parseCidr(text: string): Subnet {
  const [ip = '', bits = '32'] = text.split('/');
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`"${text}" is not an IPv4 prefix`);
  const base = parseIp(ip);
  return { base: base - (base % size(prefix)), prefix };
}

/** A subnet for containers, such as `10.88.0.0/16`: host bits must be zero, as `ip route` wants. */
export function parseSubnet(text: string): Subnet {
  const subnet = parseCidr(text);
  if (!text.includes('/') || subnet.prefix < 8 || subnet.prefix > 30) {
    throw new Error(`"${text}" is not a subnet like 10.88.0.0/16 (prefix from /8 to /30)`);
  }
  if (subnet.base !== parseIp(text.split('/')[0] as string)) {
    throw new Error(`"${text}" has host bits set: did you mean ${formatSubnet(subnet)}?`);
  }
  return subnet;
}

export function formatSubnet({ base, prefix }: Subnet): string {
  return `${formatIp(base)}/${prefix}`;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return a.base < b.base + size(b.prefix) && b.base < a.base + size(a.prefix);
}

/** The bridge's own address, the containers' default gateway: the first in the subnet. */
export function gatewayOf(subnet: Subnet): number {
  return subnet.base + 1;
}

/** Addresses for containers, in order: after the gateway, before the broadcast address. */
export function* containerAddresses(subnet: Subnet): Generator<number> {
  for (let n = subnet.base + 2; n < subnet.base + size(subnet.prefix) - 1; n++) yield n;
}

// #region mac-of
/**
 * The MAC address that goes with an IPv4 address: `02:42` (locally administered, the prefix docker
 * used) and the address's four bytes. Neighbours cache IP -> MAC for up to 45 s
 * (`base_reachable_time_ms` x 1.5) and keep using a REACHABLE entry without asking again; when a
 * container ends and the next one gets its address, a random MAC would leave the host sending to
 * the old one until that entry times out and its probes fail (EHOSTUNREACH after ~10-50 s). With
 * the MAC derived from the address, the cached entry is right for the new container too.
 */
export function macOf(address: number): string {
  return [
    '02',
    '42',
    ...formatIp(address)
      .split('.')
      .map((byte) => Number(byte).toString(16).padStart(2, '0')),
  ].join(':');
}
// #endregion mac-of

// #region choose-subnet
/** Subnets tried in order when none is configured: podman's default first. */
export const CANDIDATE_SUBNETS = ['10.88.0.0/16', '10.89.0.0/16', '10.90.0.0/16', '172.29.0.0/16', '192.168.251.0/24'];

/**
 * The first candidate that overlaps none of the host's routes (`ip -j route` destinations), so
 * containers never shadow the student's LAN, VPN or another runtime's bridge.
 */
export function chooseSubnet(candidates: readonly string[], routes: readonly string[]): Subnet {
  const taken = routes.filter((dst) => dst !== 'default').map(parseCidr);
  for (const candidate of candidates) {
    const subnet = parseSubnet(candidate);
    if (!taken.some((route) => overlaps(route, subnet))) return subnet;
  }
  throw new Error(
    `every candidate subnet (${candidates.join(', ')}) overlaps a route of this host: set CTR_SUBNET to a free one`,
  );
}
// #endregion choose-subnet
