// The workbench's front end: plain JavaScript served as is (no build step, no framework, no CDN).
// It reads only the JSON API under /api. Every value from a log is put in the page with
// textContent or as an attribute value, never as HTML: a user agent holding <script> shows as text.

const main = document.getElementById('main');

/** An element with text and attributes; children appended. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    // Bidirectional controls from logs are shown as \u202e, never obeyed (they reorder what is read).
    if (key === 'text')
      node.textContent = String(value ?? '').replace(
        /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
        (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
    else if (key === 'onclick') node.addEventListener('click', value);
    else if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function api(path, init) {
  const response = await fetch(path, { credentials: 'same-origin', ...init });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function table(headers, rows, onRow) {
  const t = el('table');
  t.append(el('tr', {}, ...headers.map((h) => (h instanceof Node ? h : el('th', { text: h })))));
  for (const row of rows) {
    const tr = el(
      'tr',
      onRow ? { class: 'clickable', onclick: () => onRow(row, tr) } : {},
      ...row.cells.map((c) => (c instanceof Node ? el('td', {}, c) : el('td', { text: c }))),
    );
    if (row.id) tr.id = row.id;
    t.append(tr);
  }
  return t;
}

function reasonsList(reasons) {
  return el('ul', { class: 'reasons' }, ...(reasons || []).map((r) => el('li', { text: r })));
}

function entityLink(thread) {
  if (thread.entityType === 'user' || thread.entity_type === 'user')
    return el('a', { href: `#/entity/user/${encodeURIComponent(thread.entity)}`, text: thread.entity });
  return el('span', { text: thread.entity });
}

function triageControls(hunt, thread, decision, note, done) {
  const box = el('div', { class: 'triage' });
  if (decision)
    box.append(el('span', { class: `decision ${decision}`, text: decision }), el('span', { text: note ? `: ${note}` : '' }), ' ');
  const noteInput = el('input', { type: 'text', placeholder: 'note', 'aria-label': 'note' });
  box.append(noteInput);
  for (const d of ['act', 'watch', 'discard']) {
    box.append(
      el('button', {
        'data-decision': d,
        text: d,
        onclick: async (event) => {
          event.stopPropagation();
          await api('/api/triage', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ hunt, thread, decision: d, note: noteInput.value }),
          });
          done();
        },
      }),
    );
  }
  if (decision)
    box.append(
      el('button', {
        'data-decision': 'undo',
        text: 'undo',
        onclick: async (event) => {
          event.stopPropagation();
          await api(`/api/triage?hunt=${encodeURIComponent(hunt)}&thread=${encodeURIComponent(thread)}`, { method: 'DELETE' });
          done();
        },
      }),
    );
  return box;
}

function who(t) {
  // A beacon's source: the user and host behind it, each a link to its page.
  const parts = [];
  if (t.user) parts.push(el('a', { href: `#/entity/user/${encodeURIComponent(t.user)}`, text: t.user }));
  if (t.host) parts.push(' @ ', el('a', { href: `#/entity/host/${encodeURIComponent(t.host)}`, text: t.host }));
  return el('span', {}, ...parts);
}

function threadLink(t) {
  const [kind, ...rest] = t.thread.split(':');
  const name = rest.join(':');
  if (kind === 'user') return el('a', { href: `#/entity/user/${encodeURIComponent(name)}`, text: t.thread });
  if (kind === 'pair') return el('a', { href: `#/entity/host/${encodeURIComponent(name.split('→')[0])}`, text: t.thread });
  return el('span', { text: t.name ? `${t.thread} (${t.name})` : t.thread });
}

/** The queue: every thread once, across hunts; filters and paging live in the address (#/?hunt=…&offset=…). */
async function queueSection(params) {
  const limit = 25;
  const offset = Number(params.get('offset') || 0);
  const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  for (const key of ['hunt', 'decision', 'q']) if (params.get(key)) query.set(key, params.get(key));
  const data = await api(`/api/queue?${query}`);
  const go = (changes) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) v === '' || v === null ? next.delete(k) : next.set(k, String(v));
    location.hash = `#/?${next}`;
  };
  const filter = el('input', {
    type: 'text',
    id: 'queue-q',
    placeholder: 'filter threads',
    value: params.get('q') || '',
    'aria-label': 'filter threads',
  });
  filter.addEventListener('change', () => go({ q: filter.value, offset: 0 }));
  const pager = el(
    'p',
    { id: 'queue-pager' },
    `${offset + 1}–${Math.min(offset + limit, data.total)} of ${data.total} threads `,
    offset > 0 ? el('button', { id: 'queue-prev', text: 'previous', onclick: () => go({ offset: Math.max(0, offset - limit) }) }) : '',
    offset + limit < data.total ? el('button', { id: 'queue-next', text: 'next', onclick: () => go({ offset: offset + limit }) }) : '',
  );
  return el(
    'section',
    { id: 'queue' },
    el('h2', { text: 'Threads: every entity once, across hunts' }),
    filter,
    pager,
    table(
      ['#', 'thread', 'score', 'hunts', 'who', 'triage'],
      data.threads.map((t) => ({
        id: `queue-${t.rank}`,
        cells: [
          String(t.rank),
          threadLink(t),
          String(t.score),
          el('ul', { class: 'reasons' }, ...t.hunts.map((h) => el('li', { text: `${h.hunt} #${h.rank}/${h.of}: ${h.why ?? ''}` }))),
          who(t),
          triageControls('thread', t.thread, t.decision, t.note, route),
        ],
      })),
    ),
  );
}

