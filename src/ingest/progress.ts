/**
 * Progress on stderr for long work: a single rewritten line on a terminal, nothing when stderr is
 * piped or --quiet is given (so scripts and CI logs stay clean).
 */
export interface Progress {
  update(label: string, fraction?: number): void;
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream, enabled: boolean): Progress {
  if (!enabled || !stream.isTTY) return { update: () => undefined, done: () => undefined };
  let shown = false;
  let last = 0;
  return {
    update(label, fraction) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - label.length - 12));
      const bar = fraction === undefined ? '' : ` [${'#'.repeat(Math.round(fraction * width)).padEnd(width, '.')}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
      stream.write(`\r\u001b[K${label}${bar}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\u001b[K');
      shown = false;
    },
  };
}
