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
import { existsSync, readFileSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { quoteLiteral } from '../store/schema.ts';
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
  await ws.run(
    `
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
    [left.id, left.name, left.weight, changed.id, changed.name, changed.weight, runId],
  );
  return Number(await ws.scalar('SELECT count(*) FROM detections')) - before;
}

/** A watch-list row that was refused, with its line and why. */
export interface WatchlistReject {
  line: number;
  field: string;
  reason: string;
}

/**
 * A watch list the hunter keeps (HR's resignations, a manager's concern): CSV with a header
 * naming user, date and flag (weight optional, default 50). Each row is a red-flag detection
 * dated that day; rule id watchlist.<flag in lower case, words joined by "-">. A row without a
 * user, a readable date or a flag (or with a weight that is no number ≥ 0) is refused with its
 * line; the rest land. Returns how many are new and the refused rows.
 */
export async function watchlistDetections(
  ws: Workspace,
  path: string,
  runId: number | null,
): Promise<{ added: number; refused: WatchlistReject[] }> {
  if (!existsSync(path)) throw new InputError('watch list not found', { location: { file: path } });
  // The header as written (not as a sniffer guesses it): what it lacks is named from its own words.
  const first =
    readFileSync(path, 'utf8')
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/, 1)[0] ?? '';
  const header = first.split(',').map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase());
  const missing = ['user', 'date', 'flag'].filter((needed) => !header.includes(needed));
  if (missing.length > 0) {
    throw new InputError(
      `the watch list's first line must be a header naming user, date and flag (weight optional); it lacks ${missing.join(', ')} (first line: "${first.slice(0, 80)}")`,
      { location: { file: path, line: 1 } },
    );
  }
  const columns = header.map((_name, i) => `${quoteLiteral(`c${i}`)}: 'VARCHAR'`).join(', ');
  const source = `read_csv(${quoteLiteral(path)}, header = true, delim = ',', quote = '"', auto_detect = false, columns = {${columns}}, null_padding = true, ignore_errors = true, store_rejects = false)`;
  const col = (name: string) => `c${header.indexOf(name)}`;
  const [u, d, f] = [col('user'), col('date'), col('flag')];
  const w = header.includes('weight') ? col('weight') : 'CAST(NULL AS VARCHAR)';
  await ws.run(`CREATE OR REPLACE TEMP TABLE hb_watch AS SELECT row_number() OVER () + 1 AS line, ${NORMALISE_USER(u)} AS u, try_cast(${d} AS TIMESTAMP) AS ts,
    trim(${f}) AS flag, try_cast(${w} AS DOUBLE) AS weight, ${d} AS date_text, ${w} AS weight_text FROM ${source}`);
  const problem = `CASE WHEN u IS NULL THEN 'user' WHEN ts IS NULL THEN 'date' WHEN coalesce(flag, '') = '' THEN 'flag'
    WHEN weight_text IS NOT NULL AND trim(weight_text) <> '' AND (weight IS NULL OR weight < 0) THEN 'weight' END`;
  const refused = (
    await ws.query(`SELECT line, field FROM (SELECT line, ${problem} AS field FROM hb_watch) WHERE field IS NOT NULL ORDER BY line`)
  ).map((r) => ({
    line: Number(r.line),
    field: String(r.field),
    reason:
      (
        { date: 'no readable date (dates like 2024-03-04 or 2024-03-04 09:00)', weight: 'the weight is no number ≥ 0' } as Record<
          string,
          string
        >
      )[String(r.field)] ?? `no ${String(r.field)}`,
  }));
  const before = Number(await ws.scalar('SELECT count(*) FROM detections'));
  await ws.run(
    `INSERT OR IGNORE INTO detections (ts, rule_id, rule, phase, weight, entity_type, entity, source_table, event_ref, details, run_id)
    SELECT ts, 'watchlist.' || trim(regexp_replace(lower(flag), '[^a-z0-9]+', '-', 'g'), '-'), 'Watch list: ' || flag, '${RED_FLAG_PHASE}', coalesce(weight, 50),
      'user', u, 'watchlist', 'watchlist:' || u || ':' || CAST(ts AS VARCHAR) || ':' || flag, json_object('flag', flag, 'file', $1, 'line', line), $2
    FROM hb_watch WHERE ${problem} IS NULL`,
    [path, runId],
  );
  await ws.run('DROP TABLE hb_watch');
  return { added: Number(await ws.scalar('SELECT count(*) FROM detections')) - before, refused };
}