async function overview(params = new URLSearchParams()) {
  const [runs, threads, queue] = await Promise.all([api('/api/runs'), api('/api/threads?per_hunt=5'), queueSection(params)]);
  main.replaceChildren(
    el('h1', { text: 'Overview' }),
    queue,
    el('h2', { text: 'Latest runs' }),
    table(
      ['hunt', 'run', 'started', 'rows'],
      runs.map((r) => ({
        cells: [el('a', { href: `#/run/${r.run_id}`, text: r.hunt }), String(r.run_id), r.started_at, String(r.result_count)],
      })),
    ),
  );
  const hunts = [...new Set(threads.threads.map((t) => t.hunt))];
  for (const hunt of hunts) {
    main.append(el('h2', { text: `${hunt}: top threads` }));
    main.append(
      table(
        ['rank', 'thread', 'score', 'why', 'triage'],
        threads.threads
          .filter((t) => t.hunt === hunt)
          .map((t) => ({
            id: `thread-${hunt}-${t.rank}`,
            cells: [
              String(t.rank),
              entityLink(t),
              t.score === null ? '' : String(Math.round(t.score * 1000) / 1000),
              reasonsList(t.reasons),
              triageControls(hunt, t.entity, t.decision, t.note, route),
            ],
          })),
      ),
    );
  }
  if (threads.discarded.length) {
    main.append(el('h2', { text: 'Discarded (set apart; undo brings one back)' }));
    main.append(
      table(
        ['hunt', 'thread', 'triage'],
        threads.discarded.map((t) => ({
          id: `discarded-${t.hunt}-${t.rank}`,
          cells: [t.hunt, t.entity, triageControls(t.hunt, t.entity, t.decision, t.note, route)],
        })),
      ),
    );
  }
}

