import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cacheDir } from '../src/store/cache.ts';
import { test } from 'node:test';
import { ingest } from '../src/ingest/ingest.ts';
import { planRules, runRules } from '../src/rules/engine.ts';
import { tacticsOf, techniquesOf } from '../src/rules/model.ts';
import { expandPattern, parseCondition } from '../src/rules/sigma/condition.ts';
import { compileDetection, detectionCond, SIGMA_OPERATORS, sigmaToLike } from '../src/rules/sigma/compile.ts';
import { detectionAnchors } from '../src/rules/sigma/anchors.ts';
import { parseSigmaFile } from '../src/rules/sigma/load.ts';
import { base64Offsets, windashVariants } from '../src/rules/sigma/values.ts';
import { Workspace } from '../src/store/workspace.ts';
import { cli, openWorkspace, tempDir, testData } from './helpers.ts';
import { loadRuleSources } from '../src/rules/catalog.ts';

test('conditions: not binds tightest, then and, then or; "of" over patterns and them', () => {
  assert.deepEqual(parseCondition('a or b and not c'), {
    type: 'or',
    operands: [
      { type: 'ref', name: 'a' },
      {
        type: 'and',
        operands: [
          { type: 'ref', name: 'b' },
          { type: 'not', operand: { type: 'ref', name: 'c' } },
        ],
      },
    ],
  });
  assert.deepEqual(parseCondition('(a or b) and 1 of sel_*'), {
    type: 'and',
    operands: [
      {
        type: 'or',
        operands: [
          { type: 'ref', name: 'a' },
          { type: 'ref', name: 'b' },
        ],
      },
      { type: 'of', quantifier: 'any', pattern: 'sel_*' },
    ],
  });
  assert.deepEqual(expandPattern('them', ['sel', '_private', 'filter']), ['sel', 'filter']);
  assert.deepEqual(expandPattern('sel_*', ['sel_a', 'sel_b', 'selx']), ['sel_a', 'sel_b']);
  assert.throws(() => parseCondition('a and'), /ends too early/);
  assert.throws(() => parseCondition('selection | count() by host > 5'), /aggregation/);
  assert.throws(() => parseCondition('2 of them'), /only "1 of" and "all of"/);
});

/** The golden SQL of one detection in each dialect Sigma renders for: a new dialect must add its own. */
const GOLDEN: Record<string, { sql: string; params: unknown[] }> = {
  duckdb: {
    sql: "(((lower(F(Image)) LIKE $1 ESCAPE '!' OR lower(F(Image)) = $2) AND lower(F(CommandLine)) = $3) AND NOT coalesce((F(User) IS NULL), false))",
    params: ['%\\cmd.exe', 'x.exe', 'whoami'],
  },
  clickhouse: {
    sql: '(((like(lowerUTF8(F(Image)), $1) OR lowerUTF8(F(Image)) = $2) AND lowerUTF8(F(CommandLine)) = $3) AND NOT coalesce((F(User) IS NULL), 0))',
    params: ['%\\\\cmd.exe', 'x.exe', 'whoami'],
  },
};

test('compiled SQL, per dialect: values are parameters, fields come from the resolver, lists OR, maps AND', () => {
  assert.deepEqual(Object.keys(SIGMA_OPERATORS), Object.keys(GOLDEN), 'every dialect with a Sigma rendering has its golden SQL');
  for (const [dialect, golden] of Object.entries(GOLDEN)) {
    const params: unknown[] = [];
    const sql = compileDetection(
      { sel: { Image: ['*\\cmd.exe', 'x.exe'], CommandLine: 'whoami' }, filter: { User: null }, condition: 'sel and not filter' },
      {
        field: (name) => `F(${name})`,
        fullText: () => 'T',
        bind: (v) => `$${params.push(v)}`,
      },
      dialect as 'duckdb' | 'clickhouse',
    );
    // NULL (a missing field) is false to AND and OR; only under NOT must it be made false first.
    assert.equal(sql, golden.sql, dialect);
    assert.deepEqual(params, golden.params, dialect);
  }
  assert.deepEqual(sigmaToLike('a\\*b*c?d%_!'), { pattern: 'a*b%c_d!%!_!!', wildcard: true });
});

