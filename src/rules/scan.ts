/**
 * One log source's rules over one batch of its table, in three statements:
 *
 * 1. `hb_keys`: the batch's events with the fields the anchors look up, lower-cased (`cGlN`,
 *    source G, slot N); then, for the candidates of step 2 only, `hb_ev` with every field the
 *    rules read pulled out of the JSON once (`cGsN` as written, `cGlN` lower-cased);
 * 2. `hb_pairs`: (event, rule) candidates from the rules' anchors (see sigma/anchors.ts): exact
 *    values and file names by one hash join, substrings by a join on 4-grams then an exact
 *    `contains`; rules without an anchor pair with every event;
 * 3. the detections: each candidate pair checked against its own rule's full condition only,
 *    either as SQL (one CASE branch per rule: DuckDB plans 1–3 ms a rule, nothing beside a big
 *    batch's work) or, for a batch with few pairs, as data (`checkData`: every test of every
 *    rule is a row of hb_atoms, checked by one statement that is the same for any rules, and the
 *    rule's and/or/not shape is applied in JS to the tests that held).
 *
 * Most events meet a handful of the thousands of rules, so step 3 costs what the data holds,
 * not events × rules; and only rules with a candidate are planned.
 */
import { renderBound } from '../expr/bound.ts';
import { checkRuleSql } from './sqlcheck.ts';
import { Bindings, type SqlValue } from '../store/sql.ts';
import { CANONICAL_COLUMNS, EXTRA_COLUMN, quoteIdent, quoteLiteral, type CanonicalTable } from '../store/schema.ts';
import type { Workspace } from '../store/workspace.ts';
import type { MappedSource } from './logsource.ts';
import type { Rule } from './model.ts';
import { detectionAnchors, type Clauses } from './sigma/anchors.ts';
import { compileDetection, detectionCond, renderCond, type Atom, type AtomData, type CompileContext, type Cond } from './sigma/compile.ts';
import { NORMALISE_HOST, NORMALISE_USER, SERVICE_ACCOUNTS } from '../model/entities.ts';

/** Rules checked in one statement: beyond a few hundred, planning one CASE costs more than a second scan of the pairs. */
const CHECK_CHUNK = 400;
/**
 * Up to this many substrings on a field are looked for directly; more go through the 4-gram
 * join. Measured on OTRF: a direct `contains` costs ~0.3 ns per byte per needle, building and
 * joining the grams ~100 ns per byte, so grams pay from a few hundred needles.
 */
const DIRECT_NEEDLES = 256;
/** A literal string as RE2 pattern text: letters and digits as they are, every other character as \x{hh}. */
function regexLiteral(text: string): string {
  return [...text].map((ch) => (/[A-Za-z0-9]/.test(ch) ? ch : `\\x{${ch.codePointAt(0)!.toString(16)}}`)).join('');
}

/**
 * The distinct 4-character substrings of a text, as a list: four passes of non-overlapping
 * 4-character runs from offsets 1–4, each linear in the text (substr at every offset would
 * rescan a long text from its start for each gram).
 */
function gramList(text: string): string {
  const runs = [1, 2, 3, 4].map((i) => `regexp_extract_all(${i === 1 ? text : `substr(${text}, ${i})`}, '(?s).{4}')`);
  return `list_distinct(list_concat(${runs.join(', ')}))`;
}

/**
 * A list kept as JSON text in hb_rules, read as a list for the detections only: casting it for
 * every rule when the run starts cost more than the rest of a small capture's set-up.
 */
const LIST_OF = (column: string, type: 'VARCHAR' | 'INTEGER') => `CAST(CAST(${column} AS JSON) AS ${type}[])`;

/** Key offset for file-name anchors, so exact values and file names share one lookup table. */
const BASE_KEY = 100_000;

/** What one rule reads (slots as written, lower-cased) and which fields its detections keep. */
export interface RuleInfo {
  original: Set<number>;
  lowered: Set<number>;
  detailFields: string[];
}

/**
 * A rule run as data: its tests are rows of hb_atoms, checked for all rules by one statement, and
 * `holds` says from the tests that held whether the rule matches. Sigma's logic over tests that
 * are true or not (a missing field is a test that did not hold) gives what the SQL gives: AND,
 * OR and WHERE read NULL as false, and every NOT is written NOT coalesce(…, false).
 */
export interface DataForm {
  rows: (string | number | null)[][];
  holds: (held: Set<number>) => boolean;
}

export interface ScanOptions {
  placeholders?: Record<string, string[]>;
  /** Rule id → fields its matches carry in their details whatever it matched on (what correlations group by). */
  keep?: Map<string, string[]>;
  /** detections (default), or the run's scratch table of matches only correlations read. */
  target?: string;
}

/** Anchors found when the rules were planned (or read from the plan cache), so a scan need not derive them again. */
export const knownAnchors = new WeakMap<Rule, Clauses>();

/** Built scans, by their first rule (so they go when the rules do), then by what they were built from. */
const scanCache = new WeakMap<Rule, Map<string, GroupScan>>();

/**
 * One log source's rules, compiled and anchored once (the costly part, cached per process).
 * Its fields are read by ScanSet below, which runs one or several of them over a batch.
 */
