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
];
