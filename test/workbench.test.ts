import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { serve } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { generate } from '../src/generate/generate.ts';
import { insiderHunt } from '../src/hunts/insider/insider.ts';
import { baselineHunt, defaultBaseline } from '../src/hunts/baseline/baseline.ts';
import { defaultRisk, riskHunt } from '../src/hunts/risk/risk.ts';
import { socialHunt } from '../src/hunts/social/social.ts';
import { timingHunt } from '../src/hunts/beacons/timing.ts';
import { loadConfig } from '../src/config.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { loadRuleSources } from '../src/rules/catalog.ts';
import { runRules } from '../src/rules/engine.ts';
import { Workspace } from '../src/store/workspace.ts';
import { createApp } from '../src/workbench/server.ts';
import { cli, tempDir } from './helpers.ts';
import { addLabel } from '../src/hunts/social/labels.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2;alert(1)">';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A small generated enterprise with every hunt run once, and interactions whose profile is hostile markup. */
/** The workbench on a free loopback port and a Chromium page, both closed when the test ends. */
async function browse(t: { after: (fn: () => unknown) => void }, db: string) {
  const port = await freePort();
  const server = serve({ fetch: createApp({ db, host: '127.0.0.1', port }).fetch, port, hostname: '127.0.0.1' });
  t.after(() => server.close());
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  return { page: await browser.newPage(), port };
}

async function workspace(dir: string): Promise<string> {
  const out = join(dir, 'data');
  generate({ seed: 2, users: 20, days: 8, scale: 0.05, out });
  writeFileSync(
    join(out, 'hostile.csv'),
    `ts,profile_id,profile_name,profile_url,image_url,profile_title,user,user_email,user_title,kind\n${Array.from(
      { length: 6 },
      (_, i) =>
        `2026-01-0${i + 2}T10:00:00Z,"${HOSTILE.replaceAll('"', '""')}","${HOSTILE.replaceAll('"', '""')}",https://s/in/x,,t,u${i},u${i}@corp.example,Engineer,message`,
    ).join('\n')}\n`,
  );
  // A proxy row whose user agent is hostile markup, from a user whose upload a rule catches.
  writeFileSync(
    join(out, 'hostile-proxy.csv'),
    `_time,src_ip,user,dest,url,method,status,bytes_out,user_agent\n2026-01-05T10:00:00Z,10.9.9.9,mallory,files.example,/up,POST,200,5000000,"${HOSTILE.replaceAll('"', '""')}"\n`,
  );
  const db = join(dir, 'w.duckdb');
  const ws = await Workspace.open(db);
  try {
    await ingest(ws, [out]);
    const { rules } = await loadRuleSources([], []);
    await runRules(ws, rules);
    const config = loadConfig();
    await timingHunt(ws, {
      params: {
        internal: config.networks.internal,
        allow: config.beacons.allow,
        tolerance: config.beacons.jitterTolerance,
        minHostsForPrevalence: config.beacons.prevalenceMinHosts,
        strobeRecords: config.beacons.strobeRecords,
      },
      top: 20,
    });
    await insiderHunt(ws, { baseline: defaultBaseline(), risk: defaultRisk(), population: { k: 'auto', seed: 1 }, orderDays: 5 });
    await baselineHunt(ws, defaultBaseline(), { top: 20 });
    await socialHunt(ws, { seed: 1 });
    // The hostile profile is labelled: it is in the graph, the report and the overview.
    await addLabel(ws, HOSTILE, 'fake', { reason: HOSTILE });
  } finally {
    ws.close();
  }
  return db;
}

