/**
 * Sigma correlation rules, with the specification's own examples (v2.0.0, "Correlation Types"
 * and "Failed Logins Followed by Successful Login"), over hand-made Windows events whose right
 * answers are worked out in the comments.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ingest } from '../src/ingest/ingest.ts';
import { planRules, runRules } from '../src/rules/engine.ts';
import { parseSigmaFile } from '../src/rules/sigma/load.ts';
import type { Workspace } from '../src/store/workspace.ts';
import { openWorkspace, tempDir } from './helpers.ts';

interface Ev {
  at: string;
  EventID: number;
  Channel?: string;
  [field: string]: unknown;
}

async function workspaceWith(t: { after: (fn: () => void) => void }, events: Ev[]): Promise<Workspace> {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  writeFileSync(
    join(dir, 'security.ndjson'),
    events.map(({ at, ...e }) => JSON.stringify({ '@timestamp': `2026-03-01T${at}Z`, Channel: 'Security', ...e })).join('\n'),
  );
  await ingest(ws, [join(dir, 'security.ndjson')]);
  return ws;
}

/** `n` events of `event` every `stepSeconds` from `start` (HH:MM:SS). */
function every(n: number, start: string, stepSeconds: number, event: Omit<Ev, 'at'>): Ev[] {
  const [h, m, s] = start.split(':').map(Number);
  return Array.from({ length: n }, (_, i) => {
    const t = h * 3600 + m * 60 + s + i * stepSeconds;
    const at = [Math.floor(t / 3600), Math.floor(t / 60) % 60, t % 60].map((x) => String(x).padStart(2, '0')).join(':');
    return { at, ...event } as Ev;
  });
}

// The specification's closing example, as published (one multi-document file).
const BRUTE_FORCE = `
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
description: Detects multiple failed logins by a single user followed by a successful login of that user
author: Florian Roth (Nextron Systems)
date: 2023-06-16
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
falsepositives:
    - Unlikely
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
description: Detects multiple failed logins within a certain amount of time
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
description: Detects a successful login
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
`;

const fail = (user: string) => ({ EventID: 4625, User: user, TargetUserName: user, Hostname: 'dc1' });
const success = (user: string) => ({ EventID: 4624, User: user, TargetUserName: user, Hostname: 'dc1' });

test("temporal_ordered over an event_count (the specification's brute-force example): only failures then a success within 10m fire", async (t) => {
  const ws = await workspaceWith(t, [
    // alice: 12 failures 30 s apart from 01:00:00 (the 10th at 01:04:30), success at 01:06:00 → fires.
    ...every(12, '01:00:00', 30, fail('alice')),
    { at: '01:06:00', ...success('alice') },
    // bob: the same failures, but the success 30 minutes after the 10th → no.
    ...every(12, '02:00:00', 30, fail('bob')),
    { at: '02:34:30', ...success('bob') },
    // carol: 5 failures then a success → never "multiple" → no.
    ...every(5, '03:00:00', 30, fail('carol')),
    { at: '03:03:00', ...success('carol') },
    // dave: a success first, then 12 failures → wrong order → no.
    { at: '04:00:00', ...success('dave') },
    ...every(12, '04:00:30', 30, fail('dave')),
  ]);
  const { rules, problems } = parseSigmaFile({ path: 'brute.yml', text: BRUTE_FORCE });
  assert.deepEqual(problems, []);
  assert.equal(rules.length, 4);
  const report = await runRules(ws, rules);
  assert.deepEqual(report.skipped, []);
  const rows = await ws.query(
    "SELECT rule_id, entity, ts, weight, details->>'User' AS grp, details->'correlation'->>'type' AS type FROM detections WHERE entity_type = 'user' ORDER BY ts",
  );
  assert.deepEqual(rows, [
    {
      rule_id: 'b180ead8-d58f-40b2-ae54-c8940995b9b6',
      entity: 'alice',
      ts: '2026-03-01 01:06:00',
      weight: 73,
      grp: 'alice',
      type: 'temporal_ordered',
    },
  ]);
  // generate is absent: the rules it reads are not detections of their own.
  assert.equal(Number(await ws.scalar("SELECT count(*) FROM detections WHERE rule_id <> 'b180ead8-d58f-40b2-ae54-c8940995b9b6'")), 0);
  // Running again adds nothing.
  assert.equal((await runRules(ws, rules)).inserted, 0);
});

