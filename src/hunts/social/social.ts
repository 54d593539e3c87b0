/**
 * `huntbook hunt social`: the seed's "Hunting for Fakes". Per profile, from every interaction
 * (notices and exports, the same interaction seen twice counted once):
 *   users         distinct employees it interacted with
 *   per_user      interactions per employee
 *   kinds         distinct interaction kinds (request, accept, message, view)
 *   span_days     first → last interaction
 *   departments   distinct departments of its targets (directory), titles the same for job titles
 *   followup      share of accepted connections followed by a message (connect, then work them)
 *   messages      messages sent
 * plus, when an export gave them, the profile's own numbers (following / followers, posts,
 * account age, default picture), and when images check ran, whether the picture matches a
 * reference and the detector's score. An isolation forest ranks them; each row says why. The forest
 * assumes fakes are rare: when many profiles look isolated the output says so.
 */
import { UsageError } from '../../errors.ts';
import { IsolationForest } from '../../ml/iforest.ts';
import { NORMALISE_USER } from '../../model/entities.ts';
import { Bindings, timeWindow } from '../../store/sql.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { runHunt, type Hunt, type HuntContext, type HuntOutput, type Stage } from '../contract.ts';
import type { Dialect } from '../../store/dialect.ts';
import { fromNumbered } from '../../store/sql-template.ts';
import type { ResultRow } from '../run.ts';
import { integer, timeRange } from '../../model/flags.ts';
import { SAME_PICTURE_BITS } from '../../ml/phash.ts';

export interface SocialParams {
  since?: string;
  until?: string;
  seed: number;
}

export interface SocialOptions extends SocialParams {
  /** Rows printed (every profile is kept). */
  top: number;
}

export const SOCIAL_FEATURES = ['approached', 'per_user', 'kinds', 'span_days', 'departments', 'titles', 'followup', 'messages'] as const;
/**
 * What a profile export says of the account itself (the fake-account literature's features): the
 * following/followers ratio, audience, posts (per day of account age when the age is known),
 * listings per follower, account age, default picture, bio length, the user name's length and share
 * of digits, a private account. Each joins the forest only when every ranked profile has it.
 */
export const PROFILE_FEATURES = [
  'follow_ratio',
  'followers',
  'posts',
  'posts_per_day',
  'listed_per_follower',
  'account_days',
  'default_image',
  'bio_length',
  'name_length',
  'name_digits',
  'private',
  'image_match',
  'detector_score',
] as const;
export const SOCIAL_COLUMNS = ['rank', 'profile_id', 'name', 'headline', 'score', 'label', 'users', ...SOCIAL_FEATURES, 'reasons'] as const;
export const PROFILE_COLUMNS = [
  'rank',
  'profile_id',
  'name',
  'score',
  'label',
  'follow_ratio',
  'followers',
  'posts',
  'default_image',
  'bio_length',
  'name_digits',
  'reasons',
] as const;

/** Above this share of isolated profiles, fakes are not rare here and the forest cannot tell them apart. */
const CROWDED = 0.1;

/**
 * What makes one interaction: profile, employee, kind and second. A notice and an export of the same
 * interaction are one, in the hunt, the graph and the label counts alike.
 */
export const INTERACTION_KEY = (alias: string) =>
  `lower(${alias}.profile_id), ${NORMALISE_USER(`${alias}."user"`)}, ${alias}.kind, date_trunc('second', ${alias}.ts)`;

/**
 * The interactions a hunt counts: one row per INTERACTION_KEY, the employee's department and title
 * from the directory.
 */
export function interactionsSql(where: string): string {
  return `SELECT lower(i.profile_id) AS profile_id, any_value(i.profile_name) AS profile_name, any_value(i.profile_title) AS headline,
      ${NORMALISE_USER('i."user"')} AS u, i.kind, date_trunc('second', i.ts) AS ts,
      coalesce(any_value(d.department), 'unknown') AS department, coalesce(any_value(d.role), any_value(i.user_title), 'unknown') AS title
    FROM interactions i LEFT JOIN (SELECT ${NORMALISE_USER('"user"')} AS u, max_by(department, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS department,
        max_by(role, coalesce(valid_from, TIMESTAMP '1970-01-01')) AS role FROM directory GROUP BY 1) d ON d.u = ${NORMALISE_USER('i."user"')}
    WHERE i.profile_id IS NOT NULL AND i.ts IS NOT NULL AND ${where}
    GROUP BY ${INTERACTION_KEY('i')}`;
}

