import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateWithMail } from '../src/generate/generate.ts';
import { addLabel, listLabels, removeLabel } from '../src/hunts/social/labels.ts';
import { cypherString, exportCypher, neo4jAddress, syncNeo4j } from '../src/hunts/social/neo4j.ts';
import { neighbourhood } from '../src/hunts/social/graph.ts';
import { socialHunt } from '../src/hunts/social/social.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { cli, openWorkspace, ROOT, tempDir } from './helpers.ts';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import jpeg from 'jpeg-js';
import { hammingDistance, perceptualHash, SAME_PICTURE_BITS, type Picture } from '../src/ml/phash.ts';
import { decodePicture } from '../src/ml/decode-picture.ts';
import { checkPictures, indexPictures, localFile } from '../src/hunts/social/pictures.ts';
import { fetchPublic, notPublic } from '../src/net/fetch-public.ts';

interface Truth {
  fake_profiles: { profile_id: string }[];
  busy_recruiter: { profile_id: string };
  mail: { messages: number; genuine: number; lookalikes: { message_id: string; why: string }[]; unrecognised: string[] };
}

const FIELDS = `date_trunc('second', ts) AS ts, profile_id, profile_name, profile_url, image_url, profile_title, "user", user_email, user_title, kind`;

test("notification e-mails: every field of every genuine notice recovered (as the export has it), the recipient's own link never taken, every lookalike flagged", async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'data');
  await generateWithMail({ seed: 4, users: 40, days: 3, scale: 0.02, out });
  const truth = JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')) as Truth;
  const ws = await openWorkspace(t, dir);
  const [mbox] = await ingest(ws, [join(out, 'mail', 'notices.mbox')]);
  // The network's digest is recorded as no interaction, with the reason, not refused.
  assert.deepEqual([mbox.format, mbox.read, mbox.loaded, mbox.rejected], ['mbox', truth.mail.messages, truth.mail.messages, 0]);
  assert.deepEqual(
    await ws.query(
      "SELECT message_id, verdict, CAST(reasons AS VARCHAR) AS reasons FROM mail_notices WHERE verdict = 'not an interaction'",
    ),
    truth.mail.unrecognised.map((id) => ({
      message_id: id,
      verdict: 'not an interaction',
      reasons: '["a digest from the network (digest@social.example)"]',
    })),
  );
  await ingest(ws, [join(out, 'interactions.csv')]);
  const fromMail = `SELECT ${FIELDS} FROM interactions WHERE extra->>'source' = 'mail'`;
  const fromCsv = `SELECT ${FIELDS} FROM interactions WHERE extra->>'source' IS NULL`;
  assert.equal(Number(await ws.scalar(`SELECT count(*) FROM (${fromMail})`)), truth.mail.genuine);
  assert.equal(Number(await ws.scalar(`SELECT count(*) FROM (${fromCsv})`)), truth.mail.genuine);
  // Same rows both ways, field for field: HTML-only quoted-printable, multipart base64 and the old plain-text template.
  assert.equal(Number(await ws.scalar(`SELECT count(*) FROM (${fromMail} EXCEPT ALL ${fromCsv})`)), 0);
  assert.equal(Number(await ws.scalar(`SELECT count(*) FROM (${fromCsv} EXCEPT ALL ${fromMail})`)), 0);
  // No notice names the recipient as the sender.
  assert.equal(Number(await ws.scalar(`SELECT count(*) FROM interactions WHERE starts_with(profile_id, "user" || '-')`)), 0);
  const flagged = await ws.query("SELECT message_id, reasons FROM mail_notices WHERE verdict = 'lookalike' ORDER BY message_no");
  assert.deepEqual(flagged.map((r) => r.message_id).sort(), truth.mail.lookalikes.map((l) => l.message_id).sort());
  const reasons = flagged.map((r) => String(r.reasons)).join('\n');
  assert.match(
    reasons,
    /From invitations@social-examp1e\.com is not social\.example's \(social\.example\)","From domain social-examp1e\.com looks like social\.example"/,
  );
  assert.match(reasons, /DKIM signed by bulk-mailer\.example, not social\.example.*Reply-To goes to gmail\.com/);
  assert.match(reasons, /link to social\.example\.account-verify\.net puts social in a subdomain of account-verify\.net/);
});

