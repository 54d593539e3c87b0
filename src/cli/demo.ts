import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { HuntbookError, UsageError } from '../errors.ts';
import { generateWithMail } from '../generate/generate.ts';
import { buildReport } from '../workbench/report.ts';
import { ingest } from '../ingest/ingest.ts';
import { createProgress } from '../progress.ts';
import type { CommandIO } from './io.ts';
import { act, printRows, requireInteger, withWorkspace } from './common.ts';
import { DEMO_HUNTS } from './demo-hunts.ts';

export function registerDemo(program: Command, io: CommandIO): void {
  program
    .command('demo')
    .description('generate a synthetic enterprise, ingest it into a fresh workspace and run every hunt')
    .option('--dir <dir>', 'where the demo data and workspace go', 'huntbook-demo')
    .option('--seed <n>', 'random seed', '7')
    .option('--users <n>', 'employees', '60')
    .option(
      '--days <n>',
      'days (12 ends on a Friday, so the last-day beacon window is a working day; the baseline needs a week of history first)',
      '12',
    )
    .option('-q, --quiet', 'no progress on stderr')
    .action(
      act(io, async (raw: Record<string, string | boolean>) => {
        // Every option is checked before anything on disk is touched.
        const seed = requireInteger('--seed', String(raw.seed), 0);
        const users = requireInteger('--users', String(raw.users), 10, 5000);
        const days = requireInteger('--days', String(raw.days), 1, 60);
        const dir = String(raw.dir);
        const data = join(dir, 'data');
        const db = join(dir, 'demo.duckdb');
        const reportPath = join(dir, 'report.html');
        prepareDemoDir(dir);
        const say = (text: string) => io.stdout.write(`${text}\n`);
        say(`== 1. generate: ${users} users, ${days} days, seed ${seed} → ${data}`);
        const summary = await generateWithMail({ seed, users, days, out: data });
        const rows = Object.values(summary.files).reduce((a, b) => a + b, 0);
        say(`   ${rows} log rows in ${Object.keys(summary.files).length} files; ground truth in ${summary.truth}`);
        await withWorkspace(
          db,
          async (ws) => {
            say(`== 2. ingest into ${db}`);
            const reports = await ingest(ws, [data], { progress: createProgress(process.stderr, !raw.quiet) });
            for (const r of reports.filter((r) => r.status === 'loaded'))
              say(`   ${r.path} → ${r.table}: read ${r.read}, loaded ${r.loaded}, rejected ${r.rejected}`);
            const failed = reports.filter((r) => r.status === 'failed');
            if (failed.length > 0) throw new HuntbookError(`demo ingest failed: ${failed.map((r) => r.message).join('; ')}`);
            let step = 3;
            for (const hunt of DEMO_HUNTS) {
              say(`== ${step++}. ${hunt.title}`);
              const result = await hunt.run(ws, { truth: summary.truth });
              printRows(io, 'table', result.columns, result.rows);
              for (const note of result.notes) say(`   ${note}`);
            }
            const report = await buildReport(ws, { title: 'huntbook demo', workspace: db });
            writeFileSync(reportPath, report.html);
            say(
              `== ${step}. report: ${reportPath} (${report.threads} threads with their reasons, ${report.charts} charts; one file, opens offline)`,
            );
          },
          false,
          { create: true },
        );
        say(nextSteps(db));
      }),
    );
}

/** Marks a folder as the demo's own, so that a later demo may clear it and nothing else. */
const DEMO_MARKER = '.huntbook-demo';
/** What a demo writes into its folder; a re-run removes these and only these. */
const DEMO_OUTPUTS = ['data', 'demo.duckdb', 'demo.duckdb.wal', 'demo.duckdb.tmp', 'report.html', DEMO_MARKER];

/**
 * A new or empty folder is taken; a folder an earlier demo wrote (it holds the marker) has the
 * demo's own outputs removed; any other folder is refused: huntbook never deletes what it did not write.
 */
function prepareDemoDir(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--dir ${dir} is a file, not a folder; choose another --dir`);
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
      throw new UsageError(
        `--dir ${dir} already holds files that huntbook demo did not write; choose a new or empty folder (nothing was changed)`,
      );
    }
    for (const name of DEMO_OUTPUTS) rmSync(join(dir, name), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, DEMO_MARKER),
    'Written by huntbook demo: a later demo run with this --dir replaces data/ and demo.duckdb here.\n',
  );
}

/** Where a newcomer goes after the demo: the hunts with their real flags, over this workspace. */
export function nextSteps(db: string): string {
  const steps: [string, string][] = [
    [`npx huntbook hunt beacons --db ${db}`, 'timing scores, top 20 with reasons'],
    [`npx huntbook hunt beacons --mode scored --db ${db}`, "the seed's risk-scored search + isolation forest"],
    [`npx huntbook hunt risk --by user --window 1d --db ${db}`, 'weights, phases, multipliers, alert logic'],
    [`npx huntbook hunt population --db ${db}`, "how rare each user's phases and rules are"],
    [`npx huntbook hunt insider --db ${db}`, 'who is stealing data, and the story'],
    [`npx huntbook hunt social --db ${db}`, 'fake profiles from the notice e-mails'],
    [`npx huntbook serve --db ${db} --open`, 'the workbench in your browser: threads, charts, triage'],
    [
      `npx huntbook report --out report.html --db ${db}`,
      'the report again, after your triage (huntbook triage set HUNT THREAD act|watch|discard)',
    ],
    [`npx huntbook entity USER --db ${db}`, "one user's days and detections"],
    [`npx huntbook sql "SELECT * FROM ingested_files" --db ${db}`, 'anything else, in SQL'],
  ];
  return `
Workspace: ${db} (the generator's ground truth: ${join(dirname(db), 'data', 'truth.json')}). Next, try:
${steps.map(([command, what]) => `  ${command}\n      ${what}`).join('\n')}
Then your own logs: npx huntbook ingest FOLDER --db case.duckdb (the README's tour walks through each step).`;
}
