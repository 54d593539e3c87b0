/**
 * Which table a Zeek log goes to: conn → flows, http → http, ssl → tls, dns → dns, every other
 * log to zeek_<name>. The name comes from the log itself (#path, _path, @stream) or its file name.
 */
import { basename } from 'node:path';
import type { CanonicalTable } from '../store/schema.ts';

const CANONICAL_FOR_PATH: Record<string, CanonicalTable> = { conn: 'flows', http: 'http', ssl: 'tls', dns: 'dns' };

/** The logs a Zeek sensor writes (Zeek 3 to 7 and common packages), to recognise a log by its file name. */
export const ZEEK_LOGS = new Set([
  'conn',
  'dns',
  'http',
  'ssl',
  'x509',
  'files',
  'pe',
  'dhcp',
  'dpd',
  'ftp',
  'irc',
  'kerberos',
  'modbus',
  'mysql',
  'notice',
  'notice_alarm',
  'ntlm',
  'ntp',
  'ocsp',
  'radius',
  'rdp',
  'rfb',
  'sip',
  'smb_cmd',
  'smb_files',
  'smb_mapping',
  'smtp',
  'snmp',
  'socks',
  'software',
  'ssh',
  'syslog',
  'tunnel',
  'weird',
  'weird_stats',
  'known_hosts',
  'known_services',
  'known_certs',
  'known_devices',
  'loaded_scripts',
  'packet_filter',
  'reporter',
  'stats',
  'capture_loss',
  'cluster',
  'config',
  'broker',
  'print',
  'netcontrol',
  'netcontrol_drop',
  'netcontrol_shunt',
  'openflow',
  'intel',
  'signatures',
  'traceroute',
  'dce_rpc',
  'dnp3',
  'analyzer',
  'quic',
  'telemetry',
  'websocket',
  'ldap',
  'ldap_search',
  'mqtt_connect',
  'mqtt_publish',
  'mqtt_subscribe',
  'bacnet',
  'enip',
  'cip',
  's7comm',
  'conn_long',
  'unknown_protocols',
  'jsonl',
  'dhcpv6',
  'smartcard',
  'pop3',
  'imap',
]);

/**
 * A log's name from its file name: the member inside an archive (never the archive's name), the
 * first part before a dot, and within it a known Zeek log name if one is a token of it
 * (`labeled-conn.log` and `conn_2024-03-04.json` are conn logs).
 */
export function zeekLogName(fileName: string): string {
  const member = fileName.slice(fileName.lastIndexOf('!') + 1);
  const stem = basename(member).split('.')[0].toLowerCase();
  if (ZEEK_LOGS.has(stem)) return stem;
  const tokens = stem.split(/[-_\s]+/);
  for (let n = 2; n >= 1; n--) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const candidate = tokens.slice(i, i + n).join('_');
      if (ZEEK_LOGS.has(candidate)) return candidate;
    }
  }
  return stem;
}

/** A SQL-safe column name from a field name we do not control. */
export function sanitizeName(name: string): string {
  const clean = name
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .replace(/^([0-9])/, '_$1')
    .slice(0, 60);
  return clean === '' ? '_' : clean;
}

export function targetForZeekPath(path: string | undefined, fileName: string, override: string | undefined): string {
  if (override) return override;
  const name = (path ?? zeekLogName(fileName)).toLowerCase();
  return CANONICAL_FOR_PATH[name] ?? `zeek_${sanitizeName(name)}`;
}
