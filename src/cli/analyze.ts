import { type Command, Option } from 'commander';
import { clusterSource } from '../analyze/cluster.ts';
import { findOutliers } from '../analyze/outliers.ts';
import { sourceKind } from '../analyze/source.ts';
import { UsageError } from '../errors.ts';
import { SCALERS, type ScalerKind } from '../ml/scaling.ts';
import type { Workspace } from '../store/workspace.ts';
import type { CommandIO } from './io.ts';
import { act, commonOptions, printRows, requireInteger, withCommon, withWorkspace } from './common.ts';

const SOURCE_HELP = 'a workspace table, a query ("SELECT ..."), or a .csv/.json/.parquet file';

/** A file SOURCE needs no workspace: it is read into an in-memory one. */
/**
 * Where a SOURCE runs, with the rules of `huntbook sql`: a file in a scratch in-memory database; a
 * table or query over the workspace opened read-only, no file access unless --allow-files.
 */
function withSourceWorkspace<T>(source: string, db: string, allowFiles: boolean, fn: (ws: Workspace) => Promise<T>): Promise<T> {
  if (sourceKind(source) === 'file') return withWorkspace(':memory:', fn);
  return withWorkspace(db, fn, true, { externalAccess: allowFiles });
}

function parseContamination(value: string): 'auto' | number {
  if (value === 'auto') return 'auto';
  const fraction = Number(value);
  if (!(fraction > 0 && fraction <= 0.5)) throw new UsageError(`--contamination must be auto or a fraction in (0, 0.5], got "${value}"`);
  return fraction;
}

export function registerAnalyze(program: Command, io: CommandIO): void {
  withCommon(program.command('outliers'))
    .description('isolation forest over numeric columns: every row scored, the outliers first, with the features that isolated them')
    .argument('<source>', SOURCE_HELP)
    .option('--allow-files', 'let a SOURCE query read files outside the workspace (read_csv, read_text), as huntbook sql --allow-files')
    .requiredOption('--features <list>', 'comma-separated numeric columns, e.g. distinct_event_count,time_count,above,addedweight')
    .option('--contamination <x>', "share of rows to flag, or 'auto' (flag score > 0.5)", 'auto')
    .option('--trees <n>', 'trees in the forest', '100')
    .option('--max-samples <n>', 'rows per tree (ψ)', '256')
    .option('--seed <n>', 'random seed: same seed, same scores', '1')
    .option('--top <n>', 'rows to print (default: the flagged rows, at least 20)')
    .addOption(new Option('--scale <kind>', 'scale features first (trees do not need it)').choices([...SCALERS]).default('none'))
    .addHelpText(
      'after',
      `
Score s = 2^(-E[h]/c(psi)) in (0, 1]: near 1 is isolated in few splits (anomalous), below 0.5 is
ordinary. "reasons" names the features whose splits cut the row loose, with their share.

Examples:
  huntbook outliers results.csv --features distinct_event_count,time_count,above,addedweight --contamination 0.003
  huntbook outliers "SELECT src_ip, count(*) n, sum(bytes_out) b FROM flows GROUP BY 1" --features n,b`,
    )
    .action(
      act(io, async (source: string, raw: Record<string, string>) => {
        const options = commonOptions(raw);
        await withSourceWorkspace(source, options.db, Boolean(raw.allowFiles), async (ws) => {
          const result = await findOutliers(ws, source, {
            features: raw.features,
            contamination: parseContamination(raw.contamination),
            trees: requireInteger('--trees', raw.trees, 1, 10_000),
            maxSamples: requireInteger('--max-samples', raw.maxSamples, 2),
            seed: requireInteger('--seed', raw.seed, 0),
            top: raw.top === undefined ? undefined : requireInteger('--top', raw.top, 1),
            scale: raw.scale as ScalerKind,
          });
          printRows(io, options.format, result.columns, result.rows);
          if (!options.quiet)
            io.stderr.write(`${result.flagged} of ${result.total} rows flagged (score > ${result.threshold.toFixed(4)})\n`);
        });
      }),
    );

  withCommon(program.command('cluster'))
    .description('k-means over numeric columns: per-cluster size, centroid and means, and each row with its cluster')
    .argument('<source>', SOURCE_HELP)
    .option('--allow-files', 'let a SOURCE query read files outside the workspace (read_csv, read_text), as huntbook sql --allow-files')
    .requiredOption('--features <list>', 'comma-separated numeric columns, e.g. tweight,phasemult,scount')
    .option('--k <n|auto>', "number of clusters, or 'auto' to choose by silhouette (the elbow is reported too)", '3')
    .option('--max-k <n>', 'largest k tried by --k auto', '8')
    .option('--n-init <n>', 'k-means++ restarts; the lowest inertia wins', '10')
    .option('--seed <n>', 'random seed', '1')
    .addOption(new Option('--scale <kind>', 'feature scaling before clustering').choices([...SCALERS]).default('standard'))
    .option('--summary', 'print only the per-cluster summary (for json/csv/ndjson)')
    .option('--top <n>', 'rows printed under the summary in table format (smallest clusters first)', '20')
    .addHelpText(
      'after',
      `
Clusters are numbered by size, largest first; rows are listed smallest cluster first, since the
small, far clusters are the ones to look at. Table output shows the summary, then rows.

Example (the seed's "It's all in the numbers"):
  huntbook cluster cluster.csv --features tweight,phasemult,scount --k 3`,
    )
    .action(
      act(io, async (source: string, raw: Record<string, string | boolean>) => {
        const options = commonOptions(raw);
        const k = raw.k === 'auto' ? 'auto' : requireInteger('--k', String(raw.k), 1, 1000);
        await withSourceWorkspace(source, options.db, Boolean(raw.allowFiles), async (ws) => {
          const result = await clusterSource(ws, source, {
            features: String(raw.features),
            k,
            seed: requireInteger('--seed', String(raw.seed), 0),
            nInit: requireInteger('--n-init', String(raw.nInit), 1, 1000),
            scale: raw.scale as ScalerKind,
            maxK: requireInteger('--max-k', String(raw.maxK), 2, 50),
          });
          if (result.choice && !options.quiet) {
            io.stderr.write(
              `k = ${result.choice.k} by silhouette (${result.choice.candidates.map((c) => `k=${c.k}: ${c.silhouette.toFixed(3)}`).join(', ')}); elbow at k = ${result.choice.elbow}\n`,
            );
          }
          if (options.format === 'table') {
            printRows(io, 'table', result.summaryColumns, result.summary);
            if (!raw.summary) {
              io.stdout.write('\n');
              printRows(io, 'table', result.columns, result.rows.slice(0, requireInteger('--top', String(raw.top), 1)));
            }
          } else if (raw.summary) printRows(io, options.format, result.summaryColumns, result.summary);
          else printRows(io, options.format, result.columns, result.rows);
        });
      }),
    );
}