test("Sigma's intermediate form: every test is data, |cidr, |fieldref and |expand included", () => {
  const cond = detectionCond(
    {
      sel: {
        'DestinationIp|cidr': '10.0.0.0/8',
        'Image|fieldref|endswith': 'ParentImage',
        'User|expand': '%admins%',
        'Tag|expand': '%nobody%',
      },
      condition: 'sel',
    },
    { field: (name) => `F(${name})`, fullText: () => 'T', bind: () => '?', placeholders: { admins: ['root', 'Admin*'] } },
  );
  const tests = (cond as { items: { atoms: { test: unknown; data?: unknown }[] }[] }).items.flatMap((i) => i.atoms.map((a) => a.test));
  assert.deepEqual(tests, [
    { op: 'cidr', field: 'DestinationIp', network: '10.0.0.0/8' },
    { op: 'fieldref', field: 'Image', other: 'ParentImage', match: 'ends_with', cased: false },
    { op: '=', field: 'User', cased: false, value: 'root', num: null },
    { op: 'like', field: 'User', cased: false, value: 'admin%', num: null },
    { op: 'false', field: 'Tag' },
  ]);
});

test('value encodings: base64offset, windash', () => {
  // pySigma's algorithm, checked independently with Python's base64:
  //   [b64encode(i*b' ' + v)[(0, 2, 3)[i] : (None, -3, -2)[(len(v) + i) % 3]] for i in range(3)]
  assert.deepEqual(base64Offsets(Buffer.from('ping')), ['cGluZ', 'Bpbm', 'waW5n']);
  assert.deepEqual(base64Offsets(Buffer.from('IEX')), ['SUVY', 'lFW', 'JRV']);
  assert.deepEqual(windashVariants('-enc x').sort(), ['-enc x', '/enc x', '\u2013enc x', '\u2014enc x', '\u2015enc x'].sort());
});

test('tactic tags give the phase: defense-evasion in either spelling, and ATT&CK v19 stealth / defense-impairment', () => {
  assert.deepEqual(tacticsOf(['attack.defense-evasion', 'attack.t1027']), ['defense-evasion']);
  assert.deepEqual(tacticsOf(['attack.defense_evasion']), ['defense-evasion']);
  assert.deepEqual(tacticsOf(['attack.stealth', 'attack.execution']), ['defense-evasion', 'execution']);
  assert.deepEqual(tacticsOf(['attack.defense-impairment']), ['defense-evasion']);
  assert.deepEqual(techniquesOf(['attack.t1059.001', 'attack.execution', 'cve.2021-1']), ['T1059.001']);
});

const EVENTS = [
  { host: 'h-contains', Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'cmd /c whoami /all' },
  { host: 'h-re', Image: 'C:\\Tools\\x.exe', CommandLine: 'line1\nSECRET=42' },
  { host: 'h-cidr4', Image: 'C:\\a.exe', DestinationIp: '10.1.2.3' },
  { host: 'h-cidr6', Image: 'C:\\a.exe', DestinationIp: 'fe80::1' },
  {
    host: 'h-b64',
    Image: 'C:\\p.exe',
    CommandLine: `powershell -e ${Buffer.from('  IEX (New-Object Net.WebClient)', 'utf16le').toString('base64')}`,
  },
  { host: 'h-dash', Image: 'C:\\p.exe', CommandLine: 'powershell \u2013enc AAAA' },
  { host: 'h-num', Image: 'C:\\n.exe', Count: 17, Other: 'C:\\n.exe' },
  { host: 'h-case', Image: 'C:\\CasE.exe', Tag: '%ADMIN%' },
];

