/**
 * Where the runtime keeps what must outlive one process on this host: address and port leases
 * (step 05), each container's own files (resolv.conf, hosts) and mounts (step 07's idmapped
 * rootfs), with the pid of the runtime that owns them, for `pnpm clean` after a killed runtime.
 * One place, `CTR_STATE_DIR` or /run/ctr: a tmpfs on most systems, so a reboot forgets it all.
 */
import { join } from 'node:path';

export const STATE_DIR = process.env.CTR_STATE_DIR ?? '/run/ctr';

/** A container's own directory: removed by its runtime at the end, or by `pnpm clean` after a kill. */
export const containerStateDir = (id: string): string => join(STATE_DIR, 'containers', id);