export class GroupScan {
  readonly table: CanonicalTable;
  /** SQL over a row of the table (its columns and `fl`, the JSON values list), one per slot. */
  readonly slots: string[] = [];
  readonly jsonKeys: string[] = [];
  readonly slotIndex = new Map<string, number>();
  readonly jsonIndex = new Map<string, number>();
  /** Sigma field name (null: the whole text) → slot, so each name is resolved once. */
  readonly fieldSlots = new Map<string | null, number>();
  readonly columns = new Set<string>(['file_id', 'rec', 'ts']);
  readonly star: boolean;
  readonly anchors: Clauses[];
  gramsChosen = false;
  readonly gramSlots = new Map<number, { needle: string; k: number; c: number }[]>();

  /** Names the source in each statement's text, so HUNTBOOK_TRACE=1 shows whose time it is. */
  readonly label: string;

  readonly lookups: (string | number | null)[][] = [];
  readonly directNeedles: (string | number | null)[][] = [];
  readonly unanchoredRules: number[] = [];
  /** (rule, how many clauses it has): a candidate meets all of them. */
  readonly clauseCount: number[][] = [];
  /** Slots the anchors look up: all step 1 reads. */
  readonly anchorSlots = new Set<number>();
  /** Slot → the regex that screens it before its needles are looked for (see the constructor). */
  readonly screens = new Map<number, string>();

  /** `id` names this source's own lookup tables (hb_lookup_<id> …) for the length of a run. */
  readonly placeholders?: Record<string, string[]>;
  /** Rule id → fields its matches carry in their details whatever it matched on (what correlations group by). */
  readonly keep: Map<string, string[]>;
  /** detections, or the run's scratch table of matches only correlations read. */
  readonly target: string;

  get group(): string {
    return this.source.group;
  }

  constructor(
    readonly source: MappedSource,
    readonly rules: Rule[],
    readonly id: number,
    options: ScanOptions = {},
  ) {
    this.placeholders = options.placeholders;
    this.keep = options.keep ?? new Map();
    this.target = options.target ?? 'detections';
    this.table = source.table;
    this.label = `/* rules ${source.group.replaceAll('*', 'any')} */ `;
    this.star = rules.some((r) => r.sql !== undefined);
    this.anchors = rules.map((rule) => knownAnchors.get(rule) ?? (rule.sql === undefined ? detectionAnchors(rule.detection ?? {}) : []));
    const needles = new Map<number, { needle: string; k: number; c: number }[]>();
    this.anchors.forEach((clauses, k) => {
      if (clauses.length === 0) return void this.unanchoredRules.push(k);
      this.clauseCount.push([k, clauses.length]);
      clauses.forEach((anchors, c) => {
        for (const a of anchors) {
          const slot = this.fieldSlot(a.field);
          this.anchorSlots.add(slot);
          if (a.kind === 'has') {
            if (!needles.has(slot)) needles.set(slot, []);
            needles.get(slot)!.push({ needle: a.value, k, c });
          } else this.lookups.push([k, c, a.kind === 'base' ? BASE_KEY + slot : slot, a.value]);
        }
      });
    });
    for (const [slot, list] of needles) {
      const viaGrams = list.length > DIRECT_NEEDLES;
      // Needles shorter than a gram are always looked for directly.
      for (const n of list.filter((x) => !viaGrams || x.needle.length < 4)) this.directNeedles.push([n.k, n.c, slot, n.needle, null]);
      if (viaGrams)
        this.gramSlots.set(
          slot,
          list.filter((n) => n.needle.length >= 4),
        );
    }
    // A slot only looked in for a few substrings (an event's whole text, for keyword rules) is
    // screened with one case-insensitive regex over the text as written: one linear pass instead
    // of lower-casing it all and searching it once per needle. Only ASCII needles: there RE2's
    // case folding and lower() agree, so the screen never drops an event the needles would keep.
    const lookedUp = new Set(this.lookups.map((l) => Number(l[2]) % BASE_KEY));
    for (const [slot, list] of needles) {
      if (this.gramSlots.has(slot) || lookedUp.has(slot) || !list.every((n) => /^[\x20-\x7e]+$/.test(n.needle))) continue;
      this.screens.set(slot, `(?i)(?:${[...new Set(list.map((n) => n.needle))].map(regexLiteral).join('|')})`);
    }
  }

  /**
   * Every source's lookup tables for a run, filled in one go (a handful of statements, not a
   * dozen per source: on a capture of a few hundred events those statements were the run).
   * Rows carry the source's id `g`; rules keep their index `k` within the source.
   */
  static async prepareRun(ws: Workspace, scans: readonly GroupScan[]): Promise<void> {
    await ws.run('CREATE OR REPLACE TEMP TABLE hb_lookup (g INTEGER, k INTEGER, c INTEGER, key INTEGER, value VARCHAR)');
    await ws.run('CREATE OR REPLACE TEMP TABLE hb_clauses (g INTEGER, k INTEGER, n INTEGER)');
    await ws.run('CREATE OR REPLACE TEMP TABLE hb_needle (g INTEGER, k INTEGER, c INTEGER, slot INTEGER, needle VARCHAR, gram VARCHAR)');
    await ws.run('CREATE OR REPLACE TEMP TABLE hb_entities (g INTEGER, k INTEGER, type VARCHAR, slot INTEGER)');
    await ws.run(
      'CREATE OR REPLACE TEMP TABLE hb_rules (g INTEGER, k INTEGER, rule_id VARCHAR, rule VARCHAR, phase VARCHAR, weight DOUBLE, dnames VARCHAR, dslots VARCHAR)',
    );
    await ws.run(
      'CREATE OR REPLACE TEMP TABLE hb_atoms (g INTEGER, k INTEGER, a INTEGER, op VARCHAR, slot INTEGER, cased INTEGER, value VARCHAR, num DOUBLE)',
    );
    await ws.run(
      'CREATE OR REPLACE TEMP TABLE hb_hitrows (hb_rid BIGINT, g INTEGER, k INTEGER, file_id BIGINT, rec BIGINT, ts TIMESTAMP, raw VARCHAR[], source_table VARCHAR, target VARCHAR)',
    );
    const rows = (pick: (s: GroupScan) => (string | number | null)[][]) => scans.flatMap((s) => pick(s).map((row) => [s.id, ...row]));
    const tables: [string, (s: GroupScan) => (string | number | null)[][]][] = [
      ['hb_lookup', (s) => s.lookups],
      ['hb_clauses', (s) => s.clauseCount],
      ['hb_needle', (s) => s.directNeedles],
    ];
    for (const [table, pick] of tables) {
      const all = rows(pick);
      if (all.length > 0) await ws.append(table, all);
    }
    for (const scan of scans) {
      scan.gramsChosen = false;
      scan.atomsLoaded.clear();
      scan.rulesLoaded.clear();
    }
  }

