/**
 * The canonical tables that ingest writes and hunts read. Column names follow the seed, which
 * follows Splunk CIM. This is the whitelist every dynamic identifier is checked against: a log's
 * field name only ever reaches SQL as one of these names or as a quoted JSON key.
 *
 * The migrations create these tables; test/schema.test.ts checks that the two agree.
 */
export type ScalarType = 'TIMESTAMP' | 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'JSON';
/** Lists hold Zeek's vector and set fields (DNS answers and TTLs, certificate chains). */
export type ListType = 'VARCHAR[]' | 'BIGINT[]' | 'DOUBLE[]';
export type SqlType = ScalarType | ListType;

export function isListType(type: SqlType): type is ListType {
  return type.endsWith('[]');
}

export interface ColumnDef {
  readonly name: string;
  readonly type: SqlType;
}

export const CANONICAL_TABLES = ['flows', 'http', 'tls', 'dns', 'events', 'activity', 'directory', 'interactions', 'profiles'] as const;
export type CanonicalTable = (typeof CANONICAL_TABLES)[number];

const c = (name: string, type: SqlType): ColumnDef => ({ name, type });

/** Columns that ingest fills from the source; file_id and extra are added by ingest itself. */
export const CANONICAL_COLUMNS: Record<CanonicalTable, readonly ColumnDef[]> = {
  flows: [
    c('ts', 'TIMESTAMP'),
    c('uid', 'VARCHAR'),
    c('src_ip', 'VARCHAR'),
    c('src_port', 'INTEGER'),
    c('dest_ip', 'VARCHAR'),
    c('dest_port', 'INTEGER'),
    c('proto', 'VARCHAR'),
    c('service', 'VARCHAR'),
    c('duration', 'DOUBLE'),
    c('bytes_out', 'BIGINT'),
    c('bytes_in', 'BIGINT'),
    c('pkts_out', 'BIGINT'),
    c('pkts_in', 'BIGINT'),
    c('ip_bytes_out', 'BIGINT'),
    c('ip_bytes_in', 'BIGINT'),
    c('conn_state', 'VARCHAR'),
    c('user', 'VARCHAR'),
  ],
  http: [
    c('ts', 'TIMESTAMP'),
    c('uid', 'VARCHAR'),
    c('src_ip', 'VARCHAR'),
    c('src_port', 'INTEGER'),
    c('user', 'VARCHAR'),
    c('dest', 'VARCHAR'),
    c('dest_ip', 'VARCHAR'),
    c('dest_port', 'INTEGER'),
    c('method', 'VARCHAR'),
    c('url', 'VARCHAR'),
    c('status', 'INTEGER'),
    c('bytes_out', 'BIGINT'),
    c('bytes_in', 'BIGINT'),
    c('user_agent', 'VARCHAR'),
    c('referrer', 'VARCHAR'),
    c('content_type', 'VARCHAR'),
    c('category', 'VARCHAR'),
  ],
  tls: [
    c('ts', 'TIMESTAMP'),
    c('uid', 'VARCHAR'),
    c('src_ip', 'VARCHAR'),
    c('src_port', 'INTEGER'),
    c('dest_ip', 'VARCHAR'),
    c('dest_port', 'INTEGER'),
    c('server_name', 'VARCHAR'),
    c('version', 'VARCHAR'),
    c('cipher', 'VARCHAR'),
    c('ja3', 'VARCHAR'),
    c('established', 'BOOLEAN'),
    c('subject', 'VARCHAR'),
    c('issuer', 'VARCHAR'),
  ],
  // Name lookups (Zeek dns.log, DNS server or resolver exports): qtype and rcode by name (A, NXDOMAIN).
  dns: [
    c('ts', 'TIMESTAMP'),
    c('uid', 'VARCHAR'),
    c('src_ip', 'VARCHAR'),
    c('src_port', 'INTEGER'),
    c('dest_ip', 'VARCHAR'),
    c('dest_port', 'INTEGER'),
    c('proto', 'VARCHAR'),
    c('query', 'VARCHAR'),
    c('qtype', 'VARCHAR'),
    c('rcode', 'VARCHAR'),
    c('answers', 'VARCHAR[]'),
    c('ttls', 'DOUBLE[]'),
  ],
  events: [
    c('ts', 'TIMESTAMP'),
    c('host', 'VARCHAR'),
    c('user', 'VARCHAR'),
    c('event_id', 'INTEGER'),
    c('channel', 'VARCHAR'),
    c('provider', 'VARCHAR'),
    c('action', 'VARCHAR'),
    c('process', 'VARCHAR'),
    c('parent_process', 'VARCHAR'),
    c('command_line', 'VARCHAR'),
    c('file_path', 'VARCHAR'),
    c('target', 'VARCHAR'),
    c('raw', 'JSON'),
  ],
  // E-mail, file, removable-device, logon and web activity as the CERT insider-threat data has them.
  activity: [
    c('ts', 'TIMESTAMP'),
    c('kind', 'VARCHAR'),
    c('record_id', 'VARCHAR'),
    c('user', 'VARCHAR'),
    c('host', 'VARCHAR'),
    c('action', 'VARCHAR'),
    c('target', 'VARCHAR'),
    c('size', 'BIGINT'),
    c('attachments', 'VARCHAR'),
    c('details', 'JSON'),
  ],
  // Who people are (LDAP / HR exports): lets hunts weigh job role and departures.
  directory: [
    c('user', 'VARCHAR'),
    c('name', 'VARCHAR'),
    c('email', 'VARCHAR'),
    c('role', 'VARCHAR'),
    c('department', 'VARCHAR'),
    c('team', 'VARCHAR'),
    c('supervisor', 'VARCHAR'),
    c('valid_from', 'TIMESTAMP'),
    c('valid_to', 'TIMESTAMP'),
  ],
  interactions: [
    c('ts', 'TIMESTAMP'),
    c('profile_id', 'VARCHAR'),
    c('profile_name', 'VARCHAR'),
    c('profile_url', 'VARCHAR'),
    c('image_url', 'VARCHAR'),
    c('profile_title', 'VARCHAR'),
    c('user', 'VARCHAR'),
    c('user_email', 'VARCHAR'),
    c('user_title', 'VARCHAR'),
    c('kind', 'VARCHAR'),
  ],
  // Social-network profiles as notices or exports describe them (counts only when an export has them).
  profiles: [
    c('profile_id', 'VARCHAR'),
    c('network', 'VARCHAR'),
    c('name', 'VARCHAR'),
    c('headline', 'VARCHAR'),
    c('profile_url', 'VARCHAR'),
    c('image_url', 'VARCHAR'),
    c('image_hash', 'VARCHAR'),
    c('followers', 'BIGINT'),
    c('following', 'BIGINT'),
    c('posts', 'BIGINT'),
    c('listed', 'BIGINT'),
    c('likes', 'BIGINT'),
    c('created_at', 'TIMESTAMP'),
    c('default_image', 'BOOLEAN'),
    c('bio_length', 'INTEGER'),
    c('seen_at', 'TIMESTAMP'),
  ],
};

