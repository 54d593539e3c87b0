/**
 * What `huntbook demo` runs after ingest, in order. Each hunt that lands adds itself here, so the
 * demo always shows every hunt there is. Rows are marked with the generator's ground truth, so a
 * newcomer sees at once what was found.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../config.ts';
import { runHunt, type Hunt } from '../hunts/contract.ts';
import { BASELINE, FLOW, INSIDER, POPULATION, RISK, SCORED, SOCIAL, TIMING } from '../hunts/registry.ts';
import type { Flags } from '../model/flags.ts';
import type { Row, Workspace } from '../store/workspace.ts';
import { loadRuleSources } from '../rules/catalog.ts';
import { runRules } from '../rules/engine.ts';

/** A hunt as the CLI would run it with these flags, over the configuration in force. */
function demoRun<P>(ws: Workspace, hunt: Hunt<P>, flags: Flags) {
  return runHunt(ws, hunt, hunt.params(loadConfig(), flags));
}

export interface DemoResult {
  columns: string[];
  rows: Row[];
  notes: string[];
}

export interface DemoHunt {
  title: string;
  run: (ws: Workspace, context: { truth: string }) => Promise<DemoResult>;
}

interface Truth {
  insider: { user: string; phases: { phase: string; date: string }[] };
  fake_profiles: { profile_id: string }[];
  beacons: { id: string; kind: string; channel: string; src_ip: string; dest: string; dest_ip: string; period_s: number; jitter: number }[];
  benign_periodic: { dest: string; note: string; users: string[] | '*' }[];
}

/** "planted B03 jitter (180 s ± 30 %)" for a planted pair, the note of a known benign poller, or ''. */
function label(truth: Truth, src: unknown, dest: unknown): string {
  const beacon = truth.beacons.find((b) => b.src_ip === src && (b.channel === 'proxy' ? b.dest : b.dest_ip) === dest);
  if (beacon) return `PLANTED ${beacon.id} ${beacon.kind} (${beacon.period_s} s${beacon.jitter ? ` ± ${beacon.jitter * 100} %` : ''})`;
  const benign = truth.benign_periodic.find((b) => b.dest === dest);
  return benign ? `benign: ${benign.note}` : '';
}

const pick = (row: Row, keys: string[]) => Object.fromEntries(keys.map((k) => [k, row[k] ?? null]));

