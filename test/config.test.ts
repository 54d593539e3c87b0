import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkConfig, ConfigError, DEFAULT_CONFIG_PATH, loadConfig, normaliseConfig } from '../src/config.ts';
import { parse } from 'yaml';
import { Workspace } from '../src/store/workspace.ts';
import { cli, emptyWorkspaceFile, ROOT, tempDir } from './helpers.ts';

test('config validate: unknown keys at every level, wrong types and ranges, all listed with their lines', async (t) => {
  const file = join(tempDir(t), 'bad.yml');
  writeFileSync(
    file,
    [
      'networks:',
      '  intrenal: [10.0.0.0/8]', // line 2: misspelt
      'beacons:',
      '  jitter_tolerance: 7', // line 4: out of range
      '  allow:',
      '    domians: [example.org]', // line 6: misspelt, one level deeper
      'rules:',
      '  level_weights: {high: many}', // line 8: not a number
      'extra: 1', // line 9: unknown at the top
    ].join('\n'),
  );
  const { config, problems } = checkConfig(file);
  assert.equal(config, undefined);
  assert.deepEqual(
    problems.map((p) => [p.line, p.key]).sort((a, b) => Number(a[0]) - Number(b[0])),
    [
      [2, 'networks.intrenal'],
      [4, 'beacons.jitter_tolerance'],
      [6, 'beacons.allow.domians'],
      [8, 'rules.level_weights.high'],
      [9, 'extra'],
    ],
  );
  assert.match(problems.find((p) => p.key === 'networks.intrenal')!.message, /did you mean "internal"/);
  const result = await cli('config', 'validate', '--config', file);
  assert.equal(result.code, 1);
  assert.equal(result.stderr.split('\n').filter((l) => l.startsWith(`huntbook: ${file}:`)).length, 5, result.stderr);
  assert.match(result.stderr, /5 problems in the configuration/);
  assert.throws(
    () => loadConfig(file),
    (e: unknown) => e instanceof ConfigError && e.problems.length === 5 && /and 4 more problems/.test(e.message),
  );
});

test('allow-list entries that would hide too much are refused: public suffixes, networks wider than /8', (t) => {
  const file = join(tempDir(t), 'wide.yml');
  writeFileSync(
    file,
    'beacons:\n  allow:\n    domains: [com, co.uk, github.io, example.com]\n    cidrs: [0.0.0.0/0, 10.1.0.0/16]\nnetworks:\n  internal: [0.0.0.0/1]\n',
  );
  const { problems } = checkConfig(file);
  assert.deepEqual(problems.map((p) => p.message.split(' ')[0]).sort(), ['"0.0.0.0/0"', '"0.0.0.0/1"', '"co.uk"', '"com"', '"github.io"']);
  assert.ok(problems.every((p) => p.line !== undefined));
  writeFileSync(file, 'beacons:\n  allow:\n    domains: [example.com, cdn.example.co.uk]\n    cidrs: [10.1.0.0/16]\n');
  assert.deepEqual(loadConfig(file).beacons.allow, { domains: ['example.com', 'cdn.example.co.uk'], cidrs: ['10.1.0.0/16'] });
});

test('every hunt says which configuration files are in force, a stray ./huntbook.yml included', async (t) => {
  const dir = tempDir(t);
  const db = await emptyWorkspaceFile(dir);
  const cwd = process.cwd();
  writeFileSync(join(dir, 'huntbook.yml'), 'beacons:\n  jitter_tolerance: 0.2\n');
  process.chdir(dir);
  try {
    const result = await cli('hunt', 'population', '--db', db);
    assert.match(result.stderr, /^config: .*config\/huntbook\.yml \+ .*huntbook\.yml$/m);
    const beacons = await cli('hunt', 'beacons', '--db', db);
    assert.match(beacons.stderr, /^config: .*huntbook\.yml \+ /m);
  } finally {
    process.chdir(cwd);
  }
});