const PROFILE_STAGE = 'hb_social_profiles';
const ATTRS_STAGE = 'hb_social_attrs';

/**
 * The stages: per profile, what its interactions say (from the notices and exports, each
 * interaction once, its targets' departments and titles from the directory), and what the
 * profile exports say of the accounts themselves.
 */
function socialStages(params: SocialParams, dialect: Dialect): Stage[] {
  if (dialect.name !== 'duckdb') throw new UsageError(`the social stage has no ${dialect.name} SQL yet`);
  const { values, bind } = new Bindings();
  const where = ['true', ...timeWindow(bind, params, 'i.ts')].join(' AND ');
  const perProfile = `
WITH i AS (${interactionsSql(where)}),
accepted AS (SELECT profile_id, u, min(ts) AS at FROM i WHERE kind = 'connect_accept' GROUP BY ALL),
followed AS (SELECT a.profile_id, count(DISTINCT a.u) AS n FROM accepted a JOIN i ON i.profile_id = a.profile_id AND i.u = a.u AND i.kind = 'message' AND i.ts >= a.at GROUP BY ALL),
p AS (
  SELECT profile_id, any_value(profile_name) AS name, any_value(headline) AS headline, count(DISTINCT u) AS users, count(DISTINCT u) FILTER (WHERE kind IN ('connect_request', 'message')) AS approached, count(*) AS interactions,
    count(DISTINCT kind) AS kinds, date_diff('second', min(ts), max(ts)) / 86400.0 AS span_days, count(DISTINCT department) AS departments,
    count(DISTINCT title) AS titles, count(*) FILTER (WHERE kind = 'message') AS messages, count(DISTINCT u) FILTER (WHERE kind = 'connect_accept') AS accepts,
    CAST(min(ts) AS VARCHAR) AS first_seen, CAST(max(ts) AS VARCHAR) AS last_seen
  FROM i GROUP BY profile_id
)
SELECT p.*, f.n AS followed FROM p LEFT JOIN followed f USING (profile_id)`;
  return [
    { table: PROFILE_STAGE, sql: fromNumbered(perProfile, values) },
    { table: ATTRS_STAGE, sql: fromNumbered(ATTRS_SQL, []) },
  ];
}

