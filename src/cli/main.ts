/**
 * The command line. Commands only parse flags, call the library and print; the work lives in
 * ingest/, hunts/, ml/ and report/. Errors from one root are printed as one line
 * (`huntbook: file:line field: message`) with the stack only under --debug.
 */
import { Command, CommanderError } from 'commander';
import { HuntbookError } from '../errors.ts';
import { InterruptedError, interruptRequested } from '../interrupt.ts';
import { escapeControl } from '../report/format.ts';
import type { CliIO, CommandIO } from './io.ts';

type Register = (program: Command, io: CommandIO) => void;

/**
 * Each command's module, imported only when that command runs: importing every command (the
 * workbench, the mail parser, the hunts) took 1.6 s of every start, `rules run` alone needs 0.4 s.
 * In the order `huntbook --help` lists them; `test/cli.test.ts` checks the names against what
 * each module registers.
 */
export const COMMAND_MODULES: { names: string[]; load: () => Promise<Register[]> }[] = [
  { names: ['demo'], load: async () => [(await import('./demo.ts')).registerDemo] },
  { names: ['generate'], load: async () => [(await import('./generate.ts')).registerGenerate] },
  { names: ['ingest'], load: async () => [(await import('./ingest.ts')).registerIngest] },
  { names: ['sql'], load: async () => [(await import('./sql.ts')).registerSql] },
  { names: ['spl'], load: async () => [(await import('./spl.ts')).registerSpl] },
  { names: ['outliers', 'cluster'], load: async () => [(await import('./analyze.ts')).registerAnalyze] },
  { names: ['hunt'], load: async () => [(await import('./hunt.ts')).registerHunt] },
  { names: ['rules'], load: async () => [(await import('./rules.ts')).registerRules] },
  { names: ['entity'], load: async () => [(await import('./entity.ts')).registerEntity] },
  { names: ['config'], load: async () => [(await import('./config.ts')).registerConfig] },
  { names: ['clickhouse'], load: async () => [(await import('./clickhouse.ts')).registerClickHouse] },
  { names: ['label', 'images', 'graph'], load: async () => [(await import('./social.ts')).registerSocial] },
  {
    names: ['report', 'threads', 'triage', 'serve'],
    load: async () => {
      const m = await import('./workbench.ts');
      return [m.registerWorkbench, m.registerServe];
    },
  },
];

/** The program with the command `args` names, or with every command (help, a typo, an option first). */
export async function buildProgram(io: CommandIO, args: readonly string[] = []): Promise<Command> {
  const program = new Command('huntbook')
    .description('Threat-hunting workbench: ingest logs into a DuckDB workspace, hunt, and see why every row ranks where it does.')
    .version('0.1.0')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  program.addHelpText(
    'after',
    `
Start here:
  huntbook demo                       generate sample data, ingest it, run every hunt
  huntbook ingest logs/ --db case.duckdb
  huntbook hunt beacons --db case.duckdb
  huntbook rules run --db case.duckdb && huntbook hunt risk --by user --db case.duckdb
  huntbook sql "SELECT dest, count(*) n FROM http GROUP BY ALL ORDER BY n DESC LIMIT 10" --db case.duckdb
`,
  );
  // --version needs no command at all; help, a typo or an option first needs them all (to list them).
  if (args[0] === '--version' || args[0] === '-V') return program;
  const named = COMMAND_MODULES.filter((m) => m.names.includes(args[0] ?? ''));
  for (const m of named.length > 0 ? named : COMMAND_MODULES) for (const register of await m.load()) register(program, io);
  return program;
}

export async function run(args: string[], io: CliIO): Promise<number> {
  const outcome = { code: 0 };
  const program = await buildProgram({ ...io, outcome }, args);
  const debug = args.includes('--debug');
  try {
    await program.parseAsync(args, { from: 'user' });
    return outcome.code;
  } catch (caught) {
    let error = caught;
    if (error instanceof CommanderError) {
      // Help and version exit through here with code 0; usage errors were already printed.
      return error.exitCode;
    }
    // Stopped by a signal while DuckDB or a library was working: its own error ("INTERRUPT Error: …") is the stop.
    if (interruptRequested() && !(error instanceof HuntbookError)) error = new InterruptedError();
    if (error instanceof HuntbookError) {
      io.stderr.write(`huntbook: ${escapeControl(error.describe())}\n`);
      if (debug && error.stack) io.stderr.write(`${error.stack}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(
      `huntbook: unexpected error: ${escapeControl(message)}\n${debug && error instanceof Error ? `${error.stack}\n` : '(run again with --debug for the stack trace)\n'}`,
    );
    return 70;
  }
}