test('tiers, risk weights and the alert logic live in the configuration: validated there, used by the hunts', async (t) => {
  const dir = tempDir(t);
  const bad = join(dir, 'bad.yml');
  writeFileSync(
    bad,
    [
      'population:',
      '  multipliers:',
      '    user_count_mult: {metric: "user_count; DROP TABLE detections", tiers: [{eq: 1, weight: 999}]}', // line 3
      'beacons:',
      '  scored:',
      '    multipliers:',
      '      evtmult: {metric: distinct_event_count, tiers: [{between: 3, weight: 1}]}', // line 7
      'risk:',
      '  alert: tweight >>> 3', // line 9
    ].join('\n'),
  );
  const { problems } = checkConfig(bad);
  assert.deepEqual(problems.map((p) => p.key).sort(), [
    'beacons.scored.multipliers.evtmult.tiers',
    'population.multipliers.user_count_mult.metric',
    'risk.alert',
  ]);
  assert.ok(problems.every((p) => p.line !== undefined));
  // A valid override is what the hunt uses.
  const good = join(dir, 'good.yml');
  writeFileSync(
    good,
    'population:\n  multipliers:\n    user_count_mult: {metric: user_count, tiers: [{eq: 1, weight: 999}]}\nrisk:\n  alert: tweight > 5\n',
  );
  const db = await emptyWorkspaceFile(dir);
  const ws = await Workspace.open(db);
  await ws.run(`INSERT INTO detections VALUES (TIMESTAMP '2026-01-05 09:00:00', 'R', 'rule R', 'exfiltration', 10, 'user', 'zoe', 'events', '1:1', NULL, NULL),
    (TIMESTAMP '2026-01-05 09:00:00', 'S', 'rule S', 'collection', 1, 'user', 'yan', 'events', '1:2', NULL, NULL),
    (TIMESTAMP '2026-01-05 09:00:00', 'S', 'rule S', 'collection', 1, 'user', 'xi', 'events', '1:3', NULL, NULL)`);
  ws.close();
  const population = await cli('hunt', 'population', '--db', db, '--config', good, '--format', 'json');
  assert.equal(population.code, 0, population.stderr);
  const zoe = (JSON.parse(population.stdout) as { user: string; user_count_mult: number }[]).find((r) => r.user === 'zoe');
  assert.equal(zoe?.user_count_mult, 999);
  const risk = await cli('hunt', 'risk', '--db', db, '--config', good, '--format', 'json');
  assert.deepEqual(
    (JSON.parse(risk.stdout) as { entity: string; alert: boolean }[]).filter((r) => r.alert).map((r) => r.entity),
    ['zoe'],
  );
  const flag = await cli('hunt', 'risk', '--db', db, '--config', good, '--alert', 'tweight > 0', '--format', 'json');
  assert.equal(
    (JSON.parse(flag.stdout) as { alert: boolean }[]).filter((r) => r.alert).length,
    3,
    'a flag overrides the configuration for one run',
  );
});

test('insider weights come from the config: values read, out-of-range refused by key', () => {
  const base = loadConfig();
  assert.deepEqual(base.insider, {
    riskFactor: 0.5,
    populationDivisor: 10,
    outlierBonus: 10,
    orderBonus: 25,
    orderDays: 5,
    exfilDaysBonus: 10,
    redFlagBonus: 15,
  });
  const tuned = normaliseConfig({ insider: { order_bonus: 40, red_flag_bonus: 0 } }, 'mine.yml', base);
  assert.equal(tuned.insider.orderBonus, 40);
  assert.equal(tuned.insider.redFlagBonus, 0);
  assert.equal(tuned.insider.riskFactor, 0.5);
  assert.throws(
    () => normaliseConfig({ insider: { population_divisor: 0 } }, 'mine.yml', base),
    /insider\.population_divisor: must be a number from 0\.001/,
  );
});

