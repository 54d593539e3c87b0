/** Shared by the tests: temporary folders, real workspaces, the CLI run in-process. */
import './setup.ts';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { run } from '../src/cli/main.ts';
import { Workspace } from '../src/store/workspace.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
/** Third-party logs and rules the tests read, in the repository (see test/data/MANIFEST.md). */
export const TEST_DATA = join(ROOT, 'test', 'data');

export function testData(...parts: string[]): string {
  const path = join(TEST_DATA, ...parts);
  if (!existsSync(path)) throw new Error(`test data missing: ${path} (see test/data/MANIFEST.md)`);
  return path;
}

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'huntbook-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function openWorkspace(t: { after: (fn: () => void) => void }, dir = tempDir(t)): Promise<Workspace> {
  const ws = await Workspace.open(join(dir, 'test.duckdb'));
  t.after(() => ws.close());
  return ws;
}

/** An empty workspace file on disk, for CLI tests (only ingest and demo create one themselves). */
export async function emptyWorkspaceFile(dir: string, name = 'w.duckdb'): Promise<string> {
  const path = join(dir, name);
  (await Workspace.open(path)).close();
  return path;
}

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `huntbook ARGS` in this process, with stdout and stderr captured. */
export async function cli(...args: string[]): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const saved = process.exitCode;
  process.exitCode = undefined;
  try {
    const code = await run(args, { stdout, stderr });
    return { code, stdout: stdout.text, stderr: stderr.text };
  } finally {
    process.exitCode = saved;
  }
}
