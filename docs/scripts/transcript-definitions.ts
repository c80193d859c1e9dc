/**
 * The "Try it by hand" transcripts of the step pages: the commands, in the order a student types
 * them. `pnpm docs:transcripts` (transcripts.ts) runs them and writes what they print to
 * docs/transcripts/; a page imports the file where the transcript goes.
 */

/** A part of a line that differs between two equal runs, beyond what every transcript masks. */
export interface Variation {
  /** With the `g` flag; each group is a varying part. */
  pattern: RegExp;
  /** Why it varies, for whoever reads a failure. */
  why: string;
  /** Compared as a number within this fraction of the checked-in value; without it, any value. */
  tolerance?: number;
}

export interface Transcript {
  /** Two digits: the step whose page shows it. */
  step: string;
  /** The file's name: docs/transcripts/<step>/<name>.<layout>.txt. */
  name: string;
  /** Typed in one terminal, in order, from `cwd` (the repository's top directory by default). */
  commands: string[];
  cwd?: string;
  /**
   * A container left running in a first terminal while `commands` run in a second: started first;
   * `commands` start once `readyWhen` (run by bash) succeeds, and it must end after them.
   */
  firstTerminal?: { command: string; readyWhen: string; cwd?: string };
  /**
   * What it prints differs between cgroup v1 and v2: the page shows a file of each, the v2 one
   * from a run on a pure cgroup v2 machine. What a student types differently there (the v2 file
   * names) replaces the v1 parts; `{}` when the commands are the same.
   */
  v2?: Partial<Pick<Transcript, 'commands' | 'firstTerminal' | 'varies' | 'interleaved'>>;
  varies?: Variation[];
  /**
   * Messages that processes running at once print a varying number of times, run into each other
   * (with the `g` flag): left out of both sides when comparing, which must both have at least one.
   */
  interleaved?: RegExp;
  /**
   * Ctrl-C typed while `commands` run: they run under a pseudo-terminal, and one Ctrl-C is typed
   * each time the next condition (run by bash) succeeds.
   */
  ctrlC?: string[];
  /**
   * Run by bash after the commands, whether they got to the end or not, and not shown: removes
   * what the last commands remove (a file, a user), for a run that failed before them.
   */
  cleanUp?: string;
}

const SLEEPING = "pgrep -fx 'sleep 1000'";
const BUSY = "pgrep -fx '/bin/sh -c while :; do :; done'";
/** A busy loop's CPU figures: the share within a fifth, the counts of periods within a half. */
const CPU_VARIES: Variation[] = [
  { pattern: /^(\d+)% of one CPU$/g, why: 'CPU time over 10 s of wall time', tolerance: 0.2 },
  {
    pattern: /^(?:nr_periods|nr_throttled|throttled_time|throttled_usec|usage_usec|user_usec|system_usec) (\d+)$/g,
    why: 'periods and times since the loop started: how long the second terminal took to get there',
    tolerance: 0.5,
  },
  { pattern: /\s(\d+\.\d)\s/g, why: "systemd-cgtop's CPU %", tolerance: 0.3 },
  { pattern: /\s(\d+(?:\.\d+)?[KMG])\s/g, why: "systemd-cgtop's memory column (v2): page cache included" },
];
/** A line of /proc/<pid>/mountinfo: its mount id and parent id, and the device of a new procfs or tmpfs. */
const MOUNT_VARIES: Variation[] = [
  { pattern: /^(\d+) (\d+) /g, why: 'mount ids: the kernel hands out the next free ones' },
  { pattern: / 0:(\d+) /g, why: 'the anonymous device number of a filesystem mounted for this container' },
  {
    pattern: /\bsize=(\d+)k,nr_inodes=(\d+),/g,
    why: "devtmpfs's size, from the machine's memory, which its hypervisor may change",
    tolerance: 0.1,
  },
];
const pid = (pattern: RegExp): Variation => ({ pattern, why: 'a host pid' });
/** A zombie-making PID 1: three orphans that exit after 0.1 s, then a sleep to look at them. */
const ORPHANS = "/bin/sh -c 'for i in 1 2 3; do (sleep 0.1 &); done; exec sleep 1000'";
/** A rootless run of step 07's CLI, as the throwaway user of the rootless transcript. */
const AS_USER = (command: string): string =>
  `sudo su ctrdoc07 -s /bin/sh -c "cd $PWD/steps/07-userns && node --import tsx src/main.ts start ${command}"`;
