/**
 * Ctrl-C: the first one asks the work in progress to stop where it can undo itself (the running
 * DuckDB statement is interrupted, loops check between steps), so transactions roll back and
 * temporary files are removed; a second one exits at once.
 */
import { HuntbookError } from './errors.ts';

/** Exit codes by the signal that stopped the work (128 + its number, as shells report them). */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export class InterruptedError extends HuntbookError {
  constructor() {
    super(
      `${state.signal === 'SIGINT' ? 'interrupted' : `stopped by ${state.signal}`}; nothing half-done was kept (each file and each run lands whole or not at all)`,
      { exitCode: SIGNAL_EXIT[state.signal] ?? 130 },
    );
  }
}

const state = { requested: false, signal: 'SIGINT', hooks: new Set<() => void>() };

export function interruptRequested(): boolean {
  return state.requested;
}

/** Throws InterruptedError once Ctrl-C was pressed: call between steps of long work. */
export function checkInterrupted(): void {
  if (state.requested) throw new InterruptedError();
}

/** Registers something to stop on Ctrl-C (a workspace's running statement); returns the unregister. */
export function onInterrupt(hook: () => void): () => void {
  state.hooks.add(hook);
  return () => state.hooks.delete(hook);
}

export function requestInterrupt(signal = 'SIGINT'): void {
  state.requested = true;
  state.signal = signal;
  for (const hook of state.hooks) hook();
}

/** For tests that run several commands in one process. */
export function resetInterrupt(): void {
  state.requested = false;
}
