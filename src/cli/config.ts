import type { Command } from 'commander';
import { checkConfig } from '../config.ts';
import { HuntbookError } from '../errors.ts';
import { checkNotices } from '../ingest/notices.ts';
import { escapeControl } from '../report/format.ts';
import { act } from './common.ts';
import type { CommandIO } from './io.ts';

export function registerConfig(program: Command, io: CommandIO): void {
  const config = program.command('config').description('configuration: check a file, see the values in force');
  config
    .command('validate')
    .description(
      'check the configuration (config/huntbook.yml, overlaid by ./huntbook.yml or --config): every problem with its line, then the values in force',
    )
    .option('--config <file>', 'configuration file to check')
    .option('--notifications <file>', 'notification templates to check over the shipped ones (default: ./notifications.yml when present)')
    .option('--db <path>', 'accepted as every command takes it; the configuration does not live in the workspace')
    .addHelpText(
      'after',
      `
Checks every key at every level (a misspelt key is an error, not ignored), types and ranges, and
refuses allow-list entries that would hide too much: a public suffix (com, co.uk, github.io) or a
network wider than /8 (IPv4) or /16 (IPv6). The notification templates (config/notifications.yml,
overlaid by ./notifications.yml or --notifications) are checked the same way: unknown keys, bad
patterns, and a network's domains that are public suffixes (com, io, co.uk) are refused. Every
problem is listed; exit 1 when anything is wrong.`,
    )
    .action(
      act(io, (raw: { config?: string; notifications?: string }) => {
        const { config: resolved, problems } = checkConfig(raw.config);
        const notices = checkNotices(raw.notifications);
        const all = [...problems, ...notices.problems];
        for (const p of all)
          io.stderr.write(`huntbook: ${escapeControl(`${p.file}${'line' in p && p.line ? `:${p.line}` : ''}: ${p.key}: ${p.message}`)}\n`);
        if (!resolved || !notices.config)
          throw new HuntbookError(`${all.length} problem${all.length === 1 ? '' : 's'} in the configuration; nothing was used`);
        io.stdout.write(`${JSON.stringify(resolved, null, 2)}\n`);
        io.stderr.write(
          `configuration OK (${resolved.source})\nnotification templates OK (${notices.config.files.join(' + ')}): ${notices.config.networks.map((n) => `${n.name} (${n.domains.join(', ')})`).join('; ')}\n`,
        );
      }),
    );
}
