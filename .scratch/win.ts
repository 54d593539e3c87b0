import { Workspace } from '../src/store/workspace.ts';
const ws = await Workspace.open(':memory:');
await ws.run("CREATE TABLE t AS SELECT * FROM (VALUES ('a', TIMESTAMP '2024-01-01 00:00:00', 'x'), ('a', TIMESTAMP '2024-01-01 00:01:00', 'x'), ('a', TIMESTAMP '2024-01-01 00:02:00', 'y'), ('b', TIMESTAMP '2024-01-01 00:02:00', 'y')) v(g, ts, f)");
console.log(await ws.query("SELECT g, ts, count(DISTINCT f) OVER (PARTITION BY g ORDER BY ts RANGE BETWEEN INTERVAL (90) SECOND PRECEDING AND CURRENT ROW) AS n FROM t ORDER BY g, ts"));
