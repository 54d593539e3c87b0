/**
 * Progress on stderr for long work: a single rewritten line on a terminal with the share done, a
 * rate and an ETA; nothing when stderr is piped or --quiet is given (so scripts and CI logs stay
 * clean), unless HUNTBOOK_PROGRESS=lines asks for plain lines.
 */
export interface Progress {
  /** `fraction` of the step labelled `label` is done; `items` (rows, rules...) so far, for a rate. */
  update(label: string, fraction?: number, items?: { done: number; unit: string }): void;
  done(): void;
}

export const NO_PROGRESS: Progress = { update: () => undefined, done: () => undefined };

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.round((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** The text after the label: bar, percent, rate, ETA. Pure, so it can be tested. */
export function progressText(
  fraction: number | undefined,
  elapsedSeconds: number,
  width: number,
  items?: { done: number; unit: string },
): string {
  const parts: string[] = [];
  if (fraction !== undefined) {
    const f = Math.min(1, Math.max(0, fraction));
    parts.push(`[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${(f * 100).toFixed(0).padStart(3)}%`);
  }
  if (items && elapsedSeconds > 0) parts.push(`${Math.round(items.done / elapsedSeconds).toLocaleString('en-US')} ${items.unit}/s`);
  if (fraction !== undefined && fraction > 0.01 && elapsedSeconds >= 1)
    parts.push(`ETA ${formatSeconds((elapsedSeconds * (1 - fraction)) / fraction)}`);
  else parts.push(formatSeconds(elapsedSeconds));
  return parts.join('  ');
}

/**
 * HUNTBOOK_PROGRESS=lines: progress as plain lines (at a new step, then at most once a second)
 * on any stream, for a CI log or a script that waits for work to be under way.
 */
function lineProgress(stream: NodeJS.WritableStream): Progress {
  let current = '';
  let started = Date.now();
  let last = 0;
  return {
    update(label, fraction, items) {
      const now = Date.now();
      if (label === current && now - last < 1000) return;
      if (label !== current) {
        current = label;
        started = now;
      }
      last = now;
      stream.write(`${label} ${progressText(fraction, (now - started) / 1000, 20, items)}\n`);
    },
    done() {
      current = '';
    },
  };
}

export function createProgress(stream: NodeJS.WriteStream, enabled: boolean): Progress {
  if (enabled && process.env.HUNTBOOK_PROGRESS === 'lines') return lineProgress(stream);
  if (!enabled || !stream.isTTY) return NO_PROGRESS;
  let shown = false;
  let last = 0;
  let current = '';
  let started = Date.now();
  return {
    update(label, fraction, items) {
      const now = Date.now();
      if (label !== current) {
        current = label;
        started = now;
      }
      if (now - last < 100) return;
      last = now;
      const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - label.length - 40));
      stream.write(`\r\u001b[K${label} ${progressText(fraction, (now - started) / 1000, width, items)}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\u001b[K');
      shown = false;
      current = '';
    },
  };
}
