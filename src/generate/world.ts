/**
 * The synthetic enterprise: people, machines, the web they use, and the planted threats whose
 * ground truth `huntbook generate` writes to truth.json. Everything derives from one seed.
 */
import { Rng, Zipf } from '../ml/random.ts';

export interface Person {
  index: number;
  user: string;
  name: string;
  email: string;
  host: string;
  ip: string;
  department: string;
  title: string;
  supervisor: string;
  /** Usual start of the working day, hours UTC, and its length. */
  startHour: number;
  workHours: number;
  userAgent: string;
}

export interface Site {
  host: string;
  ip: string;
  category: string;
  cookie: number;
  pages: number;
}

export type BeaconKind = 'steady' | 'jitter' | 'long-sleep' | 'size-varying' | 'office-hours' | 'multi-url' | 'direct' | 'direct-jitter';

export interface PlantedBeacon {
  id: string;
  kind: BeaconKind;
  channel: 'proxy' | 'direct';
  user: string;
  src_ip: string;
  dest: string;
  dest_ip: string;
  dest_port: number;
  period_s: number;
  jitter: number;
  padding: number;
  urls: string[];
  bytes_out: number;
  office_hours_only: boolean;
}

export interface PeriodicService {
  dest: string;
  dest_ip: string;
  period_s: number;
  jitter: number;
  bytes_out: number;
  url: string;
  /** '*' for every host; otherwise the one user who runs it (a benign single-user poller). */
  users: string[] | '*';
  note: string;
}

export interface FakeProfile {
  profile_id: string;
  profile_name: string;
  profile_title: string;
  fake: boolean;
  /** The company's own busy recruiter: the most employees reached of any profile, and legitimate. */
  busy?: boolean;
}

const FIRST = [
  'James',
  'Mary',
  'Robert',
  'Patricia',
  'John',
  'Jennifer',
  'Michael',
  'Linda',
  'David',
  'Elizabeth',
  'William',
  'Barbara',
  'Richard',
  'Susan',
  'Joseph',
  'Jessica',
  'Thomas',
  'Sarah',
  'Chris',
  'Karen',
  'Daniel',
  'Lisa',
  'Matthew',
  'Nancy',
  'Anthony',
  'Betty',
  'Mark',
  'Sandra',
  'Paul',
  'Ashley',
  'Steven',
  'Emily',
  'Andrew',
  'Donna',
  'Kevin',
  'Michelle',
  'Brian',
  'Carol',
  'George',
  'Amanda',
  'Wei',
  'Priya',
  'Omar',
  'Yuki',
  'Lars',
  'Ana',
  'Kofi',
  'Ines',
];
const LAST = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Rodriguez',
  'Martinez',
  'Hernandez',
  'Lopez',
  'Gonzalez',
  'Wilson',
  'Anderson',
  'Thomas',
  'Taylor',
  'Moore',
  'Jackson',
  'Martin',
  'Lee',
  'Perez',
  'Thompson',
  'White',
  'Harris',
  'Sanchez',
  'Clark',
  'Ramirez',
  'Lewis',
  'Robinson',
  'Walker',
  'Young',
  'Allen',
  'King',
  'Wright',
  'Scott',
  'Torres',
  'Nguyen',
  'Hill',
  'Flores',
  'Chen',
  'Patel',
  'Kim',
  'Sato',
  'Berg',
  'Costa',
  'Mensah',
  'Novak',
];
export const DEPARTMENTS: Record<string, string[]> = {
  Engineering: ['Software Engineer', 'Senior Software Engineer', 'Test Engineer', 'Engineering Manager'],
  Research: ['Research Scientist', 'Lab Technician', 'Principal Scientist'],
  Sales: ['Account Executive', 'Sales Manager', 'Sales Engineer'],
  Finance: ['Accountant', 'Financial Analyst', 'Controller'],
  'Human Resources': ['HR Generalist', 'Recruiter'],
  IT: ['Systems Administrator', 'Help Desk Analyst', 'Network Engineer'],
  Legal: ['Counsel', 'Paralegal'],
  Marketing: ['Marketing Specialist', 'Designer'],
};
const SYLLABLES = [
  'nova',
  'tek',
  'lumen',
  'astra',
  'byte',
  'cloud',
  'data',
  'flux',
  'grid',
  'hub',
  'info',
  'jet',
  'kite',
  'link',
  'mango',
  'net',
  'orbit',
  'pixel',
  'quant',
  'river',
  'sky',
  'terra',
  'ultra',
  'vista',
  'wave',
  'xeno',
  'yarn',
  'zen',
  'news',
  'shop',
  'mail',
  'docs',
  'maps',
  'video',
  'social',
  'travel',
  'bank',
  'sport',
];
const TLDS = ['com', 'net', 'org', 'io', 'co', 'example'];
const CATEGORIES = [
  'news',
  'business',
  'technology',
  'shopping',
  'social-networking',
  'search-engines',
  'streaming-media',
  'travel',
  'finance',
  'reference',
  'webmail',
  'cloud-storage',
];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0',
];

