/**
 * `huntbook generate`: a seeded synthetic enterprise (proxy and flow traffic with human hours and
 * Zipf-popular sites, endpoint events, CERT-style insider activity, social-profile interactions)
 * with planted beacons, an insider who walks discovery → exfiltration, and fake profiles; the
 * ground truth of everything planted goes to truth.json beside the logs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../ml/random.ts';
import { DayBuffer, LineSink } from './sink.ts';
import { buildWorld, publicIp, type Person, type World } from './world.ts';
import { writeNotices, type NoticeSpec } from './mail.ts';

export interface GenerateOptions {
  seed: number;
  users: number;
  days: number;
  out: string;
  /** Multiplies human web traffic (page views per day); 1 ≈ 600 proxy rows per user-workday. */
  scale?: number;
}

export interface GenerateSummary {
  out: string;
  files: Record<string, number>;
  truth: string;
  /** Every interaction, for its notice e-mail (generateWithMail writes them). */
  notices: NoticeSpec[];
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const PROXY_HEADER = '_time,src_ip,user,dest,dest_ip,dest_port,http_method,url,status,bytes_out,bytes_in,http_user_agent,category';
const CONN_FIELDS = [
  'ts',
  'uid',
  'id.orig_h',
  'id.orig_p',
  'id.resp_h',
  'id.resp_p',
  'proto',
  'service',
  'duration',
  'orig_bytes',
  'resp_bytes',
  'conn_state',
  'local_orig',
  'local_resp',
  'missed_bytes',
  'history',
  'orig_pkts',
  'orig_ip_bytes',
  'resp_pkts',
  'resp_ip_bytes',
  'tunnel_parents',
];
const CONN_TYPES = [
  'time',
  'string',
  'addr',
  'port',
  'addr',
  'port',
  'enum',
  'string',
  'interval',
  'count',
  'count',
  'string',
  'bool',
  'bool',
  'count',
  'string',
  'count',
  'count',
  'count',
  'count',
  'set[string]',
];
export const INSIDER_PHASES = ['discovery', 'collection', 'packaging', 'obfuscation', 'exfiltration'] as const;

const FILESERVER = '10.0.1.10';
const DC = '10.0.0.10';
const DNS = '10.0.0.53';
const UPLOAD_SITE = { host: 'upload.filedropper.example', ip: publicIp(777), category: 'cloud-storage' };
const PERSONAL_MAIL = ['gmail.example', 'protonmail.example', 'outlook-personal.example'];

function csv(value: string | number): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const iso = (ms: number) => new Date(ms).toISOString();
const epoch = (ms: number) => (ms / 1000).toFixed(6);
function certDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function uid(rng: Rng): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = 'C';
  for (let i = 0; i < 17; i++) out += alphabet[Math.floor(rng.next() * 62)];
  return out;
}

interface Sinks {
  proxy: LineSink;
  conn: LineSink;
  events: LineSink;
  logon: LineSink;
  device: LineSink;
  file: LineSink;
  email: LineSink;
  interactions: LineSink;
}

interface Day {
  index: number;
  start: number;
  workday: boolean;
  proxy: DayBuffer;
  conn: DayBuffer;
  events: DayBuffer;
  logon: DayBuffer;
  device: DayBuffer;
  file: DayBuffer;
  email: DayBuffer;
  interactions: DayBuffer;
}

/** When a person is at the keyboard on a day, or null (weekend, mostly). */
function awake(rng: Rng, person: Person, day: Day): [number, number] | null {
  if (!day.workday) {
    if (!rng.chance(0.12)) return null;
    const from = day.start + rng.uniform(10, 18) * HOUR;
    return [from, from + rng.uniform(0.5, 2.5) * HOUR];
  }
  const from = day.start + (person.startHour + rng.normal(0, 0.3)) * HOUR;
  return [from, from + (person.workHours + rng.normal(0, 0.4)) * HOUR];
}

/** Every file generate writes under its --out folder (so a folder holding other logs of these names is not overwritten). */
export const GENERATED_FILES = [
  'proxy.csv',
  'conn.log',
  'events.ndjson',
  'logon.csv',
  'device.csv',
  'file.csv',
  'email.csv',
  'interactions.csv',
  'ldap.csv',
  'truth.json',
  'mail/notices.mbox',
];

