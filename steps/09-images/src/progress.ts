/**
 * Pull progress on stderr: a bar per layer on a terminal (cli-progress's MultiBar redraws them in
 * place), otherwise one line per layer when it is done, which a log or a test can read.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

export interface LayerProgress {
  advance(bytes: number): void;
  done(note: string): void;
}

export interface PullProgress {
  layer(digest: string, size: number): LayerProgress;
  stop(): void;
}

export const shortDigest = (digest: string): string => digest.slice(0, 'sha256:'.length + 12);

/** Decimal units, as docker prints sizes: 12.3 MB. */
export function formatSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function createProgress(tty: boolean, log: (line: string) => void): PullProgress {
  if (!tty) {
    return {
      layer: (digest, size) => ({
        advance() {},
        done: (note) => log(`layer ${shortDigest(digest)} ${formatSize(size)} ${note}`),
      }),
      stop() {},
    };
  }
  const bars = new MultiBar(
    {
      stream: process.stderr,
      format: '{digest} [{bar}] {percentage}% {amount} {note}',
      hideCursor: true,
      clearOnComplete: false,
    },
    Presets.shades_classic,
  );
  return {
    layer(digest, size) {
      const bar: SingleBar = bars.create(size, 0, { digest: shortDigest(digest), amount: formatSize(size), note: '' });
      return {
        advance: (bytes) => bar.increment(bytes),
        done: (note) => bar.update(size, { note }),
      };
    },
    stop: () => bars.stop(),
  };
}
