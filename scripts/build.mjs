#!/usr/bin/env node
// Compiles src/ to dist/ with tsc (relative `.ts` imports rewritten to `.js`), copies the
// workbench's static files beside the compiled server, and stamps the build last, so
// bin/huntbook.js can tell a finished build from a half-written or stale one.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = new URL('../dist/', import.meta.url);
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // An install without development dependencies (--omit=dev) has no compiler: huntbook then runs
  // its sources through tsx, as bin/huntbook.js does for any missing or stale build.
  process.stderr.write('huntbook build: TypeScript is not installed; skipped (huntbook runs its sources through tsx)\n');
  process.exit(0);
}
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
cpSync(new URL('../src/workbench/web/', import.meta.url), new URL('workbench/web/', dist), { recursive: true });
writeFileSync(new URL('.built', dist), `${new Date().toISOString()}\n`);