export function generate(options: GenerateOptions): GenerateSummary {
  const { seed, users, days, out } = options;
  const scale = options.scale ?? 1;
  const world = buildWorld(seed, users, days);
  mkdirSync(out, { recursive: true });
  const sinks: Sinks = {
    proxy: new LineSink(join(out, 'proxy.csv'), PROXY_HEADER),
    conn: new LineSink(
      join(out, 'conn.log'),
      [
        '#separator \\x09',
        '#set_separator\t,',
        '#empty_field\t(empty)',
        '#unset_field\t-',
        '#path\tconn',
        `#open\t${iso(world.start).slice(0, 19).replace('T', '-').replaceAll(':', '-')}`,
        `#fields\t${CONN_FIELDS.join('\t')}`,
        `#types\t${CONN_TYPES.join('\t')}`,
      ].join('\n'),
    ),
    events: new LineSink(join(out, 'events.ndjson')),
    logon: new LineSink(join(out, 'logon.csv'), 'id,date,user,pc,activity'),
    device: new LineSink(join(out, 'device.csv'), 'id,date,user,pc,file_tree,activity'),
    file: new LineSink(join(out, 'file.csv'), 'id,date,user,pc,filename,activity,to_removable_media,from_removable_media,content'),
    email: new LineSink(join(out, 'email.csv'), 'id,date,user,pc,to,cc,bcc,from,activity,size,attachments,content'),
    interactions: new LineSink(
      join(out, 'interactions.csv'),
      'ts,profile_id,profile_name,profile_url,image_url,profile_title,user,user_email,user_title,kind',
    ),
  };
  const rng = new Rng(seed ^ 0x5eed);
  const notices: NoticeSpec[] = [];
  const insiderPlan = planInsider(world);
  const ids = { n: 0 };
  const nextId = (prefix: string) => `{${prefix}${String(++ids.n).padStart(8, '0')}}`;
  const beaconState = world.beacons.map((b, i) => ({ next: world.start + ((i * 7919) % Math.max(1, b.period_s)) * 1000 }));

  for (let d = 0; d < days; d++) {
    const day: Day = {
      index: d,
      start: world.start + d * DAY,
      workday: d % 7 < 5,
      proxy: new DayBuffer(),
      conn: new DayBuffer(),
      events: new DayBuffer(),
      logon: new DayBuffer(),
      device: new DayBuffer(),
      file: new DayBuffer(),
      email: new DayBuffer(),
      interactions: new DayBuffer(),
    };
    for (const person of world.people) {
      const prng = rng.fork(d * 100_003 + person.index);
      const window = awake(prng, person, day);
      if (window) {
        humanDay(prng, world, person, day, window, scale, nextId);
        servicePolls(prng, world, person, day, window);
      }
      alwaysOnPollers(prng, world, person, day);
      const phase = insiderPlan.get(d);
      if (person === world.insider && phase && window) insiderDay(prng, world, person, day, window, phase, nextId);
    }
    world.beacons.forEach((beacon, i) => plantBeacon(rng.fork(900_000 + d * 31 + i), world, beacon, day, beaconState[i]));
    socialDay(rng.fork(700_000 + d), world, day, notices);
    for (const key of Object.keys(sinks) as (keyof Sinks)[]) day[key].drainTo(sinks[key]);
  }

  sinks.conn.close(
    `#close\t${iso(world.start + days * DAY)
      .slice(0, 19)
      .replace('T', '-')
      .replaceAll(':', '-')}`,
  );
  for (const key of Object.keys(sinks) as (keyof Sinks)[]) if (key !== 'conn') sinks[key].close();
  writeDirectory(world, join(out, 'ldap.csv'), days);
  const truth = buildTruth(world, options, insiderPlan);
  const truthPath = join(out, 'truth.json');
  writeFileSync(truthPath, `${JSON.stringify(truth, null, 2)}\n`);
  const files: Record<string, number> = {};
  for (const sink of Object.values(sinks)) files[sink.path] = sink.rows;
  files[join(out, 'ldap.csv')] = world.people.length;
  return { out, files, truth: truthPath, notices };
}