async function finishSocial({ ws, record }: HuntContext, options: SocialOptions): Promise<HuntOutput> {
  const { top, ...params } = options;
  const rows = await ws.query(
    `
WITH labelled AS (
  SELECT lower(target) AS profile_id, string_agg(label, ', ' ORDER BY label) AS label FROM labels WHERE target_kind = 'profile' AND removed_at IS NULL GROUP BY 1
), pictures AS (SELECT profile_id, distance AS image_distance, nearest_ref, detector_score FROM picture_checks)
SELECT p.* EXCLUDE (followed), round(p.interactions / p.users, 3) AS per_user, coalesce(round(p.followed / nullif(p.accepts, 0), 3), 0) AS followup,
  ${profileFeatures('a', 'CAST(p.last_seen AS TIMESTAMP)')}, l.label, pc.image_distance, pc.nearest_ref, pc.detector_score,
  CASE WHEN pc.image_distance IS NOT NULL THEN CAST(pc.image_distance <= ${SAME_PICTURE_BITS} AS INTEGER) END AS image_match
FROM ${PROFILE_STAGE} p LEFT JOIN ${ATTRS_STAGE} a USING (profile_id) LEFT JOIN labelled l USING (profile_id) LEFT JOIN pictures pc USING (profile_id)
ORDER BY profile_id`,
  );
  if (rows.length === 0) return profileHunt(ws, record, params, top);
  // Profile attributes join the forest only when every profile has them (an export of them all).
  const extra = PROFILE_FEATURES.filter((f) => rows.every((r) => r[f] !== null && r[f] !== undefined));
  const names = [...SOCIAL_FEATURES, ...extra];
  const { scores, order, isolated, why } = rankProfiles(rows, names, params.seed);
  const results: ResultRow[] = order.map((i, rank) => {
    const r = rows[i];
    const reasons = [
      `${r.users} employee${Number(r.users) === 1 ? '' : 's'} in ${r.departments} department${Number(r.departments) === 1 ? '' : 's'} (${r.titles} job titles), ${r.interactions} interactions over ${Number(r.span_days).toFixed(1)} days (${r.first_seen} .. ${r.last_seen})`,
      Number(r.accepts) > 0
        ? `${Math.round(Number(r.followup) * Number(r.accepts))} of ${r.accepts} accepted connections followed by a message; ${r.messages} messages`
        : `${r.messages} messages, no accepted connection`,
      `isolation forest ${scores[i].toFixed(3)}${why(i)}`,
      ...(r.label ? [`labelled ${r.label}`] : []),
      ...(r.image_match === 1 ? [`picture matches reference ${r.nearest_ref} (${r.image_distance} of 64 bits differ)`] : []),
      ...extra.map((f) => `${f} ${r[f]}`),
    ];
    return {
      rank: rank + 1,
      entityType: 'profile',
      entity: String(r.profile_id),
      score: Math.round(scores[i] * 1e4) / 1e4,
      features: Object.fromEntries(names.map((n) => [n, Number(r[n])])),
      reasons,
      evidence: { name: r.name, headline: r.headline, first_seen: r.first_seen, last_seen: r.last_seen, label: r.label ?? null },
    };
  });
  const runId = await record({ parameters: params, window: { start: params.since, end: params.until }, results });
  const printed: Row[] = results.slice(0, top).map((res, k) => {
    const r = rows[order[k]];
    return {
      rank: res.rank,
      profile_id: res.entity,
      name: r.name,
      headline: r.headline,
      score: res.score,
      label: r.label ?? null,
      users: r.users,
      ...Object.fromEntries(SOCIAL_FEATURES.map((f) => [f, r[f]])),
      reasons: res.reasons.join('; '),
    };
  });
  const notes = [`${rows.length} profiles; ${isolated} isolated (score > 0.6); features ${names.join(', ')}; run ${runId}`];
  if (isolated / rows.length > CROWDED) {
    notes.push(
      `warning: ${Math.round((100 * isolated) / rows.length)} % of profiles look isolated: an isolation forest finds what is rare, and here it is not (a campaign of many fakes, or few ordinary profiles); read the reasons, not the rank`,
    );
  }
  return { columns: [...SOCIAL_COLUMNS], rows: printed, runId, notes };
}

/** The latest known value of a profile attribute: by seen_at, then by the file loaded last. */
const latest = (column: string) =>
  `max_by(${column}, {'t': coalesce(seen_at, TIMESTAMP '0001-01-01'), 'f': file_id}) FILTER (WHERE ${column} IS NOT NULL)`;
/**
 * A user name an export gives (screen_name, username), or its id when that is one (not a number or
 * FILE:ROW). Only rows of an export (they carry counts): a notice's vanity slug is no chosen user name.
 */
const HANDLE =
  "coalesce(extra->>'screen_name', extra->>'username', CASE WHEN (followers IS NOT NULL OR following IS NOT NULL) AND NOT regexp_full_match(profile_id, '[0-9:]+') THEN profile_id END)";