  static async releaseRun(ws: Workspace): Promise<void> {
    for (const name of [
      'hb_lookup',
      'hb_clauses',
      'hb_needle',
      'hb_entities',
      'hb_rules',
      'hb_keys',
      'hb_ev',
      'hb_pairs',
      'hb_atoms',
      'hb_hitrows',
    ])
      await ws.run(`DROP TABLE IF EXISTS temp.${name}`);
  }

  /**
   * The scan of these rules over this source, built once per process: compiling and anchoring
   * every rule of SigmaHQ takes most of a second, as long as a whole small capture's run.
   */
  static for(source: MappedSource, rules: Rule[], id: number, options: ScanOptions = {}): GroupScan {
    const key = JSON.stringify([
      source.group,
      id,
      rules.map((r) => r.id),
      options.target ?? null,
      options.placeholders ?? null,
      rules.map((r) => options.keep?.get(r.id) ?? null),
    ]);
    let byKey = scanCache.get(rules[0]);
    if (!byKey) scanCache.set(rules[0], (byKey = new Map()));
    let scan = byKey.get(key);
    if (!scan || scan.rules.some((r, i) => r !== rules[i])) {
      scan = new GroupScan(source, rules, id, options);
      byKey.set(key, scan);
    }
    return scan;
  }

  /** A slot's column in the run's tables: named after the source, so sources can share a statement. */
  col(kind: 's' | 'l' | 'v', slot: number): string {
    return `c${this.id}${kind}${slot}`;
  }

  private slot(expr: string): number {
    let index = this.slotIndex.get(expr);
    if (index === undefined) {
      index = this.slots.push(expr) - 1;
      this.slotIndex.set(expr, index);
    }
    return index;
  }

  private jsonRef(key: string): string {
    let index = this.jsonIndex.get(key);
    if (index === undefined) {
      index = this.jsonKeys.push(key) - 1;
      this.jsonIndex.set(key, index);
    }
    return `fl[${index + 1}]`;
  }

  /** The slot of a Sigma field name (null: the event's whole text). */
  fieldSlot(name: string | null): number {
    let slot = this.fieldSlots.get(name);
    if (slot === undefined) {
      slot = this.resolveField(name);
      this.fieldSlots.set(name, slot);
    }
    return slot;
  }

  private resolveField(name: string | null): number {
    if (name === null) {
      this.columns.add(EXTRA_COLUMN[this.table]);
      return this.slot(`CAST(${quoteIdent(EXTRA_COLUMN[this.table])} AS VARCHAR)`);
    }
    const keys = this.source.fieldKeys(name);
    if (keys.column) {
      this.columns.add(keys.column);
      return this.slot(`CAST(${quoteIdent(keys.column)} AS VARCHAR)`);
    }
    const refs = (keys.jsonKeys ?? []).map((k) => this.jsonRef(k));
    return this.slot(refs.length === 1 ? refs[0] : `coalesce(${refs.join(', ')})`);
  }

  /** Entities are canonical columns where the table has them (a proxy's "host" is its client address). */
  entitySlot(field: string): number {
    const columns = new Set(CANONICAL_COLUMNS[this.table].map((c) => c.name));
    const hostAsAddress = this.table !== 'events' && field === 'host' && columns.has('src_ip');
    let column: string | undefined = columns.has(field) ? field : undefined;
    if (column === undefined && hostAsAddress) column = 'src_ip';
    if (column) {
      this.columns.add(column);
      return this.slot(`CAST(${quoteIdent(column)} AS VARCHAR)`);
    }
    return this.fieldSlot(field);
  }

  condition(rule: Rule, bind: (v: SqlValue) => string, fields?: Set<string>): string {
    if (rule.sql !== undefined) return `coalesce(${renderBound(checkRuleSql(rule.sql, this.table), bind)}, false)`;
    // NULL (a field the event lacks) is false to the CASE that reads this.
    return compileDetection(rule.detection ?? {}, this.context(bind, fields));
  }

