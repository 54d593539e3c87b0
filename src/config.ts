/**
 * Configuration: YAML in, normalised and range-checked values out. Every key is optional; the
 * commented defaults are config/huntbook.yml. Every problem is collected (unknown keys at any
 * level, wrong types, out-of-range numbers, allow-list entries that would hide too much), each
 * with its file, line and key, and reported together rather than one at a time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDomain } from 'tldts';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { HuntbookError } from './errors.ts';
import type { AllowList } from './net/allowlist.ts';
import { parseCidr } from './net/network.ts';

export interface Config {
  networks: { internal: string[] };
  beacons: {
    allow: AllowList;
    jitterTolerance: number;
    prevalenceMinHosts: number;
    strobeRecords: number;
  };
  rules: {
    /** Sigma level → detection weight. */
    levelWeights: Record<string, number>;
    /** Values for Sigma |expand placeholders (%name%); unknown placeholders match nothing. */
    placeholders: Record<string, string[]>;
  };
  /** The files in force, defaults first; every hunt says which. */
  files: string[];
  /** The same, as one string for messages. */
  source: string;
}

export const DEFAULT_CONFIG_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'config', 'huntbook.yml');

export interface ConfigProblem {
  file: string;
  line?: number;
  key: string;
  message: string;
}

export class ConfigError extends HuntbookError {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    const first = problems[0];
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}: huntbook config validate lists them)` : '';
    super(`${first.key}: ${first.message}${more}`, { location: { file: first.file, line: first.line } });
    this.problems = problems;
  }
}

/**
 * The keys each level may hold; `'*'` marks a mapping whose keys the user names (Sigma levels,
 * placeholder names). A key not listed is a typo until proven otherwise.
 */
type Shape = { [key: string]: Shape | 'leaf' | '*' };
const SHAPE: Shape = {
  networks: { internal: 'leaf' },
  beacons: { allow: { domains: 'leaf', cidrs: 'leaf' }, jitter_tolerance: 'leaf', prevalence_min_hosts: 'leaf', strobe_records: 'leaf' },
  rules: { level_weights: '*', placeholders: '*' },
};

/** Allow-listing or calling internal more than this share of an address family hides too much. */
const MIN_PREFIX = { allow: { v4: 8, v6: 16 }, internal: { v4: 8, v6: 7 } } as const;

type Obj = Record<string, unknown>;

class Reader {
  readonly problems: ConfigProblem[] = [];

  constructor(readonly file: string, private readonly doc?: Document, private readonly lines?: LineCounter) {}

  problem(path: string[], message: string): void {
    this.problems.push({ file: this.file, line: this.lineOf(path), key: path.join('.') || '(top level)', message });
  }

  /** The line of a key in the YAML source, for messages an editor can jump to. */
  private lineOf(path: string[]): number | undefined {
    if (!this.doc || !this.lines || path.length === 0) return undefined;
    const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    if (!isMap(parent)) return undefined;
    const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === path.at(-1));
    const offset = pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    return offset === undefined ? undefined : this.lines.linePos(offset).line;
  }

  object(value: unknown, path: string[]): Obj {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.problem(path, 'must be a mapping');
      return {};
    }
    return value as Obj;
  }

  strings(value: unknown, path: string[], fallback: string[]): string[] {
    if (value === undefined) return fallback;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' || typeof v === 'number')) {
      this.problem(path, 'must be a list of strings');
      return fallback;
    }
    return value.map(String);
  }

  number(value: unknown, path: string[], fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !(value >= min && value <= max)) {
      this.problem(path, `must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value;
  }

  unknownKeys(value: unknown, shape: Shape, path: string[]): void {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const [key, child] of Object.entries(value as Obj)) {
      const expected = shape[key];
      if (expected === undefined) {
        this.problem([...path, key], `unknown key${suggest(key, Object.keys(shape))} (known here: ${Object.keys(shape).join(', ')})`);
      } else if (typeof expected === 'object') {
        this.unknownKeys(child, expected, [...path, key]);
      }
    }
  }

  networks(list: string[], path: string[], limits: { v4: number; v6: number }, why: string): void {
    for (const text of list) {
      try {
        const cidr = parseCidr(text);
        const min = cidr.v6 ? limits.v6 : limits.v4;
        if (cidr.prefix < min) this.problem(path, `"${text}" covers too much of the address space (shorter than /${min}); it would ${why}`);
      } catch (error) {
        this.problem(path, (error as Error).message);
      }
    }
  }
}