/** What `pnpm net status` and nft print of a container's network that differs between runs. */
const NET_VARIES: Variation[] = [
  pid(/runtime pid (\d+) /g),
  { pattern: / # handle (\d+)$/g, why: 'an nftables rule handle: the next free one' },
  { pattern: / \(handle (\d+)\)$/g, why: 'an nftables rule handle: the next free one' },
  {
    pattern: /^vctr([0-9a-f]{8})@if2 +UP +([0-9a-f:]{17}) /g,
    why: "the veth's name, from the container id, and its random MAC",
  },
];

/**
 * Step 08's escape probe, built as a student would (cc -static), in a directory every uid may
 * write to: root in step 07's and 08's containers is an ordinary host uid.
 */
const BUILD_PROBE = `mkdir -m 777 /tmp/probe && cc -static -O2 -o /tmp/probe/escape-probe steps/08-capabilities-seccomp/test/probes/escape-probe.c`;
/** The probe's directory, and the mount point the runtime made for it in the rootfs, as docker does. */
const PROBE_CLEAN_UP = 'rm -rf /tmp/probe; rmdir rootfs/probe 2>/dev/null';

/**
 * Step 09's registry of your own, with the demo image pushed to it by hand
 * (docs/scripts/demo-registry.sh), typed from `prefix`: the top of the repository, or `../../`.
 */
function demoRegistry(prefix: string): { up: string[]; down: string } {
  const script = `${prefix}docs/scripts/demo-registry.sh`;
  return { up: [`${script} start`, `${script} push`], down: `${script} stop` };
}
const REGISTRY = demoRegistry('');
/**
 * The same, typed from steps/09-images, where step 09's CLI is `$ctr`, with a store of its own:
 * what `images` lists is the demo's alone, whatever the machine's store holds.
 */
const REGISTRY_09 = demoRegistry('../../');

/** Step 10's CLI, typed from steps/10-lifecycle: `run -d`, `ps`, `logs`, `exec`, `stop`, `rm` are its subcommands. */
const CTR_10 = 'ctr="node --import tsx src/main.ts"';
/** A duration as `ps` words it (go-units' HumanDuration, as docker's). */
const SINCE = '(?:Less than a second|About a minute|\\d+ (?:seconds?|minutes))';
/**
 * What two runs of step 10's commands differ in: the 64-hex id `run -d` prints, and `ps`'s times,
 * with the padding after them (the columns are as wide as their widest cell, so a time of another
 * length moves the next column).
 */
const LIFECYCLE_VARIES: Variation[] = [
  { pattern: /^([0-9a-f]{64})$/g, why: 'a container id: random, 64 hex digits' },
  {
    pattern: /^CONTAINER ID( +)IMAGE( +)COMMAND( +)CREATED( +)STATUS( +)NAMES$/g,
    why: "ps's columns: as wide as their widest cell",
  },
  {
    pattern: new RegExp(`"( +)(${SINCE} ago +)(?:Up|Exited|Dead)`, 'g'),
    why: 'how long ago the container was made, when ps ran',
  },
  { pattern: new RegExp(`Up (${SINCE} +)`, 'g'), why: 'how long the container has run, when ps ran' },
  {
    pattern: /<repo>\/rootfs( +)"/g,
    why: "ps's IMAGE column is padded to the checkout's real path, which <repo> stands for",
  },
  { pattern: new RegExp(`Exited \\(\\d+\\) (${SINCE} ago +)`, 'g'), why: 'how long ago it exited, when ps ran' },
];
const DEMO_STORE = '/tmp/ctr-demo-store';
const CTR_09 = `ctr="env CTR_STORE_DIR=${DEMO_STORE} node --import tsx src/main.ts"`;
/** What the registry answered, one request a line: method, path, status, bytes (its access log). */
const ACCESS_LOG = `awk '{print $6, $7, $9, $10}' /tmp/ctr-registry/access.log | tr -d '"'`;
/**
 * The layers of the demo image download at once: the order of their lines (`ctr`'s when each is
 * done, the registry's access log when each was sent) varies from pull to pull.
 */
const LAYERS_AT_ONCE =
  /^ctr: layer sha256:[0-9a-f]{12} \S+ \S+ done$|^GET \/v2\/demo\/hello\/blobs\/sha256:[0-9a-f]{64} 200 (?:187|1035954)$/g;
/** The demo image out of the store, and the registry gone, for a run that stopped half-way. */
const DEMO_CLEAN_UP = `rm -rf ${DEMO_STORE}; ${REGISTRY.down}`;

export const TRANSCRIPTS: Transcript[] = [
  // --- step 01 ---
  {
    step: '01',
    name: 'pid-1',
    commands: [`sudo pnpm --filter 01 start -- /bin/sh -c 'echo $$'`],
  },
  {
    step: '01',
    name: 'host-proc',
    commands: [`sudo pnpm --filter 01 start -- /bin/sh -c 'ls -l /proc/self; cat /proc/1/comm; ps -e | wc -l'`],
    varies: [
      pid(/-> (\d+)$/g),
      { pattern: /^(\d+)$/g, why: "the number of processes on the host (ps -e counts the host's)" },
    ],
  },
  {
    step: '01',
    name: 'pid-namespace',
    commands: ['sudo pnpm --filter 01 start -- readlink /proc/self/ns/pid', 'sudo readlink /proc/self/ns/pid'],
  },
  {
    step: '01',
    name: 'signals',
    firstTerminal: { command: 'sudo pnpm --filter 01 start -- sleep 1000', readyWhen: SLEEPING },
    commands: [
      `pid=$(${SLEEPING})`,
      "grep -E 'NSpid|SigCgt' /proc/$pid/status",
      'sudo kill -TERM $pid; sleep 1; ps -o pid,args -p $pid',
      'sudo kill -KILL $pid',
    ],
    varies: [pid(/^NSpid:\t(\d+)\t1$/g), pid(/^( *\d+) sleep 1000$/g)],
  },
  {
    step: '01',
    name: 'kill-from-inside',
    commands: [`sudo pnpm --filter 01 start -- /bin/sh -c 'kill -TERM $$; kill -KILL $$; echo "PID $$ survived"'`],
  },

  // --- step 02 ---
  {
    step: '02',
    name: 'option-after-dashes',
    commands: ['sudo pnpm --filter 02 start -- --hostname box-1 hostname'],
  },
  {
    step: '02',
    name: 'hostname',
    commands: [
      "sudo pnpm --filter 02 start --hostname box-1 -- /bin/sh -c 'hostname; cat /proc/sys/kernel/hostname; uname -n'",
      'hostname',
    ],
  },
  {
    step: '02',
    name: 'default-hostname',
    commands: ['sudo pnpm --filter 02 start -- hostname', 'sudo pnpm --filter 02 start -- hostname'],
  },
  {
    step: '02',
    name: 'bad-hostname',
    commands: ['sudo pnpm --filter 02 start --hostname under_score -- hostname'],
  },
  {
    step: '02',
    name: 'namespaces',
    commands: [
      'sudo pnpm --filter 02 start -- readlink /proc/self/ns/uts /proc/self/ns/ipc',
      'sudo readlink /proc/self/ns/uts /proc/self/ns/ipc',
    ],
  },
  {
    step: '02',
    name: 'message-queues',
    commands: [
      'q=$(sudo ipcmk -Q | awk \'{print $NF}\'); echo "message queue $q"',
      'sudo cat /proc/sysvipc/msg',
      'sudo pnpm --filter 02 start -- cat /proc/sysvipc/msg',
      "sudo pnpm --filter 02 start -- /bin/sh -c 'ipcmk -Q; ipcs -q'",
      'sudo ipcs -q',
      'sudo ipcrm -q $q',
    ],
    varies: [
      { pattern: /^message queue (\d+)$/g, why: "the host's queue id: the kernel's next one" },
      { pattern: /^( *-?\d+)( +\d+) +644 .* (\d+)$/g, why: "the host's queue: its random key, its id, its time" },
      { pattern: /^(0x[0-9a-f]{8}) (\d+ *) root /g, why: 'a random key, and the id the kernel gave' },
    ],
    // the queues this run made on the host, if it stopped before its ipcrm
    cleanUp: `awk -v t=$(( $(date +%s) - 120 )) 'NR > 1 && $14 > t {print $2}' /proc/sysvipc/msg | xargs -rn1 ipcrm -q`,
  },
  // --- step 03 ---
  {
    step: '03',
    name: 'rootfs',
    commands: ['sudo pnpm --filter 03 start -- ls /'],
  },
  {
    step: '03',
    name: 'ps',
    commands: ["sudo pnpm --filter 03 start -- /bin/sh -c 'ps; true'"],
  },
  {
    step: '03',
    name: 'mountinfo',
    commands: ['sudo pnpm --filter 03 start -- cat /proc/self/mountinfo'],
    varies: MOUNT_VARIES,
  },
  {
    step: '03',
    name: 'mount-stays-inside',
    firstTerminal: {
      command: `sudo pnpm --filter 03 start -- /bin/sh -c 'mount -t tmpfs none /tmp && grep " /tmp " /proc/self/mountinfo; sleep 1000'`,
      readyWhen: SLEEPING,
    },
    commands: [
      'findmnt "$PWD/rootfs/tmp"; echo "exit $?"',
      `sudo findmnt -N "$(${SLEEPING})" /tmp`,
      `sudo kill -KILL "$(${SLEEPING})"`,
    ],
    varies: MOUNT_VARIES,
  },
  {
    step: '03',
    name: 'read-only',
    commands: ["sudo pnpm --filter 03 start -- /bin/sh -c 'echo 1 > /proc/sys/kernel/printk; touch /sys/x'"],
  },
  {
    step: '03',
    name: 'symlink-out',
    commands: [
      'sudo cp -a rootfs /tmp/evil && sudo rmdir /tmp/evil/proc && sudo ln -s /etc /tmp/evil/proc',
      `sudo pnpm --filter 03 start --rootfs /tmp/evil -- /bin/sh -c 'ls -ld /proc; grep " /etc " /proc/self/mountinfo'`,
      'sudo rm -r /tmp/evil',
    ],
    varies: MOUNT_VARIES,
    cleanUp: 'rm -rf /tmp/evil',
  },
  {
    step: '03',
    name: 'breakout',
    commands: [
      'sudo cp -a rootfs /tmp/jail',
      'sudo gcc -static -O2 -o /tmp/jail/breakout steps/03-mount-pivot-root/test/fixtures/breakout.c',
      "echo 'on the host' | sudo tee /tmp/host-marker >/dev/null",
      'sudo chroot /tmp/jail /breakout /tmp/host-marker | tail -1',
      'sudo pnpm --filter 03 start --rootfs /tmp/jail -- /breakout /tmp/host-marker | tail -1',
      'sudo rm -r /tmp/jail /tmp/host-marker',
    ],
    cleanUp: 'rm -rf /tmp/jail /tmp/host-marker',
  },
  // --- step 04 ---
  {
    step: '04',
    name: 'oom',
    commands: ['sudo pnpm --filter 04 start --memory 96m -- dd if=/dev/zero of=/dev/null bs=200M count=1'],
    v2: {},
  },
  {
    step: '04',
    name: 'oom-status',
    commands: [
      'cd steps/04-cgroups',
      'sudo node --import tsx src/main.ts start --memory 96m -- dd if=/dev/zero of=/dev/null bs=200M count=1; echo $?',
      'sudo node --import tsx src/main.ts start --memory 96m -- dd if=/dev/zero of=/dev/null bs=20M count=1; echo $?',
    ],
    varies: [
      {
        pattern: /copied, ([\d.]+) seconds, ([\d.]+[KMG]?B\/s)$/g,
        why: "dd's time and speed",
      },
    ],
    v2: {},
  },
  {
    step: '04',
    name: 'memory-counters',
    firstTerminal: {
      command: 'sudo node --import tsx src/main.ts start --memory 96m -- sleep 1000; echo $?',
      cwd: 'steps/04-cgroups',
      readyWhen: SLEEPING,
    },
    commands: [
      `pid=$(${SLEEPING})`,
      `d=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" {print $3}' /proc/$pid/cgroup); echo $d`,
      'cd $d && grep . memory.limit_in_bytes memory.usage_in_bytes memory.max_usage_in_bytes',
      "grep '^oom_kill ' memory.oom_control",
      'cd; sudo kill -KILL $pid',
    ],
    varies: [
      {
        pattern: /^memory\.usage_in_bytes:(\d+)$/g,
        why: "sleep's memory and the page cache charged with it: 0.2 to 0.6 MB here",
      },
      {
        pattern: /^memory\.max_usage_in_bytes:(\d+)$/g,
        why: "the Node init's peak before its execve()",
        tolerance: 0.5,
      },
    ],
    v2: {
      commands: [
        `pid=$(${SLEEPING})`,
        'd=/sys/fs/cgroup$(cut -d: -f3 /proc/$pid/cgroup); echo $d',
        'cd $d && grep . memory.max memory.current memory.peak',
        "grep '^oom_kill ' memory.events",
        'cd; sudo kill -KILL $pid',
      ],
      varies: [
        { pattern: /^memory\.current:(\d+)$/g, why: "sleep's memory and the page cache charged with it" },
        { pattern: /^memory\.peak:(\d+)$/g, why: "the Node init's peak before its execve()", tolerance: 0.5 },
      ],
    },
  },
  {
    step: '04',
    name: 'fork-bomb',
    firstTerminal: {
      command: "sudo pnpm --filter 04 start --pids-limit 20 -- /bin/sh -c 'b() { b | b & }; b; exec sleep 1000'",
      // the bomb's shells go on forking for a moment after PID 1 became sleep
      readyWhen: `${SLEEPING} >/dev/null && sleep 2`,
    },
    commands: [
      `pid=$(${SLEEPING})`,
      'cat /proc/$pid/cgroup',
      `d=/sys/fs/cgroup/pids$(awk -F: '$2 == "pids" {print $3}' /proc/$pid/cgroup)`,
      'cat $d/pids.max $d/pids.current $d/pids.events',
      'wc -l < $d/cgroup.procs',
      'ps -o stat= --ppid $pid | sort | uniq -c',
      'sudo kill -KILL $pid',
    ],
    varies: [
      { pattern: /^max (\d+)$/g, why: 'how many forks the bomb tried past the limit: timing' },
      // Seen 20 and 18 (19 and 17 zombies) in two runs of the same code: the last shells of the
      // bomb can still be forking or exiting when the second terminal reads.
      { pattern: /^(\d+)$/g, why: 'pids.current (and the other bare counts): timing', tolerance: 0.25 },
      { pattern: /^\s+(\d+) Z$/g, why: 'the zombies: as many as the bomb had made by then', tolerance: 0.25 },
    ],
    interleaved: /\/bin\/sh: |can't fork: Resource temporarily unavailable/g,
    v2: {
      commands: [
        `pid=$(${SLEEPING})`,
        'cat /proc/$pid/cgroup',
        'd=/sys/fs/cgroup$(cut -d: -f3 /proc/$pid/cgroup)',
        'cat $d/pids.max $d/pids.current $d/pids.events',
        'wc -l < $d/cgroup.procs',
        'ps -o stat= --ppid $pid | sort | uniq -c',
        'sudo kill -KILL $pid',
      ],
    },
  },
  {
    step: '04',
    name: 'cpu',
    firstTerminal: {
      command: "sudo pnpm --filter 04 start --cpus 0.5 -- /bin/sh -c 'while :; do :; done'",
      readyWhen: BUSY,
    },
    commands: [
      `pid=$(${BUSY})`,
      `c=/sys/fs/cgroup/cpu$(awk -F: '$2 == "cpu" {print $3}' /proc/$pid/cgroup)`,
      `a=/sys/fs/cgroup/cpuacct$(awk -F: '$2 == "cpuacct" {print $3}' /proc/$pid/cgroup)`,
      'cat $c/cpu.cfs_quota_us $c/cpu.cfs_period_us',
      'u0=$(cat $a/cpuacct.usage); sleep 10; u1=$(cat $a/cpuacct.usage); echo "$(( (u1 - u0) / 100000000 ))% of one CPU"',
      'cat $c/cpu.stat',
      'sudo systemd-cgtop -b -n 2 -d 1 /ctr',
      'sudo kill -KILL $pid',
    ],
    varies: CPU_VARIES,
    v2: {
      commands: [
        `pid=$(${BUSY})`,
        'c=/sys/fs/cgroup$(cut -d: -f3 /proc/$pid/cgroup)',
        'cat $c/cpu.max',
        `u0=$(awk '$1 == "usage_usec" {print $2}' $c/cpu.stat); sleep 10; u1=$(awk '$1 == "usage_usec" {print $2}' $c/cpu.stat); echo "$(( (u1 - u0) / 100000 ))% of one CPU"`,
        'cat $c/cpu.stat',
        'sudo systemd-cgtop -b -n 2 -d 1 /ctr',
        'sudo kill -KILL $pid',
      ],
    },
  },
  {
    step: '04',
    name: 'inside',
    commands: ['sudo pnpm --filter 04 start --memory 64m -- cat /proc/self/cgroup'],
    v2: {},
  },

  // --- step 05 ---
  {
    step: '05',
    name: 'bridge',
    commands: ["sudo pnpm --filter 05 start -- /bin/sh -c 'ip -o -4 addr; ip route'", 'ip -4 route'],
    varies: [
      {
        // the group matches in both cases, empty or not, so that both lines read the same
        pattern: /src 10\.88\.0\.1((?: linkdown)? ?)$/g,
        why: "the bridge's carrier: down once no veth is plugged in, which the kernel notes a moment after a container ends",
      },
    ],
  },
  {
    step: '05',
    name: 'etc-files',
    commands: [
      'sudo pnpm --filter 05 start -- cat /etc/resolv.conf /etc/hosts',
      `sudo pnpm --filter 05 start -- /bin/sh -c 'grep " /etc/" /proc/self/mountinfo; echo x >> /etc/hosts'`,
    ],
    varies: MOUNT_VARIES,
  },
  {
    step: '05',
    name: 'net-none',
    commands: [
      "sudo pnpm --filter 05 start --net none -- /bin/sh -c 'ip link; ip route; ping -c1 127.0.0.1 | tail -2'",
    ],
    varies: [{ pattern: /^round-trip min\/avg\/max = ([\d./]+) ms$/g, why: "ping's round-trip times" }],
  },
  {
    step: '05',
    name: 'net-host',
    commands: [
      'sudo readlink /proc/self/ns/net',
      'sudo pnpm --filter 05 start --net host -- readlink /proc/self/ns/net',
      'sudo pnpm --filter 05 start --net none -- readlink /proc/self/ns/net',
      `sudo pnpm --filter 05 start --net host -- /bin/sh -c 'ip -o link | cut -d" " -f2'`,
    ],
  },
  {
    step: '05',
    name: 'published-port',
    firstTerminal: {
      command: 'sudo pnpm --filter 05 start -p 8080:80 -- nc -l -p 80 -e echo hi',
      readyWhen: "pgrep -fx 'nc -l -p 80 -e echo hi' && nft list chain ip ctr output | grep -q 'dport 8080 '",
    },
    commands: [
      'sudo pnpm net status',
      'sudo nft -a list chain ip ctr output',
      'ip -br link show master ctr0',
      'cat < /dev/tcp/127.0.0.1/8080',
    ],
    varies: NET_VARIES,
  },
  {
    step: '05',
    name: 'net-clean',
    firstTerminal: { command: 'sudo pnpm --filter 05 start -- sleep 1000', readyWhen: SLEEPING },
    commands: [
      'sudo pnpm --filter 05 start -p 8080:80 -- sleep 999 &',
      "until pgrep -fx 'sleep 999' >/dev/null; do sleep 0.1; done",
      // `wait`: pnpm's report of the killed runtime comes before the next command's output
      "sudo kill -KILL $(pgrep -f '^node --import tsx src/main.ts start -p 8080:80'); wait",
      'sudo pnpm net status',
      'sudo pnpm net clean',
      'sudo pnpm clean',
      `sudo kill -KILL $(${SLEEPING})`,
    ],
    varies: NET_VARIES,
    // the killed runtime's lease, rules and cgroups, had the commands stopped before `pnpm clean`
    cleanUp: "kill -KILL $(pgrep -fx 'sleep 999') 2>/dev/null; [ ! -e /run/ctr/ports/tcp-8080 ] || pnpm --silent clean",
  },
  {
    step: '05',
    name: 'subnet',
    commands: [
      // makes the bridge if there is none (its subnet is the default one): the next error needs it
      'sudo pnpm --filter 05 start -- /bin/true',
      'sudo CTR_SUBNET=10.77.0.0/16 pnpm --filter 05 start -- /bin/true',
      'sudo CTR_SUBNET=10.88.0.1/16 pnpm --filter 05 start -- /bin/true',
    ],
    // a bridge made with the other subnet, had the first command not made one, goes again
    cleanUp: 'ip -4 addr show dev ctr0 2>/dev/null | grep -q 10.77.0.1 && pnpm --silent net clean',
  },

  // --- step 06 ---
  {
    step: '06',
    name: 'zombies-step-05',
    firstTerminal: {
      command: `sudo pnpm --filter 05 start --net none -- ${ORPHANS}`,
      // the orphans exit 0.1 s after they start
      readyWhen: `${SLEEPING} && sleep 0.5`,
    },
    commands: [
      `pid1=$(${SLEEPING}); grep NSpid /proc/$pid1/status; ps -o pid,stat,comm --ppid $pid1`,
      'sudo kill -KILL $pid1',
    ],
    varies: [pid(/^NSpid:\t(\d+)\t1$/g), pid(/^( *\d+) Z +sleep$/g)],
  },
  {
    step: '06',
    name: 'zombies',
    firstTerminal: {
      command: `sudo pnpm --filter 06 start --net none -- ${ORPHANS}`,
      readyWhen: `${SLEEPING} && sleep 0.5`,
    },
    commands: [
      `pid1=$(ps -o ppid= -p "$(${SLEEPING})" | tr -d ' '); grep NSpid /proc/$pid1/status; ps -o pid,stat,comm --ppid $pid1`,
      'ps -o args= -p $pid1',
      'sudo kill -KILL $pid1',
    ],
    varies: [pid(/^NSpid:\t(\d+)\t1$/g), pid(/^( *\d+) S +sleep$/g)],
  },
  {
    step: '06',
    name: 'inside',
    commands: ["sudo pnpm --filter 06 start -- /bin/sh -c 'ps; true'"],
  },
  {
    step: '06',
    name: 'exit-status',
    commands: [
      'cd steps/06-init-reaper',
      `sudo node --import tsx src/main.ts start -- /bin/sh -c 'exit 3'; echo "exit $?"`,
    ],
  },
  // Ctrl-C: typed into a pseudo-terminal (script(1)), whose line discipline sends SIGINT to the
  // foreground process group, as a student's terminal does.
  {
    step: '06',
    name: 'ctrl-c-step-05',
    commands: ['cd steps/05-network', 'sudo node --import tsx src/main.ts start -- sleep 30; echo "exit $?"'],
    // the second Ctrl-C a second after the first, which the runtime passed on and sleep ignored
    ctrlC: ["pgrep -fx 'sleep 30'", 'sleep 1'],
  },
  {
    step: '06',
    name: 'ctrl-c',
    commands: ['cd steps/06-init-reaper', 'sudo node --import tsx src/main.ts start -- sleep 30; echo "exit $?"'],
    ctrlC: ["pgrep -fx 'sleep 30'"],
  },
  {
    step: '06',
    name: 'ctrl-c-trap',
    cwd: 'steps/06-init-reaper',
    commands: [
      `sudo node --import tsx src/main.ts start -- /bin/sh -c 'trap "echo sh: got SIGINT" INT; sleep 30; echo sh: still here'; echo "exit $?"`,
    ],
    ctrlC: ["pgrep -fx 'sleep 30'"],
  },
  {
    step: '06',
    name: 'stop-timeout',
    firstTerminal: {
      command: `sudo node --import tsx src/main.ts start --stop-timeout 2 -- /bin/sh -c 'trap "echo got SIGTERM, ignoring it" TERM; echo ready; while :; do sleep 1; done'; echo "exit $?"`,
      cwd: 'steps/06-init-reaper',
      readyWhen: "pgrep -fx 'sleep 1'",
    },
    commands: [
      "pid=$(pgrep -f '^node --import tsx src/main.ts start --stop-timeout 2')",
      'sudo kill -TERM $pid; time tail --pid=$pid -s 0.1 -f /dev/null',
    ],
    varies: [
      { pattern: /^real\t0m(\d+\.\d+)s$/g, why: 'the stop timeout, then the clean-up', tolerance: 0.25 },
      { pattern: /^(?:user|sys)\t0m(\d+\.\d+)s$/g, why: "tail's own CPU time" },
    ],
  },
  // --- step 07 ---
  {
    step: '07',
    name: 'root-inside',
    commands: ["sudo pnpm --filter 07 start --net none -- /bin/sh -c 'id; cat /proc/self/uid_map'"],
  },
  {
    step: '07',
    name: 'capabilities',
    commands: [
      `sudo pnpm --filter 07 start --net none -- /bin/sh -c 'grep CapEff /proc/self/status; hostname box && hostname; mount -t tmpfs none /tmp && echo "tmpfs mounted on /tmp"; mknod /tmp/null c 1 3; date -s 2001-01-01 >/dev/null'`,
    ],
  },
  {
    step: '07',
    name: 'from-host',
    firstTerminal: { command: 'sudo pnpm --filter 07 start --net none -- sleep 1000', readyWhen: SLEEPING },
    commands: [
      `pid1=$(ps -o ppid= -p "$(${SLEEPING})" | tr -d ' ')`,
      "grep -E '^(Uid|Gid|NSpid)' /proc/$pid1/status",
      'cat /proc/$pid1/uid_map',
      'ps -o user,pid,args -p $pid1',
      'sudo kill -KILL $pid1',
    ],
    varies: [pid(/^NSpid:\t(\d+)\t1$/g), pid(/^100000( +\d+) /g)],
  },
  {
    step: '07',
    name: 'rootfs',
    commands: [
      "sudo pnpm --filter 07 start --net none -- stat -c '%u:%g %n' /bin/busybox /etc/passwd",
      "stat -c '%u:%g %n' rootfs/bin/busybox",
    ],
  },
  {
    step: '07',
    name: 'volume',
    commands: [
      'sudo mkdir /tmp/ctr-data && echo from-host | sudo tee /tmp/ctr-data/from-host >/dev/null',
      'sudo pnpm --filter 07 start --net none -v /tmp/ctr-data:/data -- touch /data/made-inside',
      'sudo chmod 777 /tmp/ctr-data',
      "sudo pnpm --filter 07 start --net none -v /tmp/ctr-data:/data -- /bin/sh -c 'touch /data/made-inside; ls -ln /data'",
      'ls -ln /tmp/ctr-data',
      'sudo rm -r /tmp/ctr-data',
      // the runtime made the mount point in the rootfs, as docker does
      'sudo rmdir rootfs/data',
    ],
    cleanUp: 'rm -rf /tmp/ctr-data; rmdir rootfs/data 2>/dev/null',
  },
  // Rootless needs a user who is not root: the commands make a throwaway one and remove it (this
  // machine has no other user); the runtime maps that one uid, so no /etc/subuid range is needed.
  {
    step: '07',
    name: 'rootless',
    commands: [
      'sudo useradd --home-dir /tmp/ctrdoc07-home --create-home --shell /bin/sh ctrdoc07',
      'id ctrdoc07',
      AS_USER('-- id'),
      AS_USER(
        "--memory 64m -- /bin/sh -c 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; ls /sys/class/net'",
      ),
      "sudo stat -c '%u:%g %n' /tmp/ctrdoc07-home/.local/share/ctr/rootfs-*/bin/busybox",
      AS_USER("-- /bin/sh -c 'ip -o -4 addr show tap0 | cut -c1-50; ip route; cat /etc/resolv.conf'"),
      `${AS_USER('-- sleep 1000')} &`,
      `until ${SLEEPING} >/dev/null; do sleep 0.1; done; pid1=$(ps -o ppid= -p "$(${SLEEPING})" | tr -d ' ')`,
      `ps -o user,pid,args -p $pid1,$(${SLEEPING})`,
      "grep -E '^(Uid|NSpid)' /proc/$pid1/status",
      'ps -u ctrdoc07 -o user,pid,args | grep slirp',
      'sudo kill -KILL $pid1; wait',
      'sudo userdel -r ctrdoc07',
    ],
    varies: [
      { pattern: /^uid=(\d+)\(ctrdoc07\) gid=(\d+)\(ctrdoc07\) groups=(\d+)\(ctrdoc07\)$/g, why: "the new user's uid" },
      { pattern: /^ +0 +(\d+) +1$/g, why: "the new user's uid" },
      { pattern: /^(\d+):(\d+) \/tmp\/ctrdoc07-home\//g, why: "the new user's uid" },
      { pattern: /^Uid:\t(\d+)\t(\d+)\t(\d+)\t(\d+)$/g, why: "the new user's uid" },
      pid(/^NSpid:\t(\d+)\t1$/g),
      pid(/^ctrdoc07( +\d+) /g),
      pid(/\/proc\/(\d+)\/ns\/user /g),
      pid(/ (\d+) tap0$/g),
    ],
    // the user and its home, for a run that stopped before userdel
    cleanUp: `kill -KILL $(pgrep -u ctrdoc07) 2>/dev/null; sleep 0.5; userdel -r ctrdoc07 2>/dev/null; rm -rf /tmp/ctrdoc07-home`,
  },
  {
    step: '08',
    name: 'status',
    commands: ["sudo pnpm --filter 08 start --net none -- grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status"],
  },
  {
    step: '08',
    name: 'sets',
    commands: [
      'sudo pnpm --filter 08 start --net none --cap-drop ALL -- grep -E "^Cap(Prm|Eff|Bnd)" /proc/self/status',
      'sudo pnpm --filter 08 start --net none --cap-drop ALL --cap-add chown -- grep -E "^Cap(Prm|Eff|Bnd)" /proc/self/status',
      'sudo pnpm --filter 08 start --net none --user 1000 -- /bin/sh -c \'id; grep -E "^(Cap(Prm|Eff|Bnd)|NoNewPrivs)" /proc/self/status\'',
      'sudo pnpm --filter 08 start --net none --privileged -- grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status',
    ],
  },
  {
    step: '08',
    name: 'bad-input',
    commands: [
      'sudo pnpm --filter 08 start --cap-add SYS_EVERYTHING -- true',
      'sudo pnpm --filter 08 start --security-opt seccomp=/nonexistent.json -- true',
      'sudo pnpm --filter 08 start --user nobody -- true',
    ],
  },
  {
    step: '08',
    name: 'escapes',
    commands: [
      BUILD_PROBE,
      'sudo pnpm --filter 06 start --net none -v /tmp/probe:/probe -- /probe/escape-probe remount-proc-sys',
      'sudo pnpm --filter 08 start --net none -v /tmp/probe:/probe -- /probe/escape-probe remount-proc-sys',
      'sudo pnpm --filter 06 start --net none -v /tmp/probe:/probe -- /probe/escape-probe fresh-proc',
      'sudo pnpm --filter 08 start --net none -v /tmp/probe:/probe -- /probe/escape-probe fresh-proc',
      'sudo pnpm --filter 06 start --net none -v /tmp/probe:/probe -- /probe/escape-probe unshare-user',
      'sudo pnpm --filter 08 start --net none -v /tmp/probe:/probe -- /probe/escape-probe unshare-user',
      'sudo pnpm --filter 08 start --net none --security-opt seccomp=unconfined -v /tmp/probe:/probe -- /probe/escape-probe unshare-user',
      'rm -r /tmp/probe && sudo rmdir rootfs/probe',
    ],
    cleanUp: PROBE_CLEAN_UP,
  },
  // The escapes that need something of the host: the host path of the bound directory (the
  // release_agent), a file handle made on the host (shocker), a key in the caller's keyring.
  {
    step: '08',
    name: 'escapes-host',
    commands: [
      BUILD_PROBE,
      'sudo pnpm --filter 03 start -v /tmp/probe:/probe -- /probe/escape-probe release-agent /tmp/probe',
      'cat /tmp/probe/release-agent-ran',
      'sudo pnpm --filter 08 start --net none -v /tmp/probe:/probe -- /probe/escape-probe release-agent /tmp/probe',
      'echo "a host file outside /tmp/probe" | sudo tee /tmp/host-secret >/dev/null',
      'handle=$(sudo /tmp/probe/escape-probe make-handle /tmp/host-secret)',
      'sudo pnpm --filter 06 start --net none -v /tmp/probe:/probe -- /probe/escape-probe shocker $handle',
      'sudo pnpm --filter 08 start --net none -v /tmp/probe:/probe -- /probe/escape-probe shocker $handle',
      'sudo /tmp/probe/escape-probe host-session-key demo-key s3cret -- pnpm --filter 06 start --net none -v /tmp/probe:/probe -- /probe/escape-probe keyctl demo-key',
      'sudo /tmp/probe/escape-probe host-session-key demo-key s3cret -- pnpm --filter 08 start --net none -v /tmp/probe:/probe -- /probe/escape-probe keyctl demo-key',
      'sudo /tmp/probe/escape-probe host-session-key demo-key s3cret -- pnpm --filter 08 start --net none --privileged -v /tmp/probe:/probe -- /probe/escape-probe keyctl demo-key',
      'sudo rm -r /tmp/probe /tmp/host-secret && sudo rmdir rootfs/probe',
    ],
    // The v1 hierarchy the release_agent probe made outlives its container when the container's
    // mount of it goes while it has a child cgroup: mounted and unmounted from the host, it goes.
    cleanUp: `${PROBE_CLEAN_UP}; rm -f /tmp/host-secret; for n in $(grep -o 'escape-probe-[0-9]*' /proc/self/cgroup); do d=$(mktemp -d); mount -t cgroup -o none,name=$n cgroup $d && { find $d -mindepth 1 -depth -type d -delete; umount $d; }; rmdir $d; done`,
  },
  {
    step: '08',
    name: 'setuid',
    commands: [
      BUILD_PROBE,
      "sudo pnpm --filter 08 start --net none -v /tmp/probe:/probe -- /bin/sh -c 'cp /probe/escape-probe /probe/setuid-probe && chown 0:0 /probe/setuid-probe && chmod 4755 /probe/setuid-probe'",
      "stat -c '%A %u:%g %n' /tmp/probe/setuid-probe",
      'sudo pnpm --filter 08 start --net none --user 1000 -v /tmp/probe:/probe -- /probe/setuid-probe setuid',
      'sudo pnpm --filter 08 start --net none --user 1000 --security-opt no-new-privileges=false -v /tmp/probe:/probe -- /probe/setuid-probe setuid',
      // the runtime made the mount point in the rootfs, as docker does
      'sudo rm -r /tmp/probe && sudo rmdir rootfs/probe',
    ],
    cleanUp: PROBE_CLEAN_UP,
  },
  {
    step: '09',
    name: 'image',
    commands: [
      ...REGISTRY.up,
      'curl -s http://127.0.0.1:5000/v2/demo/hello/tags/list',
      "curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://127.0.0.1:5000/v2/demo/hello/manifests/v1 | jq .",
      "config=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://127.0.0.1:5000/v2/demo/hello/manifests/v1 | jq -r .config.digest)",
      'curl -s http://127.0.0.1:5000/v2/demo/hello/blobs/$config | jq -c .',
      'echo $config; curl -s http://127.0.0.1:5000/v2/demo/hello/blobs/$config | sha256sum',
      'curl -s http://127.0.0.1:5000/v2/demo/hello/manifests/v1',
      REGISTRY.down,
    ],
    cleanUp: REGISTRY.down,
  },
  {
    step: '09',
    name: 'pull',
    cwd: 'steps/09-images',
    commands: [
      ...REGISTRY_09.up,
      CTR_09,
      'sudo $ctr pull 127.0.0.1:5000/demo/hello:v1',
      ACCESS_LOG,
      ': > /tmp/ctr-registry/access.log',
      'sudo $ctr pull 127.0.0.1:5000/demo/hello:v1',
      ACCESS_LOG,
      'sudo $ctr images',
      `sudo ls ${DEMO_STORE} ${DEMO_STORE}/layers/sha256`,
      'sudo $ctr rmi 127.0.0.1:5000/demo/hello:v1',
      `sudo rm -r ${DEMO_STORE}`,
      REGISTRY_09.down,
    ],
    interleaved: LAYERS_AT_ONCE,
    cleanUp: DEMO_CLEAN_UP,
  },
  {
    step: '09',
    name: 'run',
    cwd: 'steps/09-images',
    commands: [
      ...REGISTRY_09.up,
      CTR_09,
      'sudo $ctr start --net none --image 127.0.0.1:5000/demo/hello:v1',
      `sudo $ctr start --net none --image 127.0.0.1:5000/demo/hello:v1 -- /bin/sh -c 'pwd; echo $GREETING; ls /etc; grep " / / " /proc/self/mountinfo'`,
      "sudo $ctr start --net none --image 127.0.0.1:5000/demo/hello:v1 -- /bin/sh -c 'echo mine > /hello.txt; cat /hello.txt'",
      'sudo $ctr start --net none --image 127.0.0.1:5000/demo/hello:v1',
      'sudo $ctr rmi 127.0.0.1:5000/demo/hello:v1',
      `sudo rm -r ${DEMO_STORE}`,
      REGISTRY_09.down,
    ],
    varies: [
      { pattern: /^(\d+) (\d+) 0:(\d+) \/ \/ /g, why: 'mount ids and the anonymous device of the overlay' },
      {
        pattern: /lowerdir=\/proc\/self\/fd\/(\d+):\/proc\/self\/fd\/(\d+),/g,
        why: "the init's fd numbers of the detached lowers",
      },
    ],
    interleaved: LAYERS_AT_ONCE,
    cleanUp: DEMO_CLEAN_UP,
  },
  {
    step: '09',
    name: 'rootfs-lower',
    commands: [
      "sudo pnpm --filter 08 start --net none -- /bin/sh -c 'echo from-08 > /made-inside'",
      'cat rootfs/made-inside && sudo rm rootfs/made-inside',
      "sudo pnpm --filter 09 start --net none -- /bin/sh -c 'echo from-09 > /made-inside; cat /made-inside'",
      'cat rootfs/made-inside',
    ],
    cleanUp: 'rm -f rootfs/made-inside',
  },
  {
    step: '09',
    name: 'bad-input',
    cwd: 'steps/09-images',
    commands: [
      ...REGISTRY_09.up,
      CTR_09,
      'sudo $ctr pull 127.0.0.1:5000/Demo/hello; echo "exit status $?"',
      'sudo $ctr pull 127.0.0.1:5000/demo/hello:v2; echo "exit status $?"',
      'sudo $ctr rmi 127.0.0.1:5000/demo/hello:v1; echo "exit status $?"',
      'sudo $ctr start --image 127.0.0.1:5000/demo/hello:v1 --rootfs /tmp -- true; echo "exit status $?"',
      REGISTRY_09.down,
      'sudo $ctr pull 127.0.0.1:5000/demo/hello:v1; echo "exit status $?"',
      `sudo rm -r ${DEMO_STORE}`,
    ],
    cleanUp: DEMO_CLEAN_UP,
  },
  // --- step 10 ---
  {
    step: '10',
    name: 'detached',
    cwd: 'steps/10-lifecycle',
    commands: [
      CTR_10,
      "sudo $ctr run -d --net none --name web sh -c 'echo hello from $(hostname); echo a warning >&2; exec sleep 1000'",
      'sudo $ctr ps',
      'sudo $ctr logs web',
      'sudo $ctr logs web 2>/dev/null',
      'sudo $ctr stop web',
      'sudo $ctr ps -a',
      "sudo $ctr inspect web | jq -c '.[0].State | {Status, Running, Pid, ExitCode}'",
      'sudo $ctr rm web',
      'sudo $ctr ps -a',
    ],
    varies: LIFECYCLE_VARIES,
    cleanUp: 'cd steps/10-lifecycle && node --import tsx src/main.ts rm -f web >/dev/null 2>&1; true',
  },
  {
    step: '10',
    name: 'processes',
    cwd: 'steps/10-lifecycle',
    commands: [
      CTR_10,
      'sudo $ctr run -d --net none --name web sleep 1000',
      `ps -o pid,ppid,sid,args --forest -s $(sudo $ctr inspect web | jq '.[0].State.MonitorPid')`,
      'sudo $ctr rm -f web',
    ],
    varies: [
      ...LIFECYCLE_VARIES,
      {
        pattern: /^( *\d+)( +\d+)( +\d+) /g,
        why: 'host pids: the monitor is its own session (SID) and its parent is 1',
      },
    ],
    cleanUp: 'cd steps/10-lifecycle && node --import tsx src/main.ts rm -f web >/dev/null 2>&1; true',
  },
  {
    step: '10',
    name: 'logs-follow',
    cwd: 'steps/10-lifecycle',
    commands: [
      CTR_10,
      'sudo $ctr run -d --net none --name counter sh -c \'for i in 1 2 3 4; do echo "line $i"; sleep 1; done; echo done >&2\'',
      'sudo $ctr logs -f counter; echo "exit status $?"',
      'sudo $ctr logs --tail 2 counter',
      'sudo $ctr ps -a',
      'sudo $ctr rm counter',
    ],
    varies: LIFECYCLE_VARIES,
    cleanUp: 'cd steps/10-lifecycle && node --import tsx src/main.ts rm -f counter >/dev/null 2>&1; true',
  },
  {
    step: '10',
    name: 'exec',
    cwd: 'steps/10-lifecycle',
    commands: [
      CTR_10,
      'sudo $ctr run -d --net none --name web sleep 1000',
      `pid=$(sudo $ctr inspect web | jq '.[0].State.Pid')`,
      'sudo readlink /proc/$pid/ns/pid /proc/$pid/ns/mnt',
      "sudo $ctr exec web sh -c 'readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt'",
      'sudo $ctr exec web ps -o pid,args',
      `sudo $ctr exec web grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status`,
      'sudo $ctr exec web sh -c \'exit 3\'; echo "exit status $?"',
      'sudo $ctr exec web nosuchcommand; echo "exit status $?"',
      'sudo $ctr rm -f web',
    ],
    varies: [
      ...LIFECYCLE_VARIES,
      { pattern: /^ +(\d+) \S/g, why: "a pid in the container: the exec'd processes get the next free ones" },
    ],
    cleanUp: 'cd steps/10-lifecycle && node --import tsx src/main.ts rm -f web >/dev/null 2>&1; true',
  },
  {
    step: '10',
    name: 'exec-trace',
    cwd: 'steps/10-lifecycle',
    commands: [
      CTR_10,
      'sudo $ctr run -d --net none --name web sleep 1000',
      'sudo env CTR_TRACE=1 $ctr exec web true',
      'sudo $ctr rm -f web',
    ],
    varies: [
      ...LIFECYCLE_VARIES,
      pid(/nsenter-<> (\d+) --forward=/g),
      pid(/\/proc\/(\d+)\/ns\//g),
      pid(/fork\(\) = (\d+):/g),
    ],
    cleanUp: 'cd steps/10-lifecycle && node --import tsx src/main.ts rm -f web >/dev/null 2>&1; true',
  },
  {
    step: '10',
    name: 'stop-timeout',
    cwd: 'steps/10-lifecycle',
    commands: [
      CTR_10,
      `sudo $ctr run -d --net none --name stubborn sh -c 'trap "" TERM; echo ignoring SIGTERM; while :; do sleep 1; done'`,
      'SECONDS=0; sudo $ctr stop -t 2 stubborn; echo "stop took $SECONDS s"',
      "sudo $ctr inspect stubborn | jq -c '.[0].State | {Status, ExitCode}'",
      'sudo $ctr ps -a',
      'sudo $ctr rm stubborn',
    ],
    varies: [
      ...LIFECYCLE_VARIES,
      {
        pattern: /^stop took (\d+) s$/g,
        why: 'the 2 s of -t, the CLI started by tsx and the monitor recording the exit',
        tolerance: 1,
      },
    ],
    cleanUp: 'cd steps/10-lifecycle && node --import tsx src/main.ts rm -f stubborn >/dev/null 2>&1; true',
  },
  {
    step: '10',
    name: 'dead-monitor',
    cwd: 'steps/10-lifecycle',
    commands: [
      CTR_10,
      'sudo $ctr run -d --net none --name web sleep 1000',
      `sudo kill -9 $(sudo $ctr inspect web | jq '.[0].State.MonitorPid')`,
      'sudo $ctr ps',
      'sudo $ctr rm web',
      'sudo ls /run/ctr/lifecycle /run/ctr/containers',
    ],
    varies: LIFECYCLE_VARIES,
    cleanUp: 'cd steps/10-lifecycle && node --import tsx src/main.ts rm -f web >/dev/null 2>&1; true',
  },
  {
    step: '10',
    name: 'bad-input',
    cwd: 'steps/10-lifecycle',
    commands: [
      CTR_10,
      'sudo $ctr run -d --net none --name web sleep 1000',
      'sudo $ctr run -d --net none --name web sleep 1000; echo "exit status $?"',
      'sudo $ctr rm web; echo "exit status $?"',
      'sudo $ctr logs nosuch; echo "exit status $?"',
      'sudo $ctr stop web',
      'sudo $ctr exec web true; echo "exit status $?"',
      'sudo $ctr rm web',
      'sudo $ctr logs web; echo "exit status $?"',
    ],
    varies: LIFECYCLE_VARIES,
    cleanUp: 'cd steps/10-lifecycle && node --import tsx src/main.ts rm -f web >/dev/null 2>&1; true',
  },
];
