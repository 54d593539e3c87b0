/**
 * Loading Sigma rules, unmodified, from YAML files, directories or a .tar.gz of them. Each file
 * may hold several documents (rule collections); problems are collected, never thrown, so one
 * bad rule of 3,000 stops nothing.
 */
import { createReadStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser } from 'tar';
import { parseAllDocuments } from 'yaml';
import { cacheKey, readCache, writeCache } from '../../store/cache.ts';
import { DEFAULT_LEVEL_WEIGHTS, tacticsOf, type Correlation, type Problem, type Rule } from '../model.ts';

export interface SigmaFile {
  path: string;
  text: string;
}

export async function readSigmaFiles(source: string): Promise<SigmaFile[]> {
  if (/\.(tar\.gz|tgz)$/i.test(source)) {
    const files: SigmaFile[] = [];
    await new Promise<void>((resolve, reject) => {
      const parser = new Parser({
        onReadEntry: (entry) => {
          if (entry.type !== 'File' || !/\.ya?ml$/i.test(entry.path)) {
            entry.resume();
            return;
          }
          const chunks: Buffer[] = [];
          entry.on('data', (chunk: Buffer) => chunks.push(chunk));
          entry.on('end', () => files.push({ path: `${source}!${entry.path}`, text: Buffer.concat(chunks).toString('utf8') }));
        },
      });
      parser.on('end', () => resolve());
      parser.on('error', reject);
      createReadStream(source).on('error', reject).pipe(parser);
    });
    return files.sort((a, b) => a.path.localeCompare(b.path));
  }
  if (statSync(source).isDirectory()) {
    const walk = (dir: string): string[] =>
      readdirSync(dir)
        .sort()
        .flatMap((name) => {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) return walk(path);
          return /\.ya?ml$/i.test(name) ? [path] : [];
        });
    return walk(source).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
  }
  return [{ path: source, text: readFileSync(source, 'utf8') }];
}

type Obj = Record<string, unknown>;

/**
 * One Sigma file → rules. A collection's first document may be a template (action: global)
 * merged into the rest; `action: reset` clears it.
 */
/** A YAML value that may be one string or a list of them, as a list. */
function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return typeof value === 'string' ? [value] : [];
}

export function parseSigmaFile(
  file: SigmaFile,
  levelWeights: Record<string, number> = DEFAULT_LEVEL_WEIGHTS,
): { rules: Rule[]; problems: Problem[] } {
  const rules: Rule[] = [];
  const problems: Problem[] = [];
  let documents: ReturnType<typeof parseAllDocuments>;
  try {
    documents = parseAllDocuments(file.text);
  } catch (error) {
    return { rules, problems: [{ severity: 'error', file: file.path, message: `YAML: ${(error as Error).message}` }] };
  }
  let global: Obj = {};
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    // The line of the document's first key (a "---" separator before it is not the rule).
    const start = document.contents?.range?.[0] ?? document.range?.[0];
    const line = start !== undefined ? file.text.slice(0, start).split('\n').length : undefined;
    if (document.errors.length > 0) {
      problems.push({ severity: 'error', file: file.path, line, message: `YAML: ${document.errors[0].message.split('\n')[0]}` });
      continue;
    }
    const raw = document.toJS() as unknown;
    if (raw === null || raw === undefined) continue;
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push({ severity: 'error', file: file.path, line, message: 'a Sigma document must be a mapping' });
      continue;
    }
    const doc = raw as Obj;
    if (doc.action === 'global') {
      global = doc;
      continue;
    }
    if (doc.action === 'reset') {
      global = {};
      continue;
    }
    if ('correlation' in doc) {
      const result = parseCorrelation(doc, file.path, line, levelWeights);
      if ('message' in result) problems.push(result);
      else rules.push(result);
      continue;
    }
    const merged = {
      ...global,
      ...doc,
      detection: { ...(global.detection as Obj | undefined), ...(doc.detection as Obj | undefined) },
      logsource: { ...(global.logsource as Obj | undefined), ...(doc.logsource as Obj | undefined) },
    } as Obj;
    const id = String(merged.id ?? '');
    const title = String(merged.title ?? '');
    if (!id || !title) {
      problems.push({ severity: 'error', file: file.path, line, rule: id || undefined, message: 'a Sigma rule needs id and title' });
      continue;
    }
    if (!merged.detection || typeof merged.detection !== 'object' || !('condition' in (merged.detection as Obj))) {
      problems.push({ severity: 'error', file: file.path, line, rule: id, message: 'detection with a condition is required' });
      continue;
    }
    const tags = Array.isArray(merged.tags) ? merged.tags.map(String) : [];
    const level = String(merged.level ?? 'medium').toLowerCase();
    const logsource = merged.logsource as { product?: string; category?: string; service?: string };
    rules.push({
      id,
      line,
      sigmaName: merged.name ? String(merged.name) : undefined,
      name: title,
      description: merged.description ? String(merged.description) : undefined,
      origin: 'sigma',
      file: file.path,
      table: 'events',
      detection: merged.detection as Obj,
      logsource,
      weight: levelWeights[level] ?? levelWeights.medium ?? 47,
      phase: tacticsOf(tags)[0] ?? 'unknown',
      tags,
      level,
      entities: [
        { type: 'host', field: 'host' },
        { type: 'user', field: 'user' },
      ],
    });
  }
  return { rules, problems };
}