  /** Fields are this source's columns (cGsN as written, cGlN lower-cased); `fields` collects the names tested. */
  private context(bind: (v: SqlValue) => string, fields?: Set<string>): CompileContext {
    return {
      field: (name) => {
        fields?.add(name);
        return this.col('s', this.fieldSlot(name));
      },
      lowered: (name) => this.col('l', this.fieldSlot(name)),
      fullText: () => this.col('s', this.fieldSlot(null)),
      loweredText: () => this.col('l', this.fieldSlot(null)),
      bind,
      placeholders: this.placeholders,
    };
  }

  private readonly infos = new Map<number, RuleInfo>();
  /** Each compiled rule's shape and tests (see ruleInfo), which the data path reads. */
  private readonly conds = new Map<number, Cond>();

  /**
   * What a rule reads and keeps, found by compiling it: only when it first has a candidate, so
   * a run over a small capture compiles the few hundred rules its events come near, not all.
   */
  ruleInfo(k: number): RuleInfo {
    let info = this.infos.get(k);
    if (!info) {
      const rule = this.rules[k];
      const fields = new Set<string>();
      const cond = rule.sql === undefined ? detectionCond(rule.detection ?? {}, this.context(new Bindings().bind, fields)) : undefined;
      const text = cond ? renderCond(cond) : this.condition(rule, new Bindings().bind, fields);
      // The same compile gives the data path its tests: a rule is compiled once, not twice.
      if (cond) this.conds.set(k, cond);
      info = { original: new Set(), lowered: new Set(), detailFields: [] };
      for (const m of text.matchAll(new RegExp(`\\bc${this.id}([sl])(\\d+)\\b`, 'g')))
        (m[1] === 's' ? info.original : info.lowered).add(Number(m[2]));
      // The fields a detection keeps: what correlations need, then the first dozen it tested.
      info.detailFields = [...new Set([...(this.keep.get(rule.id) ?? []), ...[...fields].slice(0, 12)])];
      for (const name of info.detailFields) info.original.add(this.fieldSlot(name));
      for (const e of rule.entities) info.original.add(this.entitySlot(e.field));
      this.infos.set(k, info);
    }
    return info;
  }

  /** Rules whose rows are in this run's hb_rules and hb_entities. */
  readonly rulesLoaded = new Set<number>();

  /** hb_rules and hb_entities rows of the rules among `ks` not loaded yet this run. */
  async loadRules(ws: Workspace, ks: readonly number[]): Promise<void> {
    const fresh = ks.filter((k) => !this.rulesLoaded.has(k));
    if (fresh.length === 0) return;
    await ws.append(
      'hb_entities',
      fresh.flatMap((k) => this.rules[k].entities.map((e) => [this.id, k, e.type, this.entitySlot(e.field)])),
    );
    // Which fields each rule's detections keep is data, not SQL: one generic expression builds
    // every detail, so a statement's planning grows only with the rules' conditions.
    await ws.append(
      'hb_rules',
      fresh.map((k) => {
        const r = this.rules[k];
        const names = this.ruleInfo(k).detailFields;
        return [
          this.id,
          k,
          r.id,
          r.name,
          r.phase,
          r.weight,
          JSON.stringify(names),
          JSON.stringify(names.map((name) => this.fieldSlot(name) + 1)),
        ];
      }),
    );
    for (const k of fresh) this.rulesLoaded.add(k);
  }

  /** Rules whose tests are in this run's hb_atoms already. */
  readonly atomsLoaded = new Set<number>();
  private readonly forms = new Map<number, DataForm | null>();

  /**
   * A rule's tests as rows of hb_atoms and its shape as a predicate over the tests that held
   * (see DataForm); null when a test has no data form (|cidr, |fieldref, |expand, native SQL).
   */
  dataForm(k: number): DataForm | null {
    if (!this.forms.has(k)) this.forms.set(k, this.buildForm(k));
    return this.forms.get(k)!;
  }

  private buildForm(k: number): DataForm | null {
    const rule = this.rules[k];
    if (rule.sql !== undefined) return null;
    this.ruleInfo(k);
    const ids = new Map<Atom, number>();
    const rows: (string | number | null)[][] = [];
    const walk = (cond: Cond): ((held: Set<number>) => boolean) | null => {
      if (cond.type === 'any') {
        const list: number[] = [];
        for (const atom of cond.atoms) {
          if (!atom.data) return null;
          if (!ids.has(atom)) {
            ids.set(atom, ids.size);
            rows.push(this.atomRow(k, ids.size - 1, atom.data));
          }
          list.push(ids.get(atom)!);
        }
        return (held) => list.some((a) => held.has(a));
      }
      if (cond.type === 'not') {
        const inner = walk(cond.item);
        return inner && ((held) => !inner(held));
      }
      const items = cond.items.map(walk);
      if (items.some((f) => f === null)) return null;
      const fs = items as ((held: Set<number>) => boolean)[];
      return cond.type === 'and' ? (held) => fs.every((f) => f(held)) : (held) => fs.some((f) => f(held));
    };
    const holds = walk(this.conds.get(k)!);
    return holds && { rows, holds };
  }

  private atomRow(k: number, a: number, d: AtomData): (string | number | null)[] {
    return [this.id, k, a, d.op, this.fieldSlot(d.field), d.cased ? 1 : 0, d.value, d.num];
  }

  /** The slots in `kept`, as one list per event indexed by slot number + 1 (NULL for the others, and none past the last kept). */
  listOf(kind: 's' | 'l', kept: ReadonlySet<number>): string {
    const last = Math.max(-1, ...kept);
    return `[${this.slots
      .slice(0, last + 1)
      .map((_, i) => (kept.has(i) ? this.col(kind, i) : 'NULL'))
      .join(', ')}]::VARCHAR[]`;
  }

