/**
 * Which source field fills which canonical column. Source names are compared case-insensitively
 * with '.', '-' and ' ' folded to '_', so `id.orig_h`, `id_orig_h` and `ID-Orig-H` are one name.
 * The first alias present wins; `--map dest=src` overrides everything.
 */
import { UsageError } from '../errors.ts';
import { CANONICAL_COLUMNS, type CanonicalTable } from '../store/schema.ts';

type Aliases = Record<string, readonly string[]>;

const TIME = ['ts', '_time', 'timestamp', '@timestamp', 'time', 'datetime', 'date', 'event_time', 'eventtime', 'utctime'];
const USER = ['user', 'username', 'user_name', 'login', 'cs_username', 'usr', 'account', 'src_user'];

export const FIELD_ALIASES: Record<CanonicalTable, Aliases> = {
  flows: {
    ts: TIME,
    uid: ['uid', 'flow_id', 'session_id', 'community_id'],
    src_ip: ['src_ip', 'id_orig_h', 'src', 'source_ip', 'srcip', 'src_addr', 'client_ip', 'sourceaddress', 'orig_h'],
    src_port: ['src_port', 'id_orig_p', 'sport', 'source_port', 'srcport', 'orig_p'],
    dest_ip: ['dest_ip', 'id_resp_h', 'dst_ip', 'dst', 'destination_ip', 'dstip', 'dst_addr', 'server_ip', 'destinationaddress', 'resp_h'],
    dest_port: ['dest_port', 'id_resp_p', 'dst_port', 'dport', 'destination_port', 'dstport', 'resp_p'],
    proto: ['proto', 'protocol', 'transport'],
    service: ['service', 'app', 'application'],
    duration: ['duration', 'elapsed'],
    bytes_out: ['bytes_out', 'orig_bytes', 'sent_bytes', 'bytes_sent', 'out_bytes', 'src_bytes'],
    bytes_in: ['bytes_in', 'resp_bytes', 'received_bytes', 'bytes_received', 'in_bytes', 'dst_bytes'],
    pkts_out: ['pkts_out', 'orig_pkts', 'packets_out', 'packets_sent', 'src_pkts'],
    pkts_in: ['pkts_in', 'resp_pkts', 'packets_in', 'packets_received', 'dst_pkts'],
    ip_bytes_out: ['ip_bytes_out', 'orig_ip_bytes'],
    ip_bytes_in: ['ip_bytes_in', 'resp_ip_bytes'],
    conn_state: ['conn_state', 'state', 'tcp_flag'],
    user: USER,
  },
  http: {
    ts: TIME,
    uid: ['uid'],
    src_ip: ['src_ip', 'id_orig_h', 'src', 'c_ip', 'client_ip', 'source_ip', 'clientip'],
    src_port: ['src_port', 'id_orig_p'],
    user: USER,
    dest: ['dest', 'host', 'dest_host', 'hostname', 'domain', 'cs_host', 'server_name', 'site'],
    dest_ip: ['dest_ip', 'id_resp_h', 'dst_ip', 's_ip', 'server_ip', 'destination_ip'],
    dest_port: ['dest_port', 'id_resp_p', 'dst_port', 's_port'],
    method: ['method', 'http_method', 'cs_method', 'request_method'],
    url: ['url', 'uri', 'cs_uri', 'request', 'cs_uri_stem', 'uri_path'],
    status: ['status', 'status_code', 'http_status', 'sc_status', 'response_code'],
    bytes_out: ['bytes_out', 'request_body_len', 'cs_bytes', 'bytes_sent', 'sent_bytes'],
    bytes_in: ['bytes_in', 'response_body_len', 'sc_bytes', 'bytes_received', 'received_bytes'],
    user_agent: ['user_agent', 'http_user_agent', 'useragent', 'cs_user_agent'],
    referrer: ['referrer', 'referer', 'http_referrer', 'cs_referer'],
    content_type: ['content_type', 'http_content_type', 'resp_mime_types', 'mime_type'],
    category: ['category', 'url_category', 'categories'],
  },
  tls: {
    ts: TIME,
    uid: ['uid'],
    src_ip: ['src_ip', 'id_orig_h', 'src'],
    src_port: ['src_port', 'id_orig_p'],
    dest_ip: ['dest_ip', 'id_resp_h', 'dst_ip', 'dst'],
    dest_port: ['dest_port', 'id_resp_p', 'dst_port'],
    server_name: ['server_name', 'sni', 'servername', 'dest', 'host'],
    version: ['version', 'tls_version'],
    cipher: ['cipher'],
    ja3: ['ja3'],
    established: ['established'],
    subject: ['subject'],
    issuer: ['issuer'],
  },
  dns: {
    ts: TIME,
    uid: ['uid'],
    src_ip: ['src_ip', 'id_orig_h', 'src', 'client_ip', 'source_ip'],
    src_port: ['src_port', 'id_orig_p'],
    dest_ip: ['dest_ip', 'id_resp_h', 'dst_ip', 'dst', 'server_ip', 'resolver'],
    dest_port: ['dest_port', 'id_resp_p', 'dst_port'],
    proto: ['proto', 'transport', 'protocol'],
    query: ['query', 'qname', 'query_name', 'domain', 'name'],
    // Zeek writes both the number and the name; the name is what hunters read and filter on.
    qtype: ['qtype_name', 'query_type', 'record_type', 'qtype'],
    rcode: ['rcode_name', 'reply_code', 'response_code', 'rcode'],
    answers: ['answers', 'answer', 'response', 'responses'],
    ttls: ['ttls', 'ttl'],
  },
  events: {
    ts: [...TIME, 'timecreated', 'system_time'],
    host: ['host', 'hostname', 'computer', 'computer_name', 'dvc', 'pc'],
    user: [...USER, 'targetusername', 'subjectusername'],
    event_id: ['event_id', 'eventid', 'event_code', 'eventcode', 'signature_id'],
    channel: ['channel', 'log_name', 'logname'],
    provider: ['provider', 'source_name', 'sourcename', 'provider_name'],
    action: ['action', 'task', 'category'],
    process: ['process', 'image', 'new_process_name', 'newprocessname', 'process_name'],
    parent_process: ['parent_process', 'parentimage', 'parent_process_name', 'parentprocessname'],
    command_line: ['command_line', 'commandline', 'process_command_line', 'cmdline'],
    file_path: ['file_path', 'targetfilename', 'file_name', 'filename', 'objectname'],
    target: ['target', 'targetobject', 'destination', 'destinationhostname', 'query_name', 'queryname'],
  },
  activity: {
    ts: TIME,
    kind: ['kind'],
    record_id: ['record_id', 'id'],
    user: USER,
    host: ['host', 'pc', 'hostname', 'computer'],
    action: ['action', 'activity'],
    target: ['target', 'to', 'filename', 'url', 'file_tree'],
    size: ['size', 'bytes'],
    attachments: ['attachments', 'attachment'],
  },
  directory: {
    user: ['user', 'user_id', 'userid', 'username', 'samaccountname'],
    name: ['name', 'employee_name', 'displayname', 'full_name'],
    email: ['email', 'mail', 'email_address'],
    role: ['role', 'title', 'job_title'],
    department: ['department', 'functional_unit', 'business_unit'],
    team: ['team'],
    supervisor: ['supervisor', 'manager'],
    valid_from: ['valid_from', 'start_date', 'hired'],
    valid_to: ['valid_to', 'end_date', 'terminated', 'termination_date'],
  },
  interactions: {
    ts: TIME,
    profile_id: ['profile_id'],
    profile_name: ['profile_name'],
    profile_url: ['profile_url'],
    image_url: ['image_url', 'profile_image'],
    profile_title: ['profile_title', 'headline'],
    user: USER,
    user_email: ['user_email', 'email'],
    user_title: ['user_title', 'job_title'],
    kind: ['kind', 'interaction', 'type'],
  }, // Twitter API v1.1 user objects are understood as CIM names are for proxy logs.
  profiles: {
    profile_id: ['profile_id', 'id_str', 'screen_name', 'slug', 'username', 'id'],
    network: ['network', 'platform', 'site'],
    name: ['name', 'profile_name', 'display_name', 'full_name'],
    headline: ['headline', 'profile_title', 'title', 'description'],
    profile_url: ['profile_url', 'url', 'link'],
    image_url: ['image_url', 'profile_image_url_https', 'profile_image_url', 'picture', 'avatar'],
    image_hash: ['image_hash', 'phash'],
    followers: [
      'followers',
      'followers_count',
      'connections',
      'connections_count',
      'follower_count',
      'userfollowercount',
      'user_follower_count',
      'edge_followed_by',
    ],
    following: ['following', 'friends_count', 'following_count', 'userfollowingcount', 'user_following_count', 'edge_follow'],
    posts: ['posts', 'statuses_count', 'posts_count', 'tweets', 'media_count', 'usermediacount', 'user_media_count'],
    listed: ['listed', 'listed_count'],
    likes: ['likes', 'favourites_count', 'favorites_count'],
    created_at: ['created_at', 'account_created', 'joined'],
    default_image: ['default_image', 'default_profile_image'],
    bio_length: ['bio_length', 'userbiographylength', 'user_biography_length', 'biography_length'],
    seen_at: ['seen_at', 'ts', '_time', 'timestamp'],
  },
};

