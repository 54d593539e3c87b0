// usage: tsx same.ts <engine dir> <out.txt>
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
const dir = process.argv[2];
const { ingest } = await import(join(dir, 'src/ingest/ingest.ts'));
const { planRules, runRules } = await import(join(dir, 'src/rules/engine.ts'));
const { loadSigma } = await import(join(dir, 'src/rules/sigma/load.ts'));
const { Workspace } = await import(join(dir, 'src/store/workspace.ts'));
const ws = await Workspace.open(':memory:');
await ingest(ws, ['/work/shared/data/windows/otrf-atomic/windows']);
const { rules } = await loadSigma('/work/shared/data/sigma/sigma-rules.tar.gz');
const { planned } = planRules(rules.filter((r: { logsource?: { product?: string } }) => r.logsource?.product?.toLowerCase() === 'windows'));
const t = performance.now();
await runRules(ws, planned.map((p: { rule: unknown }) => p.rule));
const rows = await ws.query('SELECT rule_id, event_ref, entity_type, entity, ts FROM detections ORDER BY ALL');
writeFileSync(process.argv[3], rows.map((r: Record<string, unknown>) => Object.values(r).join('|')).join('\n'));
console.log(dir, rows.length, ((performance.now() - t) / 1000).toFixed(1), 's');