  /**
   * Each needle is found through one of its 4-grams; the one least common in the data (counted
   * over the first batch) keeps the candidates few. Chosen once per run.
   */
  async chooseGrams(ws: Workspace): Promise<void> {
    if (this.gramsChosen) return;
    const rows: (string | number | null)[][] = [];
    for (const [slot, list] of this.gramSlots) {
      const grams = new Set<string>();
      for (const { needle } of list) for (let i = 0; i + 4 <= needle.length; i++) grams.add(needle.slice(i, i + 4));
      await ws.run('CREATE OR REPLACE TEMP TABLE hb_grams (gram VARCHAR)');
      await ws.append(
        'hb_grams',
        [...grams].map((g) => [g]),
      );
      const counts = new Map(
        (
          await ws.query(`${this.label}SELECT gram, count(*) AS n FROM (
  SELECT unnest(${gramList(this.col('l', slot))}) AS gram FROM hb_keys WHERE length(${this.col('l', slot)}) >= 4
) WHERE gram IN (SELECT gram FROM hb_grams) GROUP BY gram`)
        ).map((r) => [String(r.gram), Number(r.n)]),
      );
      for (const { needle, k, c } of list) {
        let best = needle.slice(0, 4);
        for (let i = 0; i + 4 <= needle.length; i++) {
          const gram = needle.slice(i, i + 4);
          if ((counts.get(gram) ?? 0) < (counts.get(best) ?? 0)) best = gram;
        }
        rows.push([k, c, slot, needle, best]);
      }
    }
    await ws.append(
      'hb_needle',
      rows.map((row) => [this.id, ...row]),
    );
    await ws.run('DROP TABLE hb_grams');
    this.gramsChosen = true;
  }
}

/** (source, rule) as one number in a run's statements: source id × RULE_KEY + the rule's index. */
const RULE_KEY = 100_000;

/**
 * One source's scan over one batch of its table: the run's statements. (Several sources sharing
 * one batch's statements was tried and measured slower on OTRF: DuckDB's planning grows with a
 * statement's width, so wider statements saved nothing; two connections, one per core, did.)
 */
export class ScanSet {
  readonly table: CanonicalTable;
  private readonly target: string;
  private readonly label: string;

  readonly scans: GroupScan[];

  /** `target`: where matches go instead of the scan's own (a second connection's temp table). */
  constructor(scan: GroupScan, target?: string) {
    this.scans = [scan];
    this.table = scan.table;
    this.target = target ?? scan.target;
    this.label = scan.label;
  }

  get group(): string {
    return this.scans[0].group;
  }

  /**
   * Step 1: the batch's events in hb_keys, only the fields the anchors look up, lower-cased.
   * The other fields wait for `fetch`, which reads them for the candidates only: a source of 180
   * fields (Security) parses most of its JSON for nothing otherwise.
   */
  async load(ws: Workspace, lo: number, hi: number): Promise<void> {
    await this.materialize(
      ws,
      'hb_keys',
      lo,
      hi,
      (scan) => {
        const screened = new Set(scan.screens.keys());
        return { original: screened, lowered: new Set([...scan.anchorSlots].filter((s) => !screened.has(s))) };
      },
      false,
    );
  }

  /**
   * Step 2½: the candidate events in hb_ev, every slot the candidate rules read, once, as written
   * and lower-cased; with `lists`, also those slots as two lists (hb_raw, hb_low) for the data path.
   */
  async fetch(ws: Workspace, lo: number, hi: number, candidates: Map<GroupScan, Map<number, number>>, lists = false): Promise<void> {
    const scan = this.scans[0];
    const want = { original: new Set<number>(), lowered: new Set<number>() };
    for (const k of candidates.get(scan)?.keys() ?? []) {
      const info = scan.ruleInfo(k);
      for (const slot of info.original) want.original.add(slot);
      for (const slot of info.lowered) want.lowered.add(slot);
    }
    await this.materialize(ws, 'hb_ev', lo, hi, () => want, true, lists);
  }

