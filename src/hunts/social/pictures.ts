/**
 * Profile pictures, the seed's second stage ("a reverse image search to see if the picture was
 * taken from somewhere on the internet, then a GAN detection model"), offline by default:
 *   images index DIR   perceptual hashes of reference pictures (stock photos, known stolen
 *                      pictures, earlier fakes): the reverse search, against what you hold
 *   images check       each profile's picture from a local folder (named as in its URL, or by
 *                      profile id), fetched only with --fetch (timeout, size cap): its hash, the
 *                      nearest reference by Hamming distance (the same photo at ≤ 10 of 64 bits),
 *                      and a detector's score when one is given
 * A detector is a command you supply (a GAN-face model, a reverse-search client): it is run with
 * the picture's path as its last argument, never through a shell, and the first number it prints
 * is its score. Results are kept in picture_checks, feed hunt social, and can set labels.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, extname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from '../../errors.ts';
import { hammingDistance, perceptualHash, SAME_PICTURE_BITS } from '../../ml/phash.ts';
import { decodePicture } from '../../ml/decode-picture.ts';
import { fetchPublic } from '../../net/fetch-public.ts';
import { listValue, type Workspace } from '../../store/workspace.ts';
import { addLabel, type Label } from './labels.ts';

const PICTURE = /\.(jpe?g|png)$/i;

export interface IndexReport {
  added: number;
  problems: { file: string; reason: string }[];
}

export async function indexPictures(ws: Workspace, dir: string, note?: string): Promise<IndexReport> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a folder of pictures`);
  const report: IndexReport = { added: 0, problems: [] };
  const rows: (string | null)[][] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (PICTURE.test(name)) {
        try {
          rows.push([perceptualHash(decodePicture(readFileSync(path))), path, note ?? null, new Date().toISOString()]);
        } catch (error) {
          report.problems.push({ file: path, reason: (error as Error).message });
        }
      }
    }
  };
  walk(dir);
  await ws.transaction(async () => {
    // Indexing a folder again replaces its pictures' rows.
    await ws.run('DELETE FROM image_refs WHERE list_contains($1::VARCHAR[], path)', [listValue(rows.map((r) => String(r[1])))]);
    await ws.append('image_refs', rows);
  });
  report.added = rows.length;
  return report;
}

export interface CheckOptions {
  /** Where pictures are (and fetched ones go). */
  pictures: string;
  fetch?: boolean;
  /** The detector command and its arguments; the picture's path is added last. */
  detector?: string[];
  detectorThreshold?: number;
  /** Label a profile whose picture matches a reference (or scores above the threshold). */
  label?: Label;
  threshold?: number;
  timeoutMs?: number;
  maxBytes?: number;
  /** Fetch from private and local addresses too (a lab's own picture server). */
  allowPrivate?: boolean;
}

export interface CheckReport {
  checked: number;
  matched: number;
  flagged: number;
  labelled: number;
  missing: number;
}

const run = promisify(execFile);

/** A picture from its URL (only with --fetch): public addresses only, within a time and size budget. */
async function download(url: string, to: string, options: CheckOptions): Promise<void> {
  writeFileSync(
    to,
    await fetchPublic(url, {
      timeoutMs: options.timeoutMs ?? 10_000,
      maxBytes: options.maxBytes ?? 5_000_000,
      allowPrivate: options.allowPrivate,
    }),
  );
}

/** A file name from log data (a profile id, a URL's last segment), safe to put in the pictures folder. */
function safeName(text: string): string {
  const name = text.replace(/[^\w.-]/g, '_').replace(/^\.+/, '_');
  return name === '' ? '_' : name;
}

/**
 * The picture's file in `dir`: named as in its URL, or by profile id. Names come from log data, so
 * they are made safe and the path is confined to the folder (a profile id "../outside" stays inside).
 */
