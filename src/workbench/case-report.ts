/**
 * `huntbook report --thread ENTITY … | --decision act --case C-42 --analyst NAME`: a case file for
 * a ticket, limited to the threads in scope. Per finding: a summary (every hunt that ranked it and
 * why), the story (phases in the order they began, red flags with dates, detections by rule),
 * first and last seen, ATT&CK ids of the rules that fired, indicators (addresses, domains, URLs,
 * files, hashes, profile links) and the raw events behind it. Nothing about entities outside the
 * scope, and not the workspace's path: the file may travel.
 */
import { CANONICAL_TABLES, quoteIdent } from '../store/schema.ts';
import type { Row, Workspace } from '../store/workspace.ts';
import { UsageError } from '../errors.ts';
import { loadRuleSources } from '../rules/catalog.ts';
import { pairSource, threadQueue, type QueueThread } from './queue.ts';
import { CSP, escapeHtml, STYLE } from './report.ts';
import { entityStory } from './story.ts';
import { THREAD_KEY } from './triage.ts';

export interface CaseOptions {
  threads?: string[];
  decision?: string;
  caseId?: string;
  analyst?: string;
  title?: string;
  /** Raw events shown per rule (the rest are counted). */
  eventsPerRule?: number;
}

/** What a thread the user names resolves to: a key as `huntbook threads` prints it, or a bare name matched by its entity. */
async function resolveThreads(ws: Workspace, names: readonly string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const name of names) {
    const rows = await ws.query(
      `SELECT DISTINCT ${THREAD_KEY('r')} AS thread FROM results r WHERE ${THREAD_KEY('r')} = $1 OR lower(r.entity) = lower($1) ORDER BY 1`,
      [name],
    );
    if (rows.length === 0) throw new UsageError(`no thread "${name}" in any hunt's results (huntbook threads lists them)`);
    keys.push(...rows.map((r) => String(r.thread)));
  }
  return [...new Set(keys)];
}

const ATTACK_TAG = /^attack\.(t\d{4}(?:\.\d{3})?)$/i;

/** ATT&CK technique ids per rule id, from the shipped packs (the rules huntbook runs by default). */
async function attackIds(): Promise<Map<string, string[]>> {
  const { rules } = await loadRuleSources([], []);
  return new Map(
    rules.map((r) => [r.id, r.tags.map((t) => ATTACK_TAG.exec(t)?.[1]?.toUpperCase()).filter((t): t is string => Boolean(t))]),
  );
}

interface Finding {
  thread: QueueThread;
  firstSeen: string | null;
  lastSeen: string | null;
  phases: Row[];
  redFlags: Row[];
  rules: Row[];
  events: { rule: string; table: string; ref: string; row: Row | null }[];
  iocs: Map<string, Set<string>>;
  attack: string[];
}

const IOC_FIELDS: Record<string, string> = {
  dest: 'domains',
  dest_ip: 'addresses',
  src_ip: 'addresses',
  url: 'URLs',
  file_path: 'files',
  target: 'files',
  process: 'files',
  profile_url: 'profile links',
};
const HASH = /\b[a-f0-9]{64}\b|\b[a-f0-9]{40}\b|\b[a-f0-9]{32}\b/gi;

function addIoc(iocs: Map<string, Set<string>>, kind: string, value: unknown): void {
  const text = value === null || value === undefined ? '' : String(value).trim();
  if (!text || text === '-' || text.length > 500) return;
  if (!iocs.has(kind)) iocs.set(kind, new Set());
  iocs.get(kind)!.add(text);
}