  private async materialize(
    ws: Workspace,
    name: string,
    lo: number,
    hi: number,
    want: (scan: GroupScan) => { original: Set<number>; lowered: Set<number> },
    candidatesOnly: boolean,
    lists = false,
  ): Promise<void> {
    const { values, bind } = new Bindings();
    const json = EXTRA_COLUMN[this.table];
    // The JSON keys the wanted slots read, numbered once for all the sources.
    const keys: string[] = [];
    const keyRef = (key: string): string => {
      let at = keys.indexOf(key);
      if (at === -1) at = keys.push(key) - 1;
      return `fl[${at + 1}]`;
    };
    const slotCols: string[] = [];
    const kept: string[] = [];
    const columns = new Set<string>();
    for (const scan of this.scans) {
      const w = want(scan);
      for (const c of scan.columns) columns.add(c);
      scan.slots.forEach((expr, i) => {
        if (!w.original.has(i) && !w.lowered.has(i)) return;
        const sql = expr.replace(/\bfl\[(\d+)\]/g, (_, n: string) => keyRef(scan.jsonKeys[Number(n) - 1]));
        slotCols.push(`${sql} AS ${scan.col('v', i)}`);
        if (w.original.has(i)) kept.push(`${scan.col('v', i)} AS ${scan.col('s', i)}`);
        if (w.lowered.has(i)) kept.push(`lower(${scan.col('v', i)}) AS ${scan.col('l', i)}`);
      });
    }
    const fl =
      keys.length > 0
        ? `json_extract_string(${quoteIdent(json)}, [${keys.map((k) => quoteLiteral(`$."${k}"`)).join(', ')}])`
        : 'NULL::VARCHAR[]';
    const star = candidatesOnly && this.scans.some((s) => s.star);
    const cols = star ? '*' : [...columns].map(quoteIdent).join(', ');
    const wheres = this.scans.map((s) => `(${s.source.where(bind)})`);
    const where = wheres.includes('(true)') ? 'true' : [...new Set(wheres)].join(' OR ');
    const plain = star
      ? `* EXCLUDE (fl${slotCols.map((c) => `, ${c.slice(c.lastIndexOf(' AS ') + 4)}`).join('')})`
      : 'hb_rid, file_id, rec, ts';
    const only = candidatesOnly ? ' AND rowid IN (SELECT hb_rid FROM hb_pairs)' : '';
    // Every slot as one list per event (as written, lower-cased), indexed by slot number + 1.
    const listCols = lists
      ? [
          `${this.scans[0].listOf('s', want(this.scans[0]).original)} AS hb_raw`,
          `${this.scans[0].listOf('l', want(this.scans[0]).lowered)} AS hb_low`,
        ]
      : [];
    await ws.run(
      `${this.label}CREATE OR REPLACE TEMP TABLE ${name} AS
SELECT *${listCols.map((c) => `, ${c}`).join('')} FROM (
SELECT ${[plain, ...kept].join(', ')} FROM (
  SELECT *, ${slotCols.join(', ') || 'NULL AS hb_nothing'} FROM (
    SELECT rowid AS hb_rid, ${cols}, ${fl} AS fl FROM ${quoteIdent(this.table)}
    WHERE rowid >= ${bind(lo)} AND rowid < ${bind(hi)} AND (${where})${only})))`,
      values,
    );
  }

  /** Step 2: candidate (event, source, rule) triples in hb_pairs; returns each (scan, rule) with a candidate and its count. */
  async pair(ws: Workspace): Promise<Map<GroupScan, Map<number, number>>> {
    const parts: string[] = [];
    // Exact values and file names of every source: one hash join.
    const kv = this.scans.flatMap((scan) =>
      [...new Set(scan.lookups.map((l) => Number(l[2])))].map(
        (key) =>
          `{'g': ${scan.id}, 'key': ${key}, 'value': ${key >= BASE_KEY ? `parse_filename(${scan.col('l', key - BASE_KEY)})` : scan.col('l', key)}}`,
      ),
    );
    if (kv.length > 0)
      parts.push(
        `SELECT e.hb_rid, e.g, l.k, l.c FROM (SELECT hb_rid, unnest([${kv.join(', ')}], recursive := true) FROM hb_keys) e JOIN hb_lookup l ON l.g = e.g AND l.key = e.key AND l.value = e.value`,
      );
    for (const scan of this.scans) {
      for (const slot of new Set(scan.directNeedles.map((d) => Number(d[2])))) {
        const screen = scan.screens.get(slot);
        const events =
          screen === undefined
            ? `(SELECT hb_rid, ${scan.col('l', slot)} AS v FROM hb_keys)`
            : `(SELECT hb_rid, lower(${scan.col('s', slot)}) AS v FROM hb_keys WHERE regexp_matches(${scan.col('s', slot)}, ${quoteLiteral(screen)}))`;
        parts.push(
          `SELECT e.hb_rid, ${scan.id} AS g, n.k, n.c FROM ${events} e JOIN hb_needle n ON n.g = ${scan.id} AND n.slot = ${slot} AND n.gram IS NULL AND contains(e.v, n.needle)`,
        );
      }
      if (scan.gramSlots.size > 0) {
        await scan.chooseGrams(ws);
        for (const slot of scan.gramSlots.keys()) {
          // The grams are built inside a list (4 characters stay inline, no copy of the text per
          // gram) and only the event id travels with them; the text is read again for the check.
          const text = scan.col('l', slot);
          parts.push(`SELECT c.hb_rid, ${scan.id} AS g, c.k, c.c FROM (
  SELECT DISTINCT g.hb_rid, n.k, n.c, n.needle FROM (SELECT hb_rid, unnest(${gramList(text)}) AS gram FROM hb_keys WHERE length(${text}) >= 4) g
  JOIN hb_needle n ON n.g = ${scan.id} AND n.slot = ${slot} AND n.gram = g.gram
) c JOIN hb_keys e USING (hb_rid) WHERE contains(e.${text}, c.needle)`);
        }
      }
    }
    const anchored =
      parts.length > 0
        ? `SELECT hb_rid, g, k FROM (${parts.join('\nUNION ALL\n')}) JOIN hb_clauses USING (g, k) GROUP BY hb_rid, g, k HAVING count(DISTINCT c) = any_value(n)`
        : 'SELECT NULL::BIGINT AS hb_rid, NULL::INTEGER AS g, NULL::INTEGER AS k WHERE false';
    const unanchored = this.scans
      .filter((s) => s.unanchoredRules.length > 0)
      .map((s) => `\nUNION ALL\nSELECT hb_rid, ${s.id} AS g, k FROM hb_keys, (SELECT unnest([${s.unanchoredRules.join(', ')}]) AS k)`);
    await ws.run(`${this.label}CREATE OR REPLACE TEMP TABLE hb_pairs AS ${anchored}${unanchored.join('')}`);
    const byId = new Map(this.scans.map((s) => [s.id, s]));
    const found = new Map<GroupScan, Map<number, number>>();
    for (const r of await ws.query('SELECT g, k, count(*) AS n FROM hb_pairs GROUP BY g, k ORDER BY g, k')) {
      const scan = byId.get(Number(r.g))!;
      if (!found.has(scan)) found.set(scan, new Map());
      found.get(scan)!.set(Number(r.k), Number(r.n));
    }
    return found;
  }

