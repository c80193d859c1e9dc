import { UsageError } from '@ctr/runtime';

export interface PublishedPort {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** docker's `-p HOST_PORT:CONTAINER_PORT[/tcp|udp]`. */
export function parsePublish(text: string): PublishedPort {
  const match = /^(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(text);
  const hostPort = Number(match?.[1]);
  const containerPort = Number(match?.[2]);
  const valid = (port: number) => Number.isInteger(port) && port >= 1 && port <= 65535;
  if (!match || !valid(hostPort) || !valid(containerPort)) {
    throw new UsageError(`-p "${text}" is not HOST_PORT:CONTAINER_PORT[/tcp|udp] with ports 1-65535, e.g. -p 8080:80`);
  }
  return { hostPort, containerPort, protocol: (match[3] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
}
