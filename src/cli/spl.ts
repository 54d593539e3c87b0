import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { UsageError } from '../errors.ts';
import type { SplOptions } from '../spl/translate.ts';
import type { Workspace } from '../store/workspace.ts';
import type { CommandIO } from './io.ts';
import { act, commonOptions, printRows, withCommon, withWorkspace } from './common.ts';

/** --now: a time (ISO 8601), 'now' (the default), or 'latest' (the newest log event in the workspace: old logs as if live; detections may be dated later). */
async function nowOf(ws: Workspace | undefined, value: string | undefined): Promise<Date> {
  if (value === undefined || value === 'now') return new Date();
  if (value === 'latest') {
    if (!ws) return new Date();
    const tables = ['flows', 'http', 'dns', 'tls', 'events', 'activity'];
    const latest = await ws.scalar(
      `SELECT CAST(max(t) AS VARCHAR) FROM (${tables.map((t) => `SELECT max(ts) AS t FROM ${t}`).join(' UNION ALL ')})`,
    );
    return latest ? new Date(`${String(latest).replace(' ', 'T')}Z`) : new Date();
  }
  const ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
  if (Number.isNaN(ms)) throw new UsageError(`--now "${value}" is not a time (ISO 8601, 'now' or 'latest')`);
  return new Date(ms);
}

export function registerSpl(program: Command, io: CommandIO): void {
  withCommon(program.command('spl'))
    .description('run a Splunk search (SPL) over the workspace: the part of SPL hunting searches use, translated to SQL')
    .argument('[query]', "the search, e.g. 'sourcetype=stream:http | stats count by src_ip, dest | where count > 100'")
    .option('-f, --file <path>', 'read the search from a file (e.g. hunt.spl)')
    .option('--explain', 'print the SQL the search runs as (and its values), do not run it')
    .option('--max-rows <n>', 'print at most this many rows (default 100000; 0: all, which must fit in memory)', '100000')
    .option('--config <file>', 'configuration file (its spl: section maps sourcetypes and indexes to tables)')
    .option(
      '--now <time>',
      'what relative times (earliest=-1d) count back from: a time (ISO 8601), now (default) or latest (the newest event in the workspace)',
    )
    .addHelpText(
      'after',
      `
Where the events are: index= and sourcetype= name the workspace's tables through the configuration's
spl: section (stream:tcp, bro:conn:json → flows; stream:http, proxy sourcetypes → http; stream:dns →
dns; xmlwineventlog → events; index=a_summary_index → detections; add your own in huntbook.yml). Fields are the tables' columns, _time the event time, and
CIM names (src, dest, phase_id, source_id …). A field that exists nowhere is null, as in Splunk,
and said on stderr.

Commands: search, where, eval, stats, eventstats, streamstats, timechart (… by), chart, table,
fields, rename, sort, head, tail, dedup, nomv, bin/bucket, fillnull, rex, mvexpand, makemv, join
and append (subsearch in [ ]), lookup, | inputlookup, | makeresults, top, rare. Anything else is refused with its
place (spl:LINE:COL: command "transaction" is not supported), never approximated.

Examples:
  huntbook spl 'sourcetype=stream:http | stats count by src_ip, dest | where count > 100'
  huntbook spl 'index=a_summary_index | stats values(phase_id) as phase_id dc(source_id) as n by user' --format csv
  huntbook spl -f seed-beacons.spl --now latest
  huntbook spl 'sourcetype=stream:tcp dest_port=443 | top 5 dest_ip' --explain`,
    )
    .action(
      act(io, async (query: string | undefined, raw: Record<string, unknown>) => {
        const options = commonOptions(raw);
        const file = typeof raw.file === 'string' ? raw.file : undefined;
        if ((query === undefined) === (file === undefined))
          throw new UsageError('give the search as an argument or with -f FILE (one of them)');
        const text = file ? readFileSync(file, 'utf8') : String(query);
        const now = typeof raw.now === 'string' ? raw.now : undefined;
        const { explainSpl, runSpl } = await import('../spl/run.ts');
        const config = loadConfig(typeof raw.config === 'string' ? raw.config : undefined);
        const mapping = { sourcetypes: config.spl.sourcetypes, indexes: config.spl.indexes };
        if (raw.explain) {
          // The workspace when there is one (lookups, timechart's series, --now latest); the SQL alone otherwise.
          const explain = async (ws: Workspace | undefined) => {
            const spl: SplOptions = { now: await nowOf(ws, now === 'latest' && !ws ? undefined : now), ...mapping };
            const plan = await explainSpl(ws, text, spl);
            io.stdout.write(`${plan.text}\n`);
            if (plan.values.length > 0)
              io.stdout.write(`-- values: ${JSON.stringify(plan.values.map((v) => (typeof v === 'bigint' ? String(v) : v)))}\n`);
          };
          if (existsSync(options.db)) await withWorkspace(options.db, explain, true, { externalAccess: false });
          else await explain(undefined);
          return;
        }
        await withWorkspace(
          options.db,
          async (ws) => {
            const maxRows = Number(raw.maxRows);
            if (!Number.isInteger(maxRows) || maxRows < 0) throw new UsageError(`--max-rows ${String(raw.maxRows)} is not a count`);
            const result = await runSpl(ws, text, { now: await nowOf(ws, now), ...mapping, maxRows });
            if (result.warnings.length > 0 && !options.quiet)
              io.stderr.write(`warning: field(s) found nowhere, null as in Splunk: ${result.warnings.join(', ')}\n`);
            printRows(io, options.format, result.columns, result.rows);
            if (result.more > 0)
              io.stderr.write(
                `warning: ${result.more} more row(s) not printed (--max-rows ${maxRows}); narrow the search (| stats, | head) or raise --max-rows\n`,
              );
          },
          true,
          { externalAccess: false },
        );
      }),
    );
}
