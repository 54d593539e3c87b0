/**
 * A small on-disk cache of derived data (parsed rule sets, regex verdicts) that is costly to
 * rebuild on every command: parsing SigmaHQ's 3,780 YAML files takes ~4 s, reading the cached
 * JSON ~0.1 s. Entries are named by a hash of everything they derive from, so a changed input or
 * a changed parser is a miss, never a stale hit. The cache is an optimisation only: a missing,
 * unreadable or corrupt entry is rebuilt, and a cache that cannot be written is skipped.
 *
 * Where: $HUNTBOOK_CACHE, else $XDG_CACHE_HOME/huntbook, else ~/.cache/huntbook.
 * HUNTBOOK_CACHE=off turns it off.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function cacheDir(): string | undefined {
  const chosen = process.env.HUNTBOOK_CACHE;
  if (chosen === 'off') return undefined;
  if (chosen) return chosen;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huntbook');
}

/** A hex digest of the parts, in order (each length-prefixed, so parts cannot run into each other). */
export function cacheKey(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${Buffer.byteLength(part)}:`).update(part);
  return hash.digest('hex').slice(0, 32);
}

export function readCache<T>(name: string): T | undefined {
  const dir = cacheDir();
  if (!dir) return undefined;
  try {
    return JSON.parse(readFileSync(join(dir, name), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Written to a temporary name then renamed, so a reader never sees half a file. */
export function writeCache(name: string, value: unknown): void {
  const dir = cacheDir();
  if (!dir) return;
  try {
    mkdirSync(dir, { recursive: true });
    const temp = join(dir, `${name}.${process.pid}.tmp`);
    writeFileSync(temp, JSON.stringify(value));
    renameSync(temp, join(dir, name));
  } catch {
    // A read-only home or a full disk costs speed, not results.
  }
}

/** A key for "this code": the text of the modules a cached result was derived by (a changed module is a miss). */
export function sourceKey(modules: readonly URL[]): string {
  return cacheKey(modules.map((url) => readFileSync(fileURLToPath(url), 'utf8')));
}
