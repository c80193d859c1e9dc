/**
 * `pnpm net status` shows what the containers share on this host; `pnpm net clean` drops leases
 * whose runtime is gone and, when no container is running, removes the bridge and the nftables
 * table. IP forwarding, once switched on, is left on: other software may rely on it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAlive, onPath } from '@ctr/runtime';
import { formatSubnet } from './addresses.js';
import { BRIDGE, bridgeSubnet, NFT_TABLE, removeShared, removeStaleRules } from './bridge.js';
import { run } from './host-commands.js';
import { allLeases, removeLease } from './leases.js';

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function status(): void {
  const subnet = existsSync(`/sys/class/net/${BRIDGE}`) ? bridgeSubnet() : null;
  say(subnet ? `bridge ${BRIDGE}: ${formatSubnet(subnet)}` : `bridge ${BRIDGE}: absent`);
  say(`ip_forward: ${readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()}`);
  const tables = onPath('nft') ? run('nft', ['list', 'tables']) : '';
  say(
    tables.includes(`table ip ${NFT_TABLE}`)
      ? run('nft', ['list', 'table', 'ip', NFT_TABLE]).trimEnd()
      : `nftables table ip ${NFT_TABLE}: absent`,
  );
  const leases = allLeases();
  say(leases.length === 0 ? 'leases: none' : 'leases:');
  for (const lease of leases) {
    say(
      `  ${lease.kind}/${lease.name}: container ${lease.id}, runtime pid ${lease.pid} (${isAlive(lease.pid) ? 'running' : 'stale'})`,
    );
  }
}

// #region clean
function clean(): void {
  const leases = allLeases();
  for (const lease of leases.filter((l) => !isAlive(l.pid))) {
    removeLease(lease);
    say(`removed stale lease ${lease.kind}/${lease.name} of container ${lease.id}`);
  }
  const running = new Set(leases.filter((l) => isAlive(l.pid)).map((l) => l.id));
  if (running.size > 0) {
    // The table stays for them: the rules of the containers that are gone go one by one.
    for (const line of removeStaleRules(running)) say(line);
    say('containers are running: the bridge and the nftables table stay');
    return;
  }
  for (const line of removeShared()) say(line);
}
// #endregion clean

const command = process.argv[2];
if (command === 'status') status();
else if (command === 'clean') clean();
else {
  process.stderr.write('usage: pnpm net status | pnpm net clean\n');
  process.exit(125);
}