/** A public-looking address that is never in RFC 1918 space, from a number. */
export function publicIp(n: number, base = 23): string {
  const x = n >>> 0;
  return `${base + ((x >>> 16) % 150)}.${(x >>> 8) & 255}.${x & 255}.${1 + ((Math.imul(x, 2654435761) >>> 24) % 250)}`;
}

export interface World {
  start: number;
  days: number;
  people: Person[];
  sites: Site[];
  siteZipf: Zipf;
  services: PeriodicService[];
  beacons: PlantedBeacon[];
  insider: Person;
  profiles: FakeProfile[];
}

export function buildWorld(seed: number, users: number, days: number): World {
  const rng = new Rng(seed);
  const start = Date.UTC(2026, 0, 5); // a Monday
  const departments = Object.keys(DEPARTMENTS);
  const people: Person[] = [];
  const taken = new Set<string>();
  for (let i = 0; i < users; i++) {
    const first = rng.pick(FIRST);
    const last = rng.pick(LAST);
    let user = `${first[0]}${last}`.toLowerCase();
    for (let n = 2; taken.has(user); n++) user = `${first[0]}${last}${n}`.toLowerCase();
    taken.add(user);
    const department = departments[i % departments.length];
    people.push({
      index: i,
      user,
      name: `${first} ${last}`,
      email: `${user}@corp.example`,
      host: `WS-${String(i + 1).padStart(4, '0')}`,
      ip: `10.20.${Math.floor(i / 250)}.${(i % 250) + 2}`,
      department,
      title: rng.pick(DEPARTMENTS[department]),
      supervisor: '',
      startHour: Math.min(11, Math.max(6, rng.normal(8.3, 0.8))),
      workHours: Math.min(11, Math.max(6, rng.normal(8.6, 0.7))),
      userAgent: rng.pick(AGENTS),
    });
  }
  for (const person of people) person.supervisor = people[departments.indexOf(person.department) % people.length]?.user ?? '';

  const siteCount = Math.min(20000, Math.max(400, users * 12));
  const cdnPool = Array.from({ length: Math.max(20, Math.floor(siteCount / 25)) }, (_, i) => publicIp(1_000_000 + i * 7919, 104));
  const sites: Site[] = [];
  const hosts = new Set<string>();
  for (let i = 0; i < siteCount; i++) {
    let host = '';
    while (host === '' || hosts.has(host)) host = `www.${rng.pick(SYLLABLES)}${rng.pick(SYLLABLES)}${rng.int(0, 99)}.${rng.pick(TLDS)}`;
    hosts.add(host);
    sites.push({
      host,
      ip: rng.chance(0.35) ? rng.pick(cdnPool) : publicIp(i * 2654435 + 17),
      category: rng.pick(CATEGORIES),
      cookie: rng.int(0, 900),
      pages: rng.int(5, 60),
    });
  }

  const services: PeriodicService[] = [
    {
      dest: 'update.softvendor.example',
      dest_ip: publicIp(901),
      period_s: 900,
      jitter: 0.1,
      bytes_out: 612,
      url: '/v2/check',
      users: '*',
      note: 'software update check on every host',
    },
    {
      dest: 'telemetry.osvendor.example',
      dest_ip: publicIp(902),
      period_s: 300,
      jitter: 0.05,
      bytes_out: 1380,
      url: '/collect',
      users: '*',
      note: 'OS telemetry on every host',
    },
    {
      dest: 'defs.avvendor.example',
      dest_ip: publicIp(903),
      period_s: 3600,
      jitter: 0.02,
      bytes_out: 455,
      url: '/definitions/latest',
      users: '*',
      note: 'antivirus definition poll on every host',
    },
    {
      dest: 'sync.filesharevendor.example',
      dest_ip: publicIp(904),
      period_s: 960,
      jitter: 0.15,
      bytes_out: 880,
      url: '/delta',
      users: '*',
      note: 'file-sync client on every host',
    },
  ];
  const pollers = rng.fork(1);
  const pollerUsers = [people[1 % users], people[2 % users], people[3 % users]];
  services.push(
    {
      dest: 'api.weatherwidget.example',
      dest_ip: publicIp(911),
      period_s: 600,
      jitter: 0,
      bytes_out: 530,
      url: '/current?loc=hq',
      users: [pollerUsers[0].user],
      note: 'benign single-user poller (desktop weather widget)',
    },
    {
      dest: 'quotes.tickerapp.example',
      dest_ip: publicIp(912),
      period_s: 60,
      jitter: 0.05,
      bytes_out: 410,
      url: '/q?s=CORP',
      users: [pollerUsers[1].user],
      note: 'benign single-user poller (stock ticker, office hours)',
    },
    {
      dest: 'push.chatapp.example',
      dest_ip: publicIp(913),
      period_s: 30,
      jitter: 0.2,
      bytes_out: 390,
      url: '/longpoll',
      users: [pollerUsers[2].user],
      note: 'benign single-user poller (chat long-poll)',
    },
  );
  void pollers;

  const beaconSpecs: [BeaconKind, number, number, number][] = [
    // kind, period (s), jitter (fraction), padding (bytes)
    ['steady', 60, 0, 0],
    ['jitter', 300, 0.1, 0],
    ['jitter', 180, 0.3, 0],
    ['jitter', 600, 0.5, 0],
    ['long-sleep', 3600, 0.1, 0],
    ['size-varying', 120, 0.05, 512],
    ['office-hours', 300, 0.2, 0],
    ['multi-url', 900, 0.15, 0],
    ['direct', 90, 0, 0],
    ['direct-jitter', 1200, 0.25, 0],
  ];
  const brng = rng.fork(2);
  // Beacon hosts are people 5.. so that they do not coincide with the pollers or the insider.
  const beacons: PlantedBeacon[] = beaconSpecs.map(([kind, period, jitter, padding], i) => {
    const person = people[(5 + i * 3) % users];
    const direct = kind === 'direct' || kind === 'direct-jitter';
    const dest = `${brng.pick(SYLLABLES)}-${brng.pick(['cdn', 'api', 'static', 'sync', 'img'])}${brng.int(10, 99)}.${brng.pick(['com', 'net', 'info', 'xyz'])}`;
    return {
      id: `B${String(i + 1).padStart(2, '0')}`,
      kind,
      channel: direct ? 'direct' : 'proxy',
      user: person.user,
      src_ip: person.ip,
      dest: direct ? '' : dest,
      dest_ip: publicIp(50_000 + i * 977, 45),
      dest_port: direct && i % 2 === 1 ? 8443 : 443,
      period_s: period,
      jitter,
      padding,
      urls:
        kind === 'multi-url'
          ? ['/api/v1/status', '/api/v1/tasks']
          : [`/${brng.pick(['jquery', 'pixel', 'updates', 'ga'])}.${brng.pick(['js', 'gif', 'php'])}`],
      bytes_out: brng.int(180, 700),
      office_hours_only: kind === 'office-hours',
    };
  });

  const insider = people[Math.min(users - 1, 4)];
  const prng = rng.fork(3);
  const profiles: FakeProfile[] = [];
  const titles = [
    'Technical Recruiter',
    'Account Manager',
    'Solutions Consultant',
    'Software Engineer',
    'Product Manager',
    'Talent Partner',
    'Sales Director',
  ];
  for (let i = 0; i < Math.max(10, Math.floor(users * 0.8)); i++) {
    profiles.push({
      profile_id: `p-${100000 + prng.int(0, 899999)}`,
      profile_name: `${prng.pick(FIRST)} ${prng.pick(LAST)}`,
      profile_title: prng.pick(titles),
      fake: false,
    });
  }
  // A legitimate profile busier than any fake, so that a ranking by volume alone fails the tests.
  profiles.push({
    profile_id: `p-${100000 + prng.int(0, 899999)}`,
    profile_name: `${prng.pick(FIRST)} ${prng.pick(LAST)}`,
    profile_title: 'Technical Recruiter',
    fake: false,
    busy: true,
  });
  const fakeTitles = ['Senior Defense Program Director', 'Executive Talent Headhunter', 'Government Relations Consultant'];
  for (const title of fakeTitles) {
    profiles.push({
      profile_id: `p-${100000 + prng.int(0, 899999)}`,
      profile_name: `${prng.pick(FIRST)} ${prng.pick(LAST)}`,
      profile_title: title,
      fake: true,
    });
  }
  return { start, days, people, sites, siteZipf: new Zipf(siteCount, 1.1), services, beacons, insider, profiles };
}
