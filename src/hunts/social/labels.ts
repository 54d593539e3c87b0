/**
 * Labels on profiles (the seed: "once a detection takes place, labels are assigned to the profile
 * in the database and all previous and future interactions are marked as suspicious"). A label is
 * a row (who, why, when); the marks are the view interaction_marks, so an interaction ingested
 * after the label is marked as it lands, and removing the label (kept, with when and by whom)
 * removes its marks.
 */
import { UsageError } from '../../errors.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { INTERACTION_KEY } from './social.ts';

export const LABELS = ['fake', 'suspicious', 'watched'] as const;
export type Label = (typeof LABELS)[number];

export async function addLabel(
  ws: Workspace,
  profile: string,
  label: string,
  options: { reason?: string; who?: string } = {},
): Promise<{ labelId: number; marked: number }> {
  if (!(LABELS as readonly string[]).includes(label))
    throw new UsageError(`a profile label is one of ${LABELS.join(', ')}, got "${label}"`);
  const id = profile.trim().toLowerCase();
  if (id === '') throw new UsageError('which profile? give its id (the slug in its address)');
  const known = Number(
    await ws.scalar(
      'SELECT count(*) FROM (SELECT profile_id FROM interactions UNION ALL SELECT profile_id FROM profiles) WHERE lower(profile_id) = $1',
      [id],
    ),
  );
  if (known === 0) throw new UsageError(`no interaction or profile with id "${id}" (huntbook hunt social lists them)`);
  return ws.transaction(async () => {
    const existing = await ws.scalar(
      "SELECT label_id FROM labels WHERE target_kind = 'profile' AND target = $1 AND label = $2 AND removed_at IS NULL",
      [id, label],
    );
    if (existing !== null) throw new UsageError(`profile ${id} is already labelled ${label} (label ${existing})`);
    const labelId = Number(await ws.scalar("SELECT nextval('label_ids')"));
    await ws.run("INSERT INTO labels VALUES ($1, 'profile', $2, $3, $4, $5, now()::TIMESTAMP, NULL, NULL)", [
      labelId,
      id,
      label,
      options.reason ?? null,
      options.who ?? defaultWho(),
    ]);
    return { labelId, marked: await distinctMarks(ws, 'label_id = $1', [labelId]) };
  });
}

/** Removes a profile's labels (one kind, or all); returns how many labels and marks went. */
export async function removeLabel(
  ws: Workspace,
  profile: string,
  options: { label?: string; who?: string } = {},
): Promise<{ labels: number; marks: number }> {
  const id = profile.trim().toLowerCase();
  return ws.transaction(async () => {
    const filter = "target_kind = 'profile' AND target = $1 AND removed_at IS NULL AND ($2::VARCHAR IS NULL OR label = $2)";
    const labels = Number(await ws.scalar(`SELECT count(*) FROM labels WHERE ${filter}`, [id, options.label ?? null]));
    if (labels === 0) throw new UsageError(`profile ${id} has no ${options.label ?? ''} label to remove`.replace('  ', ' '));
    const marks = await distinctMarks(ws, `label_id IN (SELECT label_id FROM labels WHERE ${filter})`, [id, options.label ?? null]);
    await ws.run(`UPDATE labels SET removed_at = now()::TIMESTAMP, removed_by = $3 WHERE ${filter}`, [
      id,
      options.label ?? null,
      options.who ?? defaultWho(),
    ]);
    return { labels, marks };
  });
}

export async function listLabels(ws: Workspace, all = false): Promise<{ columns: string[]; rows: Row[] }> {
  return ws.queryWithColumns(`SELECT l.label_id, l.target AS profile_id, l.label, l.reason, l.who, CAST(l.created_at AS VARCHAR) AS created_at,
      CAST(l.removed_at AS VARCHAR) AS removed_at, l.removed_by,
      (SELECT count(DISTINCT (${INTERACTION_KEY('i')})) FROM interactions i WHERE lower(i.profile_id) = l.target) AS interactions
    FROM labels l ${all ? '' : 'WHERE l.removed_at IS NULL'} ORDER BY l.label_id`);
}

/** Marked interactions, counted as hunt social counts them (a notice and an export of one interaction are one). */
async function distinctMarks(ws: Workspace, where: string, params: (string | number | null)[]): Promise<number> {
  return Number(await ws.scalar(`SELECT count(DISTINCT (${INTERACTION_KEY('m')})) FROM interaction_marks m WHERE ${where}`, params));
}

function defaultWho(): string {
  return process.env.USER ?? process.env.USERNAME ?? 'unknown';
}