test('single .eml files: a notice loads, a lookalike is recorded not counted, a non-e-mail and a non-notice are named with their reason', async (t) => {
  const dir = tempDir(t);
  const notice = [
    'Delivered-To: kim.lee@corp.example',
    'From: LinkedIn <invitations@linkedin.com>',
    'To: Kim Lee <kim.lee@corp.example>',
    'Subject: =?UTF-8?Q?Zo=C3=AB_O=27Brien_wants_to_connect?=',
    'Date: Tue, 05 Mar 2024 09:15:00 +0100',
    'Message-ID: <a1@linkedin.com>',
    'DKIM-Signature: v=1; a=rsa-sha256; d=linkedin.com; s=proddkim; b=abc',
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<table><tr><td><a href=3D"https://www.linkedin.com/comm/in/kim-lee-42?midToken=3DAQ1&amp;trk=3Deml-h=',
    'eader"><img src=3D"https://media.licdn.com/kim.jpg" alt=3D"Kim Lee"></a></td></tr>',
    '<tr><td><a href=3D"https://www.linkedin.com/comm/in/zoe-obrien-7b?midToken=3DAQ1&amp;trk=3Deml-name">Zo=C3=AB O&#39;Brien</a></td></tr>',
    '<tr><td><img src=3D"https://media.licdn.com/dms/image/zoe.jpg" alt=3D"Zo=C3=AB O&#39;Brien"></td></tr>',
    '<tr><td>Talent Partner at Example Defence</td></tr>',
    '<tr><td>This email was intended for <a href=3D"https://www.linkedin.com/comm/in/kim-lee-42">Kim Lee</a> (Sys=',
    'tems Engineer)</td></tr></table>',
    '',
  ].join('\r\n');
  writeFileSync(join(dir, 'invite.eml'), notice);
  writeFileSync(
    join(dir, 'phish.eml'),
    notice
      .replace('From: LinkedIn <invitations@linkedin.com>', 'From: LinkedIn <invitations@linkedln.com>')
      .replace('<a1@linkedin.com>', '<p1@linkedln.com>'),
  );
  writeFileSync(
    join(dir, 'digest.eml'),
    [
      'From: LinkedIn <news@linkedin.com>',
      'To: kim.lee@corp.example',
      'Subject: Your weekly digest',
      'Date: Tue, 05 Mar 2024 09:15:00 +0100',
      '',
      'News.',
      '',
    ].join('\r\n'),
  );
  writeFileSync(join(dir, 'notes.eml'), 'just some notes\nnot an e-mail\n');
  const ws = await openWorkspace(t, dir);
  const reports = await ingest(ws, [dir]);
  const by = Object.fromEntries(reports.map((r) => [r.path.slice(dir.length + 1), [r.status, r.loaded, r.message ?? '']]));
  assert.deepEqual(by['invite.eml'].slice(0, 2), ['loaded', 1]);
  assert.deepEqual(by['phish.eml'].slice(0, 2), ['loaded', 1]);
  assert.deepEqual(by['digest.eml'].slice(0, 2), ['loaded', 1]);
  assert.deepEqual(
    await ws.query("SELECT verdict, CAST(reasons AS VARCHAR) AS reasons FROM mail_notices WHERE sender = 'news@linkedin.com'"),
    [{ verdict: 'not an interaction', reasons: '["a newsletter, digest or alert from the network (news@linkedin.com)"]' }],
  );
  assert.equal(by['notes.eml'][0], 'skipped');
  assert.deepEqual(
    await ws.query(
      'SELECT CAST(ts AS VARCHAR) AS ts, profile_id, profile_name, profile_url, image_url, profile_title, "user", user_email, user_title, kind FROM interactions',
    ),
    [
      {
        ts: '2024-03-05 08:15:00',
        profile_id: 'zoe-obrien-7b',
        profile_name: "Zoë O'Brien",
        profile_url: 'https://www.linkedin.com/in/zoe-obrien-7b',
        image_url: 'https://media.licdn.com/dms/image/zoe.jpg',
        profile_title: 'Talent Partner at Example Defence',
        user: 'kim.lee',
        user_email: 'kim.lee@corp.example',
        user_title: 'Systems Engineer',
        kind: 'connect_request',
      },
    ],
  );
  const [phish] = await ws.query("SELECT verdict, reasons FROM mail_notices WHERE message_id = '<p1@linkedln.com>'");
  assert.equal(phish.verdict, 'lookalike');
  assert.match(
    String(phish.reasons),
    /From invitations@linkedln\.com is not linkedin's \(linkedin\.com\)","From domain linkedln\.com looks like linkedin\.com"/,
  );
});