/**
 * generate(), then the notice e-mail of every interaction (mail/notices.mbox) with lookalikes
 * beside them; truth.json gains what the mbox holds.
 */
export async function generateWithMail(options: GenerateOptions): Promise<GenerateSummary> {
  const summary = generate(options);
  const mail = await writeNotices(options.out, options.seed, summary.notices);
  summary.files[mail.mbox] = mail.messages;
  const truth = JSON.parse(readFileSync(summary.truth, 'utf8')) as Record<string, unknown>;
  truth.mail = {
    mbox: 'mail/notices.mbox',
    messages: mail.messages,
    genuine: mail.genuine,
    lookalikes: mail.lookalikes,
    unrecognised: mail.unrecognised,
  };
  writeFileSync(summary.truth, `${JSON.stringify(truth, null, 2)}\n`);
  return summary;
}

function proxyLine(
  ts: number,
  person: Person,
  dest: string,
  destIp: string,
  method: string,
  url: string,
  status: number,
  bytesOut: number,
  bytesIn: number,
  category: string,
): string {
  return `${iso(ts)},${person.ip},${person.user},${dest},${destIp},443,${method},${csv(url)},${status},${bytesOut},${bytesIn},${csv(person.userAgent)},${category}`;
}

function connLine(
  rng: Rng,
  ts: number,
  src: string,
  dest: string,
  port: number,
  proto: string,
  service: string,
  duration: number,
  out: number,
  inn: number,
  state: string,
  history: string,
): string {
  const pktsOut = Math.max(1, Math.ceil(out / 1200) + 2);
  const pktsIn = inn > 0 ? Math.max(1, Math.ceil(inn / 1400) + 1) : 0;
  const local = dest.startsWith('10.') ? 'T' : 'F';
  return [
    epoch(ts),
    uid(rng),
    src,
    rng.int(49152, 65535),
    dest,
    port,
    proto,
    service || '-',
    duration.toFixed(6),
    out,
    inn,
    state,
    'T',
    local,
    0,
    history,
    pktsOut,
    out + pktsOut * 40,
    pktsIn,
    inn + pktsIn * 40,
    '(empty)',
  ].join('\t');
}

function eventLine(ts: number, person: Person, eventId: number, fields: Record<string, string | number>): string {
  const channel = eventId === 4624 ? 'Security' : 'Microsoft-Windows-Sysmon/Operational';
  return JSON.stringify({
    '@timestamp': iso(ts),
    Hostname: `${person.host}.corp.example`,
    EventID: eventId,
    Channel: channel,
    SourceName: eventId === 4624 ? 'Microsoft-Windows-Security-Auditing' : 'Microsoft-Windows-Sysmon',
    User: `CORP\\${person.user}`,
    ...fields,
  });
}

const APPS = [
  'C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE',
  'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
  'C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE',
  'C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE',
  'C:\\Windows\\System32\\notepad.exe',
  'C:\\Users\\Public\\Teams\\current\\Teams.exe',
];

