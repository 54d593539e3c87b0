import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DuckDBValue } from '@duckdb/node-api';
import { generate } from '../src/generate/generate.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { DEFAULT_FLOW, defaultScored, type ScoredParams } from '../src/hunts/beacons/params.ts';
import { flowHunt, scoredHunt } from '../src/hunts/beacons/seed-hunts.ts';
import { scoredSql } from '../src/hunts/beacons/scored.ts';
import { holds, multiplierSql } from '../src/model/tiers.ts';
import { openWorkspace, tempDir } from './helpers.ts';

const PROXY = [
  '_time,src_ip,user,dest,dest_ip,url,bytes_out,bytes_in',
  // evil.example: one user, 6 events in 3 hours, sizes 100 ×4 (answers 50, 50, 60, 50) and 200 ×2 (70, 70), urls /a ×5, /b ×1
  '2026-01-05T09:00:00Z,10.0.0.1,u1,evil.example,1.1.1.1,/a,100,50',
  '2026-01-05T09:30:00Z,10.0.0.1,u1,evil.example,1.1.1.1,/a,100,50',
  '2026-01-05T10:00:00Z,10.0.0.1,u1,evil.example,1.1.1.1,/a,100,60',
  '2026-01-05T10:30:00Z,10.0.0.1,u1,evil.example,1.1.1.1,/a,100,50',
  '2026-01-05T11:00:00Z,10.0.0.1,u1,evil.example,1.1.1.1,/a,200,70',
  '2026-01-05T11:30:00Z,10.0.0.1,u1,evil.example,1.1.1.1,/b,200,70',
  // popular.example: three users → login_count 3, dropped by login_count < 3
  '2026-01-05T09:00:00Z,10.0.0.1,u1,popular.example,2.2.2.2,/,400,9000',
  '2026-01-05T09:01:00Z,10.0.0.2,u2,popular.example,2.2.2.2,/,400,9000',
  '2026-01-05T09:02:00Z,10.0.0.3,u3,popular.example,2.2.2.2,/,400,9000',
  // rare.example: two events of 300 bytes (answers 10, 20) in one hour
  '2026-01-05T12:00:00Z,10.0.0.2,u2,rare.example,3.3.3.3,/x,300,10',
  '2026-01-05T12:10:00Z,10.0.0.2,u2,rare.example,3.3.3.3,/x,300,20',
  // single.example: one connection → t_bytecount 1, dropped by t_bytecount > 1
  '2026-01-05T13:00:00Z,10.0.0.3,u3,single.example,4.4.4.4,/y,80,5',
];

