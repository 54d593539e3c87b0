/**
 * Charts as Vega-Lite specifications (the same specs for the report and, later, the web app),
 * rendered to SVG on the server with vega's headless renderer: no browser, no network, no script
 * in the page. Data values are embedded in the spec; Vega writes text into SVG escaped.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Row } from '../store/workspace.ts';

export type Spec = TopLevelSpec;

const BASE = { width: 560, height: 180, config: { font: 'sans-serif', view: { stroke: null } } } as const;

/** A beacon's inter-arrival intervals: [seconds, count] pairs as the timing hunt keeps them. */
export function intervalHistogram(pairs: [number, number][], title: string): Spec {
  return {
    ...BASE,
    title,
    data: { values: pairs.map(([seconds, count]) => ({ seconds, count })) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'seconds', type: 'ordinal', title: 'interval (s)', sort: 'ascending' },
      y: { field: 'count', type: 'quantitative', title: 'connections' },
    },
  };
}

/** A beacon's gaps as equal bins on a time axis ([from s, to s, count]): the period shows for jittered beacons too. */
export function intervalBinsChart(bins: [number, number, number][], title: string): Spec {
  return {
    ...BASE,
    title,
    data: { values: bins.map(([from, to, count]) => ({ from, to, count })) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'from', type: 'quantitative', title: 'interval between connections (s)' },
      x2: { field: 'to' },
      y: { field: 'count', type: 'quantitative', title: 'connections' },
    },
  };
}

/** Connections per hour over the whole span a pair was seen, not the scored window alone. */
export function spanChart(rows: { hour: string; count: number }[], title: string): Spec {
  return {
    ...BASE,
    title,
    data: { values: rows },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'hour', type: 'temporal', title: 'hour (UTC)' },
      y: { field: 'count', type: 'quantitative', title: 'connections' },
    },
  };
}

/** A beacon's request sizes: [bytes, count] pairs (the timing hunt's sizes evidence). */
export function sizeBars(pairs: [string | number, number][], title: string): Spec {
  return {
    ...BASE,
    title,
    data: { values: pairs.map(([bytes, count]) => ({ bytes: Number(bytes), count })) },
    mark: 'bar',
    encoding: {
      x: { field: 'bytes', type: 'ordinal', title: 'bytes out', sort: 'ascending' },
      y: { field: 'count', type: 'quantitative', title: 'connections' },
    },
  };
}

/** Connections per hour of day (the timing hunt's hourly evidence). */
export function hourlyBars(hourly: number[], title: string): Spec {
  return {
    ...BASE,
    title,
    data: { values: hourly.map((count, hour) => ({ hour, count })) },
    mark: 'bar',
    encoding: {
      x: { field: 'hour', type: 'ordinal', title: 'hour (UTC)' },
      y: { field: 'count', type: 'quantitative', title: 'connections' },
    },
  };
}

