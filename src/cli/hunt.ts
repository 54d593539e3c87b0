import { Command, Option } from 'commander';
import type { Row } from '../store/workspace.ts';
import { UsageError } from '../errors.ts';
import { DEFAULT_FLOW, scoredParams } from '../hunts/beacons/params.ts';
import { flowHunt, scoredHunt, type HuntOutput } from '../hunts/beacons/seed-hunts.ts';
import { timingHunt } from '../hunts/beacons/timing.ts';
import { loadConfig } from '../config.ts';
import { defaultRisk, riskHunt, riskParams } from '../hunts/risk/risk.ts';
import { populationHunt } from '../hunts/risk/population.ts';
import type { CommandIO } from './io.ts';
import { registerInsiderHunts } from './insider-hunts.ts';
import { registerSocialHunt } from './social.ts';
import { act, announceConfig, commonOptions, honourTriage, parseDuration, printRows, requireInteger, requireNumber, withCommon, withProgress, withWorkspace } from './common.ts';

function fraction(name: string, value: string): number {
  const x = Number(value);
  if (!(x > 0 && x <= 1)) throw new UsageError(`${name} must be a fraction in (0, 1], got "${value}"`);
  return x;
}

function ports(value: string): number[] {
  if (value === 'all' || value === '') return [];
  return value.split(',').map((p) => requireInteger('--ports', p.trim(), 0, 65535));
}

/** A beacon row's thread, as the hunts name it in results: src→dest (flow mode: src→dest:bytes). */
function beaconThread(row: Row): string {
  if (row.entity !== undefined) return String(row.entity);
  if (row.src !== undefined) return `${String(row.src)}→${String(row.dest)}`;
  return `${String(row.src_ip)}→${String(row.dest ?? row.dest_ip)}${row.bytes_out !== undefined && row.dest === undefined ? `:${String(row.bytes_out)}` : ''}`;
}

export function registerHunt(program: Command, io: CommandIO): void {
  const hunt = program.command('hunt').description('run a hunt over the workspace: beacons, risk, population, baseline, insider, social');
  const beacons = withCommon(hunt.command('beacons'))
    .description('find C2 beacons: RITA-style timing scores, or the seed\'s flow and risk-scored searches')
    .addOption(new Option('--mode <mode>', 'timing: regularity of intervals and sizes per pair (RITA v5); scored: the seed\'s risk-scored search ranked by isolation forest; flow: the seed\'s first search').choices(['timing', 'scored', 'flow']).default('timing'))
    .addOption(new Option('--source <table>', 'scored mode: proxy/HTTP rows or flows').choices(['http', 'flows']).default('http'))
    .option('--since <ts>', 'only rows at or after this time (ISO 8601); timing mode scores the last 24 h of what is left')
    .option('--until <ts>', 'only rows before this time')
    .option('--top <n>', 'rows to print (timing and flow modes)', '20')
    .option('--top-fraction <x>', 'scored mode: share of scored pairs reported, ranked by the model', '0.003')
    .option('--all', 'scored mode: print every scored pair, not only the top fraction')
    .addOption(new Option('--model <m>', 'scored mode: ranking model').choices(['iforest', 'kmeans']).default('iforest'))
    .addOption(new Option('--join <how>', "scored mode: 'dest' keeps names that share a CDN address apart; 'splunk' reproduces the seed's join dest_ip exactly").choices(['dest', 'splunk']).default('dest'))
    .option('--ports <list>', "flow mode: destination ports, or 'all'", DEFAULT_FLOW.ports.join(','))
    .option('--min-percentage <n>', 'flow mode: keep beacon_percentage above this (the seed suggests 500)', '0')
    .option('--seed <n>', 'random seed for the models', '1')
    .option('--internal <cidrs>', 'timing mode: internal networks, comma-separated (default from config: RFC 1918 + fd00::/8)')
    .option('--config <file>', 'configuration file (default ./huntbook.yml if present, over config/huntbook.yml)')
    .option('--include-allowed', 'timing mode: also print allow-listed pairs (they rank last)')
    .option('--each-day', 'timing mode: score every UTC day of the data (or of --since/--until) as its own window, not only the last 24 h')
    .option('--no-allowlist', 'timing mode: ignore the allow-list')
    .addHelpText('after', `
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
  huntbook hunt beacons --mode flow --min-percentage 500`);
  registerRiskHunts(hunt, io);
  registerInsiderHunts(hunt, io);
  registerSocialHunt(hunt, io);
  beacons.action(act(io, async (raw: Record<string, string | boolean | undefined>) => {
    const options = commonOptions(raw);
    const seed = requireInteger('--seed', String(raw.seed), 0);
    const since = raw.since as string | undefined;
    const until = raw.until as string | undefined;
    const config = loadConfig(raw.config as string | undefined);
    announceConfig(io, config, options.quiet);
    const output = await withWorkspace(options.db, (ws) => withProgress(`hunt beacons (${String(raw.mode)})`, !options.quiet, ws, async (): Promise<HuntOutput> => honourTriage(ws, `beacons.${String(raw.mode)}`, await (async (): Promise<HuntOutput> => {
      switch (raw.mode) {
        case 'scored':
          return scoredHunt(ws, {
            table: raw.source as 'http' | 'flows', since, until, params: scoredParams(config, raw.join as 'dest' | 'splunk'),
            model: raw.model as 'iforest' | 'kmeans', topFraction: fraction('--top-fraction', String(raw.topFraction)), seed, all: Boolean(raw.all),
          });
        case 'flow':
          return flowHunt(ws, { params: { ports: ports(String(raw.ports)), minPercentage: Number(raw.minPercentage) || 0 }, since, until, top: requireInteger('--top', String(raw.top), 1) });
        default: {
          const internal = raw.internal ? String(raw.internal).split(',').map((c) => c.trim()).filter(Boolean) : config.networks.internal;
          return timingHunt(ws, {
            params: {
              internal, allow: raw.allowlist === false ? { domains: [], cidrs: [] } : config.beacons.allow, tolerance: config.beacons.jitterTolerance, categorisedFactor: config.beacons.categorisedFactor,
              minHostsForPrevalence: config.beacons.prevalenceMinHosts, strobeRecords: config.beacons.strobeRecords,
            },
            top: requireInteger('--top', String(raw.top), 1), includeAllowed: Boolean(raw.includeAllowed), since, until, eachDay: Boolean(raw.eachDay),
          });
        }
      }
    })(), beaconThread)));
    printRows(io, options.format, output.columns, output.rows);
    if (!options.quiet) for (const note of output.notes) io.stderr.write(`${note}\n`);
  }));
}