async function runPage(id, params = new URLSearchParams()) {
  // Sort, filter and page live in the address (#/run/ID?sort=score&desc=1&q=…&offset=200).
  const sort = params.get('sort') || 'rank';
  const desc = params.get('desc') === '1';
  const q = params.get('q') || '';
  const offset = Number(params.get('offset') || 0);
  const limit = 200;
  const data = await api(
    `/api/runs/${encodeURIComponent(id)}?sort=${sort}&desc=${desc ? 1 : 0}&q=${encodeURIComponent(q)}&limit=${limit}&offset=${offset}`,
  );
  const go = (changes) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) v === '' || v === null ? next.delete(k) : next.set(k, String(v));
    location.hash = `#/run/${id}?${next}`;
  };
  const filter = el('input', { type: 'text', id: 'filter', placeholder: 'filter (entity or reason)', value: q });
  filter.addEventListener('change', () => go({ q: filter.value, offset: 0 }));
  const header = (name) => {
    const arrow = desc ? ' ▼' : ' ▲';
    // A click on the sorted column turns it round; another column sorts ascending, score descending.
    const nextDesc = sort === name ? !desc : name === 'score';
    return el('th', {
      class: 'sortable',
      text: `${name}${sort === name ? arrow : ''}`,
      onclick: () => go({ sort: name, desc: nextDesc ? '1' : '', offset: 0 }),
    });
  };
  const scatterBox = el('div', { class: 'chart', id: 'scatter-box' });
  const scatterControls = el('p', {});
  const features = await api(`/api/runs/${encodeURIComponent(id)}/features`).catch(() => []);
  if (features.length >= 2) {
    const pick = (name, chosen) =>
      el(
        'select',
        { id: name, 'aria-label': name },
        ...features.map((f) => {
          const o = el('option', { value: f, text: f });
          if (f === chosen) o.selected = true;
          return o;
        }),
      );
    const xs = pick('scatter-x', features[0]);
    const ys = pick('scatter-y', features[1]);
    const draw = () =>
      scatterBox.replaceChildren(
        svgChart(
          'chart-scatter',
          'scatter of two features',
          `/api/chart/scatter/${encodeURIComponent(id)}?x=${encodeURIComponent(xs.value)}&y=${encodeURIComponent(ys.value)}`,
        ),
      );
    xs.addEventListener('change', draw);
    ys.addEventListener('change', draw);
    scatterControls.append('scatter: ', xs, ' against ', ys);
    draw();
  }
  const parameters = JSON.parse(data.run.parameters || '{}');
  const pager = el(
    'p',
    { id: 'run-pager' },
    `rows ${data.total ? offset + 1 : 0}–${Math.min(offset + limit, data.total)} of ${data.total} `,
    offset > 0 ? el('button', { id: 'run-prev', text: 'previous', onclick: () => go({ offset: Math.max(0, offset - limit) }) }) : '',
    offset + limit < data.total ? el('button', { id: 'run-next', text: 'next', onclick: () => go({ offset: offset + limit }) }) : '',
  );
  main.replaceChildren(
    el('h1', { text: `${data.run.hunt}: run ${data.run.run_id}` }),
    el('p', { class: 'muted', text: `${data.run.started_at} · ${data.run.result_count} rows` }),
    el(
      'details',
      {},
      el('summary', { text: 'parameters' }),
      table(
        ['parameter', 'value'],
        Object.entries(parameters).map(([k, v]) => ({ cells: [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)] })),
      ),
    ),
    filter,
    pager,
    table(
      [header('rank'), header('entity'), header('score'), 'triage'],
      data.rows.map((r) => ({
        id: `row-${r.rank}`,
        cells: [
          String(r.rank),
          r.entity,
          r.score === null ? '' : String(r.score),
          triageControls(data.run.hunt, r.entity, r.decision, r.note, route),
        ],
      })),
      (row, tr) => {
        // The detail opens under the clicked row.
        const r = data.rows.find((x) => `row-${x.rank}` === row.id);
        document.querySelectorAll('tr.detail').forEach((n) => n.remove());
        const details = el('td', { colspan: '4', id: 'details' });
        tr.after(el('tr', { class: 'detail' }, details));
        details.append(el('h2', { text: `${r.entity} (rank ${r.rank})` }), reasonsList(r.reasons));
        if (r.evidence && (r.evidence.intervals || r.evidence.interval_bins)) {
          if (r.evidence.first_seen)
            details.append(
              el('p', {
                class: 'muted',
                text: `destination first seen ${r.evidence.first_seen}; in the scored window ${r.evidence.window_first} … ${r.evidence.window_last}`,
              }),
            );
          details.append(
            el(
              'div',
              { class: 'chart' },
              svgChart('chart-intervals', 'intervals between connections', `/api/chart/run/${data.run.run_id}/${r.rank}/intervals`),
              svgChart('chart-hours', 'connections by hour', `/api/chart/run/${data.run.run_id}/${r.rank}/hours`),
              svgChart('chart-span', 'connections per hour over the whole span', `/api/chart/run/${data.run.run_id}/${r.rank}/span`),
              r.evidence.sizes
                ? svgChart('chart-sizes', 'bytes sent per connection', `/api/chart/run/${data.run.run_id}/${r.rank}/sizes`)
                : null,
            ),
          );
        }
        if (r.entity_type === 'user')
          details.append(
            el('p', {}, el('a', { href: `#/entity/user/${encodeURIComponent(r.entity)}`, text: `${r.entity}: days and detections` })),
          );
        details.append(
          el('h3', { text: 'features' }),
          el('pre', { text: JSON.stringify(r.features, null, 2) }),
          el('h3', { text: 'evidence' }),
          el('pre', { text: JSON.stringify(r.evidence, null, 2) }),
        );
      },
    ),
  );
  if (features.length >= 2) main.append(el('h2', { text: 'Outliers and clusters' }), scatterControls, scatterBox);
}

