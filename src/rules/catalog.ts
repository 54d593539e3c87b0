/** Where rules come from on the command line: native packs (default: the shipped ones) and Sigma sources. */
import { existsSync, readdirSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Problem, Rule } from './model.ts';
import { loadPack } from './native.ts';
import { loadSigma } from './sigma/load.ts';

export const SHIPPED_PACKS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'rules');

export function shippedPacks(): string[] {
  return readdirSync(SHIPPED_PACKS_DIR)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => join(SHIPPED_PACKS_DIR, f));
}

export async function loadRuleSources(
  packs: readonly string[],
  sigma: readonly string[],
  levelWeights?: Record<string, number>,
): Promise<{ rules: Rule[]; problems: Problem[] }> {
  const rules: Rule[] = [];
  const problems: Problem[] = [];
  const chosen = packs.length === 0 && sigma.length === 0 ? shippedPacks() : packs;
  // A mistyped path is refused before anything runs: running "no rules" would look like "nothing found".
  for (const path of [...chosen, ...sigma]) {
    if (!existsSync(path)) throw new InputError('no such rule file or folder', { location: { file: path } });
  }
  for (const pack of chosen) {
    const result = loadPack(pack);
    rules.push(...result.rules);
    problems.push(...result.problems);
  }
  for (const source of sigma) {
    const result = await loadSigma(source, levelWeights);
    rules.push(...result.rules);
    problems.push(...result.problems);
  }
  return { rules, problems };
}