test('event_count fires once per episode, at the event that reaches the count; generate: true keeps the rule it reads', async (t) => {
  const ws = await workspaceWith(t, [
    ...every(12, '01:00:00', 30, fail('alice')), // the 10th failure (01:04:30) reaches 10 in 10m; the 11th and 12th do not fire again
    ...every(9, '02:00:00', 30, fail('bob')), // 9 only
    ...every(10, '03:00:00', 120, fail('erin')), // 10 failures over 18 minutes: never 10 within 10m
  ]);
  const text = `${BRUTE_FORCE.split('---').slice(1, 3).join('---').replace('name: multiple_failed_login', 'name: multiple_failed_login\nlevel: medium\ngenerate: true')}`;
  const { rules, problems } = parseSigmaFile({ path: 'count.yml', text });
  assert.deepEqual(problems, []);
  await runRules(ws, rules);
  const fired = await ws.query(
    "SELECT entity, ts, (details->'correlation'->>'count')::INT AS n, weight FROM detections WHERE rule_id = 'a8418a5a-5fc4-46b5-b23b-6c73beb19d41' AND entity_type = 'user'",
  );
  assert.deepEqual(fired, [{ entity: 'alice', ts: '2026-03-01 01:04:30', n: 10, weight: 47 }]);
  assert.equal(
    Number(await ws.scalar("SELECT count(DISTINCT event_ref) FROM detections WHERE rule_id = '53ba33fd-3a50-4468-a5ef-c583635cfa92'")),
    31,
    'generate: true → every failure is a detection too',
  );
});

test("value_count: distinct users per ComputerName and WorkstationName in a day (the specification's example, threshold 3)", async (t) => {
  const logon = (host: string, ws: string, user: string) => ({
    EventID: 4625,
    ComputerName: host,
    WorkstationName: ws,
    User: user,
    Hostname: host,
  });
  const ws = await workspaceWith(t, [
    { at: '01:00:00', ...logon('srv1', 'kiosk', 'u1') },
    { at: '05:00:00', ...logon('srv1', 'kiosk', 'u2') },
    { at: '09:00:00', ...logon('srv1', 'kiosk', 'u2') },
    { at: '13:00:00', ...logon('srv1', 'kiosk', 'u3') }, // third distinct user → fires at 13:00
    { at: '14:00:00', ...logon('srv1', 'kiosk', 'u4') }, // still ≥ 3: same episode, no second detection
    ...every(6, '01:00:00', 60, logon('srv2', 'laptop', 'same')), // one user six times → no
    { at: '01:00:00', ...logon('srv3', 'a', 'u1') },
    { at: '02:00:00', ...logon('srv3', 'b', 'u2') },
    { at: '03:00:00', ...logon('srv3', 'c', 'u3') }, // three workstations: three groups of one → no
  ]);
  const { rules, problems } = parseSigmaFile({
    path: 'vc.yml',
    text: `
title: Failed login
id: 0e95725d-7320-415d-80f7-004da920fc12
correlation:
    type: value_count
    rules:
        - 5638f7c0-ac70-491d-8465-2a65075e0d86
    group-by:
        - ComputerName
        - WorkstationName
    timespan: 1d
    condition:
        field: User
        gte: 3
level: high
---
title: failed logon
id: 5638f7c0-ac70-491d-8465-2a65075e0d86
logsource: {product: windows, service: security}
detection: {selection: {EventID: 4625}, condition: selection}
`,
  });
  assert.deepEqual(problems, []);
  await runRules(ws, rules);
  const fired = await ws.query(
    "SELECT entity, ts, details->>'ComputerName' AS host, details->>'WorkstationName' AS ws, (details->'correlation'->>'count')::INT AS n FROM detections WHERE entity_type = 'host'",
  );
  assert.deepEqual(fired, [{ entity: 'srv1', ts: '2026-03-01 13:00:00', host: 'srv1', ws: 'kiosk', n: 3 }]);
});