test('the API answers only to its own Host and Origin, and only with the token when bound beyond loopback', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  (await Workspace.open(db)).close();
  const open = createApp({ db, host: '127.0.0.1', port: 8484 });
  assert.equal((await open.request('/api/runs', { headers: { host: '127.0.0.1:8484' } })).status, 200);
  assert.equal((await open.request('/api/runs', { headers: { host: 'rebind.attacker.example:8484' } })).status, 421);
  assert.equal((await open.request('/api/runs', { headers: { host: '127.0.0.1:8484', origin: 'http://attacker.example' } })).status, 403);
  const page = await open.request('/', { headers: { host: 'localhost:8484' } });
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.ok(!(await page.text()).includes('<script>'), 'no inline script in the shell');
  const wide = createApp({ db, host: '0.0.0.0', port: 8484, token: 's3cret-token' });
  assert.equal((await wide.request('/api/runs', { headers: { host: '0.0.0.0:8484' } })).status, 401);
  assert.equal(
    (await wide.request('/api/runs', { headers: { host: '0.0.0.0:8484', authorization: 'Bearer wrong-token-xx' } })).status,
    401,
  );
  assert.equal((await wide.request('/api/runs', { headers: { host: '0.0.0.0:8484', authorization: 'Bearer s3cret-token' } })).status, 200);
  const first = await wide.request('/?token=s3cret-token', { headers: { host: '0.0.0.0:8484' } });
  assert.equal(first.status, 200);
  assert.match(first.headers.get('set-cookie') ?? '', /huntbook_token=s3cret-token; .*HttpOnly/);
  assert.equal(
    (await wide.request('/api/runs?sort=x', { headers: { host: '0.0.0.0:8484', cookie: 'huntbook_token=s3cret-token' } })).status,
    200,
  );
  // A sort key that is not a column of the rows is refused, not put into SQL.
  assert.equal((await open.request('/api/runs/1?sort=rank;DROP', { headers: { host: '127.0.0.1:8484' } })).status, 400);
});

