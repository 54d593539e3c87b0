/**
 * Every ingest path and every output over a folder of hostile inputs (test/data/hostile: forged
 * and garbled mail, formula and control characters in CSV cells, NUL bytes, bidi overrides,
 * script in log text, ids that are paths and options, picture addresses on private networks, a
 * watch list with bad rows): nothing crashes, every file's accounting reconciles, nothing escapes
 * a sandbox, and no log text reaches a terminal, a spreadsheet or a page as anything but text.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Workspace } from '../src/store/workspace.ts';
import { cli, TEST_DATA, tempDir } from './helpers.ts';

const HOSTILE = join(TEST_DATA, 'hostile');

test('hostile inputs: every ingest path and every output, no crash, read = loaded + rejected, nothing escapes', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'case.duckdb');
  const logs = readdirSync(HOSTILE).filter((name) => !name.startsWith('watchlist'));
  const ingest = await cli('ingest', ...logs.map((name) => join(HOSTILE, name)), '--db', db, '--output', 'json');
  assert.ok(ingest.code === 0 || ingest.code === 1, `ingest exit ${ingest.code}: ${ingest.stderr}`);
  assert.ok(!/unexpected error/.test(ingest.stderr), ingest.stderr);
  const reports = JSON.parse(ingest.stdout) as {
    path: string;
    status: string;
    read: number;
    loaded: number;
    rejected: number;
    message: string | null;
  }[];
  assert.equal(reports.length, logs.length);
  for (const r of reports) {
    if (r.status === 'loaded') assert.equal(r.read, r.loaded + r.rejected, `${r.path}: read ${r.read} ≠ ${r.loaded} + ${r.rejected}`);
    else assert.ok(r.message && r.message.length > 0, `${r.path} ${r.status} without a reason`);
  }
  const by = (name: string) => reports.find((r) => r.path.endsWith(name))!;
  assert.match(`${by('mail-binary-junk.eml').status}: ${by('mail-binary-junk.eml').message}`, /^(failed|skipped): .*binary content/);
  for (const name of ['mail-garbled-date.eml', 'mail-no-date.eml']) assert.equal(by(name).status, 'failed');
  for (const name of ['proxy-hostile.csv', 'events-hostile.ndjson', 'conn-hostile.log', 'profiles-hostile.json'])
    assert.equal(by(name).status, 'loaded', name);

  // Forged mail is recorded as lookalikes with reasons, each a detection of the recipient.
  const ws = await Workspace.open(db, { readOnly: true });
  const verdicts = Object.fromEntries(
    (await ws.query('SELECT message_id, verdict FROM mail_notices')).map((r) => [String(r.message_id), String(r.verdict)]),
  );
  ws.close();
  for (const name of ['mail-dkim-spaces.eml', 'mail-auth-fail.eml', 'mail-two-froms.eml', 'mail-punycode.eml', 'mail-userinfo.eml'])
    assert.equal(verdicts[`<${name}@x>`], 'lookalike', name);

  // Rules with the hostile watch list: bad rows refused by line, the run completes.
  const rules = await cli('rules', 'run', '--watchlist', join(HOSTILE, 'watchlist-hostile.csv'), '--db', db);
  assert.equal(rules.code, 0, rules.stderr);
  assert.equal(
    (rules.stderr.match(/watchlist-hostile\.csv:\d+: field \w+: .*row refused, the rest loaded/g) ?? []).length,
    4,
    rules.stderr,
  );

  // Every output: terminal tables, CSV, JSON, the report, the graph export, the hunts.
  for (const format of ['table', 'csv', 'json', 'ndjson']) {
    const out = await cli('sql', 'SELECT * FROM http', '--db', db, '--format', format);
    assert.equal(out.code, 0, out.stderr);
    // CSV and JSON are data (JSON escapes control characters itself); a spreadsheet must not run a cell.
    if (format === 'json') assert.ok(!/[\u0000-\u001f\u202e]/.test(out.stdout.replace(/\n/g, '')), 'raw control characters in JSON');
    if (format === 'csv') assert.ok(!/(^|,)[=+@-][^,]*SUM|(^|,)=cmd/m.test(out.stdout), 'a formula cell reached the CSV unguarded');
    if (format === 'table') assert.ok(!/[\u001b\u0007\u202e]/.test(out.stdout), 'raw control characters in a terminal table');
  }
  for (const hunt of [
    ['hunt', 'social'],
    ['hunt', 'risk'],
    ['hunt', 'beacons'],
  ]) {
    const out = await cli(...hunt, '--db', db);
    assert.ok(!/unexpected error/.test(out.stderr), `${hunt.join(' ')}: ${out.stderr}`);
    assert.ok(!/[\u001b\u202e]/.test(out.stdout), `${hunt.join(' ')}: raw control characters`);
  }
  const report = join(dir, 'report.html');
  assert.equal((await cli('report', '--out', report, '--db', db)).code, 0);
  const html = readFileSync(report, 'utf8');
  assert.ok(
    !/<script/i.test(html) && !/onerror=alert/i.test(html.replaceAll('onerror=alert(2)&gt;', '')) && !html.includes('\u202e'),
    'script or bidi control live in the report',
  );
  const cypher = join(dir, 'graph.cypher');
  assert.equal((await cli('graph', 'export', '--cypher', cypher, '--db', db)).code, 0);

  // Nothing escapes: SQL stays in the workspace, pictures are fetched from no private address and land in their folder.
  const sandbox = await cli(
    'outliers',
    "SELECT length(content) AS a, 1 AS b FROM read_text('/etc/passwd')",
    '--features',
    'a,b',
    '--db',
    db,
  );
  assert.notEqual(sandbox.code, 0);
  const pictures = join(dir, 'pics');
  const images = await cli('images', 'check', '--pictures', pictures, '--fetch', '--db', db);
  assert.ok(!/unexpected error/.test(images.stderr), images.stderr);
  const w2 = await Workspace.open(db, { readOnly: true });
  const problems = (await w2.query('SELECT profile_id, problem FROM picture_checks WHERE problem IS NOT NULL')).map(
    (r) => `${r.profile_id}: ${r.problem}`,
  );
  w2.close();
  assert.ok(
    problems.some((p) => /127\.0\.0\.1 is not a public address/.test(p)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => /only http and https are fetched, not file:/.test(p)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => /169\.254\.169\.254 is not a public address/.test(p)),
    problems.join('\n'),
  );
  // Only what the commands were asked to write: no picture named "../outside" beside the folder.
  assert.deepEqual(
    readdirSync(dir)
      .filter((f) => !f.startsWith('case.duckdb'))
      .sort(),
    ['graph.cypher', 'pics', 'report.html'].filter((f) => existsSync(join(dir, f))),
  );
  assert.equal(existsSync(join(dir, 'outside.jpg')), false);
});