async function finding(ws: Workspace, thread: QueueThread, attack: Map<string, string[]>, perRule: number): Promise<Finding> {
  const [kind] = thread.thread.split(':');
  const entity = thread.entity;
  const iocs = new Map<string, Set<string>>();
  const f: Finding = { thread, firstSeen: null, lastSeen: null, phases: [], redFlags: [], rules: [], events: [], iocs, attack: [] };
  if (kind === 'user' || kind === 'host') {
    const args = [kind, entity];
    const story = await entityStory(ws, kind, entity);
    [f.phases, f.redFlags, f.rules, f.firstSeen, f.lastSeen] = [story.phases, story.redFlags, story.rules, story.firstSeen, story.lastSeen];
    f.attack = [...new Set(f.rules.flatMap((r) => attack.get(String(r.rule_id)) ?? []))].sort();
    const refs = await ws.query(
      `SELECT rule, source_table, event_ref FROM (
        SELECT rule, source_table, event_ref, row_number() OVER (PARTITION BY rule ORDER BY ts, event_ref) AS n FROM detections WHERE entity_type = $1 AND entity = $2)
      WHERE n <= $3 ORDER BY rule, event_ref`,
      [...args, perRule],
    );
    for (const ref of refs) {
      const table = String(ref.source_table);
      const m = /^(\d+):(\d+)$/.exec(String(ref.event_ref));
      let row: Row | null = null;
      if (m && (CANONICAL_TABLES as readonly string[]).includes(table)) {
        [row] = await ws.query(`SELECT * EXCLUDE (file_id) FROM ${quoteIdent(table)} WHERE file_id = $1 AND rec = $2`, [
          Number(m[1]),
          Number(m[2]),
        ]);
        for (const [field, iocKind] of Object.entries(IOC_FIELDS)) if (row && field in row) addIoc(iocs, iocKind, row[field]);
        for (const hash of JSON.stringify(row ?? {}).match(HASH) ?? []) addIoc(iocs, 'hashes', hash.toLowerCase());
      }
      f.events.push({ rule: String(ref.rule), table, ref: String(ref.event_ref), row: row ?? null });
    }
  } else if (kind === 'pair') {
    const source = pairSource(thread.thread)!;
    const dest = thread.entity.split('→')[1] ?? '';
    addIoc(iocs, 'addresses', source);
    addIoc(iocs, /^[0-9.:]+$/.test(dest) ? 'addresses' : 'domains', dest);
    const seen = await ws.query(
      `SELECT CAST(min(ts) AS VARCHAR) AS first, CAST(max(ts) AS VARCHAR) AS last, list(DISTINCT dest_ip) FILTER (WHERE dest_ip IS NOT NULL) AS ips,
        list(DISTINCT url) FILTER (WHERE url IS NOT NULL)[1:20] AS urls FROM (
        SELECT ts, dest_ip, url FROM http WHERE src_ip = $1 AND (dest = $2 OR dest_ip = $2)
        UNION ALL SELECT ts, dest_ip, NULL FROM flows WHERE src_ip = $1 AND dest_ip = $2)`,
      [source, dest],
    );
    [f.firstSeen, f.lastSeen] = [seen[0]?.first as string | null, seen[0]?.last as string | null];
    for (const ip of (seen[0]?.ips as string[] | null) ?? []) addIoc(iocs, 'addresses', ip);
    for (const url of (seen[0]?.urls as string[] | null) ?? []) addIoc(iocs, 'URLs', url);
  } else if (kind === 'profile') {
    const seen = await ws.query(
      `SELECT CAST(min(ts) AS VARCHAR) AS first, CAST(max(ts) AS VARCHAR) AS last, list(DISTINCT profile_url) FILTER (WHERE profile_url IS NOT NULL) AS urls,
        list(DISTINCT image_url) FILTER (WHERE image_url IS NOT NULL) AS images FROM interactions WHERE lower(profile_id) = $1`,
      [entity],
    );
    [f.firstSeen, f.lastSeen] = [seen[0]?.first as string | null, seen[0]?.last as string | null];
    for (const url of (seen[0]?.urls as string[] | null) ?? []) addIoc(iocs, 'profile links', url);
    for (const url of (seen[0]?.images as string[] | null) ?? []) addIoc(iocs, 'pictures', url);
  }
  return f;
}

function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  if (rows.length === 0) return '<p class="muted">none</p>';
  return `<table><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>\n${rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c ?? '')}</td>`).join('')}</tr>`).join('\n')}</table>`;
}

