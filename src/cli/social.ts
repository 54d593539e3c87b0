import { Argument, Option, type Command } from 'commander';
import { UsageError } from '../errors.ts';
import { exposure, labelledSubgraph, neighbourhood } from '../hunts/social/graph.ts';
import { addLabel, LABELS, listLabels, removeLabel } from '../hunts/social/labels.ts';
import { exportCypher, neo4jAddress, syncNeo4j } from '../hunts/social/neo4j.ts';
import { checkPictures, indexPictures } from '../hunts/social/pictures.ts';
import { SAME_PICTURE_BITS } from '../ml/phash.ts';
import type { Label } from '../hunts/social/labels.ts';
import type { CommandIO } from './io.ts';
import { checkOutputFile, writeOutputFile } from './output-file.ts';
import { act, commonOptions, printRows, requireInteger, requireNumber, withCommon, withWorkspace } from './common.ts';

export function registerSocial(program: Command, io: CommandIO): void {
  const label = program
    .command('label')
    .description('label social profiles (fake, suspicious, watched): every past and future interaction is marked');
  withCommon(label.command('profile'), { rows: false })
    .description('label a profile; its interactions, earlier and later, are marked (view interaction_marks)')
    .argument('<id>', 'profile id (the slug in its address)')
    .addArgument(new Argument('<label>', 'what it is').choices([...LABELS]))
    .option('--reason <text>', 'why (kept with the label)')
    .option('--who <name>', 'who decided (default: $USER)')
    .action(
      act(io, async (id: string, kind: string, raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const result = await withWorkspace(options.db, (ws) => addLabel(ws, id, kind, { reason: raw.reason, who: raw.who }));
        io.stdout.write(
          `label ${result.labelId}: profile ${id.toLowerCase()} is ${kind}; ${result.marked} interaction(s) marked, and every one ingested later\n`,
        );
      }),
    );
  withCommon(label.command('remove'), { rows: false })
    .description("remove a profile's labels (and so their marks); the label stays on record as removed")
    .argument('<id>', 'profile id')
    .addOption(new Option('--label <label>', 'only this label').choices([...LABELS]))
    .option('--who <name>', 'who removed it (default: $USER)')
    .action(
      act(io, async (id: string, raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const result = await withWorkspace(options.db, (ws) => removeLabel(ws, id, { label: raw.label, who: raw.who }));
        io.stdout.write(`removed ${result.labels} label(s) from profile ${id.toLowerCase()}; ${result.marks} mark(s) went with them\n`);
      }),
    );
  withCommon(label.command('list'))
    .description('labels in force (or all, removed ones too)')
    .option('--all', 'also removed labels')
    .action(
      act(io, async (raw: Record<string, string | boolean>) => {
        const options = commonOptions(raw);
        const { columns, rows } = await withWorkspace(options.db, (ws) => listLabels(ws, Boolean(raw.all)), true);
        printRows(io, options.format, columns, rows);
      }),
    );

  const images = program
    .command('images')
    .description('profile pictures: an offline reference index by perceptual hash, and checks of every profile picture');
  withCommon(images.command('index'), { rows: false })
    .description(
      'hash the reference pictures of a folder (stock photos, known stolen pictures, earlier fakes): the offline reverse image search',
    )
    .argument('<dir>', 'folder of .jpg / .png pictures (recursive)')
    .option('--note <text>', 'what these pictures are (kept with each)')
    .action(
      act(io, async (dir: string, raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const report = await withWorkspace(options.db, (ws) => indexPictures(ws, dir, raw.note));
        io.stdout.write(`${report.added} reference picture(s) indexed from ${dir}\n`);
        for (const p of report.problems) io.stderr.write(`huntbook: ${p.file}: not indexed: ${p.reason}\n`);
      }),
    );
  withCommon(images.command('check'), { rows: false })
    .description("hash every profile's picture, find its nearest reference, run a detector: features for hunt social, labels if asked")
    .option('--pictures <dir>', 'where the pictures are, named as in their URL or by profile id (and where --fetch puts them)', 'pictures')
    .option(
      '--fetch',
      'download pictures that are not in the folder (http/https to public addresses only, checked after DNS and every redirect; 10 s timeout, 5 MB cap); off by default: nothing leaves the machine',
    )
    .option('--allow-private', "with --fetch, also fetch from private and local addresses (a lab's own picture server)")
    .option(
      '--detector <command>',
      'a detector to run on each picture (words split on spaces; the picture path is added last; no shell); its first printed number is the score',
    )
    .option('--detector-threshold <x>', 'a score at or above this flags the picture')
    .option('--threshold <bits>', `the same photo at this many differing bits of 64 or fewer (default ${SAME_PICTURE_BITS})`)
    .addOption(new Option('--label <label>', 'label profiles whose picture matches a reference or is flagged').choices([...LABELS]))
    .addHelpText(
      'after',
      `
The hash is the 64-bit DCT perceptual hash (pHash): a picture resized, re-encoded or cropped by a
few per cent stays within ${SAME_PICTURE_BITS} bits of the original; unrelated photos differ in about 32.

Examples:
  huntbook images index stock-photos/ --note "stock photo sites"
  huntbook images check --pictures pics/ --label suspicious
  huntbook images check --detector "python3 gan_detector.py --json" --detector-threshold 0.8`,
    )
    .action(
      act(io, async (raw: Record<string, string | boolean>) => {
        const options = commonOptions(raw);
        const report = await withWorkspace(options.db, (ws) =>
          checkPictures(ws, {
            pictures: String(raw.pictures),
            fetch: Boolean(raw.fetch),
            allowPrivate: Boolean(raw.allowPrivate),
            label: raw.label as Label | undefined,
            detector: raw.detector ? String(raw.detector).split(/\s+/).filter(Boolean) : undefined,
            detectorThreshold:
              raw.detectorThreshold === undefined ? undefined : requireNumber('--detector-threshold', String(raw.detectorThreshold), -1e9),
            threshold: raw.threshold === undefined ? undefined : requireInteger('--threshold', String(raw.threshold), 0, 64),
          }),
        );
        io.stdout.write(
          `${report.checked} picture(s) checked, ${report.matched} match a reference, ${report.flagged} flagged by the detector, ${report.labelled} profile(s) labelled; ${report.missing} without a picture (see picture_checks.problem)\n`,
        );
      }),
    );

  const graph = program
    .command('graph')
    .description('the interaction graph: employees and profiles, INTERACTED and KNOWS (message) edges; queries and Neo4j export');
  withCommon(graph.command('neighbourhood'))
    .description(
      "a profile's neighbourhood: the employees it reached and the other profiles they deal with (the seed's match (r)-[KNOWS]-(p {name: ...}))",
    )
    .argument('<profile>', 'profile id or name')
    .option('--messages', "KNOWS edges only (messages), as the seed's query")
    .action(
      act(io, async (profile: string, raw: Record<string, string | boolean>) => {
        const options = commonOptions(raw);
        const { columns, rows } = await withWorkspace(
          options.db,
          (ws) => neighbourhood(ws, profile, { messagesOnly: Boolean(raw.messages) }),
          true,
        );
        if (rows.length === 0) throw new UsageError(`no interactions with a profile "${profile}"`);
        printRows(io, options.format, columns, rows);
      }),
    );
  withCommon(graph.command('labelled'))
    .description('every edge with a labelled profile over the last N days of the data')
    .option('--days <n>', 'window', '7')
    .action(
      act(io, async (raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const { columns, rows } = await withWorkspace(
          options.db,
          (ws) => labelledSubgraph(ws, requireInteger('--days', raw.days, 1, 3650)),
          true,
        );
        printRows(io, options.format, columns, rows);
      }),
    );
  withCommon(graph.command('exposure'))
    .description('employees who dealt with labelled profiles, with their detections within N days of that contact')
    .option('--days <n>', 'days either side of the last contact', '30')
    .action(
      act(io, async (raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const { columns, rows } = await withWorkspace(options.db, (ws) => exposure(ws, requireInteger('--days', raw.days, 1, 3650)), true);
        printRows(io, options.format, columns, rows);
      }),
    );
  withCommon(graph.command('export'), { rows: false })
    .description(
      'write the graph as Cypher MERGE statements for cypher-shell -f (values as escaped literals; running it twice changes nothing)',
    )
    .requiredOption('--cypher <file>', 'output file (never the workspace; an existing file only if huntbook wrote it, or with --force)')
    .option('--force', 'replace an existing file that huntbook did not write')
    .action(
      act(io, async (raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const target = checkOutputFile('--cypher', raw.cypher, options.db, Boolean(raw.force));
        const out = await withWorkspace(options.db, (ws) => exportCypher(ws), true);
        writeOutputFile(target, out.text);
        io.stdout.write(`${raw.cypher}: ${out.statements} statements, ${out.rows} nodes and edges\n`);
      }),
    );
  withCommon(graph.command('sync'), { rows: false })
    .description('push the graph into a running Neo4j (official neo4j-driver; parameterised MERGE, batches of 500)')
    .requiredOption('--neo4j <url>', 'bolt://host:7687 or neo4j://...')
    .option('--user <name>', 'Neo4j user', 'neo4j')
    .option('--password-env <var>', 'environment variable holding the password', 'NEO4J_PASSWORD')
    .option('--timeout <s>', 'seconds to wait for each answer of the server before stopping', '30')
    .action(
      act(io, async (raw: Record<string, string>) => {
        const options = commonOptions(raw);
        const result = await withWorkspace(
          options.db,
          (ws) =>
            syncNeo4j(
              ws,
              raw.neo4j,
              { user: raw.user, password: process.env[raw.passwordEnv] },
              undefined,
              requireInteger('--timeout', raw.timeout, 1, 3600) * 1000,
            ),
          true,
        );
        io.stdout.write(`synced ${result.rows} nodes and edges in ${result.batches} batches to ${neo4jAddress(raw.neo4j).shown}\n`);
      }),
    );
}