export function registerRiskHunts(hunt: Command, io: CommandIO): void {
  withCommon(hunt.command('population'))
    .description("users against the population: how rare each user's set of phases and rules is, clustered (the seed's More Behavioral Hunting)")
    .option('--since <ts>', 'only detections at or after this time')
    .option('--until <ts>', 'only detections before this time')
    .option('--k <n|auto>', 'k-means clusters, or auto (silhouette)', 'auto')
    .option('--seed <n>', 'random seed', '1')
    .option('--top <n>', 'rows to print')
    .option('--config <file>', 'configuration file (default ./huntbook.yml if present, over config/huntbook.yml)')
    .action(act(io, async (raw: Record<string, string>) => {
      const options = commonOptions(raw);
      const config = loadConfig(raw.config);
      announceConfig(io, config, options.quiet);
      const output = await withWorkspace(options.db, (ws) => withProgress('hunt population', !options.quiet, ws, async () => honourTriage(ws, 'population', await populationHunt(ws, {
        multipliers: config.population.multipliers,
        since: raw.since, until: raw.until, k: raw.k === 'auto' ? 'auto' : requireInteger('--k', raw.k, 1, 50), seed: requireInteger('--seed', raw.seed, 0),
        top: raw.top === undefined ? undefined : requireInteger('--top', raw.top, 1),
      }), (r) => String(r.user))));
      printRows(io, options.format, output.columns, output.rows);
      if (!options.quiet) for (const note of output.notes) io.stderr.write(`${note}\n`);
    }));

  withCommon(hunt.command('risk'))
    .description("per-entity risk from detections: the seed's weights, phases and multipliers, alert logic, outliers, history")
    .addOption(new Option('--by <entity>', 'entity type to score').choices(['user', 'host']).default('user'))
    .option('--window <duration>', 'window per row: 1d, 12h, 7d ...', '1d')
    .option('--since <ts>', 'only detections at or after this time')
    .option('--until <ts>', 'only detections before this time')
    .option('--alert <expr>', `alert logic over tweight, scount, dscount, pcount, phasemult, sourcemult, weighted (config risk.alert: ${defaultRisk().alert})`)
    .option('--phase-step <n>', `phasemult added per phase above one (config risk.phase_step: ${defaultRisk().phaseStep})`)
    .option('--source-step <n>', `sourcemult added per distinct rule above one (config risk.source_step: ${defaultRisk().sourceStep})`)
    .option('--cap-k <n>', `a rule's weights in a window add up to at most k × its largest weight (config risk.cap_k: ${defaultRisk().capK})`)
    .option('--top <n>', 'rows to print', '20')
    .option('--seed <n>', 'random seed for the models', '1')
    .option('--config <file>', 'configuration file (default ./huntbook.yml if present, over config/huntbook.yml)')
    .addHelpText('after', `
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
  huntbook hunt risk --by host --window 12h --alert "pcount > 2 or tweight > 800"`)
    .action(act(io, async (raw: Record<string, string>) => {
      const options = commonOptions(raw);
      const config = loadConfig(raw.config);
      announceConfig(io, config, options.quiet);
      // The configuration in force, with the flags given on this command line over it.
      const params = riskParams(config, {
        by: raw.by, windowSeconds: parseDuration('--window', raw.window), since: raw.since, until: raw.until, seed: requireInteger('--seed', raw.seed, 0),
        ...(raw.alert !== undefined ? { alert: raw.alert } : {}),
        ...(raw.phaseStep !== undefined ? { phaseStep: requireNumber('--phase-step', raw.phaseStep, 0) } : {}),
        ...(raw.sourceStep !== undefined ? { sourceStep: requireNumber('--source-step', raw.sourceStep, 0) } : {}),
        ...(raw.capK !== undefined ? { capK: requireInteger('--cap-k', raw.capK, 1, 1_000_000) } : {}),
      });
      const output = await withWorkspace(options.db, (ws) => withProgress('hunt risk', !options.quiet, ws, async () => honourTriage(ws, 'risk', await riskHunt(ws, params, requireInteger('--top', raw.top, 1)), (r) => String(r.entity))));
      printRows(io, options.format, output.columns, output.rows);
      if (!options.quiet) for (const note of output.notes) io.stderr.write(`${note}\n`);
    }));
}
