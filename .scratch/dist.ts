import { Workspace } from '../src/store/workspace.ts';
const ws = await Workspace.open('.bench/rules.duckdb');
console.log(await ws.query("SELECT lower(channel) c, event_id, count(*) n FROM events GROUP BY ALL ORDER BY n DESC LIMIT 15"));
console.log(await ws.query("SELECT count(*) n, avg(length(json_extract_string(raw, '$.CommandLine'))) cl, avg(length(CAST(raw AS VARCHAR))) raw FROM events WHERE event_id IN (1,4688)"));
console.log(await ws.query("SELECT count(*) n, avg(length(CAST(raw AS VARCHAR))) raw FROM events"));
