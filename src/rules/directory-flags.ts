/**
 * Red flags from who people are, as dated detections (the seed's "Red Flags - e.g. Employee has
 * submitted 2 week notice", scored as a phase of its own):
 *   directory.left          the user's last directory row ends before the directory does: in
 *                           CERT's monthly LDAP snapshots, the first month they are missing; in an
 *                           HR export, an end date (a notice period, when it is still ahead)
 *   directory.role-changed  a later snapshot gives the user another role
 * They weigh in `hunt risk`, `hunt population` and `hunt insider` like any rule's detections, and
 * like them are written once (the same flag found again is not a second detection).
 */
import type { Workspace } from '../store/workspace.ts';
import { NORMALISE_USER } from '../model/entities.ts';

export const RED_FLAG_PHASE = 'red_flag';

export const DIRECTORY_FLAGS = [
  { id: 'directory.left', name: 'Left the organisation (or has an end date)', weight: 60 },
  { id: 'directory.role-changed', name: 'Role changed', weight: 20 },
] as const;

/** Writes the directory's red flags into detections; returns how many are new. */
export async function directoryDetections(ws: Workspace, runId: number | null): Promise<number> {
  const before = Number(await ws.scalar('SELECT count(*) FROM detections'));
  const [left, changed] = DIRECTORY_FLAGS;
  await ws.run(`
INSERT OR IGNORE INTO detections (ts, rule_id, rule, phase, weight, entity_type, entity, source_table, event_ref, details, run_id)
WITH d AS (
  SELECT ${NORMALISE_USER('"user"')} AS u, role, valid_from, valid_to FROM directory WHERE "user" IS NOT NULL
), span AS (SELECT max(valid_to) AS last_end, bool_or(valid_to IS NULL) AS open_rows FROM d),
leavers AS (
  -- Every row of theirs has an end, and it is before the directory's last (or others have none).
  SELECT u, max(valid_to) AS ended, max_by(role, valid_to) AS role FROM d GROUP BY u
  HAVING bool_and(valid_to IS NOT NULL) AND (max(valid_to) < (SELECT last_end FROM span) OR (SELECT open_rows FROM span))
), roles AS (
  SELECT u, valid_from, role, lag(role) OVER (PARTITION BY u ORDER BY valid_from) AS before FROM d WHERE valid_from IS NOT NULL
)
SELECT ended, $1, $2, '${RED_FLAG_PHASE}', $3, 'user', u, 'directory', 'left:' || u, json_object('ended', ended, 'last_role', role), $7 FROM leavers
UNION ALL
SELECT valid_from, $4, $5, '${RED_FLAG_PHASE}', $6, 'user', u, 'directory', 'role:' || u || ':' || CAST(valid_from AS VARCHAR),
       json_object('from', before, 'to', role), $7
FROM roles WHERE before IS NOT NULL AND role IS DISTINCT FROM before`,
  [left.id, left.name, left.weight, changed.id, changed.name, changed.weight, runId]);
  return Number(await ws.scalar('SELECT count(*) FROM detections')) - before;
}
