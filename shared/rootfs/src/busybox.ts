import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const FILES: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
  'etc/hosts': '127.0.0.1\tlocalhost\n::1\tlocalhost\n',
  'etc/hostname': 'ctr\n',
  'etc/resolv.conf': '',
  'etc/os-release': 'NAME="busybox"\nID=busybox\nPRETTY_NAME="busybox rootfs (ctr-workshop)"\n',
};

/** A minimal rootfs around one static busybox: the directories, one link per applet, /etc. */
export function buildBusyboxRootfs(busybox: string, dir: string): void {
  for (const sub of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'home', 'proc', 'sys', 'dev', 'var/tmp']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  mkdirSync(join(dir, 'tmp'), { mode: 0o1777 });
  chmodSync(join(dir, 'tmp'), 0o1777);
  chmodSync(join(dir, 'root'), 0o700);
  copyFileSync(busybox, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  // The static binary runs on the host, so it can list its own applets: "bin/ls", "usr/bin/wc"...
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    const link = join(dir, applet);
    if (existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync('/bin/busybox', link);
  }
  for (const [path, content] of Object.entries(FILES)) writeFileSync(join(dir, path), content);
}