export function foldName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[.\- ]/g, '_');
}

/** Parses `--map dest=src,user=login` into canonical column → source field name. */
export function parseMapOption(text: string | undefined, table: CanonicalTable): Map<string, string> {
  const map = new Map<string, string>();
  if (!text) return map;
  const columns = new Set(CANONICAL_COLUMNS[table].map((column) => column.name));
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new UsageError(`--map expects dest=src pairs, got "${pair}"`);
    const dest = pair.slice(0, eq).trim();
    if (!columns.has(dest)) {
      throw new UsageError(`--map: "${dest}" is not a column of ${table}; columns are ${[...columns].join(', ')}`);
    }
    map.set(dest, pair.slice(eq + 1).trim());
  }
  return map;
}

export interface FieldMapping {
  /** Canonical column → index of the source field that fills it. */
  columns: Map<string, number>;
  /** Indexes of source fields that no column takes: they go to the extra JSON. */
  unmapped: number[];
}

export function mapFields(table: CanonicalTable, sourceNames: readonly string[], overrides: Map<string, string>): FieldMapping {
  const folded = sourceNames.map(foldName);
  const columns = new Map<string, number>();
  const taken = new Set<number>();
  for (const [column, source] of overrides) {
    const index = folded.indexOf(foldName(source));
    if (index === -1)
      throw new UsageError(`--map ${column}=${source}: the source has no field "${source}"; it has ${sourceNames.join(', ')}`);
    columns.set(column, index);
    taken.add(index);
  }
  for (const { name } of CANONICAL_COLUMNS[table]) {
    if (columns.has(name)) continue;
    for (const alias of FIELD_ALIASES[table][name] ?? [name]) {
      const index = folded.indexOf(alias);
      if (index !== -1 && !taken.has(index)) {
        columns.set(name, index);
        taken.add(index);
        break;
      }
    }
  }
  const unmapped = sourceNames.map((_, i) => i).filter((i) => !taken.has(i));
  return { columns, unmapped };
}
