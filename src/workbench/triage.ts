/**
 * Triage, the seed's "act, watch or discard": a decision on a thread (one hunt's entity: a user, a
 * host pair, a profile) with a note. The latest decision per thread is in force; a discarded thread
 * is left out of the top threads of later runs of that hunt (listed apart, undoable).
 */
import { UsageError } from '../errors.ts';
import type { Row, Workspace } from '../store/workspace.ts';

export const DECISIONS = ['act', 'watch', 'discard'] as const;
export type Decision = (typeof DECISIONS)[number];

export async function setTriage(ws: Workspace, hunt: string, thread: string, decision: string, options: { note?: string; who?: string } = {}): Promise<number> {
  if (!(DECISIONS as readonly string[]).includes(decision)) throw new UsageError(`a decision is one of ${DECISIONS.join(', ')}, got "${decision}"`);
  const known = Number(await ws.scalar('SELECT count(*) FROM results WHERE hunt = $1 AND entity = $2', [hunt, thread]));
  if (known === 0) throw new UsageError(`no thread "${thread}" in any run of hunt ${hunt} (huntbook triage list shows the hunts' names; threads are their entities)`);
  return ws.transaction(async () => {
    const id = Number(await ws.scalar("SELECT nextval('triage_ids')"));
    await ws.run('INSERT INTO triage VALUES ($1, $2, $3, $4, $5, $6, now()::TIMESTAMP, NULL)', [id, hunt, thread, decision, options.note ?? null, options.who ?? process.env.USER ?? 'unknown']);
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

export async function listTriage(ws: Workspace): Promise<{ columns: string[]; rows: Row[] }> {
  return ws.queryWithColumns(`${DECISIONS_IN_FORCE} ORDER BY decided_at DESC, hunt, thread`);
}

/**
 * A hunt's printed rows without those of discarded threads (the CLI honours triage as the
 * workbench does); returns the rows kept and how many were set apart.
 */
export async function hideDiscarded<T extends Row>(ws: Workspace, hunt: string, rows: readonly T[], threadOf: (row: T) => string): Promise<{ rows: T[]; hidden: number }> {
  const discarded = new Set((await ws.query(`SELECT thread FROM (${DECISIONS_IN_FORCE}) WHERE hunt = $1 AND decision = 'discard'`, [hunt])).map((r) => String(r.thread)));
  if (discarded.size === 0) return { rows: [...rows], hidden: 0 };
  const kept = rows.filter((r) => !discarded.has(threadOf(r)));
  return { rows: kept, hidden: rows.length - kept.length };
}