export const DEMO_HUNTS: DemoHunt[] = [
  {
    title: 'hunt beacons (timing): RITA-style regularity per pair, ranked with prevalence and allow-list',
    run: async (ws, { truth }) => {
      const t = JSON.parse(readFileSync(truth, 'utf8')) as Truth;
      const out = await demoRun(ws, TIMING, { top: '15' });
      const columns = ['rank', 'kind', 'src', 'dest', 'records', 'score', 'jitter_score', 'prevalence', 'rank_score', 'truth'];
      const rows = out.rows.map((r) => ({ ...pick(r, columns), truth: label(t, r.src, r.dest) }));
      const found = t.beacons.filter((b) => rows.slice(0, 20).some((r) => r.truth.startsWith(`PLANTED ${b.id} `)));
      return {
        columns,
        rows,
        notes: [...out.notes, `planted beacons in this list: ${found.length} of ${t.beacons.length}; full reasons: --format json`],
      };
    },
  },
  {
    title: "hunt beacons --mode scored: the seed's risk-scored search, top pairs by isolation forest",
    run: async (ws, { truth }) => {
      const t = JSON.parse(readFileSync(truth, 'utf8')) as Truth;
      const out = await demoRun(ws, SCORED, { all: true });
      const columns = ['rank', 'iforest_score', 'dest', 'src_ip', 'distinct_event_count', 'time_count', 'above', 'addedweight', 'truth'];
      return {
        columns,
        rows: out.rows.slice(0, 10).map((r) => ({ ...pick(r, columns), truth: label(t, r.src_ip, r.dest) })),
        notes: out.notes,
      };
    },
  },
  {
    title: "hunt beacons --mode flow: the seed's first search over flows (repeated exact sizes)",
    run: async (ws, { truth }) => {
      const t = JSON.parse(readFileSync(truth, 'utf8')) as Truth;
      const out = await demoRun(ws, FLOW, { ports: 'all', top: '5' });
      const columns = ['rank', 'src_ip', 'dest_ip', 'bytes_out', 'beacon_count', 'beacon_percentage', 'total_count', 'truth'];
      return { columns, rows: out.rows.map((r) => ({ ...pick(r, columns), truth: label(t, r.src_ip, r.dest_ip) })), notes: out.notes };
    },
  },

  {
    title: 'rules run: the shipped packs (insider, behavior, intrusion) into the detections table',
    run: async (ws) => {
      const { rules } = await loadRuleSources([], []);
      const report = await runRules(ws, rules);
      const { columns, rows } = await ws.queryWithColumns(
        'SELECT rule_id, phase, weight, count(*) AS detections, count(DISTINCT entity) AS entities FROM detections GROUP BY ALL ORDER BY detections DESC, rule_id LIMIT 12',
      );
      return { columns, rows, notes: [`${report.rules} rules, ${report.inserted} detections in ${report.seconds.toFixed(1)} s`] };
    },
  },
  {
    title: "hunt risk --by user: the seed's weights, phases and multipliers per user and day",
    run: async (ws, { truth }) => {
      const t = JSON.parse(readFileSync(truth, 'utf8')) as Truth;
      const out = await demoRun(ws, RISK, { top: '8' });
      const columns = [
        'rank',
        'window_start',
        'entity',
        'tweight',
        'scount',
        'pcount',
        'weighted',
        'alert',
        'risk',
        'level',
        'iforest_score',
        'truth',
      ];
      return {
        columns,
        rows: out.rows.map((r) => ({ ...pick(r, columns), truth: r.entity === t.insider.user ? 'PLANTED insider' : '' })),
        notes: out.notes,
      };
    },
  },
  {
    title: "hunt population: how rare is each user's set of phases and rules (k-means, outlier cluster)",
    run: async (ws, { truth }) => {
      const t = JSON.parse(readFileSync(truth, 'utf8')) as Truth;
      const out = await demoRun(ws, POPULATION, { top: '6' });
      const columns = [
        'rank',
        'user',
        'user_count',
        'detection_count',
        'dc_phase_count',
        'dc_detection_count',
        'addedweight',
        'cluster',
        'cluster_risk',
        'outlier_cluster',
        'truth',
      ];
      return {
        columns,
        rows: out.rows.map((r) => ({
          ...pick(r, columns),
          truth: r.user === t.insider.user ? `PLANTED insider (${t.insider.phases.map((p) => p.phase).join(' → ')})` : '',
        })),
        notes: out.notes,
      };
    },
  },
  {
    title: "hunt baseline: each user's day against their own earlier days and their peers (days of interest)",
    run: async (ws, { truth }) => {
      const t = JSON.parse(readFileSync(truth, 'utf8')) as Truth;
      const out = await demoRun(ws, BASELINE, { top: '6' });
      const columns = ['rank', 'user', 'day', 'score', 'peer_group', 'deviations', 'truth'];
      const phaseOn = (day: unknown) => t.insider.phases.find((p) => p.date === day)?.phase;
      return {
        columns,
        notes: out.notes,
        rows: out.rows.map((r) => ({
          ...pick(r, columns),
          truth: r.user === t.insider.user ? `PLANTED insider${phaseOn(r.day) ? ` (${phaseOn(r.day)} day)` : ''}` : '',
        })),
      };
    },
  },
  {
    title: 'hunt insider: baseline, risk, population, phase order and red flags in one list, with each story',
    run: async (ws, { truth }) => {
      const t = JSON.parse(readFileSync(truth, 'utf8')) as Truth;
      const out = await demoRun(ws, INSIDER, { top: '5' });
      const columns = ['rank', 'user', 'score', 'baseline', 'risk', 'population', 'order', 'red_flags', 'story', 'truth'];
      return {
        columns,
        rows: out.rows.map((r) => ({ ...pick(r, columns), truth: r.user === t.insider.user ? 'PLANTED insider' : '' })),
        notes: out.notes,
      };
    },
  },
  {
    title: 'hunt social: profiles by how they worked the employees (from the notice e-mails and the export; isolation forest)',
    run: async (ws, { truth }) => {
      const t = JSON.parse(readFileSync(truth, 'utf8')) as Truth;
      const out = await demoRun(ws, SOCIAL, { top: '6' });
      const columns = ['rank', 'profile_id', 'name', 'headline', 'score', 'users', 'departments', 'followup', 'messages', 'truth'];
      const fakes = new Set(t.fake_profiles.map((f) => f.profile_id));
      const lookalikes = Number(await ws.scalar("SELECT count(*) FROM mail_notices WHERE verdict = 'lookalike'"));
      return {
        columns,
        rows: out.rows.map((r) => ({ ...pick(r, columns), truth: fakes.has(String(r.profile_id)) ? 'PLANTED fake' : '' })),
        notes: [...out.notes, `${lookalikes} lookalike notification e-mails recorded in mail_notices, never counted as interactions`],
      };
    },
  },
];
