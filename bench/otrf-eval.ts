/**
 * All SigmaHQ Windows rules over each OTRF Security-Datasets atomic capture: does a detection
 * carry the dataset's ATT&CK technique (from INDEX.tsv), on the host the technique ran on?
 * The "right host" is a host of the capture named in its metadata (adversary view, description);
 * failing that, the capture's busiest process-creation host.
 *
 *   npx tsx bench/otrf-eval.ts [--rules sigma-rules.tar.gz]
 * Prints a markdown table and a JSON summary.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ingest } from '../src/ingest/ingest.ts';
import { planRules, runRules } from '../src/rules/engine.ts';
import { techniquesOf, type Rule } from '../src/rules/model.ts';
import { loadSigma } from '../src/rules/sigma/load.ts';
import { Workspace } from '../src/store/workspace.ts';

const data = resolve(process.cwd(), '..', 'shared', 'data');
const rulesPath = process.argv.includes('--rules')
  ? process.argv[process.argv.indexOf('--rules') + 1]
  : join(data, 'sigma', 'sigma-rules.tar.gz');
const otrf = join(data, 'windows', 'otrf-atomic');

const { rules } = await loadSigma(rulesPath);
const windows = rules.filter((r) => r.logsource?.product?.toLowerCase() === 'windows');
const { planned } = planRules(windows);
const runnable: Rule[] = planned.map((p) => p.rule);
const techniquesByRule = new Map(runnable.map((r) => [r.id, techniquesOf(r.tags)]));
console.error(`${windows.length} Windows rules, ${runnable.length} runnable`);

const index = readFileSync(join(otrf, 'INDEX.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [file, id, , techniques, title, metadata] = line.split('\t');
    return { file, id, techniques: techniques.split(',').map((t) => t.trim()), title, metadata };
  });

const rows: Record<string, unknown>[] = [];
let events = 0;
let seconds = 0;
for (const entry of index) {
  const ws = await Workspace.open(':memory:');
  await ingest(ws, [join(otrf, entry.file.replace(/^atomic\//, ''))]);
  const meta = readFileSync(join(otrf, entry.metadata.replace(/^atomic\//, '')), 'utf8').toLowerCase();
  const hosts = (
    await ws.query(
      "SELECT split_part(lower(host), '.', 1) AS h, count(*) FILTER (WHERE event_id IN (1, 4688)) AS procs, count(*) AS n FROM events GROUP BY 1 ORDER BY procs DESC, n DESC",
    )
  ).map((r) => String(r.h));
  const named = hosts.filter((h) => h && meta.includes(h));
  const right = named.length > 0 ? named : hosts.slice(0, 1);
  const report = await runRules(ws, runnable);
  events += report.events;
  seconds += report.seconds;
  const detections = await ws.query("SELECT DISTINCT rule_id, rule, entity FROM detections WHERE entity_type = 'host'");
  const family = (t: string) => t.split('.')[0];
  const hit = (exact: boolean) =>
    detections.filter(
      (d) =>
        right.includes(String(d.entity)) &&
        (techniquesByRule.get(String(d.rule_id)) ?? []).some((t) =>
          entry.techniques.some((x) => (exact ? t === x : family(t) === family(x))),
        ),
    );
  const exact = hit(true);
  const fam = hit(false);
  rows.push({
    dataset: entry.file.split('/').pop()!.replace('.zip', ''),
    techniques: entry.techniques.join(','),
    host: right.join(','),
    events: report.events,
    rule_s: report.seconds.toFixed(2),
    rules_fired: new Set(detections.map((d) => d.rule_id)).size,
    technique_exact: exact.length > 0,
    technique_family: fam.length > 0,
    example: (exact[0] ?? fam[0])?.rule ?? '',
  });
  ws.close();
}
console.log('| dataset | technique | host | events | rule s | rules fired | technique detected (exact) | same technique family | e.g. |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.dataset} | ${r.techniques} | ${r.host} | ${r.events} | ${r.rule_s} | ${r.rules_fired} | ${r.technique_exact ? 'yes' : 'no'} | ${r.technique_family ? 'yes' : 'no'} | ${r.example} |`,
  );
console.log(
  JSON.stringify({
    datasets: rows.length,
    exact: rows.filter((r) => r.technique_exact).length,
    family: rows.filter((r) => r.technique_family).length,
    events,
    rule_seconds: +seconds.toFixed(1),
  }),
);