test('mbox: messages split on their From lines, >From unescaped, each reject named by the line its message starts on', async (t) => {
  const dir = tempDir(t);
  const message = (n: number, subject: string, body: string, from = 'LinkedIn <messages-noreply@linkedin.com>') =>
    [
      `From invitations@linkedin.com Tue Mar  5 09:1${n}:00 2024`,
      `From: ${from}`,
      'To: kim.lee@corp.example',
      `Subject: ${subject}`,
      `Date: Tue, 05 Mar 2024 09:1${n}:00 +0000`,
      `Message-ID: <m${n}@linkedin.com>`,
      '',
      body,
      '',
    ].join('\n');
  writeFileSync(
    join(dir, 'box.mbox'),
    [
      message(1, 'Ana Lima sent you a message', 'Ana Lima\nRecruiter\n>From the team: hello\nhttps://www.linkedin.com/in/ana-lima-1\n'),
      message(2, 'Lunch on Friday?', 'nothing\n', 'Sam <sam@example.org>'),
    ].join('\n'),
  );
  const ws = await openWorkspace(t, dir);
  const [report] = await ingest(ws, [join(dir, 'box.mbox')]);
  assert.deepEqual([report.format, report.read, report.loaded, report.rejected], ['mbox', 2, 1, 1]);
  assert.equal(report.rejects[0].line, 14);
  assert.deepEqual(await ws.query('SELECT profile_id, profile_name, profile_title, kind FROM interactions'), [
    { profile_id: 'ana-lima-1', profile_name: 'Ana Lima', profile_title: 'Recruiter', kind: 'message' },
  ]);
});

