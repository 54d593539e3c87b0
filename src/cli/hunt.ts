import { type Command, Option } from 'commander';
import { DEFAULT_FLOW } from '../hunts/beacons/params.ts';
import type { AnyHunt } from '../hunts/contract.ts';
import { defaultRisk } from '../hunts/risk/risk.ts';
import { FLOW, POPULATION, RISK, SCORED, TIMING } from '../hunts/registry.ts';
import type { Flags } from '../model/flags.ts';
import type { CommandIO } from './io.ts';
import { registerInsiderHunts } from './insider-hunts.ts';
import { registerSocialHunt } from './social-hunt.ts';
import { act, withCommon } from './common.ts';
import { huntCommand } from './hunt-command.ts';

export function registerHunt(program: Command, io: CommandIO): void {
  const hunt = program.command('hunt').description('run a hunt over the workspace: beacons, risk, population, baseline, insider, social');
  const beacons = withCommon(hunt.command('beacons'))
    .description("find C2 beacons: RITA-style timing scores, or the seed's flow and risk-scored searches")
    .addOption(
      new Option(
        '--mode <mode>',
        "timing: regularity of intervals and sizes per pair (RITA v5); scored: the seed's risk-scored search ranked by isolation forest; flow: the seed's first search",
      )
        .choices(['timing', 'scored', 'flow'])
        .default('timing'),
    )
    .addOption(new Option('--source <table>', 'scored mode: proxy/HTTP rows or flows (default: http)').choices(['http', 'flows']))
    .option('--since <ts>', 'only rows at or after this time (ISO 8601); timing mode scores the last 24 h of what is left')
    .option('--until <ts>', 'only rows before this time')
    .option('--top <n>', 'rows to print (timing and flow modes; default 20)')
    .option('--top-fraction <x>', 'scored mode: share of scored pairs reported, ranked by the model (default 0.003)')
    .option('--all', 'scored mode: print every scored pair, not only the top fraction')
    .addOption(new Option('--model <m>', 'scored mode: ranking model (default: iforest)').choices(['iforest', 'kmeans']))
    .addOption(
      new Option(
        '--join <how>',
        "scored mode: 'dest' keeps names that share a CDN address apart; 'splunk' reproduces the seed's join dest_ip exactly",
      )
        .choices(['dest', 'splunk'])
        .default('dest'),
    )
    .option('--ports <list>', `flow mode: destination ports, or 'all' (default ${DEFAULT_FLOW.ports.join(',')})`)
    .option('--min-percentage <n>', 'flow mode: keep beacon_percentage above this (the seed suggests 500; default 0)')
    .option('--seed <n>', 'random seed for the models (default 1)')
    .option('--internal <cidrs>', 'timing mode: internal networks, comma-separated (default from config: RFC 1918 + fd00::/8)')
    .option('--config <file>', 'configuration file (default ./huntbook.yml if present, over config/huntbook.yml)')
    .option('--include-allowed', 'timing mode: also print allow-listed pairs (they rank last)')
    .option('--each-day', 'timing mode: score every UTC day of the data (or of --since/--until) as its own window, not only the last 24 h')
    .option('--no-allowlist', 'timing mode: ignore the allow-list')
    .option(
      '--logs <url>',
      `where the log tables are: clickhouse://USER@HOST:8123/DATABASE runs the hunt's stage there (timing, scored and flow modes; password in $HUNTBOOK_CLICKHOUSE_PASSWORD); default: the workspace`,
    )
    .addHelpText(
      'after',
      `
Scored mode implements the seed's case() tiers as their evident intent, highest tier first with
no gaps (evtmult >300 → 100, >60 → 50; beaconmult above >100 → 200, >5 → 100; urlmult avgurl
>.95 or <.05 → 100); the seed's Splunk text tests them in an order that never reaches the top
tiers. Every row carries its reasons: the multipliers that fired and the features that isolated it.

Timing mode scores one 24 h window, as RITA does: the last 24 h of the data, or of what
--since/--until leave; --each-day scores every day of a longer span (one run per day).
interval_s is the median of the gaps around the dominant interval (within ±jitter_tolerance).

Examples:
  huntbook hunt beacons --db case.duckdb
  huntbook hunt beacons --since 2024-03-01 --until 2024-03-08 --each-day --db case.duckdb
  huntbook hunt beacons --mode scored --all --format csv > scored.csv
  huntbook hunt beacons --mode flow --min-percentage 500`,
    );
  registerRiskHunts(hunt, io);
  registerInsiderHunts(hunt, io);
  registerSocialHunt(hunt, io);
  const modes: Record<string, AnyHunt> = { timing: TIMING, scored: SCORED, flow: FLOW };
  beacons.action(act(io, async (raw: Flags) => huntCommand(io, raw, modes[String(raw.mode)], `hunt beacons (${String(raw.mode)})`)));
}

