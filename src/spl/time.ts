/**
 * earliest= / latest= as Splunk reads them: `0` (the start of time), `now`, an epoch number, an
 * absolute time (%m/%d/%Y:%H:%M:%S, or ISO 8601), or a relative one: [+|-]<n><unit> steps and
 * @<unit> snaps, e.g. -1d, -24h@h, @d, -7d@w0, -1mon@mon. Times are UTC; the result is epoch seconds.
 */
const UNITS: Record<string, 's' | 'm' | 'h' | 'd' | 'w' | 'mon' | 'q' | 'y'> = {
  s: 's',
  sec: 's',
  secs: 's',
  second: 's',
  seconds: 's',
  m: 'm',
  min: 'm',
  mins: 'm',
  minute: 'm',
  minutes: 'm',
  h: 'h',
  hr: 'h',
  hrs: 'h',
  hour: 'h',
  hours: 'h',
  d: 'd',
  day: 'd',
  days: 'd',
  w: 'w',
  week: 'w',
  weeks: 'w',
  mon: 'mon',
  month: 'mon',
  months: 'mon',
  q: 'q',
  qtr: 'q',
  qtrs: 'q',
  quarter: 'q',
  quarters: 'q',
  y: 'y',
  yr: 'y',
  yrs: 'y',
  year: 'y',
  years: 'y',
};

const SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 } as const;

function step(date: Date, n: number, unit: Unit): Date {
  const d = new Date(date);
  if (unit in SECONDS) return new Date(d.getTime() + n * 1000 * SECONDS[unit as keyof typeof SECONDS]);
  const months = n * { mon: 1, q: 3 }[unit as 'mon' | 'q'] || 12 * n;
  d.setUTCMonth(d.getUTCMonth() + months);
  return d;
}

function snap(date: Date, unit: Unit, weekday: number | undefined): Date {
  const d = new Date(date);
  const [y, mo, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
  switch (unit) {
    case 's':
      return new Date(Math.floor(d.getTime() / 1000) * 1000);
    case 'm':
      return new Date(Math.floor(d.getTime() / 60_000) * 60_000);
    case 'h':
      return new Date(Math.floor(d.getTime() / 3_600_000) * 3_600_000);
    case 'd':
      return new Date(Date.UTC(y, mo, day));
    case 'w': {
      // @w or @w0: back to Sunday; @w1 … @w6: back to that weekday.
      const start = new Date(Date.UTC(y, mo, day));
      const back = (start.getUTCDay() - (weekday ?? 0) + 7) % 7;
      return new Date(start.getTime() - back * 86_400_000);
    }
    case 'mon':
      return new Date(Date.UTC(y, mo, 1));
    case 'q':
      return new Date(Date.UTC(y, mo - (mo % 3), 1));
    default:
      return new Date(Date.UTC(y, 0, 1));
  }
}

/** Epoch seconds of an earliest/latest value at `now`; an Error saying what is wrong otherwise. */
export function splTime(value: string, now: Date): number {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text.toLowerCase() === 'now') return now.getTime() / 1000;
  const absolute = /^(\d{1,2})\/(\d{1,2})\/(\d{4}):(\d{1,2}):(\d{2}):(\d{2})$/.exec(text);
  if (absolute) {
    const [, mo, d, y, h, mi, s] = absolute.map(Number);
    return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
    if (!Number.isNaN(ms)) return ms / 1000;
  }
  let date = now;
  for (const move of parseRelative(value)) {
    date = move.kind === 'step' ? step(date, move.count, move.unit) : snap(date, move.unit, move.weekday);
  }
  return date.getTime() / 1000;
}

export type Unit = (typeof UNITS)[string];
/** One move of a relative time: a step of count units, or a snap back to the start of a unit. */
export type Move = { kind: 'step'; count: number; unit: Unit } | { kind: 'snap'; unit: Unit; weekday?: number };

/** A relative time (-1d@d, +2h, @w1) as its moves, in order; an Error saying what is wrong. */
export function parseRelative(value: string): Move[] {
  const text = value.trim();
  // Steps, then at most one snap, then steps.
  const relative = /^((?:[+-]\d*[a-z]+)*)(?:@([a-z]+?)(\d)?)?((?:[+-]\d*[a-z]+)*)$/i.exec(text);
  if (!relative || text === '') throw new Error(`"${value}" is not a time Splunk reads (e.g. -24h, -1d@d, 0, 03/01/2024:00:00:00)`);
  const moves: Move[] = [];
  const steps = (part: string) => {
    for (const [, sign, count, name] of part.matchAll(/([+-])(\d*)([a-z]+)/gi)) {
      const unit = UNITS[name.toLowerCase()];
      if (!unit) throw new Error(`"${name}" in "${value}" is not a time unit (s, m, h, d, w, mon, q, y)`);
      moves.push({ kind: 'step', count: (sign === '-' ? -1 : 1) * (count === '' ? 1 : Number(count)), unit });
    }
  };
  steps(relative[1]);
  if (relative[2]) {
    const unit = UNITS[relative[2].toLowerCase()];
    if (!unit) throw new Error(`"@${relative[2]}" in "${value}" is not a time unit to snap to`);
    moves.push({ kind: 'snap', unit, weekday: relative[3] === undefined ? undefined : Number(relative[3]) });
  }
  steps(relative[4]);
  return moves;
}
