/**
 * A cheap necessary condition for each Sigma rule: a set of anchors of which at least one must
 * hold for the rule to match. The engine looks anchors up for every event (hash joins on exact
 * values and file names, one substring pass per distinct needle) and then checks each rule only
 * against the events where one of its anchors holds: most events meet a handful of the
 * thousands of rules, so most of the work is never done. An anchor is always implied by the
 * rule's own match (it is derived from it, lower-cased), so the prefilter can only widen the
 * candidates, never lose a detection.
 */
import { expandPattern, parseCondition, type ConditionNode } from './condition.ts';
import { base64, base64Offsets, encodeForModifiers, windashVariants } from './values.ts';

/**
 * - `eq`: the lower-cased field equals `value`;
 * - `base`: the lower-cased field's last path segment (after the last \ or /) equals `value`;
 * - `has`: the lower-cased field (null field: the event's whole text) contains `value`.
 */
export interface Anchor {
  kind: 'eq' | 'base' | 'has';
  field: string | null;
  value: string;
}

/** `undefined`: no anchor could be derived, the rule is checked against every event of its source. */
export type Anchors = Anchor[] | undefined;

/** Shorter needles match nearly every event: they would cost a substring pass and filter nothing. */
const MIN_NEEDLE = 3;

/** Anchor of one value of a field item, or undefined when the value constrains nothing we can look up. */
function valueAnchors(field: string | null, raw: unknown, modifiers: string[]): Anchors {
  const has = (m: string) => modifiers.includes(m);
  if (raw === null || raw === undefined || typeof raw === 'object') return undefined;
  for (const m of ['exists', 'fieldref', 'lt', 'lte', 'gt', 'gte', 'cidr', 're', 'expand', 'neq']) if (has(m)) return undefined;
  const text = String(raw);
  const encodings = modifiers.filter((m) => ['base64', 'base64offset', 'utf16', 'utf16le', 'utf16be', 'wide'].includes(m));
  if (encodings.length > 0) {
    const plain = text.replace(/\\([*?\\])/g, '$1');
    const wide = encodeForModifiers(plain, has);
    let needles = [wide.toString('latin1')];
    if (has('base64offset')) needles = base64Offsets(wide);
    else if (has('base64')) needles = [base64(wide)];
    return union(needles.map((n) => needle(field, n.toLowerCase())));
  }
  const variants = has('windash') ? windashVariants(text) : [text];
  return union(
    variants.map((variant) =>
      plainAnchor(field, variant, field === null ? 'contains' : ((['contains', 'startswith', 'endswith'] as const).find(has) ?? 'equals')),
    ),
  );
}

function needle(field: string | null, value: string): Anchors {
  return value.length >= MIN_NEEDLE ? [{ kind: 'has', field, value }] : undefined;
}

/** Literal runs of a Sigma value (wildcards * and ? split them; \* \? \\ are literal characters). */
function literalRuns(value: string): { runs: string[]; wildcard: boolean } {
  const runs: string[] = [];
  let current = '';
  let wildcard = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && (value[i + 1] === '*' || value[i + 1] === '?' || value[i + 1] === '\\')) {
      current += value[++i];
    } else if (ch === '*' || ch === '?') {
      wildcard = true;
      runs.push(current);
      current = '';
    } else current += ch;
  }
  runs.push(current);
  return { runs, wildcard };
}

function plainAnchor(field: string | null, value: string, mode: 'equals' | 'contains' | 'startswith' | 'endswith'): Anchors {
  const { runs, wildcard } = literalRuns(value);
  const lower = runs.map((r) => r.toLowerCase());
  if (!wildcard) {
    const v = lower[0];
    if (mode === 'equals' && field !== null) return [{ kind: 'eq', field, value: v }];
    // "ends with \rundll32.exe" means "the file name is rundll32.exe": an exact lookup.
    if (mode === 'endswith' && field !== null) {
      const cut = Math.max(v.lastIndexOf('\\'), v.lastIndexOf('/'));
      if (cut >= 0) return [{ kind: 'base', field, value: v.slice(cut + 1) }];
    }
    return needle(field, v);
  }
  // The longest literal run is in every match; an equals or endswith value's last run, if it
  // starts at a path separator and holds no wildcard after it, pins the file name.
  const last = lower[lower.length - 1];
  if ((mode === 'equals' || mode === 'endswith') && field !== null) {
    const cut = Math.max(last.lastIndexOf('\\'), last.lastIndexOf('/'));
    if (cut >= 0 && lower.length > 1) return [{ kind: 'base', field, value: last.slice(cut + 1) }];
  }
  const longest = lower.reduce((a, b) => (b.length > a.length ? b : a), '');
  return needle(field, longest);
}

