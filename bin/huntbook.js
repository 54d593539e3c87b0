#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so a clone works with `npm install` alone.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/bin/huntbook.ts');
process.exitCode = await main(process.argv);
// A finished command does not linger: if something still holds the event loop (a socket a remote
// server never closed), leave once output has had a moment to drain.
setTimeout(() => process.exit(), 2000).unref();