const RULES = `
title: contains all
id: r-contains-all
logsource: {product: windows}
detection: {sel: {CommandLine|contains|all: ['WHOAMI', '/ALL']}, condition: sel}
level: high
tags: [attack.discovery]
---
title: re with flags
id: r-re
logsource: {product: windows}
detection: {sel: {CommandLine|re|i|m: '^secret=\\d+$'}, condition: sel}
---
title: cidr v4
id: r-cidr4
logsource: {product: windows}
detection: {sel: {DestinationIp|cidr: ['10.0.0.0/8', '192.168.0.0/16']}, condition: sel}
---
title: cidr v6
id: r-cidr6
logsource: {product: windows}
detection: {sel: {DestinationIp|cidr: 'fe80::/10'}, condition: sel}
---
title: wide base64offset
id: r-b64
logsource: {product: windows}
detection: {sel: {CommandLine|wide|base64offset|contains: 'IEX (New-Object'}, condition: sel}
---
title: windash
id: r-dash
logsource: {product: windows}
detection: {sel: {CommandLine|windash|contains: ' -enc '}, condition: sel}
---
title: numbers and fieldref
id: r-num
logsource: {product: windows}
detection: {sel: {Count|gte: 17, Count|lt: 18}, ref: {Image|fieldref: Other}, condition: sel and ref}
---
title: cased and neq and exists
id: r-case
logsource: {product: windows}
detection: {sel: {Image|cased|endswith: 'CasE.exe', Image|neq: 'x', Tag|exists: true, Missing|exists: false}, condition: sel}
---
title: cased misses
id: r-cased-miss
logsource: {product: windows}
detection: {sel: {Image|cased|endswith: 'case.exe'}, condition: sel}
---
title: expand without configuration matches nothing
id: r-expand
logsource: {product: windows}
detection: {sel: {Tag|expand: '%ADMIN%'}, condition: sel}
---
title: keywords search the whole event
id: r-keyword
logsource: {product: windows}
detection: {keywords: ['whoami'], condition: keywords}
---
title: not a filter keeps events without the field
id: r-not
logsource: {product: windows}
detection: {sel: {Image|endswith: '.exe'}, filter: {CommandLine|contains: 'cmd'}, condition: sel and not filter}
`;

test('Sigma modifiers against real events in a workspace', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  writeFileSync(
    join(dir, 'events.ndjson'),
    EVENTS.map((e, i) =>
      JSON.stringify({
        '@timestamp': `2026-01-01T00:00:0${i}Z`,
        EventID: 1,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Hostname: e.host,
        ...e,
      }),
    ).join('\n'),
  );
  await ingest(ws, [join(dir, 'events.ndjson')]);
  const { rules, problems } = parseSigmaFile({ path: 'inline.yml', text: RULES });
  assert.deepEqual(problems, []);
  assert.equal(rules[0].weight, 73, 'level high → 73');
  assert.equal(rules[0].phase, 'discovery');
  const report = await runRules(ws, rules);
  assert.deepEqual(report.skipped, []);
  const hits = await ws.query(
    "SELECT rule_id, list(DISTINCT entity ORDER BY entity) AS hosts FROM detections WHERE entity_type = 'host' GROUP BY rule_id ORDER BY rule_id",
  );
  assert.deepEqual(Object.fromEntries(hits.map((h) => [h.rule_id, h.hosts])), {
    'r-b64': ['h-b64'],
    'r-case': ['h-case'],
    'r-cidr4': ['h-cidr4'],
    'r-cidr6': ['h-cidr6'],
    'r-contains-all': ['h-contains'],
    'r-dash': ['h-dash'],
    'r-keyword': ['h-contains'],
    'r-num': ['h-num'],
    'r-re': ['h-re'],
    'r-not': ['h-b64', 'h-case', 'h-cidr4', 'h-cidr6', 'h-dash', 'h-num', 'h-re'],
  });
  // Running again over the same events adds nothing.
  assert.equal((await runRules(ws, rules)).inserted, 0);
  const [detail] = await ws.query(
    "SELECT details->>'CommandLine' AS cmd, event_ref FROM detections WHERE rule_id = 'r-contains-all' AND entity_type = 'host'",
  );
  assert.equal(detail.cmd, 'cmd /c whoami /all');
  assert.match(String(detail.event_ref), /^\d+:\d+$/);
});

