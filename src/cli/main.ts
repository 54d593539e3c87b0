/**
 * The command line. Commands only parse flags, call the library and print; the work lives in
 * ingest/, hunts/, ml/ and report/. Errors from one root are printed as one line
 * (`huntbook: file:line field: message`) with the stack only under --debug.
 */
import { Command, CommanderError } from 'commander';
import { HuntbookError } from '../errors.ts';
import { escapeControl } from '../report/format.ts';
import type { CliIO, CommandIO } from './io.ts';
import { registerAnalyze } from './analyze.ts';
import { registerDemo } from './demo.ts';
import { registerHunt } from './hunt.ts';
import { registerRules } from './rules.ts';
import { registerEntity } from './entity.ts';
import { registerConfig } from './config.ts';
import { registerGenerate } from './generate.ts';
import { registerIngest } from './ingest.ts';
import { registerSql } from './sql.ts';
import { registerSocial } from './social.ts';
import { registerServe, registerWorkbench } from './workbench.ts';

export function buildProgram(io: CommandIO): Command {
  const program = new Command('huntbook')
    .description('Threat-hunting workbench: ingest logs into a DuckDB workspace, hunt, and see why every row ranks where it does.')
    .version('0.1.0')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  program.addHelpText('after', `
Start here:
  huntbook demo                       generate sample data, ingest it, run every hunt
  huntbook ingest logs/ --db case.duckdb
  huntbook hunt beacons --db case.duckdb
  huntbook rules run --db case.duckdb && huntbook hunt risk --by user --db case.duckdb
  huntbook sql "SELECT dest, count(*) n FROM http GROUP BY ALL ORDER BY n DESC LIMIT 10" --db case.duckdb
`);
  registerDemo(program, io);
  registerGenerate(program, io);
  registerIngest(program, io);
  registerSql(program, io);
  registerAnalyze(program, io);
  registerHunt(program, io);
  registerRules(program, io);
  registerEntity(program, io);
  registerConfig(program, io);
  registerSocial(program, io);
  registerWorkbench(program, io);
  registerServe(program, io);
  return program;
}

export async function run(args: string[], io: CliIO): Promise<number> {
  const outcome = { code: 0 };
  const program = buildProgram({ ...io, outcome });
  const debug = args.includes('--debug');
  try {
    await program.parseAsync(args, { from: 'user' });
    return outcome.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit through here with code 0; usage errors were already printed.
      return error.exitCode;
    }
    if (error instanceof HuntbookError) {
      io.stderr.write(`huntbook: ${escapeControl(error.describe())}\n`);
      if (debug && error.stack) io.stderr.write(`${error.stack}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`huntbook: unexpected error: ${escapeControl(message)}\n${debug && error instanceof Error ? `${error.stack}\n` : '(run again with --debug for the stack trace)\n'}`);
    return 70;
  }
}