async function entityPage(type, name) {
  const data = await api(`/api/entity/${encodeURIComponent(type)}/${encodeURIComponent(name)}`);
  const thread = `${data.type}:${data.entity}`;
  const story = data.story;
  const who = story.who
    ? [
        story.who.name,
        story.who.role,
        story.who.department,
        story.who.team && `team ${story.who.team}`,
        story.who.manager && `manager ${story.who.manager}`,
        story.who.host && `host ${story.who.host}`,
        story.who.left_on && `left ${story.who.left_on}`,
      ]
        .filter(Boolean)
        .join(' · ')
    : '';
  const last = story.triage.filter((d) => !d.undone_at).at(-1);
  main.replaceChildren(
    el('h1', { text: `${data.type} ${data.entity}` }),
    el('p', { id: 'who', text: who }),
    el('p', { class: 'muted', text: `first seen ${story.firstSeen ?? '?'} · last seen ${story.lastSeen ?? '?'}` }),
    triageControls('thread', thread, last ? last.decision : null, last ? last.note : null, route),
    el('h2', { text: 'the story: phases in the order they began' }),
    table(
      ['phase', 'began', 'last', 'detections'],
      story.phases.map((p, i) => ({ id: `phase-${i}`, cells: [p.phase, p.began, p.ended, String(p.detections)] })),
    ),
    ...(story.redFlags.length
      ? [
          el('h2', { text: 'red flags' }),
          table(
            ['date', 'flag'],
            story.redFlags.map((f) => ({ cells: [f.ts, f.rule] })),
          ),
        ]
      : []),
    ...(story.daysOfInterest.length
      ? [
          el('h2', { text: 'days of interest (hunt baseline)' }),
          table(
            ['day', 'rank', 'score', 'why'],
            story.daysOfInterest.map((d) => ({ cells: [d.day, String(d.rank), String(d.score), d.why ?? ''] })),
          ),
        ]
      : []),
    ...(story.beacons.length
      ? [
          el('h2', { text: `beacons from ${data.type === 'user' ? "this user's addresses" : 'this address'}` }),
          table(
            ['pair', 'hunt', 'rank', 'score', 'why'],
            story.beacons.map((b) => ({ cells: [b.pair, b.hunt, String(b.rank), String(b.score), b.why ?? ''] })),
          ),
        ]
      : []),
    ...(story.interactions.length
      ? [
          el('h2', { text: 'social profiles that reached this user' }),
          table(
            ['profile', 'kinds', 'interactions', 'first', 'last', 'rank in hunt social'],
            story.interactions.map((i) => ({
              cells: [
                `${i.profile ?? ''} (${i.profile_id})`,
                i.kinds ?? '',
                String(i.interactions),
                i.first ?? '',
                i.last ?? '',
                i.social_rank === null ? '' : String(i.social_rank),
              ],
            })),
          ),
        ]
      : []),
    ...(story.triage.length
      ? [
          el('h2', { text: 'decisions' }),
          table(
            ['hunt', 'decision', 'note', 'who', 'when', 'undone'],
            story.triage.map((d) => ({ cells: [d.hunt, d.decision, d.note ?? '', d.who ?? '', d.decided_at, d.undone_at ?? ''] })),
          ),
        ]
      : []),
    el(
      'div',
      { class: 'chart' },
      svgChart(
        'chart-timeline',
        'daily weighted score against the population',
        `/api/chart/entity/${encodeURIComponent(type)}/${encodeURIComponent(name)}`,
      ),
    ),
    el(
      'div',
      { class: 'chart' },
      svgChart('chart-phases', 'detections by phase', `/api/chart/detections/${encodeURIComponent(type)}/${encodeURIComponent(name)}`),
    ),
    el('h2', { text: `detections by rule, in the order they began (${data.rules.length} rules)` }),
    table(
      ['rule', 'phase', 'weight', 'count', 'first', 'last'],
      data.rules.map((r) => ({ cells: [r.rule, r.phase ?? '', String(r.weight), String(r.count), r.first, r.last] })),
    ),
    el('h2', { text: `detections (${data.detections.length})` }),
    table(
      ['time', 'rule', 'phase', 'weight', 'source'],
      data.detections.map((d, i) => ({
        id: `detection-${i}`,
        ref: d,
        cells: [d.ts, d.rule, d.phase, String(d.weight), `${d.source_table} ${d.event_ref}`],
      })),
      async (row, tr) => {
        // The detail opens under the clicked row: the raw row behind the detection, as stored, or
        // (a red flag from the directory or a watch list) the detection's own details.
        document.querySelectorAll('tr.detail').forEach((n) => n.remove());
        const cell = el('td', { colspan: '5' });
        tr.after(el('tr', { class: 'detail' }, cell));
        if (/^\d+:\d+$/.test(row.ref.event_ref)) {
          const found = await api(`/api/raw/${encodeURIComponent(row.ref.source_table)}/${encodeURIComponent(row.ref.event_ref)}`);
          cell.replaceChildren(
            el('h3', { text: `${row.ref.source_table} row ${row.ref.event_ref} (${found.file ?? 'file unknown'})` }),
            el('pre', { id: 'raw-row', text: JSON.stringify(found.row, null, 2) }),
          );
        } else {
          cell.replaceChildren(
            el('h3', { text: `${row.ref.source_table} ${row.ref.event_ref}` }),
            el('pre', { id: 'raw-row', text: JSON.stringify(JSON.parse(row.ref.details || 'null'), null, 2) }),
          );
        }
      },
    ),
  );
}

