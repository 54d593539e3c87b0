/**
 * Files the command line writes for the user (a report, a Cypher export, generated logs): never
 * the workspace, never a file huntbook did not write unless --force, clear errors for a folder or
 * a missing parent, and whole or not at all (a temporary file renamed into place).
 */
import { closeSync, existsSync, openSync, readSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';

/** What a file huntbook wrote starts with (its first 512 bytes hold it): the report's meta tag, the export's comment. */
export const WRITTEN_BY = ['<meta name="generator" content="huntbook', '// huntbook graph export'];

function canonical(path: string): string {
  const full = resolve(path);
  try {
    return realpathSync(full);
  } catch {
    // Not there yet: its folder's real path and its name.
    try {
      return join(realpathSync(dirname(full)), basename(full));
    } catch {
      return full;
    }
  }
}

/** The workspace's own files: the database, its write-ahead log and temporary folder. */
function workspaceFiles(db: string): string[] {
  return ['', '.wal', '.tmp'].map((suffix) => canonical(`${db}${suffix}`));
}

function head(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(512);
    return buffer.subarray(0, readSync(fd, buffer, 0, 512, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Refuses `path` for output before anything is computed; returns it resolved. */
export function checkOutputFile(option: string, path: string, db: string, force = false): string {
  if (!path) throw new UsageError(`${option} needs a file name`);
  const target = canonical(path);
  if (workspaceFiles(db).includes(target))
    throw new UsageError(`${option} ${path} is the workspace (--db ${db}): choose another file (nothing was written)`);
  const parent = dirname(resolve(path));
  if (!existsSync(parent))
    throw new UsageError(`${option} ${path}: the folder ${parent} does not exist (create it first; nothing was written)`);
  if (!statSync(parent).isDirectory()) throw new UsageError(`${option} ${path}: ${parent} is not a folder`);
  if (existsSync(target)) {
    if (statSync(target).isDirectory())
      throw new UsageError(`${option} ${path} is a folder: give a file name inside it (e.g. ${join(path, 'report.html')})`);
    if (!force && !WRITTEN_BY.some((mark) => head(target).includes(mark))) {
      throw new UsageError(
        `${option} ${path} exists and huntbook did not write it: choose another name, or --force to replace it (nothing was written)`,
      );
    }
  }
  return target;
}

/** Writes `content` to a checked output path whole: a temporary file beside it, renamed over it. */
export function writeOutputFile(target: string, content: string): void {
  const temp = join(dirname(target), `.${basename(target)}.huntbook-${process.pid}.tmp`);
  try {
    writeFileSync(temp, content);
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Marks a folder whose files huntbook generate wrote, so a later run may replace them. */
export const GENERATED_MARKER = '.huntbook-generate';

/**
 * A folder huntbook fills with files of known names: a file is refused; files of those names that
 * huntbook did not write (no marker) are refused unless --force; the folder is made when missing.
 */
export function checkOutputFolder(option: string, dir: string, names: readonly string[], force = false): void {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new UsageError(`${option} ${dir} is a file, not a folder (nothing was written)`);
  if (!existsSync(dir) || force || existsSync(join(dir, GENERATED_MARKER))) return;
  const taken = names.filter((name) => existsSync(join(dir, name)));
  if (taken.length > 0) {
    throw new UsageError(
      `${option} ${dir} already holds ${taken.join(', ')}, which huntbook did not write: choose a new or empty folder, or --force to replace them (nothing was written)`,
    );
  }
}
