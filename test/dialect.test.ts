import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duckdb } from '../src/store/dialect-duckdb.ts';
import { ident, join, raw, render, sql } from '../src/store/sql-template.ts';
import { AddressClassifier, DEFAULT_INTERNAL } from '../src/net/network.ts';
import { Rng } from '../src/ml/random.ts';
import { openWorkspace } from './helpers.ts';

test('sql template: values are bound in order, identifiers quoted, fragments nested; hostile text never becomes SQL', () => {
  const hostile = "x'); DROP TABLE http; --";
  const cond = sql`dest = ${hostile}`;
  const q = sql`SELECT ${join([ident('src_ip'), ident('we"ird')])} FROM ${ident('http')} WHERE ${cond} AND bytes_out > ${500} AND ${raw('true')}`;
  const r = render(q, duckdb);
  assert.equal(r.text, 'SELECT "src_ip", "we""ird" FROM "http" WHERE dest = $1 AND bytes_out > $2 AND true');
  assert.deepEqual(r.params, [hostile, 500]);
  // placeholders continue a list already started
  assert.equal(render(sql`a = ${1}`, duckdb, ['x']).text, 'a = $2');
});

test('dialect (DuckDB): address classes in SQL equal the classifier in JS, on edge cases and 2,000 random addresses', async (t) => {
  const ws = await openWorkspace(t);
  const internal = [...DEFAULT_INTERNAL, '100.64.0.0/10', '2001:db8:abcd::/48', '203.0.113.7/32'];
  const cases = [
    '10.0.0.1',
    '10.255.255.255',
    '11.0.0.0',
    '172.15.255.255',
    '172.16.0.0',
    '172.31.255.255',
    '172.32.0.0',
    '192.168.1.1',
    '010.0.0.1',
    '10.0.0.256',
    '1.2.3',
    '1.2.3.4.5',
    ' 10.0.0.1',
    '10.0.0.1 ',
    '10.0.0.1%eth0',
    '',
    'abc',
    '255.255.255.255',
    '224.0.0.1',
    '239.255.255.255',
    '169.254.3.4',
    '0.0.0.0',
    '127.0.0.1',
    '100.64.0.1',
    '100.127.255.255',
    '100.128.0.0',
    '203.0.113.7',
    '203.0.113.8',
    '::1',
    '::',
    ':::',
    '::0',
    'fe80::1%eth0',
    'FE80::1',
    'febf::1',
    'fec0::1',
    'ff02::1',
    'fd00::',
    'fdff:ffff::1',
    'fc00::1',
    '::ffff:10.1.2.3',
    '::ffff:1.2.3',
    '::ffff:1.2.3.256',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::',
    'g::1',
    '1:2:3:4::5:6:7:8',
    '1:2:3:4:5:6:7::',
    ':1::',
    '1::',
    '2001:db8:abcd:ffff:ffff:ffff:ffff:ffff',
    '2001:db8:abce::',
    '2001:DB8:ABCD::1',
    '::ffff:a01:203',
    '64:ff9b::10.0.0.1',
    'x:y',
  ];
  const rng = new Rng(7);
  const r = (n: number) => Math.floor(rng.next() * n);
  for (let i = 0; i < 1000; i++)
    cases.push([r(256), r(256), r(256), r(256)].map((x, j) => (j === 0 && i % 3 === 0 ? [10, 172, 192, 127, 224][i % 5] : x)).join('.'));
  for (let i = 0; i < 1000; i++) {
    const groups = Array.from({ length: 8 }, () => r(65536).toString(16));
    if (i % 4 === 0) groups[0] = ['fd12', 'fe80', 'ff02', '2001'][(i % 16) / 4];
    if (i % 4 === 1) groups[1] = 'db8';
    const cut = r(9);
    cases.push(i % 2 === 0 ? groups.join(':') : `${groups.slice(0, cut).join(':')}::${groups.slice(cut + 1).join(':')}`);
  }
  await ws.run('CREATE TABLE addrs (ip VARCHAR)');
  await ws.append(
    'addrs',
    cases.map((c) => [c]),
  );
  const { text, params } = render(duckdb.classifyAddresses(sql`SELECT ip FROM addrs`, internal), duckdb);
  const rows = await ws.query(text, params);
  const classifier = new AddressClassifier(internal);
  assert.equal(rows.length, new Set(cases).size);
  let internalCount = 0;
  for (const row of rows) {
    const js = classifier.classify(String(row.ip));
    assert.deepEqual({ internal: row.internal, special: row.special, valid: row.valid }, js, `address "${String(row.ip)}"`);
    if (js.internal) internalCount++;
  }
  assert.ok(internalCount > 100, `the cases exercise internal networks (${internalCount})`);
});