function humanDay(
  rng: Rng,
  world: World,
  person: Person,
  day: Day,
  [from, to]: [number, number],
  scale: number,
  nextId: (p: string) => string,
): void {
  const span = to - from;
  const pageViews = Math.round(rng.uniform(60, 170) * scale * (span / (8.5 * HOUR)));
  for (let i = 0; i < pageViews; i++) {
    const ts = from + rng.next() * span;
    const site = world.sites[world.siteZipf.sample(rng)];
    const page = `/p/${Math.floor(rng.next() ** 2 * site.pages)}`;
    const base = 320 + site.host.length + site.cookie;
    const method = rng.chance(0.03) ? 'POST' : 'GET';
    day.proxy.add(
      ts,
      proxyLine(
        ts,
        person,
        site.host,
        site.ip,
        method,
        page,
        statusOf(rng),
        base + page.length + (method === 'POST' ? rng.int(100, 4000) : 0),
        Math.round(rng.lognormal(18000, 1.2)),
        site.category,
      ),
    );
    const subs = rng.int(2, 4);
    for (let s = 0; s < subs; s++) {
      const t = ts + rng.uniform(50, 3000);
      const other = rng.chance(0.5) ? site : world.sites[Math.floor(rng.next() ** 3 * 30)];
      const url = rng.chance(0.5) ? `/static/app.${rng.int(1, 40)}.js` : `/img/${rng.int(1, 400)}.png`;
      day.proxy.add(
        t,
        proxyLine(
          t,
          person,
          other.host,
          other.ip,
          'GET',
          url,
          200,
          320 + other.host.length + other.cookie + url.length,
          Math.round(rng.lognormal(6000, 1.4)),
          other.category,
        ),
      );
    }
    if (rng.chance(0.25))
      day.conn.add(
        ts - 20,
        connLine(rng, ts - 20, person.ip, DNS, 53, 'udp', 'dns', rng.uniform(0.001, 0.05), rng.int(30, 60), rng.int(60, 300), 'SF', 'Dd'),
      );
  }
  const internal = rng.int(8, 20);
  for (let i = 0; i < internal; i++) {
    const ts = from + rng.next() * span;
    const smb = rng.chance(0.5);
    day.conn.add(
      ts,
      connLine(
        rng,
        ts,
        person.ip,
        smb ? FILESERVER : DC,
        smb ? 445 : rng.pick([88, 389]),
        'tcp',
        smb ? 'smb' : 'krb',
        rng.uniform(0.01, 30),
        rng.int(200, 5000),
        rng.int(200, smb ? 400_000 : 5000),
        'SF',
        'ShADadFf',
      ),
    );
  }
  // Logon, a handful of applications, the odd archive or rename: the population baseline.
  day.events.add(from, eventLine(from, person, 4624, { TargetUserName: person.user, LogonType: 2 }));
  // Sales log on wherever they are (their own machine, the meeting-room PCs, a loaner laptop).
  const pc = person.department === 'Sales' ? rng.pick([person.host, 'MEET-0001', 'MEET-0002', 'LOAN-0001', 'LOAN-0002']) : person.host;
  day.logon.add(from, `${nextId('L')},${certDate(from)},${person.user},${pc},Logon`);
  day.logon.add(to, `${nextId('L')},${certDate(to)},${person.user},${pc},Logoff`);
  for (let i = rng.int(6, 16); i > 0; i--) {
    const ts = from + rng.next() * span;
    const image = rng.pick(APPS);
    day.events.add(
      ts,
      eventLine(ts, person, 1, {
        Image: image,
        CommandLine: `"${image}"`,
        ParentImage: 'C:\\Windows\\explorer.exe',
        ProcessId: rng.int(1000, 20000),
      }),
    );
  }
  // Software engineers package builds every working day: archiving is their routine, not a sign.
  if (rng.chance(person.department === 'Engineering' ? 0.95 : 0.03)) {
    const ts = from + rng.next() * span;
    day.events.add(
      ts,
      eventLine(ts, person, 1, {
        Image: 'C:\\Program Files\\7-Zip\\7z.exe',
        CommandLine: `7z.exe a build-${rng.int(1, 99)}.zip .\\out`,
        ParentImage: 'C:\\Windows\\System32\\cmd.exe',
        ProcessId: rng.int(1000, 20000),
      }),
    );
  }
  if (rng.chance(0.06)) {
    const ts = from + rng.next() * span;
    day.device.add(ts, `${nextId('D')},${certDate(ts)},${person.user},${person.host},E:\\,Connect`);
    day.device.add(ts + 20 * 60_000, `${nextId('D')},${certDate(ts + 20 * 60_000)},${person.user},${person.host},,Disconnect`);
    day.file.add(
      ts + 60_000,
      `${nextId('F')},${certDate(ts + 60_000)},${person.user},${person.host},E:\\slides-${rng.int(1, 50)}.pptx,File Copy,True,False,quarterly review`,
    );
  }
  for (let i = rng.int(2, 8); i > 0; i--) {
    const ts = from + rng.next() * span;
    const colleague = world.people[rng.int(0, world.people.length - 1)];
    const personal = rng.chance(0.02);
    const attachments = rng.chance(0.2) ? `C:\\Users\\${person.user}\\Documents\\notes-${rng.int(1, 99)}.docx` : '';
    day.email.add(
      ts,
      `${nextId('E')},${certDate(ts)},${person.user},${person.host},${personal ? `${person.user}@${rng.pick(PERSONAL_MAIL)}` : colleague.email},,,${person.email},Send,${rng.int(2000, attachments ? 400_000 : 30_000)},${csv(attachments)},status update`,
    );
  }
}