  /**
   * Step 3: every candidate pair against its own rule; what matches lands in detections. With
   * `asData`, rules with a data form are checked by the data path (checkData), the rest by SQL.
   */
  async check(ws: Workspace, candidates: Map<GroupScan, Map<number, number>>, runId: number | null, asData = false): Promise<void> {
    const all = [...candidates].flatMap(([scan, ks]) => [...ks.keys()].map((k) => ({ scan, k })));
    for (const [scan, ks] of candidates) await scan.loadRules(ws, [...ks.keys()]);
    const data = asData ? all.filter(({ scan, k }) => scan.dataForm(k) !== null) : [];
    const sql = asData ? all.filter(({ scan, k }) => scan.dataForm(k) === null) : all;
    if (data.length > 0) await this.checkData(ws, data, runId);
    for (let i = 0; i < sql.length; i += CHECK_CHUNK) await this.checkChunk(ws, sql.slice(i, i + CHECK_CHUNK), runId);
  }

  /**
   * The data path: one statement, the same for any rules, checks every test of every candidate
   * pair (hb_atoms × hb_pairs); each rule's shape then says from the tests that held whether it
   * matched, and one more statement writes the matches. Nothing is planned per rule, which on a
   * small batch is nearly all the cost of the SQL path (1–3 ms of DuckDB planning per rule).
   */
  private async checkData(ws: Workspace, chunk: { scan: GroupScan; k: number }[], _runId: number | null): Promise<void> {
    const fresh = chunk.filter(({ scan, k }) => !scan.atomsLoaded.has(k));
    if (fresh.length > 0) {
      await ws.append(
        'hb_atoms',
        fresh.flatMap(({ scan, k }) => scan.dataForm(k)!.rows),
      );
      for (const { scan, k } of fresh) scan.atomsLoaded.add(k);
    }
    const raw = `list_extract(e.hb_raw, a.slot + 1)`;
    const v = `CASE WHEN a.cased = 1 THEN ${raw} ELSE list_extract(e.hb_low, a.slot + 1) END`;
    const test = `CASE a.op WHEN '=' THEN ${v} = a.value WHEN 'contains' THEN contains(${v}, a.value) WHEN 'starts_with' THEN starts_with(${v}, a.value)
  WHEN 'ends_with' THEN ends_with(${v}, a.value) WHEN 'like' THEN like_escape(${v}, a.value, '!') WHEN 'null' THEN ${raw} IS NULL
  WHEN 'notnull' THEN ${raw} IS NOT NULL WHEN 're' THEN regexp_matches(${raw}, a.value) WHEN 'lt' THEN TRY_CAST(${raw} AS DOUBLE) < a.num
  WHEN 'lte' THEN TRY_CAST(${raw} AS DOUBLE) <= a.num WHEN 'gt' THEN TRY_CAST(${raw} AS DOUBLE) > a.num WHEN 'gte' THEN TRY_CAST(${raw} AS DOUBLE) >= a.num END`;
    const wanted = new Set(chunk.map(({ scan, k }) => scan.id * RULE_KEY + k));
    const rows = await ws.query(`${this.label}SELECT p.hb_rid, p.g, p.k, list(a.a) FILTER (WHERE ${test}) AS held
FROM hb_pairs p JOIN hb_atoms a USING (g, k) JOIN hb_ev e USING (hb_rid)
GROUP BY p.hb_rid, p.g, p.k`);
    const byId = new Map(this.scans.map((s) => [s.id, s]));
    const hits: (number | string)[][] = [];
    for (const row of rows) {
      const g = Number(row.g);
      const k = Number(row.k);
      if (!wanted.has(g * RULE_KEY + k)) continue;
      const held = new Set(((row.held as unknown[] | null) ?? []).map(Number));
      if (byId.get(g)!.dataForm(k)!.holds(held)) hits.push([row.hb_rid as number | string, g, k]);
    }
    if (hits.length === 0) return;
    // The matches wait in hb_hitrows with what their detections need; one statement writes a
    // whole lane's (flush): writing them batch by batch cost a statement to plan per source.
    // The values are event ids and rule numbers DuckDB just gave, not log data.
    await ws.run(`${this.label}INSERT INTO hb_hitrows SELECT e.hb_rid, h.g, h.k, e.file_id, e.rec, e.ts, e.hb_raw, '${this.table}', '${this.target}'
FROM hb_ev e JOIN (VALUES ${hits.map(([rid, g, k]) => `(${Number(rid)}, ${g}, ${k})`).join(', ')}) h(hb_rid, g, k) USING (hb_rid)`);
  }