export function localFile(dir: string, profileId: string, url: string | null): string {
  let named = '';
  try {
    named = url ? basename(new URL(url, 'https://x/').pathname) : '';
  } catch {
    named = '';
  }
  const root = resolve(dir);
  const inside = (name: string) => {
    const path = resolve(root, safeName(name));
    return path.startsWith(root + sep) ? path : join(root, '_');
  };
  for (const candidate of [named && PICTURE.test(named) ? inside(named) : '', inside(`${profileId}.jpg`), inside(`${profileId}.png`)]) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  const ext = named ? extname(named).toLowerCase() : '';
  return inside(`${profileId}${ext === '.png' ? '.png' : '.jpg'}`);
}

export async function checkPictures(ws: Workspace, options: CheckOptions): Promise<CheckReport> {
  const threshold = options.threshold ?? SAME_PICTURE_BITS;
  if (options.fetch) mkdirSync(options.pictures, { recursive: true });
  else if (!existsSync(options.pictures))
    throw new UsageError(`no folder ${options.pictures}: give --pictures DIR, or --fetch to download into it`);
  const refs = await ws.query('SELECT hash, path FROM image_refs');
  const profiles = await ws.query(`SELECT lower(profile_id) AS id, max(image_url) AS url FROM (
      SELECT profile_id, image_url FROM profiles UNION ALL SELECT profile_id, image_url FROM interactions) WHERE profile_id IS NOT NULL GROUP BY 1 ORDER BY 1`);
  const report: CheckReport = { checked: 0, matched: 0, flagged: 0, labelled: 0, missing: 0 };
  const rows: (string | number | null)[][] = [];
  for (const p of profiles) {
    const id = String(p.id);
    const url = p.url === null ? null : String(p.url);
    const file = localFile(options.pictures, id, url);
    const row = {
      file: null as string | null,
      hash: null as string | null,
      nearest: null as string | null,
      distance: null as number | null,
      score: null as number | null,
      problem: null as string | null,
    };
    try {
      if (!existsSync(file)) {
        if (!options.fetch || !url) throw new Error(url ? 'picture not in the folder (--fetch downloads it)' : 'no picture address');
        await download(url, file, options);
      }
      row.file = file;
      row.hash = perceptualHash(decodePicture(readFileSync(file)));
      for (const ref of refs) {
        const d = hammingDistance(row.hash, String(ref.hash));
        if (row.distance === null || d < row.distance) {
          row.distance = d;
          row.nearest = String(ref.path);
        }
      }
      if (options.detector?.length) {
        // An absolute path: a file named "--help" from log data cannot be taken for one of the detector's options.
        const { stdout } = await run(options.detector[0], [...options.detector.slice(1), resolve(file)], {
          timeout: options.timeoutMs ?? 60_000,
          maxBuffer: 1 << 20,
        });
        const number = /-?\d+(?:\.\d+)?(?:e-?\d+)?/i.exec(stdout)?.[0];
        if (number === undefined) throw new Error(`the detector printed no score: ${stdout.slice(0, 80)}`);
        row.score = Number(number);
      }
      report.checked++;
    } catch (error) {
      row.problem = (error as Error).message.split('\n')[0];
      report.missing++;
    }
    const matched = row.distance !== null && row.distance <= threshold;
    const flagged = row.score !== null && options.detectorThreshold !== undefined && row.score >= options.detectorThreshold;
    if (matched) report.matched++;
    if (flagged) report.flagged++;
    rows.push([id, url, row.file, row.hash, row.nearest, row.distance, row.score, row.problem, new Date().toISOString()]);
    if (options.label && (matched || flagged)) {
      const already = await ws.scalar(
        "SELECT count(*) FROM labels WHERE target_kind = 'profile' AND target = $1 AND label = $2 AND removed_at IS NULL",
        [id, options.label],
      );
      if (Number(already) === 0) {
        const why = matched
          ? `picture matches reference ${row.nearest} (${row.distance} of 64 bits differ)`
          : `picture detector score ${row.score}`;
        await addLabel(ws, id, options.label, { reason: why, who: 'huntbook images check' });
        report.labelled++;
      }
    }
  }
  await ws.transaction(async () => {
    await ws.run('DELETE FROM picture_checks');
    await ws.append('picture_checks', rows);
    await ws.run(
      'UPDATE profiles SET image_hash = c.hash FROM picture_checks c WHERE lower(profiles.profile_id) = c.profile_id AND c.hash IS NOT NULL',
    );
  });
  return report;
}