/** An entity's daily weighted score against the population's median and 90th percentile. */
export function entityTimelineChart(rows: Row[], entity: string): Spec {
  const values = rows.flatMap((r) => [
    { day: r.day, series: 'population median', value: Number(r.median) },
    { day: r.day, series: 'population p90', value: Number(r.p90) },
    ...(r.entity === null ? [] : [{ day: r.day, series: entity, value: Number(r.entity) }]),
    ...(r.alert === true ? [{ day: r.day, series: 'alert day', value: Number(r.entity) }] : []),
    ...(r.red_flag ? [{ day: r.day, series: 'red flag', value: Number(r.entity ?? 0), flag: String(r.red_flag) }] : []),
  ]);
  return {
    ...BASE,
    title: `${entity}: daily weighted score against the population`,
    data: { values },
    layer: [
      { transform: [{ filter: "datum.series !== 'alert day' && datum.series !== 'red flag'" }], mark: { type: 'line', point: true } },
      { transform: [{ filter: "datum.series === 'alert day'" }], mark: { type: 'point', shape: 'diamond', size: 160, filled: true } },
      // A red flag (notice given, a leaving date) is an event, not a level: a marker on its day, named in the tooltip.
      {
        transform: [{ filter: "datum.series === 'red flag'" }],
        mark: { type: 'point', shape: 'triangle-up', size: 200, filled: true, tooltip: { content: 'data' } },
      },
    ],
    encoding: {
      x: { field: 'day', type: 'temporal', title: 'day' },
      y: { field: 'value', type: 'quantitative', title: 'weighted' },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}

/** Two features of a run's rows against each other: clusters coloured, the top-ranked marked. */
export function scatter(
  rows: { x: number; y: number; cluster: string; top: boolean; label: string }[],
  x: string,
  y: string,
  title: string,
): Spec {
  return {
    ...BASE,
    height: 320,
    title,
    data: { values: rows },
    mark: { type: 'point', filled: true, opacity: 0.7 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: x },
      y: { field: 'y', type: 'quantitative', title: y },
      color: { field: 'cluster', type: 'nominal', title: 'cluster' },
      shape: { field: 'top', type: 'nominal', title: 'top ranked' },
      size: { condition: { test: 'datum.top', value: 120 }, value: 25 },
    },
  };
}

/** Detections per day, stacked by phase. */
export function detectionsByPhase(rows: Row[], entity: string): Spec {
  return {
    ...BASE,
    title: `${entity}: detections by phase`,
    data: { values: rows.map((r) => ({ day: r.day, phase: r.phase, n: Number(r.n) })) },
    mark: 'bar',
    encoding: {
      x: { field: 'day', type: 'temporal', timeUnit: 'yearmonthdate', title: 'day' },
      y: { field: 'n', type: 'quantitative', title: 'detections', stack: true },
      color: { field: 'phase', type: 'nominal' },
    },
  };
}

/**
 * Employees and the profiles they dealt with (the seed's Neo4j picture): a force layout, employees
 * blue, profiles coloured by label, KNOWS (messages) solid and red, INTERACTED grey.
 */
export function interactionGraph(edges: Row[], title: string): vega.Spec {
  const ids = new Map<string, { name: string; title: string; group: string; href: string }>();
  for (const e of edges) {
    // Every node named, and a link to its page (the workbench inlines the SVG, so they are clickable).
    ids.set(`e:${String(e.employee)}`, {
      name: String(e.employee),
      title: `${String(e.employee)} (${String(e.title ?? '')})`,
      group: 'employee',
      href: `#/entity/user/${encodeURIComponent(String(e.employee))}`,
    });
    ids.set(`p:${String(e.profile_id)}`, {
      name: `${String(e.profile_name ?? e.profile_id)}`,
      title: `${String(e.profile_name ?? '')} (${String(e.profile_id)}, ${String(e.label ?? 'profile')})`,
      group: String(e.label ?? 'profile'),
      href: `#/?q=${encodeURIComponent(`profile:${String(e.profile_id)}`)}`,
    });
  }
  const index = [...ids.keys()];
  const nodes = index.map((id, i) => ({ index: i, ...ids.get(id)! }));
  const links = edges.map((e) => ({
    source: index.indexOf(`e:${String(e.employee)}`),
    target: index.indexOf(`p:${String(e.profile_id)}`),
    edge: String(e.edge),
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: 640,
    height: 420,
    padding: 5,
    autosize: 'none',
    title: { text: title },
    config: { font: 'sans-serif' },
    data: [
      { name: 'nodes', values: nodes },
      { name: 'links', values: links },
    ],
    scales: [
      {
        name: 'color',
        type: 'ordinal',
        domain: ['employee', 'fake', 'suspicious', 'watched', 'profile'],
        range: ['#4c78a8', '#d62728', '#ff7f0e', '#e6ab02', '#999999'],
      },
    ],
    legends: [{ fill: 'color', title: 'node', orient: 'top-left' }],
    marks: [
      {
        name: 'nodeMarks',
        type: 'symbol',
        from: { data: 'nodes' },
        encode: {
          enter: {
            fill: { scale: 'color', field: 'group' },
            size: { signal: "datum.group === 'employee' ? 60 : 220" },
            stroke: { value: 'white' },
            href: { field: 'href' },
            tooltip: { field: 'title' },
            description: { field: 'title' },
            cursor: { value: 'pointer' },
          },
        },
        aria: true,
        transform: [
          {
            type: 'force',
            iterations: 300,
            static: true,
            forces: [
              { force: 'center', x: 320, y: 210 },
              { force: 'collide', radius: 8 },
              { force: 'nbody', strength: -40 },
              { force: 'link', links: 'links', distance: 90 },
            ],
          },
        ],
      },
      {
        type: 'path',
        from: { data: 'links' },
        interactive: false,
        encode: {
          update: {
            stroke: { signal: "datum.edge === 'KNOWS' ? '#d62728' : '#bbbbbb'" },
            strokeWidth: { signal: "datum.edge === 'KNOWS' ? 1.5 : 0.7" },
            strokeDash: { signal: "datum.edge === 'KNOWS' ? [1, 0] : [3, 2]" },
          },
        },
        transform: [
          {
            type: 'linkpath',
            shape: 'line',
            sourceX: 'datum.source.x',
            sourceY: 'datum.source.y',
            targetX: 'datum.target.x',
            targetY: 'datum.target.y',
          },
        ],
      },
      {
        type: 'text',
        from: { data: 'nodeMarks' },
        interactive: false,
        encode: {
          update: {
            x: { field: 'x' },
            y: { field: 'y', offset: -8 },
            text: { signal: 'datum.datum.name' },
            fontSize: { signal: "datum.datum.group === 'employee' ? 8 : 10" },
            fill: { signal: "datum.datum.group === 'employee' ? '#555' : '#111'" },
            align: { value: 'center' },
          },
        },
      },
    ],
  } as unknown as vega.Spec;
}

export async function vegaToSvg(spec: vega.Spec): Promise<string> {
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function toSvg(spec: Spec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
