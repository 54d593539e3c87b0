import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATED_FILES, generateWithMail } from '../generate/generate.ts';
import type { CommandIO } from './io.ts';
import { act, requireInteger } from './common.ts';
import { checkOutputFolder, GENERATED_MARKER } from './output-file.ts';

export function registerGenerate(program: Command, io: CommandIO): void {
  program
    .command('generate')
    .description('write a seeded synthetic enterprise (logs + truth.json of every planted threat)')
    .option('--seed <n>', 'random seed: same seed, same bytes', '1')
    .option('--users <n>', 'number of employees (one workstation each)', '50')
    .option('--days <n>', 'days of activity, starting on a Monday', '7')
    .option('--scale <x>', 'multiplier on web browsing volume (1 ≈ 600 proxy rows per user-workday)', '1')
    .requiredOption('--out <dir>', 'output directory (files of the same names that huntbook did not write are kept unless --force)')
    .option('--force', 'replace files of the same names that huntbook did not write')
    .addHelpText(
      'after',
      `
Writes proxy.csv (http), conn.log (Zeek TSV flows), events.ndjson (Sysmon/Security), the CERT
insider files logon/device/file/email/ldap.csv, interactions.csv, mail/notices.mbox (the
network's notice e-mail of every interaction, with lookalikes), and truth.json naming every
planted beacon (steady, 10–50 % jitter, long sleep, size-varying, office hours, direct), the
benign periodic traffic, the insider's phases by day, and the fake social profiles.

Example (about 10 M proxy rows):
  huntbook generate --seed 1 --users 2000 --days 7 --out /tmp/big`,
    )
    .action(
      act(io, async (raw: Record<string, string>) => {
        const scale = Number(raw.scale);
        checkOutputFolder('--out', raw.out, GENERATED_FILES, Boolean(raw.force));
        const started = performance.now();
        const summary = await generateWithMail({
          seed: requireInteger('--seed', raw.seed, 0, 2 ** 32 - 1),
          users: requireInteger('--users', raw.users, 10, 100_000),
          days: requireInteger('--days', raw.days, 1, 366),
          out: raw.out,
          scale: Number.isFinite(scale) && scale > 0 ? scale : 1,
        });
        writeFileSync(
          join(raw.out, GENERATED_MARKER),
          'Written by huntbook generate: a later run with this --out replaces the logs here.\n',
        );
        for (const [file, rows] of Object.entries(summary.files)) io.stdout.write(`${file}: ${rows} rows\n`);
        io.stdout.write(`${summary.truth}: ground truth\n(${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
      }),
    );
}
