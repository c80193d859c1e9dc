/**
 * Bit flags rendered the way strace prints them: `MS_BIND|MS_REC`, never `20480`.
 * A table maps each name to its bit; bits no name covers are kept as hex so nothing is hidden.
 */
export type FlagTable = Readonly<Record<string, number>>;

export function renderFlags(value: number, table: FlagTable): string {
  if (value === 0) return '0';
  const names: string[] = [];
  let rest = value;
  for (const [name, bit] of Object.entries(table)) {
    if (bit !== 0 && (rest & bit) === bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  // `>>> 0` keeps high bits such as MS_NOUSER (1 << 31) positive when printed.
  if (rest !== 0) names.push(`0x${(rest >>> 0).toString(16)}`);
  return names.join('|');
}

/** A value that is one of several named constants, e.g. `F_SETFD` or `SIGKILL`. */
export function renderEnum(value: number, table: FlagTable): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return String(value);
}
