import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { HUNTS } from '../src/hunts/registry.ts';
import { defaultConfig } from '../src/config.ts';
import { duckdb } from '../src/store/dialect-duckdb.ts';
import { render } from '../src/store/sql-template.ts';
import { cli, emptyWorkspaceFile, ROOT, tempDir } from './helpers.ts';

const HUNTS_DIR = join(ROOT, 'src', 'hunts');
const sources = () =>
  readdirSync(HUNTS_DIR, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: f, text: readFileSync(join(HUNTS_DIR, f), 'utf8') }));

test('every hunt is registered with runHunt(): each Hunt declared under src/hunts is in the registry, by name, once', () => {
  const declared = sources().flatMap(({ file, text }) =>
    [...text.matchAll(/export const (\w+): Hunt<\w+> = \{\s*name: '([\w.]+)'/g)].map((m) => ({ file, id: m[1], name: m[2] })),
  );
  assert.deepEqual(HUNTS.map((h) => h.name).sort(), declared.map((d) => d.name).sort());
  assert.deepEqual(
    HUNTS.map((h) => h.name),
    ['beacons.timing', 'beacons.scored', 'beacons.flow', 'risk', 'population', 'baseline', 'insider', 'social'],
  );
});

test('no hunt keeps its own run: runs and results are written by the runner alone', () => {
  for (const { file, text } of sources()) {
    if (file === 'run.ts' || file === 'contract.ts') continue;
    assert.doesNotMatch(
      text,
      /\brecordRun(FromTable)?\(|INSERT INTO results|INSERT INTO hunt_runs/,
      `${relative(ROOT, join(HUNTS_DIR, file))} writes a run itself`,
    );
  }
});

test('parameters come from the configuration and the flags alone; every stage renders for DuckDB', async () => {
  const config = defaultConfig();
  for (const hunt of HUNTS) {
    const p = hunt.params(config, {});
    for (const stage of await hunt.stage(p, duckdb)) {
      const { text } = render(stage.sql, duckdb);
      assert.match(text, /SELECT/i, `${hunt.name} stage ${stage.table}`);
      assert.match(stage.table, /^hb_[a-z_]+$/, "stage tables are the runner's temporary tables");
    }
  }
  // The hunts whose stages read raw logs: all but risk and population, which read detections (rules derive them in
  // the workspace).
  const staged: string[] = [];
  for (const h of HUNTS) if ((await h.stage(h.params(config, {}), duckdb)).length > 0) staged.push(h.name);
  assert.deepEqual(staged, ['beacons.timing', 'beacons.scored', 'beacons.flow', 'baseline', 'insider', 'social']);
});

test('a bad --since or --until is a usage error naming the option (exit 2), on every hunt, before the workspace opens', async (t) => {
  const db = await emptyWorkspaceFile(tempDir(t));
  const cases: string[][] = [
    ['hunt', 'risk'],
    ['hunt', 'social'],
    ['hunt', 'beacons', '--mode', 'scored'],
    ['hunt', 'beacons'],
    ['hunt', 'beacons', '--mode', 'flow'],
    ['hunt', 'population'],
    ['hunt', 'baseline'],
    ['hunt', 'insider'],
  ];
  for (const args of cases) {
    const bad = await cli(...args, '--since', 'garbage', '--db', db, '-q');
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, /--since must be a time like 2024-03-04/, args.join(' '));
    const feb30 = await cli(...args, '--until', '2024-02-30', '--db', db, '-q');
    assert.match(feb30.stderr, /--until must be a time/, args.join(' '));
    const backwards = await cli(...args, '--since', '2024-03-05', '--until', '2024-03-04T23:00', '--db', db, '-q');
    assert.equal(backwards.code, 2);
    assert.match(backwards.stderr, /--since must be before --until/, args.join(' '));
  }
});

test('`hunt` loads neither the Neo4j driver nor the picture decoders (its import graph, followed statically)', () => {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import (?!type )[^'"]*from '([^']+)'/gm)) {
      const target = m[1];
      if (target.startsWith('.')) walk(join(file, '..', target));
      else packages.add(target);
    }
  };
  walk(join(ROOT, 'src', 'cli', 'hunt.ts'));
  assert.ok(seen.size > 20, `followed ${seen.size} modules`);
  assert.ok(packages.has('@duckdb/node-api'));
  for (const heavy of ['neo4j-driver', 'jpeg-js', 'pngjs']) assert.ok(!packages.has(heavy), `hunt imports ${heavy}`);
});

/**
 * Where SQL only DuckDB speaks may be written: the dialects, and the modules that only ever run
 * on the workspace (its own DuckDB file) or are one hunt's stage and finisher. Everything else
 * (the expression language, Sigma's intermediate form, the hunt contract, config, model, net, ml)
 * stays engine-neutral, so that a stage can be rendered for ClickHouse. A new module that writes
 * DuckDB-only SQL fails here until it is placed on purpose.
 */
const DUCKDB_ONLY =
  /\bepoch\(|\barg_max\(|\barg_min\(|FILTER \(WHERE|\blist_contains\(|\bregexp_matches\(|\btime_bucket\(|\bjson_extract_string\(|->>/;
const WORKSPACE_OR_DIALECT = [
  'src/store/', // the workspace and the dialects
  'src/hunts/beacons/',
  'src/hunts/risk/',
  'src/hunts/baseline/',
  'src/hunts/insider/',
  'src/hunts/social/', // each hunt's stage and finisher
  'src/rules/scan.ts',
  'src/rules/engine.ts',
  'src/rules/correlation.ts', // the workspace's rule engine
  'src/rules/sigma/compile.ts', // holds Sigma's DuckDB operator table (SIGMA_OPERATORS)
  'src/ingest/', // DuckDB's readers load files into the workspace
  'src/workbench/',
  'src/cli/',
  'src/analyze/', // read the workspace
  'src/generate/', // writes files, no SQL (its epoch() is a JS helper)
  'src/spl/', // huntbook spl translates to DuckDB over the workspace (not yet through the Dialect: it cannot run on ClickHouse)
];

test("DuckDB-only SQL is written only in the dialects, the hunts' stages and finishers, and workspace-side modules", () => {
  const offenders: string[] = [];
  for (const file of readdirSync(join(ROOT, 'src'), { recursive: true }).map(String)) {
    if (!file.endsWith('.ts')) continue;
    const path = `src/${file.replaceAll('\\', '/')}`;
    if (WORKSPACE_OR_DIALECT.some((allowed) => path.startsWith(allowed))) continue;
    const text = readFileSync(join(ROOT, path), 'utf8');
    const hit = DUCKDB_ONLY.exec(text);
    if (hit) offenders.push(`${path}: ${hit[0]}`);
  }
  assert.deepEqual(offenders, []);
  // and the dialect-neutral core holds none of it
  for (const neutral of [
    'src/expr/render.ts',
    'src/expr/check.ts',
    'src/hunts/contract.ts',
    'src/store/sql-template.ts',
    'src/store/dialect.ts',
  ]) {
    assert.doesNotMatch(readFileSync(join(ROOT, neutral), 'utf8'), DUCKDB_ONLY, neutral);
  }
});