/**
 * Charts and the graph are inlined (not an <img>) so a mark's values show on hover and the graph's
 * nodes are links: an employee opens their page, a profile its thread in the queue. The SVG is the
 * server's Vega rendering, every text in it escaped; it is parsed as SVG, never as HTML.
 */
async function inlineSvg(url) {
  const text = await (await fetch(url, { credentials: 'same-origin' })).text();
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const svg = document.importNode(doc.documentElement, true);
  if (svg.nodeName.toLowerCase() !== 'svg') throw new Error('the graph could not be drawn');
  svg.querySelectorAll('script, foreignObject').forEach((n) => n.remove());
  // Vega labels every mark (a bar, a point, a node) for screen readers; the same words are its tooltip.
  for (const node of svg.querySelectorAll('[aria-label]:not(g):not(svg)')) {
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = node.getAttribute('aria-label');
    node.append(title);
  }
  return svg;
}

/** A chart drawn into its box when it arrives (the page does not wait for it). */
function svgChart(id, alt, url) {
  const box = el('div', { class: 'svg-chart', id, role: 'img', 'aria-label': alt });
  inlineSvg(url).then(
    (svg) => box.replaceChildren(svg),
    (error) => box.replaceChildren(el('p', { class: 'error', text: `${alt}: ${error.message}` })),
  );
  return box;
}

