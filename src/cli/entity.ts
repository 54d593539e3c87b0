import { Option, type Command } from 'commander';
import { UsageError } from '../errors.ts';
import type { CommandIO } from './io.ts';
import { act, commonOptions, formatDuration, parseDuration, printRows, withCommon, withWorkspace } from './common.ts';
import { NORMALISE_HOST, NORMALISE_USER } from '../model/entities.ts';

export function registerEntity(program: Command, io: CommandIO): void {
  withCommon(program.command('entity'))
    .description("one entity's history: its windows (metrics, percentile rank against the population) and its detections")
    .argument('<name>', 'user or host name (DOMAIN\\user, user@domain and case are folded)')
    .addOption(new Option('--type <type>', 'entity type').choices(['user', 'host']).default('user'))
    .option('--detections', 'print the detections (for json/csv/ndjson; tables show both)')
    .option('--window <duration>', 'which window size to list (1d, 14d ...); default: the size of the latest hunt risk run for this entity')
    .action(
      act(io, async (name: string, raw: Record<string, string | boolean>) => {
        const options = commonOptions(raw);
        await withWorkspace(
          options.db,
          async (ws) => {
            const normalised = await ws.scalar(`SELECT ${raw.type === 'host' ? NORMALISE_HOST('$1') : NORMALISE_USER('$1')}`, [name]);
            if (normalised === null || String(normalised).trim() === '')
              throw new UsageError(`which ${raw.type}? "${name}" names none (give a user name, or --type host and a host name)`);
            const entity = String(normalised);
            // One window size per list: a day and a fortnight are not comparable rows.
            const latest = await ws.scalar(
              `SELECT epoch(window_end - window_start) FROM entity_history WHERE hunt = 'risk' AND entity_type = $1 AND entity = $2
          ORDER BY run_id DESC LIMIT 1`,
              [raw.type as string, entity],
            );
            const windowSeconds = raw.window ? parseDuration('--window', String(raw.window)) : Number(latest ?? 86400);
            const days = await ws.queryWithColumns(
              `
          SELECT window_start, metrics->>'tweight' AS tweight, metrics->>'scount' AS scount, metrics->>'pcount' AS pcount, metrics->>'weighted' AS weighted,
                 metrics->>'risk' AS risk, metrics->>'level' AS level, metrics->>'alert' AS alert, metrics->>'percentile' AS percentile, metrics->>'phases' AS phases
            FROM entity_history WHERE hunt = 'risk' AND entity_type = $1 AND entity = $2 AND epoch(window_end - window_start) = $3 ORDER BY window_start`,
              [raw.type as string, entity, windowSeconds],
            );
            const sizes = (
              await ws.query(
                `SELECT DISTINCT epoch(window_end - window_start) AS s FROM entity_history WHERE hunt = 'risk' AND entity_type = $1 AND entity = $2 ORDER BY s`,
                [raw.type as string, entity],
              )
            )
              .map((r) => Number(r.s))
              .filter((size) => size !== windowSeconds);
            const detections = await ws.queryWithColumns(
              'SELECT ts, rule, phase, weight, source_table, event_ref, details FROM detections WHERE entity_type = $1 AND entity = $2 ORDER BY ts, rule',
              [raw.type as string, entity],
            );
            if (days.rows.length === 0 && detections.rows.length === 0)
              throw new UsageError(`no history or detections for ${raw.type} "${entity}" (run rules and huntbook hunt risk first)`);
            if (options.format === 'table') {
              const others = sizes.length ? ` (also scored with windows of ${sizes.map(formatDuration).join(', ')}: --window)` : '';
              io.stdout.write(
                `${raw.type} ${entity}: ${days.rows.length} window(s) of ${formatDuration(windowSeconds)} scored${others}, ${detections.rows.length} detection(s)\n\n`,
              );
              printRows(io, 'table', days.columns, days.rows);
              io.stdout.write('\n');
              printRows(io, 'table', detections.columns, detections.rows);
            } else if (raw.detections) printRows(io, options.format, detections.columns, detections.rows);
            else printRows(io, options.format, days.columns, days.rows);
          },
          true,
        );
      }),
    );
}
