import { Workspace } from '../src/store/workspace.ts';
const ws = await Workspace.open(':memory:');
console.log(await ws.query(`SELECT to_json(map(['A','B'], list_select(['x', NULL, 'z'], [3, 2]))) AS j, CAST(CAST('["a","b"]' AS JSON) AS VARCHAR[]) AS l, CAST(CAST('[1,3]' AS JSON) AS INTEGER[]) AS i, (to_json(map(['CommandLine'], ['c:\\x "q"'])))->>'CommandLine' AS c`));