export function registerRiskHunts(hunt: Command, io: CommandIO): void {
  const risk = defaultRisk();
  withCommon(hunt.command('population'))
    .description(
      "users against the population: how rare each user's set of phases and rules is, clustered (the seed's More Behavioral Hunting)",
    )
    .option('--since <ts>', 'only detections at or after this time')
    .option('--until <ts>', 'only detections before this time')
    .option('--k <n|auto>', 'k-means clusters, or auto (silhouette; the default)')
    .option('--seed <n>', 'random seed (default 1)')
    .option('--top <n>', 'rows to print')
    .option('--config <file>', 'configuration file (default ./huntbook.yml if present, over config/huntbook.yml)')
    .action(act(io, async (raw: Flags) => huntCommand(io, raw, POPULATION, 'hunt population')));

  withCommon(hunt.command('risk'))
    .description("per-entity risk from detections: the seed's weights, phases and multipliers, alert logic, outliers, history")
    .addOption(new Option('--by <entity>', 'entity type to score (default: user)').choices(['user', 'host']))
    .option('--window <duration>', 'window per row: 1d (the default), 12h, 7d ...')
    .option('--since <ts>', 'only detections at or after this time')
    .option('--until <ts>', 'only detections before this time')
    .option(
      '--alert <expr>',
      `alert logic over tweight, scount, dscount, pcount, phasemult, sourcemult, weighted (config risk.alert: ${risk.alert})`,
    )
    .option('--phase-step <n>', `phasemult added per phase above one (config risk.phase_step: ${risk.phaseStep})`)
    .option('--source-step <n>', `sourcemult added per distinct rule above one (config risk.source_step: ${risk.sourceStep})`)
    .option('--cap-k <n>', `a rule's weights in a window add up to at most k × its largest weight (config risk.cap_k: ${risk.capK})`)
    .option('--top <n>', 'rows to print (default 20)')
    .option('--seed <n>', 'random seed for the models (default 1)')
    .option('--config <file>', 'configuration file (default ./huntbook.yml if present, over config/huntbook.yml)')
    .addHelpText(
      'after',
      `
weighted = tweight + scount + phasemult + sourcemult (the seed's "Insider Threat Hunting").
risk is Elastic's 0-100 entity score (sum of weights w_i / i^1.5, sorted, over zeta(1.5) x 100)
with levels unknown < 20 <= low < 40 <= moderate < 70 <= high < 90 <= critical.
Every window's metrics are kept: huntbook entity NAME shows an entity's days. Each row says
which features isolated it (the isolation forest's attribution; windows with the same metrics
share one verdict).
Steps, cap, alert logic and the ATT&CK rule come from config/huntbook.yml (risk:); flags
override them for one run.

Examples:
  huntbook hunt risk --by user
  huntbook hunt risk --by host --window 12h --alert "pcount > 2 or tweight > 800"`,
    )
    .action(act(io, async (raw: Flags) => huntCommand(io, raw, RISK, 'hunt risk')));
}
