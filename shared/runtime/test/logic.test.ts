import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram, buildStartCli, dropPnpmSeparator, type ParsedFlags } from '../src/cli.js';
import { containerEnv } from '../src/host.js';
import { Cleanup, defineFeature, defineStep, flag, repeatable, resolveCommand } from '../src/index.js';

describe('containerEnv', () => {
  it('starts from PATH and HOME, and takes TERM from the host terminal only', () => {
    expect(containerEnv([], { TERM: 'xterm-256color', SSH_AUTH_SOCK: '/tmp/agent', SUDO_USER: 'ada' })).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOME=/root',
      'TERM=xterm-256color',
    ]);
  });

  it('applies -e NAME=value in order, and -e NAME copies the host value as docker does', () => {
    const env = containerEnv(['A=1', 'PATH=/bin', 'A=2', 'EMPTY=', 'FROM_HOST', 'UNSET'], { FROM_HOST: 'x' });
    expect(env).toEqual(['PATH=/bin', 'HOME=/root', 'A=2', 'EMPTY=', 'FROM_HOST=x']);
  });

  it('rejects an assignment without a name', () => {
    expect(() => containerEnv(['=value'], {})).toThrow(/name is empty/);
  });
});

describe('resolveCommand', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-resolve-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  writeFileSync(join(dir, 'a/tool'), '');
  chmodSync(join(dir, 'a/tool'), 0o644);
  writeFileSync(join(dir, 'b/tool'), '#!/bin/sh\n');
  chmodSync(join(dir, 'b/tool'), 0o755);
  writeFileSync(join(dir, 'a/plain'), '');
  const env = [`PATH=${dir}/a:${dir}/b`];

  it('takes a path with a slash as it is', () => {
    expect(resolveCommand('./x', env)).toBe('./x');
  });

  it('skips a file without execute permission for a later one in PATH, like execvp', () => {
    expect(resolveCommand('tool', env)).toBe(`${dir}/b/tool`);
  });

  it('is 126 when only a non-executable file matches, 127 when nothing does', () => {
    expect(() => resolveCommand('plain', env)).toThrow(expect.objectContaining({ exitCode: 126 }));
    expect(() => resolveCommand('missing', env)).toThrow(expect.objectContaining({ exitCode: 127 }));
  });
});

describe('Cleanup', () => {
  it('undoes in reverse order and keeps going past a failure', async () => {
    const done: string[] = [];
    const reported: string[] = [];
    const cleanup = new Cleanup();
    cleanup.defer('remove the cgroup', () => done.push('cgroup'));
    cleanup.defer('delete the veth', () => {
      throw new Error('device busy');
    });
    cleanup.defer('stop the container', async () => done.push('container'));
    await cleanup.run((line) => reported.push(line));
    expect(done).toEqual(['container', 'cgroup']);
    expect(reported).toEqual(['cleanup: could not delete the veth: device busy']);
  });
});

describe('the start command line', () => {
  const withHostname = defineFeature({
    name: 'uts',
    flags: { hostname: flag('--hostname <name>', 'hostname') },
  });
  const withVolumes = defineFeature({
    name: 'mnt',
    flags: { volume: repeatable('-v, --volume <host:container>', 'volumes') },
  });
  const step = defineStep({ id: '99', title: 'test', extends: null, adds: [withHostname, withVolumes] });

  function parse(argv: string[]): { command: string[] } & ParsedFlags {
    const { program, featureFlags } = buildStartCli(step);
    let parsed = { command: [] as string[], ...featureFlags({}) };
    program.commands[0]?.action((command: string[], flags: Record<string, unknown>) => {
      parsed = { command, ...featureFlags(flags) };
    });
    program.parse(['node', 'ctr', 'start', ...argv]);
    return parsed;
  }

  it('gives options before the command to the runtime and the rest to the command', () => {
    const { command, runtime, features } = parse([
      '--hostname',
      'box',
      '-e',
      'A=1',
      '--env',
      'B=2',
      'ls',
      '-l',
      '--hostname',
    ]);
    expect(command).toEqual(['ls', '-l', '--hostname']);
    expect(runtime).toMatchObject({ env: ['A=1', 'B=2'] });
    expect(features.get('uts')).toEqual({ hostname: 'box' });
  });

  it('gives each feature its own flags, under the names it declared, repeatable ones as lists', () => {
    expect(parse(['-v', '/a:/a', '--volume', '/b:/b', 'true']).features).toEqual(
      new Map<string, unknown>([
        ['uts', { hostname: undefined }],
        ['mnt', { volume: ['/a:/a', '/b:/b'] }],
      ]),
    );
  });

  it('accepts -- before the command, as pnpm passes it', () => {
    expect(parse(['--', '/bin/echo', 'hi']).command).toEqual(['/bin/echo', 'hi']);
  });

  it("drops pnpm's -- right after start, so options after it still count", () => {
    const argv = dropPnpmSeparator(['node', 'ctr', 'start', '--', '--hostname', 'box', 'hostname']);
    expect(argv).toEqual(['node', 'ctr', 'start', '--hostname', 'box', 'hostname']);
    const parsed = parse(argv.slice(3) as string[]);
    expect([parsed.command, parsed.features.get('uts')]).toEqual([['hostname'], { hostname: 'box' }]);
    expect(dropPnpmSeparator(['node', 'ctr', 'start', '--hostname', 'box', '--', 'sh'])).toHaveLength(7);
  });

  it('adds the flags of every feature of the step', () => {
    expect(buildProgram(step).commands[0]?.options.map((o) => o.long)).toEqual([
      '--rootfs',
      '--env',
      '--hostname',
      '--volume',
    ]);
  });
});
