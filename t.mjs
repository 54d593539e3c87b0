import {DuckDBInstance} from '@duckdb/node-api';
const i = await DuckDBInstance.create(':memory:'); const c = await i.connect();
await c.run(`create table t as select * from read_csv('/tmp/exp/j.ndjson', delim='\x01', quote='', escape='', header=false, auto_detect=false, columns={'j':'JSON'}, store_rejects=true, rejects_table='rj', rejects_scan='rs', new_line='\\n')`);
console.log((await c.runAndReadAll('select * from t')).getRowObjects());
console.log((await c.runAndReadAll('select line, column_name, error_type, error_message from rj')).getRowObjects());