test("workbench in a real browser: overview, a beacon's charts, an entity's timeline, triage that survives reload and the next run, hostile log text shown as text", {
  skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium (apt-get), or set CHROMIUM_PATH`,
}, async (t) => {
  const dir = tempDir(t);
  const db = await workspace(dir);
  const { page, port } = await browse(t, db);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const base = `http://127.0.0.1:${port}/`;
  const ready = (hash: string) => page.waitForSelector(`#main[data-ready="${hash}"]`, { timeout: 20_000 });

  await page.goto(base);
  await ready('#/');
  assert.ok((await page.locator('h2', { hasText: 'beacons.timing: top threads' }).count()) === 1);
  assert.ok((await page.locator('h2', { hasText: 'social: top threads' }).count()) === 1);
  // The hostile profile is a thread: its markup is text on the page, and nothing ran.
  assert.ok((await page.textContent('#main'))!.includes(HOSTILE));
  assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned ?? 0), 0);
  assert.deepEqual(dialogs, []);

  // A beacon: its run, its first row, both charts render.
  const runs = (await (await fetch(`${base}api/runs`)).json()) as { run_id: number; hunt: string }[];
  const timing = runs.find((r) => r.hunt === 'beacons.timing')!;
  await page.goto(`${base}#/run/${timing.run_id}`);
  await ready(`#/run/${timing.run_id}`);
  await page.click('#row-1 td:first-child');
  // Charts are drawn inline, each mark with its values as a hover title.
  const drawn = (sel: string) =>
    page.waitForFunction(
      (s) => {
        const svg = document.querySelector(`${s} svg`);
        return svg !== null && svg.querySelector('title') !== null && svg.getBoundingClientRect().width > 100;
      },
      sel,
      { timeout: 20_000 },
    );
  for (const chart of ['#chart-intervals', '#chart-hours', '#chart-span']) await drawn(chart);
  const bar = await page.locator('#chart-intervals svg [aria-label] > title').first().textContent();
  assert.match(bar ?? '', /\d/, `no values in a bar's title: ${bar}`);
  // Outliers and clusters: two features of the run against each other.
  await drawn('#chart-scatter');
  // An entity: the top user of the risk hunt, its timeline renders.
  const risk = runs.find((r) => r.hunt === 'risk')!;
  const riskRows = (await (await fetch(`${base}api/runs/${risk.run_id}?limit=1`)).json()) as { rows: { entity: string }[] };
  const user = riskRows.rows[0].entity;
  await page.goto(`${base}#/entity/user/${encodeURIComponent(user)}`);
  await ready(`#/entity/user/${encodeURIComponent(user)}`);
  await drawn('#chart-timeline');
  const point = await page.locator('#chart-timeline svg [aria-label] > title', { hasText: user }).first().textContent();
  assert.match(point ?? '', /day: .+; weighted: [\d.]+; series: /, `a timeline point's title: ${point}`);
  assert.equal(await page.locator('h2', { hasText: /^detections \(\d+\)$/ }).count(), 1);
  await drawn('#chart-phases');
  // Drill down: the raw row behind a detection, as stored.
  await page.click('#detection-0');
  await page.waitForSelector('#raw-row');
  assert.match((await page.textContent('#raw-row'))!, /"file_id": \d+/);
  // A malformed address shows an error, not a page stuck on "loading…".
  await page.goto(`${base}#/entity/user/%E0%A4%A`);
  await page.waitForFunction(() => document.querySelector('#main')?.getAttribute('data-ready') === 'error', undefined, { timeout: 10_000 });
  assert.match((await page.textContent('#main'))!, /error: the address has a malformed part "%E0%A4%A"/);

  // A user agent holding <script> and <img onerror>, behind a detection: shown as text in the raw row.
  await page.goto(`${base}#/entity/user/mallory`);
  await ready('#/entity/user/mallory');
  await page.click('#detection-0');
  await page.waitForSelector('#raw-row');
  assert.ok(
    (await page.textContent('#raw-row'))!.includes(JSON.stringify(HOSTILE).slice(1, -1)),
    'the user agent is in the raw row, as text',
  );
  assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned ?? 0), 0);
  assert.deepEqual(dialogs, []);

  // The interaction graph: the labelled profile and the employees it messaged, drawn; its name as text.
  await page.goto(`${base}#/graph`);
  await ready('#/graph');
  // The graph is inline: every node a link with its name on hover; an employee's node opens their page.
  await page.waitForSelector('#chart-graph svg a', { timeout: 20_000 });
  const nodes = await page
    .locator('#chart-graph svg a')
    .evaluateAll((links) =>
      links.map((a) => [a.getAttribute('xlink:href') ?? a.getAttribute('href'), a.querySelector('title')?.textContent ?? '']),
    );
  assert.ok(nodes.length >= 2 && nodes.every(([href, title]) => href && title), JSON.stringify(nodes.slice(0, 3)));
  assert.ok((await page.textContent('#main'))!.includes(HOSTILE));
  assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned ?? 0), 0);
  const employee = nodes.find(([href]) => String(href).startsWith('#/entity/user/'))!;
  await page.locator(`#chart-graph svg a[*|href="${employee[0]}"]`).first().click();
  await ready(String(employee[0]));
  assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned ?? 0), 0);

  // Triage: discard the top risk thread; it stays discarded after a reload and after the next run of the hunt.
  await page.goto(base);
  await ready('#/');
  const riskUser = (await page.textContent('#thread-risk-1 td:nth-child(2)'))!.trim();
  await page.fill('#thread-risk-1 input[aria-label="note"]', 'known admin');
  await page.click('#thread-risk-1 button[data-decision="discard"]');
  await page.waitForSelector('tr[id^="discarded-risk-"]', { timeout: 20_000 });
  // A risk thread is the user (every window of theirs): set apart, each with the note.
  const discarded = async () => {
    const all = await page.locator('tr[id^="discarded-risk-"]').count();
    const noted = await page.locator('tr[id^="discarded-risk-"]').filter({ hasText: 'known admin' }).count();
    const stillTop = await page.locator('tr[id^="thread-risk-"]').filter({ hasText: riskUser }).count();
    return all > 0 && noted === all && stillTop === 0 ? 1 : 0;
  };
  assert.equal(await discarded(), 1);
  await page.reload();
  await ready('#/');
  assert.equal(await discarded(), 1);
  const ws = await Workspace.open(db);
  try {
    await riskHunt(ws, defaultRisk(), 5);
  } finally {
    ws.close();
  }
  await page.reload();
  await ready('#/');
  assert.equal(await discarded(), 1);
  assert.deepEqual(dialogs, []);
});

test('serve refuses a foreign Host over a real socket', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  (await Workspace.open(db)).close();
  const port = await freePort();
  const server = serve({ fetch: createApp({ db, host: '127.0.0.1', port }).fetch, port, hostname: '127.0.0.1' });
  t.after(() => server.close());
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/runs', headers: { host: `rebind.example:${port}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 421);
});