test('hunt social: the three fakes (spray, one team, connect-then-message) are the top 3 among hundreds of ordinary profiles, with reasons', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'data');
  await generateWithMail({ seed: 9, users: 300, days: 7, scale: 0.02, out });
  const truth = JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')) as Truth;
  const ws = await openWorkspace(t, dir);
  await ingest(ws, [join(out, 'mail'), join(out, 'interactions.csv'), join(out, 'ldap.csv')]);
  const result = await socialHunt(ws, { seed: 1 }, 5);
  assert.match(result.notes[0], /^2\d\d profiles;/);
  assert.deepEqual(
    result.rows
      .slice(0, 3)
      .map((r) => r.profile_id)
      .sort(),
    truth.fake_profiles.map((p) => p.profile_id).sort(),
  );
  // The company's busy recruiter reaches more employees than any fake: a ranking by volume would put it first.
  const busy = result.rows.find((r) => r.profile_id === truth.busy_recruiter.profile_id);
  assert.ok(busy, 'the busy recruiter is among the top 5 (it is unusual, and the reasons say why it is not a fake)');
  assert.ok(
    result.rows.slice(0, 3).every((r) => Number(r.users) < Number(busy.users)),
    'every fake reaches fewer employees than the recruiter',
  );
  assert.equal(busy.rank, 4);
  // A notice and the export of the same interaction count once.
  const top = result.rows[0];
  assert.equal(
    Number(top.users) * Number(top.per_user),
    Number(
      await ws.scalar(`SELECT count(DISTINCT (lower("user"), kind, date_trunc('second', ts))) FROM interactions WHERE profile_id = $1`, [
        String(top.profile_id),
      ]),
    ),
  );
  assert.match(String(top.reasons), /employees in \d+ departments? .*isolation forest 0\.\d+: /);

  // Labels mark every interaction, earlier and later; removing the label removes the marks.
  const fake = truth.fake_profiles[0].profile_id;
  const before = await addLabel(ws, fake, 'fake', { reason: 'stolen photo', who: 'analyst' });
  assert.ok(before.marked > 0);
  // One interaction, one mark, everywhere: label, label list and the hunt count the same (notice + export = one).
  const hunted = result.rows.find((r) => r.profile_id === fake) ?? labelledRow(await socialHunt(ws, { seed: 1 }, 300), fake);
  assert.equal(before.marked, Math.round(Number(hunted.users) * Number(hunted.per_user)));
  assert.equal(Number((await listLabels(ws)).rows.find((r) => r.profile_id === fake)?.interactions), before.marked);
  const later = join(dir, 'later.csv');
  writeFileSync(
    later,
    `ts,profile_id,profile_name,profile_url,image_url,profile_title,user,user_email,user_title,kind\n2026-02-01T10:00:00Z,${fake},X,https://social.example/in/${fake},,,newhire,newhire@corp.example,Analyst,message\n`,
  );
  await ingest(ws, [later]);
  assert.equal(Number(await ws.scalar("SELECT count(*) FROM interaction_marks WHERE \"user\" = 'newhire' AND label = 'fake'")), 1);
  const labelled = await socialHunt(ws, { seed: 1 }, 300);
  assert.equal(labelled.rows.find((r) => r.profile_id === fake)?.label, 'fake');
  const hood = await neighbourhood(ws, fake, { messagesOnly: true });
  assert.ok(hood.rows.length > 0 && hood.rows.every((r) => r.edge === 'KNOWS'));
  const removed = await removeLabel(ws, fake, { who: 'analyst' });
  assert.deepEqual(removed, { labels: 1, marks: before.marked + 1 });
  assert.equal(Number(await ws.scalar('SELECT count(*) FROM interaction_marks')), 0);
  assert.equal(Number(await ws.scalar("SELECT count(*) FROM labels WHERE removed_by = 'analyst' AND reason = 'stolen photo'")), 1);
});

test('Cypher export: any character in a name is an escaped literal; MERGE statements; sync names an unreachable server and refuses a non-bolt address', async (t) => {
  assert.equal(cypherString(`O'Brien \\ "x"\n😀é`), "'O\\'Brien \\\\ \"x\"\\u000a\\ud83d\\ude00\\u00e9'");
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const csv = join(dir, 'i.csv');
  writeFileSync(
    csv,
    'ts,profile_id,profile_name,profile_url,image_url,profile_title,user,user_email,user_title,kind\n' +
      `2026-01-01T10:00:00Z,p-1,"Eve ""x'}) DETACH DELETE n //",https://s/in/p-1,,"Head\nHunter",alice,alice@corp.example,Engineer,message\n`,
  );
  await ingest(ws, [csv]);
  const out = await exportCypher(ws);
  assert.equal(out.statements, 2 + 3);
  assert.match(out.text, /MERGE \(e:Employee \{id: row\.id\}\)/);
  assert.match(out.text, /`name`: 'Eve "x\\'\}\) DETACH DELETE n \/\/'/);
  assert.match(out.text, /`headline`: 'Head\\u000aHunter'/);
  assert.ok(/^[\x20-\x7e\n]*$/.test(out.text), 'the file is plain ASCII');
  await assert.rejects(syncNeo4j(ws, 'http://localhost:7474', {}), /bolt:\/\/ or neo4j:\/\//);
  await assert.rejects(syncNeo4j(ws, 'bolt://127.0.0.1:1', {}), /cannot reach Neo4j at bolt:\/\/127\.0\.0\.1:1/);
  const db = join(dir, 'cli.duckdb');
  assert.equal((await cli('ingest', csv, '--db', db, '-q')).code, 0);
  const cmd = await cli('graph', 'export', '--cypher', join(dir, 'g.cypher'), '--db', db);
  assert.equal(cmd.code, 0, cmd.stderr);
  assert.match(cmd.stdout, /5 statements, 3 nodes and edges/);
});

