/**
 * The interaction graph for Neo4j, as the seed keeps it: (:Employee {id, title, department}),
 * (:Profile {id, name, headline, label}) with :Fake / :Suspicious / :Watched on labelled ones,
 * [:INTERACTED] (requests, accepts, views) and [:KNOWS] (messages) with kinds, count, first, last.
 * Every statement is a MERGE over `UNWIND $rows AS row`: values only ever travel as data (the
 * driver's parameters for sync; escaped literals standing in for $rows in an exported file), never
 * as Cypher text. Running either again changes nothing.
 */
import neo4j from 'neo4j-driver';
import { UsageError, WorkspaceError } from '../../errors.ts';
import type { Row, Workspace } from '../../store/workspace.ts';
import { graphData } from './graph.ts';

const BATCH = 500;

export const CONSTRAINTS = [
  'CREATE CONSTRAINT huntbook_employee_id IF NOT EXISTS FOR (e:Employee) REQUIRE e.id IS UNIQUE',
  'CREATE CONSTRAINT huntbook_profile_id IF NOT EXISTS FOR (p:Profile) REQUIRE p.id IS UNIQUE',
];

const STATEMENTS = {
  employees: 'UNWIND $rows AS row MERGE (e:Employee {id: row.id}) SET e.title = row.title, e.department = row.department',
  profiles: `UNWIND $rows AS row MERGE (p:Profile {id: row.id}) SET p.name = row.name, p.headline = row.headline, p.label = row.label
  FOREACH (_ IN CASE WHEN row.label CONTAINS 'fake' THEN [1] ELSE [] END | SET p:Fake)
  FOREACH (_ IN CASE WHEN row.label CONTAINS 'suspicious' THEN [1] ELSE [] END | SET p:Suspicious)
  FOREACH (_ IN CASE WHEN row.label CONTAINS 'watched' THEN [1] ELSE [] END | SET p:Watched)`,
  interacted: `UNWIND $rows AS row MATCH (e:Employee {id: row.employee}), (p:Profile {id: row.profile})
  MERGE (e)-[r:INTERACTED]->(p) SET r.kinds = row.kinds, r.count = row.count, r.first = row.first, r.last = row.last`,
  knows: `UNWIND $rows AS row MATCH (e:Employee {id: row.employee}), (p:Profile {id: row.profile})
  MERGE (e)-[r:KNOWS]->(p) SET r.count = row.count, r.first = row.first, r.last = row.last`,
} as const;

type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

export interface Batch {
  statement: string;
  rows: Record<string, Value>[];
}

/** The statements and their rows, in the order they must run (nodes before edges). */
export async function graphBatches(ws: Workspace): Promise<Batch[]> {
  const { employees, profiles, edges } = await graphData(ws);
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const batches: Batch[] = [];
  const add = (statement: string, rows: Record<string, Value>[]) => {
    for (let i = 0; i < rows.length; i += BATCH) batches.push({ statement, rows: rows.slice(i, i + BATCH) });
  };
  add(
    STATEMENTS.employees,
    employees.map((e: Row) => ({ id: String(e.employee), title: str(e.title), department: str(e.department) })),
  );
  add(
    STATEMENTS.profiles,
    profiles.map((p: Row) => ({ id: String(p.profile_id), name: str(p.name), headline: str(p.headline), label: str(p.label) ?? '' })),
  );
  const edge = (e: Row) => ({
    employee: String(e.employee),
    profile: String(e.profile_id),
    kinds: (e.kinds as string[]) ?? [],
    count: Number(e.count),
    first: str(e.first),
    last: str(e.last),
  });
  add(STATEMENTS.interacted, edges.filter((e) => e.edge === 'INTERACTED').map(edge));
  // Messages are all KNOWS has: no kinds on that edge.
  add(
    STATEMENTS.knows,
    edges
      .filter((e) => e.edge === 'KNOWS')
      .map((e) => ({
        employee: String(e.employee),
        profile: String(e.profile_id),
        count: Number(e.count),
        first: str(e.first),
        last: str(e.last),
      })),
  );
  return batches;
}

/**
 * A Cypher string literal for any text: quotes, backslashes, newlines and every character outside
 * printable ASCII written as escapes (\\uXXXX, surrogate pairs as two), so the file is plain ASCII.
 */
