/**
 * Triage, the seed's "act, watch or discard": a decision on a thread (one hunt's entity: a user, a
 * host pair, a profile) with a note. The latest decision per thread is in force; a discarded thread
 * is left out of the top threads of later runs of that hunt (listed apart, undoable).
 */
import { UsageError } from '../errors.ts';
import { addLabel } from '../hunts/social/labels.ts';
import type { Row, Workspace } from '../store/workspace.ts';

/**
 * A result row's thread, in SQL over a results row `r`: `user:NAME`, `profile:ID`, `pair:SRC→DEST`
 * (the beacon hunts' host, IP and flow pairs alike; a flow pair's byte size is not part of it),
 * else `TYPE:ENTITY`. A decision on a thread (hunt "thread") holds for every hunt's rows of it.
 */
export const THREAD_KEY = (r: string) => `CASE
    WHEN ${r}.entity_type IN ('pair', 'host-pair', 'ip-pair') THEN 'pair:' || CASE WHEN ${r}.hunt = 'beacons.flow' THEN regexp_replace(${r}.entity, ':[0-9]+$', '') ELSE ${r}.entity END
    ELSE ${r}.entity_type || ':' || ${r}.entity END`;

export const DECISIONS = ['act', 'watch', 'discard'] as const;
export type Decision = (typeof DECISIONS)[number];

export async function setTriage(
  ws: Workspace,
  hunt: string,
  thread: string,
  decision: string,
  options: { note?: string; who?: string } = {},
): Promise<number> {
  if (!(DECISIONS as readonly string[]).includes(decision))
    throw new UsageError(`a decision is one of ${DECISIONS.join(', ')}, got "${decision}"`);
  const known =
    hunt === 'thread'
      ? Number(await ws.scalar(`SELECT count(*) FROM results r WHERE ${THREAD_KEY('r')} = $1`, [thread]))
      : Number(await ws.scalar('SELECT count(*) FROM results WHERE hunt = $1 AND entity = $2', [hunt, thread]));
  if (known === 0) {
    throw new UsageError(
      hunt === 'thread'
        ? `no thread "${thread}" in any hunt's results (huntbook threads lists them: user:NAME, pair:SRC→DEST, profile:ID)`
        : `no thread "${thread}" in any run of hunt ${hunt} (huntbook triage list shows the hunts' names; threads are their entities)`,
    );
  }
  return ws.transaction(async () => {
    const id = Number(await ws.scalar("SELECT nextval('triage_ids')"));
    await ws.run('INSERT INTO triage VALUES ($1, $2, $3, $4, $5, $6, now()::TIMESTAMP, NULL)', [
      id,
      hunt,
      thread,
      decision,
      options.note ?? null,
      options.who ?? process.env.USER ?? 'unknown',
    ]);
    // Acting on a profile labels it (suspicious), so its interactions are marked and the graph shows it.
    let profile: string | undefined;
    if (hunt === 'social') profile = thread;
    else if (hunt === 'thread' && thread.startsWith('profile:')) profile = thread.slice('profile:'.length);
    if (decision === 'act' && profile) {
      const labelled = Number(
        await ws.scalar("SELECT count(*) FROM labels WHERE target_kind = 'profile' AND target = lower($1) AND removed_at IS NULL", [
          profile,
        ]),
      );
      if (labelled === 0)
        await addLabel(ws, profile, 'suspicious', { reason: `triage: act${options.note ? ` (${options.note})` : ''}`, who: options.who });
    }
    return id;
  });
}

/** Takes back the decision in force on a thread (the one before it, if any, is in force again). */
export async function undoTriage(ws: Workspace, hunt: string, thread: string): Promise<void> {
  const id = await ws.scalar('SELECT max(triage_id) FROM triage WHERE hunt = $1 AND thread = $2 AND undone_at IS NULL', [hunt, thread]);
  if (id === null) throw new UsageError(`no decision on ${hunt} thread "${thread}" to undo`);
  await ws.run('UPDATE triage SET undone_at = now()::TIMESTAMP WHERE triage_id = $1', [Number(id)]);
}

/**
 * The decision in force per hunt and thread: the latest row whole. (Taking each column's latest
 * non-null value instead gave a decision without a note the note of the one before it.)
 */
export const DECISIONS_IN_FORCE = `SELECT hunt, thread, decision, note, who, CAST(decided_at AS VARCHAR) AS decided_at FROM (
    SELECT *, row_number() OVER (PARTITION BY hunt, thread ORDER BY triage_id DESC) AS latest FROM triage WHERE undone_at IS NULL) WHERE latest = 1`;

/** The latest decision row per hunt and thread, with its id (for ordering a thread's decisions against a hunt's). */
export const TRIAGE_IN_FORCE = `SELECT triage_id, hunt, thread, decision, note FROM (
    SELECT *, row_number() OVER (PARTITION BY hunt, thread ORDER BY triage_id DESC) AS latest FROM triage WHERE undone_at IS NULL) WHERE latest = 1`;

/**
 * The decision in force on a result row, as a struct {id, decision, note}: the latest of a decision
 * on its whole thread (triage hunt "thread", key `keyExpr`) and one on this hunt's row of it.
 */
export const RESULT_DECISION = (inForce: string, keyExpr: string, huntExpr: string, entityExpr: string) =>
  `(SELECT {'id': tt.triage_id, 'decision': tt.decision, 'note': tt.note} FROM ${inForce} tt
    WHERE (tt.hunt = 'thread' AND tt.thread = ${keyExpr}) OR (tt.hunt = ${huntExpr} AND tt.thread = ${entityExpr}) ORDER BY tt.triage_id DESC LIMIT 1)`;

export async function listTriage(ws: Workspace): Promise<{ columns: string[]; rows: Row[] }> {
  return ws.queryWithColumns(`${DECISIONS_IN_FORCE} ORDER BY decided_at DESC, hunt, thread`);
}

/**
 * A hunt's printed rows without those of discarded threads (the CLI honours triage as the
 * workbench does); returns the rows kept and how many were set apart.
 */
export async function hideDiscarded<T extends Row>(
  ws: Workspace,
  hunt: string,
  rows: readonly T[],
  threadOf: (row: T) => string,
): Promise<{ rows: T[]; hidden: number }> {
  // Discarded in this hunt, or as a whole thread (every hunt's rows of that entity).
  const discarded = new Set(
    (
      await ws.query(
        `WITH t AS (${TRIAGE_IN_FORCE})
    SELECT DISTINCT k.entity FROM results k WHERE k.run_id = (SELECT max(run_id) FROM hunt_runs WHERE hunt = $1)
      AND (${RESULT_DECISION('t', THREAD_KEY('k'), 'k.hunt', 'k.entity')}).decision = 'discard'`,
        [hunt],
      )
    ).map((r) => String(r.entity)),
  );
  if (discarded.size === 0) return { rows: [...rows], hidden: 0 };
  const kept = rows.filter((r) => !discarded.has(threadOf(r)));
  return { rows: kept, hidden: rows.length - kept.length };
}