test('the report opens offline in a browser with every chart, and asks the network for nothing', {
  skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`,
}, async (t) => {
  const dir = tempDir(t);
  const db = await workspace(dir);
  const ws = await Workspace.open(db, { readOnly: true });
  const { buildReport } = await import('../src/workbench/report.ts');
  let report: Awaited<ReturnType<typeof buildReport>>;
  try {
    report = await buildReport(ws);
  } finally {
    ws.close();
  }
  const file = join(dir, 'report.html');
  writeFileSync(file, report.html);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  const context = await browser.newContext({ offline: true });
  const page = await context.newPage();
  const asked: string[] = [];
  await page.route('**/*', (route) => {
    if (!route.request().url().startsWith('file:')) asked.push(route.request().url());
    return route.request().url().startsWith('file:') ? route.continue() : route.abort();
  });
  await page.goto(`file://${file}`);
  assert.equal(await page.locator('svg.marks').count(), report.charts);
  assert.ok(report.charts >= 2, `${report.charts} charts`);
  assert.deepEqual(asked, []);
  assert.ok((await page.textContent('body'))!.includes(HOSTILE));
  assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned ?? 0), 0);
});

test('serve beyond loopback: its own addresses and name are answered with the token; odd numbers are a 400; a port in use is one clear line', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'w.duckdb');
  (await Workspace.open(db)).close();
  const wide = createApp({ db, host: '0.0.0.0', port: 8484, token: 's3cret-token' });
  const auth = { authorization: 'Bearer s3cret-token' };
  const own = [
    hostname(),
    ...Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address)),
  ];
  for (const name of own) assert.equal((await wide.request('/api/runs', { headers: { host: `${name}:8484`, ...auth } })).status, 200, name);
  assert.equal((await wide.request('/api/runs', { headers: { host: `rebind.attacker.example:8484`, ...auth } })).status, 421);
  const local = createApp({ db, host: '127.0.0.1', port: 8484 });
  const get = (path: string) => local.request(path, { headers: { host: '127.0.0.1:8484' } });
  for (const path of [
    '/api/runs/1?offset=1e20',
    '/api/runs/123456789012345678901',
    '/api/runs/1?limit=-5',
    '/api/runs/abc',
    '/api/raw/flows/1:99999999999999999999',
    '/api/graph?days=1e9',
  ]) {
    const response = await get(path);
    assert.equal(response.status, 400, `${path}: ${await response.text()}`);
  }
  // A port in use: one line, exit 1, no stack trace.
  const port = await freePort();
  const holder = serve({ fetch: local.fetch, port, hostname: '127.0.0.1' });
  t.after(() => holder.close());
  await new Promise((resolve) => setTimeout(resolve, 100));
  const taken = await cli('serve', '--port', String(port), '--db', db);
  assert.equal(taken.code, 1, taken.stderr);
  assert.equal(taken.stderr.trim().split('\n').length, 1, taken.stderr);
  assert.match(taken.stderr, /port \d+ on 127\.0\.0\.1 is in use/);
  assert.equal(taken.stdout, '', 'no URL printed for a server that is not listening');
});

