/**
 * Where an SPL search's events are: `index=` and `sourcetype=` name canonical tables through this
 * mapping (the common Zeek, Splunk Stream, proxy, Sysmon/Windows and CERT sourcetypes; the seed's
 * placeholders `someindex`/`somesourcetype`, typo included, as its proxy search reads them). Field
 * names are the table's columns, `_time` its event time, and the CIM names the seed uses where the
 * table calls them otherwise (aliases).
 */
import { CANONICAL_COLUMNS, type CanonicalTable, type SqlType } from '../store/schema.ts';

/** A table an SPL search may read: the canonical log tables and the detections. */
export type SplTable = CanonicalTable | 'detections';

export interface SplSource {
  table: SplTable;
  /** Columns and their types. */
  columns: readonly { name: string; type: SqlType }[];
  /** CIM field name → the column that holds it. */
  aliases: Readonly<Record<string, string>>;
  /** A column that orders equal times (the load's record key), if the table has one. */
  tie?: string;
}

const DETECTION_COLUMNS: SplSource['columns'] = [
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'rule_id', type: 'VARCHAR' },
  { name: 'rule', type: 'VARCHAR' },
  { name: 'phase', type: 'VARCHAR' },
  { name: 'weight', type: 'DOUBLE' },
  { name: 'entity_type', type: 'VARCHAR' },
  { name: 'entity', type: 'VARCHAR' },
  { name: 'source_table', type: 'VARCHAR' },
  { name: 'event_ref', type: 'VARCHAR' },
];

/** The CIM names the seed's searches use, per table. */
const ALIASES: Partial<Record<SplTable, Record<string, string>>> = {
  detections: { phase_id: 'phase', source_id: 'rule_id', user: 'entity', weight: 'weight' },
  flows: { src: 'src_ip', dest: 'dest_ip', transport: 'proto' },
  http: { src: 'src_ip', http_method: 'method', http_user_agent: 'user_agent', http_referrer: 'referrer' },
};

export function sourceOf(table: SplTable): SplSource {
  if (table === 'detections') return { table, columns: DETECTION_COLUMNS, aliases: ALIASES.detections ?? {} };
  return { table, columns: CANONICAL_COLUMNS[table], aliases: ALIASES[table] ?? {}, tie: 'rec' };
}

/** sourcetype (lower case) → table. */
export const SOURCETYPES: Readonly<Record<string, SplTable>> = {
  // Splunk Stream
  'stream:tcp': 'flows',
  'stream:udp': 'flows',
  'stream:ip': 'flows',
  'stream:http': 'http',
  'stream:dns': 'dns',
  'stream:tls': 'tls',
  // Zeek (Splunk's TA names, JSON and TSV)
  'bro:conn:json': 'flows',
  bro_conn: 'flows',
  'zeek:conn': 'flows',
  'zeek:conn:json': 'flows',
  'bro:http:json': 'http',
  bro_http: 'http',
  'zeek:http': 'http',
  'zeek:http:json': 'http',
  'bro:dns:json': 'dns',
  bro_dns: 'dns',
  'zeek:dns': 'dns',
  'zeek:dns:json': 'dns',
  'bro:ssl:json': 'tls',
  bro_ssl: 'tls',
  'zeek:ssl': 'tls',
  'zeek:ssl:json': 'tls',
  // web proxies
  'bluecoat:proxysg:access:syslog': 'http',
  'bluecoat:proxysg:access:file': 'http',
  'squid:access': 'http',
  'cisco:wsa:squid': 'http',
  'zscalernss-web': 'http',
  proxy: 'http',
  access_combined: 'http',
  // Windows and Sysmon
  'xmlwineventlog:microsoft-windows-sysmon/operational': 'events',
  xmlwineventlog: 'events',
  wineventlog: 'events',
  'wineventlog:security': 'events',
  // CERT insider data (as activity)
  'cert:logon': 'activity',
  'cert:device': 'activity',
  'cert:file': 'activity',
  'cert:email': 'activity',
  'cert:http': 'http',
  // the seed's placeholders in its scored beacon search (over proxy logs), the typo as written
  somesourcetype: 'http',
  somesourcetye: 'http',
};

/** index (lower case) → table, for indexes that hold one kind of event; others: the sourcetype decides. */
export const INDEXES: Readonly<Record<string, SplTable>> = {
  a_summary_index: 'detections',
  proxy: 'http',
  web: 'http',
  dns: 'dns',
  wineventlog: 'events',
  sysmon: 'events',
};
