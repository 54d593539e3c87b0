/**
 * Fetching an address that came from log data (a profile picture's URL): only http(s), only to
 * public addresses. The address is checked after DNS, on the very address the connection uses (a
 * name that resolves to 127.0.0.1, or to a public address first and a private one later, is
 * refused), and again after every redirect; time and size are capped. --allow-private lifts the
 * address check for a lab that keeps its pictures on an internal server.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { inCidr, parseCidr, parseIp } from './network.ts';

/** Every range a fetch from log data must not reach (RFC 6890 special-purpose, private, shared, local). */
const NOT_PUBLIC = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '::ffff:0:0/96',
  '64:ff9b::/96',
  '100::/64',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
].map(parseCidr);

export class FetchRefused extends Error {}

/** Why an address may not be fetched from, or undefined when it is public. */
export function notPublic(address: string): string | undefined {
  const ip = parseIp(address);
  if (!ip) return `${address} is not an IP address`;
  const range = NOT_PUBLIC.find((c) => inCidr(ip, c));
  return range ? `${address} is not a public address` : undefined;
}

export interface FetchOptions {
  timeoutMs: number;
  maxBytes: number;
  allowPrivate?: boolean;
  maxRedirects?: number;
}

/** A DNS lookup that refuses non-public answers, so the connection can only go where the check said. */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 4);
      const list = addresses as unknown as LookupAddress[];
      const bad = allowPrivate ? undefined : list.map((a) => notPublic(a.address)).find(Boolean);
      if (bad)
        return callback(
          new FetchRefused(`${hostname} resolves to ${bad.replace(' is not', ', not')} (--allow-private to fetch from it)`),
          '',
          4,
        );
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      return callback(null, list[0].address, list[0].family);
    });
  };
}

function get(url: URL, options: FetchOptions): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        lookup: guardedLookup(Boolean(options.allowPrivate)),
        timeout: options.timeoutMs,
        headers: { 'user-agent': 'huntbook images check' },
      },
      resolve,
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The body of `address`, following redirects, each hop checked; throws FetchRefused for what may not be fetched. */
export async function fetchPublic(address: string, options: FetchOptions): Promise<Buffer> {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new FetchRefused(`not an address: ${address.slice(0, 80)}`);
  }
  const deadline = Date.now() + options.timeoutMs;
  for (let hop = 0; hop <= (options.maxRedirects ?? 5); hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new FetchRefused(`only http and https are fetched, not ${url.protocol}`);
    if (url.username || url.password) throw new FetchRefused('an address with a user name or password is not fetched');
    // A literal IP skips DNS: check it here.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !options.allowPrivate) {
      const bad = notPublic(host);
      if (bad) throw new FetchRefused(`${bad} (--allow-private to fetch from it)`);
    }
    const response = await get(url, { ...options, timeoutMs: Math.max(1, deadline - Date.now()) });
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location) {
      response.resume();
      url = new URL(response.headers.location, url);
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      throw new Error(`HTTP ${status}`);
    }
    if (Number(response.headers['content-length'] ?? 0) > options.maxBytes) {
      response.destroy();
      throw new Error(`larger than ${options.maxBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.maxBytes) {
        response.destroy();
        throw new Error(`larger than ${options.maxBytes} bytes`);
      }
      if (Date.now() > deadline) {
        response.destroy();
        throw new Error(`no answer within ${options.timeoutMs} ms`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
  throw new Error(`more than ${options.maxRedirects ?? 5} redirects`);
}
