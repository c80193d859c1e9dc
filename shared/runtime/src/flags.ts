/**
 * A feature's docker-style flags, declared with the type their values have in its `configure`:
 *
 *   flags: {
 *     hostname: flag('--hostname <name>', "the container's hostname (default: its id)"),
 *     volume: repeatable('-v, --volume <host:container[:ro]>', 'bind a host directory ...'),
 *   },
 *   configure({ hostname, volume }) { ... }     // hostname: string | undefined; volume: string[]
 *
 * commander parses them (cli.ts); each feature gets back only its own, under the names it
 * declared. This file does not load commander: the init imports it, and commander takes longer to
 * load than anything the init does with it (nothing).
 */
/** One flag of `start`. `T` is the type of its value in `configure`. */
export interface FlagSpec<T> {
  readonly flags: string;
  readonly description: string;
  readonly defaultValue?: string;
  readonly repeatable?: boolean;
  /** Carries `T` for the type checker; never set. */
  readonly valueType?: T;
}

export type FlagTable = Readonly<Record<string, FlagSpec<unknown>>>;

/** The values a feature's `configure` receives for its flag table. */
export type FlagValues<T extends FlagTable> = { readonly [K in keyof T]: T[K] extends FlagSpec<infer V> ? V : never };

/** A flag with a value; `undefined` when not given, unless it has a default. */
export function flag(flags: string, description: string): FlagSpec<string | undefined>;
export function flag(flags: string, description: string, defaultValue: string): FlagSpec<string>;
export function flag(flags: string, description: string, defaultValue?: string): FlagSpec<string | undefined> {
  return defaultValue === undefined ? { flags, description } : { flags, description, defaultValue };
}

/** A flag that may be given again and again (`-e A=1 -e B=2`): every value, in order. */
export function repeatable(flags: string, description: string): FlagSpec<string[]> {
  return { flags, description, repeatable: true };
}

/** A flag without a value (`--privileged`): true when given, undefined otherwise. */
export function toggle(flags: string, description: string): FlagSpec<boolean | undefined> {
  return { flags, description };
}

/** commander's accumulator for a repeatable option. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];
