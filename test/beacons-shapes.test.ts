/**
 * Beacon hunting on the shapes real exports take: ssl.log or http.log without conn.log, a C2
 * address that also saw one HTTP request, several days of data, and nothing left after filtering.
 * Each log is written here as Zeek TSV, so every expected figure can be read off the test.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { timingHunt, type TimingOptions } from '../src/hunts/beacons/timing.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { cli, openWorkspace, tempDir } from './helpers.ts';

const T0 = 1_700_000_000; // 2023-11-14 22:13:20 UTC

function zeek(path: string, fields: [string, string][], rows: (string | number)[][]): string {
  return `${[
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    `#path\t${path}`,
    `#fields\t${fields.map((f) => f[0]).join('\t')}`,
    `#types\t${fields.map((f) => f[1]).join('\t')}`,
    ...rows.map((r) => r.join('\t')),
  ].join('\n')}\n`;
}

const CONN: [string, string][] = [
  ['ts', 'time'],
  ['uid', 'string'],
  ['id.orig_h', 'addr'],
  ['id.orig_p', 'port'],
  ['id.resp_h', 'addr'],
  ['id.resp_p', 'port'],
  ['proto', 'enum'],
  ['orig_ip_bytes', 'count'],
];
const HTTP: [string, string][] = [
  ['ts', 'time'],
  ['uid', 'string'],
  ['id.orig_h', 'addr'],
  ['id.orig_p', 'port'],
  ['id.resp_h', 'addr'],
  ['id.resp_p', 'port'],
  ['method', 'string'],
  ['host', 'string'],
  ['request_body_len', 'count'],
];
const SSL: [string, string][] = [
  ['ts', 'time'],
  ['uid', 'string'],
  ['id.orig_h', 'addr'],
  ['id.orig_p', 'port'],
  ['id.resp_h', 'addr'],
  ['id.resp_p', 'port'],
  ['server_name', 'string'],
];

function options(extra: Partial<TimingOptions> = {}): TimingOptions {
  const c = loadConfig();
  return {
    params: {
      internal: c.networks.internal,
      allow: c.beacons.allow,
      tolerance: c.beacons.jitterTolerance,
      minHostsForPrevalence: c.beacons.prevalenceMinHosts,
      strobeRecords: c.beacons.strobeRecords,
    },
    top: 20,
    ...extra,
  };
}

test('one HTTP request to a C2 address does not hide its 283 TLS beacon connections (no SNI)', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const conn: (string | number)[][] = [];
  for (let i = 0; i < 283; i++) conn.push([`${T0 + i * 300}.1`, `Ctls${i}`, '10.0.0.5', 50000 + i, '203.0.113.66', 443, 'tcp', 540]);
  conn.push([`${T0 + 1000}.5`, 'Cget', '10.0.0.5', 49999, '203.0.113.66', 8080, 'tcp', 310]);
  writeFileSync(join(dir, 'conn.log'), zeek('conn', CONN, conn));
  writeFileSync(
    join(dir, 'http.log'),
    zeek('http', HTTP, [[`${T0 + 1000}.6`, 'Cget', '10.0.0.5', 49999, '203.0.113.66', 8080, 'GET', '203.0.113.66:8080', 0]]),
  );
  await ingest(ws, [dir]);
  const out = await timingHunt(ws, options());
  const ip = out.rows.find((r) => r.kind === 'ip' && r.dest === '203.0.113.66');
  assert.ok(ip, `the IP pair is gone: ${JSON.stringify(out.rows.map((r) => [r.kind, r.src, r.dest, r.records]))}`);
  assert.equal(ip.records, 283);
  assert.equal(ip.rank, 1);
  assert.equal(ip.interval_s, 300);
  const why = await ws.query('SELECT CAST(reasons AS VARCHAR) AS r FROM results WHERE run_id = $1 AND rank = 1', [out.runId]);
  assert.match(String(why[0].r), /sizes [\d.]+: median \d+ B sent per connection, MAD \d+ B \(IP bytes where Zeek counts them/);
});

test("ssl.log without conn.log: host pairs scored on the handshakes' own times, sizes said to be unknown", async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const rows: (string | number)[][] = [];
  for (let i = 0; i < 140; i++) rows.push([`${T0 + i * 600}.2`, `Cs${i}`, '10.1.1.9', 40000 + i, '198.51.100.20', 443, 'c2.example.net']);
  for (let i = 0; i < 30; i++)
    rows.push([`${T0 + Math.round((i * i * 97) % 86000)}.0`, `Cw${i}`, '10.1.1.9', 30000 + i, '192.0.2.80', 443, 'news.example.org']);
  writeFileSync(join(dir, 'ssl.log'), zeek('ssl', SSL, rows));
  await ingest(ws, [dir]);
  const out = await timingHunt(ws, options());
  assert.deepEqual([out.rows[0].kind, out.rows[0].src, out.rows[0].dest, out.rows[0].records], ['host', '10.1.1.9', 'c2.example.net', 140]);
  assert.equal(out.rows[0].ds_score, null);
  assert.equal(out.rows[0].interval_s, 600);
  assert.match(String(out.rows[0].reasons), /sizes unknown \(ssl records without their conn records\)/);
});

test("http.log without conn.log: host pairs scored on the requests' own times", async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const rows: (string | number)[][] = [];
  for (let i = 0; i < 144; i++)
    rows.push([`${T0 + i * 600}.2`, `Ch${i}`, '10.1.1.7', 40000 + i, '198.51.100.21', 80, 'POST', 'update.example.net', 212]);
  writeFileSync(join(dir, 'http.log'), zeek('http', HTTP, rows));
  await ingest(ws, [dir]);
  const out = await timingHunt(ws, options());
  assert.deepEqual(
    [out.rows[0].kind, out.rows[0].src, out.rows[0].dest, out.rows[0].records, out.rows[0].score],
    ['host', '10.1.1.7', 'update.example.net', 144, 1],
  );
});

test('the window is honoured: last 24 h by default and said so; --since/--until choose another; --each-day scores every day', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const day = 86400;
  const d0 = Math.floor(T0 / day) * day; // a UTC midnight
  const conn: (string | number)[][] = [];
  // Day 0 only: a beacon every 300 s. Days 0–2: a host that polls every 900 s.
  for (let t = d0; t < d0 + day; t += 300) conn.push([`${t}.0`, `Cb${t}`, '10.0.0.5', 50000, '203.0.113.7', 443, 'tcp', 400]);
  for (let t = d0; t < d0 + 3 * day; t += 900) conn.push([`${t}.5`, `Cp${t}`, '10.0.0.6', 50001, '198.51.100.9', 443, 'tcp', 700]);
  writeFileSync(join(dir, 'conn.log'), zeek('conn', CONN, conn));
  await ingest(ws, [dir]);
  const last = await timingHunt(ws, options());
  assert.deepEqual(
    last.rows.map((r) => r.dest),
    ['198.51.100.9'],
    'day 0 is outside the last 24 h',
  );
  assert.match(last.notes[0], /the last 24 h of the data; --since\/--until choose another, --each-day scores every day/);
  const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 19);
  const first = await timingHunt(ws, options({ since: iso(d0), until: iso(d0 + day) }));
  assert.deepEqual(first.rows.map((r) => r.dest).sort(), ['198.51.100.9', '203.0.113.7']);
  assert.match(first.notes[0], new RegExp(`^window ${iso(d0).replace('T', ' ')} – `));
  const each = await timingHunt(ws, options({ eachDay: true, top: 100 }));
  assert.equal(each.notes.length, 3, 'one run per day');
  assert.deepEqual(each.rows.map((r) => `${String(r.window_start).slice(0, 10)} ${r.dest}`).sort(), [
    `${iso(d0).slice(0, 10)} 198.51.100.9`,
    `${iso(d0).slice(0, 10)} 203.0.113.7`,
    `${iso(d0 + day).slice(0, 10)} 198.51.100.9`,
    `${iso(d0 + 2 * day).slice(0, 10)} 198.51.100.9`,
  ]);
  assert.equal(await ws.scalar("SELECT count(*) FROM hunt_runs WHERE hunt = 'beacons.timing'"), 5);
});

test('nothing left to score: the message says which filter removed what; a refused hunt leaves no run record', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const conn: (string | number)[][] = [];
  for (let i = 0; i < 50; i++) conn.push([`${T0 + i * 60}.0`, `C${i}`, '147.32.84.165', 50000 + i, '8.8.8.8', 53, 'udp', 70]);
  writeFileSync(join(dir, 'conn.log'), zeek('conn', CONN, conn));
  await ingest(ws, [dir]);
  await assert.rejects(
    timingHunt(ws, options()),
    /no records left to score .*of 50 connections: 50 have a source outside the internal networks.*--internal/,
  );
  assert.equal(await ws.scalar('SELECT count(*) FROM hunt_runs'), 0);
  const cliResult = await cli('hunt', 'beacons', '--db', join(dir, 'test.duckdb'), '--since', 'yesterday');
  assert.equal(cliResult.code, 2);
});

test('explanations read the parameters in force: a jitter tolerance of 10 % and a strobe limit of 500 are what the reasons say', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const conn: (string | number)[][] = [];
  for (let i = 0; i < 200; i++) conn.push([`${T0 + i * 300}.0`, `Cp${i}`, '10.0.0.5', 50000, '203.0.113.7', 443, 'tcp', 400]);
  for (let i = 0; i < 600; i++) conn.push([`${T0 + i * 60}.0`, `Cs${i}`, '10.0.0.6', 50001, '203.0.113.8', 443, 'tcp', 90]);
  writeFileSync(join(dir, 'conn.log'), zeek('conn', CONN, conn));
  await ingest(ws, [dir]);
  const base = options();
  const out = await timingHunt(ws, { ...base, params: { ...base.params, tolerance: 0.1, strobeRecords: 500 } });
  const periodic = out.rows.find((r) => r.dest === '203.0.113.7');
  const strobe = out.rows.find((r) => r.dest === '203.0.113.8');
  assert.match(String(periodic?.reasons), /% of gaps within ±10 % of 300 s/);
  assert.doesNotMatch(String(periodic?.reasons), /±35 %/);
  assert.match(String(strobe?.reasons), /strobe: \d+ records in the window \(≥ 500\)/);
});

test('interval_s and the reasons agree on a low-jitter pair whose dominant interval is not the median of all gaps', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  // 40 gaps of 1 s, then 50 gaps spread from 2 to 6 s: the dominant interval is 1 s, all gaps' median 2.5 s.
  const conn: (string | number)[][] = [];
  let ts = T0;
  for (let i = 0; i < 91; i++) {
    conn.push([`${ts}.0`, `C${i}`, '10.0.0.9', 40000 + i, '203.0.113.9', 443, 'tcp', 400]);
    ts += i < 40 ? 1 : 2 + ((i - 40) % 5);
  }
  writeFileSync(join(dir, 'conn.log'), zeek('conn', CONN, conn));
  await ingest(ws, [dir]);
  const out = await timingHunt(ws, options());
  const pair = out.rows.find((r) => r.dest === '203.0.113.9');
  assert.ok(pair);
  assert.match(
    String(pair.reasons),
    new RegExp(`interval_s ${pair.interval_s}: \\d+ % of gaps within ±\\d+ % of ${pair.interval_s} s \\(their median\\)`),
  );
  assert.match(String(pair.reasons), /intervals [\d.]+: all gaps median [\d.]+ s/);
});

test('equal timing scores are placed by context: a destination the proxy has no category for before a categorised poller, each saying so', async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  // Two pairs with identical 300 s beacons over a day: one to an uncategorised domain, one to a "news" widget.
  const rows = ['_time,src_ip,dest,dest_ip,url,user,bytes_out,bytes_in,category'];
  for (let i = 0; i < 288; i++) {
    const ts = new Date((T0 + i * 300) * 1000).toISOString();
    rows.push(`${ts},10.0.0.21,widget.news.example,198.51.100.7,/w,ann,500,900,news`);
    rows.push(`${ts},10.0.0.22,c2-cdn41.xyz,203.0.113.41,/p,bob,500,900,uncategorized`);
  }
  writeFileSync(join(dir, 'proxy.csv'), `${rows.join('\n')}\n`);
  await ingest(ws, [join(dir, 'proxy.csv')]);
  const tie = await timingHunt(ws, options());
  assert.deepEqual(
    tie.rows.slice(0, 2).map((r) => r.dest),
    ['c2-cdn41.xyz', 'widget.news.example'],
  );
  assert.equal(tie.rows[0].rank_score, tie.rows[1].rank_score);
  assert.match(
    String(tie.rows[0].reasons),
    /tie at [\d.]+ among 2 pairs, placed by context: the proxy has no category for the destination/,
  );
  assert.match(String(tie.rows[1].reasons), /placed by context: the proxy categorises the destination as "news"/);
  // With the shipped factor, a categorised destination's rank is lowered and says why.
  const lowered = await timingHunt(ws, options({ params: { ...options().params, categorisedFactor: 0.85 } }));
  const news = lowered.rows.find((r) => r.dest === 'widget.news.example')!;
  assert.ok(Number(news.rank_score) < Number(lowered.rows[0].rank_score));
  assert.match(String(news.reasons), /the proxy categorises the destination as "news": rank × 0\.85 \(beacons\.categorised_factor\)/);
});
