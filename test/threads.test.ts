/**
 * The threads queue and the case report on a generated enterprise with known answers (truth.json:
 * the insider, the fake profiles, the planted beacons).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { generateWithMail } from '../src/generate/generate.ts';
import { defaultBaseline } from '../src/hunts/baseline/baseline.ts';
import { timingHunt } from '../src/hunts/beacons/timing.ts';
import { insiderHunt } from '../src/hunts/insider/insider.ts';
import { defaultRisk } from '../src/hunts/risk/risk.ts';
import { socialHunt } from '../src/hunts/social/social.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { loadRuleSources } from '../src/rules/catalog.ts';
import { runRules } from '../src/rules/engine.ts';
import { Workspace } from '../src/store/workspace.ts';
import { cli, tempDir } from './helpers.ts';

interface Truth {
  insider: { user: string };
  fake_profiles: { profile_id: string }[];
  beacons: { src_ip: string; dest: string; dest_ip: string }[];
}

async function enterprise(dir: string): Promise<{ db: string; truth: Truth }> {
  const out = join(dir, 'data');
  await generateWithMail({ seed: 2, users: 40, days: 8, scale: 0.05, out });
  const db = join(dir, 'w.duckdb');
  const ws = await Workspace.open(db);
  try {
    await ingest(ws, [out]);
    await runRules(ws, (await loadRuleSources([], [])).rules);
    const c = loadConfig();
    await timingHunt(ws, {
      params: {
        internal: c.networks.internal,
        allow: c.beacons.allow,
        tolerance: c.beacons.jitterTolerance,
        categorisedFactor: c.beacons.categorisedFactor,
        minHostsForPrevalence: c.beacons.prevalenceMinHosts,
        strobeRecords: c.beacons.strobeRecords,
      },
      top: 20,
    });
    await insiderHunt(ws, { baseline: defaultBaseline(), risk: defaultRisk(), population: { k: 'auto', seed: 1 }, orderDays: 5 });
    await socialHunt(ws, { seed: 1 });
  } finally {
    ws.close();
  }
  return { db, truth: JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')) as Truth };
}

test('threads: each entity once across hunts; the insider, the fakes and every planted beacon in the top 20; one decision on a thread holds for every hunt; a case report names no one else', async (t) => {
  const dir = tempDir(t);
  const { db, truth } = await enterprise(dir);
  const listed = await cli('threads', '--top', '2000', '--format', 'json', '--db', db);
  assert.equal(listed.code, 0, listed.stderr);
  const threads = JSON.parse(listed.stdout) as {
    rank: number;
    thread: string;
    score: number;
    hunts: { hunt: string; rank: number; strength: number }[];
    user: string | null;
    host: string | null;
  }[];
  assert.equal(new Set(threads.map((x) => x.thread)).size, threads.length, 'a thread listed twice');
  const rankOf = (key: string) => threads.find((x) => x.thread === key)?.rank ?? Infinity;
  const insider = `user:${truth.insider.user}`;
  assert.ok(rankOf(insider) <= 4, `insider at ${rankOf(insider)}`);
  assert.deepEqual(
    threads
      .find((x) => x.thread === insider)!
      .hunts.map((h) => h.hunt)
      .sort(),
    ['insider', 'population', 'risk'],
  );
  for (const fake of truth.fake_profiles)
    assert.ok(rankOf(`profile:${fake.profile_id}`) <= 20, `fake ${fake.profile_id} at ${rankOf(`profile:${fake.profile_id}`)}`);
  // The beacons' sources: every planted pair is a thread, with the user and host behind its source.
  for (const b of truth.beacons) {
    const pair = threads.find((x) => x.thread === `pair:${b.src_ip}→${b.dest || b.dest_ip}`);
    assert.ok(pair, `no thread for ${b.src_ip}→${b.dest || b.dest_ip}`);
    assert.ok(pair.user && pair.host, `${pair.thread}: no user or host behind its source`);
  }
  // …and every planted beacon's pair is in the top 20, beside the insider and the fakes.
  for (const b of truth.beacons) {
    const key = `pair:${b.src_ip}→${b.dest || b.dest_ip}`;
    assert.ok(rankOf(key) <= 20, `planted beacon ${key} at ${rankOf(key)}`);
  }
  // A thread's hunts carry their strength: 0–1, the first listed the strongest.
  for (const x of threads.slice(0, 20)) {
    const s = x.hunts.map((h) => h.strength);
    assert.ok(s.every((v) => v >= 0 && v <= 1) && s.every((v, i) => i === 0 || v <= s[i - 1]), `${x.thread}: strengths ${s}`);
  }

  // One decision on the thread: every hunt's rows of the insider carry it, and discard hides them all.
  assert.equal((await cli('triage', 'set', 'thread', insider, 'discard', '--note', 'test', '--db', db)).code, 0);
  const decided = JSON.parse((await cli('threads', '--decision', 'discard', '--format', 'json', '--db', db)).stdout) as {
    thread: string;
  }[];
  assert.deepEqual(
    decided.map((x) => x.thread),
    [insider],
  );
  for (const hunt of ['risk', 'population']) {
    const out = await cli('hunt', hunt, '--db', db, '--format', 'json');
    const rows = JSON.parse(out.stdout) as Record<string, unknown>[];
    assert.ok(!rows.some((r) => Object.values(r).includes(truth.insider.user)), `${hunt} still prints the discarded insider`);
  }
  assert.equal((await cli('triage', 'set', 'thread', insider, 'act', '--db', db)).code, 0);

  // Acting on a profile's thread labels it (suspicious): its interactions are marked and the graph shows it.
  const fake = truth.fake_profiles[0].profile_id;
  assert.equal((await cli('triage', 'set', 'thread', `profile:${fake}`, 'act', '--note', 'stock photo', '--db', db)).code, 0);
  const labels = JSON.parse((await cli('label', 'list', '--db', db, '--format', 'json')).stdout) as {
    profile_id: string;
    label: string;
    reason: string;
  }[];
  assert.deepEqual(
    labels.map((l) => [l.profile_id, l.label, l.reason]),
    [[fake, 'suspicious', 'triage: act (stock photo)']],
  );
  const named = threads.find((x) => x.thread === `profile:${fake}`) as unknown as { name: string | null };
  assert.ok(named.name && named.name.length > 2, 'a profile thread without its name');

  // The case report: his findings only, indicators, ATT&CK ids, raw events; no other employee, no workspace path.
  const file = join(dir, 'c42.html');
  const report = await cli('report', '--thread', truth.insider.user, '--case', 'C-42', '--analyst', 'J. Doe', '--out', file, '--db', db);
  assert.equal(report.code, 0, report.stderr);
  const html = readFileSync(file, 'utf8');
  assert.match(html, /<td>C-42<\/td>/);
  assert.match(html, /ATT&amp;CK: T\d{4}/);
  assert.match(html, /<h3>Indicators<\/h3>\s*<ul><li>/);
  assert.match(html, /<h3>Raw events behind it/);
  assert.match(html, /phases in the order they began/);
  assert.ok(!html.includes(db) && !html.includes('w.duckdb'), 'the workspace path is in the case report');
  const others = await Workspace.open(db, { readOnly: true }).then(async (ws) => {
    try {
      return (await ws.query('SELECT DISTINCT lower("user") AS u FROM directory WHERE lower("user") <> $1', [truth.insider.user])).map(
        (r) => String(r.u),
      );
    } finally {
      ws.close();
    }
  });
  assert.ok(others.length > 10);
  const mentioned = others.filter((u) => new RegExp(`\\b${u}\\b`).test(html));
  assert.deepEqual(mentioned, [], `the case report names other employees: ${mentioned.join(', ')}`);
  assert.ok(!/<script/i.test(html));
  const acted = await cli('report', '--decision', 'act', '--out', join(dir, 'acted.html'), '--db', db);
  assert.match(acted.stdout, /case report of 2 thread\(s\)/, 'the insider and the profile acted on');
});