/**
 * What a parse depends on besides the files: this parser's own source (the module and the model
 * it fills) and the YAML library's version. A change to any of them is a cache miss.
 */
let parserKey: string | undefined;
function parserVersion(): string {
  if (parserKey === undefined) {
    const here = fileURLToPath(import.meta.url);
    const yamlVersion = String((createRequire(import.meta.url)('yaml/package.json') as { version: string }).version);
    parserKey = cacheKey([readFileSync(here, 'utf8'), readFileSync(join(here, '..', '..', `model${extname(here)}`), 'utf8'), yamlVersion]);
  }
  return parserKey;
}

type ParsedSigma = { rules: Rule[]; problems: Problem[] };
const isParsed = (value: ParsedSigma | undefined): value is ParsedSigma =>
  Boolean(value && Array.isArray(value.rules) && Array.isArray(value.problems));

export async function loadSigma(
  source: string,
  levelWeights?: Record<string, number>,
): Promise<{ rules: Rule[]; problems: Problem[]; files: number }> {
  // An archive or a file unchanged since the last run (same path, size and modification time,
  // as make and rsync judge it) goes straight to its parse: unpacking SigmaHQ's archive to hash
  // its text is a quarter of a second of every small run.
  const stat = statSync(source);
  const seen = stat.isFile()
    ? `sigma-file-${cacheKey([parserVersion(), JSON.stringify(levelWeights ?? null), resolve(source), String(stat.size), String(stat.mtimeMs)])}.json`
    : undefined;
  const known = seen ? readCache<{ name: string; files: number }>(seen) : undefined;
  if (known && typeof known.name === 'string') {
    const cached = readCache<ParsedSigma>(known.name);
    if (isParsed(cached)) return { ...cached, files: known.files };
  }
  const files = await readSigmaFiles(source);
  // Parsing thousands of YAML rules is most of a small run's wall time: the result is cached
  // by the files' names and text, the level weights and the parser (see store/cache.ts).
  const name = `sigma-${cacheKey([parserVersion(), JSON.stringify(levelWeights ?? null), ...files.flatMap((f) => [f.path, f.text])])}.json`;
  if (seen) writeCache(seen, { name, files: files.length });
  const cached = readCache<ParsedSigma>(name);
  if (isParsed(cached)) return { ...cached, files: files.length };
  const rules: Rule[] = [];
  const problems: Problem[] = [];
  for (const file of files) {
    const result = parseSigmaFile(file, levelWeights);
    rules.push(...result.rules);
    problems.push(...result.problems);
  }
  writeCache(name, { rules, problems });
  return { rules, problems, files: files.length };
}