test('profile exports: Twitter API v1.1 user objects (CSV or NDJSON) land in profiles by their own field names, created_at and the bio length read', async (t) => {
  const dir = join(tempDir(t), 'exports');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'users.csv'),
    'id_str,screen_name,name,description,followers_count,friends_count,statuses_count,listed_count,favourites_count,created_at,default_profile_image,profile_image_url_https\n' +
      '1001,jane_recruits,Jane Doe,"Talent partner, defence sector",12,4800,3,0,1,Wed Oct 10 20:19:24 +0000 2018,true,https://pbs.twimg.com/profile_images/1/x.jpg\n',
  );
  writeFileSync(
    join(dir, 'users.ndjson'),
    `${JSON.stringify({ id_str: '1002', screen_name: 'bob', name: 'Bob', description: 'Engineer', followers_count: 820, friends_count: 300, statuses_count: 5400, created_at: 'Mon Jan 04 08:00:00 +0000 2016', default_profile_image: false })}\n`,
  );
  const ws = await openWorkspace(t);
  const reports = await ingest(ws, [dir]);
  assert.deepEqual(
    reports.map((r) => [r.table, r.loaded]),
    [
      ['profiles', 1],
      ['profiles', 1],
    ],
  );
  assert.deepEqual(
    await ws.query(
      "SELECT profile_id, name, headline, followers, following, posts, CAST(created_at AS VARCHAR) AS created_at, default_image, bio_length, extra->>'screen_name' AS screen_name FROM profiles ORDER BY profile_id",
    ),
    [
      {
        profile_id: '1001',
        name: 'Jane Doe',
        headline: 'Talent partner, defence sector',
        followers: 12,
        following: 4800,
        posts: 3,
        created_at: '2018-10-10 20:19:24',
        default_image: true,
        bio_length: 30,
        screen_name: 'jane_recruits',
      },
      {
        profile_id: '1002',
        name: 'Bob',
        headline: 'Engineer',
        followers: 820,
        following: 300,
        posts: 5400,
        created_at: '2016-01-04 08:00:00',
        default_image: false,
        bio_length: null,
        screen_name: 'bob',
      },
    ],
  );
});

/** A synthetic "portrait": a bright disc on a textured background, different for each seed. */
function portrait(seed: number, w: number, h: number): Picture {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      const r = Math.hypot(x - w * (0.3 + 0.1 * seed), y - h * 0.4);
      const v = r < w * 0.22 ? 200 - r : 60 + 80 * Math.sin((x + seed * 37) / (15 + seed * 3)) * Math.cos(y / (23 + seed));
      data.set([clamp(v + 20 * Math.sin(y / 7)), clamp(v * 0.8 + (x / w) * 40), clamp(v * 0.6 + (y / h) * 60), 255], p);
    }
  return { width: w, height: h, data };
}
const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
const jpegOf = (p: Picture, quality: number) => jpeg.encode({ width: p.width, height: p.height, data: Buffer.from(p.data) }, quality).data;
function shrink(p: Picture, w: number, h: number): Picture {
  // Nearest-neighbour resampling: cruder than any real resize, so a fair test of robustness.
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      data.set(
        p.data.subarray(
          (Math.floor((y * p.height) / h) * p.width + Math.floor((x * p.width) / w)) * 4,
          (Math.floor((y * p.height) / h) * p.width + Math.floor((x * p.width) / w)) * 4 + 4,
        ),
        (y * w + x) * 4,
      );
  return { width: w, height: h, data };
}
function crop(p: Picture, margin: number): Picture {
  const w = p.width - 2 * margin;
  const h = p.height - 2 * margin;
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    data.set(p.data.subarray(((y + margin) * p.width + margin) * 4, ((y + margin) * p.width + margin + w) * 4), y * w * 4);
  return { width: w, height: h, data };
}

