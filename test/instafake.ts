/**
 * The InstaFake dataset (test/data/instafake, CC BY-NC 4.0) as the labelled follower export a
 * hunter would hold: every genuine account and a seeded sample of fakes making ~3 % of it (fake
 * accounts are rare in a real audience), shuffled, written as one JSON export. Used by the social
 * tests and `npm run bench:social`, so both score the same sets.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/ml/random.ts';
import { TEST_DATA } from './helpers.ts';

export interface InstafakeSet {
  path: string;
  rows: number;
  fakes: number;
}

type Account = Record<string, number>;

export function writeInstafakeSet(dir: string, seed: number, fakeShare = 0.03): InstafakeSet {
  const read = (name: string) => JSON.parse(readFileSync(join(TEST_DATA, 'instafake', name), 'utf8')) as Account[];
  const real = read('realAccountData.json');
  const fake = read('fakeAccountData.json');
  const rng = new Rng(seed);
  const wanted = Math.round((fakeShare * real.length) / (1 - fakeShare));
  const shuffle = <T>(items: T[]): T[] => {
    for (let i = items.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  };
  const chosen = shuffle([...fake.keys()])
    .slice(0, wanted)
    .map((i) => fake[i]);
  const rows = shuffle([...real, ...chosen]);
  const path = join(dir, `instafake-${seed}.json`);
  writeFileSync(path, JSON.stringify(rows));
  return { path, rows: rows.length, fakes: chosen.length };
}
