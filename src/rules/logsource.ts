/**
 * Sigma logsource → canonical table, base predicate and field names. Windows events are the
 * `events` table; their flattened `raw` JSON carries Sysmon/Security field names as keys. The
 * same names come from OTRF / winlogbeat NDJSON and from evtx dumps (see ingest/jsonlog.ts).
 */
import type { SqlValue } from '../store/sql.ts';
import type { CanonicalTable } from '../store/schema.ts';
import { UnsupportedError } from './sigma/compile.ts';

const SYSMON = 'microsoft-windows-sysmon/operational';

/** Sysmon event ids per Sigma category; process_creation also reads Security 4688. */
const SYSMON_CATEGORIES: Record<string, number[]> = {
  process_creation: [1],
  file_change: [2],
  network_connection: [3],
  sysmon_status: [4, 16],
  process_termination: [5],
  driver_load: [6],
  image_load: [7],
  create_remote_thread: [8],
  raw_access_thread: [9],
  process_access: [10],
  file_event: [11],
  registry_event: [12, 13, 14],
  registry_add: [12],
  registry_delete: [12],
  registry_set: [13],
  registry_rename: [14],
  create_stream_hash: [15],
  pipe_created: [17, 18],
  wmi_event: [19, 20, 21],
  dns_query: [22],
  file_delete: [23, 26],
  clipboard_capture: [24],
  process_tampering: [25],
  file_delete_detected: [26],
  file_block_executable: [27],
  file_block_shredding: [28],
  file_executable_detected: [29],
  sysmon_error: [255],
};

const POWERSHELL_CATEGORIES: Record<string, [string, number]> = {
  ps_module: ['microsoft-windows-powershell/operational', 4103],
  ps_script: ['microsoft-windows-powershell/operational', 4104],
  ps_classic_start: ['windows powershell', 400],
  ps_classic_provider_start: ['windows powershell', 600],
  ps_classic_script: ['windows powershell', 800],
};

/** Sigma service → event log channel (lower case; compared case-insensitively). */
const SERVICES: Record<string, string[]> = {
  security: ['security'],
  system: ['system'],
  application: ['application'],
  sysmon: [SYSMON],
  powershell: ['microsoft-windows-powershell/operational'],
  'powershell-classic': ['windows powershell'],
  taskscheduler: ['microsoft-windows-taskscheduler/operational'],
  wmi: ['microsoft-windows-wmi-activity/operational'],
  windefend: ['microsoft-windows-windows defender/operational'],
  'dns-server': ['dns server'],
  'dns-server-analytic': ['microsoft-windows-dns-server/analytical'],
  'driver-framework': ['microsoft-windows-driverframeworks-usermode/operational'],
  'bits-client': ['microsoft-windows-bits-client/operational'],
  'codeintegrity-operational': ['microsoft-windows-codeintegrity/operational'],
  'firewall-as': ['microsoft-windows-windows firewall with advanced security/firewall'],
  applocker: [
    'microsoft-windows-applocker/exe and dll',
    'microsoft-windows-applocker/msi and script',
    'microsoft-windows-applocker/packaged app-deployment',
    'microsoft-windows-applocker/packaged app-execution',
  ],
  'appxdeployment-server': ['microsoft-windows-appxdeploymentserver/operational'],
  'appxpackaging-om': ['microsoft-windows-appxpackaging/operational'],
  ntlm: ['microsoft-windows-ntlm/operational'],
  'terminalservices-localsessionmanager': ['microsoft-windows-terminalservices-localsessionmanager/operational'],
  'printservice-admin': ['microsoft-windows-printservice/admin'],
  'printservice-operational': ['microsoft-windows-printservice/operational'],
  'smbclient-security': ['microsoft-windows-smbclient/security'],
  'smbclient-connectivity': ['microsoft-windows-smbclient/connectivity'],
  openssh: ['openssh/operational'],
  'diagnosis-scripted': ['microsoft-windows-diagnosis-scripted/operational'],
  capi2: ['microsoft-windows-capi2/operational'],
  'certificateservicesclient-lifecycle-system': ['microsoft-windows-certificateservicesclient-lifecycle-system/operational'],
  ldap_debug: ['microsoft-windows-ldap-client/debug'],
  'shell-core': ['microsoft-windows-shell-core/operational'],
  vhdmp: ['microsoft-windows-vhdmp-operational'],
  'lsa-server': ['microsoft-windows-lsa/operational'],
  dhcp: ['microsoft-windows-dhcp-server/operational'],
  'msexchange-management': ['msexchange management'],
  'appmodel-runtime': ['microsoft-windows-appmodel-runtime/admin'],
  'kernel-shimengine': ['microsoft-windows-kernel-shimengine/operational'],
  'iis-configuration': ['microsoft-iis-configuration/operational'],
  'hyper-v-worker': ['microsoft-windows-hyper-v-worker'],
  'microsoft-servicebus-client': ['microsoft-servicebus-client'],
  'sysmon-status': [SYSMON],
  'kernel-event-tracing': ['microsoft-windows-kernel-eventtracing/admin'],
  ntfs: ['microsoft-windows-ntfs/operational'],
  bitlocker: ['microsoft-windows-bitlocker/bitlocker management'],
};

