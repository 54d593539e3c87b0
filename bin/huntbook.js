#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so a clone works with `npm install` alone.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/bin/huntbook.ts');
process.exitCode = await main(process.argv);
