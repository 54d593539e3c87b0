import { spawn } from 'node:child_process';
import { serve } from '@hono/node-server';
import { createApp, isLoopback, newToken } from '../workbench/server.ts';
import { Argument, type Command } from 'commander';
import { buildReport } from '../workbench/report.ts';
import { buildCaseReport } from '../workbench/case-report.ts';
import { DECISIONS, listTriage, setTriage, undoTriage } from '../workbench/triage.ts';
import { queueRows, threadQueue } from '../workbench/queue.ts';
import { rawRowsElsewhere } from '../workbench/raw-rows.ts';
import { loadConfig } from '../config.ts';
import { WORKSPACE_LOGS } from '../store/logs.ts';
import { openLogs } from './logs.ts';
import { HuntbookError, UsageError } from '../errors.ts';
import type { Row } from '../store/workspace.ts';
import type { CommandIO } from './io.ts';
import { checkOutputFile, writeOutputFile } from './output-file.ts';
import { act, commonOptions, printRows, requireInteger, withCommon, withWorkspace } from './common.ts';

export function registerWorkbench(program: Command, io: CommandIO): void {
  withCommon(program.command('report'), { rows: false })
    .description(
      'write one self-contained HTML report: the latest run of every hunt, top threads with every reason, triage, charts as inline SVG',
    )
    .requiredOption(
      '--out <file>',
      'the HTML file to write (never the workspace; an existing file only if huntbook wrote it, or with --force)',
    )
    .option('--force', 'replace an existing file that huntbook did not write')
    .option('--per-hunt <n>', 'top threads per hunt', '5')
    .option('--title <text>', "the report's title")
    .option('--thread <entity...>', 'a case report of these threads only (user:mking, pair:SRC→DEST, profile:ID, or a bare name)')
    .option('--decision <d>', 'a case report of the threads with this decision in force (act, watch)')
    .option('--case <id>', 'the case or ticket id, printed at the top')
    .option('--analyst <name>', 'who wrote it, printed at the top')
    .addHelpText(
      'after',
      `
The file has no script and references nothing outside itself (a Content-Security-Policy says so):
attach it to a ticket, open it offline. Every string from the logs is escaped.

With --thread or --decision it is a case file instead: per finding a summary, the story (phases
in order, red flags), first and last seen, ATT&CK ids, indicators and the raw events behind it,
nothing about entities outside the scope, and not the workspace's path.

Examples:
  huntbook report --out case-42.html --per-hunt 10 --db case.duckdb
  huntbook report --thread mking --case C-42 --analyst "J. Doe" --out c42.html --db case.duckdb
  huntbook report --decision act --case C-43 --out acted.html --db case.duckdb`,
    )
    .action(
      act(io, async (raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const target = checkOutputFile('--out', raw.out, options.db, Boolean(raw.force));
        const threads = raw.thread as unknown as string[] | undefined;
        if (threads?.length || raw.decision) {
          // A case file: only the threads in scope, nothing about anyone else, no workspace path.
          const [report, elsewhere] = await withWorkspace(
            options.db,
            async (ws) =>
              [
                await buildCaseReport(ws, { threads, decision: raw.decision, caseId: raw.case, analyst: raw.analyst, title: raw.title }),
                await rawRowsElsewhere(ws),
              ] as const,
            true,
          );
          writeOutputFile(target, report.html);
          io.stdout.write(`${raw.out}: case report of ${report.findings} thread(s)\n`);
          if (!options.quiet && elsewhere) io.stderr.write(`note: ${elsewhere}\n`);
          return;
        }
        const report = await withWorkspace(
          options.db,
          (ws) => buildReport(ws, { perHunt: requireInteger('--per-hunt', raw.perHunt, 1, 1000), title: raw.title ?? 'huntbook report' }),
          true,
        );
        writeOutputFile(target, report.html);
        io.stdout.write(`${raw.out}: ${report.threads} threads, ${report.charts} charts\n`);
      }),
    );

  withCommon(program.command('threads'))
    .description(
      "one queue of threads across hunts: each entity once (user, profile, beacon pair …), a combined score, every hunt that ranked it, who is behind a beacon's source, the decision in force",
    )
    .option('--hunt <name>', 'only threads this hunt ranked')
    .option('--decision <d>', 'only threads with this decision in force (act, watch, discard, none)')
    .option('--q <text>', 'only threads whose name or reasons hold this text')
    .option('--top <n>', 'how many', '20')
    .option('--offset <n>', 'skip the first n (paging)', '0')
    .option(
      '--logs <url>',
      "where the raw logs are (default: the configuration's logs:, else the workspace): who is behind a beacon's source is counted there",
    )
    .option('--config <file>', 'configuration file (its logs: is the default for --logs)')
    .addHelpText(
      'after',
      `
Score: a thread's strength in a hunt is how far its score stands above the hunt's median row
toward the hunt's top, (score - median) / (top - median), 0 to 1; within a family of hunts
(detections: risk, population, baseline, insider; beacons: timing, scored, flow; social) the
strengths are averaged; families add up; equal scores keep the hunts' own order. Each hunt's
rank (k/n) and strength are listed under the thread (--format json). Decide on a whole thread once:
  huntbook triage set thread user:mking act --note "HR informed"

Example:
  huntbook threads --top 20 --db case.duckdb
  huntbook threads --hunt beacons.timing --decision none --format json --db case.duckdb`,
    )
    .action(
      act(io, async (raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const decision = raw.decision;
        if (decision && !['act', 'watch', 'discard', 'none'].includes(decision))
          throw new UsageError('--decision is act, watch, discard or none');
        const limit = requireInteger('--top', raw.top, 1, 100_000);
        const offset = requireInteger('--offset', raw.offset, 0);
        const logs = await openLogs(raw, loadConfig(raw.config));
        const [queue, elsewhere] = await withWorkspace(
          options.db,
          async (ws) =>
            [
              await threadQueue(ws, { hunt: raw.hunt, decision, q: raw.q, limit, offset }, logs.store),
              logs.store === WORKSPACE_LOGS ? await rawRowsElsewhere(ws) : undefined,
            ] as const,
          true,
        ).finally(() => logs.close());
        if (options.format === 'json' || options.format === 'ndjson')
          printRows(
            io,
            options.format,
            ['rank', 'thread', 'name', 'score', 'hunts', 'user', 'host', 'decision', 'note'],
            queue.threads as unknown as Row[],
          );
        else
          printRows(
            io,
            options.format,
            ['rank', 'thread', 'name', 'score', 'hunts', 'user', 'host', 'decision', 'why'],
            queueRows(queue.threads),
          );
        if (!options.quiet && options.format === 'table')
          io.stderr.write(
            `${queue.threads.length} of ${queue.total} threads${queue.total > queue.threads.length ? ' (--offset pages on)' : ''}\n`,
          );
        if (!options.quiet && elsewhere) io.stderr.write(`note: ${elsewhere}\n`);
      }),
    );

  const triage = program
    .command('triage')
    .description("the hunter's decisions: act, watch or discard a thread (a hunt's entity), with a note");
  withCommon(triage.command('set'), { rows: false })
    .description('decide on a thread; a discarded one is set apart in later reports of that hunt (undoable)')
    .argument(
      '<hunt>',
      'the hunt (risk, population, baseline, insider, social, beacons.timing, ...), or "thread" for every hunt\'s rows of an entity',
    )
    .argument(
      '<thread>',
      'the entity as the hunt names it (a user, a host pair, a profile id); with "thread", as huntbook threads names it (user:mking, pair:10.0.0.5→c2.example)',
    )
    .addArgument(new Argument('<decision>', 'act | watch | discard').choices([...DECISIONS]))
    .option('--note <text>', 'why')
    .option('--who <name>', 'who decided (default: $USER)')
    .action(
      act(io, async (hunt: string, thread: string, decision: string, raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const id = await withWorkspace(options.db, (ws) => setTriage(ws, hunt, thread, decision, { note: raw.note, who: raw.who }));
        io.stdout.write(`triage ${id}: ${hunt} ${thread}: ${decision}\n`);
      }),
    );
  withCommon(triage.command('undo'), { rows: false })
    .description('take back the decision in force on a thread')
    .argument('<hunt>')
    .argument('<thread>')
    .action(
      act(io, async (hunt: string, thread: string, raw: Record<string, string>) => {
        const options = commonOptions(raw);
        await withWorkspace(options.db, (ws) => undoTriage(ws, hunt, thread));
        io.stdout.write(`${hunt} ${thread}: decision undone\n`);
      }),
    );
  withCommon(triage.command('list'))
    .description('the decisions in force')
    .action(
      act(io, async (raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const { columns, rows } = await withWorkspace(options.db, (ws) => listTriage(ws), true);
        printRows(io, options.format, columns, rows);
      }),
    );
}

