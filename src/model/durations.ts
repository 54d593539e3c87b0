/** Window sizes as people write them (1d, 12h, 30m, 3600s) and as huntbook prints them. */
import { UsageError } from '../errors.ts';

/** "1d", "12h", "30m", "3600s" or plain seconds; `name` is the flag, for the message. */
export function parseDuration(name: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`${name} must be a duration like 1d, 12h, 30m or 3600s, got "${text}"`);
  const seconds = Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  if (!(seconds >= 1)) throw new UsageError(`${name} must be at least one second`);
  return seconds;
}

/** Seconds as the shortest of 14d, 12h, 30m or 90s. */
export function formatDuration(seconds: number): string {
  const unit = (
    [
      [86400, 'd'],
      [3600, 'h'],
      [60, 'm'],
    ] as const
  ).find(([size]) => seconds % size === 0);
  return unit ? `${seconds / unit[0]}${unit[1]}` : `${seconds}s`;
}
