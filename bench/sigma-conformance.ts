/**
 * Sigma conformance over SigmaHQ's regression data: every case's event must trigger the case's
 * rule; events triggering other cases' rules are listed. Also: how many of the SigmaHQ rules
 * load and compile, and why the rest are skipped.
 *
 *   npx tsx bench/sigma-conformance.ts [rules.tar.gz] [regression.tar.gz]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { extract as untar } from 'tar';
import { parse } from 'yaml';
import { ingest } from '../src/ingest/ingest.ts';
import { planRules, runRules, type RunOptions } from '../src/rules/engine.ts';
import { loadSigma } from '../src/rules/sigma/load.ts';
import { Workspace } from '../src/store/workspace.ts';

const data = resolve(process.cwd(), '..', 'shared', 'data', 'sigma');
const rulesArchive = process.argv[2] ?? join(data, 'sigma-rules.tar.gz');
const regressionArchive = process.argv[3] ?? join(data, 'sigma-regression-data.tar.gz');

export interface Conformance {
  rules: number;
  compiled: number;
  skipped: Record<string, number>;
  problems: number;
  cases: number;
  casesWithRule: number;
  triggered: number;
  missed: { case: string; rule: string; title: string; reason: string }[];
  crossTriggers: { case: string; rule: string }[];
  /** Every detection (rule, event, entity type, entity, time), sorted: to compare engine paths row for row. */
  detections: string[];
  seconds: number;
}

async function extract(archive: string, dir: string): Promise<void> {
  await untar({ file: archive, cwd: dir });
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

export async function conformance(rulesPath: string, regressionPath: string, options: RunOptions = {}): Promise<Conformance> {
  const started = performance.now();
  const { rules, problems } = await loadSigma(rulesPath);
  const { planned, skipped } = planRules(rules);
  const skipCounts: Record<string, number> = {};
  for (const s of skipped) skipCounts[s.reason] = (skipCounts[s.reason] ?? 0) + 1;
  const dir = mkdtempSync(join(tmpdir(), 'huntbook-sigma-'));
  try {
    await extract(regressionPath, dir);
    const infos = walk(dir).filter((p) => p.endsWith('info.yml'));
    const ws = await Workspace.open(':memory:');
    const cases: { dir: string; ruleId: string; title: string; files: string[] }[] = [];
    for (const info of infos) {
      const doc = parse(readFileSync(info, 'utf8')) as { rule_metadata?: { id: string; title: string }[] };
      const meta = doc.rule_metadata?.[0];
      const caseDir = info.slice(0, -'/info.yml'.length);
      const files = readdirSync(caseDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => join(caseDir, f));
      if (meta && files.length) cases.push({ dir: caseDir, ruleId: meta.id, title: meta.title, files });
    }
    // Some cases share an identical event file: it is ingested once and found again by its hash.
    const reports = await ingest(
      ws,
      cases.flatMap((c) => c.files),
    );
    const fileIds = await ws.query('SELECT file_id, sha256 FROM ingested_files');
    const bySha = new Map(fileIds.map((r) => [String(r.sha256), Number(r.file_id)]));
    const byPath = new Map(
      cases.flatMap((c) => c.files).map((f) => [f, bySha.get(createHash('sha256').update(readFileSync(f)).digest('hex'))]),
    );
    await runRules(ws, rules, options);
    const all = (
      await ws.query(
        "SELECT rule_id || '|' || event_ref || '|' || entity_type || '|' || entity || '|' || CAST(ts AS VARCHAR) || '|' || coalesce(CAST(details AS VARCHAR), '') AS d FROM detections ORDER BY d",
      )
    ).map((r) => String(r.d));
    const detections = await ws.query("SELECT DISTINCT rule_id, split_part(event_ref, ':', 1)::INTEGER AS file_id FROM detections");
    const hits = new Map<number, Set<string>>();
    for (const d of detections) hits.set(Number(d.file_id), new Set([...(hits.get(Number(d.file_id)) ?? []), String(d.rule_id)]));
    const compiledIds = new Set(planned.map((p) => p.rule.id));
    const skippedById = new Map(skipped.map((s) => [s.rule.id, `${s.reason}: ${s.detail}`]));
    const missed: Conformance['missed'] = [];
    const crossTriggers: Conformance['crossTriggers'] = [];
    let triggered = 0;
    const caseRules = new Set(cases.map((c) => c.ruleId));
    for (const c of cases) {
      const ids = c.files.map((f) => byPath.get(f)).filter((id): id is number => id !== undefined);
      const fired = new Set(ids.flatMap((id) => [...(hits.get(id) ?? [])]));
      if (fired.has(c.ruleId)) triggered++;
      else {
        const failed = reports.find((r) => c.files.includes(r.path) && r.status === 'failed');
        let reason = 'compiled, did not match';
        if (failed) reason = `ingest: ${failed.message}`;
        else if (!compiledIds.has(c.ruleId)) reason = skippedById.get(c.ruleId) ?? 'rule not in the rule set';
        missed.push({ case: c.dir.slice(dir.length + 1), rule: c.ruleId, title: c.title, reason });
      }
      for (const other of fired)
        if (other !== c.ruleId && caseRules.has(other)) crossTriggers.push({ case: c.dir.slice(dir.length + 1), rule: other });
    }
    ws.close();
    return {
      rules: rules.length,
      compiled: planned.length,
      skipped: skipCounts,
      problems: problems.length,
      cases: cases.length,
      casesWithRule: cases.filter((c) => compiledIds.has(c.ruleId)).length,
      triggered,
      missed,
      crossTriggers,
      detections: all,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await conformance(rulesArchive, regressionArchive);
  console.log(
    JSON.stringify(
      { ...result, missed: result.missed.length, crossTriggers: result.crossTriggers.length, detections: result.detections.length },
      null,
      1,
    ),
  );
  for (const m of result.missed) console.log(`MISSED ${m.case} ${m.rule} ${m.title}: ${m.reason}`);
  for (const x of result.crossTriggers) console.log(`CROSS ${x.case} also triggers ${x.rule}`);
}