function servicePolls(rng: Rng, world: World, person: Person, day: Day, [from, to]: [number, number]): void {
  for (const service of world.services) {
    const everyone = service.users === '*';
    if (!everyone && !service.users.includes(person.user)) continue;
    if (service.dest.startsWith('api.weather')) continue; // always on, see alwaysOnPollers
    for (
      let t = from + rng.next() * service.period_s * 1000;
      t < to;
      t += service.period_s * 1000 * (1 + rng.uniform(-service.jitter, service.jitter))
    ) {
      day.proxy.add(
        t,
        proxyLine(t, person, service.dest, service.dest_ip, 'GET', service.url, 200, service.bytes_out, 300 + rng.int(0, 40), 'technology'),
      );
    }
  }
}

function alwaysOnPollers(rng: Rng, world: World, person: Person, day: Day): void {
  for (const service of world.services) {
    if (!service.dest.startsWith('api.weather') || service.users === '*' || !service.users.includes(person.user)) continue;
    for (let t = day.start + rng.next() * service.period_s * 1000; t < day.start + DAY; t += service.period_s * 1000) {
      day.proxy.add(
        t,
        proxyLine(t, person, service.dest, service.dest_ip, 'GET', service.url, 200, service.bytes_out, 1200 + rng.int(0, 200), 'news'),
      );
    }
  }
}

function plantBeacon(rng: Rng, world: World, beacon: World['beacons'][number], day: Day, state: { next: number }): void {
  const person = world.people.find((p) => p.user === beacon.user)!;
  const end = day.start + DAY;
  const officeFrom = day.start + person.startHour * HOUR;
  const officeTo = officeFrom + person.workHours * HOUR;
  while (state.next < end) {
    const t = state.next;
    state.next += beacon.period_s * 1000 * (1 + rng.uniform(-beacon.jitter, beacon.jitter));
    if (beacon.office_hours_only && (!day.workday || t < officeFrom || t > officeTo)) continue;
    const bytesOut = beacon.bytes_out + (beacon.padding ? rng.int(0, beacon.padding) : 0);
    if (beacon.channel === 'direct') {
      day.conn.add(
        t,
        connLine(
          rng,
          t,
          beacon.src_ip,
          beacon.dest_ip,
          beacon.dest_port,
          'tcp',
          'ssl',
          rng.uniform(0.2, 0.6),
          bytesOut,
          1460,
          'SF',
          'ShADadFf',
        ),
      );
    } else {
      const url = beacon.urls[Math.floor(rng.next() * beacon.urls.length)];
      day.proxy.add(t, proxyLine(t, person, beacon.dest, beacon.dest_ip, 'GET', url, 200, bytesOut, 230, 'uncategorized'));
    }
  }
  // Active C2 comes in spurts of non-uniform traffic (the seed's point 2 and 4).
  if (day.index % 2 === 1) {
    const from = day.start + rng.uniform(9, 17) * HOUR;
    for (let i = rng.int(15, 40); i > 0; i--) {
      const t = from + rng.uniform(0, 10 * 60_000);
      if (beacon.channel === 'direct')
        day.conn.add(
          t,
          connLine(
            rng,
            t,
            beacon.src_ip,
            beacon.dest_ip,
            beacon.dest_port,
            'tcp',
            'ssl',
            rng.uniform(0.5, 5),
            rng.int(400, 9000),
            rng.int(500, 60000),
            'SF',
            'ShADadFf',
          ),
        );
      else
        day.proxy.add(
          t,
          proxyLine(
            t,
            person,
            beacon.dest,
            beacon.dest_ip,
            'POST',
            beacon.urls[0],
            200,
            rng.int(500, 9000),
            rng.int(200, 50000),
            'uncategorized',
          ),
        );
    }
  }
}

