import { join } from 'node:path';
import { loadSigma } from '/work/main/src/rules/sigma/load.ts';
import { planRules } from '/work/main/src/rules/engine.ts';
import { detectionAnchors } from '/work/main/src/rules/sigma/anchors.ts';
const { rules } = await loadSigma('/work/shared/data/sigma/sigma-rules.tar.gz');
const windows = rules.filter((r) => r.logsource?.product?.toLowerCase() === 'windows');
const { planned } = planRules(windows);
const byGroup = new Map<string, { n: number; none: number; hashOnly: number; withHas: number; needles: Set<string> }>();
for (const p of planned) {
  const a = detectionAnchors(p.rule.detection ?? {});
  const g = byGroup.get(p.source.group) ?? { n: 0, none: 0, hashOnly: 0, withHas: 0, needles: new Set() };
  byGroup.set(p.source.group, g);
  g.n++;
  if (!a) { g.none++; if (process.argv[2] === p.source.group) console.log('NONE', p.rule.id, p.rule.name); continue; }
  if (a.some((x) => x.kind === 'has')) { g.withHas++; for (const x of a) if (x.kind === 'has') g.needles.add(`${x.field}:${x.value}`); } else g.hashOnly++;
}
for (const [k, g] of [...byGroup].sort((a, b) => b[1].n - a[1].n).slice(0, 15)) console.log(k, g.n, 'none', g.none, 'hash', g.hashOnly, 'has', g.withHas, 'needles', g.needles.size);
const perField = new Map<string, number>();
for (const p of planned) {
  const a = detectionAnchors(p.rule.detection ?? {});
  for (const x of a ?? []) if (x.kind === 'has') perField.set(`${p.source.group} ${x.field}`, (perField.get(`${p.source.group} ${x.field}`) ?? 0) + 1);
}
console.log([...perField].sort((a, b) => b[1] - a[1]).slice(0, 25));
