import { Workspace } from '../src/store/workspace.ts';
const ws = await Workspace.open('.bench/rules.duckdb');
for (const q of ["SELECT count(*) FROM events WHERE rowid >= 60000 AND rowid < 70000", "SELECT count(*), sum(length(raw::VARCHAR)) FROM events WHERE rowid >= 60000 AND rowid < 70000", "SELECT count(*), sum(length(raw::VARCHAR)) FROM events", "SELECT max(rowid) FROM events",
 "SELECT count(*), sum(length(json_extract_string(raw, ['$.Image','$.CommandLine','$.TargetObject'])[1])) FROM events", "SELECT count(*) FROM events, LATERAL (SELECT parse_filename('c:\\x\\Y.exe') f)"]) {
  const t = performance.now(); const r = await ws.query(q); console.log(q.slice(0, 60), JSON.stringify(r), (performance.now() - t).toFixed(1));
}
console.log(await ws.query("SELECT parse_filename('c:\\x\\y.exe') a, parse_filename('/a/b.sh') b, parse_filename('noslash') c, parse_filename('c:\\x\\') d"));