export function cypherString(text: string): string {
  let out = "'";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  }
  return `${out}'`;
}

/** A value as a Cypher literal (maps with backquoted keys, lists, numbers, booleans, null). */
export function cypherLiteral(value: Value): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return cypherString(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new UsageError(`cannot write ${value} to Cypher`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(cypherLiteral).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `\`${k.replaceAll('`', '``')}\`: ${cypherLiteral(v)}`)
    .join(', ')}}`;
}

/** The graph as a .cypher file (cypher-shell -f FILE): each batch's $rows written as a literal. */
export async function exportCypher(ws: Workspace): Promise<{ text: string; statements: number; rows: number }> {
  const batches = await graphBatches(ws);
  const lines = [
    '// huntbook graph export: employees, profiles, INTERACTED and KNOWS edges. MERGE: running it again changes nothing.',
    ...CONSTRAINTS.map((c) => `${c};`),
  ];
  for (const b of batches) lines.push(`${b.statement.replace('UNWIND $rows AS row', `UNWIND ${cypherLiteral(b.rows)} AS row`)};`);
  return {
    text: `${lines.join('\n')}\n`,
    statements: CONSTRAINTS.length + batches.length,
    rows: batches.reduce((n, b) => n + b.rows.length, 0),
  };
}

/**
 * A Neo4j address with any user name and password taken out: what may be printed, and the
 * credentials apart (a password in a URL is used, never shown).
 */
export function neo4jAddress(url: string): { address: string; shown: string; user?: string; password?: string } {
  if (!/^(bolt|neo4j)(\+s|\+ssc)?:\/\//.test(url))
    throw new UsageError(`--neo4j takes a bolt:// or neo4j:// address, got "${url.replace(/\/\/[^@/]*@/, '//***@')}"`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('--neo4j: not an address (user names and passwords belong in --user and $NEO4J_PASSWORD)');
  }
  const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  const address = `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}${parsed.search}`;
  return { address, shown: address, user, password };
}

/** Rejects after `ms` with a message naming what did not answer (the driver's own waits can be minutes). */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WorkspaceError(`${what}: no answer within ${Math.round(ms / 1000)} s; stopped`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Pushes the graph into a running Neo4j with the official driver, batch by batch, each a transaction. */
export async function syncNeo4j(
  ws: Workspace,
  url: string,
  auth: { user?: string; password?: string },
  onBatch?: (done: number, total: number) => void,
  timeoutMs = 30_000,
): Promise<{ batches: number; rows: number }> {
  const target = neo4jAddress(url);
  const user = target.user ?? auth.user;
  const password = target.password ?? auth.password;
  const batches = await graphBatches(ws);
  const driver = neo4j.driver(target.address, user ? neo4j.auth.basic(user, password ?? '') : undefined, {
    connectionTimeout: Math.min(10_000, timeoutMs),
    connectionAcquisitionTimeout: timeoutMs,
    maxTransactionRetryTime: Math.min(10_000, timeoutMs),
  });
  // Error texts from the driver may quote the address it was given: never the credentials.
  const clean = (error: unknown) =>
    String((error as Error)?.message ?? error)
      .split('\n')[0]
      .replaceAll(url, target.shown)
      .replace(/\/\/[^@/\s]*@/g, '//***@');
  try {
    try {
      await within(driver.verifyConnectivity(), timeoutMs, `Neo4j at ${target.shown}`);
    } catch (error) {
      throw new WorkspaceError(`cannot reach Neo4j at ${target.shown}: ${clean(error)}`);
    }
    try {
      for (const c of CONSTRAINTS) await within(driver.executeQuery(c), timeoutMs, `Neo4j at ${target.shown}`);
      let done = 0;
      for (const b of batches) {
        await within(driver.executeQuery(b.statement, { rows: b.rows }), timeoutMs, `Neo4j at ${target.shown}`);
        onBatch?.(++done, batches.length);
      }
    } catch (error) {
      throw new WorkspaceError(`Neo4j at ${target.shown}: ${clean(error)}`);
    }
    return { batches: batches.length, rows: batches.reduce((n, b) => n + b.rows.length, 0) };
  } finally {
    // A server that never answers can hold close() too: give it a moment, then go.
    await within(driver.close(), 2000, 'closing the Neo4j driver').catch(() => undefined);
  }
}