async function graphPage(params = new URLSearchParams()) {
  const days = Number(params.get('days') || 7);
  const profile = params.get('profile') || '';
  const query = `days=${days}${profile ? `&profile=${encodeURIComponent(profile)}` : ''}`;
  const data = await api(`/api/graph?${query}`);
  const go = (changes) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) v === '' || v === null ? next.delete(k) : next.set(k, String(v));
    location.hash = `#/graph?${next}`;
  };
  const input = el('input', { type: 'text', id: 'days', value: String(days), 'aria-label': 'days' });
  input.addEventListener('change', () => go({ days: Number(input.value) || 7 }));
  const profiles = [...new Set(data.edges.map((e) => e.profile_id))].sort();
  const pick = el(
    'select',
    { id: 'graph-profile', 'aria-label': 'profile' },
    el('option', { value: '', text: 'every labelled profile' }),
    ...profiles.map((p) => {
      const o = el('option', { value: p, text: p });
      if (p === profile) o.selected = true;
      return o;
    }),
  );
  if (profile && !profiles.includes(profile))
    pick.append(Object.assign(el('option', { value: profile, text: profile }), { selected: true }));
  pick.addEventListener('change', () => go({ profile: pick.value }));
  const chart = el('div', { class: 'chart', id: 'chart-graph' });
  chart.append(await inlineSvg(`/api/chart/graph?${query}`));
  main.replaceChildren(
    el('h1', { text: 'Interactions with labelled profiles' }),
    el('p', {}, 'last ', input, ' days · ', pick, ' (label a profile, or act on its thread, to see it here)'),
    chart,
    table(
      ['label', 'profile', 'edge', 'employee', 'title', 'kinds', 'count', 'last'],
      data.edges.map((e) => ({
        cells: [
          e.label,
          `${e.profile_name} (${e.profile_id})`,
          e.edge,
          el('a', { href: `#/entity/user/${encodeURIComponent(e.employee)}`, text: e.employee }),
          e.title,
          e.kinds,
          String(e.count),
          e.last,
        ],
      })),
    ),
    el('h2', { text: 'Employees exposed, and their detections (30 days)' }),
    table(
      ['employee', 'title', 'profiles', 'messaged', 'detections', 'rules'],
      data.exposure.map((x) => ({
        cells: [x.employee, x.title, x.labelled_profiles, String(x.messaged), String(x.detections), x.rules ?? ''],
      })),
    ),
  );
}

async function route() {
  main.removeAttribute('data-ready');
  try {
    // A malformed address (#/entity/user/%E0%A4%A) is an error on the page, not a page stuck loading.
    const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
    const params = new URLSearchParams(query || '');
    const parts = path.split('/').map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        throw new Error(`the address has a malformed part "${part}"`);
      }
    });
    if (parts[0] === 'run' && parts[1]) await runPage(parts[1], params);
    else if (parts[0] === 'entity' && parts[2]) await entityPage(parts[1], parts[2]);
    else if (parts[0] === 'graph') await graphPage(params);
    else await overview(params);
    main.setAttribute('data-ready', location.hash || '#/');
  } catch (error) {
    main.replaceChildren(el('p', { class: 'error', text: `error: ${error.message}` }));
    main.setAttribute('data-ready', 'error');
  }
}

window.addEventListener('hashchange', route);
route();
