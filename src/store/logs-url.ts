/**
 * Where the logs are, as an address: `clickhouse://USER@HOST:8123/DB` (the HTTP port; HTTPS with
 * clickhouses://), the password from $HUNTBOOK_CLICKHOUSE_PASSWORD and never on the command line
 * or in a file huntbook writes. No client here: the configuration checks addresses without one.
 */
import { UsageError } from '../errors.ts';

export const PASSWORD_VARIABLE = 'HUNTBOOK_CLICKHOUSE_PASSWORD';

export interface ClickHouseTarget {
  /** http(s)://host:port, for the client. */
  url: string;
  username: string;
  database: string;
  /** clickhouse://user@host:port/db, for messages (never a password). */
  display: string;
  /** host:port/db: which ClickHouse database the workspace's files went to, whoever connects. */
  key: string;
}

export function parseLogsUrl(text: string): ClickHouseTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--logs must look like clickhouse://USER@HOST:8123/DATABASE, got "${text}"`);
  }
  if (url.protocol !== 'clickhouse:' && url.protocol !== 'clickhouses:') {
    throw new UsageError(`--logs: only clickhouse:// (HTTP) and clickhouses:// (HTTPS) are known, got "${url.protocol}//"`);
  }
  if (url.password) throw new UsageError(`--logs: no password in the address; put it in $${PASSWORD_VARIABLE}`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'default';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new UsageError(`--logs: "${database}" is not a plain database name`);
  const username = decodeURIComponent(url.username) || 'default';
  const https = url.protocol === 'clickhouses:';
  const port = url.port || (https ? '8443' : '8123');
  return {
    url: `${https ? 'https' : 'http'}://${url.hostname}:${port}`,
    username,
    database,
    display: `${url.protocol}//${username}@${url.hostname}:${port}/${database}`,
    key: `${url.hostname}:${port}/${database}`,
  };
}
