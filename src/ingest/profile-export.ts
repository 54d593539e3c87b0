/**
 * Follower exports after they land in `profiles`: what the columns do not say directly.
 *   - a "has a profile picture" flag (Instagram-style exports) becomes default_image, its negation
 *   - an anonymised export has no id: each row is named by its file and row ("12:7"), so it can be
 *     ranked, labelled and triaged like any profile
 *   - columns huntbook has no place for stay in `extra`, and are named once per file
 */
import type { Workspace } from '../store/workspace.ts';

/** Export keys for "the profile has its own picture" (folded: lower case, no separators). */
const HAS_PICTURE = ['userhasprofilpic', 'user_has_profil_pic', 'has_profile_pic', 'has_profile_picture', 'hasprofilepic', 'profile_pic'];

export async function completeProfileExport(ws: Workspace, fileId: number): Promise<string[]> {
  const keys = (
    await ws.query(`SELECT DISTINCT unnest(json_keys(extra)) AS k FROM profiles WHERE file_id = $1 AND extra IS NOT NULL ORDER BY 1`, [
      fileId,
    ])
  ).map((r) => String(r.k));
  const picture = keys.find((k) => HAS_PICTURE.includes(k.toLowerCase().replace(/[.\- ]/g, '_')) || HAS_PICTURE.includes(k.toLowerCase()));
  if (picture) {
    await ws.run(
      `UPDATE profiles SET default_image = NOT TRY_CAST(json_extract_string(extra, $2) AS BOOLEAN)
      WHERE file_id = $1 AND default_image IS NULL`,
      [fileId, `$."${picture.replace(/["\\]/g, '')}"`],
    );
  }
  const unnamed = Number(await ws.scalar('SELECT count(*) FROM profiles WHERE file_id = $1 AND profile_id IS NULL', [fileId]));
  if (unnamed > 0) {
    // Rows of one file keep their order (appended in file order), so the number is the row's.
    await ws.run(
      `UPDATE profiles p SET profile_id = $1 || ':' || n.n FROM (SELECT rec AS r, row_number() OVER (ORDER BY rec) AS n FROM profiles WHERE file_id = $2) n
      WHERE p.rec = n.r AND p.file_id = $2 AND p.profile_id IS NULL`,
      [String(fileId), fileId],
    );
  }
  const notes: string[] = [];
  if (unnamed > 0) notes.push(`${unnamed} profiles have no id or user name: named FILE:ROW (${fileId}:1, ${fileId}:2, …)`);
  const kept = keys.filter((k) => k !== picture);
  if (kept.length > 0) notes.push(`kept in extra (no profiles column for them): ${kept.join(', ')}`);
  return notes;
}
