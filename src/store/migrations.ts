/**
 * Numbered, append-only schema migrations. Never edit a released migration: add the next one.
 * The workspace records the highest applied number in `schema_migrations`.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const canonical = `
CREATE TABLE ingested_files (
  file_id INTEGER PRIMARY KEY, path VARCHAR NOT NULL, member VARCHAR, sha256 VARCHAR NOT NULL,
  size BIGINT NOT NULL, format VARCHAR NOT NULL, target_table VARCHAR NOT NULL,
  read BIGINT NOT NULL, loaded BIGINT NOT NULL, rejected BIGINT NOT NULL,
  ingested_at TIMESTAMP NOT NULL, seconds DOUBLE NOT NULL
);
CREATE UNIQUE INDEX ingested_files_hash ON ingested_files (sha256, target_table);
CREATE TABLE rejects (
  file_id INTEGER NOT NULL, path VARCHAR NOT NULL, line BIGINT, field VARCHAR, reason VARCHAR NOT NULL,
  text VARCHAR
);
CREATE TABLE flows (
  ts TIMESTAMP, uid VARCHAR, src_ip VARCHAR, src_port INTEGER, dest_ip VARCHAR, dest_port INTEGER,
  proto VARCHAR, service VARCHAR, duration DOUBLE, bytes_out BIGINT, bytes_in BIGINT, pkts_out BIGINT,
  pkts_in BIGINT, ip_bytes_out BIGINT, ip_bytes_in BIGINT, conn_state VARCHAR, "user" VARCHAR,
  file_id INTEGER NOT NULL, extra JSON
);
CREATE TABLE http (
  ts TIMESTAMP, uid VARCHAR, src_ip VARCHAR, src_port INTEGER, "user" VARCHAR, dest VARCHAR,
  dest_ip VARCHAR, dest_port INTEGER, method VARCHAR, url VARCHAR, status INTEGER, bytes_out BIGINT,
  bytes_in BIGINT, user_agent VARCHAR, referrer VARCHAR, content_type VARCHAR, category VARCHAR,
  file_id INTEGER NOT NULL, extra JSON
);
CREATE TABLE tls (
  ts TIMESTAMP, uid VARCHAR, src_ip VARCHAR, src_port INTEGER, dest_ip VARCHAR, dest_port INTEGER,
  server_name VARCHAR, version VARCHAR, cipher VARCHAR, ja3 VARCHAR, established BOOLEAN,
  subject VARCHAR, issuer VARCHAR, file_id INTEGER NOT NULL, extra JSON
);
CREATE TABLE events (
  ts TIMESTAMP, host VARCHAR, "user" VARCHAR, event_id INTEGER, channel VARCHAR, provider VARCHAR,
  action VARCHAR, process VARCHAR, parent_process VARCHAR, command_line VARCHAR, file_path VARCHAR,
  target VARCHAR, raw JSON, file_id INTEGER NOT NULL
);
CREATE TABLE activity (
  ts TIMESTAMP, kind VARCHAR, record_id VARCHAR, "user" VARCHAR, host VARCHAR, action VARCHAR,
  target VARCHAR, size BIGINT, attachments VARCHAR, details JSON, file_id INTEGER NOT NULL
);
CREATE TABLE directory (
  "user" VARCHAR, name VARCHAR, email VARCHAR, role VARCHAR, department VARCHAR, team VARCHAR,
  supervisor VARCHAR, valid_from TIMESTAMP, valid_to TIMESTAMP, file_id INTEGER NOT NULL, extra JSON
);
CREATE TABLE interactions (
  ts TIMESTAMP, profile_id VARCHAR, profile_name VARCHAR, profile_url VARCHAR, image_url VARCHAR,
  profile_title VARCHAR, "user" VARCHAR, user_email VARCHAR, user_title VARCHAR, kind VARCHAR,
  file_id INTEGER NOT NULL, extra JSON
);
CREATE TABLE detections (
  ts TIMESTAMP NOT NULL, rule_id VARCHAR NOT NULL, rule VARCHAR NOT NULL, phase VARCHAR, weight DOUBLE NOT NULL,
  entity_type VARCHAR NOT NULL, entity VARCHAR NOT NULL, source_table VARCHAR NOT NULL, event_ref VARCHAR NOT NULL,
  details JSON, run_id INTEGER
);
CREATE UNIQUE INDEX detections_once ON detections (rule_id, source_table, event_ref, entity_type, entity);
CREATE TABLE hunt_runs (
  run_id INTEGER PRIMARY KEY, hunt VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL, seconds DOUBLE,
  parameters JSON NOT NULL, window_start TIMESTAMP, window_end TIMESTAMP, result_count BIGINT
);
CREATE TABLE results (
  run_id INTEGER NOT NULL, hunt VARCHAR NOT NULL, rank INTEGER NOT NULL, entity_type VARCHAR NOT NULL,
  entity VARCHAR NOT NULL, score DOUBLE, features JSON NOT NULL, reasons JSON NOT NULL, evidence JSON
);
CREATE TABLE entity_history (
  hunt VARCHAR NOT NULL, entity_type VARCHAR NOT NULL, entity VARCHAR NOT NULL, window_start TIMESTAMP NOT NULL,
  window_end TIMESTAMP NOT NULL, metrics JSON NOT NULL, run_id INTEGER NOT NULL
);
CREATE SEQUENCE file_ids START 1;
CREATE SEQUENCE run_ids START 1;
`;

const dnsAndMembers = `
CREATE TABLE dns (
  ts TIMESTAMP, uid VARCHAR, src_ip VARCHAR, src_port INTEGER, dest_ip VARCHAR, dest_port INTEGER,
  proto VARCHAR, query VARCHAR, qtype VARCHAR, rcode VARCHAR, answers VARCHAR[], ttls DOUBLE[],
  file_id INTEGER NOT NULL, extra JSON
);
`;

// A monthly directory snapshot may hold what last month's did: the same content for another month.
// One copy per content and month is kept by ingest itself (it looks before loading and replaces
// on --force). A unique index over the three columns made DuckDB refuse --force's delete and
// insert of the same key in one transaction (a constraint error), so there is none.
const snapshots = `
DROP INDEX ingested_files_hash;
ALTER TABLE ingested_files ADD COLUMN snapshot VARCHAR DEFAULT '';
UPDATE ingested_files SET snapshot = '';
`;

// Fake-profile hunting: profiles (from notices and exports), every notification e-mail with its
// verdict, and labels (a label marks a profile's interactions through the view, past and future).
const social = `
CREATE TABLE profiles (
  profile_id VARCHAR, network VARCHAR, name VARCHAR, headline VARCHAR, profile_url VARCHAR, image_url VARCHAR,
  image_hash VARCHAR, followers BIGINT, following BIGINT, posts BIGINT, listed BIGINT, likes BIGINT,
  created_at TIMESTAMP, default_image BOOLEAN, bio_length INTEGER, seen_at TIMESTAMP, file_id INTEGER NOT NULL, extra JSON
);
CREATE TABLE mail_notices (
  file_id INTEGER NOT NULL, message_no INTEGER NOT NULL, message_id VARCHAR, ts TIMESTAMP, sender VARCHAR, recipient VARCHAR,
  subject VARCHAR, network VARCHAR, template VARCHAR, kind VARCHAR, verdict VARCHAR NOT NULL, reasons JSON NOT NULL
);
CREATE TABLE labels (
  label_id INTEGER PRIMARY KEY, target_kind VARCHAR NOT NULL, target VARCHAR NOT NULL, label VARCHAR NOT NULL, reason VARCHAR,
  who VARCHAR, created_at TIMESTAMP NOT NULL, removed_at TIMESTAMP, removed_by VARCHAR
);
CREATE SEQUENCE label_ids START 1;
CREATE VIEW interaction_marks AS
  SELECT i.*, l.label, l.reason AS label_reason, l.label_id
  FROM interactions i JOIN labels l ON l.target_kind = 'profile' AND l.target = lower(i.profile_id) AND l.removed_at IS NULL;
`;

// Picture checks: an offline reference index (stock photos, known stolen pictures, earlier
// fakes) by perceptual hash, and each profile picture's check (nearest reference, detector score).
const pictures = `
CREATE TABLE image_refs (hash VARCHAR NOT NULL, path VARCHAR NOT NULL, note VARCHAR, added_at TIMESTAMP NOT NULL);
CREATE TABLE picture_checks (
  profile_id VARCHAR NOT NULL, image_url VARCHAR, file VARCHAR, hash VARCHAR, nearest_ref VARCHAR, distance INTEGER,
  detector_score DOUBLE, problem VARCHAR, checked_at TIMESTAMP NOT NULL
);
`;

// Triage: a hunter's decision on a thread (a hunt's entity): act, watch or discard, with a note.
// The latest decision per thread is in force; undoing one keeps it on record.
const triage = `
CREATE TABLE triage (
  triage_id INTEGER PRIMARY KEY, hunt VARCHAR NOT NULL, thread VARCHAR NOT NULL, decision VARCHAR NOT NULL, note VARCHAR,
  who VARCHAR, decided_at TIMESTAMP NOT NULL, undone_at TIMESTAMP
);
CREATE SEQUENCE triage_ids START 1;
`;

// Stable record keys: a row's key is fixed when it is loaded (its file and a record number that
// never changes), not its position. DuckDB renumbers row ids when rows before them are deleted
// (ingest --force of another file), and detections pointed at row ids: they then named another
// row. Existing detections are carried over from row ids to the new keys. No column DEFAULT: each
// insert writes nextval('record_ids') itself (a default is bound again at WAL replay, which fails).
const recordKeys = `
CREATE SEQUENCE record_ids START 1;
ALTER TABLE flows ADD COLUMN rec BIGINT;
UPDATE flows SET rec = nextval('record_ids');
ALTER TABLE http ADD COLUMN rec BIGINT;
UPDATE http SET rec = nextval('record_ids');
ALTER TABLE tls ADD COLUMN rec BIGINT;
UPDATE tls SET rec = nextval('record_ids');
ALTER TABLE dns ADD COLUMN rec BIGINT;
UPDATE dns SET rec = nextval('record_ids');
ALTER TABLE events ADD COLUMN rec BIGINT;
UPDATE events SET rec = nextval('record_ids');
ALTER TABLE activity ADD COLUMN rec BIGINT;
UPDATE activity SET rec = nextval('record_ids');
ALTER TABLE directory ADD COLUMN rec BIGINT;
UPDATE directory SET rec = nextval('record_ids');
ALTER TABLE interactions ADD COLUMN rec BIGINT;
UPDATE interactions SET rec = nextval('record_ids');
ALTER TABLE profiles ADD COLUMN rec BIGINT;
UPDATE profiles SET rec = nextval('record_ids');
UPDATE detections d SET event_ref = split_part(d.event_ref, ':', 1) || ':' || t.rec FROM flows t
  WHERE d.source_table = 'flows' AND t.file_id = TRY_CAST(split_part(d.event_ref, ':', 1) AS INTEGER) AND t.rowid = TRY_CAST(split_part(d.event_ref, ':', 2) AS BIGINT);
UPDATE detections d SET event_ref = split_part(d.event_ref, ':', 1) || ':' || t.rec FROM http t
  WHERE d.source_table = 'http' AND t.file_id = TRY_CAST(split_part(d.event_ref, ':', 1) AS INTEGER) AND t.rowid = TRY_CAST(split_part(d.event_ref, ':', 2) AS BIGINT);
UPDATE detections d SET event_ref = split_part(d.event_ref, ':', 1) || ':' || t.rec FROM tls t
  WHERE d.source_table = 'tls' AND t.file_id = TRY_CAST(split_part(d.event_ref, ':', 1) AS INTEGER) AND t.rowid = TRY_CAST(split_part(d.event_ref, ':', 2) AS BIGINT);
UPDATE detections d SET event_ref = split_part(d.event_ref, ':', 1) || ':' || t.rec FROM dns t
  WHERE d.source_table = 'dns' AND t.file_id = TRY_CAST(split_part(d.event_ref, ':', 1) AS INTEGER) AND t.rowid = TRY_CAST(split_part(d.event_ref, ':', 2) AS BIGINT);
UPDATE detections d SET event_ref = split_part(d.event_ref, ':', 1) || ':' || t.rec FROM events t
  WHERE d.source_table = 'events' AND t.file_id = TRY_CAST(split_part(d.event_ref, ':', 1) AS INTEGER) AND t.rowid = TRY_CAST(split_part(d.event_ref, ':', 2) AS BIGINT);
UPDATE detections d SET event_ref = split_part(d.event_ref, ':', 1) || ':' || t.rec FROM activity t
  WHERE d.source_table = 'activity' AND t.file_id = TRY_CAST(split_part(d.event_ref, ':', 1) AS INTEGER) AND t.rowid = TRY_CAST(split_part(d.event_ref, ':', 2) AS BIGINT);
UPDATE detections d SET event_ref = split_part(d.event_ref, ':', 1) || ':' || t.rec FROM directory t
  WHERE d.source_table = 'directory' AND t.file_id = TRY_CAST(split_part(d.event_ref, ':', 1) AS INTEGER) AND t.rowid = TRY_CAST(split_part(d.event_ref, ':', 2) AS BIGINT);
UPDATE detections d SET event_ref = split_part(d.event_ref, ':', 1) || ':' || t.rec FROM interactions t
  WHERE d.source_table = 'interactions' AND t.file_id = TRY_CAST(split_part(d.event_ref, ':', 1) AS INTEGER) AND t.rowid = TRY_CAST(split_part(d.event_ref, ':', 2) AS BIGINT);
UPDATE detections d SET event_ref = split_part(d.event_ref, ':', 1) || ':' || t.rec FROM profiles t
  WHERE d.source_table = 'profiles' AND t.file_id = TRY_CAST(split_part(d.event_ref, ':', 1) AS INTEGER) AND t.rowid = TRY_CAST(split_part(d.event_ref, ':', 2) AS BIGINT);
`;

// Files whose rows went to ClickHouse (ingest --logs): the workspace keeps their accounting and
// rejects, ClickHouse their rows. A file is 'shipping' from the commit of its load until every
// batch is there (a crash leaves it so, and the next ingest finishes it), then 'stored';
// 'replaced' once --force loaded its content again. Hunts on ClickHouse read only stored files'
// rows (and rows huntbook did not load: file ids it never gave out).
const clickhouseFiles = `
CREATE TABLE clickhouse_files (
  file_id INTEGER PRIMARY KEY, logs VARCHAR NOT NULL, tables VARCHAR NOT NULL, state VARCHAR NOT NULL, rows BIGINT NOT NULL
);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'canonical tables', sql: canonical },
  { version: 2, name: 'dns table', sql: dnsAndMembers },
  { version: 3, name: 'directory snapshots', sql: snapshots },
  { version: 4, name: 'profiles, mail notices, labels', sql: social },
  { version: 5, name: 'picture checks', sql: pictures },
  { version: 6, name: 'triage', sql: triage },
  { version: 7, name: 'stable record keys', sql: recordKeys },
  { version: 8, name: 'files in ClickHouse', sql: clickhouseFiles },
];
