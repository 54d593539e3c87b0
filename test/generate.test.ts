import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generate } from '../src/generate/generate.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { openWorkspace, tempDir } from './helpers.ts';

function digest(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => [
        name,
        createHash('sha256')
          .update(readFileSync(join(dir, name)))
          .digest('hex'),
      ]),
  );
}

test('same seed, same bytes; another seed, other bytes', (t) => {
  const a = join(tempDir(t), 'a');
  const b = join(tempDir(t), 'b');
  const c = join(tempDir(t), 'c');
  generate({ seed: 3, users: 20, days: 3, out: a });
  generate({ seed: 3, users: 20, days: 3, out: b });
  generate({ seed: 4, users: 20, days: 3, out: c });
  assert.deepEqual(digest(a), digest(b));
  assert.notEqual(digest(a)['proxy.csv'], digest(c)['proxy.csv']);
});

test('the generated enterprise ingests cleanly and holds every planted thing truth.json names', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'data');
  generate({ seed: 11, users: 40, days: 7, out });
  const truth = JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')) as {
    beacons: {
      id: string;
      channel: string;
      src_ip: string;
      dest: string;
      dest_ip: string;
      period_s: number;
      jitter: number;
      kind: string;
    }[];
    insider: { user: string; phases: { phase: string; day: number }[] };
    fake_profiles: { profile_id: string }[];
    busy_recruiter: { profile_id: string };
  };
  const ws = await openWorkspace(t, dir);
  const reports = await ingest(ws, [out]);
  assert.ok(reports.filter((r) => r.status === 'loaded').every((r) => r.rejected === 0));
  assert.equal(reports.filter((r) => r.status === 'failed').length, 0);
  assert.equal(truth.beacons.length, 10);
  assert.deepEqual(
    new Set(truth.beacons.map((b) => b.kind)),
    new Set(['steady', 'jitter', 'long-sleep', 'size-varying', 'office-hours', 'multi-url', 'direct', 'direct-jitter']),
  );
  for (const beacon of truth.beacons) {
    const sql =
      beacon.channel === 'proxy'
        ? "SELECT count(*) AS n, median(gap) AS gap FROM (SELECT epoch(ts) - lag(epoch(ts)) OVER (ORDER BY ts) AS gap FROM http WHERE src_ip = $1 AND dest = $2 AND method = 'GET')"
        : 'SELECT count(*) AS n, median(gap) AS gap FROM (SELECT epoch(ts) - lag(epoch(ts)) OVER (ORDER BY ts) AS gap FROM flows WHERE src_ip = $1 AND dest_ip = $2 AND bytes_out < 1000)';
    const [row] = await ws.query(sql, [beacon.src_ip, beacon.channel === 'proxy' ? beacon.dest : beacon.dest_ip]);
    assert.ok(Number(row.n) >= (beacon.kind === 'office-hours' ? 40 : ((7 * 86400) / beacon.period_s) * 0.9), `${beacon.id} rows ${row.n}`);
    // The median gap sits at the period (within the jitter), measured independently from the logs.
    assert.ok(
      Math.abs(Number(row.gap) - beacon.period_s) <= beacon.period_s * Math.max(0.1, beacon.jitter),
      `${beacon.id} gap ${row.gap} vs ${beacon.period_s}`,
    );
  }
  assert.deepEqual(
    truth.insider.phases.map((p) => p.phase),
    ['discovery', 'collection', 'packaging', 'obfuscation', 'exfiltration'],
  );
  assert.equal(
    Number(
      await ws.scalar(
        `SELECT count(*) FROM activity WHERE "user" = $1 AND kind = 'email' AND target LIKE '%gmail.example' AND attachments LIKE '%holiday_photos.jpg'`,
        [truth.insider.user],
      ),
    ),
    3,
  );
  assert.ok(
    Number(
      await ws.scalar(`SELECT count(*) FROM events WHERE "user" = $1 AND command_line LIKE '7z.exe a -p%'`, [
        `CORP\\${truth.insider.user}`,
      ]),
    ) === 1,
  );
  // The fakes work in three styles (spray across roles, one team, connect then message): each does far more than an ordinary
  // profile, and so does the company's busy recruiter (so volume alone cannot tell them apart; test/social.test.ts ranks them).
  const busiest = await ws.query('SELECT profile_id, count(*) AS n FROM interactions GROUP BY 1 ORDER BY n DESC, profile_id LIMIT 4');
  assert.deepEqual(
    new Set(busiest.map((f) => f.profile_id)),
    new Set([truth.busy_recruiter.profile_id, ...truth.fake_profiles.map((f) => f.profile_id)]),
  );
});
