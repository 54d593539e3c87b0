/**
 * huntbook spl: snippets with their output worked out by hand from Splunk's documentation, over
 * six proxy events (below) in a real workspace file; and the refusals, each with its place.
 *
 *   #  time              src_ip    user   dest           dest_ip  out  in    method status url
 *   1  03-01 10:00:00    10.0.0.1  alice  a.example.com  1.1.1.1  100  1000  GET    200    /a
 *   2  03-01 10:30:00    10.0.0.1  alice  a.example.com  1.1.1.1  100  2000  GET    200    /b
 *   3  03-01 11:00:00    10.0.0.1  alice  b.example.org  2.2.2.2  250  500   POST   404    /c
 *   4  03-01 11:15:00    10.0.0.2  bob    a.example.com  1.1.1.1  100  1000  GET    200    /a
 *   5  03-01 12:00:00    10.0.0.2  bob    c.test         3.3.3.3  50   -     GET    500    /d
 *   6  03-02 09:00:00    10.0.0.3  -      a.example.com  1.1.1.1  9    10    GET    200    /a
 *
 * Splunk gives events newest first: 6, 5, 4, 3, 2, 1.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainSpl, runSpl } from '../src/spl/run.ts';
import { defaultConfig } from '../src/config.ts';
import { SCORED_MULTIPLIERS, SCORED_TIER_FEATURES } from '../src/model/features.ts';
import { Workspace } from '../src/store/workspace.ts';
import { cli, testData } from './helpers.ts';
import { generate } from '../src/generate/generate.ts';
import { ingest } from '../src/ingest/ingest.ts';
import { loadRuleSources } from '../src/rules/catalog.ts';
import { runRules } from '../src/rules/engine.ts';
import { readFileSync } from 'node:fs';

const EVENTS = [
  ['2024-03-01 10:00:00', '10.0.0.1', 'alice', 'a.example.com', '1.1.1.1', 100, 1000, 'GET', 200, '/a'],
  ['2024-03-01 10:30:00', '10.0.0.1', 'alice', 'a.example.com', '1.1.1.1', 100, 2000, 'GET', 200, '/b'],
  ['2024-03-01 11:00:00', '10.0.0.1', 'alice', 'b.example.org', '2.2.2.2', 250, 500, 'POST', 404, '/c'],
  ['2024-03-01 11:15:00', '10.0.0.2', 'bob', 'a.example.com', '1.1.1.1', 100, 1000, 'GET', 200, '/a'],
  ['2024-03-01 12:00:00', '10.0.0.2', 'bob', 'c.test', '3.3.3.3', 50, null, 'GET', 500, '/d'],
  ['2024-03-02 09:00:00', '10.0.0.3', null, 'a.example.com', '1.1.1.1', 9, 10, 'GET', 200, '/a'],
] as const;

const dir = mkdtempSync(join(tmpdir(), 'huntbook-spl-'));
const db = join(dir, 'spl.duckdb');
let ws: Workspace;
before(async () => {
  ws = await Workspace.open(db);
  for (const [i, e] of EVENTS.entries()) {
    await ws.run(
      `INSERT INTO http (ts, src_ip, "user", dest, dest_ip, bytes_out, bytes_in, method, status, url, file_id, rec)
       VALUES (CAST($1 AS TIMESTAMP), $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11)`,
      [...e, i + 1],
    );
  }
  ws.close();
  ws = await Workspace.open(db, { readOnly: true });
});

const NOW = new Date('2024-03-02T12:00:00Z');
const MAPPING = { sourcetypes: defaultConfig().spl.sourcetypes, indexes: defaultConfig().spl.indexes };
const HTTP = 'sourcetype=stream:http';

/** The rows as lists of their values in the output's field order. */
async function spl(query: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const result = await runSpl(ws, query, { now: NOW, ...MAPPING });
  return { columns: result.columns, rows: result.rows.map((r) => result.columns.map((c) => r[c])) };
}

