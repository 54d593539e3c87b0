import { Workspace } from '../src/store/workspace.ts';
const ws = await Workspace.open('.bench/rules.duckdb');
let t = performance.now();
const g = (v: string) => `list_concat(regexp_extract_all(${v}, '(?s).{4}'), regexp_extract_all(substr(${v}, 2), '(?s).{4}'), regexp_extract_all(substr(${v}, 3), '(?s).{4}'), regexp_extract_all(substr(${v}, 4), '(?s).{4}'))`;
console.log(await ws.query(`SELECT count(*) FROM (SELECT unnest(${g('v')}) FROM (SELECT lower(json_extract_string(raw, '$.Payload')) v FROM events WHERE event_id = 4103))`), performance.now() - t);
t = performance.now();
console.log(await ws.query(`SELECT count(*) FROM (SELECT unnest(list_distinct(${g('v')})) FROM (SELECT lower(json_extract_string(raw, '$.Payload')) v FROM events WHERE event_id = 4103))`), performance.now() - t);
t = performance.now();
console.log(await ws.query(`SELECT count(*) FROM (SELECT unnest(list_distinct(${g('v')})) FROM (SELECT lower(CAST(raw AS VARCHAR)) v FROM events))`), performance.now() - t);
