import { step09 } from '@ctr/09';
import { defineStep, flag, repeatable, type StepCommand, toggle } from '@ctr/runtime';

// Each command's code is loaded when it runs: the init's bundle carries it, never runs it.
const lifecycle = () => import('./commands.js');

const commands: StepCommand[] = [
  {
    usage: 'run [command...]',
    summary: 'run a command in a new container; with -d, in the background, owned by a monitor',
    startFlags: true,
    flags: {
      detach: toggle('-d, --detach', "run in the background: print the container's id and return"),
      name: flag('--name <name>', 'a name for the container, usable wherever its id is'),
    },
    run: async (command, log, context) => (await lifecycle()).run(step10, command, log, context),
  },
  {
    usage: 'ps',
    summary: 'list the running containers (-a: all of them)',
    flags: { all: toggle('-a, --all', 'also the containers that exited') },
    run: async (_, __, { flags }) => (await lifecycle()).ps(flags.all === true),
  },
  {
    usage: 'logs <container>',
    summary: "print a container's output",
    flags: {
      follow: toggle('-f, --follow', 'go on printing what it writes, until it exits'),
      tail: flag('-n, --tail <lines>', 'only the last lines'),
    },
    run: async ([ref], _, { flags }) => (await lifecycle()).logs(ref as string, flags),
  },
  {
    usage: 'stop <containers...>',
    summary: 'stop containers: the stop signal (SIGTERM), then SIGKILL after a timeout',
    flags: {
      time: flag(
        '-t, --time <seconds>',
        "seconds to wait before SIGKILL (default: the container's --stop-timeout, 10)",
      ),
    },
    run: async (refs, log, { flags }) => (await lifecycle()).stop(refs, flags.time as string | undefined, log),
  },
  {
    usage: 'kill <containers...>',
    summary: "send a signal to containers' first process",
    flags: { signal: flag('-s, --signal <signal>', 'the signal', 'SIGKILL') },
    run: async (refs, log, { flags }) => (await lifecycle()).kill(refs, flags.signal as string, log),
  },
  {
    usage: 'rm <containers...>',
    summary: 'remove containers that exited (-f: stop them first)',
    flags: { force: toggle('-f, --force', 'kill a running container first') },
    run: async (refs, log, { flags }) => (await lifecycle()).rm(refs, flags.force === true, log),
  },
  {
    usage: 'inspect <containers...>',
    summary: 'print what the runtime knows of containers, as JSON',
    run: async (refs) => (await lifecycle()).inspect(refs),
  },
  {
    usage: 'exec <container> <command...>',
    summary: 'run a command in a running container: its namespaces, cgroups and security',
    flags: {
      interactive: toggle('-i, --interactive', 'keep stdin open'),
      tty: toggle('-t, --tty', 'the command draws on this terminal'),
      env: repeatable('-e, --env <NAME=value>', "set a variable in the command's environment (repeatable)"),
      user: flag('-u, --user <user[:group]>', "run as this user of the container (default: the container's)"),
      workdir: flag('-w, --workdir <dir>', "the working directory inside (default: the image's, else /)"),
    },
    run: async ([ref, ...command], _, { flags }) => (await lifecycle()).exec(ref as string, command, flags),
  },
  {
    usage: 'monitor',
    summary: 'the process that owns a detached container (started by run -d)',
    hidden: true,
    startsInit: 'pipe',
    run: async (_, __, context) => (await import('./monitor.js')).monitor(step10, context),
  },
];

export const step10 = defineStep({
  id: '10',
  title: 'Lifecycle: a container that outlives the command line (run -d, ps, logs, exec, stop, rm)',
  extends: step09,
  adds: [],
  commands,
});
