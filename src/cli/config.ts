import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import type { CliIO } from './io.ts';

export function registerConfig(program: Command, io: CliIO): void {
  const config = program.command('config').description('configuration: check a file, see the values in force');
  config.command('validate')
    .description('read the configuration (config/huntbook.yml, overlaid by ./huntbook.yml or --config) and print the values in force')
    .option('--config <file>', 'configuration file to check')
    .action((raw: { config?: string }) => {
      const resolved = loadConfig(raw.config);
      io.stdout.write(`${JSON.stringify(resolved, null, 2)}\n`);
      io.stderr.write(`configuration OK (${resolved.source})\n`);
    });
}
