// Preloaded by bench/clickhouse.ts into a huntbook process: its peak resident memory, said at exit.
process.on('exit', () => process.stderr.write(`max-rss-kb ${process.resourceUsage().maxRSS}\n`));
