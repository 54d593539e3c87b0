/**
 * Allow-lists for beacon hunting: destinations known to poll on a schedule (OS and antivirus
 * updates, telemetry, sync clients). Domain suffixes match a host pair's name, or every name seen
 * for an IP pair's address; CIDRs match the address.
 */
import type { AddressClassifier } from './network.ts';

export interface AllowList {
  /** "microsoft.com" matches microsoft.com and any name below it. */
  domains: string[];
  cidrs: string[];
}

export function domainMatch(name: string, suffixes: readonly string[]): string | undefined {
  const host = name.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  return suffixes.find((suffix) => {
    const s = suffix.toLowerCase().replace(/^\*?\./, '');
    return host === s || host.endsWith(`.${s}`);
  });
}

/** The allow-list entry that covers this destination, or undefined. */
export function allowListMatch(
  allow: AllowList,
  host: string | null,
  address: string | null,
  namesForAddress: readonly string[],
  classifier: AddressClassifier,
): string | undefined {
  if (host) {
    const byName = domainMatch(host, allow.domains);
    if (byName) return `domain ${byName}`;
  }
  if (address) {
    const byCidr = classifier.matchesAny(address, allow.cidrs);
    if (byCidr) return `network ${byCidr}`;
    if (!host && namesForAddress.length > 0) {
      const matches = namesForAddress.map((n) => domainMatch(n, allow.domains));
      if (matches.every((m) => m !== undefined))
        return `every name seen for ${address} is allow-listed (${[...new Set(matches)].join(', ')})`;
    }
  }
  return undefined;
}
