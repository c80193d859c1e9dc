import { REFERENCE } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import {
  chooseSubnet,
  containerAddresses,
  formatIp,
  formatSubnet,
  gatewayOf,
  macOf,
  overlaps,
  parseCidr,
  parseIp,
  parseSubnet,
} from '../src/addresses.js';
import { containerResolvConf } from '../src/network.js';
import { parsePublish } from '../src/ports.js';

describe('subnets', REFERENCE, () => {
  it('parses and prints a subnet, refusing host bits and odd prefixes', () => {
    expect(formatSubnet(parseSubnet('10.88.0.0/16'))).toBe('10.88.0.0/16');
    expect(() => parseSubnet('10.88.0.1/16')).toThrow(/host bits set: did you mean 10.88.0.0\/16/);
    expect(() => parseSubnet('10.88.0.0/31')).toThrow(/prefix from \/8 to \/30/);
    expect(() => parseSubnet('10.88.0.0')).toThrow(/not a subnet/);
    expect(() => parseSubnet('300.1.1.0/24')).toThrow(/not an IPv4 address/);
  });

  it('reads route destinations the kernel prints, bare addresses as /32', () => {
    expect(parseCidr('192.0.2.7')).toEqual({ base: parseCidr('192.0.2.7/32').base, prefix: 32 });
    expect(formatSubnet(parseCidr('192.0.2.77/24'))).toBe('192.0.2.0/24');
  });

  it('knows when two subnets overlap', () => {
    expect(overlaps(parseSubnet('10.88.0.0/16'), parseSubnet('10.88.5.0/24'))).toBe(true);
    expect(overlaps(parseSubnet('10.88.0.0/16'), parseSubnet('10.89.0.0/16'))).toBe(false);
    expect(overlaps(parseCidr('10.0.0.0/8'), parseSubnet('10.88.0.0/16'))).toBe(true);
  });

  it("picks the first candidate clear of the host's routes", () => {
    const candidates = ['10.88.0.0/16', '10.89.0.0/16', '172.29.0.0/16'];
    expect(formatSubnet(chooseSubnet(candidates, ['default', '192.0.2.0/24']))).toBe('10.88.0.0/16');
    expect(formatSubnet(chooseSubnet(candidates, ['10.88.14.0/24']))).toBe('10.89.0.0/16');
    expect(formatSubnet(chooseSubnet(candidates, ['10.0.0.0/8']))).toBe('172.29.0.0/16');
    expect(() => chooseSubnet(candidates, ['0.0.0.0/1', '128.0.0.0/1'])).toThrow(/set CTR_SUBNET/);
  });

  it('gives the gateway the first address and containers the rest, up to the broadcast', () => {
    const subnet = parseSubnet('10.88.0.0/29');
    expect(formatIp(gatewayOf(subnet))).toBe('10.88.0.1');
    expect([...containerAddresses(subnet)].map(formatIp)).toEqual([
      '10.88.0.2',
      '10.88.0.3',
      '10.88.0.4',
      '10.88.0.5',
      '10.88.0.6',
    ]);
  });
});

describe('macOf', REFERENCE, () => {
  it('derives a locally administered unicast MAC from the address, one to one', () => {
    expect(macOf(parseIp('10.88.0.2'))).toBe('02:42:0a:58:00:02');
    expect(macOf(parseIp('192.168.251.254'))).toBe('02:42:c0:a8:fb:fe');
  });
});

describe('parsePublish', REFERENCE, () => {
  it('reads docker -p forms', () => {
    expect(parsePublish('8080:80')).toEqual({ hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    expect(parsePublish('5353:53/udp')).toEqual({ hostPort: 5353, containerPort: 53, protocol: 'udp' });
  });

  it.each(['80', '0:80', '8080:70000', 'a:b', '8080:80/sctp', '127.0.0.1:80:80'])('rejects %j with a hint', (text) => {
    expect(() => parsePublish(text)).toThrow(/HOST_PORT:CONTAINER_PORT/);
  });
});

describe('containerResolvConf', REFERENCE, () => {
  it("drops the host's loopback resolvers, which the container cannot reach", () => {
    const host = 'nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch lan\n';
    expect(containerResolvConf(host)).toBe('nameserver 192.0.2.53\nsearch lan\n');
  });
});
