import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ingest } from '../src/ingest/ingest.ts';
import { openWorkspace, tempDir } from './helpers.ts';

const REAL = join(import.meta.dirname, 'data', 'social-mail');

test("real notices: every genuine one gives one interaction of the right kind, sender, profile id and link, never the recipient's; the newsletter is named, not counted; both real phishing mails are lookalikes", async (t) => {
  const dir = tempDir(t);
  const ws = await openWorkspace(t, dir);
  const reports = (await ingest(ws, [REAL])).filter((r) => r.path.endsWith('.eml'));
  assert.deepEqual(
    reports.map((r) => [r.path.slice(REAL.length + 1), r.status, r.read, r.loaded, r.rejected]),
    [
      ['inmail-2026-de.eml', 'loaded', 1, 1, 0],
      ['invitation-2016-m2m.eml', 'loaded', 1, 1, 0],
      ['invitation-2016-single01.eml', 'loaded', 1, 1, 0],
      ['newsletter-2025.eml', 'loaded', 1, 1, 0],
      ['phish-2023-digest-list.eml', 'loaded', 1, 1, 0],
      ['phish-2023-order-list.eml', 'loaded', 1, 1, 0],
    ],
  );
  assert.deepEqual(
    await ws.query(`SELECT profile_id, profile_name, profile_url, profile_title, "user", user_email, user_title, kind, CAST(ts AS VARCHAR) AS ts
    FROM interactions ORDER BY profile_name`),
    [
      {
        profile_id: 'AAsAAAJUVTYBWkKAZwppmyYBjwgm1AI0nKRyTwA',
        profile_name: 'Michael McAuliffe',
        profile_url: 'https://www.linkedin.com/profile/view?id=AAsAAAJUVTYBWkKAZwppmyYBjwgm1AI0nKRyTwA',
        profile_title: 'Managing Director',
        user: 'paul',
        user_email: 'paul@hammant.org',
        user_title: 'Senior Director of Engineering at HedgeServ',
        kind: 'connect_request',
        ts: '2016-05-02 19:34:46',
      },
      {
        profile_id: 'shira-fahrenberg',
        profile_name: 'Shira Fahrenberg',
        profile_url: 'https://www.linkedin.com/in/shira-fahrenberg',
        profile_title:
          'Expert in IT & Tech Recruiting | I help CIOs and IT leaders fill critical key roles within 6–12 weeks – data-driven, technically grounded, and with tangible relief for HR.',
        user: 'paul',
        user_email: 'paul@wellnerbou.de',
        user_title: 'Software Architect, Full-Stack Developer, Tech-Lead',
        kind: 'message',
        ts: '2026-01-22 11:14:46',
      },
      {
        profile_id: 'AAsAAAAIW1gBCVPJFcvlZjm6AtEfNiLTNya_HqA',
        profile_name: 'Steven Footle',
        profile_url: 'https://www.linkedin.com/profile/view?id=AAsAAAAIW1gBCVPJFcvlZjm6AtEfNiLTNya_HqA',
        profile_title: 'Principal Test Architect and Agile Leader - Certified ScrumMaster',
        user: 'paul',
        user_email: 'paul@hammant.org',
        user_title: 'Senior Director of Engineering at HedgeServ',
        kind: 'connect_request',
        ts: (await ws.scalar("SELECT CAST(ts AS VARCHAR) FROM interactions WHERE profile_name = 'Steven Footle'")) as string,
      },
    ],
  );
  // The pictures are the senders' own, never the recipient's header photo.
  const pictures = await ws.query('SELECT profile_name, image_url FROM interactions ORDER BY profile_name');
  assert.match(String(pictures[1].image_url), /^https:\/\/media\.licdn\.com\/dms\/image\/v2\/D4D03AQHhnw_OYpcD1g\//);
  assert.ok(
    pictures.every((p) => !/C4D03AQGmLL2Q2tPXcA/.test(String(p.image_url))),
    "Paul Wellner Bou's own photo taken for a sender",
  );
  const notices = await ws.query(
    'SELECT sender, verdict, kind, CAST(reasons AS VARCHAR) AS reasons FROM mail_notices ORDER BY sender, verdict',
  );
  const by = (verdict: string) => notices.filter((n) => n.verdict === verdict);
  assert.equal(by('genuine').length, 3);
  assert.deepEqual(
    by('not an interaction').map((n) => [n.sender, n.reasons]),
    [
      [
        'editors-noreply@linkedin.com',
        '["a newsletter, digest or alert from the network (email_editorial_suggested_top_conversations_01 / EMAIL-DEFAULT)"]',
      ],
    ],
  );
  const phishing = by('lookalike').map((n) => String(n.reasons));
  assert.equal(phishing.length, 2);
  assert.match(phishing[0] + phishing[1], /display name \\"LinkeIn via Industrypack-devel\\" claims linkedin/);
  assert.match(phishing[0] + phishing[1], /Reply-To is info@linkedin\.com \(linkedin\) while From is not/);
  for (const reasons of phishing)
    assert.match(reasons, /From industrypack-devel@lists\.sourceforge\.net is not linkedin's \(linkedin\.com\)/);
  // Lookalikes are detections of the recipient (phase deception), keyed by file and message.
  assert.deepEqual(await ws.query('SELECT rule_id, phase, weight, entity_type, entity, source_table FROM detections ORDER BY event_ref'), [
    {
      rule_id: 'mail.lookalike',
      phase: 'deception',
      weight: 80,
      entity_type: 'user',
      entity: 'lists+industrypack-devel',
      source_table: 'mail_notices',
    },
    {
      rule_id: 'mail.lookalike',
      phase: 'deception',
      weight: 80,
      entity_type: 'user',
      entity: 'lists+industrypack-devel',
      source_table: 'mail_notices',
    },
  ]);
  // --force takes a file's lookalike detection with it, and loads it again once.
  const copy = join(dir, 'again.eml');
  writeFileSync(copy, readFileSync(join(REAL, 'phish-2023-order-list.eml'), 'utf8').replace('DBDA4C25FE5B26D7', 'ANOTHERCOPY'));
  await ingest(ws, [copy]);
  await ingest(ws, [copy], { force: true });
  assert.equal(Number(await ws.scalar("SELECT count(*) FROM detections WHERE rule_id = 'mail.lookalike'")), 3);
});

/** A genuine-looking LinkedIn invitation (HTML), changed by each trick below. */
function invitation(change: (mail: string) => string = (m) => m): string {
  return change(
    [
      'From: Ana Lima <invitations@linkedin.com>',
      'To: Kim Lee <kim.lee@corp.example>',
      'Subject: Kim, please add me to your LinkedIn network',
      'Date: Tue, 05 Mar 2024 09:15:00 +0000',
      'Message-ID: <t1@linkedin.com>',
      'X-LinkedIn-Template: email_m2m_invite_single_01',
      'DKIM-Signature: v=1; a=rsa-sha256; d=linkedin.com; s=proddkim; b=abc',
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<table><tr><td><a href="https://www.linkedin.com/comm/in/kim-lee-42"><img src="https://media.licdn.com/kim.jpg" alt="Kim Lee"></a></td></tr>',
      '<tr><td><a href="https://www.linkedin.com/comm/in/ana-lima-7b"><img src="https://media.licdn.com/dms/image/ana.jpg" alt="Ana Lima"></a></td></tr>',
      '<tr><td><a href="https://www.linkedin.com/comm/in/ana-lima-7b">Ana Lima</a></td></tr>',
      '<tr><td>Recruiter at Example</td></tr>',
      '<tr><td><a href="https://www.linkedin.com/comm/mynetwork/invite-accept/1">Accept</a></td></tr>',
      '<tr><td>This email was intended for Kim Lee (Systems Engineer)</td></tr></table>',
      '',
    ].join('\r\n'),
  );
}

test('hand-made lookalikes: every trick is flagged with a reason a hunter can read; the untouched notice is genuine', async (t) => {
  const dir = tempDir(t);
  const tricks: Record<string, [(m: string) => string, RegExp]> = {
    genuine: [(m) => m, /^$/],
    punycode: [
      (m) => m.replace('invitations@linkedin.com', 'invitations@xn--linkedn-dza.com').replace('d=linkedin.com', 'd=xn--linkedn-dza.com'),
      /From domain linkedín\.com \(xn--linkedn-dza\.com\) is a homoglyph of linkedin\.com/,
    ],
    cyrillic: [
      (m) => m.replaceAll('https://www.linkedin.com/comm/mynetwork', 'https://www.lіnkedin.com/comm/mynetwork'),
      /link to www\.l.nkedin\.com \(www\.xn--lnkedin-rog\.com\) is a homoglyph of linkedin\.com/,
    ],
    subdomain: [
      (m) => m.replace('https://www.linkedin.com/comm/mynetwork/invite-accept/1', 'https://linkedin.com.evil.io/accept'),
      /link to linkedin\.com\.evil\.io puts linkedin in a subdomain of evil\.io/,
    ],
    userinfo: [
      (m) => m.replace('https://www.linkedin.com/comm/mynetwork/invite-accept/1', 'https://www.linkedin.com@evil.io/in/x'),
      /a link shows \\"www\.linkedin\.com\\" before @ but goes to evil\.io/,
    ],
    linktext: [
      (m) =>
        m.replace(
          '<a href="https://www.linkedin.com/comm/mynetwork/invite-accept/1">Accept</a>',
          '<a href="https://evil.io/login">https://www.linkedin.com/login</a>',
        ),
      /a link reads \\"https:\/\/www\.linkedin\.com\/login\\" but goes to evil\.io/,
    ],
    media: [
      (m) => m.replace('https://media.licdn.com/dms/image/ana.jpg', 'https://media.llcdn.com/dms/image/ana.jpg'),
      /picture from media\.llcdn\.com looks like (?:media\.)?licdn\.com/,
    ],
    dkimSpaces: [(m) => m.replace('d=linkedin.com; s=proddkim', 'd = evil.io ; s=proddkim'), /DKIM signed by evil\.io, not linkedin\.com/],
    authFail: [
      (m) => m.replace('MIME-Version: 1.0', 'Authentication-Results: spf=fail; dmarc=fail\r\nMIME-Version: 1.0'),
      /SPF fail \(Authentication-Results\)","DMARC fail \(Authentication-Results\)/,
    ],
    twoFroms: [
      (m) => m.replace('From: Ana Lima <invitations@linkedin.com>', 'From: invitations@linkedin.com, phish@evil.io'),
      /From lists 2 addresses \(invitations@linkedin\.com, phish@evil\.io\)/,
    ],
    brandOnly: [
      (m) =>
        m
          .replace('From: Ana Lima <invitations@linkedin.com>', 'From: "LinkedIn" <notify@mailer.example>')
          .replace('DKIM-Signature: v=1; a=rsa-sha256; d=linkedin.com', 'DKIM-Signature: v=1; a=rsa-sha256; d=mailer.example'),
      /display name \\"LinkedIn\\" claims linkedin/,
    ],
  };
  for (const [name, [change]] of Object.entries(tricks))
    writeFileSync(join(dir, `${name}.eml`), invitation(change).replace('<t1@linkedin.com>', `<${name}@x>`));
  const ws = await openWorkspace(t, dir);
  await ingest(ws, [dir]);
  const rows = await ws.query('SELECT message_id, verdict, CAST(reasons AS VARCHAR) AS reasons FROM mail_notices');
  for (const [name, [, reason]] of Object.entries(tricks)) {
    const row = rows.find((r) => r.message_id === `<${name}@x>`);
    assert.ok(row, `${name}: not recorded`);
    if (name === 'genuine') {
      assert.equal(row.verdict, 'genuine', `${name}: ${row.reasons}`);
      continue;
    }
    assert.equal(row.verdict, 'lookalike', `${name}: ${row.reasons}`);
    assert.match(String(row.reasons), reason, name);
  }
  assert.deepEqual(await ws.query('SELECT profile_id, profile_name, profile_title, image_url, kind FROM interactions'), [
    {
      profile_id: 'ana-lima-7b',
      profile_name: 'Ana Lima',
      profile_title: 'Recruiter at Example',
      image_url: 'https://media.licdn.com/dms/image/ana.jpg',
      kind: 'connect_request',
    },
  ]);
  assert.equal(
    Number(await ws.scalar("SELECT count(*) FROM detections WHERE rule_id = 'mail.lookalike' AND entity = 'kim.lee'")),
    Object.keys(tricks).length - 1,
  );
});

test('kinds come from the network\'s headers, then a matching subject template in any language, then the sender; a notice of unknown kind with a profile is kept as "other"', async (t) => {
  const dir = tempDir(t);
  const write = (name: string, change: (m: string) => string) =>
    writeFileSync(join(dir, `${name}.eml`), invitation(change).replace('<t1@linkedin.com>', `<${name}@x>`));
  // No template header: the sender address says it (inmail-hit-reply@ → message), whatever the subject says.
  write('sender', (m) =>
    m
      .replace('X-LinkedIn-Template: email_m2m_invite_single_01\r\n', '')
      .replace('invitations@linkedin.com', 'inmail-hit-reply@linkedin.com'),
  );
  // No header, a neutral sender: the German subject names the kind.
  write('german', (m) =>
    m
      .replace('X-LinkedIn-Template: email_m2m_invite_single_01\r\n', '')
      .replace('Ana Lima <invitations@linkedin.com>', 'LinkedIn <notifications-noreply@linkedin.com>')
      .replace('Subject: Kim, please add me to your LinkedIn network', 'Subject: Ana Lima hat Ihre Einladung angenommen'),
  );
  // Shapes of real 2026 notices (their subjects and senders as published): invitations@ sends requests and accepts alike.
  write('request2026', (m) =>
    m
      .replace('X-LinkedIn-Template: email_m2m_invite_single_01\r\n', '')
      .replace('Subject: Kim, please add me to your LinkedIn network', 'Subject: You have an invitation ✉️'),
  );
  write('accept2026', (m) =>
    m
      .replace('X-LinkedIn-Template: email_m2m_invite_single_01\r\n', '')
      .replace('Ana Lima <invitations@linkedin.com>', 'Ana Lima via LinkedIn <invitations@linkedin.com>')
      .replace('Subject: Kim, please add me to your LinkedIn network', 'Subject: Ana accepted your invitation, explore their network'),
  );
  // Nothing tells the kind: kept as other, with its profile.
  write('unknown', (m) =>
    m
      .replace('X-LinkedIn-Template: email_m2m_invite_single_01\r\n', '')
      .replace('invitations@linkedin.com', 'notifications-noreply@linkedin.com')
      .replace('Subject: Kim, please add me to your LinkedIn network', 'Subject: Ana Lima hat etwas Neues gepostet'),
  );
  const ws = await openWorkspace(t, dir);
  await ingest(ws, [dir]);
  assert.deepEqual(await ws.query("SELECT extra->>'message_id' AS id, kind, profile_id, profile_name FROM interactions ORDER BY id"), [
    { id: '<accept2026@x>', kind: 'connect_accept', profile_id: 'ana-lima-7b', profile_name: 'Ana Lima' },
    { id: '<german@x>', kind: 'connect_accept', profile_id: 'ana-lima-7b', profile_name: 'Ana Lima' },
    { id: '<request2026@x>', kind: 'connect_request', profile_id: 'ana-lima-7b', profile_name: 'Ana Lima' },
    { id: '<sender@x>', kind: 'message', profile_id: 'ana-lima-7b', profile_name: 'Ana Lima' },
    { id: '<unknown@x>', kind: 'other', profile_id: 'ana-lima-7b', profile_name: 'Ana Lima' },
  ]);
});

test("mail times: a missing or garbled Date takes the Received header's time (said so) or is refused with file and reason, never the time of ingest", async (t) => {
  const dir = tempDir(t);
  const base = invitation();
  const write = (name: string, change: (m: string) => string) =>
    writeFileSync(
      join(dir, `${name}.mbox`),
      `From x Tue Mar  5 09:15:00 2024\n${change(base).replace('<t1@linkedin.com>', `<${name}@x>`)}\n`,
    );
  write('garbled', (m) => m.replace('Date: Tue, 05 Mar 2024 09:15:00 +0000', 'Date: Thu, 45 Foo 99999 99:99:99 +9999'));
  write('missing', (m) => m.replace('Date: Tue, 05 Mar 2024 09:15:00 +0000\r\n', ''));
  write('received', (m) =>
    m.replace(
      'Date: Tue, 05 Mar 2024 09:15:00 +0000\r\n',
      'Received: from mx.linkedin.com by mx.corp.example; Wed, 06 Mar 2024 10:00:01 +0100\r\n',
    ),
  );
  const ws = await openWorkspace(t, dir);
  const reports = await ingest(ws, [dir]);
  const by = Object.fromEntries(reports.map((r) => [r.path.slice(dir.length + 1), r]));
  assert.deepEqual([by['garbled.mbox'].status, by['missing.mbox'].status], ['failed', 'failed']);
  assert.match(
    String(by['garbled.mbox'].message),
    /unreadable Date "Thu, 45 Foo 99999 99:99:99 \+9999" and no Received header with a readable time/,
  );
  assert.match(String(by['missing.mbox'].message), /no Date header and no Received header with a readable time/);
  assert.deepEqual([by['received.mbox'].loaded, by['received.mbox'].rejected], [1, 0]);
  assert.deepEqual(await ws.query('SELECT CAST(ts AS VARCHAR) AS ts, CAST(reasons AS VARCHAR) AS reasons FROM mail_notices'), [
    { ts: '2024-03-06 09:00:01', reasons: '["no Date header: time taken from the Received header"]' },
  ]);
  assert.equal(Number(await ws.scalar('SELECT count(*) FROM interactions WHERE ts IS NULL')), 0);
});
