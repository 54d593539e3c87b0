/**
 * Address classes for hunts: internal (configurable CIDRs), and the addresses no beacon can use
 * (loopback, link-local, multicast, broadcast, unspecified). IPv4 and IPv6, no dependencies.
 */
import { UsageError } from '../errors.ts';

export const DEFAULT_INTERNAL = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'];

interface Cidr {
  v6: boolean;
  bits: bigint;
  prefix: number;
  text: string;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  let address = text.toLowerCase().replace(/%.*$/, '');
  if (address.includes('.')) {
    // ::ffff:1.2.3.4 style: the last 32 bits written as IPv4.
    const at = address.lastIndexOf(':');
    const v4 = parseV4(address.slice(at + 1));
    if (v4 === undefined) return undefined;
    address = `${address.slice(0, at + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

export function parseIp(text: string): { v6: boolean; value: bigint } | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { v6: false, value: v4 };
  const v6 = text.includes(':') ? parseV6(text) : undefined;
  return v6 === undefined ? undefined : { v6: true, value: v6 };
}

export function parseCidr(text: string): Cidr {
  const [address, prefixText] = text.trim().split('/');
  const ip = parseIp(address);
  if (!ip) throw new UsageError(`not an IP network: "${text}" (expected e.g. 10.0.0.0/8 or fd00::/8)`);
  const width = ip.v6 ? 128 : 32;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width) throw new UsageError(`bad prefix length in "${text}"`);
  const shift = BigInt(width - prefix);
  return { v6: ip.v6, bits: (ip.value >> shift) << shift, prefix, text: text.trim() };
}

export function inCidr(ip: { v6: boolean; value: bigint }, cidr: Cidr): boolean {
  if (ip.v6 !== cidr.v6) return false;
  const shift = BigInt((ip.v6 ? 128 : 32) - cidr.prefix);
  return (ip.value >> shift) << shift === cidr.bits;
}

/** Addresses no beacon can use. */
export const SPECIAL_NETWORKS: readonly string[] = [
  '127.0.0.0/8',
  '169.254.0.0/16',
  '224.0.0.0/4',
  '255.255.255.255/32',
  '0.0.0.0/32', // v4: loopback, link-local, multicast, broadcast, unspecified
  '::1/128',
  'fe80::/10',
  'ff00::/8',
  '::/128', // v6: loopback, link-local, multicast, unspecified
];
const SPECIAL = SPECIAL_NETWORKS.map(parseCidr);

export class AddressClassifier {
  private readonly internal: Cidr[];

  constructor(internal: readonly string[] = DEFAULT_INTERNAL) {
    this.internal = internal.map(parseCidr);
  }

  classify(text: string): { internal: boolean; special: boolean; valid: boolean } {
    const ip = parseIp(text);
    if (!ip) return { internal: false, special: false, valid: false };
    // A directed broadcast like 10.0.0.255 cannot be told from a host without the netmask; only the global one is special.
    return { internal: this.internal.some((c) => inCidr(ip, c)), special: SPECIAL.some((c) => inCidr(ip, c)), valid: true };
  }

  matchesAny(text: string, cidrs: readonly string[]): string | undefined {
    const ip = parseIp(text);
    if (!ip) return undefined;
    return cidrs.find((c) => inCidr(ip, parseCidr(c)));
  }
}
