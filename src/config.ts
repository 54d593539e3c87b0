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
import { parseExpression } from './model/expression.ts';
import {
  POPULATION_MULTIPLIERS,
  POPULATION_TIER_FEATURES,
  RISK_METRICS,
  SCORED_MULTIPLIERS,
  SCORED_TIER_FEATURES,
} from './model/features.ts';
import type { Comparison, Multiplier } from './model/tiers.ts';
import type { AllowList } from './net/allowlist.ts';
import { parseCidr } from './net/network.ts';
import { checkRuleSql } from './rules/sqlcheck.ts';
import { parseLogsUrl } from './store/logs-url.ts';
import { CANONICAL_COLUMNS, CANONICAL_TABLES, type CanonicalTable } from './store/schema.ts';
import { editDistance } from './text.ts';

export interface Config {
  networks: { internal: string[] };
  beacons: {
    allow: AllowList;
    jitterTolerance: number;
    categorisedFactor: number;
    prevalenceMinHosts: number;
    strobeRecords: number;
    /** The seed's risk-scored search: thresholds and its five multipliers. */
    scored: { minConnections: number; maxUsers: number; minWeight: number; multipliers: Multiplier[] };
  };
  risk: {
    phaseStep: number;
    sourceStep: number;
    capK: number;
    alert: string;
    tacticRule: { minTactics: number; minRules: number; days: number };
    clusters: number;
  };
  population: { multipliers: Multiplier[] };
  baseline: BaselineConfig;
  insider: InsiderWeights;
  rules: {
    /** Sigma level → detection weight. */
    levelWeights: Record<string, number>;
    /** Values for Sigma |expand placeholders (%name%); unknown placeholders match nothing. */
    placeholders: Record<string, string[]>;
    /** A CSV the hunter keeps (user,date,flag[,weight]): each row a red-flag detection on rules run. */
    watchlist?: string;
  };
  /** huntbook spl: which table a Splunk sourcetype or index names (lower case). */
  spl: { sourcetypes: Record<string, string>; indexes: Record<string, string> };
  /** Where the log tables are, when not in the workspace: clickhouse://USER@HOST:8123/DB (the password from the environment). */
  logs?: string;
  /** The files in force, defaults first; every hunt says which. */
  files: string[];
  /** The same, as one string for messages. */
  source: string;
}

/** A feature of hunt baseline's daily matrix: what to take of which rows of which table, per user and day. */
export interface BaselineFeature {
  name: string;
  table: CanonicalTable;
  /** A SQL boolean over the table's columns ({personal_mail} already replaced); checked like a native rule's. */
  where: string;
  /** An aggregate from a short list: count(*), count(DISTINCT col), max|min(hour(ts)), sum|max(col). */
  value: string;
}

export interface BaselineConfig {
  warmupDays: number;
  minHistoryDays: number;
  madFloor: number;
  zThreshold: number;
  peerKey: 'role' | 'department' | 'team';
  packs: string[];
  personalMail: string[];
  features: BaselineFeature[];
}

export const PEER_KEYS = ['role', 'department', 'team'] as const;