/** Field names that Security 4688 writes differently from Sysmon 1. */
const PROCESS_CREATION_ALIASES: Record<string, string[]> = {
  Image: ['Image', 'NewProcessName'],
  ParentImage: ['ParentImage', 'ParentProcessName'],
  ProcessId: ['ProcessId', 'NewProcessId'],
  User: ['User', 'SubjectUserName'],
};

/** Proxy and web-server field names (Sigma's W3C-style) → http columns. */
const PROXY_FIELDS: Record<string, string> = {
  'c-uri': 'url',
  'c-uri-stem': 'url',
  'c-useragent': 'user_agent',
  'cs-method': 'method',
  'cs-host': 'dest',
  'r-dns': 'dest',
  'cs-referrer': 'referrer',
  'sc-status': 'status',
  'c-ip': 'src_ip',
  src_ip: 'src_ip',
  dst_ip: 'dest_ip',
  'cs-bytes': 'bytes_out',
  'sc-bytes': 'bytes_in',
  'cs-uri-query': 'url',
  'cs-uri-stem': 'url',
  'cs-user-agent': 'user_agent',
};

/** Zeek's own field names (and Sigma's W3C names for web logs) → the canonical tables' columns. */
const ZEEK_CONN_FIELDS: Record<string, string> = {
  'id.orig_h': 'src_ip',
  'id.orig_p': 'src_port',
  'id.resp_h': 'dest_ip',
  'id.resp_p': 'dest_port',
  uid: 'uid',
  ts: 'ts',
};
const ZEEK_HTTP_FIELDS: Record<string, string> = {
  ...ZEEK_CONN_FIELDS,
  host: 'dest',
  uri: 'url',
  method: 'method',
  user_agent: 'user_agent',
  status_code: 'status',
  referrer: 'referrer',
  request_body_len: 'bytes_out',
  response_body_len: 'bytes_in',
  ...PROXY_FIELDS,
};
const ZEEK_DNS_FIELDS: Record<string, string> = {
  ...ZEEK_CONN_FIELDS,
  query: 'query',
  qtype_name: 'qtype',
  rcode_name: 'rcode',
  answers: 'answers',
  proto: 'proto',
  // Sigma's generic dns category
  answer: 'answers',
  record_type: 'qtype',
  src_ip: 'src_ip',
  dst_ip: 'dest_ip',
};
const FIREWALL_FIELDS: Record<string, string> = {
  src_ip: 'src_ip',
  dst_ip: 'dest_ip',
  src_port: 'src_port',
  dst_port: 'dest_port',
  ...ZEEK_CONN_FIELDS,
};

/** A field of a canonical column, else a key of the table's extra JSON as the log wrote it. */
function columnOrExtra(map: Record<string, string>): (name: string) => { column?: string; jsonKeys?: string[] } {
  return (name) => {
    const column = map[name] ?? map[name.toLowerCase()];
    if (column) return { column };
    if (!FIELD_NAME.test(name)) throw new UnsupportedError('field name with unusual characters', name);
    // Zeek JSON written by shippers uses _ where Zeek writes . (id_orig_h).
    return { jsonKeys: [...new Set([name, name.replaceAll('.', '_')])] };
  };
}

export interface MappedSource {
  table: CanonicalTable;
  /** Base predicate over the table (the event types this logsource means). */
  where: (bind: (v: SqlValue) => string) => string;
  /** Where a Sigma field name is read from: JSON keys of raw, or canonical columns. */
  fieldKeys: (name: string) => { column?: string; jsonKeys?: string[] };
  /** A key identifying the (table, predicate) group, so rules sharing it are run in one scan. */
  group: string;
}

const FIELD_NAME = /^[A-Za-z0-9_.\-@ :]+$/;