test("scored mode: every field of the seed's search on a hand-checked input", async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  writeFileSync(join(dir, 'proxy.csv'), `${PROXY.join('\n')}\n`);
  await ingest(ws, [join(dir, 'proxy.csv')]);
  // Tiers loosened so that every multiplier fires on this small input; the arithmetic is the seed's.
  const params: ScoredParams = {
    ...defaultScored(),
    minWeight: -1,
    multipliers: defaultScored().multipliers.map((m) => ({
      ...m,
      tiers:
        (
          {
            evtmult: [{ conditions: [{ when: 'gt', value: 5 }], weight: 50 }],
            beaconmult: [{ conditions: [{ when: 'gt', value: 1 }], weight: 100 }],
            urlmult: [{ conditions: [{ when: 'lt', value: 0.4 }], weight: 100 }],
            timemult: [{ conditions: [{ when: 'gt', value: 2 }], weight: 100 }],
          } as Record<string, ScoredParams['multipliers'][number]['tiers']>
        )[m.name] ?? m.tiers,
    })),
  };
  const out = await scoredHunt(ws, { table: 'http', params, model: 'iforest', topFraction: 1, seed: 1, all: true });
  const byDest = Object.fromEntries(out.rows.map((r) => [r.dest, r]));
  assert.deepEqual(Object.keys(byDest).sort(), ['evil.example', 'rare.example']);
  // o_average = mean i_bytecount over the three kept (src, dest, bytes_out) rows = (4 + 2 + 2)/3
  const oAverage = 8 / 3;
  const pick = (r: Record<string, unknown>) =>
    Object.fromEntries(
      [
        'src_ip',
        'dest_ip',
        'bytes_out',
        'distinct_url_count',
        'distinct_event_count',
        'i_bytecount',
        'distinct_byte_count',
        'avgcount',
        't_bytecount',
        'incount',
        'login_count',
        'time_count',
        'o_average',
        'above',
        'avgurl',
        'usermult',
        'evtmult',
        'beaconmult',
        'urlmult',
        'timemult',
        'addedweight',
      ].map((k) => [k, r[k]]),
    );
  assert.deepEqual(pick(byDest['evil.example']), {
    // dedup dest keeps the first row in (src_ip, dest_ip, bytes_out) order: the 100-byte one
    src_ip: '10.0.0.1',
    dest_ip: '1.1.1.1',
    bytes_out: 100,
    distinct_url_count: 2,
    distinct_event_count: 6,
    i_bytecount: 4,
    distinct_byte_count: 2,
    avgcount: 4 / 6,
    t_bytecount: 6,
    incount: 2,
    login_count: 1,
    time_count: 3,
    o_average: oAverage,
    above: 4 / oAverage,
    avgurl: 2 / 6,
    // 100 (one user) + 50 (6 events > 5) + 100 (above 1.5 > 1) + 100 (avgurl 0.333 < 0.4) + 100 (3 hours > 2)
    usermult: 100,
    evtmult: 50,
    beaconmult: 100,
    urlmult: 100,
    timemult: 100,
    addedweight: 450,
  });
  assert.deepEqual(pick(byDest['rare.example']), {
    src_ip: '10.0.0.2',
    dest_ip: '3.3.3.3',
    bytes_out: 300,
    distinct_url_count: 1,
    distinct_event_count: 2,
    i_bytecount: 2,
    distinct_byte_count: 1,
    avgcount: 1,
    t_bytecount: 2,
    incount: 2,
    login_count: 1,
    time_count: 1,
    o_average: oAverage,
    above: 2 / oAverage,
    avgurl: 0.5,
    usermult: 100,
    evtmult: 0,
    beaconmult: 0,
    urlmult: 0,
    timemult: 0,
    addedweight: 100,
  });
  assert.match(
    String(byDest['evil.example'].reasons),
    /usermult \+100 \(login_count 1 = 1\); evtmult \+50 \(distinct_event_count 6 > 5\); beaconmult \+100 \(above 1\.500 > 1\)/,
  );

  // The seed's threshold addedweight > 250 keeps evil.example only; the run and its rows are recorded.
  const kept = await scoredHunt(ws, {
    table: 'http',
    params: { ...params, minWeight: 250 },
    model: 'iforest',
    topFraction: 1,
    seed: 1,
    all: true,
  });
  assert.deepEqual(
    kept.rows.map((r) => r.dest),
    ['evil.example'],
  );
  const runs = await ws.query("SELECT hunt, result_count FROM hunt_runs WHERE hunt = 'beacons.scored' ORDER BY run_id");
  assert.deepEqual(runs, [
    { hunt: 'beacons.scored', result_count: 2 },
    { hunt: 'beacons.scored', result_count: 1 },
  ]);
});

test("default tiers are the seed's evident intent: highest tier first, no gaps (SQL and JS agree)", async (t) => {
  const ws = await openWorkspace(t);
  const cases: [string, number, number][] = [
    ['evtmult', 60, 0],
    ['evtmult', 61, 50],
    ['evtmult', 300, 50],
    ['evtmult', 301, 100],
    ['beaconmult', 5, 0],
    ['beaconmult', 5.01, 100],
    ['beaconmult', 100, 100],
    ['beaconmult', 100.5, 200],
    ['urlmult', 0.04, 100],
    ['urlmult', 0.05, 0],
    ['urlmult', 0.055, 0],
    ['urlmult', 0.945, 0],
    ['urlmult', 0.95, 0],
    ['urlmult', 0.951, 100],
    ['usermult', 1, 100],
    ['usermult', 2, 50],
    ['usermult', 3, 0],
    ['timemult', 7, 0],
    ['timemult', 8, 100],
  ];
  for (const [name, value, weight] of cases) {
    const m = defaultScored().multipliers.find((x) => x.name === name)!;
    assert.equal(m.tiers.find((tier) => holds(tier, value))?.weight ?? 0, weight, `${name}(${value}) in JS`);
    const params: DuckDBValue[] = [value];
    const sql = multiplierSql(
      m,
      (v) => {
        params.push(v);
        return `$${params.length}`;
      },
      [m.metric],
    );
    assert.equal(await ws.scalar(`SELECT ${sql} FROM (SELECT $1::DOUBLE AS ${m.metric})`, params), weight, `${name}(${value}) in SQL`);
  }
});

test("a tier's metric is a column name: one that is not a feature of the hunt is refused before it reaches SQL", () => {
  const hostile = {
    name: 'evtmult',
    metric: 'distinct_event_count); DROP TABLE flows; --',
    tiers: [{ conditions: [{ when: 'gt' as const, value: 1 }], weight: 1 }],
  };
  assert.throws(
    () => multiplierSql(hostile, () => '?', ['distinct_event_count']),
    /multiplier evtmult: "distinct_event_count\); DROP TABLE flows; --" is not a feature of this hunt/,
  );
  assert.throws(() => scoredSql({ table: 'http' }, { ...defaultScored(), multipliers: [hostile] }), /is not a feature of this hunt/);
  assert.throws(
    () => scoredSql({ table: 'http' }, { ...defaultScored(), multipliers: [{ ...defaultScored().multipliers[0], name: 'x; DROP' }] }),
    /unknown multiplier "x; DROP"/,
  );
});

