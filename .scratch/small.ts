import { join } from 'node:path';
import { ingest } from '../src/ingest/ingest.ts';
import { planRules, refuseBadRegexes, runRules } from '../src/rules/engine.ts';
import { loadSigma } from '../src/rules/sigma/load.ts';
import { Workspace } from '../src/store/workspace.ts';
const { rules } = await loadSigma('/work/shared/data/sigma/sigma-rules.tar.gz');
const windows = rules.filter((r) => r.logsource?.product?.toLowerCase() === 'windows');
let t = performance.now();
const { planned } = planRules(windows);
console.error('planRules', performance.now() - t);
t = performance.now();
await refuseBadRegexes(planned);
console.error('regexes', performance.now() - t);
const ws = await Workspace.open(':memory:');
await ingest(ws, [process.argv[2]]);
for (let i = 0; i < 2; i++) {
  const report = await runRules(ws, planned.map((p) => p.rule));
  console.error('run', report.seconds, report.events, report.candidates);
}