/** Tables whose unmapped source fields are kept as a JSON object in `extra` (nothing is lost). */
export const EXTRA_COLUMN: Record<CanonicalTable, string> = {
  flows: 'extra',
  http: 'extra',
  tls: 'extra',
  dns: 'extra',
  events: 'raw',
  activity: 'details',
  directory: 'extra',
  interactions: 'extra',
  profiles: 'extra',
};

export function isCanonicalTable(name: string): name is CanonicalTable {
  return (CANONICAL_TABLES as readonly string[]).includes(name);
}

/**
 * The canonical tables that hold logs: the ones that outgrow a laptop, kept in ClickHouse with
 * --logs. The people tables (interactions, profiles: a row per notice or per profile) stay in the
 * workspace, where the social hunt, labels, pictures, the graph and the report read them.
 */
export const LOG_TABLES = ['flows', 'http', 'tls', 'dns', 'events', 'activity', 'directory'] as const satisfies readonly CanonicalTable[];
export type LogTable = (typeof LOG_TABLES)[number];

export function isLogTable(name: string): name is LogTable {
  return (LOG_TABLES as readonly string[]).includes(name);
}

/** Double-quotes an identifier that has already been checked against a whitelist or pattern. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Single-quotes a string literal, for the few places DuckDB takes no parameter (table-function options). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