test('unsupported Sigma features are skipped with their reason, not run half-way', () => {
  const { rules } = parseSigmaFile({
    path: 'x.yml',
    text: `
title: a
id: a
logsource: {product: linux, category: process_creation}
detection: {sel: {Image: x}, condition: sel}
---
title: b
id: b
logsource: {product: windows}
detection: {sel: {Image|nosuchmodifier: x}, condition: sel}
---
title: c
id: c
logsource: {product: windows}
detection: {sel: {DestinationIp|cidr: '2001:db8::/32'}, condition: sel}
---
title: d
id: d
logsource: {product: windows}
detection: {sel: {Image: x}, condition: sel and missing}
`,
  });
  const { skipped } = planRules(rules);
  assert.deepEqual(
    skipped.map((s) => [s.rule.id, s.reason]),
    [
      ['a', 'logsource not mapped'],
      ['b', 'unknown modifier'],
      ['c', 'IPv6 |cidr longer than /16 (other than /128)'],
      ['d', 'condition names an unknown search identifier'],
    ],
  );
});

test('|expand placeholders match the configured values, and nothing when unconfigured', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  writeFileSync(
    join(dir, 'e.ndjson'),
    JSON.stringify({
      '@timestamp': '2026-01-01T00:00:00Z',
      EventID: 1,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Hostname: 'admin-ws',
      Computer: 'admin-ws',
      Image: 'C:\\x.exe',
    }),
  );
  await ingest(ws, [join(dir, 'e.ndjson')]);
  const { rules } = parseSigmaFile({
    path: 'x.yml',
    text: "title: t\nid: exp\nlogsource: {product: windows}\ndetection: {sel: {Computer|expand: '%Admin_Workstations%'}, condition: sel}",
  });
  assert.equal((await runRules(ws, rules)).inserted, 0);
  assert.equal((await runRules(ws, rules, { placeholders: { Admin_Workstations: ['build-01', 'admin-ws'] } })).inserted, 1);
});

test('a |re pattern the engine cannot compile: lint says so with file and line; a run skips that rule only', async (t) => {
  const dir = tempDir(t);
  const ws = await Workspace.open(join(dir, 'test.duckdb'));
  t.after(() => ws.close());
  writeFileSync(
    join(dir, 'e.ndjson'),
    JSON.stringify({
      '@timestamp': '2026-01-01T00:00:00Z',
      EventID: 1,
      Channel: 'Microsoft-Windows-Sysmon/Operational',
      Computer: 'ws1',
      Image: 'C:\\evil.exe',
      User: 'bob',
    }),
  );
  await ingest(ws, [join(dir, 'e.ndjson')]);
  const rulesFile = join(dir, 'rules.yml');
  const rule = (id: string, re: string) =>
    `title: ${id}\nid: ${id}\nlevel: high\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {Image|re: '${re}'}, condition: sel}\n`;
  // Look-ahead: fine for JavaScript and Python, refused by RE2 (DuckDB's regex engine).
  writeFileSync(rulesFile, `${rule('good', 'evil\\.exe$')}---\n${rule('lookahead', '(?=.*evil).*\\.exe')}`);
  const { rules } = parseSigmaFile({ path: rulesFile, text: readFileSync(rulesFile, 'utf8') });
  const report = await runRules(ws, rules);
  assert.deepEqual(
    report.skipped.map((s) => [s.rule.id, s.reason]),
    [['lookahead', 'regex the engine cannot compile']],
  );
  assert.match(report.skipped[0].detail, /\(\?=\.\*evil\)/);
  assert.ok(report.inserted > 0);
  assert.deepEqual(
    await ws.query('SELECT DISTINCT rule_id FROM detections'),
    [{ rule_id: 'good' }],
    'the good rule in the same scan still ran',
  );
  ws.close();
  const lint = await cli('rules', 'lint', '--sigma', rulesFile, '--format', 'json');
  assert.equal(lint.code, 1, lint.stderr);
  const problems = JSON.parse(lint.stdout) as { severity: string; file: string; line: number | null; rule: string; message: string }[];
  assert.deepEqual(
    problems.map((p) => [p.severity, p.rule, p.file, p.line]),
    [['error', 'lookahead', rulesFile, 7]],
  );
  assert.match(problems[0].message, /cannot compile|invalid|perl/i);
  const run = await cli('rules', 'run', '--sigma', rulesFile, '--db', join(dir, 'test.duckdb'));
  assert.equal(run.code, 0, run.stderr);
});