/** How hunt insider adds its parts up (config/huntbook.yml `insider`). */
export interface InsiderWeights {
  riskFactor: number;
  populationDivisor: number;
  outlierBonus: number;
  orderBonus: number;
  orderDays: number;
  exfilDaysBonus: number;
  redFlagBonus: number;
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
    const more =
      problems.length > 1
        ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}: huntbook config validate lists them)`
        : '';
    super(`${first.key}: ${first.message}${more}`, { location: { file: first.file, line: first.line } });
    this.problems = problems;
  }
}

/**
 * The keys each level may hold; `'*'` marks a mapping whose keys the user names (Sigma levels,
 * placeholder names). A key not listed is a typo until proven otherwise.
 */
type Shape = { [key: string]: Shape | 'leaf' | '*' };
const multiplierShape = (names: readonly string[]): Shape =>
  Object.fromEntries(names.map((n) => [n, { metric: 'leaf', tiers: 'leaf', otherwise: 'leaf' }]));
const SHAPE: Shape = {
  networks: { internal: 'leaf' },
  beacons: {
    allow: { domains: 'leaf', cidrs: 'leaf' },
    jitter_tolerance: 'leaf',
    categorised_factor: 'leaf',
    prevalence_min_hosts: 'leaf',
    strobe_records: 'leaf',
    scored: { min_connections: 'leaf', max_users: 'leaf', min_weight: 'leaf', multipliers: multiplierShape(SCORED_MULTIPLIERS) },
  },
  risk: {
    phase_step: 'leaf',
    source_step: 'leaf',
    cap_k: 'leaf',
    alert: 'leaf',
    tactic_rule: { min_tactics: 'leaf', min_rules: 'leaf', days: 'leaf' },
    clusters: 'leaf',
  },
  population: { multipliers: multiplierShape(POPULATION_MULTIPLIERS) },
  insider: {
    risk_factor: 'leaf',
    population_divisor: 'leaf',
    outlier_bonus: 'leaf',
    order_bonus: 'leaf',
    order_days: 'leaf',
    exfil_days_bonus: 'leaf',
    red_flag_bonus: 'leaf',
  },
  baseline: {
    warmup_days: 'leaf',
    min_history_days: 'leaf',
    mad_floor: 'leaf',
    z_threshold: 'leaf',
    peer_key: 'leaf',
    packs: 'leaf',
    personal_mail: 'leaf',
    features: '*',
  },
  rules: { level_weights: '*', placeholders: '*', watchlist: 'leaf' },
  spl: { sourcetypes: '*', indexes: '*' },
  logs: 'leaf',
};

const COMPARISONS: readonly Comparison[] = ['gt', 'gte', 'lt', 'lte', 'eq'];

/** Allow-listing or calling internal more than this share of an address family hides too much. */
const MIN_PREFIX = { allow: { v4: 8, v6: 16 }, internal: { v4: 8, v6: 7 } } as const;

type Obj = Record<string, unknown>;

class Reader {
  readonly problems: ConfigProblem[] = [];

  constructor(
    readonly file: string,
    private readonly doc?: Document,
    private readonly lines?: LineCounter,
  ) {}

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

  text(value: unknown, path: string[], fallback: string): string {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || value.trim() === '') {
      this.problem(path, 'must be a non-empty string');
      return fallback;
    }
    return value;
  }

  /**
   * `name: {metric, tiers: [{gt: 300, weight: 100}, ...]}` per multiplier; a multiplier left out
   * keeps its base. Names and metrics come from the hunt's own vocabulary (they become SQL names).
   */
  multipliers(value: unknown, path: string[], base: readonly Multiplier[], features: readonly string[]): Multiplier[] {
    const given = this.object(value, path);
    return base.map((m) => {
      if (!(m.name in given)) return m;
      const at = [...path, m.name];
      const entry = this.object(given[m.name], at);
      const metric = this.text(entry.metric, [...at, 'metric'], m.metric);
      if (!features.includes(metric))
        this.problem([...at, 'metric'], `"${metric}" is not a feature of this hunt (features: ${features.join(', ')})`);
      // otherwise: null makes a row no tier holds for null (Splunk's case() as written); a number gives that.
      let otherwise = m.otherwise;
      if (entry.otherwise === null) otherwise = null;
      else if (entry.otherwise !== undefined) otherwise = this.number(entry.otherwise, [...at, 'otherwise'], 0, -1e9, 1e9);
      if (entry.tiers === undefined) return { ...m, metric, otherwise };
      if (!Array.isArray(entry.tiers)) {
        this.problem([...at, 'tiers'], 'must be a list like [{gt: 300, weight: 100}, {gt: 60, weight: 50}]');
        return m;
      }
      const tiers = entry.tiers.flatMap((tier: unknown, i: number) => {
        const t = this.object(tier, [...at, 'tiers']);
        const ops = Object.keys(t).filter((k) => k !== 'weight') as Comparison[];
        if (ops.length === 0 || ops.some((op) => !COMPARISONS.includes(op) || typeof t[op] !== 'number') || typeof t.weight !== 'number') {
          this.problem(
            [...at, 'tiers'],
            `tier ${i + 1} must be comparisons (${COMPARISONS.join(', ')}) with numbers, all of which must hold, and a weight: {gt: 300, weight: 100} or {gt: 0.06, lt: 0.94, weight: 0}`,
          );
          return [];
        }
        return [{ conditions: ops.map((op) => ({ when: op, value: t[op] as number })), weight: t.weight }];
      });
      return { name: m.name, metric, tiers, otherwise };
    });
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

/** Keys a file may leave out even when it is the shipped defaults (mappings the user names, an optional file). */
const OPTIONAL_KEYS = new Set(['rules.watchlist', 'rules.placeholders', 'rules.level_weights', 'logs']);

/**
 * The shipped defaults (config/huntbook.yml) set every key: the one place each default number
 * lives. A key missing there is a problem of the file, not a value made up here.
 */
function requireEveryKey(reader: Reader, value: unknown, shape: Shape, path: string[]): void {
  for (const [key, child] of Object.entries(shape)) {
    const at = [...path, key];
    // A multiplier's otherwise: is 0 unless set (Splunk's null for the seed's tiers as written).
    if (OPTIONAL_KEYS.has(at.join('.')) || key === 'otherwise') continue;
    const v = value !== null && typeof value === 'object' ? (value as Obj)[key] : undefined;
    if (v === undefined) reader.problem(at, 'missing from the shipped defaults (every key has its default there)');
    else if (typeof child === 'object') requireEveryKey(reader, v, child, at);
  }
}

/** What the shipped file is read over: nothing (every key is required of it, see requireEveryKey). */
const UNSET = { number: Number.NaN, text: '' };

function suggest(key: string, known: string[]): string {
  const close = known.find((k) => editDistance(k, key) <= 2);
  return close ? ` (did you mean "${close}"?)` : '';
}

/** Normalises one file's values over `base`; problems are collected in `reader`. */
function normalise(raw: unknown, reader: Reader, base?: Config): Config {
  const top = reader.object(raw, []);
  reader.unknownKeys(top, SHAPE, []);
  if (!base) requireEveryKey(reader, top, SHAPE, []);
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
  reader.networks(
    internal,
    ['networks', 'internal'],
    MIN_PREFIX.internal,
    'treat the outside world as internal and hide it from every hunt',
  );
  reader.networks(cidrs, ['beacons', 'allow', 'cidrs'], MIN_PREFIX.allow, 'hide every beacon to it');
  for (const domain of domains) {
    const name = domain
      .toLowerCase()
      .replace(/^\*?\./, '')
      .replace(/\.$/, '');
    // A public suffix (com, co.uk, github.io ...) is shared by unrelated owners: allow-listing it hides all of them.
    if (getDomain(`x.${name}`, { allowPrivateDomains: true }) === null || getDomain(name, { allowPrivateDomains: true }) === null) {
      reader.problem(
        ['beacons', 'allow', 'domains'],
        `"${domain}" is a public suffix, not a domain one owner controls; it would hide every beacon to any site under it`,
      );
    }
  }
  const scored = reader.object(beacons.scored, ['beacons', 'scored']);
  const baseScored = base?.beacons.scored ?? {
    minConnections: UNSET.number,
    maxUsers: UNSET.number,
    minWeight: UNSET.number,
    multipliers: SCORED_MULTIPLIERS.map((name) => ({ name, metric: 'login_count', tiers: [] })),
  };
  const risk = reader.object(top.risk, ['risk']);
  const baseRisk = base?.risk ?? {
    phaseStep: UNSET.number,
    sourceStep: UNSET.number,
    capK: UNSET.number,
    alert: UNSET.text,
    tacticRule: { minTactics: UNSET.number, minRules: UNSET.number, days: UNSET.number },
    clusters: UNSET.number,
  };
  const tactic = reader.object(risk.tactic_rule, ['risk', 'tactic_rule']);
  const alert = reader.text(risk.alert, ['risk', 'alert'], baseRisk.alert);
  try {
    if (risk.alert !== undefined || base) parseExpression(alert, [...RISK_METRICS]);
  } catch (error) {
    reader.problem(['risk', 'alert'], (error as Error).message);
  }
  const population = reader.object(top.population, ['population']);
  const basePopulation = base?.population.multipliers ?? POPULATION_MULTIPLIERS.map((name) => ({ name, metric: 'user_count', tiers: [] }));
  const baseline = readBaseline(reader, reader.object(top.baseline, ['baseline']), base?.baseline);
  const insiderRaw = reader.object(top.insider, ['insider']);
  const baseInsider: InsiderWeights = base?.insider ?? {
    riskFactor: UNSET.number,
    populationDivisor: UNSET.number,
    outlierBonus: UNSET.number,
    orderBonus: UNSET.number,
    orderDays: UNSET.number,
    exfilDaysBonus: UNSET.number,
    redFlagBonus: UNSET.number,
  };
  const w = (key: string, fallback: number, min: number, max: number) =>
    reader.number(insiderRaw[key], ['insider', key], fallback, min, max);
  const insider: InsiderWeights = {
    riskFactor: w('risk_factor', baseInsider.riskFactor, 0, 100),
    populationDivisor: w('population_divisor', baseInsider.populationDivisor, 0.001, 1e6),
    outlierBonus: w('outlier_bonus', baseInsider.outlierBonus, 0, 1e6),
    orderBonus: w('order_bonus', baseInsider.orderBonus, 0, 1e6),
    orderDays: w('order_days', baseInsider.orderDays, 0, 365),
    exfilDaysBonus: w('exfil_days_bonus', baseInsider.exfilDaysBonus, 0, 1e6),
    redFlagBonus: w('red_flag_bonus', baseInsider.redFlagBonus, 0, 1e6),
  };
  const file = reader.file;
  const files = [...(base?.files ?? []), file];
  return {
    networks: { internal },
    beacons: {
      allow: { domains, cidrs },
      jitterTolerance: reader.number(
        beacons.jitter_tolerance,
        ['beacons', 'jitter_tolerance'],
        base?.beacons.jitterTolerance ?? UNSET.number,
        0.01,
        1,
      ),
      categorisedFactor: reader.number(
        beacons.categorised_factor,
        ['beacons', 'categorised_factor'],
        base?.beacons.categorisedFactor ?? UNSET.number,
        0,
        1,
      ),
      prevalenceMinHosts: reader.number(
        beacons.prevalence_min_hosts,
        ['beacons', 'prevalence_min_hosts'],
        base?.beacons.prevalenceMinHosts ?? UNSET.number,
        1,
        1e9,
      ),
      strobeRecords: reader.number(
        beacons.strobe_records,
        ['beacons', 'strobe_records'],
        base?.beacons.strobeRecords ?? UNSET.number,
        10,
        1e12,
      ),
      scored: {
        minConnections: reader.number(scored.min_connections, ['beacons', 'scored', 'min_connections'], baseScored.minConnections, 0, 1e9),
        maxUsers: reader.number(scored.max_users, ['beacons', 'scored', 'max_users'], baseScored.maxUsers, 1, 1e9),
        minWeight: reader.number(scored.min_weight, ['beacons', 'scored', 'min_weight'], baseScored.minWeight, -1e9, 1e9),
        multipliers: reader.multipliers(
          scored.multipliers,
          ['beacons', 'scored', 'multipliers'],
          baseScored.multipliers,
          SCORED_TIER_FEATURES,
        ),
      },
    },
    risk: {
      phaseStep: reader.number(risk.phase_step, ['risk', 'phase_step'], baseRisk.phaseStep, 0, 1e6),
      sourceStep: reader.number(risk.source_step, ['risk', 'source_step'], baseRisk.sourceStep, 0, 1e6),
      capK: reader.number(risk.cap_k, ['risk', 'cap_k'], baseRisk.capK, 1, 1e6),
      alert,
      tacticRule: {
        minTactics: reader.number(tactic.min_tactics, ['risk', 'tactic_rule', 'min_tactics'], baseRisk.tacticRule.minTactics, 1, 100),
        minRules: reader.number(tactic.min_rules, ['risk', 'tactic_rule', 'min_rules'], baseRisk.tacticRule.minRules, 1, 1e6),
        days: reader.number(tactic.days, ['risk', 'tactic_rule', 'days'], baseRisk.tacticRule.days, 1, 3650),
      },
      clusters: reader.number(risk.clusters, ['risk', 'clusters'], baseRisk.clusters, 1, 50),
    },
    population: {
      multipliers: reader.multipliers(population.multipliers, ['population', 'multipliers'], basePopulation, POPULATION_TIER_FEATURES),
    },
    baseline,
    insider,
    rules: {
      levelWeights,
      placeholders,
      watchlist:
        rules.watchlist === undefined || rules.watchlist === null
          ? base?.rules.watchlist
          : reader.text(rules.watchlist, ['rules', 'watchlist'], ''),
    },
    spl: splOf(top.spl, reader, base),
    ...logsOf(top.logs, reader, base),
    files,
    source: files.join(' + '),
  };
}

/** The tables an SPL search may read through index= and sourcetype=. */
const SPL_TABLES = [...CANONICAL_TABLES, 'detections'];

/** `spl:` sourcetype and index names (case-insensitive) → the table they name; a file's entries over the shipped ones. */
function splOf(value: unknown, reader: Reader, base?: Config): Config['spl'] {
  const spl = reader.object(value, ['spl']);
  const out = { sourcetypes: { ...(base?.spl.sourcetypes ?? {}) }, indexes: { ...(base?.spl.indexes ?? {}) } };
  for (const kind of ['sourcetypes', 'indexes'] as const) {
    for (const [name, table] of Object.entries(reader.object(spl[kind], ['spl', kind]))) {
      const text = reader.text(table, ['spl', kind, name], '');
      if (!SPL_TABLES.includes(text)) reader.problem(['spl', kind, name], `must be one of ${SPL_TABLES.join(', ')}`);
      else out[kind][name.toLowerCase()] = text;
    }
  }
  return out;
}

/** `logs:` a clickhouse:// address, checked as --logs is (no password in it: that is the environment's). */
function logsOf(value: unknown, reader: Reader, base?: Config): { logs?: string } {
  if (value === undefined || value === null) return base?.logs ? { logs: base.logs } : {};
  const text = reader.text(value, ['logs'], '');
  try {
    parseLogsUrl(text);
  } catch (error) {
    reader.problem(['logs'], (error as Error).message.replace(/^--logs:? ?/, ''));
  }
  return { logs: text };
}

/** Feature names become column names: a plain identifier, and not one of the built-in columns. */
const FEATURE_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const BUILT_IN_COLUMNS = ['user', 'day', 'weighted', 'day_count'];

function readBaseline(reader: Reader, raw: Obj, base: BaselineConfig | undefined): BaselineConfig {
  const at = (key: string) => ['baseline', key];
  const fallback: BaselineConfig = base ?? {
    warmupDays: UNSET.number,
    minHistoryDays: UNSET.number,
    madFloor: UNSET.number,
    zThreshold: UNSET.number,
    peerKey: 'role',
    packs: [],
    personalMail: [],
    features: [],
  };
  const peerKey = reader.text(raw.peer_key, at('peer_key'), fallback.peerKey);
  if (!(PEER_KEYS as readonly string[]).includes(peerKey))
    reader.problem(at('peer_key'), `must be one of ${PEER_KEYS.join(', ')}, got "${peerKey}"`);
  const personalMail = reader.strings(raw.personal_mail, at('personal_mail'), fallback.personalMail).map((d) => d.toLowerCase());
  for (const domain of personalMail)
    if (!/^[a-z0-9.-]+\.[a-z]{2,}$/.test(domain)) reader.problem(at('personal_mail'), `"${domain}" is not a domain name`);
  const features = new Map(fallback.features.map((f) => [f.name, f]));
  for (const [name, value] of Object.entries(reader.object(raw.features, at('features')))) {
    const path = ['baseline', 'features', name];
    if (value === null) {
      features.delete(name); // `name: null` drops a default feature
      continue;
    }
    if (!FEATURE_NAME.test(name) || BUILT_IN_COLUMNS.includes(name)) {
      reader.problem(path, `a feature name is lower-case letters, digits and _ (and not ${BUILT_IN_COLUMNS.join(', ')})`);
      continue;
    }
    const entry = reader.object(value, path);
    reader.unknownKeys(entry, { table: 'leaf', where: 'leaf', value: 'leaf' }, path);
    const table = reader.text(entry.table, [...path, 'table'], '');
    if (!(CANONICAL_TABLES as readonly string[]).includes(table)) {
      reader.problem([...path, 'table'], `must be one of ${CANONICAL_TABLES.join(', ')}`);
      continue;
    }
    const where = reader
      .text(entry.where, [...path, 'where'], 'true')
      .replaceAll('{personal_mail}', personalMail.map((d) => d.replace(/[.]/g, '\\.')).join('|') || 'no-provider-listed');
    const aggregate = reader.text(entry.value, [...path, 'value'], 'count(*)');
    try {
      checkRuleSql(where, table as CanonicalTable);
      checkAggregate(aggregate, table as CanonicalTable);
    } catch (error) {
      reader.problem(path, (error as Error).message);
      continue;
    }
    features.set(name, { name, table: table as CanonicalTable, where, value: aggregate });
  }
  return {
    warmupDays: reader.number(raw.warmup_days, at('warmup_days'), fallback.warmupDays, 1, 365),
    minHistoryDays: reader.number(raw.min_history_days, at('min_history_days'), fallback.minHistoryDays, 2, 3650),
    madFloor: reader.number(raw.mad_floor, at('mad_floor'), fallback.madFloor, 0.001, 1e6),
    zThreshold: reader.number(raw.z_threshold, at('z_threshold'), fallback.zThreshold, 0.1, 1e6),
    peerKey: peerKey as BaselineConfig['peerKey'],
    packs: reader.strings(raw.packs, at('packs'), fallback.packs),
    personalMail,
    features: [...features.values()],
  };
}

/** What a feature may take of its rows: a short list of aggregates over the table's own columns. */
function checkAggregate(value: string, table: CanonicalTable): void {
  const columns = new Set(CANONICAL_COLUMNS[table].map((c) => c.name));
  const match = /^(?:count\(\*\)|count\(DISTINCT ([a-z_]+)\)|(?:max|min)\(hour\(ts\)\)|(?:sum|max|min)\(([a-z_]+)\))$/i.exec(value.trim());
  const column = match?.[1] ?? match?.[2];
  if (!match || (column !== undefined && !columns.has(column))) {
    throw new Error(
      `value "${value}" must be count(*), count(DISTINCT column), max(hour(ts)), min(hour(ts)), sum(column), max(column) or min(column) over ${table}'s columns`,
    );
  }
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
    const problems = doc.errors.map((error) => ({
      file: path,
      line: error.linePos?.[0]?.line,
      key: '(syntax)',
      message: `cannot read YAML: ${error.message.split('\n')[0]}`,
    }));
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

let shipped: Config | undefined;

/** The shipped defaults alone (config/huntbook.yml): the one place every default number lives. */
export function defaultConfig(): Config {
  if (!shipped) {
    const { config, problems } = readFile(DEFAULT_CONFIG_PATH);
    if (problems.length > 0) throw new ConfigError(problems);
    shipped = config;
  }
  return shipped;
}

/** The shipped defaults, overlaid by ./huntbook.yml or the --config file. */
export function loadConfig(path?: string): Config {
  const { config, problems } = checkConfig(path);
  if (!config) throw new ConfigError(problems);
  return config;
}