test('pictures: resized, re-encoded and slightly cropped copies of a reference match within 10 bits, an unrelated photo does not; check labels, runs a detector without a shell, fetches only when asked', async (t) => {
  const original = portrait(1, 256, 256);
  const hash = perceptualHash(decodePicture(jpegOf(original, 92)));
  const variants = {
    resized: jpegOf(shrink(original, 180, 180), 90),
    reencoded: jpegOf(original, 35),
    cropped: jpegOf(crop(original, 8), 85),
  };
  for (const [name, bytes] of Object.entries(variants)) {
    const d = hammingDistance(hash, perceptualHash(decodePicture(bytes)));
    assert.ok(d <= SAME_PICTURE_BITS, `${name}: ${d} bits`);
  }
  for (const seed of [3, 5])
    assert.ok(hammingDistance(hash, perceptualHash(decodePicture(jpegOf(portrait(seed, 256, 256), 90)))) > 2 * SAME_PICTURE_BITS);

  const dir = tempDir(t);
  mkdirSync(join(dir, 'refs'));
  mkdirSync(join(dir, 'pics'));
  writeFileSync(join(dir, 'refs', 'stock-0042.jpg'), jpegOf(original, 92));
  writeFileSync(join(dir, 'refs', 'broken.jpg'), 'not a picture');
  writeFileSync(join(dir, 'pics', 'p-stolen.jpg'), variants.cropped);
  writeFileSync(join(dir, 'pics', 'p-own.jpg'), jpegOf(portrait(5, 200, 200), 90));
  const csv = join(dir, 'i.csv');
  writeFileSync(
    csv,
    'ts,profile_id,profile_name,profile_url,image_url,profile_title,user,user_email,user_title,kind\n' +
      '2026-01-01T10:00:00Z,p-stolen,A,https://s/in/p-stolen,https://media.s/img/p-stolen.jpg,Recruiter,alice,alice@corp.example,Engineer,connect_request\n' +
      '2026-01-01T11:00:00Z,p-own,B,https://s/in/p-own,https://media.s/img/p-own.jpg,Engineer,bob,bob@corp.example,Engineer,view\n' +
      '2026-01-01T12:00:00Z,p-remote,C,https://s/in/p-remote,http://127.0.0.1:PORT/p-remote.jpg,Engineer,bob,bob@corp.example,Engineer,view\n',
  );
  const ws = await openWorkspace(t);
  const index = await indexPictures(ws, join(dir, 'refs'), 'stock');
  assert.equal(index.added, 1);
  assert.match(index.problems[0].reason, /not a JPEG or PNG/);
  // A local server stands in for the network's media host.
  const server = createServer((req, res) => {
    if (req.url === '/p-remote.jpg') res.end(jpegOf(portrait(3, 64, 64), 80));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  writeFileSync(csv, readFileSync(csv, 'utf8').replace('PORT', String((server.address() as AddressInfo).port)));
  await ingest(ws, [csv]);
  const offline = await checkPictures(ws, { pictures: join(dir, 'pics'), label: 'suspicious' });
  assert.deepEqual(offline, { checked: 2, matched: 1, flagged: 0, labelled: 1, missing: 1 });
  assert.equal(
    await ws.scalar("SELECT problem FROM picture_checks WHERE profile_id = 'p-remote'"),
    'picture not in the folder (--fetch downloads it)',
  );
  assert.match(
    String(await ws.scalar("SELECT reason FROM labels WHERE target = 'p-stolen'")),
    /picture matches reference .*stock-0042\.jpg \(\d+ of 64 bits differ\)/,
  );
  // The detector gets the picture's path as its last argument; node -e ignores it and prints a score.
  // Log data may point anywhere: a loopback address is refused unless --allow-private.
  const refused = await checkPictures(ws, { pictures: join(dir, 'pics'), fetch: true });
  assert.equal(refused.missing, 1);
  assert.equal(
    await ws.scalar("SELECT problem FROM picture_checks WHERE profile_id = 'p-remote'"),
    '127.0.0.1 is not a public address (--allow-private to fetch from it)',
  );
  const online = await checkPictures(ws, {
    pictures: join(dir, 'pics'),
    fetch: true,
    allowPrivate: true,
    detector: [process.execPath, '-e', 'console.log("score", 0.93)'],
    detectorThreshold: 0.9,
  });
  assert.deepEqual(online, { checked: 3, matched: 1, flagged: 3, labelled: 0, missing: 0 });
  assert.equal(Number(await ws.scalar("SELECT detector_score FROM picture_checks WHERE profile_id = 'p-remote'")), 0.93);
  const social = await socialHunt(ws, { seed: 1 }, 10);
  assert.match(String(social.rows.find((r) => r.profile_id === 'p-stolen')?.reasons), /picture matches reference/);
});

function labelledRow(output: { rows: Record<string, unknown>[] }, profile: string): Record<string, unknown> {
  const row = output.rows.find((r) => r.profile_id === profile);
  assert.ok(row, `no row for ${profile}`);
  return row;
}

test('picture fetching is no server-side request forgery: only http(s) to public addresses, after DNS and every redirect; names from logs stay in the folder and are never options', async (t) => {
  for (const address of [
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::ffff:127.0.0.1',
    'fc00::1',
    'fe80::1',
  ]) {
    assert.match(String(notPublic(address)), /is not a public address/, address);
  }
  for (const address of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946']) assert.equal(notPublic(address), undefined, address);
  await assert.rejects(
    fetchPublic('http://localhost:9/x.jpg', { timeoutMs: 2000, maxBytes: 1000 }),
    /localhost resolves to 127\.0\.0\.1, not a public address/,
  );
  await assert.rejects(
    fetchPublic('file:///etc/passwd', { timeoutMs: 2000, maxBytes: 1000 }),
    /only http and https are fetched, not file:/,
  );
  await assert.rejects(fetchPublic('http://user:pw@example.com/x.jpg', { timeoutMs: 2000, maxBytes: 1000 }), /user name or password/);
  // Every hop is checked: a redirect to file:// or to a cloud metadata address is refused.
  const server = createServer((req, res) => {
    if (req.url === '/to-file') res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    else if (req.url === '/to-metadata') res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await assert.rejects(
    fetchPublic(`${base}/to-file`, { timeoutMs: 2000, maxBytes: 1000, allowPrivate: true }),
    /only http and https are fetched, not file:/,
  );
  await assert.rejects(fetchPublic(`${base}/to-metadata`, { timeoutMs: 2000, maxBytes: 1000 }), /127\.0\.0\.1 is not a public address/);
  // Names from log data stay in the pictures folder.
  const dir = tempDir(t);
  for (const id of ['../outside', '../../etc/passwd', '--help', '.hidden']) {
    const file = localFile(join(dir, 'pics'), id, null);
    assert.ok(file.startsWith(`${join(dir, 'pics')}/`), `${id} → ${file}`);
    assert.ok(!file.slice(join(dir, 'pics').length + 1).startsWith('.'), `${id} → ${file}`);
  }
  assert.ok(localFile(join(dir, 'pics'), 'x', 'https://media.example/a/..%2F..%2Fescape.jpg').startsWith(`${join(dir, 'pics')}/`));
});

test('graph sync stops at its timeout against a server that never answers, exits, and never prints the password of a bolt://user:pass@ address', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  const out = join(dir, 'data');
  await generateWithMail({ seed: 4, users: 12, days: 1, scale: 0.02, out });
  assert.equal((await cli('ingest', join(out, 'interactions.csv'), '--db', db, '-q')).code, 0);
  const silent = createNetServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => silent.close());
  const url = `bolt://neo4j:secretpw@127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const started = Date.now();
  const child = spawnSync(
    process.execPath,
    [join(ROOT, 'bin', 'huntbook.js'), 'graph', 'sync', '--neo4j', url, '--timeout', '2', '--db', db],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const seconds = (Date.now() - started) / 1000;
  assert.equal(child.status, 1, child.stderr);
  assert.ok(seconds < 30, `still running after ${seconds} s`);
  assert.match(
    child.stderr,
    /cannot reach Neo4j at bolt:\/\/127\.0\.0\.1:\d+: (?:Connection acquisition timed out in 2000 ms|.*no answer within 2 s; stopped)/,
  );
  assert.ok(!`${child.stdout}${child.stderr}`.includes('secretpw'), child.stderr);
  assert.equal(neo4jAddress(url).shown.includes('secretpw'), false);
});