  /** The data path's waiting matches (hb_hitrows) into their detections, one statement per table and target. */
  static async flush(ws: Workspace, runId: number | null): Promise<void> {
    for (const row of await ws.query('SELECT DISTINCT source_table, target FROM hb_hitrows ORDER BY ALL')) {
      const table = String(row.source_table);
      const target = String(row.target);
      if (!/^[a-z_]+$/.test(table) || !/^[a-z_]+$/.test(target)) throw new Error(`unexpected scan table ${table} or target ${target}`);
      const { values, bind } = new Bindings();
      await ws.run(
        `INSERT OR IGNORE INTO ${target} (ts, rule_id, rule, phase, weight, entity_type, entity, source_table, event_ref, details, run_id)
WITH h AS (
  SELECT * FROM hb_hitrows WHERE source_table = ${bind(table)} AND target = ${bind(target)}
), v AS (
  SELECT h.*, ent.type, list_extract(raw, ent.slot + 1) AS value FROM h JOIN hb_entities ent USING (g, k)
), n AS (
  SELECT v.*, CASE WHEN type = 'user' THEN ${NORMALISE_USER('value')} WHEN type = 'host' THEN ${NORMALISE_HOST('value')} ELSE lower(value) END AS entity FROM v
)
SELECT coalesce(n.ts, TIMESTAMP '1970-01-01'), r.rule_id, r.rule, r.phase, r.weight, n.type, n.entity, n.source_table, n.file_id || ':' || n.rec,
  CASE WHEN r.dslots <> '[]' THEN to_json(map(${LIST_OF('r.dnames', 'VARCHAR')}, list_select(n.raw, ${LIST_OF('r.dslots', 'INTEGER')}))) END, ${runId === null ? 'NULL' : bind(runId)}
FROM n JOIN hb_rules r USING (g, k)
WHERE n.entity IS NOT NULL AND NOT (n.type = 'user' AND (n.entity IN (${SERVICE_ACCOUNTS.map((a) => quoteLiteral(a)).join(', ')}) OR n.entity LIKE '%$'))`,
        values,
      );
    }
    await ws.run('DELETE FROM hb_hitrows');
  }

  private async checkChunk(ws: Workspace, chunk: { scan: GroupScan; k: number }[], runId: number | null): Promise<void> {
    const { values: params, bind: bindParam } = new Bindings();
    // Rule values (never log data) are written as literals: DuckDB plans a statement of a few
    // hundred rules a third faster than with thousands of parameters. Text with control
    // characters (the NULs of |wide needles) stays a parameter.
    const bind = (v: SqlValue): string => {
      if (typeof v === 'string' && !/[\u0000-\u001f]/.test(v)) return quoteLiteral(v);
      if (typeof v === 'number' && Number.isFinite(v)) return `${v}`;
      if (typeof v === 'boolean') return String(v);
      return bindParam(v);
    };
    const conditions = chunk.map(({ scan, k }) => `WHEN ${scan.id * RULE_KEY + k} THEN ${scan.condition(scan.rules[k], bind)}`);
    const entities = new Map<string, { scan: GroupScan; slot: number }>();
    for (const { scan, k } of chunk)
      for (const e of scan.rules[k].entities) {
        const slot = scan.entitySlot(e.field);
        entities.set(scan.col('s', slot), { scan, slot });
      }
    if (entities.size === 0) return;
    const entityValue = `CASE ent.g * ${RULE_KEY} + ent.slot ${[...entities].map(([col, { scan, slot }]) => `WHEN ${scan.id * RULE_KEY + slot} THEN x.${col}`).join(' ')} END`;
    // What the chunk's rules keep, as a list by slot number (as the data path's hb_raw), so one
    // expression gives every rule's details from its hb_rules row.
    const scan = this.scans[0];
    const dvals = scan.listOf('s', new Set(chunk.flatMap(({ k }) => scan.ruleInfo(k).detailFields.map((name) => scan.fieldSlot(name)))));
    const sql = `${this.label}
INSERT OR IGNORE INTO ${this.target} (ts, rule_id, rule, phase, weight, entity_type, entity, source_table, event_ref, details, run_id)
WITH m AS (
  SELECT p.g, p.k, e.* FROM hb_pairs p JOIN hb_ev e USING (hb_rid)
  WHERE CASE p.g * ${RULE_KEY} + p.k ${conditions.join(' ')} ELSE false END
), x AS (
  SELECT hb_rid, file_id, rec, ts, g, k, ${[...entities.keys()].join(', ')}, ${dvals} AS dvals FROM m
), v AS (
  SELECT x.*, ent.type, CASE WHEN ent.type = 'user' THEN ${NORMALISE_USER(entityValue)} WHEN ent.type = 'host' THEN ${NORMALISE_HOST(entityValue)} ELSE lower(${entityValue}) END AS entity
  FROM x JOIN hb_entities ent USING (g, k)
)
SELECT coalesce(v.ts, TIMESTAMP '1970-01-01'), r.rule_id, r.rule, r.phase, r.weight, v.type, v.entity, '${this.table}', v.file_id || ':' || v.rec,
  CASE WHEN r.dslots <> '[]' THEN to_json(map(${LIST_OF('r.dnames', 'VARCHAR')}, list_select(v.dvals, ${LIST_OF('r.dslots', 'INTEGER')}))) END, ${runId === null ? 'NULL' : bind(runId)}
FROM v JOIN hb_rules r USING (g, k)
WHERE v.entity IS NOT NULL AND NOT (v.type = 'user' AND (v.entity IN (${SERVICE_ACCOUNTS.map((a) => quoteLiteral(a)).join(', ')}) OR v.entity LIKE '%$'))`;
    await ws.run(sql, params);
  }
}
