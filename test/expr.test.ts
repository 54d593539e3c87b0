import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderBound } from '../src/expr/bound.ts';
import { parseExpr } from '../src/expr/parse.ts';
import { renderExpr } from '../src/expr/render.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { defaultConfig } from '../src/config.ts';
import { loadRuleSources } from '../src/rules/catalog.ts';
import { checkRuleSql } from '../src/rules/sqlcheck.ts';
import { duckdb } from '../src/store/dialect-duckdb.ts';
import { Bindings } from '../src/store/sql.ts';
import { render } from '../src/store/sql-template.ts';
import { quoteIdent } from '../src/store/schema.ts';
import { openWorkspace, testData } from './helpers.ts';

test('one expression language: parsed into a tree and rendered again, every string bound, every name quoted, every operation bracketed', () => {
  const r = render(
    renderExpr(parseExpr("kind = 'e''mail' AND coalesce(attachments, '') NOT IN ('', '0') OR NOT bytes_out BETWEEN 1 AND 2e3"), duckdb),
    duckdb,
  );
  assert.equal(r.text, '((("kind" = $1) AND (coalesce("attachments", $2) NOT IN ($3, $4))) OR (NOT ("bytes_out" BETWEEN 1 AND 2e3)))');
  assert.deepEqual(r.params, ["e'mail", '', '', '0']);
  const c = render(renderExpr(parseExpr("CASE WHEN \"user\" ILIKE 'a%' ESCAPE '!' THEN 1 ELSE -x % 3 END IS NOT NULL"), duckdb), duckdb);
  assert.equal(c.text, '(CASE WHEN ("user" ILIKE $1 ESCAPE $2) THEN 1 ELSE ((- "x") % 3) END IS NOT NULL)');
});

test('one expression language: what a rule or a feature may not hold is refused by name', () => {
  const refused: [string, RegExp][] = [
    ["kind = 'x'; DROP TABLE detections", /statements and comments are not allowed/],
    ["kind = 'x' -- and more", /statements and comments are not allowed/],
    ["kind = 'x' /* hidden */", /statements and comments are not allowed/],
    ["kind = 'email' AND (SELECT 1) = 1", /subqueries are not allowed/],
    ["kind = 'x' AND \"kind\" = 'y'", /cannot read ""kind"/],
    ["read_text('/etc/passwd') = 'x'", /function read_text\(\) is not allowed/],
    ['CAST(kind AS HUGEINT) = 1', /type HUGEINT is not allowed/],
    ["password = 'x'", /"password" is not a column of activity/],
    ["kind = E'\\' OR 1=1 --'", /is not a column|cannot read|statements/],
    ["kind = 'open", /cannot read "'open"/],
    ['', /the expression is empty/],
    ['kind =', /ends too early/],
    ["kind = 'a' 'b'", /unexpected "'b'"/],
  ];
  for (const [text, message] of refused) assert.throws(() => checkRuleSql(text, 'activity'), message, text);
});

test('one expression language: every shipped rule and feature condition selects the same rows rendered as it did written (CERT-layout data)', async (t) => {
  const ws = await openWorkspace(t);
  await ingest(ws, [testData('cert-layout', 'r4.2')]);
  const { rules } = await loadRuleSources([], []);
  const conditions = [
    ...rules.filter((r) => r.sql !== undefined).map((r) => ({ id: r.id, table: r.table, text: r.sql! })),
    ...defaultConfig().baseline.features.map((f) => ({ id: `feature ${f.name}`, table: f.table, text: f.where })),
  ];
  assert.ok(conditions.length >= 15, `${conditions.length} conditions`);
  let matched = 0;
  for (const c of conditions) {
    const written = Number(await ws.scalar(`SELECT count(*) FROM ${quoteIdent(c.table)} WHERE coalesce((${c.text}), false)`));
    const { values, bind } = new Bindings();
    const rendered = Number(
      await ws.scalar(
        `SELECT count(*) FROM ${quoteIdent(c.table)} WHERE coalesce(${renderBound(checkRuleSql(c.text, c.table), bind)}, false)`,
        values,
      ),
    );
    assert.equal(rendered, written, c.id);
    if (written > 0) matched++;
  }
  assert.ok(matched >= 5, `${matched} conditions select rows on this data`);
});
