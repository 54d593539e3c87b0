import { loadSigma } from '../src/rules/sigma/load.ts';
import { planRules } from '../src/rules/engine.ts';
import { GroupScan } from '../src/rules/scan.ts';
import { Workspace } from '../src/store/workspace.ts';
const ws = await Workspace.open('.bench/rules-16.duckdb');
const { rules } = await loadSigma('/work/shared/data/sigma/sigma-rules.tar.gz');
const { planned } = planRules(rules.filter((r) => r.logsource?.product?.toLowerCase() === 'windows'));
const members = planned.filter((p) => p.source.group === 'windows/process_creation');
const scan = new GroupScan(members[0].source, members.map((m) => m.rule), 0);
await scan.load(ws, 0, 100000);
const ks = await scan.pair(ws);
await scan.check(ws, [...ks.keys()].slice(0, Number(process.argv[2] ?? 200)), null);
const { sql, params } = GroupScan.last!;
for (const opts of ['']) {
  await ws.run(`SET disabled_optimizers = '${opts}'`);
  const times = [];
  for (let i = 0; i < 3; i++) { const t = performance.now(); await ws.query('EXPLAIN ' + sql, params); times.push(performance.now() - t); }
  const t = performance.now(); await ws.run(sql, params); const ex = performance.now() - t;
  console.log(opts || '(none)', times.map((x) => x.toFixed(0)).join(' '), 'run', ex.toFixed(0));
}
const whens = sql.split(/ WHEN \d+ THEN /).slice(1);
console.log('rules', whens.length, 'avg chars', Math.round(whens.reduce((a, w) => a + w.length, 0) / whens.length), 'max', Math.max(...whens.map((w) => w.length)));
console.log(whens.sort((a, b) => b.length - a.length)[0].slice(0, 1500));
console.log('funcs', (sql.match(/\w+\(/g) ?? []).length);