const CORRELATION_TYPES = ['event_count', 'value_count', 'temporal', 'temporal_ordered'] as const;
const CONDITION_OPERATORS = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'];
const TIMESPAN_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** A correlation document → a rule carrying its correlation, or the problem that stops it (naming the attribute). */
function parseCorrelation(doc: Obj, path: string, line: number | undefined, levelWeights: Record<string, number>): Rule | Problem {
  const id = String(doc.id ?? doc.name ?? '');
  const fail = (message: string): Problem => ({
    severity: 'error',
    file: path,
    line,
    rule: id || undefined,
    message: `correlation: ${message}`,
  });
  const title = doc.title ? String(doc.title) : '';
  if (!id || !title) return fail('needs a title and an id (or name)');
  const c = doc.correlation as Obj | null;
  if (!c || typeof c !== 'object') return fail('the correlation section must be a mapping');
  const type = String(c.type ?? '') as Correlation['type'];
  if (!CORRELATION_TYPES.includes(type)) return fail(`type "${String(c.type ?? '')}" is not one of ${CORRELATION_TYPES.join(', ')}`);
  const refs = stringList(c.rules);
  if (refs.length === 0) return fail('rules: at least one rule id or name is required');
  const groupBy = stringList(c['group-by']);
  const span = /^(\d+)([smhdw])$/.exec(String(c.timespan ?? ''));
  if (!span) return fail(`timespan "${String(c.timespan ?? '')}" must be a number and one of s, m, h, d (e.g. 90m)`);
  const raw = (c.condition ?? {}) as Obj;
  if (typeof raw !== 'object' || Array.isArray(raw)) return fail('condition must be a mapping such as {gte: 10}');
  const condition: Record<string, number> = {};
  for (const [op, value] of Object.entries(raw)) {
    if (op === 'field') continue;
    if (!CONDITION_OPERATORS.includes(op)) return fail(`condition operator "${op}" is not one of ${CONDITION_OPERATORS.join(', ')}`);
    if (typeof value !== 'number' && Number.isNaN(Number(value))) return fail(`condition ${op} needs a number, not "${String(value)}"`);
    condition[op] = Number(value);
  }
  if ((type === 'event_count' || type === 'value_count') && Object.keys(condition).length === 0)
    return fail(`${type} needs a condition such as {gte: 10}`);
  const field = raw.field === undefined ? undefined : String(raw.field);
  if (type === 'value_count' && !field) return fail('value_count needs condition.field, the field whose distinct values are counted');
  const aliases: Record<string, Record<string, string>> = {};
  for (const [alias, map] of Object.entries((c.aliases ?? {}) as Obj)) {
    if (!map || typeof map !== 'object') return fail(`aliases.${alias} must map rule names to field names`);
    aliases[alias] = Object.fromEntries(Object.entries(map as Obj).map(([k, v]) => [k, String(v)]));
  }
  const tags = Array.isArray(doc.tags) ? doc.tags.map(String) : [];
  const level = String(doc.level ?? 'medium').toLowerCase();
  return {
    id,
    line,
    sigmaName: doc.name ? String(doc.name) : undefined,
    name: title,
    description: doc.description ? String(doc.description) : undefined,
    origin: 'sigma',
    file: path,
    table: 'events',
    weight: levelWeights[level] ?? levelWeights.medium ?? 47,
    phase: tacticsOf(tags)[0] ?? 'unknown',
    tags,
    level,
    entities: [],
    correlation: {
      type,
      rules: refs,
      groupBy,
      timespanSeconds: Number(span[1]) * TIMESPAN_UNITS[span[2]],
      condition,
      field,
      aliases,
      generate: c.generate === true || doc.generate === true,
    },
  };
}