/** [query, columns, rows] worked out by hand. */
const CASES: [string, string[], unknown[][]][] = [
  // stats
  [`${HTTP} | stats count`, ['count'], [['6']]],
  [
    `${HTTP} | stats count by src_ip`,
    ['src_ip', 'count'],
    [
      ['10.0.0.1', '3'],
      ['10.0.0.2', '2'],
      ['10.0.0.3', '1'],
    ],
  ],
  [
    `${HTTP} | stats dc(dest) as n by src_ip`,
    ['src_ip', 'n'],
    [
      ['10.0.0.1', '2'],
      ['10.0.0.2', '2'],
      ['10.0.0.3', '1'],
    ],
  ],
  // values(): distinct, in lexicographic order ("1000" < "2000" < "500"); one value is a single value
  [
    `${HTTP} | stats values(bytes_in) as b by src_ip`,
    ['src_ip', 'b'],
    [
      ['10.0.0.1', ['1000', '2000', '500']],
      ['10.0.0.2', '1000'],
      ['10.0.0.3', '10'],
    ],
  ],
  // list(): every value in event order (newest first)
  [
    `${HTTP} | stats list(url) as u by src_ip`,
    ['src_ip', 'u'],
    [
      ['10.0.0.1', ['/c', '/b', '/a']],
      ['10.0.0.2', ['/d', '/a']],
      ['10.0.0.3', '/a'],
    ],
  ],
  // events without the by-field are not counted
  [
    `${HTTP} | stats sum(bytes_out) as s avg(bytes_out) as a min(bytes_out) as lo max(bytes_out) as hi by user`,
    ['user', 's', 'a', 'lo', 'hi'],
    [
      ['alice', '450', '150', '100', '250'],
      ['bob', '150', '75', '50', '100'],
    ],
  ],
  [`${HTTP} | stats range(bytes_out) as r median(bytes_out) as m`, ['r', 'm'], [['241', '100']]],
  [`${HTTP} | stats first(url) as f last(url) as l earliest(url) as e latest(url) as z`, ['f', 'l', 'e', 'z'], [['/a', '/a', '/a', '/a']]],
  [`${HTTP} | stats first(user) as f last(user) as l`, ['f', 'l'], [['bob', 'alice']]],
  [`${HTTP} | stats count(bytes_in) as n`, ['n'], [['5']]],
  // search terms
  [`${HTTP} dest=*.example.com | stats count`, ['count'], [['4']]],
  [`${HTTP} dest!=*.example.com | stats count`, ['count'], [['2']]],
  [`${HTTP} user=ALICE | stats count`, ['count'], [['3']]],
  [`${HTTP} NOT user=alice | stats count`, ['count'], [['3']]],
  [`${HTTP} user!=alice | stats count`, ['count'], [['2']]],
  [`${HTTP} bytes_out>99 | stats count`, ['count'], [['4']]],
  [`${HTTP} (user=bob OR dest=b.*) method=GET | stats count`, ['count'], [['2']]],
  [
    `${HTTP} status IN (404, 500) | table url status`,
    ['url', 'status'],
    [
      ['/d', '500'],
      ['/c', '404'],
    ],
  ],
  // time ranges: absolute, relative to --now (2024-03-02 12:00), snapped
  [`${HTTP} earliest=03/01/2024:11:00:00 latest=03/02/2024:00:00:00 | stats count`, ['count'], [['3']]],
  [`${HTTP} earliest=-24h | stats count`, ['count'], [['2']]],
  [`${HTTP} earliest=-1d@d | stats count`, ['count'], [['6']]],
  [`${HTTP} earliest=@d | stats count`, ['count'], [['1']]],
  // eval and where
  [
    `${HTTP} | eval kb=bytes_in/1000 | table url kb | head 2`,
    ['url', 'kb'],
    [
      ['/a', '0.01'],
      ['/d', null],
    ],
  ],
  [
    `${HTTP} | eval x=if(bytes_in>1000, "big", "small") | stats count by x`,
    ['x', 'count'],
    [
      ['big', '1'],
      ['small', '5'],
    ],
  ],
  // case(): the first true branch; none true gives null (and stats leaves the event out)
  [
    `${HTTP} | eval t=case(bytes_out>200, "hi", bytes_out>50, "mid") | stats count by t`,
    ['t', 'count'],
    [
      ['hi', '1'],
      ['mid', '3'],
    ],
  ],
  [`${HTTP} | eval s=src_ip . ":" . dest | table s | head 1`, ['s'], [['10.0.0.3:a.example.com']]],
  [`${HTTP} | eval a=1, b=a+1 | table b | head 1`, ['b'], [['2']]],
  [`${HTTP} | where len(user) > 3 | stats count`, ['count'], [['3']]],
  [
    `${HTTP} | stats count by src_ip | where count > 1`,
    ['src_ip', 'count'],
    [
      ['10.0.0.1', '3'],
      ['10.0.0.2', '2'],
    ],
  ],
  // sort, head, tail
  [`${HTTP} | stats count by src_ip | sort - count | head 1`, ['src_ip', 'count'], [['10.0.0.1', '3']]],
  [
    `${HTTP} | stats count by src_ip | sort count`,
    ['src_ip', 'count'],
    [
      ['10.0.0.3', '1'],
      ['10.0.0.2', '2'],
      ['10.0.0.1', '3'],
    ],
  ],
  [
    `${HTTP} | stats count by src_ip | sort count desc`,
    ['src_ip', 'count'],
    [
      ['10.0.0.1', '3'],
      ['10.0.0.2', '2'],
      ['10.0.0.3', '1'],
    ],
  ],
  [`${HTTP} | table url | tail 2`, ['url'], [['/a'], ['/b']]],
  // eventstats keeps every event
  [
    `${HTTP} | eventstats count as n by src_ip | table url n | head 3`,
    ['url', 'n'],
    [
      ['/a', '1'],
      ['/d', '2'],
      ['/a', '2'],
    ],
  ],
  [`${HTTP} | eventstats avg(bytes_out) as a | table a | head 1`, ['a'], [['101.5']]],
  // dedup: the first event of each value; events without the field dropped
  [
    `${HTTP} | dedup src_ip | table src_ip url`,
    ['src_ip', 'url'],
    [
      ['10.0.0.3', '/a'],
      ['10.0.0.2', '/d'],
      ['10.0.0.1', '/c'],
    ],
  ],
  [`${HTTP} | dedup user | table user`, ['user'], [['bob'], ['alice']]],
  // top / rare
  [
    `${HTTP} | top dest | fields dest count`,
    ['dest', 'count'],
    [
      ['a.example.com', '4'],
      ['b.example.org', '1'],
      ['c.test', '1'],
    ],
  ],
  [`${HTTP} | rare limit=1 dest | fields dest count`, ['dest', 'count'], [['b.example.org', '1']]],
  // bin, rename, fields, nomv, mvcount, fillnull
  [
    `${HTTP} | bucket _time span=1d | stats count by _time`,
    ['_time', 'count'],
    [
      ['2024-03-01T00:00:00', '5'],
      ['2024-03-02T00:00:00', '1'],
    ],
  ],
  // 10:00 and 10:30 share an hour, as do 11:00 and 11:15: 10, 11, 12 and the next day's 09
  [`${HTTP} | bin _time span=1h | stats dc(_time) as hours`, ['hours'], [['4']]],
  [`${HTTP} | rename src_ip as source | stats count by source | head 1`, ['source', 'count'], [['10.0.0.1', '3']]],
  [`${HTTP} | fields url | head 1`, ['url'], [['/a']]],
  [`${HTTP} | stats values(dest) as d by src_ip | nomv d | table d | head 1`, ['d'], [['a.example.com\nb.example.org']]],
  [
    `${HTTP} | stats values(dest) as d by src_ip | eval n=mvcount(d) | table src_ip n`,
    ['src_ip', 'n'],
    [
      ['10.0.0.1', '2'],
      ['10.0.0.2', '2'],
      ['10.0.0.3', '1'],
    ],
  ],
  [
    `${HTTP} | fillnull value=none user | stats count by user`,
    ['user', 'count'],
    [
      ['alice', '3'],
      ['bob', '2'],
      ['none', '1'],
    ],
  ],
  // join: each row of the main search with the first subsearch row of its key
  [
    `${HTTP} | stats count by dest_ip | join dest_ip [search ${HTTP} | stats values(dest) as dest by dest_ip]`,
    ['dest_ip', 'count', 'dest'],
    [
      ['1.1.1.1', '4', 'a.example.com'],
      ['2.2.2.2', '1', 'b.example.org'],
      ['3.3.3.3', '1', 'c.test'],
    ],
  ],
  [
    `${HTTP} | stats count by src_ip | join type=left src_ip [search ${HTTP} user=bob | stats count as bob by src_ip]`,
    ['src_ip', 'count', 'bob'],
    [
      ['10.0.0.1', '3', null],
      ['10.0.0.2', '2', '2'],
      ['10.0.0.3', '1', null],
    ],
  ],
  // stats by fields that already tell the rows apart: each group one row (values of one value, counts of 1)
  [
    `${HTTP} | stats count by src_ip, dest | eval x=count*10 | stats values(count) as v dc(count) as d count(count) as n sum(x) as s first(dest) as f by src_ip, dest | head 2`,
    ['src_ip', 'dest', 'v', 'd', 'n', 's', 'f'],
    [
      ['10.0.0.1', 'a.example.com', '2', '1', '1', '20', 'a.example.com'],
      ['10.0.0.1', 'b.example.org', '1', '1', '1', '10', 'b.example.org'],
    ],
  ],
  [
    `${HTTP} | stats values(bytes_in) as b by src_ip | stats values(b) as v count(b) as n by src_ip | head 1`,
    ['src_ip', 'v', 'n'],
    [['10.0.0.1', ['1000', '2000', '500'], '3']],
  ],
  // more commands and options, worked out the same way
  [`${HTTP} | stats mode(method) as m`, ['m'], [['GET']]],
  [
    `${HTTP} | stats count by src_ip, method | sort -count src_ip`,
    ['src_ip', 'method', 'count'],
    [
      ['10.0.0.1', 'GET', '2'],
      ['10.0.0.2', 'GET', '2'],
      ['10.0.0.1', 'POST', '1'],
      ['10.0.0.3', 'GET', '1'],
    ],
  ],
  [`${HTTP} | head limit=2 | table url`, ['url'], [['/a'], ['/d']]],
  [`${HTTP} | rename src_ip as s, dest as d | table s d | head 1`, ['s', 'd'], [['10.0.0.3', 'a.example.com']]],
  // XOR, and a test of a missing field is no truth: if() takes its else
  [
    `${HTTP} | eval x=if(user="alice" XOR bytes_out>99, "y", "n") | stats count by x`,
    ['x', 'count'],
    [
      ['n', '5'],
      ['y', '1'],
    ],
  ],
  [`${HTTP} | where like(dest, "%.example.%") | stats count`, ['count'], [['5']]],
  [`${HTTP} | where match(url, "^/[ab]$") | stats count`, ['count'], [['4']]],
  [`${HTTP} | eventstats values(method) as ms by src_ip | table src_ip ms | head 1`, ['src_ip', 'ms'], [['10.0.0.3', 'GET']]],
  [
    `${HTTP} | dedup 2 src_ip | table src_ip url`,
    ['src_ip', 'url'],
    [
      ['10.0.0.3', '/a'],
      ['10.0.0.2', '/d'],
      ['10.0.0.2', '/a'],
      ['10.0.0.1', '/c'],
      ['10.0.0.1', '/b'],
    ],
  ],
  [`${HTTP} | dedup keepempty=true user | table url`, ['url'], [['/a'], ['/d'], ['/c']]],
  [
    `${HTTP} | top limit=1 src_ip by method | fields method src_ip count`,
    ['method', 'src_ip', 'count'],
    [
      ['GET', '10.0.0.1', '2'],
      ['POST', '10.0.0.1', '1'],
    ],
  ],
  [`${HTTP} | fillnull bytes_in | stats sum(bytes_in) as s count(bytes_in) as n`, ['s', 'n'], [['4510', '6']]],
  [
    `${HTTP} | bin span=100 bytes_out as b | stats count by b`,
    ['b', 'count'],
    [
      ['0', '2'],
      ['100', '3'],
      ['200', '1'],
    ],
  ],
  [
    `${HTTP} | bucket _time span=30m | stats count by _time | head 2`,
    ['_time', 'count'],
    [
      ['2024-03-01T10:00:00', '1'],
      ['2024-03-01T10:30:00', '1'],
    ],
  ],
  [`${HTTP} | stats perc50(bytes_out) as p`, ['p'], [['100']]],
  [`${HTTP} user=b* | stats count`, ['count'], [['2']]],
  [`${HTTP} url="/a" OR url="/b" | stats count`, ['count'], [['4']]],
  [`${HTTP} NOT (user=alice OR user=bob) | stats count`, ['count'], [['1']]],
  [`${HTTP} | where isnull(user) | table src_ip`, ['src_ip'], [['10.0.0.3']]],
  [`${HTTP} | eval t=strftime(_time, "%H:%M") | table t | head 2`, ['t'], [['09:00'], ['12:00']]],
  [`${HTTP} | stats earliest(url) as e latest(url) as l by src_ip | head 1`, ['src_ip', 'e', 'l'], [['10.0.0.1', '/a', '/c']]],
  [`${HTTP} | stats list(status) as s by user | head 1`, ['user', 's'], [['alice', ['404', '200', '200']]]],
  // eventstats dc(): a count where the rows are distinct in that field already, a distinct count where not
  [
    `${HTTP} | stats count by src_ip, dest | eventstats dc(dest) as n dc(count) as c by src_ip | table src_ip dest n c`,
    ['src_ip', 'dest', 'n', 'c'],
    [
      ['10.0.0.1', 'a.example.com', '2', '2'],
      ['10.0.0.1', 'b.example.org', '2', '2'],
      ['10.0.0.2', 'a.example.com', '2', '1'],
      ['10.0.0.2', 'c.test', '2', '1'],
      ['10.0.0.3', 'a.example.com', '1', '1'],
    ],
  ],
  // stats by a multivalue field: a group per value
  [
    `${HTTP} | stats values(dest) as d by src_ip | stats count by d`,
    ['d', 'count'],
    [
      ['a.example.com', '3'],
      ['b.example.org', '1'],
      ['c.test', '1'],
    ],
  ],
  // timechart by: a column per series (text order, then NULL and OTHER), empty cells of a count 0
  [
    `${HTTP} | timechart span=12h count by user`,
    ['_time', 'alice', 'bob', 'NULL'],
    [
      ['2024-03-01T00:00:00', '3', '1', '0'],
      ['2024-03-01T12:00:00', '0', '1', '0'],
      ['2024-03-02T00:00:00', '0', '0', '1'],
    ],
  ],
  [
    `${HTTP} | timechart span=1d count by src_ip limit=1`,
    ['_time', '10.0.0.1', 'OTHER'],
    [
      ['2024-03-01T00:00:00', '3', '2'],
      ['2024-03-02T00:00:00', '0', '1'],
    ],
  ],
  [
    `${HTTP} | timechart span=1d max(bytes_out) by method`,
    ['_time', 'GET', 'POST'],
    [
      ['2024-03-01T00:00:00', '100', '250'],
      ['2024-03-02T00:00:00', '9', null],
    ],
  ],
  [
    `${HTTP} | timechart span=1d count by user limit=1 useother=false usenull=false`,
    ['_time', 'alice'],
    [
      ['2024-03-01T00:00:00', '3'],
      ['2024-03-02T00:00:00', '0'],
    ],
  ],
  // chart over X by Y: a row per X, a column per Y
  [
    `${HTTP} | chart count over src_ip by method`,
    ['src_ip', 'GET', 'POST'],
    [
      ['10.0.0.1', '2', '1'],
      ['10.0.0.2', '2', '0'],
      ['10.0.0.3', '1', '0'],
    ],
  ],
  [
    `${HTTP} | chart sum(bytes_out) by user method`,
    ['user', 'GET', 'POST'],
    [
      ['alice', '200', '250'],
      ['bob', '150', null],
    ],
  ],
  [`${HTTP} | rename *_ip AS ip_* | table ip_src ip_dest | head 1`, ['ip_src', 'ip_dest'], [['10.0.0.3', '1.1.1.1']]],
  // functions of an eval expression: a test counts where it holds
  [`${HTTP} | stats count(eval(status>=400)) as errors count as n`, ['errors', 'n'], [['2', '6']]],
  [
    `${HTTP} | stats sum(eval(bytes_out*2)) as d by user`,
    ['user', 'd'],
    [
      ['alice', '900'],
      ['bob', '300'],
    ],
  ],
  [
    `${HTTP} | eventstats count(eval(method="GET")) as gets by src_ip | table src_ip gets | head 2`,
    ['src_ip', 'gets'],
    [
      ['10.0.0.3', '1'],
      ['10.0.0.2', '2'],
    ],
  ],
  // join, then a filter on the subsearch's fields: the filter tests the row the join took (each
  // key's first), not any row of the key (10.0.0.2 is 1.1.1.1's second row: not taken)
  [
    `${HTTP} | stats count by dest_ip | join dest_ip [search ${HTTP} | stats count as n by dest_ip, src_ip] | search src_ip=10.0.0.2`,
    ['dest_ip', 'count', 'src_ip', 'n'],
    [['3.3.3.3', '1', '10.0.0.2', '1']],
  ],
  // max=2: each key's first two rows, then the filter (1.1.1.1's third row, n=1 too, is not taken)
  [
    `${HTTP} | stats count by dest_ip | join max=2 dest_ip [search ${HTTP} | stats count as n by dest_ip, src_ip] | search n=1`,
    ['dest_ip', 'count', 'src_ip', 'n'],
    [
      ['1.1.1.1', '4', '10.0.0.2', '1'],
      ['2.2.2.2', '1', '10.0.0.1', '1'],
      ['3.3.3.3', '1', '10.0.0.2', '1'],
    ],
  ],
  // a join inside the join's subsearch
  [
    `${HTTP} | stats count by dest_ip | join dest_ip [search ${HTTP} | stats dc(src_ip) as srcs by dest_ip, dest | join dest [search ${HTTP} | stats count as n by dest | where n > 1]] | search srcs > 1`,
    ['dest_ip', 'count', 'dest', 'srcs', 'n'],
    [['1.1.1.1', '4', 'a.example.com', '3', '4']],
  ],
  // an eventstats over every event before the join: total counts all six, not only the kept key's
  [
    `${HTTP} | eventstats count as total | stats max(total) as total count by dest_ip | join dest_ip [search ${HTTP} | stats dc(src_ip) as srcs by dest_ip] | search srcs>1`,
    ['dest_ip', 'total', 'count', 'srcs'],
    [['1.1.1.1', '6', '4', '3']],
  ],
  // overwrite=false: count stays the main search's (4), the subsearch's (2) does not decide
  [
    `${HTTP} | stats count by dest_ip | join overwrite=false dest_ip [search ${HTTP} | stats count by dest_ip, src_ip] | search count=4`,
    ['dest_ip', 'count', 'src_ip'],
    [['1.1.1.1', '4', '10.0.0.1']],
  ],
  // where after the join, on a multivalue of the subsearch
  [
    `${HTTP} | stats sum(bytes_out) as out by dest_ip | join dest_ip [search ${HTTP} | stats values(user) as users by dest_ip] | where mvcount(users) >= 2`,
    ['dest_ip', 'out', 'users'],
    [['1.1.1.1', '309', ['alice', 'bob']]],
  ],
  // eventstats by the key and dedup of the key keep events of other keys apart: newest first
  [
    `${HTTP} | eventstats count as per_dest by dest_ip | dedup dest_ip | join dest_ip [search ${HTTP} | stats dc(src_ip) as srcs by dest_ip] | search srcs=1 | table dest_ip, per_dest, srcs`,
    ['dest_ip', 'per_dest', 'srcs'],
    [
      ['3.3.3.3', '1', '1'],
      ['2.2.2.2', '1', '1'],
    ],
  ],
  // mvcount of values(): the count of distinct values (none: null), and after the field changes, of what it holds
  [
    `${HTTP} | stats values(user) as users values(bytes_in) as b by dest_ip | eval n=mvcount(users), m=mvcount(b)`,
    ['dest_ip', 'users', 'b', 'n', 'm'],
    [
      ['1.1.1.1', ['alice', 'bob'], ['10', '1000', '2000'], '2', '3'],
      ['2.2.2.2', 'alice', '500', '1', '1'],
      ['3.3.3.3', 'bob', null, '1', null],
    ],
  ],
  [
    `${HTTP} | stats values(user) as users by dest_ip | eval users=mvappend(users, "x") | eval n=mvcount(users) | fields dest_ip, n`,
    ['dest_ip', 'n'],
    [
      ['1.1.1.1', '3'],
      ['2.2.2.2', '2'],
      ['3.3.3.3', '2'],
    ],
  ],
  // values() again over rows stats already grouped by the same fields: the same lists, the same counts
  [
    `${HTTP} | stats values(bytes_in) as b by dest_ip | stats values(b) as b values(b) as c by dest_ip | eval n=mvcount(c)`,
    ['dest_ip', 'b', 'c', 'n'],
    [
      ['1.1.1.1', ['10', '1000', '2000'], ['10', '1000', '2000'], '3'],
      ['2.2.2.2', '500', '500', '1'],
      ['3.3.3.3', null, null, null],
    ],
  ],
  // streamstats: running values in event order
  [
    `${HTTP} | streamstats count as n | table url n | head 3`,
    ['url', 'n'],
    [
      ['/a', '1'],
      ['/d', '2'],
      ['/a', '3'],
    ],
  ],
  [
    `${HTTP} | streamstats count as n by src_ip | table src_ip n`,
    ['src_ip', 'n'],
    [
      ['10.0.0.3', '1'],
      ['10.0.0.2', '1'],
      ['10.0.0.2', '2'],
      ['10.0.0.1', '1'],
      ['10.0.0.1', '2'],
      ['10.0.0.1', '3'],
    ],
  ],
  [`${HTTP} | streamstats window=2 current=false sum(bytes_out) as s | table s`, ['s'], [[null], ['9'], ['59'], ['150'], ['350'], ['350']]],
  // timechart: every bucket from the first to the last, an empty one counted 0
  [
    `${HTTP} | timechart span=1d count`,
    ['_time', 'count'],
    [
      ['2024-03-01T00:00:00', '5'],
      ['2024-03-02T00:00:00', '1'],
    ],
  ],
  [
    `${HTTP} | timechart span=6h count max(bytes_out) as m`,
    ['_time', 'count', 'm'],
    [
      ['2024-03-01T06:00:00', '4', '250'],
      ['2024-03-01T12:00:00', '1', '50'],
      ['2024-03-01T18:00:00', '0', null],
      ['2024-03-02T00:00:00', '0', null],
      ['2024-03-02T06:00:00', '1', '9'],
    ],
  ],
  [
    `${HTTP} | chart count over src_ip`,
    ['src_ip', 'count'],
    [
      ['10.0.0.1', '3'],
      ['10.0.0.2', '2'],
      ['10.0.0.3', '1'],
    ],
  ],
  // rex: named groups from the first match; mode=sed
  [
    `${HTTP} | rex field=dest "^(?<sub>[^.]+)\\.(?<rest>.+)$" | table sub rest | head 2`,
    ['sub', 'rest'],
    [
      ['a', 'example.com'],
      ['c', 'test'],
    ],
  ],
  [`${HTTP} | rex field=dest mode=sed "s/example/ex/" | table dest | head 1`, ['dest'], [['a.ex.com']]],
  [
    `${HTTP} | rex field=url "^/(?<page>[b-c])$" | stats count by page`,
    ['page', 'count'],
    [
      ['b', '1'],
      ['c', '1'],
    ],
  ],
  // mvexpand, makemv, mvfilter
  [
    `${HTTP} | stats values(dest) as d by src_ip | mvexpand d | table src_ip d`,
    ['src_ip', 'd'],
    [
      ['10.0.0.1', 'a.example.com'],
      ['10.0.0.1', 'b.example.org'],
      ['10.0.0.2', 'a.example.com'],
      ['10.0.0.2', 'c.test'],
      ['10.0.0.3', 'a.example.com'],
    ],
  ],
  [`${HTTP} | head 1 | eval l="a,,b" | makemv delim="," l | eval n=mvcount(l) | table n`, ['n'], [['2']]],
  [`${HTTP} | head 1 | eval l="a b  c" | makemv l | eval n=mvcount(l) | table n`, ['n'], [['3']]],
  [`${HTTP} | head 1 | eval l=split("a,b,bc", ",") | eval v=mvfilter(match(l, "^b")) | table v`, ['v'], [[['b', 'bc']]]],
  // append: the subsearch's rows after this search's
  [
    `${HTTP} | stats count by src_ip | append [search ${HTTP} | stats count as total]`,
    ['src_ip', 'count', 'total'],
    [
      ['10.0.0.1', '3', null],
      ['10.0.0.2', '2', null],
      ['10.0.0.3', '1', null],
      [null, null, '6'],
    ],
  ],
];

