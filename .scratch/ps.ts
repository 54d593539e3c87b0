import { Workspace } from '../src/store/workspace.ts';
const ws = await Workspace.open('.bench/rules.duckdb');
console.log(await ws.query("SELECT event_id, count(*) n, sum(length(json_extract_string(raw, '$.Payload'))) p, max(length(json_extract_string(raw, '$.Payload'))) pmax, sum(length(json_extract_string(raw, '$.ContextInfo'))) c, sum(length(json_extract_string(raw, '$.ScriptBlockText'))) sb, max(length(json_extract_string(raw, '$.ScriptBlockText'))) sbmax FROM events WHERE event_id IN (4103, 4104) GROUP BY 1"));
let t = performance.now();
console.log(await ws.query("SELECT count(*) FROM (SELECT unnest(list_distinct(list_transform(range(1, length(v) - 2), i -> substr(v, i, 4)))) FROM (SELECT lower(json_extract_string(raw, '$.Payload')) v FROM events WHERE event_id = 4103))"), performance.now() - t);
t = performance.now();
console.log(await ws.query("SELECT count(*) FROM (SELECT unnest(list_transform(range(1, length(v) - 2), i -> substr(v, i, 4))) FROM (SELECT lower(json_extract_string(raw, '$.Payload')) v FROM events WHERE event_id = 4103))"), performance.now() - t);
t = performance.now();
console.log(await ws.query("SELECT count(*) FROM (SELECT unnest(range(1, length(v) - 2)) i, v FROM (SELECT lower(json_extract_string(raw, '$.Payload')) v FROM events WHERE event_id = 4103)) where substr(v, i, 4) = 'abcd'"), performance.now() - t);