test("SigmaHQ network rules over Zeek logs: product zeek dns/http and category dns read the dns and http tables by Zeek's field names; other Zeek services are skipped with the reason", async (t) => {
  const dir = tempDir(t);
  const header = (path: string, fields: string[], types: string[]) => [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    `#path\t${path}`,
    '#open\t2024-01-01-00-00-00',
    `#fields\t${fields.join('\t')}`,
    `#types\t${types.join('\t')}`,
  ];
  writeFileSync(
    join(dir, 'dns.log'),
    [
      ...header(
        'dns',
        ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'query', 'qtype_name', 'rcode_name', 'answers', 'Z'],
        ['time', 'string', 'addr', 'port', 'addr', 'port', 'enum', 'string', 'string', 'string', 'vector[string]', 'count'],
      ),
      '1704067200.0\tC1\t10.0.0.5\t53000\t10.0.0.1\t53\tudp\tpool.supportxmr.com\tA\tNOERROR\t1.2.3.4\t0',
      '1704067201.0\tC2\t10.0.0.5\t53001\t10.0.0.1\t53\tudp\twww.example.com\tA\tNOERROR\t5.6.7.8\t0',
      '#close\t2024-01-01-00-00-01',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'http.log'),
    [
      ...header(
        'http',
        [
          'ts',
          'uid',
          'id.orig_h',
          'id.orig_p',
          'id.resp_h',
          'id.resp_p',
          'method',
          'host',
          'uri',
          'user_agent',
          'status_code',
          'resp_mime_types',
        ],
        ['time', 'string', 'addr', 'port', 'addr', 'port', 'string', 'string', 'string', 'string', 'count', 'vector[string]'],
      ),
      '1704067202.0\tC3\t10.0.0.5\t50000\t203.0.113.9\t80\tGET\tfiles.example\t/webdav/tool.exe\tMicrosoft-WebDAV-MiniRedir/10.0\t200\tapplication/x-dosexec',
      '#close\t2024-01-01-00-00-03',
      '',
    ].join('\n'),
  );
  const ws = await openWorkspace(t, dir);
  await ingest(ws, [join(dir, 'dns.log'), join(dir, 'http.log')]);
  const { rules } = await loadRuleSources([], [testData('sigma', 'sigma-rules.tar.gz')]);
  const network = rules.filter((r) => r.file.includes('/network/zeek/') || r.file.includes('/network/dns/'));
  const report = await runRules(ws, network);
  const fired = await ws.query('SELECT DISTINCT rule FROM detections ORDER BY rule');
  assert.deepEqual(
    fired.map((r) => r.rule),
    ['DNS Events Related To Mining Pools', 'Executable from Webdav', 'Monero Crypto Coin Mining Pool Lookup'],
  );
  assert.ok(
    report.skipped.some(
      (s) => /zeek service (smb_files|dce_rpc|rdp|kerberos|x509)/.test(`${s.reason} ${s.detail}`) && /zeek_/.test(s.detail),
    ),
    'other Zeek services are skipped, saying why',
  );
});