test("flow mode: every field of the seed's first search on a hand-checked input", async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  writeFileSync(
    join(dir, 'flows.csv'),
    [
      'ts,src_ip,dest_ip,dest_port,bytes_out,bytes_in,user',
      '1767600000,10.0.0.1,1.1.1.1,443,100,10,alice',
      '1767600060,10.0.0.1,1.1.1.1,443,100,10,alice',
      '1767600120,10.0.0.1,1.1.1.1,443,100,20,bob',
      '1767600180,10.0.0.1,1.1.1.1,443,150,30,alice',
      '1767600000,10.0.0.2,2.2.2.2,80,500,40,',
      '1767600100,10.0.0.2,2.2.2.2,80,500,40,',
      '1767600200,10.0.0.2,2.2.2.2,22,500,40,', // not on 80/443: left out
    ].join('\n'),
  );
  await ingest(ws, [join(dir, 'flows.csv')]);
  const out = await flowHunt(ws, { params: DEFAULT_FLOW });
  // overall_average = mean beacon_count over the three rows = (3 + 1 + 2)/3 = 2
  assert.deepEqual(
    out.rows.map(({ rank, ...r }) => r),
    [
      {
        src_ip: '10.0.0.1',
        dest_ip: '1.1.1.1',
        bytes_out: 100,
        beacon_count: 3,
        beacon_avg: 0.75,
        beacon_percentage: 1.5,
        overall_average: 2,
        unique_count: 2,
        total_count: 4,
        incount: 2,
        login_count: 2,
      },
      {
        src_ip: '10.0.0.2',
        dest_ip: '2.2.2.2',
        bytes_out: 500,
        beacon_count: 2,
        beacon_avg: 1,
        beacon_percentage: 1,
        overall_average: 2,
        unique_count: 1,
        total_count: 2,
        incount: 1,
        login_count: 0,
      },
      {
        src_ip: '10.0.0.1',
        dest_ip: '1.1.1.1',
        bytes_out: 150,
        beacon_count: 1,
        beacon_avg: 0.25,
        beacon_percentage: 0.5,
        overall_average: 2,
        unique_count: 2,
        total_count: 4,
        incount: 1,
        login_count: 2,
      },
    ],
  );
  // Which bytes: payload sent, said so (the timing hunt's sizes are IP bytes where Zeek counts them).
  const why = await ws.query('SELECT CAST(reasons->>0 AS VARCHAR) AS r FROM results WHERE run_id = $1 AND rank = 1', [out.runId]);
  assert.match(String(why[0].r), /^3 connections of exactly 100 payload bytes sent \(bytes_out, no IP or TCP headers\)/);
  const filtered = await flowHunt(ws, { params: { ...DEFAULT_FLOW, minPercentage: 0.9 } });
  assert.deepEqual(
    filtered.rows.map((r) => r.bytes_out),
    [100, 500],
  );
});

test('scored mode on unchanged data ranks the same run after run: history holds one entry per pair per period', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'data');
  generate({ seed: 3, users: 20, days: 3, out });
  const ws = await openWorkspace(t, dir);
  await ingest(ws, [out]);
  const run = (extra: { since?: string; until?: string } = {}) =>
    scoredHunt(ws, { table: 'http', params: defaultScored(), model: 'iforest', topFraction: 1, seed: 1, all: true, ...extra });
  const first = await run();
  const second = await run();
  const third = await run();
  const view = (o: typeof first) => o.rows.map((r) => [r.rank, r.src_ip, r.dest, r.iforest_score]);
  assert.ok(first.rows.length > 10);
  assert.deepEqual(view(second), view(first), 'a second run on the same data ranks the same');
  assert.deepEqual(view(third), view(first));
  assert.doesNotMatch(third.notes[0], /earlier periods/, 'runs over the same period are not history of each other');
  // Another period (the first day) is history once, however often either is run.
  const [span] = await ws.query('SELECT CAST(min(ts)::DATE AS VARCHAR) AS d FROM http');
  const day1 = { since: String(span.d), until: `${String(span.d)} 23:59:59` };
  await run(day1);
  await run(day1);
  const withHistory = await run();
  const again = await run();
  const pairsOfDay1 = Number(
    await ws.scalar(
      `SELECT count(*) FROM results WHERE run_id = (SELECT max(run_id) FROM hunt_runs WHERE hunt = 'beacons.scored' AND window_end < (SELECT max(ts) FROM http))`,
    ),
  );
  assert.match(withHistory.notes[0], new RegExp(`with ${pairsOfDay1} pairs from earlier periods`));
  assert.deepEqual(view(again), view(withHistory));
});
