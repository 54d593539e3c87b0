import { Command, Option } from 'commander';
import { UsageError } from '../errors.ts';
import { DEFAULT_FLOW, DEFAULT_SCORED } from '../hunts/beacons/params.ts';
import { flowHunt, scoredHunt, type HuntOutput } from '../hunts/beacons/seed-hunts.ts';
import { timingHunt } from '../hunts/beacons/timing.ts';
import { loadConfig } from '../config.ts';
import type { CliIO } from './io.ts';
import { commonOptions, printRows, requireInteger, withCommon, withWorkspace } from './main.ts';

function fraction(name: string, value: string): number {
  const x = Number(value);
  if (!(x > 0 && x <= 1)) throw new UsageError(`${name} must be a fraction in (0, 1], got "${value}"`);
  return x;
}

function ports(value: string): number[] {
  if (value === 'all' || value === '') return [];
  return value.split(',').map((p) => requireInteger('--ports', p.trim(), 0, 65535));
}

export function registerHunt(program: Command, io: CliIO): void {
  const hunt = program.command('hunt').description('run a hunt over the workspace: beacons (more hunts land over time)');
  const beacons = withCommon(hunt.command('beacons'))
    .description('find C2 beacons: RITA-style timing scores, or the seed\'s flow and risk-scored searches')
    .addOption(new Option('--mode <mode>', 'timing: regularity of intervals and sizes per pair (RITA v5); scored: the seed\'s risk-scored search ranked by isolation forest; flow: the seed\'s first search').choices(['timing', 'scored', 'flow']).default('timing'))
    .addOption(new Option('--source <table>', 'scored mode: proxy/HTTP rows or flows').choices(['http', 'flows']).default('http'))
    .option('--since <ts>', 'only rows at or after this time (ISO 8601)')
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
    .option('--no-allowlist', 'timing mode: ignore the allow-list')
    .addHelpText('after', `
Scored mode implements the seed's case() tiers as their evident intent, highest tier first with
no gaps (evtmult >300 → 100, >60 → 50; beaconmult above >100 → 200, >5 → 100; urlmult avgurl
>.95 or <.05 → 100); the seed's Splunk text tests them in an order that never reaches the top
tiers. Every row carries its reasons: the multipliers that fired and the features that isolated it.

Examples:
  huntbook hunt beacons --db case.duckdb
  huntbook hunt beacons --mode scored --all --format csv > scored.csv
  huntbook hunt beacons --mode flow --min-percentage 500`);
  beacons.action(async (raw: Record<string, string | boolean | undefined>) => {
    const options = commonOptions(raw);
    const seed = requireInteger('--seed', String(raw.seed), 0);
    const since = raw.since as string | undefined;
    const until = raw.until as string | undefined;
    const output = await withWorkspace(options.db, async (ws): Promise<HuntOutput> => {
      switch (raw.mode) {
        case 'scored':
          return scoredHunt(ws, {
            table: raw.source as 'http' | 'flows', since, until, params: { ...DEFAULT_SCORED, join: raw.join as 'dest' | 'splunk' },
            model: raw.model as 'iforest' | 'kmeans', topFraction: fraction('--top-fraction', String(raw.topFraction)), seed, all: Boolean(raw.all),
          });
        case 'flow':
          return flowHunt(ws, { params: { ports: ports(String(raw.ports)), minPercentage: Number(raw.minPercentage) || 0 }, since, until, top: requireInteger('--top', String(raw.top), 1) });
        default: {
          const config = loadConfig(raw.config as string | undefined);
          const internal = raw.internal ? String(raw.internal).split(',').map((c) => c.trim()).filter(Boolean) : config.networks.internal;
          return timingHunt(ws, {
            params: {
              internal, allow: raw.allowlist === false ? { domains: [], cidrs: [] } : config.beacons.allow, tolerance: config.beacons.jitterTolerance,
              minHostsForPrevalence: config.beacons.prevalenceMinHosts, strobeRecords: config.beacons.strobeRecords,
            },
            top: requireInteger('--top', String(raw.top), 1), includeAllowed: Boolean(raw.includeAllowed),
          });
        }
      }
    });
    printRows(io, options.format, output.columns, output.rows);
    if (!options.quiet) for (const note of output.notes) io.stderr.write(`${note}\n`);
  });
}