type InsiderPhase = (typeof INSIDER_PHASES)[number];

/** Which day the insider is in which phase: the last five workdays (fewer if the span is short). */
function planInsider(world: World): Map<number, InsiderPhase> {
  const workdays = Array.from({ length: world.days }, (_, d) => d).filter((d) => d % 7 < 5);
  const plan = new Map<number, InsiderPhase>();
  const chosen = workdays.slice(-INSIDER_PHASES.length);
  INSIDER_PHASES.forEach((phase, i) => {
    const day = chosen[Math.max(0, i - (INSIDER_PHASES.length - chosen.length))];
    if (day !== undefined && !plan.has(day)) plan.set(day, phase);
    else if (day !== undefined) plan.set(day, phase); // short spans fold later phases onto the last day
  });
  return plan;
}

function insiderDay(
  rng: Rng,
  _world: World,
  person: Person,
  day: Day,
  [from, to]: [number, number],
  phase: InsiderPhase,
  nextId: (p: string) => string,
): void {
  const at = (f: number) => from + (to - from) * f;
  const proc = (ts: number, image: string, commandLine: string) =>
    day.events.add(
      ts,
      eventLine(ts, person, 1, {
        Image: image,
        CommandLine: commandLine,
        ParentImage: 'C:\\Windows\\System32\\cmd.exe',
        ProcessId: rng.int(1000, 20000),
      }),
    );
  const staging = `C:\\Users\\${person.user}\\AppData\\Local\\Temp\\bkp`;
  switch (phase) {
    case 'discovery':
      proc(at(0.3), 'C:\\Windows\\System32\\net.exe', 'net view \\\\fileserver01');
      proc(at(0.31), 'C:\\Windows\\System32\\cmd.exe', 'cmd.exe /c dir /s \\\\fileserver01\\projects\\*.docx');
      proc(
        at(0.5),
        'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
        'powershell -c "Get-ChildItem -Recurse \\\\fileserver01\\engineering -Include *.pdf,*.dwg"',
      );
      for (let i = 0; i < 40; i++) {
        const ts = at(0.3 + i * 0.005);
        day.conn.add(ts, connLine(rng, ts, person.ip, FILESERVER, 445, 'tcp', 'smb', 0.2, 800, 6000, 'SF', 'ShADadFf'));
      }
      break;
    case 'collection':
      proc(at(0.4), 'C:\\Windows\\System32\\Robocopy.exe', `robocopy \\\\fileserver01\\projects ${staging} /E`);
      for (let i = 0; i < 60; i++) {
        const ts = at(0.4 + i * 0.002);
        day.file.add(
          ts,
          `${nextId('F')},${certDate(ts)},${person.user},${person.host},${staging}\\design-${i}.pdf,File Copy,False,False,proprietary design`,
        );
        day.events.add(
          ts,
          eventLine(ts, person, 11, { Image: 'C:\\Windows\\System32\\Robocopy.exe', TargetFilename: `${staging}\\design-${i}.pdf` }),
        );
        day.conn.add(ts, connLine(rng, ts, person.ip, FILESERVER, 445, 'tcp', 'smb', 2, 2000, 4_000_000, 'SF', 'ShADadFf'));
      }
      break;
    case 'packaging':
      proc(at(0.6), 'C:\\Program Files\\7-Zip\\7z.exe', `7z.exe a -pS3cret -mhe=on ${staging}.7z ${staging}\\*`);
      day.events.add(
        at(0.61),
        eventLine(at(0.61), person, 11, { Image: 'C:\\Program Files\\7-Zip\\7z.exe', TargetFilename: `${staging}.7z` }),
      );
      break;
    case 'obfuscation':
      proc(at(0.2), 'C:\\Windows\\System32\\cmd.exe', `cmd.exe /c ren ${staging}.7z holiday_photos.jpg`);
      day.events.add(
        at(0.21),
        eventLine(at(0.21), person, 11, {
          Image: 'C:\\Windows\\System32\\cmd.exe',
          TargetFilename: `C:\\Users\\${person.user}\\AppData\\Local\\Temp\\holiday_photos.jpg`,
        }),
      );
      proc(at(0.3), 'C:\\Windows\\System32\\wevtutil.exe', 'wevtutil cl Microsoft-Windows-PowerShell/Operational');
      break;
    case 'exfiltration': {
      const ts = at(0.5);
      day.device.add(ts, `${nextId('D')},${certDate(ts)},${person.user},${person.host},E:\\,Connect`);
      for (let i = 0; i < 25; i++) {
        const t = ts + i * 30_000;
        day.file.add(
          t,
          `${nextId('F')},${certDate(t)},${person.user},${person.host},E:\\design-${i}.pdf,File Copy,True,False,proprietary design`,
        );
      }
      day.device.add(ts + HOUR, `${nextId('D')},${certDate(ts + HOUR)},${person.user},${person.host},,Disconnect`);
      for (let i = 0; i < 3; i++) {
        const t = at(0.6 + i * 0.05);
        day.email.add(
          t,
          `${nextId('E')},${certDate(t)},${person.user},${person.host},${person.user}@${PERSONAL_MAIL[0]},,,${person.email},Send,${rng.int(8_000_000, 20_000_000)},C:\\Users\\${person.user}\\AppData\\Local\\Temp\\holiday_photos.jpg,pics`,
        );
      }
      const up = at(0.8);
      day.proxy.add(
        up,
        proxyLine(
          up,
          person,
          UPLOAD_SITE.host,
          UPLOAD_SITE.ip,
          'POST',
          '/upload',
          200,
          rng.int(40_000_000, 90_000_000),
          800,
          UPLOAD_SITE.category,
        ),
      );
      break;
    }
  }
}