function union(sets: Anchors[]): Anchors {
  if (sets.some((s) => s === undefined)) return undefined;
  const out: Anchor[] = [];
  const seen = new Set<string>();
  for (const s of sets as Anchor[][]) {
    for (const a of s) {
      const key = `${a.kind}\u0000${a.field}\u0000${a.value}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(a);
      }
    }
  }
  return out;
}

/** Lookups are nearly free; each distinct needle costs a substring pass over every event. */
function cost(anchors: Anchors): number {
  if (anchors === undefined) return Infinity;
  return anchors.reduce((sum, a) => sum + (a.kind === 'has' ? 20 + 40 / a.value.length : 1), 0);
}

/** Of alternatives that must all hold, any one's anchors will do: the cheapest. */
function cheapest(sets: Anchors[]): Anchors {
  let best: Anchors;
  for (const s of sets) if (cost(s) < cost(best)) best = s;
  return best;
}

/**
 * Conditions that must all hold, each a set of anchors of which one must: the AND branches of a
 * rule each give one, so an event is a candidate only when every branch could match (Image is
 * rundll32.exe *and* the command line holds one of the needles). Empty: nothing to look up.
 */
export type Clauses = Anchor[][];

/**
 * More clauses filter better but each is one more lookup to join; three keep most of the gain.
 * Beyond the cheapest, only exact-value and file-name clauses are kept: a substring clause adds
 * needles to look for in every event, which costs more than the candidates it removes.
 */
const MAX_CLAUSES = 3;

function clauses(anchors: Anchors): Clauses {
  return anchors === undefined ? [] : [anchors];
}

/** Either branch may match: one clause, the union of each branch's cheapest clause. */
function either(branches: Clauses[]): Clauses {
  if (branches.length === 1) return branches[0];
  if (branches.some((b) => b.length === 0)) return [];
  return clauses(union(branches.map((b) => cheapest(b))));
}

function both(branches: Clauses[]): Clauses {
  const all = branches.flat();
  const seen = new Set<string>();
  return all
    .filter((c) => {
      const key = c
        .map((a) => `${a.kind}\u0000${a.field}\u0000${a.value}`)
        .sort()
        .join('\u0001');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => cost(a) - cost(b))
    .filter((c, i) => i === 0 || c.every((a) => a.kind !== 'has'))
    .slice(0, MAX_CLAUSES);
}

function fieldItemClauses(key: string, values: unknown): Clauses {
  const [name, ...modifiers] = key.split('|');
  const field = name === '' ? null : name;
  const list = Array.isArray(values) ? values : [values];
  if (list.length === 0) return [];
  const mods = field === null ? [...modifiers, 'contains'] : modifiers;
  const each = list.map((v) => valueAnchors(field, v, mods));
  return modifiers.includes('all') ? both(each.map(clauses)) : clauses(union(each));
}

function searchClauses(search: unknown): Clauses {
  if (search === null || search === undefined) return [];
  if (Array.isArray(search)) {
    if (search.length === 0) return [];
    if (search.every((s) => s !== null && typeof s === 'object' && !Array.isArray(s))) return either(search.map(searchClauses));
    return fieldItemClauses('', search);
  }
  if (typeof search === 'object') return both(Object.entries(search as Record<string, unknown>).map(([k, v]) => fieldItemClauses(k, v)));
  return fieldItemClauses('', [search]);
}

/** The anchor clauses of a Sigma detection block; empty when no lookup can narrow it. */
export function detectionAnchors(detection: Record<string, unknown>): Clauses {
  const conditions = detection.condition;
  const texts = Array.isArray(conditions) ? conditions.map(String) : [String(conditions ?? '')];
  const names = Object.keys(detection).filter((k) => k !== 'condition' && k !== 'timeframe');
  const memo = new Map<string, Clauses>();
  const search = (name: string): Clauses => {
    if (!memo.has(name)) memo.set(name, searchClauses(detection[name]));
    return memo.get(name)!;
  };
  const walk = (node: ConditionNode): Clauses => {
    switch (node.type) {
      case 'ref':
        return search(node.name);
      case 'not':
        return [];
      case 'and':
        return both(node.operands.map(walk));
      case 'or':
        return either(node.operands.map(walk));
      case 'of': {
        const matched = expandPattern(node.pattern, names).map(search);
        return node.quantifier === 'all' ? both(matched) : either(matched);
      }
    }
  };
  try {
    return either(texts.map((t) => walk(parseCondition(t))));
  } catch {
    return []; // the compiler reports the condition's problem; here it only means "no anchor"
  }
}
