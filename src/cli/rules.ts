import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { finishRun, startRun } from '../hunts/run.ts';
import { loadRuleSources } from '../rules/catalog.ts';
import { planRules, refuseBadRegexes, REGEX_REFUSED, RULES_MEMORY_LIMIT, runRules } from '../rules/engine.ts';
import type { Problem } from '../rules/model.ts';
import type { Row } from '../store/workspace.ts';
import { createProgress } from '../progress.ts';
import { escapeControl } from '../report/format.ts';
import type { CommandIO } from './io.ts';
import { act, commonOptions, printRows, withCommon, withWorkspace } from './common.ts';
import { ruleStats } from '../rules/stats.ts';
import { UsageError } from '../errors.ts';
import type { Flags } from '../model/flags.ts';
import { landRuleCandidates } from '../rules/pushdown.ts';
import { WORKSPACE_LOGS } from '../store/logs.ts';
import { openLogs } from './logs.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRules(program: Command, io: CommandIO): void {
  const rules = program
    .command('rules')
    .description('detection rules (native YAML packs and Sigma): lint them, run them into detections, see which fire');
  withCommon(rules.command('stats'))
    .description('which rules fire and how much: detections, entities, share of all detections and weight, noisy rules flagged')
    .option('--noisy <share>', 'flag a rule holding at least this share of all detections', '0.25')
    .option('--since <ts>', 'only detections at or after this time')
    .option('--until <ts>', 'only detections before this time')
    .addHelpText(
      'after',
      `
A noisy rule drowns the others in hunt risk and hunt population (the risk hunt caps a rule's
weight per window at risk.cap_k x its largest). Tune it, drop it, or allow-list what it matches.

Example:
  huntbook rules stats --db case.duckdb --format csv > rule-stats.csv`,
    )
    .action(
      act(io, async (raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const share = Number(raw.noisy);
        if (!(share > 0 && share <= 1)) throw new UsageError(`--noisy must be a share in (0, 1], got "${raw.noisy}"`);
        const { columns, rows } = await withWorkspace(
          options.db,
          (ws) => ruleStats(ws, { noisyShare: share, since: raw.since, until: raw.until }),
          true,
        );
        if (rows.length === 0) throw new UsageError('no detections yet: huntbook rules run first');
        printRows(io, options.format, columns, rows);
        const noisy = rows.filter((r) => r.noisy === true);
        if (!options.quiet && noisy.length > 0)
          io.stderr.write(
            `noisy: ${noisy.map((r) => `${String(r.rule_id)} (${Math.round(Number(r.share) * 100)} % of detections)`).join(', ')}\n`,
          );
      }),
    );
  withCommon(rules.command('lint'))
    .description('check rule packs and Sigma rules; problems are listed as data (severity, file, line, rule)')
    .argument('[packs...]', 'native rule packs (default: the shipped packs in rules/)')
    .option('--sigma <path>', 'Sigma rules: a .yml file, a directory or a .tar.gz (repeatable)', collect, [])
    .addHelpText(
      'after',
      `
Exit code 1 when any problem is an error. Sigma rules that use what huntbook does not support
(a log source with no mapping, a correlation reading a rule that cannot run) are listed as warnings with the reason.

Examples:
  huntbook rules lint rules/insider.yml
  huntbook rules lint --sigma sigma-rules.tar.gz --format csv > sigma-lint.csv`,
    )
    .action(
      act(io, async (packs: string[], raw: Record<string, unknown>) => {
        const options = commonOptions(raw);
        const { rules: loaded, problems } = await loadRuleSources(packs, raw.sigma as string[]);
        const plan = planRules(loaded);
        // Patterns are compiled by the same engine the run uses.
        const regexCheck = await refuseBadRegexes(plan.planned);
        const skipped = [...plan.skipped, ...regexCheck.skipped];
        const all: Problem[] = [
          ...problems,
          ...skipped.map(
            (s): Problem => ({
              severity: s.rule.origin === 'sigma' && s.reason !== REGEX_REFUSED ? 'warning' : 'error',
              file: s.rule.file,
              line: s.rule.line,
              rule: s.rule.id,
              message: `skipped: ${s.detail}`,
            }),
          ),
        ];
        printRows(
          io,
          options.format,
          ['severity', 'file', 'line', 'rule', 'message'],
          all.map((p) => ({ severity: p.severity, file: p.file, line: p.line ?? null, rule: p.rule ?? null, message: p.message })),
        );
        if (!options.quiet)
          io.stderr.write(
            `${loaded.length} rules loaded, ${loaded.length - skipped.length} runnable, ${all.filter((p) => p.severity === 'error').length} errors, ${all.filter((p) => p.severity === 'warning').length} warnings\n`,
          );
        return all.some((p) => p.severity === 'error') ? 1 : 0;
      }),
    );

  withCommon(rules.command('run'))
    .description('run rules over the workspace and append what they find to the detections table')
    .argument('[packs...]', 'native rule packs (default: the shipped packs in rules/)')
    .option('--sigma <path>', 'Sigma rules: a .yml file, a directory or a .tar.gz (repeatable)', collect, [])
    .option('--config <file>', 'configuration (level weights, |expand placeholders); default ./huntbook.yml over config/huntbook.yml')
    .option('--watchlist <csv>', 'a watch list you keep (user,date,flag[,weight]): each row a red-flag detection (config rules.watchlist)')
    .option(
      '--logs <url>',
      'the logs are in ClickHouse (clickhouse://USER@HOST:8123/DB): the rows some rule matches come back, the detections land here',
    )
    .option('--memory-limit <size>', `DuckDB memory for the run, e.g. 4GB: more caches more of a big table (default ${RULES_MEMORY_LIMIT})`)
    .addHelpText(
      'after',
      `
Each detection keeps ts, rule, phase, weight, the entity it names (user, host), the source table
and row, and the fields that matched. Running again over the same events adds nothing; a run
stopped half-way (Ctrl-C) leaves nothing, so running it again redoes it whole.
How it scales: each event is checked only against the rules one of whose cheap necessary
conditions it meets (an exact value, a file name, a substring): all of SigmaHQ's Windows rules
run at 13–16 k events/s on two cores, in batches of 100,000 events per log source, so memory
stays near the --memory-limit however many events the workspace holds.
Sigma correlation rules (event_count, value_count, temporal, temporal_ordered) run after the
rules they read, as SQL windows over those rules' matches: one detection per episode, with the
correlation's level; the rules they read are not detections of their own unless generate: true.
Sigma levels become weights: informational 1, low 21, medium 47, high 73, critical 99; the
phase is the rule's first ATT&CK tactic tag (defense-evasion, or v19's stealth / defense-impairment).

Examples:
  huntbook rules run --db case.duckdb                          # the shipped packs
  huntbook rules run rules/insider.yml --sigma ./sigma/rules   # a pack and a Sigma folder`,
    )
    .action(
      act(io, async (packs: string[], raw: Record<string, unknown>) => {
        const options = commonOptions(raw);
        const config = loadConfig(raw.config as string | undefined);
        const { rules: loaded, problems } = await loadRuleSources(packs, raw.sigma as string[], config.rules.levelWeights);
        const broken = problems.filter((x) => x.severity === 'error');
        for (const p of broken) io.stderr.write(`huntbook: ${escapeControl(`${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`)}\n`);
        const progress = createProgress(process.stderr, !options.quiet);
        const logs = await openLogs(raw as Flags, config);
        if (logs.store !== WORKSPACE_LOGS && !options.quiet) io.stderr.write(`logs: ${logs.store.where}\n`);
        await withWorkspace(options.db, async (ws) => {
          // Logs in ClickHouse: the rows some rule matches come back first, standing in for the
          // workspace's tables. Before the transaction: rows a transaction adds carry row ids past
          // 2^62, and the engine cuts its batches by row id.
          const pushed =
            logs.store === WORKSPACE_LOGS ? undefined : await landRuleCandidates(ws, loaded, logs.store, config.rules.placeholders);
          // One transaction: an interrupted run (Ctrl-C, a crash) leaves no detections and no run record.
          const { run, report } = await ws
            .transaction(async () => {
              const run = await startRun(ws, 'rules', { packs, sigma: raw.sigma });
              const report = await runRules(ws, pushed?.rules ?? loaded, {
                lanes: pushed ? 1 : undefined,
                runId: run.runId,
                placeholders: config.rules.placeholders,
                memoryLimit: memoryLimit(raw.memoryLimit as string | undefined),
                watchlist: (raw.watchlist as string | undefined) ?? config.rules.watchlist,
                onProgress: ({ eventsDone, eventsTotal }) =>
                  progress.update('rules', eventsTotal > 0 ? eventsDone / eventsTotal : undefined, {
                    done: Math.round(eventsDone),
                    unit: 'events',
                  }),
              });
              report.skipped.push(...(pushed?.skipped ?? []));
              await finishRun(ws, run, 'rules', []);
              return { run, report };
            })
            .finally(() => pushed?.release());
          progress.done();
          const counts = await ws.query(
            'SELECT rule_id, any_value(rule) AS rule, any_value(phase) AS phase, any_value(weight) AS weight, count(*) AS detections, count(DISTINCT entity) AS entities FROM detections WHERE run_id = $1 GROUP BY rule_id ORDER BY detections DESC, rule_id',
            [run.runId],
          );
          printRows(io, options.format, ['rule_id', 'rule', 'phase', 'weight', 'detections', 'entities'], counts as Row[]);
          // Watch-list rows that were refused, each with its line: the rest landed.
          const watchlistPath = (raw.watchlist as string | undefined) ?? config.rules.watchlist;
          for (const r of report.watchlistRefused)
            io.stderr.write(
              `huntbook: ${escapeControl(`${watchlistPath}:${r.line}: field ${r.field}: ${r.reason}; row refused, the rest loaded`)}\n`,
            );
          // A rule that cannot run because of its own text is named, so its author can fix it.
          for (const s of report.skipped.filter((x) => x.reason === REGEX_REFUSED)) {
            io.stderr.write(`huntbook: ${s.rule.file}${s.rule.line ? `:${s.rule.line}` : ''}: rule ${s.rule.id} skipped: ${s.detail}\n`);
          }
          if (!options.quiet) {
            const reasons = new Map<string, number>();
            for (const s of report.skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
            if (broken.length > 0)
              io.stderr.write(`${broken.length} rule${broken.length === 1 ? '' : 's'} could not be loaded (above); the rest ran\n`);
            const unread = Object.entries(pushed?.unread ?? {});
            if (unread.length > 0)
              io.stderr.write(
                `note: the workspace itself holds ${unread.map(([t, n]) => `${n} ${t} rows`).join(', ')}, not read with --logs (run rules without --logs for them)\n`,
              );
            if (pushed)
              io.stderr.write(
                `${logs.store.where}: ${pushed.scanned.toLocaleString('en-US')} rows of the tables the rules read; ${pushed.returned.toLocaleString('en-US')} came back (rows some rule matched, and the directory)\n`,
              );
            io.stderr.write(
              `${report.rules} rules run in ${report.groups} scans (${report.seconds.toFixed(1)} s); ${report.inserted} new detections; ${report.skipped.length} skipped${reasons.size ? ` (${[...reasons].map(([r, n]) => `${n} ${r}`).join(', ')})` : ''}; run ${run.runId}\n`,
            );
          }
        }).finally(() => logs.close());
        return broken.length > 0 ? 1 : 0;
      }),
    );
}

/** --memory-limit as DuckDB takes it (4GB, 512MiB, 80%); anything else is a usage error naming the forms. */
function memoryLimit(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^\s*\d+(?:\.\d+)?\s*(?:[KMGT]i?B|B|%)\s*$/i.test(value))
    throw new UsageError(`--memory-limit takes a size like 4GB, 512MB, 1.5GiB or a share of RAM like 80%, got "${value}"`);
  return value.trim();
}
