import { loadSigma } from '../src/rules/sigma/load.ts';
import { planRules } from '../src/rules/engine.ts';
import { GroupScan } from '../src/rules/scan.ts';
const { rules } = await loadSigma('/work/shared/data/sigma/sigma-rules.tar.gz');
const { planned } = planRules(rules.filter((r) => r.logsource?.product?.toLowerCase() === 'windows'));
for (const g of ['windows/service/security', 'windows/any', 'windows/process_creation']) {
  const m = planned.filter((p) => p.source.group === g);
  const s = new GroupScan(m[0].source, m.map((x) => x.rule), 0) as unknown as { slots: string[]; jsonKeys: string[]; used: { original: Set<number>; lowered: Set<number> } };
  console.log(g, 'slots', s.slots.length, 'json keys', s.jsonKeys.length, 'orig', s.used.original.size, 'lowered', s.used.lowered.size);
}
