// Writes the CERT-layout fixture in ./r4.2 (run: node test/data/cert-layout/write.mjs).
// The files follow the published layout of the CERT Insider Threat Test Dataset r4.2
// (logon, device, file, email, http, LDAP/YYYY-MM.csv, psychometric.csv); every person and row
// is made up here. Eight weeks (2010-01-04 .. 2010-02-26), nine ordinary users and one insider
// written to CERT's scenario 1: ACM2278 never worked after hours or used removable drives; in
// week 7 he logs on at night, connects a thumb drive, copies files and uploads to wikileaks.org,
// then leaves (missing from the March LDAP snapshot). Deterministic: no randomness, only
// patterns, so the expected values in the tests can be worked out by hand.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = join(import.meta.dirname, 'r4.2');
mkdirSync(join(out, 'LDAP'), { recursive: true });

const people = [
  { user: 'ACM2278', name: 'Ainsley Carter Mays', role: 'ComputerProgrammer', dept: 'Software', pc: ['PC-4242'], insider: true },
  { user: 'BDW0001', name: 'Blake Dorian Wolfe', role: 'ComputerProgrammer', dept: 'Software', pc: ['PC-1001'] },
  { user: 'CFH0002', name: 'Cora Fay Hale', role: 'ComputerProgrammer', dept: 'Software', pc: ['PC-1002'] },
  { user: 'DGK0003', name: 'Dale Gus Kerr', role: 'ComputerProgrammer', dept: 'Software', pc: ['PC-1003'] },
  { user: 'EHL0004', name: 'Eve Hana Lin', role: 'Salesman', dept: 'Sales', pc: ['PC-2001', 'PC-2101', 'PC-2201'] },
  { user: 'FIM0005', name: 'Finn Ira Moss', role: 'Salesman', dept: 'Sales', pc: ['PC-2002', 'PC-2102', 'PC-2202'] },
  // A technician who carries a thumb drive twice a week: removable media is his routine.
  { user: 'GJN0006', name: 'Gwen Jo Nash', role: 'ITAdmin', dept: 'Support', pc: ['PC-3001'], usb: true },
  // A night-shift operator: late logons are his routine, not a deviation.
  { user: 'HKO0007', name: 'Hugo Kai Ortiz', role: 'ITAdmin', dept: 'Support', pc: ['PC-3002'], night: true },
  { user: 'ILP0008', name: 'Iris Lee Park', role: 'Manager', dept: 'Software', pc: ['PC-4001'] },
  { user: 'JMQ0009', name: 'Jon Mo Quinn', role: 'Manager', dept: 'Sales', pc: ['PC-4002'] },
];

const SITES = {
  ComputerProgrammer: ['http://stackoverflow.com/questions/1', 'http://github.com/org/repo', 'http://docs.python.org/3/library'],
  Salesman: ['http://salesforce.com/home', 'http://linkedin.com/feed', 'http://crm.example.net/accounts'],
  ITAdmin: ['http://serverfault.com/questions/2', 'http://support.microsoft.com/kb/1', 'http://vendor.example.org/drivers'],
  Manager: ['http://news.example.com/business', 'http://calendar.example.com/week', 'http://hbr.org/topics'],
};
const pad = (n) => String(n).padStart(2, '0');
// CERT writes MM/DD/YYYY HH:MM:SS.
const date = (day, minutes) => {
  const d = new Date(Date.UTC(2010, 0, 4) + (day + Math.floor(minutes / 1440)) * 86_400_000);
  return `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()} ${pad(Math.floor(minutes / 60) % 24)}:${pad(minutes % 60)}:${pad((day * 7 + minutes) % 60)}`;
};
let ids = 0;
const id = () => `{R4F${String(++ids).padStart(4, '0')}-${['Q', 'W', 'E'][ids % 3]}${String(ids * 7919 % 100000).padStart(5, '0')}TX}`;
const rows = { logon: [], device: [], file: [], email: [], http: [] };
const add = (kind, day, minutes, text) => rows[kind].push({ key: day * 10_000 + minutes, text: `${id()},${date(day, minutes)},${text}` });

