/** Every hunt huntbook runs, each through runHunt(): the CLI, the demo and the tests list them from here. */
import type { AnyHunt } from './contract.ts';
import { FLOW, SCORED } from './beacons/seed-hunts.ts';
import { TIMING } from './beacons/timing.ts';
import { BASELINE } from './baseline/baseline.ts';
import { INSIDER } from './insider/insider.ts';
import { POPULATION } from './risk/population.ts';
import { RISK } from './risk/risk.ts';
import { SOCIAL } from './social/social.ts';

export const HUNTS: readonly AnyHunt[] = [TIMING, SCORED, FLOW, RISK, POPULATION, BASELINE, INSIDER, SOCIAL];

export { BASELINE, FLOW, INSIDER, POPULATION, RISK, SCORED, SOCIAL, TIMING };
