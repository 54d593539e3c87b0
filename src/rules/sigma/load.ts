/**
 * Loading Sigma rules, unmodified, from YAML files, directories or a .tar.gz of them. Each file
 * may hold several documents (rule collections); problems are collected, never thrown, so one
 * bad rule of 3,000 stops nothing.
 */
import { createReadStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from 'tar';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_LEVEL_WEIGHTS, tacticsOf, type Problem, type Rule } from '../model.ts';

export interface SigmaFile {
  path: string;
  text: string;
}

export async function readSigmaFiles(source: string): Promise<SigmaFile[]> {
  if (/\.(tar\.gz|tgz)$/i.test(source)) {
    const files: SigmaFile[] = [];
    await new Promise<void>((resolve, reject) => {
      const parser = new Parser({
        onReadEntry: (entry) => {
          if (entry.type !== 'File' || !/\.ya?ml$/i.test(entry.path)) {
            entry.resume();
            return;
          }
          const chunks: Buffer[] = [];
          entry.on('data', (chunk: Buffer) => chunks.push(chunk));
          entry.on('end', () => files.push({ path: `${source}!${entry.path}`, text: Buffer.concat(chunks).toString('utf8') }));
        },
      });
      parser.on('end', () => resolve());
      parser.on('error', reject);
      createReadStream(source).on('error', reject).pipe(parser);
    });
    return files.sort((a, b) => a.path.localeCompare(b.path));
  }
  if (statSync(source).isDirectory()) {
    const walk = (dir: string): string[] => readdirSync(dir).sort().flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : /\.ya?ml$/i.test(name) ? [path] : [];
    });
    return walk(source).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
  }
  return [{ path: source, text: readFileSync(source, 'utf8') }];
}

type Obj = Record<string, unknown>;

/**
 * One Sigma file → rules. A collection's first document may be a template (action: global)
 * merged into the rest; `action: reset` clears it.
 */
export function parseSigmaFile(file: SigmaFile, levelWeights: Record<string, number> = DEFAULT_LEVEL_WEIGHTS): { rules: Rule[]; problems: Problem[] } {
  const rules: Rule[] = [];
  const problems: Problem[] = [];
  let documents;
  try {
    documents = parseAllDocuments(file.text);
  } catch (error) {
    return { rules, problems: [{ severity: 'error', file: file.path, message: `YAML: ${(error as Error).message}` }] };
  }
  let global: Obj = {};
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    // The line of the document's first key (a "---" separator before it is not the rule).
    const start = document.contents?.range?.[0] ?? document.range?.[0];
    const line = start !== undefined ? file.text.slice(0, start).split('\n').length : undefined;
    if (document.errors.length > 0) {
      problems.push({ severity: 'error', file: file.path, line, message: `YAML: ${document.errors[0].message.split('\n')[0]}` });
      continue;
    }
    const raw = document.toJS() as unknown;
    if (raw === null || raw === undefined) continue;
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push({ severity: 'error', file: file.path, line, message: 'a Sigma document must be a mapping' });
      continue;
    }
    const doc = raw as Obj;
    if (doc.action === 'global') {
      global = doc;
      continue;
    }
    if (doc.action === 'reset') {
      global = {};
      continue;
    }
    if ('correlation' in doc || doc.type === 'correlation') {
      problems.push({ severity: 'info', file: file.path, line, rule: String(doc.id ?? ''), message: 'skipped: correlation rules are not supported' });
      continue;
    }
    const merged = { ...global, ...doc, detection: { ...(global.detection as Obj | undefined), ...(doc.detection as Obj | undefined) }, logsource: { ...(global.logsource as Obj | undefined), ...(doc.logsource as Obj | undefined) } } as Obj;
    const id = String(merged.id ?? '');
    const title = String(merged.title ?? '');
    if (!id || !title) {
      problems.push({ severity: 'error', file: file.path, line, rule: id || undefined, message: 'a Sigma rule needs id and title' });
      continue;
    }
    if (!merged.detection || typeof merged.detection !== 'object' || !('condition' in (merged.detection as Obj))) {
      problems.push({ severity: 'error', file: file.path, line, rule: id, message: 'detection with a condition is required' });
      continue;
    }
    const tags = Array.isArray(merged.tags) ? merged.tags.map(String) : [];
    const level = String(merged.level ?? 'medium').toLowerCase();
    const logsource = merged.logsource as { product?: string; category?: string; service?: string };
    rules.push({
      id, line, name: title, description: merged.description ? String(merged.description) : undefined, origin: 'sigma', file: file.path,
      table: 'events', detection: merged.detection as Obj, logsource, weight: levelWeights[level] ?? levelWeights.medium ?? 47,
      phase: tacticsOf(tags)[0] ?? 'unknown', tags, level,
      entities: [{ type: 'host', field: 'host' }, { type: 'user', field: 'user' }],
    });
  }
  return { rules, problems };
}

export async function loadSigma(source: string, levelWeights?: Record<string, number>): Promise<{ rules: Rule[]; problems: Problem[]; files: number }> {
  const files = await readSigmaFiles(source);
  const rules: Rule[] = [];
  const problems: Problem[] = [];
  for (const file of files) {
    const result = parseSigmaFile(file, levelWeights);
    rules.push(...result.rules);
    problems.push(...result.problems);
  }
  return { rules, problems, files: files.length };
}