/**
 * Interactions with social profiles (and the notice e-mail of each, collected in `notices`). The
 * three fakes each work in their own style: spray connection requests across every role; work
 * one team; or connect and then message at length. Ordinary profiles now and then view or
 * connect with someone in one department.
 */
/** A proxy response status: mostly 200, some 304 (cached), a few 404. */
function statusOf(rng: Rng): number {
  if (rng.chance(0.1)) return 304;
  return rng.chance(0.02) ? 404 : 200;
}

function socialDay(rng: Rng, world: World, day: Day, notices: NoticeSpec[]): void {
  const add = (ts: number, profile: World['profiles'][number], person: Person, kind: NoticeSpec['kind']) => {
    day.interactions.add(
      ts,
      `${iso(ts)},${profile.profile_id},${csv(profile.profile_name)},https://social.example/in/${profile.profile_id},https://media.social.example/img/${profile.profile_id}.jpg,${csv(profile.profile_title)},${person.user},${person.email},${csv(person.title)},${kind}`,
    );
    notices.push({
      ts,
      kind,
      profile,
      person: { user: person.user, name: person.name, email: person.email, title: person.title, index: person.index },
    });
  };
  const fakes = world.profiles.filter((p) => p.fake);
  for (const profile of world.profiles) {
    const prng = rng.fork(Number(profile.profile_id.slice(2)));
    if (profile.fake) {
      const style = fakes.indexOf(profile) % 3;
      const departments = [...new Set(world.people.map((p) => p.department))].sort();
      const team = world.people.filter((p) => p.department === departments[Number(profile.profile_id.slice(2)) % departments.length]);
      const pool = style === 1 ? team : world.people;
      const [low, high] = [
        [0.04, 0.08],
        [0.1, 0.2],
        [0.01, 0.03],
      ][style];
      const share = prng.uniform(low, high);
      const targets = Math.max(2, Math.round(pool.length * share));
      for (let i = 0; i < targets; i++) {
        const person = pool[prng.int(0, pool.length - 1)];
        const ts = day.start + prng.uniform(7, 20) * HOUR;
        add(ts, profile, person, 'connect_request');
        if (prng.chance(style === 2 ? 0.6 : 0.4)) {
          const accepted = ts + prng.uniform(1, 6) * HOUR;
          add(accepted, profile, person, 'connect_accept');
          for (let m = style === 2 ? prng.int(2, 4) : prng.int(style === 0 ? 0 : 1, 2); m > 0; m--) {
            const sent = accepted + prng.uniform(0.2, 4) * HOUR;
            add(sent, profile, person, 'message');
          }
        }
      }
    } else if (profile.busy) {
      // The in-house recruiter: looks at many profiles, engineers first, and connects with a few
      // (who accept, as colleagues do); no follow-up messages, no campaign against one team.
      const engineers = world.people.filter((p) => p.department === 'Engineering');
      const viewed = Math.max(3, Math.round(world.people.length * prng.uniform(0.08, 0.12)));
      for (let i = 0; i < viewed; i++) {
        const person =
          i % 2 === 0 && engineers.length > 0
            ? engineers[prng.int(0, engineers.length - 1)]
            : world.people[prng.int(0, world.people.length - 1)];
        const ts = day.start + prng.uniform(8, 18) * HOUR;
        add(ts, profile, person, 'view');
        if (prng.chance(0.15)) {
          add(ts + prng.uniform(0.1, 1) * HOUR, profile, person, 'connect_request');
          add(ts + prng.uniform(1, 3) * HOUR, profile, person, 'connect_accept');
        }
      }
    } else if (prng.chance(0.3)) {
      const department = world.people[prng.int(0, world.people.length - 1)].department;
      const colleagues = world.people.filter((p) => p.department === department);
      const person = colleagues[prng.int(0, colleagues.length - 1)];
      const ts = day.start + prng.uniform(8, 18) * HOUR;
      add(ts, profile, person, prng.pick(['view', 'view', 'connect_request', 'connect_accept'] as const));
    }
  }
}