test("temporal: three recon rules in any order within 5m on one host by one user (the specification's example)", async (t) => {
  const cmd = (host: string, user: string, line: string) => ({
    EventID: 1,
    Channel: 'Microsoft-Windows-Sysmon/Operational',
    ComputerName: host,
    User: user,
    CommandLine: line,
    Hostname: host,
  });
  const ws = await workspaceWith(t, [
    { at: '01:00:00', ...cmd('h1', 'eve', 'ipconfig /all') },
    { at: '01:01:00', ...cmd('h1', 'eve', 'whoami') },
    { at: '01:02:00', ...cmd('h1', 'eve', 'net user') }, // all three, any order → fires at 01:02
    { at: '01:00:00', ...cmd('h2', 'eve', 'whoami') },
    { at: '01:01:00', ...cmd('h2', 'eve', 'net user') }, // two of three → no
    { at: '01:00:00', ...cmd('h3', 'eve', 'whoami') },
    { at: '01:10:00', ...cmd('h3', 'eve', 'net user') },
    { at: '01:20:00', ...cmd('h3', 'eve', 'ipconfig') }, // 20 minutes → no
    { at: '01:00:00', ...cmd('h4', 'eve', 'whoami') },
    { at: '01:01:00', ...cmd('h4', 'mal', 'net user') },
    { at: '01:02:00', ...cmd('h4', 'eve', 'ipconfig') }, // two users → no
  ]);
  const recon = (name: string, needle: string) => `---
title: ${name}
id: ${name}
name: ${name}
logsource: {product: windows, category: process_creation}
detection: {selection: {CommandLine|startswith: '${needle}'}, condition: selection}
`;
  const { rules, problems } = parseSigmaFile({
    path: 'recon.yml',
    text: `
title: Recon burst
id: recon-burst
correlation:
  type: temporal
  rules: [recon_cmd_a, recon_cmd_b, recon_cmd_c]
  group-by: [ComputerName, User]
  timespan: 5m
level: critical
tags: [attack.discovery]
${recon('recon_cmd_a', 'whoami')}${recon('recon_cmd_b', 'net user')}${recon('recon_cmd_c', 'ipconfig')}`,
  });
  assert.deepEqual(problems, []);
  await runRules(ws, rules);
  const fired = await ws.query("SELECT entity, ts, phase, weight FROM detections WHERE entity_type = 'host' ORDER BY ts");
  assert.deepEqual(fired, [{ entity: 'h1', ts: '2026-03-01 01:02:00', phase: 'discovery', weight: 99 }]);
});

test('correlation problems are named: bad timespan, missing condition field, unknown rule, a cycle', () => {
  const { problems } = parseSigmaFile({
    path: 'bad.yml',
    text: `
title: a
id: a
correlation: {type: event_count, rules: [x], group-by: [User], timespan: 1 hour, condition: {gte: 2}}
---
title: b
id: b
correlation: {type: value_count, rules: [x], group-by: [User], timespan: 1h, condition: {gte: 2}}
---
title: c
id: c
correlation: {type: event_sum, rules: [x], timespan: 1h}
`,
  });
  assert.deepEqual(
    problems.map((p) => [p.rule, p.message]),
    [
      ['a', 'correlation: timespan "1 hour" must be a number and one of s, m, h, d (e.g. 90m)'],
      ['b', 'correlation: value_count needs condition.field, the field whose distinct values are counted'],
      ['c', 'correlation: type "event_sum" is not one of event_count, value_count, temporal, temporal_ordered'],
    ],
  );
  const { rules } = parseSigmaFile({
    path: 'refs.yml',
    text: `
title: d
id: d
correlation: {type: event_count, rules: [nowhere], group-by: [User], timespan: 1h, condition: {gte: 2}}
---
title: e
id: e
name: e
correlation: {type: temporal, rules: [f], group-by: [User], timespan: 1h}
---
title: f
id: f
name: f
correlation: {type: temporal, rules: [e], group-by: [User], timespan: 1h}
`,
  });
  const { skipped } = planRules(rules);
  assert.deepEqual(skipped.map((s) => [s.rule.id, s.reason]).sort(), [
    ['d', 'correlation refers to a rule that is not loaded or cannot run'],
    ['e', 'correlation rules refer to each other in a cycle'],
    ['f', 'correlation reads a correlation that cannot run'],
  ]);
});