test('the shipped defaults are the only copy of each default: read without a base, a file must set every key (no number is made up in code)', () => {
  const shipped = parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as Record<string, Record<string, unknown>>;
  assert.doesNotThrow(() => normaliseConfig(shipped, 'huntbook.yml'));
  const { alert: _alert, ...risk } = shipped.risk;
  const error = (() => {
    try {
      normaliseConfig({ ...shipped, risk, insider: { ...shipped.insider, order_days: undefined } }, 'huntbook.yml');
    } catch (e) {
      return e as ConfigError;
    }
  })();
  assert.deepEqual(
    error?.problems.map((p) => `${p.key}: ${p.message}`),
    [
      'risk.alert: missing from the shipped defaults (every key has its default there)',
      'insider.order_days: missing from the shipped defaults (every key has its default there)',
    ],
  );
});

test("./notifications.yml is said when in force and checked: public suffixes as a network's domains are refused, every problem listed, nothing judged by it", async (t) => {
  const dir = tempDir(t);
  const db = await emptyWorkspaceFile(dir);
  const cwd = process.cwd();
  const mail = readFileSync(join(ROOT, 'test', 'data', 'social-mail', 'phish-2023-order-list.eml'), 'utf8');
  writeFileSync(
    join(dir, 'phish.eml'),
    mail.replace('From: LinkedIn via Industrypack-devel\n <industrypack-devel@lists.sourceforge.net>', 'From: LinkedIn <info@linkedin.io>'),
  );
  writeFileSync(
    join(dir, 'notifications.yml'),
    [
      'networks:',
      '  - name: linkedin',
      '    domains: [linkedin.com, io, com, co.uk]',
      '    media_hosts: [media.licdn.com]',
      '    colour: blue',
      '    templates: [{kind: message, subject: "(unclosed"}]',
    ].join('\n'),
  );
  process.chdir(dir);
  try {
    const check = await cli('config', 'validate', '--db', db);
    assert.equal(check.code, 1);
    for (const expected of [
      /networks\[0\]\.domains\[1\]: "io" is a public suffix/,
      /networks\[0\]\.domains\[2\]: "com" is a public suffix/,
      /networks\[0\]\.domains\[3\]: "co\.uk" is a public suffix/,
      /networks\[0\]\.colour: unknown key/,
      /networks\[0\]\.templates\[0\]\.subject: Invalid regular expression/,
    ])
      assert.match(check.stderr, expected);
    // Ingest refuses to judge mail by it (the lookalike is not turned genuine), naming the file and the problems.
    const ingest = await cli('ingest', join(dir, 'phish.eml'), '--db', db);
    assert.notEqual(ingest.code, 0);
    assert.match(ingest.stdout + ingest.stderr, /problems in the notification templates.*"io" is a public suffix/);
    // A sound overlay is said with every file it judged.
    writeFileSync(
      join(dir, 'notifications.yml'),
      'networks:\n  - name: example-net\n    domains: [example-net.com]\n    templates: [{kind: message, subject: "^(?<name>.+) wrote to you$"}]\n',
    );
    assert.equal((await cli('config', 'validate', '--db', db)).code, 0);
    const ok = await cli('ingest', join(dir, 'phish.eml'), '--db', db);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /notification templates in force: shipped \+ notifications\.yml/);
  } finally {
    process.chdir(cwd);
  }
});

test('logs: a ClickHouse address in the configuration, checked as --logs is; a password in it is refused', () => {
  const base = loadConfig();
  assert.equal(base.logs, undefined, 'the shipped configuration keeps the logs in the workspace');
  assert.equal(normaliseConfig({ logs: 'clickhouse://hunter@ch1:8123/logs' }, 'mine.yml', base).logs, 'clickhouse://hunter@ch1:8123/logs');
  assert.throws(
    () => normaliseConfig({ logs: 'clickhouse://hunter:secret@ch1:8123/logs' }, 'mine.yml', base),
    /logs: no password in the address; put it in \$HUNTBOOK_CLICKHOUSE_PASSWORD/,
  );
  assert.throws(() => normaliseConfig({ logs: 'mysql://x@y/z' }, 'mine.yml', base), /logs: only clickhouse:\/\//);
});