const ATTRS_SQL = `
  SELECT lower(profile_id) AS profile_id, ${latest('following')} AS following, ${latest('followers')} AS followers, ${latest('posts')} AS posts,
    ${latest('listed')} AS listed, ${latest('created_at')} AS created_at, bool_or(default_image) AS default_image, ${latest('bio_length')} AS bio_length,
    ${latest('name')} AS name, ${latest('headline')} AS headline,
    ${latest(`coalesce(TRY_CAST(extra->>'usernameLength' AS INTEGER), TRY_CAST(extra->>'username_length' AS INTEGER), length(${HANDLE}))`)} AS name_length,
    ${latest(`coalesce(TRY_CAST(extra->>'usernameDigitCount' AS INTEGER), TRY_CAST(extra->>'username_digit_count' AS INTEGER), length(regexp_replace(${HANDLE}, '[^0-9]', '', 'g')))`)} AS name_digit_count,
    ${latest(`CAST(coalesce(TRY_CAST(extra->>'userIsPrivate' AS BOOLEAN), TRY_CAST(extra->>'is_private' AS BOOLEAN), TRY_CAST(extra->>'protected' AS BOOLEAN)) AS INTEGER)`)} AS private,
    CAST(max(seen_at) AS VARCHAR) AS seen
  FROM profiles WHERE profile_id IS NOT NULL GROUP BY 1`;

/** The profile features of PROFILE_FEATURES from an attrs row `a`, account age measured at `at`. */
function profileFeatures(a: string, at: string): string {
  return `round(${a}.following / greatest(${a}.followers, 1), 3) AS follow_ratio, ${a}.followers, ${a}.posts,
  CASE WHEN ${a}.created_at IS NOT NULL THEN round(${a}.posts / greatest(date_diff('day', ${a}.created_at, ${at}), 1), 3) END AS posts_per_day,
  round(${a}.listed / greatest(${a}.followers, 1), 4) AS listed_per_follower, date_diff('day', ${a}.created_at, ${at}) AS account_days,
  CAST(${a}.default_image AS INTEGER) AS default_image, ${a}.bio_length, ${a}.name_length,
  round(${a}.name_digit_count / nullif(${a}.name_length, 0), 3) AS name_digits, ${a}.private`;
}

/**
 * No interactions, only profiles (a follower export): the accounts are ranked on their own
 * attributes, the same isolation forest and the same output shape.
 */
async function profileHunt(ws: Workspace, record: HuntContext['record'], params: SocialParams, top: number): Promise<HuntOutput> {
  const rows = await ws.query(`
WITH a AS (SELECT * FROM ${ATTRS_STAGE}), labelled AS (
  SELECT lower(target) AS profile_id, string_agg(label, ', ' ORDER BY label) AS label FROM labels WHERE target_kind = 'profile' AND removed_at IS NULL GROUP BY 1
), pictures AS (SELECT profile_id, distance AS image_distance, nearest_ref, detector_score FROM picture_checks)
SELECT a.profile_id, a.name, a.headline, a.seen, ${profileFeatures('a', 'coalesce(CAST(a.seen AS TIMESTAMP), now()::TIMESTAMP)')}, l.label, pc.image_distance, pc.nearest_ref, pc.detector_score,
  CASE WHEN pc.image_distance IS NOT NULL THEN CAST(pc.image_distance <= ${SAME_PICTURE_BITS} AS INTEGER) END AS image_match
FROM a LEFT JOIN labelled l USING (profile_id) LEFT JOIN pictures pc USING (profile_id) ORDER BY a.profile_id`);
  if (rows.length === 0)
    throw new UsageError(
      'no social profiles: ingest notification e-mails (.eml, .mbox), an interactions export or a profile/follower export',
    );
  const names = PROFILE_FEATURES.filter((f) => rows.every((r) => r[f] !== null && r[f] !== undefined));
  if (names.length === 0)
    throw new UsageError(
      'the profiles carry no numbers to score (followers, following, posts, account age, picture, bio): ingest an export that has them',
    );
  const { scores, order, isolated, why } = rankProfiles(rows, names, params.seed);
  const results: ResultRow[] = order.map((i, rank) => {
    const r = rows[i];
    const reasons = [
      `isolation forest ${scores[i].toFixed(3)}${why(i)}`,
      `follows ${r.follow_ratio ?? '?'}× as many as follow it (${r.followers ?? '?'} followers), ${r.posts ?? '?'} posts${r.account_days !== null ? ` over ${r.account_days} days` : ''}`,
      ...(Number(r.default_image) === 1 ? ['default picture'] : []),
      ...(r.bio_length !== null ? [`bio ${r.bio_length} characters`] : []),
      ...(r.name_length !== null
        ? [`user name ${r.name_length} characters, ${Math.round(Number(r.name_digits ?? 0) * 100)} % digits`]
        : []),
      ...(r.label ? [`labelled ${r.label}`] : []),
      ...(r.image_match === 1 ? [`picture matches reference ${r.nearest_ref} (${r.image_distance} of 64 bits differ)`] : []),
    ];
    return {
      rank: rank + 1,
      entityType: 'profile',
      entity: String(r.profile_id),
      score: Math.round(scores[i] * 1e4) / 1e4,
      features: Object.fromEntries(names.map((n) => [n, Number(r[n])])),
      reasons,
      evidence: { name: r.name, headline: r.headline, last_seen: r.seen, label: r.label ?? null },
    };
  });
  const runId = await record({ parameters: { ...params, mode: 'profiles' }, window: { start: params.since, end: params.until }, results });
  const printed: Row[] = results.slice(0, top).map((res, k) => {
    const r = rows[order[k]];
    return {
      rank: res.rank,
      profile_id: res.entity,
      name: r.name,
      score: res.score,
      label: r.label ?? null,
      follow_ratio: r.follow_ratio,
      followers: r.followers,
      posts: r.posts,
      default_image: r.default_image,
      bio_length: r.bio_length,
      name_digits: r.name_digits,
      reasons: res.reasons.join('; '),
    };
  });
  const notes = [
    `${rows.length} profiles, no interactions: scored on the accounts' own attributes; ${isolated} isolated (score > 0.6); features ${names.join(', ')}; run ${runId}`,
  ];
  if (isolated / rows.length > CROWDED) {
    notes.push(
      `warning: ${Math.round((100 * isolated) / rows.length)} % of profiles look isolated: an isolation forest finds what is rare, and here it is not; read the reasons, not the rank`,
    );
  }
  return { columns: [...PROFILE_COLUMNS], rows: printed, runId, notes };
}

