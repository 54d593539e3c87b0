/**
 * `huntbook serve`: the workbench as a local web app. The page is a static shell and one script
 * (web/app.js), which uses only the JSON API under /api; charts are SVG made on the server from
 * the same Vega-Lite specs as the report, shown as images (an SVG in an <img> runs nothing).
 *
 * Safety, because log content is attacker-controlled and a browser is a confused deputy:
 *   - binds 127.0.0.1 unless told otherwise; bound elsewhere, every request needs the token
 *     printed at start (Authorization: Bearer, or ?token= once, which sets a cookie)
 *   - the Host header must be the server's own (DNS rebinding), and an Origin, when sent, too
 *   - a strict Content-Security-Policy: scripts and styles from the server only, no inline
 *   - the workspace is opened read-only per request, except a triage write
 *   - no client text reaches SQL except as a bound parameter or a whitelisted name
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { hostname, networkInterfaces } from 'node:os';
import { HuntbookError, UsageError } from '../errors.ts';
import { exposure, labelledSubgraph } from '../hunts/social/graph.ts';
import { NORMALISE_HOST, NORMALISE_USER } from '../model/entities.ts';
import { Workspace, type Row } from '../store/workspace.ts';
import { CANONICAL_TABLES, quoteIdent } from '../store/schema.ts';
import {
  detectionsByPhase,
  entityTimelineChart,
  hourlyBars,
  interactionGraph,
  intervalBinsChart,
  intervalHistogram,
  spanChart,
  scatter,
  sizeBars,
  toSvg,
  vegaToSvg,
} from './charts.ts';
import { detectionsPerDay, entityTimeline, latestRuns, topThreads } from './threads.ts';
import { TRIAGE_IN_FORCE, RESULT_DECISION, THREAD_KEY, setTriage, undoTriage } from './triage.ts';
import { threadQueue } from './queue.ts';
import { entityStory } from './story.ts';

const WEB = join(dirname(fileURLToPath(import.meta.url)), 'web');
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};
/** Sortable result columns: the rows' own, never a name from the client. */
const SORTABLE = new Set(['rank', 'entity', 'score']);

export interface ServeOptions {
  db: string;
  host: string;
  port: number;
  /** Required on every request when bound beyond loopback. */
  token?: string;
}

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

async function withWs<T>(db: string, fn: (ws: Workspace) => Promise<T>, write = false): Promise<T> {
  const ws = await Workspace.open(db, { readOnly: !write, externalAccess: false });
  try {
    return await fn(ws);
  } finally {
    ws.close();
  }
}

const json = (c: Context, value: unknown, status = 200) => c.json(value as object, status as 200);

/** An entity named in a URL, checked and folded as the hunts fold it (DOMAIN\\user, case ...). */
async function entityOf(ws: Workspace, type: string, name: string): Promise<{ type: 'user' | 'host'; entity: string }> {
  if (type !== 'user' && type !== 'host') throw new UsageError('entity type is user or host');
  return { type, entity: String(await ws.scalar(`SELECT ${type === 'host' ? NORMALISE_HOST('$1') : NORMALISE_USER('$1')}`, [name])) };
}

/**
 * The names a request may address this server by (its Host header): loopback always; the address
 * it is bound to; bound to every interface (0.0.0.0, ::), each interface's address and the
 * machine's name. Anything else is refused (DNS rebinding).
 */
export function boundNames(host: string): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', host.toLowerCase()]);
  if (host === '0.0.0.0' || host === '::') {
    for (const addresses of Object.values(networkInterfaces()))
      for (const a of addresses ?? []) names.add(a.address.replace(/%.*$/, '').toLowerCase());
    names.add(hostname().toLowerCase());
  }
  return [...names];
}

/** A whole number from a request, within its range, or a 400 naming it (never a database error). */
export function intParam(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d{1,15}$/.test(value)) throw new UsageError(`${name} is a whole number from ${min} to ${max}, got "${value.slice(0, 30)}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${name} is a whole number from ${min} to ${max}, got ${value}`);
  return n;
}