const DAYS = 56; // 2010-01-04 (a Monday) to 2010-02-28
const LAST_DAY_OF = { ACM2278: 46 }; // the insider's last day at work: Friday 2010-02-19
for (let day = 0; day < DAYS; day++) {
  const weekday = day % 7 < 5;
  if (!weekday) continue;
  people.forEach((p, i) => {
    if (day > (LAST_DAY_OF[p.user] ?? DAYS)) return;
    const pc = p.pc[(day + i) % p.pc.length];
    const start = p.night ? 21 * 60 + ((day + i) % 4) * 10 : 8 * 60 + ((day * 3 + i * 5) % 50);
    const end = start + 8 * 60 + ((day + i) % 3) * 15;
    add('logon', day, start, `${p.user},${pc},Logon`);
    add('logon', day, end, `${p.user},${pc},Logoff`);
    const sites = SITES[p.role];
    for (let v = 0; v < 4; v++) add('http', day, start + 30 + v * 90, `${p.user},${pc},${sites[(day + v + i) % sites.length]},keywords ${p.role.toLowerCase()} work`);
    const colleague = people[(i + 1 + day) % people.length];
    add('email', day, start + 60, `${p.user},${pc},${colleague.user.toLowerCase()}@dtaa.com,,,${p.user.toLowerCase()}@dtaa.com,${12000 + day * 10},${(day + i) % 5 === 0 ? 1 : 0},meeting notes`);
    if (p.usb && (day % 7 === 1 || day % 7 === 3)) {
      add('device', day, start + 120, `${p.user},${pc},Connect`);
      add('file', day, start + 125, `${p.user},${pc},R:\\drivers\\update-${day}.exe,driver package`);
      add('device', day, start + 150, `${p.user},${pc},Disconnect`);
    }
  });
}

// Scenario 1, week 7 (2010-02-15 .. 2010-02-17): night logons, a thumb drive, wikileaks.
for (const day of [42, 43, 44]) {
  const night = 22 * 60 + (day - 42) * 12;
  add('logon', day, night, 'ACM2278,PC-4242,Logon');
  add('device', day, night + 5, 'ACM2278,PC-4242,Connect');
  for (let f = 0; f < 4; f++) add('file', day, night + 8 + f, `ACM2278,PC-4242,R:\\projects\\design-${day}-${f}.doc,proprietary design`);
  add('http', day, night + 20, 'ACM2278,PC-4242,http://wikileaks.org/submit/upload.html,leak submission documents');
  add('device', day, night + 30, 'ACM2278,PC-4242,Disconnect');
  add('logon', day, night + 45, 'ACM2278,PC-4242,Logoff');
}

const HEADERS = {
  logon: 'id,date,user,pc,activity',
  device: 'id,date,user,pc,activity',
  file: 'id,date,user,pc,filename,content',
  email: 'id,date,user,pc,to,cc,bcc,from,size,attachments,content',
  http: 'id,date,user,pc,url,content',
};
for (const [kind, list] of Object.entries(rows)) {
  list.sort((a, b) => a.key - b.key);
  writeFileSync(join(out, `${kind}.csv`), `${HEADERS[kind]}\n${list.map((r) => r.text).join('\n')}\n`);
}
// A copy of logon.csv cut short mid-row, as a partial download leaves it: "Logoff" becomes "Logo".
const logon = `${HEADERS.logon}\n${rows.logon.slice(0, 20).map((r) => r.text).join('\n')}\n`;
writeFileSync(join(import.meta.dirname, 'logon-cut.csv'), logon.slice(0, logon.lastIndexOf('Logoff') + 4));

// Monthly LDAP snapshots; the insider is missing from March's.
const ldapHeader = 'employee_name,user_id,email,role,business_unit,functional_unit,department,team,supervisor';
for (const month of ['2010-01', '2010-02', '2010-03']) {
  const present = people.filter((p) => !(p.insider && month === '2010-03'));
  writeFileSync(join(out, 'LDAP', `${month}.csv`), `${ldapHeader}\n${present.map((p) =>
    `${p.name},${p.user},${p.name.replaceAll(' ', '.')}@dtaa.com,${p.role},1,1 - Operations,${p.dept},${p.dept} team,${p.role === 'Manager' ? '' : 'Iris Lee Park'}`).join('\n')}\n`);
}
writeFileSync(join(out, 'psychometric.csv'), `employee_name,user_id,O,C,E,A,N\n${people.map((p, i) => `${p.name},${p.user},${20 + i},${30 + i},${25 + i},${35 - i},${22 + i}`).join('\n')}\n`);
console.log(Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.length])));