test('rule anchors: the cheap necessary conditions the engine looks up before checking a rule', () => {
  // Image's file name is looked up exactly; the command-line substring would cost a search in
  // every event, so as a second clause it is left to the full check; the filter (under NOT) gives none.
  assert.deepEqual(
    detectionAnchors({
      sel: { 'Image|endswith': ['\\Rundll32.exe', '\\system32\\regsvr32.exe'], 'CommandLine|contains': 'javascript:' },
      filter: { User: 'SYSTEM' },
      condition: 'sel and not filter',
    }),
    [
      [
        { kind: 'base', field: 'Image', value: 'rundll32.exe' },
        { kind: 'base', field: 'Image', value: 'regsvr32.exe' },
      ],
    ],
  );
  // Two exact clauses both hold; alternatives (1 of) give one clause, the union; a keyword, the whole text.
  assert.deepEqual(detectionAnchors({ a: { EventID: 4688, OriginalFileName: 'PSEXESVC.exe' }, condition: 'a' }), [
    [{ kind: 'eq', field: 'EventID', value: '4688' }],
    [{ kind: 'eq', field: 'OriginalFileName', value: 'psexesvc.exe' }],
  ]);
  assert.deepEqual(detectionAnchors({ s1: { 'CommandLine|contains': '-EncodedCommand' }, s2: ['Invoke-Mimikatz'], condition: '1 of s*' }), [
    [
      { kind: 'has', field: 'CommandLine', value: '-encodedcommand' },
      { kind: 'has', field: null, value: 'invoke-mimikatz' },
    ],
  ]);
  // Wildcards: the longest literal run; too short a needle, or a regex, or a bare NOT: no anchor, checked against every event.
  // (Sigma escapes a wildcard with \\, so a path's backslash before * is written twice.)
  assert.deepEqual(detectionAnchors({ s: { TargetFilename: 'C:\\Users\\\\*\\Start Menu\\\\*.lnk' }, condition: 's' }), [
    [{ kind: 'has', field: 'TargetFilename', value: '\\start menu\\' }],
  ]);
  assert.deepEqual(detectionAnchors({ s: { 'Image|endswith': '\\Temp\\\\*\\evil.exe' }, condition: 's' }), [
    [{ kind: 'base', field: 'Image', value: 'evil.exe' }],
  ]);
  assert.deepEqual(detectionAnchors({ s: { 'CommandLine|re': 'a.*b' }, condition: 's' }), []);
  assert.deepEqual(detectionAnchors({ s: { User: 'x' }, condition: 'not s' }), []);
});