function suggest(key: string, known: string[]): string {
  const close = known.find((k) => editDistance(k, key) <= 2);
  return close ? ` (did you mean "${close}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length];
}

/** Normalises one file's values over `base`; problems are collected in `reader`. */
function normalise(raw: unknown, reader: Reader, base?: Config): Config {
  const top = reader.object(raw, []);
  reader.unknownKeys(top, SHAPE, []);
  const rules = reader.object(top.rules, ['rules']);
  const levelWeights = { ...(base?.rules.levelWeights ?? {}) };
  for (const [level, weight] of Object.entries(reader.object(rules.level_weights, ['rules', 'level_weights']))) {
    levelWeights[level] = reader.number(weight, ['rules', 'level_weights', level], 0, 0, 1e6);
  }
  const placeholders = { ...(base?.rules.placeholders ?? {}) };
  for (const [name, values] of Object.entries(reader.object(rules.placeholders, ['rules', 'placeholders']))) {
    placeholders[name] = reader.strings(values, ['rules', 'placeholders', name], []);
  }
  const networks = reader.object(top.networks, ['networks']);
  const beacons = reader.object(top.beacons, ['beacons']);
  const allow = reader.object(beacons.allow, ['beacons', 'allow']);
  const internal = reader.strings(networks.internal, ['networks', 'internal'], base?.networks.internal ?? []);
  const cidrs = reader.strings(allow.cidrs, ['beacons', 'allow', 'cidrs'], base?.beacons.allow.cidrs ?? []);
  const domains = reader.strings(allow.domains, ['beacons', 'allow', 'domains'], base?.beacons.allow.domains ?? []);
  reader.networks(internal, ['networks', 'internal'], MIN_PREFIX.internal, 'treat the outside world as internal and hide it from every hunt');
  reader.networks(cidrs, ['beacons', 'allow', 'cidrs'], MIN_PREFIX.allow, 'hide every beacon to it');
  for (const domain of domains) {
    const name = domain.toLowerCase().replace(/^\*?\./, '').replace(/\.$/, '');
    // A public suffix (com, co.uk, github.io ...) is shared by unrelated owners: allow-listing it hides all of them.
    if (getDomain(`x.${name}`, { allowPrivateDomains: true }) === null || getDomain(name, { allowPrivateDomains: true }) === null) {
      reader.problem(['beacons', 'allow', 'domains'], `"${domain}" is a public suffix, not a domain one owner controls; it would hide every beacon to any site under it`);
    }
  }
  const file = reader.file;
  const files = [...(base?.files ?? []), file];
  return {
    networks: { internal },
    beacons: {
      allow: { domains, cidrs },
      jitterTolerance: reader.number(beacons.jitter_tolerance, ['beacons', 'jitter_tolerance'], base?.beacons.jitterTolerance ?? 0.35, 0.01, 1),
      prevalenceMinHosts: reader.number(beacons.prevalence_min_hosts, ['beacons', 'prevalence_min_hosts'], base?.beacons.prevalenceMinHosts ?? 5, 1, 1e9),
      strobeRecords: reader.number(beacons.strobe_records, ['beacons', 'strobe_records'], base?.beacons.strobeRecords ?? 86400, 10, 1e12),
    },
    rules: { levelWeights, placeholders },
    files,
    source: files.join(' + '),
  };
}

/** Values from an object already parsed (tests, the library); throws every problem at once. */
export function normaliseConfig(raw: unknown, file: string, base?: Config): Config {
  const reader = new Reader(file);
  const config = normalise(raw, reader, base);
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return config;
}

function readFile(path: string, base?: Config): { config: Config; problems: ConfigProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => ({ file: path, line: error.linePos?.[0]?.line, key: '(syntax)', message: `cannot read YAML: ${error.message.split('\n')[0]}` }));
    return { config: base ?? normalise({}, new Reader(path)), problems };
  }
  const reader = new Reader(path, doc, lines);
  const config = normalise(doc.toJS(), reader, base);
  return { config, problems: reader.problems };
}

/** Which file overlays the defaults: --config, else ./huntbook.yml if there is one. */
export function chosenConfigPath(path?: string): string | undefined {
  return path ?? (existsSync('huntbook.yml') ? resolve('huntbook.yml') : undefined);
}

/** Every problem of the shipped defaults and the overlay, and the values in force if none. */
export function checkConfig(path?: string): { config?: Config; problems: ConfigProblem[] } {
  const defaults = readFile(DEFAULT_CONFIG_PATH);
  const chosen = chosenConfigPath(path);
  if (!chosen) return { config: defaults.problems.length === 0 ? defaults.config : undefined, problems: defaults.problems };
  if (!existsSync(chosen)) return { problems: [{ file: chosen, key: '(file)', message: 'config file not found' }] };
  const overlay = readFile(chosen, defaults.config);
  const problems = [...defaults.problems, ...overlay.problems];
  return { config: problems.length === 0 ? overlay.config : undefined, problems };
}

/** The shipped defaults, overlaid by ./huntbook.yml or the --config file. */
export function loadConfig(path?: string): Config {
  const { config, problems } = checkConfig(path);
  if (!config) throw new ConfigError(problems);
  return config;
}