/**
 * Some channels (Windows Defender, for one) write field names with spaces ("Threat Name") where
 * Sigma rules write them joined (ThreatName): both are tried.
 */
function jsonField(name: string, aliases?: Record<string, string[]>): { jsonKeys?: string[]; column?: string } {
  if (!FIELD_NAME.test(name)) throw new UnsupportedError('field name with unusual characters', name);
  // The event id is a column of its own: reading it there spares parsing the JSON for it.
  if (name === 'EventID') return { column: 'event_id' };
  const keys = aliases?.[name] ?? [name];
  const spaced = keys.map((k) => k.replace(/([a-z])([A-Z])/g, '$1 $2')).filter((k) => !keys.includes(k));
  return { jsonKeys: [...keys, ...spaced] };
}

export function mapLogsource(logsource: { product?: string; category?: string; service?: string } | undefined): MappedSource {
  const product = logsource?.product?.toLowerCase();
  const category = logsource?.category?.toLowerCase();
  const service = logsource?.service?.toLowerCase();
  if (product === 'windows') {
    if (category && service) throw new UnsupportedError('logsource with both category and service', `${category}/${service}`);
    if (category === 'process_creation') {
      return {
        table: 'events',
        group: 'windows/process_creation',
        where: () => `((lower(channel) = '${SYSMON}' AND event_id = 1) OR (lower(channel) = 'security' AND event_id = 4688))`,
        fieldKeys: (name) => jsonField(name, PROCESS_CREATION_ALIASES),
      };
    }
    if (category && SYSMON_CATEGORIES[category]) {
      const ids = SYSMON_CATEGORIES[category];
      return {
        table: 'events',
        group: `windows/${category}`,
        where: () => `(lower(channel) = '${SYSMON}' AND event_id IN (${ids.join(', ')}))`,
        fieldKeys: (name) => jsonField(name),
      };
    }
    if (category && POWERSHELL_CATEGORIES[category]) {
      const [channel, id] = POWERSHELL_CATEGORIES[category];
      return {
        table: 'events',
        group: `windows/${category}`,
        where: () => `(lower(channel) = '${channel}' AND event_id = ${id})`,
        fieldKeys: (name) => jsonField(name),
      };
    }
    if (category) throw new UnsupportedError('logsource not mapped', `windows category ${category}`);
    if (service) {
      const channels = SERVICES[service];
      if (!channels) throw new UnsupportedError('logsource not mapped', `windows service ${service}`);
      return {
        table: 'events',
        group: `windows/service/${service}`,
        where: () => `lower(channel) IN (${channels.map((c) => `'${c}'`).join(', ')})`,
        fieldKeys: (name) => jsonField(name),
      };
    }
    return { table: 'events', group: 'windows/*', where: () => 'true', fieldKeys: (name) => jsonField(name) };
  }
  if (product === 'zeek') {
    if (service === 'http') return { table: 'http', group: 'zeek/http', where: () => 'true', fieldKeys: columnOrExtra(ZEEK_HTTP_FIELDS) };
    if (service === 'dns') return { table: 'dns', group: 'zeek/dns', where: () => 'true', fieldKeys: columnOrExtra(ZEEK_DNS_FIELDS) };
    if (service === 'conn') return { table: 'flows', group: 'zeek/conn', where: () => 'true', fieldKeys: columnOrExtra(ZEEK_CONN_FIELDS) };
    throw new UnsupportedError(
      'logsource not mapped',
      `zeek service ${service ?? '(none)'}: its log loads into zeek_${service ?? 'LOG'}, which rules cannot read yet (http, dns and conn can)`,
    );
  }
  if (category === 'dns' && !product) return { table: 'dns', group: 'dns', where: () => 'true', fieldKeys: columnOrExtra(ZEEK_DNS_FIELDS) };
  if (category === 'firewall' && !product)
    return { table: 'flows', group: 'firewall', where: () => 'true', fieldKeys: columnOrExtra(FIREWALL_FIELDS) };
  if (category === 'proxy' || category === 'webserver') {
    return {
      table: 'http',
      group: `http/${category}`,
      where: () => 'true',
      fieldKeys: (name) => {
        const column = PROXY_FIELDS[name.toLowerCase()];
        if (!column) throw new UnsupportedError('field not mapped for proxy logs', name);
        return { column };
      },
    };
  }
  throw new UnsupportedError('logsource not mapped', [product, category, service].filter(Boolean).join('/') || '(empty)');
}
