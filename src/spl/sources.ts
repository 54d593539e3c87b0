/**
 * The tables an SPL search reads (`index=` and `sourcetype=` name them through the configuration's
 * spl: section, config/huntbook.yml): their fields are the table's columns, `_time` its event time,
 * and the CIM names the seed uses where the table calls them otherwise (aliases).
 */
import { CANONICAL_COLUMNS, type CanonicalTable, EXTRA_COLUMN, type SqlType } from '../store/schema.ts';

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
  /** The JSON column holding each event's other fields (Zeek's and Sysmon's that no column names). */
  extra: string;
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
  if (table === 'detections') return { table, columns: DETECTION_COLUMNS, aliases: ALIASES.detections ?? {}, extra: 'details' };
  return { table, columns: CANONICAL_COLUMNS[table], aliases: ALIASES[table] ?? {}, tie: 'rec', extra: EXTRA_COLUMN[table] };
}