/**
 * The isolation forest over the named features of each profile row: scores, the ranked order
 * (ties by profile id), how many look isolated, and each row's "why" (the features that isolated it).
 */
function rankProfiles(rows: Row[], names: readonly string[], seed: number) {
  const data = new Float64Array(rows.length * names.length);
  rows.forEach((r, i) => names.forEach((n, j) => (data[i * names.length + j] = Number(r[n]))));
  const matrix = { rows: rows.length, cols: names.length, data, names: [...names] };
  const forest = rows.length >= 2 ? new IsolationForest({ seed }).fit(matrix) : undefined;
  const scores = forest ? forest.scoreSamples(matrix) : new Float64Array(rows.length);
  const order = rows
    .map((_, i) => i)
    .sort((a, b) => scores[b] - scores[a] || String(rows[a].profile_id).localeCompare(String(rows[b].profile_id)));
  const isolated = Array.from(scores).filter((v) => v > 0.6).length;
  const why = (i: number) => {
    const parts = forest
      ? forest
          .explain(matrix, i)
          .slice(0, 3)
          .map((e) => `${e.feature} ${Math.round(e.share * 100)}%`)
          .join(', ')
      : '';
    return parts ? `: ${parts}` : '';
  };
  return { scores, order, isolated, why };
}

/** Social's stages read the interactions, the directory and the profile exports; the finisher adds labels and picture checks. */
export const SOCIAL: Hunt<SocialOptions> = {
  name: 'social',
  columns: [...new Set([...SOCIAL_COLUMNS, ...PROFILE_COLUMNS])],
  params: (_config, flags) => ({
    ...timeRange(flags),
    seed: integer(flags, 'seed', '--seed', 1, 0),
    top: integer(flags, 'top', '--top', 20, 1),
  }),
  stage: (p, dialect) => socialStages(p, dialect),
  finish: finishSocial,
  thread: (row) => String(row.profile_id),
};

/** One social run (the library's and the tests' entry; the CLI runs SOCIAL itself). */
export async function socialHunt(ws: Workspace, params: SocialParams, top = 20): Promise<HuntOutput> {
  return runHunt(ws, SOCIAL, { ...params, top });
}
