/**
 * One log source's rules over one batch of its table, in three statements:
 *
 * 1. `hb_keys`: the batch's events with the fields the anchors look up, lower-cased (`hb_lN`);
 *    then, for the candidates of step 2 only, `hb_ev` with every field the rules read pulled out
 *    of the JSON once (slots `hb_sN` as written, `hb_lN` lower-cased);
 * 2. `hb_pairs`: (event, rule) candidates from the rules' anchors (see sigma/anchors.ts): exact
 *    values and file names by one hash join, substrings by a join on 4-grams then an exact
 *    `contains`; rules without an anchor pair with every event;
 * 3. the detections: each candidate pair checked against its own rule's full condition only.
 *
 * Most events meet a handful of the thousands of rules, so step 3 costs what the data holds,
 * not events × rules; and only rules with a candidate are planned, so a small capture plans a
 * small statement.
 */
import { Bindings, type SqlValue } from '../store/sql.ts';
import { CANONICAL_COLUMNS, EXTRA_COLUMN, quoteIdent, quoteLiteral, type CanonicalTable } from '../store/schema.ts';
import type { Workspace } from '../store/workspace.ts';
import type { MappedSource } from './logsource.ts';
import type { Rule } from './model.ts';
import { detectionAnchors, type Clauses } from './sigma/anchors.ts';
import { compileDetection, type CompileContext } from './sigma/compile.ts';
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

/** Key offset for file-name anchors, so exact values and file names share one lookup table. */
const BASE_KEY = 100_000;

export interface ScanOptions {
  placeholders?: Record<string, string[]>;
  /** Rule id → fields its matches carry in their details whatever it matched on (what correlations group by). */
  keep?: Map<string, string[]>;
  /** detections (default), or the run's scratch table of matches only correlations read. */
  target?: string;
}

/** Built scans, by their first rule (so they go when the rules do), then by what they were built from. */
const scanCache = new WeakMap<Rule, Map<string, GroupScan>>();

export class GroupScan {
  readonly table: CanonicalTable;
  /** SQL over a row of the table (its columns and `fl`, the JSON values list), one per slot. */
  private readonly slots: string[] = [];
  private readonly jsonKeys: string[] = [];
  private readonly slotIndex = new Map<string, number>();
  private readonly jsonIndex = new Map<string, number>();
  /** Sigma field name (null: the whole text) → slot, so each name is resolved once. */
  private readonly fieldSlots = new Map<string | null, number>();
  private readonly columns = new Set<string>(['file_id', 'ts']);
  private readonly star: boolean;
  private readonly anchors: Clauses[];
  private gramsChosen = false;
  private readonly gramSlots = new Map<number, { needle: string; k: number; c: number }[]>();

  /** Names the source in each statement's text, so HUNTBOOK_TRACE=1 shows whose time it is. */
  private readonly label: string;

  /** Slots read as written (conditions that are case-sensitive, entities, matched fields) and lower-cased. */
  private readonly used = { original: new Set<number>(), lowered: new Set<number>() };
  private readonly lookups: (string | number | null)[][] = [];
  private readonly directNeedles: (string | number | null)[][] = [];
  private readonly unanchoredRules: number[] = [];
  /** (rule, how many clauses it has): a candidate meets all of them. */
  private readonly clauseCount: number[][] = [];
  /** Per rule, the field names its detections keep; and every slot any rule keeps, in one list per event. */
  private readonly detailFields: string[][] = [];
  private readonly detailSlots: number[] = [];
  /** Slots the anchors look up: all step 1 reads. */
  private readonly anchorSlots = new Set<number>();
  /** Slot → the regex that screens it before its needles are looked for (see the constructor). */
  private readonly screens = new Map<number, string>();

  /** `id` names this source's own lookup tables (hb_lookup_<id> …) for the length of a run. */
  private readonly placeholders?: Record<string, string[]>;
  /** Rule id → fields its matches carry in their details whatever it matched on (what correlations group by). */
  private readonly keep: Map<string, string[]>;
  /** detections, or the run's scratch table of matches only correlations read. */
  private readonly target: string;

  get group(): string {
    return this.source.group;
  }

