/**
 * `huntbook report --out FILE.html`: one self-contained file to attach to a ticket. The latest
 * run of every hunt, its top threads with every reason, the triage in force, and charts (a
 * beacon's intervals and hours, the top user's days against the population) as inline SVG made
 * on the server. No script, no external reference: a strict Content-Security-Policy says so, and
 * every string from the logs is escaped.
 */
import { BIDI_CONTROLS } from '../report/format.ts';
import type { Workspace } from '../store/workspace.ts';
import { entityTimelineChart, hourlyBars, interactionGraph, intervalHistogram, toSvg, vegaToSvg } from './charts.ts';
import { labelledSubgraph } from '../hunts/social/graph.ts';
import { entityTimeline, latestRuns, topThreads, type Thread } from './threads.ts';

export const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** Text for HTML (element content and quoted attributes): log content is attacker-controlled. */
export function escapeHtml(value: unknown): string {
  // Bidirectional controls from logs are shown as \u202e, as the terminal tables show them, never obeyed.
  return String(value ?? '')
    .replace(BIDI_CONTROLS, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f6f6}
.reasons{margin:0;padding-left:1.2em;color:#444}.decision{font-weight:bold}.act{color:#b00}.watch{color:#a60}.discard{color:#777}
.chart{margin:1em 0}.muted{color:#777}`;

function threadRows(threads: Thread[]): string {
  return threads
    .map(
      (t) => `<tr><td>${t.rank}</td><td>${escapeHtml(t.entity)}<div class="muted">${escapeHtml(t.entityType)}</div></td>
<td>${t.score === null ? '' : escapeHtml(Math.round(t.score * 1000) / 1000)}</td>
<td>${t.decision ? `<span class="decision ${escapeHtml(t.decision)}">${escapeHtml(t.decision)}</span>${t.note ? `: ${escapeHtml(t.note)}` : ''}` : ''}</td>
<td><ul class="reasons">${t.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul></td></tr>`,
    )
    .join('\n');
}

export async function buildReport(
  ws: Workspace,
  options: { perHunt?: number; title?: string; workspace?: string } = {},
): Promise<{ html: string; charts: number; threads: number }> {
  const runs = await latestRuns(ws);
  const { threads, discarded } = await topThreads(ws, options.perHunt ?? 5);
  const charts: string[] = [];
  const beacon = threads.find((t) => t.hunt === 'beacons.timing' && t.evidence);
  if (beacon?.evidence) {
    const intervals = beacon.evidence.intervals as [number, number][] | undefined;
    const hourly = beacon.evidence.hourly as number[] | undefined;
    if (intervals?.length) charts.push(await toSvg(intervalHistogram(intervals, `${beacon.entity}: intervals between connections`)));
    if (hourly?.length) charts.push(await toSvg(hourlyBars(hourly, `${beacon.entity}: connections by hour`)));
  }
  const top =
    threads.find((t) => t.hunt === 'risk' && t.entityType === 'user') ??
    threads.find((t) => ['insider', 'baseline', 'population'].includes(t.hunt));
  if (top) {
    const timeline = await entityTimeline(ws, top.entity);
    if (timeline.some((r) => r.entity !== null)) charts.push(await toSvg(entityTimelineChart(timeline, top.entity)));
  }
  const labelled = await labelledSubgraph(ws, 7);
  if (labelled.rows.length > 0)
    charts.push(await vegaToSvg(interactionGraph(labelled.rows, 'interactions with labelled profiles, last 7 days')));
  const hunts = [...new Set(threads.map((t) => t.hunt))];
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="huntbook report">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${escapeHtml(options.title ?? 'huntbook report')}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(options.title ?? 'huntbook report')}</h1>
<p class="muted">made ${escapeHtml(new Date().toISOString().slice(0, 19).replace('T', ' '))} UTC · act, watch or discard: huntbook triage set HUNT THREAD DECISION</p>
<h2>Runs</h2>
<table><tr><th>hunt</th><th>run</th><th>started</th><th>seconds</th><th>rows</th><th>window</th></tr>
${runs.map((r) => `<tr><td>${escapeHtml(r.hunt)}</td><td>${escapeHtml(r.run_id)}</td><td>${escapeHtml(r.started_at)}</td><td>${escapeHtml(r.seconds)}</td><td>${escapeHtml(r.result_count)}</td><td>${escapeHtml(r.window_start ?? '')} ${r.window_end ? `.. ${escapeHtml(r.window_end)}` : ''}</td></tr>`).join('\n')}
</table>
${charts.length ? `<h2>Charts</h2>\n${charts.map((svg) => `<div class="chart">${svg}</div>`).join('\n')}` : ''}
${hunts
  .map(
    (hunt) => `<h2>${escapeHtml(hunt)}: top threads</h2>
<table><tr><th>rank</th><th>thread</th><th>score</th><th>triage</th><th>why</th></tr>
${threadRows(threads.filter((t) => t.hunt === hunt))}
</table>`,
  )
  .join('\n')}
${
  discarded.length
    ? `<h2>Discarded (set aside by triage; huntbook triage undo brings one back)</h2>
<table><tr><th>rank</th><th>thread</th><th>score</th><th>triage</th><th>why</th></tr>
${threadRows(discarded)}</table>`
    : ''
}
</body></html>
`;
  return { html, charts: charts.length, threads: threads.length };
}