export function registerServe(program: Command, io: CommandIO): void {
  withCommon(program.command('serve'), { rows: false })
    .description(
      'the workbench in your browser: runs, top threads and their reasons, results tables, beacon and entity charts, the interaction graph, triage',
    )
    .option('--port <n>', 'port', '8484')
    .option('--host <address>', 'address to bind; anything but loopback requires the token printed at start', '127.0.0.1')
    .option('--open', 'open the browser')
    .addHelpText(
      'after',
      `
Bound to 127.0.0.1 by default. Bound elsewhere (--host 0.0.0.0), every request needs the token
printed at start (open the printed address once: it sets a cookie). The server answers only to
its own Host, refuses cross-origin requests, serves every asset itself (no CDN) under a strict
Content-Security-Policy, and writes nothing but triage decisions.

Example:
  huntbook serve --db case.duckdb --open`,
    )
    .action(
      act(io, async (raw: Record<string, string | boolean>) => {
        const options = commonOptions(raw);
        const port = requireInteger('--port', String(raw.port), 1, 65535);
        const host = String(raw.host);
        const token = isLoopback(host) ? undefined : newToken();
        // Opened once to check it exists and is current; each request opens it again read-only.
        await withWorkspace(options.db, async () => undefined);
        const app = createApp({ db: options.db, host, port, token });
        const server = serve({ fetch: app.fetch, port, hostname: host });
        // The address is said only once it is really listened on: a port in use is one clear line, exit 1.
        await new Promise<void>((resolve, reject) => {
          server.once('listening', () => resolve());
          server.once('error', (error: NodeJS.ErrnoException) => {
            if (error.code === 'EADDRINUSE')
              reject(new HuntbookError(`port ${port} on ${host} is in use (another huntbook serve?); choose another with --port`));
            else if (error.code === 'EADDRNOTAVAIL')
              reject(new HuntbookError(`${host} is not an address of this machine; choose another with --host`));
            else reject(new HuntbookError(`cannot listen on ${host}:${port}: ${error.message}`));
          });
        });
        const shown = host.includes(':') ? `[${host}]` : host;
        const url = `http://${shown}:${port}/${token ? `?token=${token}` : ''}`;
        io.stdout.write(`huntbook workbench: ${url}  (Ctrl-C stops it)\n`);
        if (raw.open)
          spawn(process.platform === 'darwin' ? 'open' : 'xdg-open', [url], { stdio: 'ignore', detached: true })
            .on('error', () => undefined)
            .unref();
        await new Promise<void>((resolve) => {
          const stop = () => server.close(() => resolve());
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );
}