  constructor(private readonly source: MappedSource, readonly rules: Rule[], private readonly id: number, options: ScanOptions = {}) {
    this.placeholders = options.placeholders;
    this.keep = options.keep ?? new Map();
    this.target = options.target ?? 'detections';
    this.table = source.table;
    this.label = `/* rules ${source.group.replaceAll('*', 'any')} */ `;
    this.star = rules.some((r) => r.sql !== undefined);
    // Compiling every rule once registers every slot the batches will need, and shows which
    // slots are read as written and which lower-cased: only those are kept per event.
    const texts: string[] = [];
    rules.forEach((rule, k) => {
      const fields = new Set<string>();
      texts.push(this.condition(rule, new Bindings().bind, fields));
      // The fields a detection keeps: what correlations need, then the first dozen it tested.
      const names = [...new Set([...(this.keep.get(rule.id) ?? []), ...[...fields].slice(0, 12)])];
      this.detailFields.push(names);
      for (const name of names) {
        const slot = this.fieldSlot(name);
        this.used.original.add(slot);
        if (!this.detailSlots.includes(slot)) this.detailSlots.push(slot);
      }
      for (const e of rule.entities) this.used.original.add(this.entitySlot(e.field));
    });
    for (const text of texts) {
      for (const m of text.matchAll(/\bhb_([sl])(\d+)\b/g)) (m[1] === 's' ? this.used.original : this.used.lowered).add(Number(m[2]));
    }
    this.anchors = rules.map((rule) => (rule.sql === undefined ? detectionAnchors(rule.detection ?? {}) : []));
    const needles = new Map<number, { needle: string; k: number; c: number }[]>();
    this.anchors.forEach((clauses, k) => {
      if (clauses.length === 0) return void this.unanchoredRules.push(k);
      this.clauseCount.push([k, clauses.length]);
      clauses.forEach((anchors, c) => {
        for (const a of anchors) {
          const slot = this.fieldSlot(a.field);
          this.used.lowered.add(slot);
          this.anchorSlots.add(slot);
          if (a.kind === 'has') {
            if (!needles.has(slot)) needles.set(slot, []);
            needles.get(slot)!.push({ needle: a.value, k, c });
          }
          else this.lookups.push([k, c, a.kind === 'base' ? BASE_KEY + slot : slot, a.value]);
        }
      });
    });
    for (const [slot, list] of needles) {
      const viaGrams = list.length > DIRECT_NEEDLES;
      // Needles shorter than a gram are always looked for directly.
      for (const n of list.filter((x) => !viaGrams || x.needle.length < 4)) this.directNeedles.push([n.k, n.c, slot, n.needle, null]);
      if (viaGrams) this.gramSlots.set(slot, list.filter((n) => n.needle.length >= 4));
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
    await ws.run('CREATE OR REPLACE TEMP TABLE hb_rules_in (g INTEGER, k INTEGER, rule_id VARCHAR, rule VARCHAR, phase VARCHAR, weight DOUBLE, dnames VARCHAR, didx VARCHAR)');
    const rows = (pick: (s: GroupScan) => (string | number | null)[][]) => scans.flatMap((s) => pick(s).map((row) => [s.id, ...row]));
    const tables: [string, (s: GroupScan) => (string | number | null)[][]][] = [
      ['hb_lookup', (s) => s.lookups], ['hb_clauses', (s) => s.clauseCount], ['hb_needle', (s) => s.directNeedles],
      ['hb_entities', (s) => s.rules.flatMap((r, k) => r.entities.map((e) => [k, e.type, s.entitySlot(e.field)]))],
      // Which fields each rule's detections keep is data, not SQL: one generic expression builds
      // every detail, so a statement's planning grows only with the rules' conditions.
      ['hb_rules_in', (s) => s.rules.map((r, k) => [k, r.id, r.name, r.phase, r.weight, JSON.stringify(s.detailFields[k]),
        JSON.stringify(s.detailFields[k].map((name) => s.detailSlots.indexOf(s.fieldSlot(name)) + 1))])],
    ];
    for (const [table, pick] of tables) {
      const all = rows(pick);
      if (all.length > 0) await ws.append(table, all);
    }
    await ws.run('CREATE OR REPLACE TEMP TABLE hb_rules AS SELECT g, k, rule_id, rule, phase, weight, CAST(CAST(dnames AS JSON) AS VARCHAR[]) AS dnames, CAST(CAST(didx AS JSON) AS INTEGER[]) AS didx FROM hb_rules_in');
    await ws.run('DROP TABLE hb_rules_in');
    for (const scan of scans) scan.gramsChosen = false;
  }

  static async releaseRun(ws: Workspace): Promise<void> {
    for (const name of ['hb_lookup', 'hb_clauses', 'hb_needle', 'hb_entities', 'hb_rules', 'hb_keys', 'hb_ev', 'hb_pairs']) await ws.run(`DROP TABLE IF EXISTS temp.${name}`);
  }

  /** This source's rows of a run table. */
  private t(name: string): string {
    return `(SELECT * EXCLUDE (g) FROM hb_${name} WHERE g = ${this.id})`;
  }

  /**
   * The scan of these rules over this source, built once per process: compiling and anchoring
   * every rule of SigmaHQ takes most of a second, as long as a whole small capture's run.
   */
  static for(source: MappedSource, rules: Rule[], id: number, options: ScanOptions = {}): GroupScan {
    const key = JSON.stringify([source.group, id, rules.map((r) => r.id), options.target ?? null, options.placeholders ?? null, rules.map((r) => options.keep?.get(r.id) ?? null)]);
    let byKey = scanCache.get(rules[0]);
    if (!byKey) scanCache.set(rules[0], (byKey = new Map()));
    let scan = byKey.get(key);
    if (!scan || scan.rules.some((r, i) => r !== rules[i])) {
      scan = new GroupScan(source, rules, id, options);
      byKey.set(key, scan);
    }
    return scan;
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
  private fieldSlot(name: string | null): number {
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
  private entitySlot(field: string): number {
    const columns = new Set(CANONICAL_COLUMNS[this.table].map((c) => c.name));
    const column = columns.has(field) ? field : this.table !== 'events' && field === 'host' && columns.has('src_ip') ? 'src_ip' : undefined;
    if (column) {
      this.columns.add(column);
      return this.slot(`CAST(${quoteIdent(column)} AS VARCHAR)`);
    }
    return this.fieldSlot(field);
  }

  private condition(rule: Rule, bind: (v: SqlValue) => string, fields?: Set<string>): string {
    if (rule.sql !== undefined) return `coalesce((${rule.sql}), false)`;
    const ctx: CompileContext = {
      field: (name) => {
        fields?.add(name);
        return `hb_s${this.fieldSlot(name)}`;
      },
      lowered: (name) => `hb_l${this.fieldSlot(name)}`,
      fullText: () => `hb_s${this.fieldSlot(null)}`,
      loweredText: () => `hb_l${this.fieldSlot(null)}`,
      bind, placeholders: this.placeholders,
    };
    // NULL (a field the event lacks) is false to the CASE that reads this.
    return compileDetection(rule.detection ?? {}, ctx);
  }

  /**
   * Step 1: the batch's events of this source in hb_keys, only the fields the anchors look up,
   * lower-cased. The other fields wait for step 2½ (`fetch`), which reads them for the
   * candidates only: a source of 180 fields (Security) parses most of its JSON for nothing otherwise.
   */
  async load(ws: Workspace, lo: number, hi: number): Promise<void> {
    const screened = new Set(this.screens.keys());
    await this.materialize(ws, 'hb_keys', lo, hi, { original: screened, lowered: new Set([...this.anchorSlots].filter((s) => !screened.has(s))) }, false);
  }

  /** Step 2½: the candidate events in hb_ev, every slot the rules read, once, as written and lower-cased. */
  async fetch(ws: Workspace, lo: number, hi: number): Promise<void> {
    await this.materialize(ws, 'hb_ev', lo, hi, this.used, true);
  }

  private async materialize(ws: Workspace, name: string, lo: number, hi: number, want: { original: Set<number>; lowered: Set<number> }, candidatesOnly: boolean): Promise<void> {
    const { values, bind } = new Bindings();
    const json = EXTRA_COLUMN[this.table];
    const wanted = this.slots.map((_, i) => i).filter((i) => want.original.has(i) || want.lowered.has(i));
    // Only the JSON keys the wanted slots read, renumbered.
    const keys: number[] = [];
    const exprs = new Map(wanted.map((i) => [i, this.slots[i].replace(/\bfl\[(\d+)\]/g, (_, n: string) => {
      let at = keys.indexOf(Number(n));
      if (at === -1) at = keys.push(Number(n)) - 1;
      return `fl[${at + 1}]`;
    })]));
    const fl = keys.length > 0 ? `json_extract_string(${quoteIdent(json)}, [${keys.map((n) => quoteLiteral(`$."${this.jsonKeys[n - 1]}"`)).join(', ')}])` : 'NULL::VARCHAR[]';
    const star = this.star && candidatesOnly;
    const cols = star ? '*' : [...this.columns].map(quoteIdent).join(', ');
    const slotCols = wanted.map((i) => `${exprs.get(i)} AS hb_v${i}`).join(', ');
    const kept = wanted.flatMap((i) => [
      ...(want.original.has(i) ? [`hb_v${i} AS hb_s${i}`] : []),
      ...(want.lowered.has(i) ? [`lower(hb_v${i}) AS hb_l${i}`] : []),
    ]);
    const plain = star ? `* EXCLUDE (fl${wanted.map((i) => `, hb_v${i}`).join('')})` : 'hb_rid, file_id, ts';
    const only = candidatesOnly ? ' AND rowid IN (SELECT hb_rid FROM hb_pairs)' : '';
    await ws.run(`${this.label}CREATE OR REPLACE TEMP TABLE ${name} AS
SELECT ${[plain, ...kept].join(', ')} FROM (
  SELECT *, ${slotCols || 'NULL AS hb_nothing'} FROM (
    SELECT rowid AS hb_rid, ${cols}, ${fl} AS fl FROM ${quoteIdent(this.table)}
    WHERE rowid >= ${bind(lo)} AND rowid < ${bind(hi)} AND (${this.source.where(bind)})${only}))`, values);
  }

  /** Step 2: candidate (event, rule) pairs in hb_pairs; returns each rule with a candidate and its count. */
  async pair(ws: Workspace): Promise<Map<number, number>> {
    const parts: string[] = [];
    if (this.lookups.length > 0) {
      const keys = [...new Set(this.lookups.map((l) => Number(l[2])))];
      const kv = keys.map((key) => `{'key': ${key}, 'value': ${key >= BASE_KEY ? `parse_filename(hb_l${key - BASE_KEY})` : `hb_l${key}`}}`);
      parts.push(`SELECT e.hb_rid, l.k, l.c FROM (SELECT hb_rid, unnest([${kv.join(', ')}], recursive := true) FROM hb_keys) e JOIN ${this.t('lookup')} l ON l.key = e.key AND l.value = e.value`);
    }
    for (const slot of new Set(this.directNeedles.map((d) => Number(d[2])))) {
      const screen = this.screens.get(slot);
      const events = screen === undefined ? `(SELECT hb_rid, hb_l${slot} AS v FROM hb_keys)` : `(SELECT hb_rid, lower(hb_s${slot}) AS v FROM hb_keys WHERE regexp_matches(hb_s${slot}, ${quoteLiteral(screen)}))`;
      parts.push(`SELECT e.hb_rid, n.k, n.c FROM ${events} e JOIN ${this.t('needle')} n ON n.slot = ${slot} AND n.gram IS NULL AND contains(e.v, n.needle)`);
    }
    if (this.gramSlots.size > 0) {
      await this.chooseGrams(ws);
      for (const slot of this.gramSlots.keys()) {
        // The grams are built inside a list (4 characters stay inline, no copy of the text per
        // gram) and only the event id travels with them; the text is read again for the check.
        parts.push(`SELECT c.hb_rid, c.k, c.c FROM (
  SELECT DISTINCT g.hb_rid, n.k, n.c, n.needle FROM (SELECT hb_rid, unnest(${gramList(`hb_l${slot}`)}) AS gram FROM hb_keys WHERE length(hb_l${slot}) >= 4) g
  JOIN ${this.t('needle')} n ON n.slot = ${slot} AND n.gram = g.gram
) c JOIN hb_keys e USING (hb_rid) WHERE contains(e.hb_l${slot}, c.needle)`);
      }
    }
    const anchored = parts.length > 0
      ? `SELECT hb_rid, k FROM (${parts.join('\nUNION ALL\n')}) JOIN ${this.t('clauses')} USING (k) GROUP BY hb_rid, k HAVING count(DISTINCT c) = any_value(n)`
      : 'SELECT NULL::BIGINT AS hb_rid, NULL::INTEGER AS k WHERE false';
    const unanchored = this.unanchoredRules.length > 0 ? `\nUNION ALL\nSELECT hb_rid, k FROM hb_keys, (SELECT unnest([${this.unanchoredRules.join(', ')}]) AS k)` : '';
    await ws.run(`${this.label}CREATE OR REPLACE TEMP TABLE hb_pairs AS ${anchored}${unanchored}`);
    return new Map((await ws.query('SELECT k, count(*) AS n FROM hb_pairs GROUP BY k ORDER BY k')).map((r) => [Number(r.k), Number(r.n)]));
  }

  /**
   * Each needle is found through one of its 4-grams; the one least common in the data (counted
   * over the first batch) keeps the candidates few. Chosen once per run.
   */
  private async chooseGrams(ws: Workspace): Promise<void> {
    if (this.gramsChosen) return;
    const rows: (string | number | null)[][] = [];
    for (const [slot, list] of this.gramSlots) {
      const grams = new Set<string>();
      for (const { needle } of list) for (let i = 0; i + 4 <= needle.length; i++) grams.add(needle.slice(i, i + 4));
      await ws.run('CREATE OR REPLACE TEMP TABLE hb_grams (gram VARCHAR)');
      await ws.append('hb_grams', [...grams].map((g) => [g]));
      const counts = new Map((await ws.query(`${this.label}SELECT gram, count(*) AS n FROM (
  SELECT unnest(${gramList(`hb_l${slot}`)}) AS gram FROM hb_keys WHERE length(hb_l${slot}) >= 4
) WHERE gram IN (SELECT gram FROM hb_grams) GROUP BY gram`)).map((r) => [String(r.gram), Number(r.n)]));
      for (const { needle, k, c } of list) {
        let best = needle.slice(0, 4);
        for (let i = 0; i + 4 <= needle.length; i++) {
          const gram = needle.slice(i, i + 4);
          if ((counts.get(gram) ?? 0) < (counts.get(best) ?? 0)) best = gram;
        }
        rows.push([k, c, slot, needle, best]);
      }
    }
    await ws.append('hb_needle', rows.map((row) => [this.id, ...row]));
    await ws.run('DROP TABLE hb_grams');
    this.gramsChosen = true;
  }

  /** Step 3: every candidate pair against its own rule; what matches lands in detections. */
  async check(ws: Workspace, ks: number[], runId: number | null): Promise<void> {
    for (let i = 0; i < ks.length; i += CHECK_CHUNK) await this.checkChunk(ws, ks.slice(i, i + CHECK_CHUNK), runId);
  }

  private async checkChunk(ws: Workspace, ks: number[], runId: number | null): Promise<void> {
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
    const conditions = ks.map((k) => `WHEN ${k} THEN ${this.condition(this.rules[k], bind)}`);
    const entitySlots = [...new Set(ks.flatMap((k) => this.rules[k].entities.map((e) => this.entitySlot(e.field))))];
    if (entitySlots.length === 0) return;
    const entityValue = `CASE ent.slot ${entitySlots.map((s) => `WHEN ${s} THEN x.hb_s${s}`).join(' ')} END`;
    const dvals = this.detailSlots.length > 0 ? `[${this.detailSlots.map((s) => `hb_s${s}`).join(', ')}]` : '[]::VARCHAR[]';
    const sql = `${this.label}
INSERT OR IGNORE INTO ${this.target} (ts, rule_id, rule, phase, weight, entity_type, entity, source_table, event_ref, details, run_id)
WITH m AS (
  SELECT p.k, e.* FROM hb_pairs p JOIN hb_ev e USING (hb_rid)
  WHERE CASE p.k ${conditions.join(' ')} ELSE false END
), x AS (
  SELECT hb_rid, file_id, ts, k, ${entitySlots.map((s) => `hb_s${s}`).join(', ')}, ${dvals} AS dvals FROM m
), v AS (
  SELECT x.*, ent.type, CASE WHEN ent.type = 'user' THEN ${NORMALISE_USER(entityValue)} WHEN ent.type = 'host' THEN ${NORMALISE_HOST(entityValue)} ELSE lower(${entityValue}) END AS entity
  FROM x JOIN ${this.t('entities')} ent USING (k)
)
SELECT coalesce(v.ts, TIMESTAMP '1970-01-01'), r.rule_id, r.rule, r.phase, r.weight, v.type, v.entity, '${this.table}', v.file_id || ':' || v.hb_rid,
  CASE WHEN len(r.didx) > 0 THEN to_json(map(r.dnames, list_select(v.dvals, r.didx))) END, ${runId === null ? 'NULL' : bind(runId)}
FROM v JOIN ${this.t('rules')} r USING (k)
WHERE v.entity IS NOT NULL AND NOT (v.type = 'user' AND (v.entity IN (${SERVICE_ACCOUNTS.map((a) => quoteLiteral(a)).join(', ')}) OR v.entity LIKE '%$'))`;
    await ws.run(sql, params);
  }
}