/** eval functions, one value each (on the newest event: 10.0.0.3, no user, bytes_in 10). */
const EVALS: [string, unknown][] = [
  ['substr("splunk", 2, 3)', 'plu'],
  ['substr("splunk", -3)', 'unk'],
  ['replace("a-b-c", "-", "+")', 'a+b+c'],
  ['mvjoin(split("a,b,c", ","), ";")', 'a;b;c'],
  ['mvindex(split("a,b,c", ","), 1)', 'b'],
  ['mvindex(split("a,b,c", ","), -1)', 'c'],
  ['mvindex(split("a,b,c", ","), 0, 1)', ['a', 'b']],
  ['mvcount(mvappend("a", split("b,c", ",")))', '3'],
  ['mvdedup(split("b,a,b", ","))', ['b', 'a']],
  ['lower("AbC") . upper("x")', 'abcX'],
  ['coalesce(user, "none")', 'none'],
  ['typeof(12)', 'Number'],
  ['typeof("x")', 'String'],
  ['typeof(nosuchfield)', 'Invalid'],
  ['tostring(12.0)', '12'],
  ['10/4', '2.5'],
  ['7%3', '1'],
  ['"x"+"y"', 'xy'],
  ['"3"+4', '7'],
  ['md5("abc")', '900150983cd24fb0d6963f7d28e17f72'],
  ['isnull(user)', 'true'],
  ['isnotnull(src_ip)', 'true'],
  ['if(isnull(nosuchfield), "missing", "there")', 'missing'],
  ['round(3.14159, 2)', '3.14'],
  ['abs(-4) + floor(2.7) + ceil(2.1)', '9'],
  ['pow(2, 10)', '1024'],
  ['len("héllo")', '5'],
  ['trim("  x  ")', 'x'],
  ['urldecode("a%20b+c")', 'a b c'],
  ['tonumber("1A", 16)', '26'],
  ['tonumber("101", 2)', '5'],
  ['tonumber(" 12.5 ")', '12.5'],
  ['match("10.0.0.3", "^10\\\\.")', 'true'],
  ['like("abc", "a%")', 'true'],
  ['strftime(0, "%Y-%m-%d")', '1970-01-01'],
  ['strptime("2024-03-01", "%Y-%m-%d")', '1709251200'],
  ['case(1=2, "a", 1=1, "b")', 'b'],
  ['bytes_in * 2', '20'],
  ["'bytes_in' + 'bytes_out'", '19'],
  ['strftime(relative_time(strptime("2024-03-06 15:30:00", "%Y-%m-%d %H:%M:%S"), "-1d@w1"), "%Y-%m-%d %H:%M")', '2024-03-04 00:00'],
  ['strftime(relative_time(strptime("2024-03-06 15:30:00", "%Y-%m-%d %H:%M:%S"), "+1mon@d"), "%Y-%m-%d %H:%M")', '2024-04-06 00:00'],
  ['cidrmatch("10.0.0.0/24", src_ip)', 'true'],
  ['cidrmatch("10.0.1.0/24", src_ip)', 'false'],
  ['cidrmatch("0.0.0.0/0", "8.8.8.8")', 'true'],
  ['cidrmatch("10.0.0.0/8", "not an address")', 'false'],
];

