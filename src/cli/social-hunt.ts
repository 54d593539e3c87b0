/** `hunt social`: its own module, so that a hunt loads neither the Neo4j driver nor the picture decoders (cli/social.ts has those). */
import type { Command } from 'commander';
import { SOCIAL } from '../hunts/registry.ts';
import type { Flags } from '../model/flags.ts';
import type { CommandIO } from './io.ts';
import { huntCommand } from './hunt-command.ts';
import { act, withCommon } from './common.ts';

export function registerSocialHunt(hunt: Command, io: CommandIO): void {
  withCommon(hunt.command('social'))
    .description(
      "fake social profiles: who reached how many employees, how, and how fast, ranked by isolation forest (the seed's Hunting for Fakes)",
    )
    .option('--since <ts>', 'only interactions at or after this time')
    .option('--until <ts>', 'only interactions before this time')
    .option('--top <n>', 'rows to print (default 20)')
    .option('--seed <n>', 'random seed for the forest (default 1)')
    .addHelpText(
      'after',
      `
Per profile, from every interaction (notification e-mails and exports; the same interaction seen
in both counts once): users (distinct employees), per_user, kinds, span_days, departments and
titles of its targets (from the directory), followup (share of accepted connections followed by
a message), messages; and, when a profile export gave them, following/followers, posts, account
age, default picture. An isolation forest ranks them; each row says why. A forest finds what is
rare: when many profiles look isolated, the output says so.

Examples:
  huntbook ingest mail/ --db case.duckdb          # .eml and .mbox notices
  huntbook hunt social --top 10 --db case.duckdb
  huntbook label profile p-155651 fake --reason "stolen photo" --db case.duckdb`,
    )
    .action(act(io, async (raw: Flags) => huntCommand(io, raw, SOCIAL, 'hunt social', { config: false })));
}
