import type { Command } from 'commander';
import { checkConfig } from '../config.ts';
import { HuntbookError } from '../errors.ts';
import { escapeControl } from '../report/format.ts';
import { act } from './common.ts';
import type { CommandIO } from './io.ts';

export function registerConfig(program: Command, io: CommandIO): void {
  const config = program.command('config').description('configuration: check a file, see the values in force');
  config.command('validate')
    .description('check the configuration (config/huntbook.yml, overlaid by ./huntbook.yml or --config): every problem with its line, then the values in force')
    .option('--config <file>', 'configuration file to check')
    .addHelpText('after', `
Checks every key at every level (a misspelt key is an error, not ignored), types and ranges, and
refuses allow-list entries that would hide too much: a public suffix (com, co.uk, github.io) or a
network wider than /8 (IPv4) or /16 (IPv6). Exit 1 when anything is wrong.`)
    .action(act(io, (raw: { config?: string }) => {
      const { config: resolved, problems } = checkConfig(raw.config);
      for (const p of problems) io.stderr.write(`huntbook: ${escapeControl(`${p.file}${p.line ? `:${p.line}` : ''}: ${p.key}: ${p.message}`)}\n`);
      if (!resolved) throw new HuntbookError(`${problems.length} problem${problems.length === 1 ? '' : 's'} in the configuration; nothing was used`);
      io.stdout.write(`${JSON.stringify(resolved, null, 2)}\n`);
      io.stderr.write(`configuration OK (${resolved.source})\n`);
    }));
}