export function createApp(options: ServeOptions): Hono {
  const app = new Hono();
  const allowedHosts = new Set(boundNames(options.host).map((name) => `${name.includes(':') ? `[${name}]` : name}:${options.port}`));
  const tokenBytes = options.token ? Buffer.from(options.token) : undefined;
  const tokenOk = (given: string | undefined) =>
    tokenBytes !== undefined &&
    given !== undefined &&
    given.length === tokenBytes.length &&
    timingSafeEqual(Buffer.from(given), tokenBytes);

  app.use('*', async (c, next) => {
    const host = c.req.header('host') ?? '';
    if (!allowedHosts.has(host)) return c.text('refused: this server answers only to its own address (Host header)', 421);
    const origin = c.req.header('origin');
    if (origin && !allowedHosts.has(origin.replace(/^https?:\/\//, ''))) return c.text('refused: cross-origin request', 403);
    if (tokenBytes) {
      const query = c.req.query('token');
      const bearer = c.req.header('authorization')?.replace(/^Bearer\s+/i, '');
      if (tokenOk(query)) setCookie(c, 'huntbook_token', query!, { httpOnly: true, sameSite: 'Strict', path: '/' });
      else if (!tokenOk(bearer) && !tokenOk(getCookie(c, 'huntbook_token')))
        return c.text('refused: a token is required (printed by huntbook serve)', 401);
    }
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'no-store');
  });
  app.onError((error, c) => {
    if (error instanceof HuntbookError) return json(c, { error: error.message }, error instanceof UsageError ? 400 : 500);
    return json(c, { error: 'unexpected error' }, 500);
  });

  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(path, (c) => c.body(readFileSync(join(WEB, asset.file)), 200, { 'Content-Type': asset.type }));
  }

  app.get('/api/runs', async (c) => json(c, await withWs(options.db, (ws) => latestRuns(ws))));
  app.get('/api/threads', async (c) => {
    const perHunt = intParam('per_hunt', c.req.query('per_hunt'), 5, 1, 100);
    return json(c, await withWs(options.db, (ws) => topThreads(ws, perHunt)));
  });
  app.get('/api/queue', async (c) => {
    const limit = intParam('limit', c.req.query('limit'), 50, 1, 1000);
    const offset = intParam('offset', c.req.query('offset'), 0, 0, 1_000_000_000);
    const decision = c.req.query('decision') || undefined;
    if (decision && !['act', 'watch', 'discard', 'none'].includes(decision))
      throw new UsageError('decision is act, watch, discard or none');
    return json(
      c,
      await withWs(options.db, (ws) =>
        threadQueue(ws, { hunt: c.req.query('hunt') || undefined, decision, q: c.req.query('q') || undefined, limit, offset }),
      ),
    );
  });
  app.get('/api/runs/:id', async (c) => {
    const id = intParam('run id', c.req.param('id'), 0, 1, 2_147_483_647);
    const sort = c.req.query('sort') ?? 'rank';
    if (!SORTABLE.has(sort)) throw new UsageError(`sort by one of ${[...SORTABLE].join(', ')}`);
    const desc = c.req.query('desc') === '1';
    const limit = intParam('limit', c.req.query('limit'), 200, 1, 1000);
    const offset = intParam('offset', c.req.query('offset'), 0, 0, 1_000_000_000);
    const filter = c.req.query('q') ?? '';
    return json(
      c,
      await withWs(options.db, async (ws) => {
        const [run] = await ws.query(
          'SELECT run_id, hunt, CAST(started_at AS VARCHAR) AS started_at, result_count, CAST(parameters AS VARCHAR) AS parameters FROM hunt_runs WHERE run_id = $1',
          [id],
        );
        if (!run) throw new UsageError(`no run ${id}`);
        const rows = await ws.query(
          `WITH t AS (${TRIAGE_IN_FORCE}), d AS (
          SELECT r.*, ${THREAD_KEY('r')} AS thread, ${RESULT_DECISION('t', THREAD_KEY('r'), 'r.hunt', 'r.entity')} AS dn FROM results r WHERE r.run_id = $1)
        SELECT r.rank, r.entity_type, r.entity, r.thread, r.score, CAST(r.reasons AS VARCHAR) AS reasons, CAST(r.features AS VARCHAR) AS features,
          CAST(r.evidence AS VARCHAR) AS evidence, r.dn.decision AS decision, r.dn.note AS note, count(*) OVER () AS total
        FROM d r
        WHERE ($2 = '' OR contains(lower(r.entity), lower($2)) OR contains(lower(CAST(r.reasons AS VARCHAR)), lower($2)))
        ORDER BY ${sort} ${desc ? 'DESC' : 'ASC'} NULLS LAST, r.rank LIMIT $3 OFFSET $4`,
          [id, filter, limit, offset],
        );
        return { run, total: Number(rows[0]?.total ?? 0), offset, limit, rows: rows.map(parseJsonColumns) };
      }),
    );
  });
  app.get('/api/entity/:type/:name', async (c) => {
    return json(
      c,
      await withWs(options.db, async (ws) => {
        const { type, entity } = await entityOf(ws, c.req.param('type'), c.req.param('name'));
        const detections = await ws.query(
          `SELECT CAST(ts AS VARCHAR) AS ts, rule, phase, weight, source_table, event_ref, CAST(details AS VARCHAR) AS details FROM detections
        WHERE entity_type = $1 AND entity = $2 ORDER BY ts LIMIT 2000`,
          [type, entity],
        );
        const story = await entityStory(ws, type, entity);
        const timeline = await entityTimeline(ws, entity, type);
        return { entity, type, detections, rules: story.rules, story, timeline };
      }),
    );
  });
  app.get('/api/chart/entity/:type/:name', async (c) => {
    const svg = await withWs(options.db, async (ws) => {
      const { type, entity } = await entityOf(ws, c.req.param('type'), c.req.param('name'));
      return toSvg(entityTimelineChart(await entityTimeline(ws, entity, type), entity));
    });
    return c.body(svg, 200, { 'Content-Type': 'image/svg+xml' });
  });
  app.get('/api/chart/detections/:type/:name', async (c) => {
    const svg = await withWs(options.db, async (ws) => {
      const { type, entity } = await entityOf(ws, c.req.param('type'), c.req.param('name'));
      return toSvg(detectionsByPhase(await detectionsPerDay(ws, entity, type), entity));
    });
    return c.body(svg, 200, { 'Content-Type': 'image/svg+xml' });
  });
  app.get('/api/runs/:id/features', async (c) => {
    return json(c, await withWs(options.db, (ws) => numericFeatures(ws, intParam('run id', c.req.param('id'), 0, 1, 2_147_483_647))));
  });
  app.get('/api/chart/scatter/:id', async (c) => {
    const id = intParam('run id', c.req.param('id'), 0, 1, 2_147_483_647);
    const svg = await withWs(options.db, async (ws) => {
      const features = await numericFeatures(ws, id);
      const [x, y] = [c.req.query('x') ?? '', c.req.query('y') ?? ''];
      // Feature names come from the run's own rows, never from the client into SQL.
      if (!features.includes(x) || !features.includes(y)) throw new UsageError(`x and y are features of run ${id}: ${features.join(', ')}`);
      const rows = await ws.query(
        `SELECT rank, entity, CAST(features->>$2 AS DOUBLE) AS x, CAST(features->>$3 AS DOUBLE) AS y,
          coalesce(features->>'cluster', evidence->>'cluster', '-') AS cluster, rank <= greatest(5, (SELECT count(*) FROM results WHERE run_id = $1) / 100) AS top
        FROM results WHERE run_id = $1 ORDER BY rank LIMIT 5000`,
        [id, x, y],
      );
      const [run] = await ws.query('SELECT hunt FROM hunt_runs WHERE run_id = $1', [id]);
      return toSvg(
        scatter(
          rows
            .filter((r) => r.x !== null && r.y !== null)
            .map((r) => ({ x: Number(r.x), y: Number(r.y), cluster: String(r.cluster), top: r.top === true, label: String(r.entity) })),
          x,
          y,
          `${String(run?.hunt ?? 'run')} ${id}: ${x} against ${y}`,
        ),
      );
    });
    return c.body(svg, 200, { 'Content-Type': 'image/svg+xml' });
  });
  app.get('/api/raw/:table/:ref', async (c) => {
    const table = c.req.param('table');
    // Only canonical tables, by name from the whitelist; the row by its file and record key (fixed at ingest), bound.
    if (!(CANONICAL_TABLES as readonly string[]).includes(table)) throw new UsageError(`no table ${table}`);
    const [file, record] = c.req.param('ref').split(':');
    const fileId = intParam('a row reference FILE:ROW', file, -1, 1, 2_147_483_647);
    const rowId = intParam('a row reference FILE:ROW', record, -1, 0, Number.MAX_SAFE_INTEGER);
    return json(
      c,
      await withWs(options.db, async (ws) => {
        const { rows } = await ws.queryWithColumns(`SELECT * FROM ${quoteIdent(table)} WHERE file_id = $1 AND rec = $2`, [fileId, rowId]);
        const [file] = await ws.query("SELECT path || coalesce('!' || member, '') AS path FROM ingested_files WHERE file_id = $1", [
          fileId,
        ]);
        return { table, file: file?.path ?? null, row: rows[0] ?? null };
      }),
    );
  });
  app.get('/api/chart/run/:id/:rank/:kind', async (c) => {
    const kind = c.req.param('kind');
    if (!['intervals', 'hours', 'sizes', 'span'].includes(kind)) throw new UsageError('chart is intervals, hours, sizes or span');
    const svg = await withWs(options.db, async (ws) => {
      const [row] = await ws.query(
        'SELECT entity, entity_type, CAST(evidence AS VARCHAR) AS evidence FROM results WHERE run_id = $1 AND rank = $2',
        [intParam('run id', c.req.param('id'), 0, 1, 2_147_483_647), intParam('rank', c.req.param('rank'), 0, 1, 2_147_483_647)],
      );
      const evidence = row?.evidence
        ? (JSON.parse(String(row.evidence)) as {
            intervals?: [number, number][];
            interval_bins?: [number, number, number][];
            hourly?: number[];
            sizes?: [string, number][];
          })
        : {};
      if (kind === 'span' && row) {
        // Every connection of the pair the workspace holds, by hour: the whole observed span.
        const [src, dest] = String(row.entity).split('→');
        const hours = await ws.query(
          `SELECT CAST(date_trunc('hour', ts) AS VARCHAR) AS hour, count(*) AS count FROM (
            SELECT ts FROM http WHERE src_ip = $1 AND (dest = $2 OR dest_ip = $2) UNION ALL SELECT ts FROM flows WHERE src_ip = $1 AND dest_ip = $2) GROUP BY 1 ORDER BY 1`,
          [src, dest.replace(/:\d+$/, '')],
        );
        return toSvg(
          spanChart(
            hours.map((h) => ({ hour: String(h.hour), count: Number(h.count) })),
            `${String(row.entity)}: connections per hour, whole span`,
          ),
        );
      }
      if (kind === 'sizes' && evidence.sizes) return toSvg(sizeBars(evidence.sizes, `${String(row.entity)}: bytes sent per connection`));
      if (kind === 'intervals' && evidence.interval_bins?.length)
        return toSvg(intervalBinsChart(evidence.interval_bins, `${String(row.entity)}: intervals between connections`));
      if (kind === 'intervals' && evidence.intervals)
        return toSvg(intervalHistogram(evidence.intervals, `${String(row.entity)}: intervals between connections`));
      if (kind === 'hours' && evidence.hourly) return toSvg(hourlyBars(evidence.hourly, `${String(row.entity)}: connections by hour`));
      throw new UsageError('this row has no timing evidence to chart');
    });
    return c.body(svg, 200, { 'Content-Type': 'image/svg+xml' });
  });
  app.get('/api/chart/graph', async (c) => {
    const days = intParam('days', c.req.query('days'), 7, 1, 3650);
    const profile = c.req.query('profile') || undefined;
    const svg = await withWs(options.db, async (ws) =>
      vegaToSvg(
        interactionGraph(
          (await labelledSubgraph(ws, days, profile)).rows,
          `interactions with ${profile ? `profile ${profile}` : 'labelled profiles'}, last ${days} days`,
        ),
      ),
    );
    return c.body(svg, 200, { 'Content-Type': 'image/svg+xml' });
  });
  app.get('/api/graph', async (c) => {
    const days = intParam('days', c.req.query('days'), 7, 1, 3650);
    const profile = c.req.query('profile') || undefined;
    return json(
      c,
      await withWs(options.db, async (ws) => ({
        edges: (await labelledSubgraph(ws, days, profile)).rows,
        exposure: (await exposure(ws, 30)).rows,
      })),
    );
  });
  app.post('/api/triage', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { hunt?: unknown; thread?: unknown; decision?: unknown; note?: unknown };
    const [hunt, thread, decision] = [body.hunt, body.thread, body.decision].map((v) => (typeof v === 'string' ? v : ''));
    const note = typeof body.note === 'string' ? body.note.slice(0, 2000) : undefined;
    const id = await withWs(options.db, (ws) => setTriage(ws, hunt, thread, decision, { note, who: 'workbench' }), true);
    return json(c, { triage_id: id });
  });
  app.delete('/api/triage', async (c) => {
    const hunt = c.req.query('hunt') ?? '';
    const thread = c.req.query('thread') ?? '';
    await withWs(options.db, (ws) => undoTriage(ws, hunt, thread), true);
    return json(c, { undone: true });
  });
  return app;
}

/** The numeric features a run's rows carry (the names the scatter may use). */
async function numericFeatures(ws: Workspace, runId: number): Promise<string[]> {
  const [row] = await ws.query('SELECT CAST(features AS VARCHAR) AS f FROM results WHERE run_id = $1 ORDER BY rank LIMIT 1', [runId]);
  if (!row) throw new UsageError(`no rows in run ${runId}`);
  return Object.entries(JSON.parse(String(row.f)) as Record<string, unknown>)
    .filter(([, v]) => typeof v === 'number')
    .map(([k]) => k);
}

function parseJsonColumns(row: Row): Row {
  const out: Row = { ...row };
  for (const key of ['reasons', 'features', 'evidence'])
    if (typeof out[key] === 'string') out[key] = JSON.parse(out[key] as string) as Row[string];
  return out;
}