test('spl: commands and stats functions give what Splunk gives on six hand-checked events', async () => {
  for (const [query, columns, rows] of CASES) {
    const got = await spl(query);
    assert.deepEqual(got.columns, columns, query);
    assert.deepEqual(got.rows, rows, query);
  }
});

test('spl: the statement reads less (a join only the events whose keys it can match) and gives the rows the search written as it stands gives', async () => {
  const joins = CASES.filter(([query]) => / join /.test(query));
  assert.ok(joins.length >= 6);
  for (const [query] of CASES) {
    const narrowed = await runSpl(ws, query, { now: NOW, ...MAPPING });
    const plain = await runSpl(ws, query, { now: NOW, ...MAPPING, pushdown: false });
    assert.deepEqual(narrowed.rows, plain.rows, query);
    assert.doesNotMatch(plain.sql.text, / IN \(SELECT /, query);
  }
  const restricted = async (query: string) =>
    / IN \(SELECT "k0" FROM /.test((await explainSpl(undefined, query, { now: NOW, ...MAPPING })).text);
  // The search's events are narrowed where the rows keep their keys apart …
  assert.ok(await restricted(joins.find(([q]) => q.includes('dedup dest_ip | join'))![0]));
  assert.ok(await restricted(readFileSync('test/data/spl/seed-scored-beacons.spl', 'utf8')));
  // … and not where an eventstats over every event (or a left join) needs the others.
  assert.ok(!(await restricted(joins.find(([q]) => q.includes('eventstats count as total'))![0])));
  assert.ok(!(await restricted(joins.find(([q]) => q.includes('type=left'))![0])));
});

test('spl: eval functions', async () => {
  for (const [expression, expected] of EVALS) {
    const got = await spl(`${HTTP} | head 1 | eval v=${expression} | table v`);
    assert.deepEqual(got.rows, [[expected]], expression);
  }
});

test('spl: the seed population search shape: values by user, eventstats over a multivalue, nomv, md5', async () => {
  const got = await spl(
    `${HTTP} | stats values(dest) as d dc(dest) as n by user | eventstats count(user) as c by d | nomv d | eval h=md5(d) | table user n c d h`,
  );
  const md5 = async (text: string) => (await import('node:crypto')).createHash('md5').update(text).digest('hex');
  assert.deepEqual(got.rows, [
    ['alice', '2', '1', 'a.example.com\nb.example.org', await md5('a.example.com\nb.example.org')],
    ['bob', '2', '1', 'a.example.com\nc.test', await md5('a.example.com\nc.test')],
  ]);
});

test('spl: a field that exists nowhere is null and named in the warnings', async () => {
  const result = await runSpl(ws, `${HTTP} | stats values(login) as login by dest_ip | eval n=mvcount(login) | table dest_ip n | head 1`, {
    now: NOW,
    ...MAPPING,
  });
  assert.deepEqual(result.warnings, ['login']);
  assert.deepEqual(
    result.rows.map((r) => [r.dest_ip, r.n]),
    [['1.1.1.1', null]],
  );
});

test('spl: what is outside the subset is refused with its place, never approximated', async () => {
  const refusals: [string, RegExp][] = [
    [`${HTTP} | transaction src_ip`, /^spl:1:26: command "transaction" is not supported$/],
    [`${HTTP} | eval a=frobnicate(1)`, /^spl:1:33: function "frobnicate" is not supported$/],
    [`${HTTP} | stats foo(x)`, /^spl:1:32: stats: function "foo" is not supported$/],
    [`${HTTP} | stats count(eval(bytes_out>)) as x`, /^spl:1:\d+: (the expression ends too early|cannot read)/],
    ['sourcetype=unknown:thing | stats count', /^spl:1:1: sourcetype "unknown:thing" maps to no table/],
    [`${HTTP} hello | stats count`, /^spl:1:24: free-text term "hello" is not supported/],
    ['user=alice | stats count', /names no index or sourcetype/],
    [`${HTTP} | eval a=(1+`, /^spl:1:\d+: the expression ends too early|cannot read/],
    [`${HTTP} | stats count by`, /fields after BY/],
    [`${HTTP} | eval a=substr("x")`, /substr\(\) takes 2 to 3 arguments/],
    [`${HTTP} earliest=-3x`, /"x" in "-3x" is not a time unit/],
    [`${HTTP} | join [search ${HTTP}]`, /join: the fields to join on are required/],
    [`${HTTP} | head 2 ]`, /a "\]" without its "\["/],
    [`${HTTP}\n| stats count\n| transaction x`, /^spl:3:3: command "transaction" is not supported$/],
    [`${HTTP} | timechart span=1h count by user, method`, /timechart: one split field at most/],
    [`${HTTP} | timechart span=1h count max(bytes_out) by user`, /timechart: one function with a split field/],
    [`${HTTP} | timechart span=1h count by user cont=false`, /timechart: option cont= is not supported/],
    [`${HTTP} | timechart count`, /timechart: span= is required/],
    [`${HTTP} | chart count over src_ip by user method`, /chart: two fields at most/],
    [`${HTTP} | rex "(?<a>x)"`, /rex: field= is required/],
    [`${HTTP} | dedup src_ip sortby -_time`, /dedup: sortby is not supported/],
    [`${HTTP} | dedup consecutive=true src_ip`, /dedup: option consecutive= is not supported/],
    [`${HTTP} | streamstats reset_on_change=true count`, /streamstats: option reset_on_change= is not supported/],
    [`${HTTP} | eval v=relative_time(now(), x)`, /relative_time\(\) takes a time and a literal modifier/],
  ];
  for (const [query, message] of refusals) {
    await assert.rejects(runSpl(ws, query, { now: NOW, ...MAPPING }), (error: Error) => {
      assert.match(error.message, message, query);
      return true;
    });
  }
});

test('spl: values reach SQL only as bound values or quoted names (hostile field names and values)', async () => {
  const got = await spl(`${HTTP} url="'; DROP TABLE http; --" | stats count as "a\\"b" | eval "x'y"=1 | table "a\\"b" "x'y"`);
  assert.deepEqual(got.columns, ['a"b', "x'y"]);
  assert.deepEqual(got.rows, [['0', '1']]);
  assert.equal(Number(await ws.scalar('SELECT count(*) FROM http')), 6);
});

test('huntbook spl: the CLI prints the table in every format, --explain shows the SQL, -f reads a file, errors exit 2 with one line', async () => {
  const csv = await cli('spl', `${HTTP} | stats count by src_ip`, '--db', db, '--format', 'csv');
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(csv.stdout, 'src_ip,count\n10.0.0.1,3\n10.0.0.2,2\n10.0.0.3,1\n');
  const json = await cli('spl', `${HTTP} | stats values(bytes_in) as b by src_ip | head 1`, '--db', db, '--format', 'json');
  assert.deepEqual(JSON.parse(json.stdout), [{ src_ip: '10.0.0.1', b: ['1000', '2000', '500'] }]);
  const explain = await cli('spl', `${HTTP} user="x'y" | stats count`, '--explain');
  assert.equal(explain.code, 0, explain.stderr);
  assert.match(explain.stdout, /^WITH "s0" AS \(SELECT/);
  assert.match(explain.stdout, /-- values: \[.*"x'y".*\]/);
  assert.doesNotMatch(explain.stdout.split('\n-- values')[0], /x'y/, 'the value is bound, not in the text');
  const capped = await cli('spl', `${HTTP} | table url`, '--db', db, '--format', 'csv', '--max-rows', '2');
  assert.equal(capped.stdout, 'url\n/a\n/d\n');
  assert.match(capped.stderr, /warning: 4 more row\(s\) not printed \(--max-rows 2\)/);
  const file = join(dir, 'hunt.spl');
  writeFileSync(file, `${HTTP}\n| stats dc(dest) as n by src_ip\n| where n > 1\n`);
  const fromFile = await cli('spl', '-f', file, '--db', db, '--format', 'csv');
  assert.equal(fromFile.stdout, 'src_ip,n\n10.0.0.1,2\n10.0.0.2,2\n');
  const bad = await cli('spl', `${HTTP} | transaction src_ip`, '--db', db);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /spl:1:26: command "transaction" is not supported/);
  const none = await cli('spl', '--db', db);
  assert.match(none.stderr, /give the search as an argument or with -f FILE/);
});

test("the seed's three SPL searches run unchanged on generated enterprise data and find what it hides", async () => {
  const out = join(dir, 'enterprise');
  const truth = generate({ seed: 3, users: 40, days: 16, scale: 0.03, out });
  const demo = await Workspace.open(join(dir, 'enterprise.duckdb'));
  try {
    await ingest(demo, [out]);
    await runRules(demo, (await loadRuleSources([], [])).rules);
    const seed = (name: string) => readFileSync(testData('spl', name), 'utf8');
    const facts = JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')) as {
      insider: { user: string };
      beacons: { channel: string; dest: string; src_ip: string; dest_ip: string }[];
    };
    assert.ok(truth);

    // Population: the insider's row carries the highest addedweight.
    const population = await runSpl(demo, seed('seed-population.spl'), { now: NOW, ...MAPPING });
    assert.ok(population.rows.length > 10, `${population.rows.length} users`);
    const top = Math.max(...population.rows.map((r) => Number(r.addedweight)));
    assert.ok(
      population.rows.some((r) => r.user === facts.insider.user && Number(r.addedweight) === top),
      `the insider ${facts.insider.user} has the top addedweight ${top}`,
    );

    // Scored beacons (earliest=-1d from the newest event): every row above 250, a hidden proxy beacon among them.
    const latest = new Date(`${String(await demo.scalar('SELECT CAST(max(ts) AS VARCHAR) FROM http')).replace(' ', 'T')}Z`);
    const scored = await runSpl(demo, seed('seed-scored-beacons.spl'), { now: latest, ...MAPPING });
    assert.ok(scored.rows.length > 0);
    assert.ok(scored.rows.every((r) => Number(r.addedweight) > 250));
    const proxyBeacons = new Set(facts.beacons.filter((b) => b.channel === 'proxy').map((b) => b.dest));
    assert.ok(
      scored.rows.some((r) => proxyBeacons.has(String(r.dest))),
      `a proxy beacon among ${scored.rows.map((r) => r.dest).join(', ')}`,
    );
    // As written, case() takes the first true branch: evtmult never reaches 100, beaconmult never 200.
    assert.ok(scored.rows.every((r) => r.evtmult !== '100' && r.beaconmult !== '200'));

    // Flow beacons: sorted by beacon_percentage, highest first; login is a Stream field huntbook has not (null, said).
    const flow = await runSpl(demo, seed('seed-flow-beacons.spl'), { now: NOW, ...MAPPING });
    assert.deepEqual(flow.warnings, ['login']);
    const percentages = flow.rows.map((r) => Number(r.beacon_percentage));
    assert.ok(percentages.length > 0);
    assert.deepEqual(
      percentages,
      [...percentages].sort((a, b) => b - a),
    );
  } finally {
    demo.close();
  }
});

test('spl: sourcetypes and indexes map to tables through the configuration (a hunter adds their own; a wrong table is a config problem)', async () => {
  const config = join(dir, 'huntbook.yml');
  writeFileSync(config, 'spl:\n  sourcetypes:\n    "My:Firewall": http\n  indexes:\n    netfw: http\n');
  const own = await cli('spl', 'sourcetype=my:firewall | stats count', '--db', db, '--config', config, '--format', 'csv', '-q');
  assert.equal(own.stdout, 'count\n6\n', own.stderr);
  const index = await cli('spl', 'index=netfw | stats dc(src_ip) as n', '--db', db, '--config', config, '--format', 'csv', '-q');
  assert.equal(index.stdout, 'n\n3\n', index.stderr);
  const shipped = await cli('spl', 'sourcetype=my:firewall | stats count', '--db', db, '-q');
  assert.match(shipped.stderr, /sourcetype "my:firewall" maps to no table \(config spl\.sourcetypes/);
  writeFileSync(config, 'spl:\n  sourcetypes:\n    "my:fw": firewall\n');
  const bad = await cli('spl', 'sourcetype=my:fw | stats count', '--db', db, '--config', config);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /spl\.sourcetypes\.my:fw.*must be one of flows, http/);
});

test('spl: lookup, inputlookup and makeresults over a CSV ingested with --as lookup:NAME', async () => {
  const work = mkdtempSync(join(tmpdir(), 'huntbook-spl-lookup-'));
  const copy = join(work, 'case.duckdb');
  writeFileSync(copy, readFileSync(db));
  const csv = join(work, 'assets.csv');
  writeFileSync(csv, 'ip,owner,site\n10.0.0.1,alice,HQ\n10.0.0.2,bob,Lab\n10.0.0.2,bob2,Lab\n');
  const loaded = await cli('ingest', csv, '--as', 'lookup:assets', '--db', copy);
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.match(loaded.stdout, /assets\.csv → lookup_assets \(csv\): read 3, loaded 3, rejected 0/);
  const run = async (query: string) => {
    const out = await cli('spl', query, '--db', copy, '--format', 'json', '-q', '--now', '2024-03-02T12:00:00');
    assert.equal(out.code, 0, `${query}: ${out.stderr}`);
    return JSON.parse(out.stdout) as Record<string, unknown>[];
  };
  assert.deepEqual(await run('| inputlookup assets | stats count by site'), [
    { site: 'HQ', count: '1' },
    { site: 'Lab', count: '2' },
  ]);
  // Several matches: a multivalue, in the file's order; no match: nothing added.
  assert.deepEqual(await run(`${HTTP} | stats count by src_ip | lookup assets ip AS src_ip OUTPUT owner AS who`), [
    { src_ip: '10.0.0.1', count: '3', who: 'alice' },
    { src_ip: '10.0.0.2', count: '2', who: ['bob', 'bob2'] },
    { src_ip: '10.0.0.3', count: '1', who: null },
  ]);
  // Without OUTPUT, every other field of the lookup; OUTPUTNEW leaves a field that has a value.
  assert.deepEqual(await run(`${HTTP} | stats count by src_ip | lookup assets ip AS src_ip | table src_ip owner site | head 1`), [
    { src_ip: '10.0.0.1', owner: 'alice', site: 'HQ' },
  ]);
  assert.deepEqual(
    await run(`${HTTP} | stats count by src_ip | eval site="kept" | lookup assets ip AS src_ip OUTPUTNEW site | table site | head 1`),
    [{ site: 'kept' }],
  );
  assert.deepEqual(await run('| makeresults count=2 | eval x=1 | table _time x'), [
    { _time: '2024-03-02T12:00:00', x: '1' },
    { _time: '2024-03-02T12:00:00', x: '1' },
  ]);
  const missing = await cli('spl', `${HTTP} | lookup nosuch ip`, '--db', copy);
  assert.match(missing.stderr, /spl:1:33: lookup "nosuch" is not in the workspace: huntbook ingest FILE\.csv --as lookup:nosuch/);
  const field = await cli('spl', `${HTTP} | lookup assets nosuch`, '--db', copy);
  assert.match(field.stderr, /lookup assets: it has no field "nosuch" \(it has ip, owner, site\)/);
});

test("spl: the seed's scored beacon search as written gives the rows hunt beacons --mode scored --join splunk gives with the seed's tiers as written", async () => {
  const out = join(dir, 'scored');
  generate({ seed: 5, users: 60, days: 3, out });
  const file = join(dir, 'scored.duckdb');
  const loaded = await cli('ingest', join(out, 'proxy.csv'), '--db', file, '-q');
  assert.equal(loaded.code, 0, loaded.stderr);
  const probe = await Workspace.open(file, { readOnly: true });
  // The search's earliest=-1d counted from the newest event, as --now latest does.
  const since = String(await probe.scalar('SELECT CAST(max(ts) - INTERVAL 1 DAY AS VARCHAR) FROM http'));
  probe.close();
  const tiers = testData('spl', 'seed-tiers-as-written.yml');
  const native = await cli(
    'hunt',
    'beacons',
    '--mode',
    'scored',
    '--join',
    'splunk',
    '--all',
    '--config',
    tiers,
    '--since',
    since,
    '--db',
    file,
    '--format',
    'json',
    '-q',
  );
  assert.equal(native.code, 0, native.stderr);
  const spl = await cli('spl', '-f', testData('spl', 'seed-scored-beacons.spl'), '--now', 'latest', '--db', file, '--format', 'json', '-q');
  assert.equal(spl.code, 0, spl.stderr);
  const byDest = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [String(r.dest), r]));
  const [fromHunt, fromSpl] = [byDest(JSON.parse(native.stdout)), byDest(JSON.parse(spl.stdout))];
  assert.ok(fromSpl.size >= 5, `${fromSpl.size} rows`);
  assert.deepEqual([...fromSpl.keys()].sort(), [...fromHunt.keys()].sort(), 'the same destinations kept');
  const close = ['avgcount', 'o_average', 'above', 'avgurl'];
  const exact = ['src_ip', 'dest_ip', ...SCORED_TIER_FEATURES.filter((f) => !close.includes(f))];
  const multipliers = [...SCORED_MULTIPLIERS, 'addedweight'];
  for (const [dest, s] of fromSpl) {
    const h = fromHunt.get(dest)!;
    for (const f of exact) assert.equal(String(s[f]), String(h[f]), `${dest} ${f}`);
    for (const f of multipliers) assert.equal(Number(s[f]), Number(h[f]), `${dest} ${f}`);
    for (const f of close)
      assert.ok(Math.abs(Number(s[f]) - Number(h[f])) <= 1e-9 * Math.abs(Number(h[f])), `${dest} ${f}: ${s[f]} vs ${h[f]}`);
  }
  // As written, evtmult is never 100 and beaconmult never 200 (the lower tier is tested first).
  assert.ok([...fromSpl.values()].every((r) => r.evtmult !== '100' && r.beaconmult !== '200'));
});