test("the queue in a real browser: the insider once with all his hunts, one triage marks every hunt's rows, a beacon shows its user and host and links to the host's page (the whole address)", {
  skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`,
}, async (t) => {
  const dir = tempDir(t);
  const db = await workspace(dir);
  const truth = JSON.parse(readFileSync(join(dir, 'data', 'truth.json'), 'utf8')) as { insider: { user: string } };
  const insider = truth.insider.user;
  const { page, port } = await browse(t, db);
  const base = `http://127.0.0.1:${port}/`;
  await page.goto(base);
  await page.waitForSelector('#main[data-ready="#/"]', { timeout: 20_000 });
  // The insider is one row of the queue, with every hunt that ranked him.
  const rows = page.locator('#queue tr', { hasText: `user:${insider}` });
  assert.equal(await rows.count(), 1);
  const text = (await rows.first().textContent())!;
  const runs = (await (await fetch(`${base}api/runs`)).json()) as { run_id: number; hunt: string }[];
  const userHunts = runs.map((r) => r.hunt).filter((h) => ['risk', 'population', 'baseline', 'insider'].includes(h));
  assert.ok(userHunts.length >= 3, userHunts.join(', '));
  for (const hunt of userHunts) assert.match(text, new RegExp(`${hunt} #\\d+/\\d+`), hunt);
  // One decision on the thread: every hunt's row of him carries it.
  await rows.first().locator('button[data-decision="act"]').click();
  await page.waitForSelector(`#queue tr:has-text("user:${insider}") .decision.act`, { timeout: 20_000 });
  for (const hunt of userHunts) {
    const run = runs.find((r) => r.hunt === hunt)!;
    const data = (await (await fetch(`${base}api/runs/${run.run_id}?q=${encodeURIComponent(insider)}&limit=1000`)).json()) as {
      rows: { entity: string; decision: string | null }[];
    };
    const mine = data.rows.filter((r) => r.entity === insider);
    assert.ok(mine.length > 0 && mine.every((r) => r.decision === 'act'), `${hunt}: ${JSON.stringify(mine.slice(0, 2))}`);
  }
  // A beacon pair: the user and host behind its source, and a link to the source's page, whole.
  const beacon = page.locator('#queue tr', { hasText: 'pair:' }).first();
  const whoLinks = beacon.locator('td:nth-child(5) a');
  assert.ok((await whoLinks.count()) >= 1, 'no user or host shown for a beacon');
  const pair = (await beacon.locator('td:nth-child(2)').textContent())!;
  const source = pair.replace(/^pair:/, '').split('→')[0];
  await beacon.locator('td:nth-child(2) a').click();
  await page.waitForSelector(`#main[data-ready^="#/entity/host/"]`, { timeout: 20_000 });
  assert.equal(await page.textContent('h1'), `host ${source}`);
  // …whose page lists the beacons from that address, this pair among them.
  assert.equal(await page.locator('h2', { hasText: 'beacons from this address' }).count(), 1);
  assert.ok((await page.locator('tr', { hasText: pair.replace(/^pair:/, '') }).count()) >= 1, `${pair} not on its source's page`);
  // The insider's page tells the story: who, and the phases in the order they began.
  await page.goto(`${base}#/entity/user/${insider}`);
  await page.waitForSelector(`#main[data-ready="#/entity/user/${insider}"]`, { timeout: 20_000 });
  assert.ok(((await page.textContent('#who')) ?? '').length > 3, 'no who line');
  const phases = await page
    .locator('tr[id^="phase-"]')
    .evaluateAll((rows) => rows.map((r) => [r.children[0].textContent, r.children[1].textContent]));
  const began = phases.map((p) => String(p[1]));
  assert.deepEqual(began, [...began].sort(), 'phases not in the order they began');
  const order = (
    JSON.parse(readFileSync(join(dir, 'data', 'truth.json'), 'utf8')) as { insider: { phases: { phase: string }[] } }
  ).insider.phases.map((p) => p.phase);
  const seen = phases.map((p) => String(p[0])).filter((p) => order.includes(p));
  assert.deepEqual(
    seen,
    order.filter((p) => seen.includes(p)),
    `phases ${seen.join(', ')} against the planted order ${order.join(', ')}`,
  );
  // …and the baseline's days of interest for him, each a day of the data.
  assert.equal(await page.locator('h2', { hasText: 'days of interest (hunt baseline)' }).count(), 1);
  const days = await page.locator('h2:has-text("days of interest") + table tr td:first-child').allTextContents();
  assert.ok(days.length >= 1 && days.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)), days.join(', '));
  // Every planted beacon can be triaged from the queue (found by its destination).
  const planted = (
    JSON.parse(readFileSync(join(dir, 'data', 'truth.json'), 'utf8')) as { beacons: { src_ip: string; dest: string; dest_ip: string }[] }
  ).beacons;
  for (const b of planted) {
    const key = `pair:${b.src_ip}→${b.dest || b.dest_ip}`;
    await page.goto(`${base}#/?q=${encodeURIComponent(b.dest || b.dest_ip)}`);
    await page.waitForSelector(`#main[data-ready^="#/?q="]`, { timeout: 20_000 });
    const row = page.locator('#queue tr', { hasText: key });
    assert.equal(await row.count(), 1, key);
    await row.locator('button[data-decision="watch"]').click();
    await page.waitForSelector(`#queue tr:has-text("${key}") .decision.watch`, { timeout: 20_000 });
  }
  // Paging and filters live in the address.
  await page.goto(`${base}#/?q=${encodeURIComponent(insider)}`);
  await page.waitForSelector(`#main[data-ready="#/?q=${encodeURIComponent(insider)}"]`, { timeout: 20_000 });
  assert.equal(await page.locator('#queue tr', { hasText: `user:${insider}` }).count(), 1);
});
