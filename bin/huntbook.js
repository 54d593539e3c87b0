#!/usr/bin/env node
// Runs the compiled build (dist/, made by `npm install` or `npm run build`) when it is at least as
// new as every source file; otherwise the TypeScript sources through tsx, so an edited clone
// never runs stale code and a clone without a build still works.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const stamp = fileURLToPath(new URL('../dist/.built', import.meta.url));

function buildIsCurrent() {
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  // An installed package has no sources to edit, but npm gives every packed file the same time:
  // equal times count as current.
  return readdirSync(src, { recursive: true }).every((name) => statSync(src + name).mtimeMs <= built);
}

let main;
if (buildIsCurrent()) {
  ({ main } = await import('../dist/bin/huntbook.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/bin/huntbook.ts'));
}
process.exitCode = await main(process.argv);
// A finished command does not linger: if something still holds the event loop (a socket a remote
// server never closed), leave once output has had a moment to drain.
setTimeout(() => process.exit(), 2000).unref();
