import { type Command, Option } from 'commander';
import { loadConfig, PEER_KEYS } from '../config.ts';
import { baselineMatrix, defaultBaseline, readBaselineFlags } from '../hunts/baseline/baseline.ts';
import { BASELINE, INSIDER } from '../hunts/registry.ts';
import { text, type Flags } from '../model/flags.ts';
import { huntCommand } from './hunt-command.ts';
import { openLogs } from './logs.ts';
import type { CommandIO } from './io.ts';
import { act, announceConfig, commonOptions, printRows, withCommon, withProgress, withWorkspace } from './common.ts';

function addBaselineOptions(command: Command): Command {
  return command
    .option('--since <ts>', 'only rows at or after this time (ISO 8601)')
    .option('--until <ts>', 'only rows before this time')
    .option(
      '--warmup-days <n>',
      `days of history before scores and first-time flags (config baseline.warmup_days: ${defaultBaseline().warmupDays})`,
    )
    .option(
      '--min-history-days <n>',
      `earlier days a user needs for their own isolation forest (config baseline.min_history_days: ${defaultBaseline().minHistoryDays})`,
    )
    .option('--z <x>', `robust z at which a feature deviates (config baseline.z_threshold: ${defaultBaseline().zThreshold})`)
    .addOption(
      new Option(
        '--peer-key <column>',
        `directory column that makes peer groups (config baseline.peer_key: ${defaultBaseline().peerKey})`,
      ).choices([...PEER_KEYS]),
    )
    .option(
      '--packs <list>',
      `rule packs whose rules are columns, comma-separated names or files (config baseline.packs: ${defaultBaseline().packs.join(',')})`,
    )
    .option('--seed <n>', 'random seed for the per-user forests (default 1)')
    .option('--config <file>', 'configuration file (default ./huntbook.yml if present, over config/huntbook.yml)')
    .option(
      '--logs <url>',
      "where the log tables are: clickhouse://USER@HOST:8123/DATABASE aggregates the user-days there (detections stay here; password in $HUNTBOOK_CLICKHOUSE_PASSWORD); default: the configuration's logs:, else the workspace",
    );
}

export function registerInsiderHunts(hunt: Command, io: CommandIO): void {
  addBaselineOptions(withCommon(hunt.command('baseline')))
    .description(
      "each user's day against their own earlier days and their peers' same day: days of interest, what deviated, first times (the seed's Measuring User Behavior)",
    )
    .option('--user <name>', "only this user's days")
    .option('--matrix', 'print the daily feature matrix itself (every user-day, every feature) instead of the days of interest')
    .option('--top <n>', 'rows to print (default 20)')
    .addHelpText(
      'after',
      `
The matrix: one row per user and day (days without activity are zeros), one column per feature
of config baseline.features (archive_count, mail_count, rename_count, ntu_count, removable_count,
removable_files, latest_logon_hour, logon_hosts, leak_site_visits), one per rule of the packs
(named by rule id), weighted (the day's weighted score, as hunt risk computes it) and day_count (all the user's rows).
Add your own features in huntbook.yml: a table, a SQL boolean over its columns, an aggregate.

Each day is scored against the user's EARLIER days only: a feature deviates when it is above
the user's usual range (90th percentile) and its robust z = (x - median) / max(1.4826 MAD,
sqrt(median), mad_floor) reaches --z. Peers (same role by default) the same day halve a
deviation they share. First times (first for the user, first in the peer group) need history:
none in the first --warmup-days. With --min-history-days of history a user gets their own
isolation forest; before that the day says "learning".

Examples:
  huntbook hunt baseline --top 30
  huntbook hunt baseline --user acm2278
  huntbook hunt baseline --matrix --format csv > matrix.csv`,
    )
    .action(
      act(io, async (raw: Flags) => {
        if (!raw.matrix) return huntCommand(io, raw, BASELINE, 'hunt baseline');
        // The matrix itself is a view of the data, not a ranked run: printed, not kept.
        const options = commonOptions(raw as Record<string, string>);
        const config = loadConfig(text(raw, 'config'));
        announceConfig(io, config, options.quiet);
        const params = readBaselineFlags(config, raw);
        const logs = await openLogs(raw, config);
        try {
          const matrix = await withWorkspace(options.db, (ws) =>
            withProgress('hunt baseline --matrix', !options.quiet, ws, () =>
              baselineMatrix(ws, params, { user: text(raw, 'user'), logs: logs.store }),
            ),
          );
          printRows(io, options.format, matrix.columns, matrix.rows);
        } finally {
          await logs.close();
        }
      }),
    );

  addBaselineOptions(withCommon(hunt.command('insider')))
    .description(
      'who is stealing data, and the story: baseline days, risk, population, phase order and red flags in one ranked list of users',
    )
    .option(
      '--order-days <n>',
      'packaging followed by exfiltration within this many days scores the order bonus (config insider.order_days: 5)',
    )
    .option('--top <n>', 'rows to print (default 20)')
    .addHelpText(
      'after',
      `
score = baseline (the sum of the user's three highest day scores, hunt baseline)
      + risk (the highest Elastic 0-100 risk of their day windows, hunt risk, x 0.5)
      + population (addedweight / 10, +10 in the outlier cluster, hunt population)
      + order (+25 packaging then exfiltration within --order-days; +10 exfiltration on 2+ days)
      + 15 per kind of red flag (directory.left, directory.role-changed, watch-list entries)
The numbers are config/huntbook.yml's insider: section (the defaults shown).
Risk and population run as their own runs (their numbers say so). Each user's story gives the
phases in the order they first appeared, their days of interest and what deviated, the red
flags and the heaviest detections (--format json shows all of it).

Run rules first (huntbook rules run): detections give risk, population, phases and red flags.

Examples:
  huntbook hunt insider --top 10
  huntbook hunt insider --format json --top 1`,
    )
    .action(act(io, async (raw: Flags) => huntCommand(io, raw, INSIDER, 'hunt insider')));
}