function writeDirectory(world: World, path: string, days: number): void {
  const sink = new LineSink(path, 'employee_name,user_id,email,role,business_unit,functional_unit,department,team,supervisor,end_date');
  for (const person of world.people) {
    // The insider has handed in notice: a red flag the seed scores as a phase.
    const end = person === world.insider ? iso(world.start + (days + 14) * DAY).slice(0, 10) : '';
    sink.write(
      [
        csv(person.name),
        person.user,
        person.email,
        csv(person.title),
        1,
        csv(person.department),
        csv(person.department),
        `${person.department.split(' ')[0]} team`,
        person.supervisor,
        end,
      ].join(','),
    );
  }
  sink.close();
}

function buildTruth(world: World, options: GenerateOptions, plan: Map<number, InsiderPhase>) {
  return {
    generator: 'huntbook generate',
    seed: options.seed,
    users: options.users,
    days: options.days,
    scale: options.scale ?? 1,
    start: iso(world.start),
    end: iso(world.start + options.days * DAY),
    beacons: world.beacons,
    benign_periodic: world.services,
    insider: {
      user: world.insider.user,
      host: world.insider.host,
      src_ip: world.insider.ip,
      phases: [...plan].map(([day, phase]) => ({ phase, day, date: iso(world.start + day * DAY).slice(0, 10) })),
      exfil_upload: UPLOAD_SITE.host,
    },
    fake_profiles: world.profiles
      .filter((p) => p.fake)
      .map((p) => ({ profile_id: p.profile_id, profile_name: p.profile_name, profile_title: p.profile_title })),
    busy_recruiter: world.profiles
      .filter((p) => p.busy)
      .map((p) => ({
        profile_id: p.profile_id,
        profile_name: p.profile_name,
        note: 'legitimate: reaches more employees than any fake',
      }))[0],
    files: {
      proxy: 'proxy.csv (http)',
      conn: 'conn.log (flows, Zeek TSV)',
      events: 'events.ndjson (events, Sysmon/Security as OTRF writes them)',
      logon: 'logon.csv',
      device: 'device.csv',
      file: 'file.csv',
      email: 'email.csv',
      ldap: 'ldap.csv (CERT insider format: activity, directory)',
      interactions: 'interactions.csv (interactions)',
    },
  };
}
