/**
 * The CLI contract, identical in every step so that one test suite can grade any step and any
 * implementation of it:
 *
 *   ctr start [options] [command [args...]]      default command: /bin/sh
 *
 * Exit status, as docker's: the command's own; 125 when the runtime fails; 126 when the command
 * cannot be executed; 127 when it is not found; 128+N when it is killed by signal N.
 * Options after the command belong to the command (`start ls -l`), as in `docker run`.
 */
import type { ChildProcess } from 'node:child_process';
import { Command, CommanderError, Option } from 'commander';
import { describeFailure, EXIT_RUNTIME_ERROR } from './errors.js';
import type { Step } from './feature.js';
import { collect, type FlagTable, type FlagValues, flag, repeatable } from './flags.js';
import { type StartOptions, startContainer } from './host.js';

/** The flags of every step that belong to the runtime itself rather than to a feature. */
const RUNTIME_FLAGS = {
  rootfs: flag('--rootfs <dir>', "root filesystem (default: the repository's rootfs/, made on first use)"),
  env: repeatable(
    '-e, --env <NAME=value>',
    "set a variable in the command's environment (repeatable; NAME alone copies it from the host)",
  ),
};

const log = (line: string): void => {
  process.stderr.write(`ctr: ${line}\n`);
};

/** The CLI of a step, and how to read each feature's own flags back once it has parsed. */
export function buildProgram(step: Step): Command {
  return buildStartCli(step).program;
}

export interface ParsedFlags {
  runtime: FlagValues<typeof RUNTIME_FLAGS>;
  /** Each feature's own flags, by feature name. */
  features: ReadonlyMap<string, unknown>;
}

export function buildStartCli(step: Step): {
  program: Command;
  featureFlags: (parsed: Record<string, unknown>) => ParsedFlags;
} {
  const program = new Command('ctr')
    .description(`A container runtime, step ${step.id}: ${step.title}`)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: usageError('start') });

  const start = program
    .command('start')
    .summary('run a command in a new container')
    .argument('[command...]', 'the command and its arguments (default: /bin/sh)')
    .passThroughOptions();
  return { program, featureFlags: addStartFlags(step, start) };
}

/** `start`'s flags, the runtime's and every feature's, on `command`; returns how to read them back. */
function addStartFlags(step: Step, command: Command): (parsed: Record<string, unknown>) => ParsedFlags {
  const readRuntimeFlags = addFlags(command, RUNTIME_FLAGS);
  const readers = step.features.map((feature) => [feature.name, addFlags(command, feature.flags ?? {})] as const);
  return (parsed) => ({
    runtime: readRuntimeFlags(parsed),
    features: new Map(readers.map(([name, read]) => [name, read(parsed)])),
  });
}

/**
 * pnpm passes the `--` of `pnpm start -- --hostname box sh` on to the script. A `--` right after
 * `start` is dropped so that options after it still count; a `--` after options keeps its usual
 * meaning (`start --hostname box -- sh`).
 */
export function dropPnpmSeparator(argv: readonly string[]): readonly string[] {
  return argv[2] === 'start' && argv[3] === '--' ? [...argv.slice(0, 3), ...argv.slice(4)] : argv;
}

/** Parses argv, runs the container and returns the exit code; never throws. */
export async function runCli(
  step: Step,
  entry: string,
  argv: readonly string[],
  init: ChildProcess | null = null,
): Promise<number> {
  const { program, featureFlags } = buildStartCli(step);
  let exitCode = 0;
  const startOptions = (
    command: string[],
    read: (parsed: Record<string, unknown>) => ParsedFlags,
    parsed: Record<string, unknown>,
  ): StartOptions => {
    const { runtime, features } = read(parsed);
    return { command, rootfs: runtime.rootfs, env: runtime.env, flags: features, entry, init, log };
  };
  program.commands[0]?.action(async (command: string[], parsed: Record<string, unknown>) => {
    exitCode = await startContainer(step, startOptions(command, featureFlags, parsed));
  });
  for (const command of step.commands) {
    const sub = program.command(command.usage, { hidden: command.hidden ?? false }).summary(command.summary);
    // What follows a command to run belongs to it (`exec box ls -l`), as after `start`'s.
    if (command.startFlags || command.usage.includes('command...')) sub.passThroughOptions();
    const readStart = command.startFlags ? addStartFlags(step, sub) : null;
    const readOwn = addFlags(sub, command.flags ?? {});
    sub.configureOutput({ outputError: usageError(sub.name()) }).action(async (...args: unknown[]) => {
      // commander passes each positional argument (an array for a variadic one), then options.
      const parsed = args.at(-2) as Record<string, unknown>;
      const positional = args.slice(0, -2).flat() as string[];
      const start = readStart ? startOptions(positional, readStart, parsed) : null;
      exitCode = await command.run(positional, log, { flags: readOwn(parsed), start, entry, init });
    });
  }
  try {
    await program.parseAsync(dropPnpmSeparator(argv));
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exitCode 0; every usage error is the runtime's 125.
      return error.exitCode === 0 ? 0 : EXIT_RUNTIME_ERROR;
    }
    const failure = describeFailure(error);
    log(failure.message);
    if (process.env.CTR_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return failure.exitCode;
  }
}

/** commander's usage errors as the runtime's one line, pointing at the command's --help. */
function usageError(command: string): (text: string, write: (text: string) => void) => void {
  return (text, write) => write(`ctr: ${text.replace(/^error: /, '').trim()} (see: ctr ${command} --help)\n`);
}

/** Adds the flags to `command`; returns how to read their values back once it has parsed. */
function addFlags<T extends FlagTable>(command: Command, table: T): (parsed: Record<string, unknown>) => FlagValues<T> {
  const attributes = Object.entries(table).map(([key, spec]) => {
    const option = new Option(spec.flags, spec.description);
    if (spec.repeatable) option.argParser(collect).default([]);
    else if (spec.defaultValue !== undefined) option.default(spec.defaultValue);
    command.addOption(option);
    return [key, option.attributeName()] as const;
  });
  return (parsed) =>
    Object.fromEntries(attributes.map(([key, attribute]) => [key, parsed[attribute]])) as FlagValues<T>;
}
