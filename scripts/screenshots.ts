/**
 * Makes the README's screenshots of the workbench: a fresh demo workspace (generate, ingest, rules,
 * every hunt), served locally, photographed in Debian's Chromium by playwright-core.
 *
 *   npx tsx scripts/screenshots.ts [out=docs/screenshots]   (CHROMIUM_PATH to use another browser)
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { generateWithMail } from '../src/generate/generate.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { loadRuleSources } from '../src/rules/catalog.ts';
import { runRules } from '../src/rules/engine.ts';
import { Workspace } from '../src/store/workspace.ts';
import { createApp } from '../src/workbench/server.ts';
import { DEMO_HUNTS } from '../src/cli/demo-hunts.ts';

const out = process.argv[2] ?? join('docs', 'screenshots');
mkdirSync(out, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'huntbook-shots-'));
try {
  const data = join(dir, 'data');
  const summary = await generateWithMail({ seed: 7, users: 60, days: 12, out: data });
  const db = join(dir, 'demo.duckdb');
  const ws = await Workspace.open(db);
  await ingest(ws, [data]);
  const { rules } = await loadRuleSources([], []);
  await runRules(ws, rules);
  for (const hunt of DEMO_HUNTS.filter((h) => !h.title.startsWith('rules run'))) await hunt.run(ws, { truth: summary.truth });
  const runs = await ws.query('SELECT hunt, max(run_id) AS run_id FROM hunt_runs GROUP BY hunt');
  const risk = await ws.query(
    "SELECT entity FROM results WHERE run_id = (SELECT max(run_id) FROM hunt_runs WHERE hunt = 'risk') ORDER BY rank LIMIT 1",
  );
  ws.close();
  const port = 8600 + Math.floor(Math.random() * 300);
  const server = serve({ fetch: createApp({ db, host: '127.0.0.1', port }).fetch, port, hostname: '127.0.0.1' });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const base = `http://127.0.0.1:${port}/`;
  const shoot = async (hash: string, file: string, prepare?: () => Promise<void>) => {
    await page.goto(`${base}${hash}`);
    await page.waitForSelector(`#main[data-ready="${hash || '#/'}"]`);
    await prepare?.();
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(out, file), fullPage: false });
    console.log(join(out, file));
  };
  await shoot('', 'overview.png');
  const timing = runs.find((r) => r.hunt === 'beacons.timing')!;
  await shoot(`#/run/${timing.run_id}`, 'beacon.png', async () => {
    await page.click('#row-1');
    await page.waitForFunction(() => ((document.querySelector('#chart-intervals') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0);
  });
  await shoot(`#/entity/user/${encodeURIComponent(String(risk[0].entity))}`, 'entity.png', async () => {
    await page.waitForFunction(() => ((document.querySelector('#chart-timeline') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0);
  });
  await browser.close();
  server.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
