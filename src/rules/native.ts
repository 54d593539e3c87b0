/**
 * Native rule packs (YAML): rules that identify one action each and carry the weight, phase and
 * entities that risk scoring sums. A pack is a list of rules; each rule has a Sigma-style
 * `detection` over a canonical table (canonical column names, or keys of its JSON column) or a
 * `sql` boolean over whitelisted columns. Loading collects problems with file and line.
 */
import { readFileSync } from 'node:fs';
import { isMap, isSeq, parseDocument, type Node } from 'yaml';
import { isCanonicalTable } from '../store/schema.ts';
import type { EntitySpec, Problem, Rule } from './model.ts';

const RULE_KEYS = new Set([
  'id',
  'name',
  'description',
  'table',
  'entities',
  'entity',
  'weight',
  'phase',
  'tags',
  'detection',
  'sql',
  'level',
]);

function lineOf(text: string, node: Node | null | undefined): number | undefined {
  const start = node?.range?.[0];
  return start === undefined ? undefined : text.slice(0, start).split('\n').length;
}

export function parsePack(path: string, text: string): { rules: Rule[]; problems: Problem[]; pack?: string } {
  const problems: Problem[] = [];
  const rules: Rule[] = [];
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    return {
      rules,
      problems: [{ severity: 'error', file: path, line: e.linePos?.[0]?.line, message: `YAML: ${e.message.split('\n')[0]}` }],
    };
  }
  const root = doc.contents;
  if (!isMap(root))
    return { rules, problems: [{ severity: 'error', file: path, line: 1, message: 'a rule pack is a mapping with a "rules" list' }] };
  const pack = root.get('pack') === undefined ? undefined : String(root.get('pack'));
  const defaults = (root.toJSON() as Record<string, unknown>).defaults as Record<string, unknown> | undefined;
  const list = root.get('rules', true);
  if (!isSeq(list))
    return { rules, problems: [{ severity: 'error', file: path, line: lineOf(text, root), message: '"rules" must be a list' }] };
  for (const item of list.items) {
    const line = lineOf(text, item as Node);
    if (!isMap(item)) {
      problems.push({ severity: 'error', file: path, line, message: 'each rule must be a mapping' });
      continue;
    }
    const raw = { ...(defaults ?? {}), ...(item.toJSON() as Record<string, unknown>) };
    const id = raw.id === undefined ? '' : String(raw.id);
    const problem = (severity: Problem['severity'], message: string) =>
      problems.push({ severity, file: path, line, rule: id || undefined, message });
    for (const key of Object.keys(raw)) if (!RULE_KEYS.has(key)) problem('warning', `unknown key "${key}" is ignored`);
    if (!id) {
      problem('error', 'rule needs an id');
      continue;
    }
    const table = String(raw.table ?? 'events');
    if (!isCanonicalTable(table)) {
      problem('error', `table "${table}" is not a canonical table (flows, http, tls, events, activity, directory, interactions)`);
      continue;
    }
    const weight = Number(raw.weight);
    if (!Number.isFinite(weight) || weight < 0) {
      problem('error', `weight must be a number ≥ 0, got ${JSON.stringify(raw.weight)}`);
      continue;
    }
    if ((raw.detection === undefined) === (raw.sql === undefined)) {
      problem('error', 'give exactly one of "detection" (Sigma syntax) or "sql" (a boolean over columns)');
      continue;
    }
    if (raw.detection !== undefined && (typeof raw.detection !== 'object' || raw.detection === null || !('condition' in raw.detection))) {
      problem('error', 'detection needs a condition');
      continue;
    }
    const entityList = (raw.entities ?? (raw.entity ? [raw.entity] : [{ type: 'user', field: 'user' }])) as unknown;
    if (!Array.isArray(entityList) || !entityList.every((e) => e && typeof e === 'object' && 'type' in e && 'field' in e)) {
      problem('error', 'entities must be a list of {type, field}');
      continue;
    }
    if (!raw.phase) problem('warning', 'no phase: the rule will not count towards pcount');
    rules.push({
      id,
      line,
      name: String(raw.name ?? id),
      description: raw.description === undefined ? undefined : String(raw.description),
      origin: 'native',
      file: pack ? `${path} (${pack})` : path,
      table,
      detection: raw.detection as Record<string, unknown> | undefined,
      sql: raw.sql === undefined ? undefined : String(raw.sql),
      weight,
      phase: String(raw.phase ?? 'unknown'),
      tags: Array.isArray(raw.tags) ? raw.tags.map(String) : [],
      level: raw.level === undefined ? undefined : String(raw.level),
      entities: (entityList as EntitySpec[]).map((e) => ({ type: String(e.type), field: String(e.field) })),
    });
  }
  return { rules, problems, pack };
}

export function loadPack(path: string): { rules: Rule[]; problems: Problem[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { rules: [], problems: [{ severity: 'error', file: path, message: `cannot read: ${(error as Error).message}` }] };
  }
  return parsePack(path, text);
}
