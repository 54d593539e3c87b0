/**
 * An SPL pipeline as one DuckDB statement: each command a CTE over the one before (one
 * translator function per command, in commands-*.ts), the search's events from the canonical
 * tables its index= and sourcetype= name (events.ts). Field names become quoted identifiers,
 * values bound parameters: SPL text never becomes SQL text.
 */
import { duckdb } from '../store/dialect-duckdb.ts';
import { ident, join, raw, render, sql } from '../store/sql-template.ts';
import type { Command, Pipeline } from './ast.ts';
import { append, joinCommand, prepareJoin } from './commands-join.ts';
import { inputlookup, lookup, makeresults } from './commands-lookup.ts';
import { bin, evaluate, fillnull, makemv, mvexpand, nomv, rex, search, where } from './commands-rows.ts';
import { dedup, fields, headOrTail, rename, sort, table } from './commands-shape.ts';
import { chart, eventstats, stats, streamstats, timechart, topOrRare } from './commands-stats.ts';
import { events } from './events.ts';
import { type Rel, type SplOptions, Translate, type Translation, type Translator } from './translator.ts';
import { as } from './values.ts';

export type { SplOptions, Translation };

const COMMANDS: Record<string, Translator> = {
  search,
  where,
  eval: evaluate,
  stats,
  eventstats,
  table,
  fields,
  rename,
  sort,
  head: headOrTail(false),
  tail: headOrTail(true),
  dedup,
  nomv,
  bin,
  bucket: bin,
  fillnull,
  join: joinCommand,
  top: topOrRare(false),
  rare: topOrRare(true),
  streamstats,
  timechart,
  chart,
  rex,
  mvexpand,
  makemv,
  append,
  lookup,
};

/** Commands that make the events a search starts with (after a leading pipe). */
const GENERATING: Record<string, (t: Translate, command: Command) => Rel> = { search: events, inputlookup, makeresults };

/** The SPL commands huntbook runs. */
export const SUPPORTED_COMMANDS = Object.keys(COMMANDS);

function pipelineRel(t: Translate, pipeline: Pipeline): Rel {
  const [first, ...rest] = pipeline.commands;
  const generate = GENERATING[first.name];
  if (!generate) {
    t.fail(
      first.at,
      COMMANDS[first.name]
        ? `a search must start with its events (search …, | inputlookup, | makeresults), not "${first.name}"`
        : `command "${first.name}" is not supported`,
    );
  }
  // A join's subsearch first, where the events a search starts with can be narrowed to its keys (commands-join.ts).
  const joinAt = rest.findIndex((c) => c.name === 'join');
  if (first.name === 'search' && joinAt >= 0 && t.options.pushdown !== false) {
    const mark = t.mark();
    try {
      prepareJoin(t, rest[joinAt], rest.slice(joinAt + 1));
    } catch {
      // Translated in its place instead, which says what is wrong with it in the search's order.
      t.reset(mark);
    }
  }
  let rel = generate(t, first);
  for (const command of rest) {
    const translator = COMMANDS[command.name];
    if (!translator) t.fail(command.at, `command "${command.name}" is not supported`);
    rel = translator(t, rel, command);
  }
  return rel;
}

/** The statement an SPL pipeline runs as (the output gives _time as a time, every value as text, a multivalue as a list). */
export function translate(text: string, pipeline: Pipeline, options: SplOptions): Translation {
  const t: Translate = new Translate(text, options, (sub): Rel => pipelineRel(t, sub));
  const rel = pipelineRel(t, pipeline);
  const out = [...rel.fields].map(([name, kind]) => {
    const column = sql`${ident(name)}`;
    if (name === '_time' && kind === 'num')
      return sql`strftime(to_timestamp(${column}) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') AS ${ident(name)}`;
    if (kind === 'mv') return sql`${column} AS ${ident(name)}`;
    return sql`${as({ sql: column, kind }, 'str')} AS ${ident(name)}`;
  });
  const statement = sql`WITH ${join(t.steps, ',\n')}
SELECT ${out.length ? join(out) : raw('NULL AS "_empty"')} FROM ${ident(rel.name)} ORDER BY __seq, __tie`;
  const rendered = render(statement, duckdb);
  return {
    text: rendered.text,
    values: rendered.params,
    fields: [...rel.fields.keys()],
    warnings: [...t.missing].sort(),
    fromExtra: { fields: [...t.fromExtra].sort(), sources: [...t.sources] },
  };
}
