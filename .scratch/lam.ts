import { Workspace } from '../src/store/workspace.ts';
const ws = await Workspace.open(':memory:');
await ws.run("CREATE TABLE t AS SELECT 'c:\\windows\\rundll32.exe' AS x UNION ALL SELECT 'abc'");
console.log(await ws.query(`SELECT x, list_bool_or(list_transform(['rundll', 'zzz'], n -> contains(x, n))) AS a, x IN ('abc', 'q') AS b, len(list_filter(['.exe'], n -> ends_with(x, n))) > 0 AS c FROM t`));
