import { Workspace } from '../src/store/workspace.ts';
const ws = await Workspace.open(':memory:');
console.log(await ws.scalar("SELECT current_setting('memory_limit')"));
await ws.run("SET memory_limit = '1GB'"); console.log(await ws.scalar("SELECT current_setting('memory_limit')"));
await ws.run("SET memory_limit = '18.7 GiB'"); console.log(await ws.scalar("SELECT current_setting('memory_limit')"));