test('parsed Sigma rule sets are cached on disk by content: a hit gives the same rules, a changed file or a corrupt entry is parsed again', async (t) => {
  const dir = tempDir(t);
  const previous = process.env.HUNTBOOK_CACHE;
  process.env.HUNTBOOK_CACHE = join(dir, 'cache');
  t.after(() => (previous === undefined ? delete process.env.HUNTBOOK_CACHE : (process.env.HUNTBOOK_CACHE = previous)));
  const { loadSigma } = await import('../src/rules/sigma/load.ts');
  const tarball = testData('sigma', 'sigma-rules.tar.gz');
  const fresh = await loadSigma(tarball);
  // Only JSON values in a parsed rule: what the cache stores is what the parser made.
  const plain = (v: unknown): boolean =>
    v === null ||
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v)) ||
    (Array.isArray(v) && v.every(plain)) ||
    (typeof v === 'object' &&
      Object.getPrototypeOf(v) === Object.prototype &&
      Object.values(v as object).every((x) => x === undefined || plain(x)));
  assert.ok(fresh.rules.every(plain), 'every parsed rule is plain JSON data');
  const entries = (await import('node:fs'))
    .readdirSync(join(dir, 'cache'))
    .filter((f) => f.startsWith('sigma-') && !f.startsWith('sigma-file-'));
  assert.equal(entries.length, 1, 'the first load writes one entry');
  // …and, for an archive or a file, where it was (path, size, time), so an unchanged one is not unpacked again.
  assert.equal((await import('node:fs')).readdirSync(join(dir, 'cache')).filter((f) => f.startsWith('sigma-file-')).length, 1);
  const started = performance.now();
  const cached = await loadSigma(tarball);
  const hitMs = performance.now() - started;
  assert.equal(JSON.stringify(cached.rules), JSON.stringify(fresh.rules));
  assert.deepEqual(cached.problems, fresh.problems);
  assert.equal(cached.rules.length, 3780);
  assert.ok(hitMs < 2000, `a hit reads JSON, it does not parse YAML (${hitMs.toFixed(0)} ms)`);
  // A folder with one rule, then the same rule edited: a miss, and the new text is what loads.
  const folder = join(dir, 'rules');
  (await import('node:fs')).mkdirSync(folder);
  const rule = (level: string) =>
    `title: t\nid: 11111111-1111-1111-1111-111111111111\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {Image|endswith: '\\\\x.exe'}, condition: sel}\nlevel: ${level}\n`;
  writeFileSync(join(folder, 'r.yml'), rule('low'));
  assert.equal((await loadSigma(folder)).rules[0].level, 'low');
  writeFileSync(join(folder, 'r.yml'), rule('critical'));
  assert.equal((await loadSigma(folder)).rules[0].level, 'critical');
  // One file, rewritten (a new time): the new text is what loads, not the parse its old time points at.
  const single = join(dir, 'one.yml');
  writeFileSync(single, rule('low'));
  assert.equal((await loadSigma(single)).rules[0].level, 'low');
  writeFileSync(single, rule('high'));
  (await import('node:fs')).utimesSync(single, new Date(Date.now() + 5000), new Date(Date.now() + 5000));
  assert.equal((await loadSigma(single)).rules[0].level, 'high');
  // A corrupt entry is read as a miss and written again.
  for (const f of (await import('node:fs')).readdirSync(join(dir, 'cache'))) writeFileSync(join(dir, 'cache', f), '{"rules": [');
  assert.equal((await loadSigma(folder)).rules[0].level, 'critical');
  assert.equal((await loadSigma(tarball)).rules.length, 3780);
});

test("rule plans are cached on disk by the rules and the planner's code: the same plan, skips and anchors as planning afresh", async (t) => {
  const dir = tempDir(t);
  const previous = process.env.HUNTBOOK_CACHE;
  t.after(() => (previous === undefined ? delete process.env.HUNTBOOK_CACHE : (process.env.HUNTBOOK_CACHE = previous)));
  const { loadSigma } = await import('../src/rules/sigma/load.ts');
  const { knownAnchors } = await import('../src/rules/scan.ts');
  const tarball = testData('sigma', 'sigma-rules.tar.gz');
  // Fresh rule objects each time, so nothing comes from the in-process caches.
  const plan = async () => {
    const { rules } = await loadSigma(tarball);
    const { planned, skipped } = planRules(rules);
    return JSON.stringify({
      planned: planned.map((p) => [
        p.rule.id,
        p.source.group,
        p.regexes,
        knownAnchors.get(p.rule) ?? detectionAnchors(p.rule.detection ?? {}),
      ]),
      skipped: skipped.map((s) => [s.rule.id, s.reason, s.detail]),
    });
  };
  process.env.HUNTBOOK_CACHE = 'off';
  const afresh = await plan();
  process.env.HUNTBOOK_CACHE = join(dir, 'cache');
  assert.equal(await plan(), afresh, 'the run that writes the cache');
  const { readdirSync } = await import('node:fs');
  const entry = readdirSync(join(dir, 'cache')).find((f) => f.startsWith('plan-'));
  assert.ok(entry, 'a plan entry was written');
  assert.equal(await plan(), afresh, 'the run that reads it');
  writeFileSync(join(dir, 'cache', entry), '[{"regexes": 3}]');
  assert.equal(await plan(), afresh, 'a corrupt entry is planned again');
});

test("the tests keep their cache in a folder of their own, never the user's", () => {
  const dir = process.env.HUNTBOOK_CACHE ?? '';
  assert.ok(dir.startsWith(tmpdir()) && dir.includes('huntbook-test-cache'), dir);
  assert.equal(cacheDir(), dir);
});