function section(f: Finding): string {
  const t = f.thread;
  const who = [t.user ? `user ${t.user}` : '', t.host ? `host ${t.host}` : ''].filter(Boolean).join(', ');
  return `<h2 id="${escapeHtml(t.thread)}">${escapeHtml(t.thread)}</h2>
<p><b>Summary.</b> Combined score ${escapeHtml(t.score)}; ranked by ${escapeHtml(t.hunts.map((h) => `${h.hunt} #${h.rank} of ${h.of}`).join(', '))}.${who ? ` Behind its source: ${escapeHtml(who)}.` : ''}
${t.decision ? ` Decision: <span class="decision ${escapeHtml(t.decision)}">${escapeHtml(t.decision)}</span>${t.note ? ` (${escapeHtml(t.note)})` : ''}.` : ''}</p>
<p>First seen ${escapeHtml(f.firstSeen ?? 'unknown')}, last seen ${escapeHtml(f.lastSeen ?? 'unknown')}.${f.attack.length ? ` ATT&amp;CK: ${f.attack.map((a) => escapeHtml(a)).join(', ')}.` : ''}</p>
<h3>Why each hunt ranked it</h3>
<ul class="reasons">${t.hunts.map((h) => `<li>${escapeHtml(`${h.hunt} #${h.rank}: ${h.why ?? ''}`)}</li>`).join('')}</ul>
${
  f.phases.length
    ? `<h3>The story: phases in the order they began</h3>${table(
        ['phase', 'began', 'last', 'detections'],
        f.phases.map((p) => [String(p.phase), String(p.began), String(p.ended), Number(p.detections)]),
      )}`
    : ''
}
${
  f.redFlags.length
    ? `<h3>Red flags</h3>${table(
        ['date', 'flag'],
        f.redFlags.map((r) => [String(r.ts), String(r.rule)]),
      )}`
    : ''
}
${
  f.rules.length
    ? `<h3>Detections by rule</h3>${table(
        ['rule', 'phase', 'weight', 'count', 'first', 'last'],
        f.rules.map((r) => [String(r.rule), String(r.phase ?? ''), Number(r.weight), Number(r.count), String(r.first), String(r.last)]),
      )}`
    : ''
}
<h3>Indicators</h3>
${
  f.iocs.size
    ? `<ul>${[...f.iocs]
        .map(
          ([kind, values]) =>
            `<li>${escapeHtml(kind)}: ${[...values]
              .sort()
              .map((v) => `<code>${escapeHtml(v)}</code>`)
              .join(', ')}</li>`,
        )
        .join('')}</ul>`
    : '<p class="muted">none</p>'
}
${f.events.length ? `<h3>Raw events behind it (first of each rule)</h3>${f.events.map((e) => `<p class="muted">${escapeHtml(`${e.rule} · ${e.table} ${e.ref}`)}</p><pre>${escapeHtml(JSON.stringify(e.row, (_, v) => (typeof v === 'bigint' ? Number(v) : v), 2))}</pre>`).join('\n')}` : ''}`;
}

export async function buildCaseReport(ws: Workspace, options: CaseOptions): Promise<{ html: string; findings: number }> {
  let keys = options.threads?.length ? await resolveThreads(ws, options.threads) : undefined;
  if (options.decision) {
    const decided = (await threadQueue(ws, { decision: options.decision, limit: 1000, only: keys })).threads.map((t) => t.thread);
    keys = decided;
  }
  if (!keys || keys.length === 0)
    throw new UsageError(
      options.decision
        ? `no thread has the decision ${options.decision} in force`
        : 'which threads? give --thread ENTITY (one or more) or --decision act',
    );
  const { threads } = await threadQueue(ws, { only: keys, limit: keys.length });
  const attack = await attackIds();
  const findings: Finding[] = [];
  for (const t of threads) findings.push(await finding(ws, t, attack, options.eventsPerRule ?? 1));
  const title = options.title ?? `Case ${options.caseId ?? ''}`.trim();
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="huntbook report">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${escapeHtml(title)}</title><style>${STYLE}pre{white-space:pre-wrap;background:#f8f8f8;padding:.5em}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<table><tr><th>case</th><td>${escapeHtml(options.caseId ?? '')}</td></tr><tr><th>analyst</th><td>${escapeHtml(options.analyst ?? '')}</td></tr>
<tr><th>made</th><td>${escapeHtml(new Date().toISOString().slice(0, 19).replace('T', ' '))} UTC</td></tr>
<tr><th>findings</th><td>${findings.map((f) => `<a href="#${escapeHtml(f.thread.thread)}">${escapeHtml(f.thread.thread)}</a>`).join(', ')}</td></tr></table>
${findings.map(section).join('\n')}
</body></html>
`;
  return { html, findings: findings.length };
}