test("spl: a field no column holds is read from the event's own JSON (Zeek's history), through search, eval and stats; one no event has is said", async () => {
  const file = join(dir, 'zeek.duckdb');
  const loaded = await cli('ingest', testData('zeek', 'stratosphere', '008-zeek-mixed', 'data', 'conn.log.labeled'), '--db', file, '-q');
  assert.equal(loaded.code, 0, loaded.stderr);
  const zeek = await Workspace.open(file, { readOnly: true });
  try {
    // What the JSON holds, counted in SQL: the expected answers.
    const expected = await zeek.query(
      "SELECT json_extract_string(extra, '$.history') AS h, count(*) AS n FROM flows GROUP BY 1 ORDER BY n DESC, h LIMIT 3",
    );
    const syn = Number(await zeek.scalar("SELECT count(*) FROM flows WHERE json_extract_string(extra, '$.history') ILIKE 'S%'"));
    const top = await runSpl(zeek, 'sourcetype=bro:conn:json | stats count by history | sort - count history | head 3', {
      now: NOW,
      ...MAPPING,
    });
    assert.deepEqual(
      top.rows.map((r) => [r.history, Number(r.count)]),
      expected.map((r) => [r.h, Number(r.n)]),
    );
    assert.deepEqual(top.warnings, []);
    const filtered = await runSpl(zeek, 'sourcetype=bro:conn:json history=S* | eval h=lower(history) | stats count', {
      now: NOW,
      ...MAPPING,
    });
    assert.deepEqual(filtered.rows, [{ count: String(syn) }]);
    const nowhere = await runSpl(zeek, 'sourcetype=bro:conn:json | stats dc(no_such_key) as n', { now: NOW, ...MAPPING });
    assert.deepEqual(nowhere.warnings, ['no_such_key']);
    assert.deepEqual(nowhere.rows, [{ n: '0' }]);
  } finally {
    zeek.close();
  }
});
