/**
 * Host names that pretend to be someone else's: the checks a phishing mail's From, links and
 * pictures meet. Each returns a reason in words a hunter can read (IDN shown as Unicode, with its
 * xn-- form), or undefined.
 *   homoglyph   the same letters to the eye: linkedín.com, Cyrillic а, xn--…
 *   typosquat   one or two letters off: linkedln.com, liinkedin.com, 1inkedin.com
 *   subdomain   the network's name under another domain: linkedin.com.evil.io
 */
import { domainToASCII, domainToUnicode } from 'node:url';
import { getDomain } from 'tldts';
import { editDistance } from '../text.ts';

export const under = (host: string, domains: readonly string[]) => domains.some((d) => host === d || host.endsWith(`.${d}`));

/** A host as a reader sees it: Unicode, with the xn-- form beside it when they differ. */
export function readableHost(host: string): string {
  const unicode = domainToUnicode(host) || host;
  const ascii = domainToASCII(unicode) || host;
  return unicode === ascii ? host : `${unicode} (${ascii})`;
}

// Letters of other scripts that look like Latin ones (the Unicode confusables most used in phishing).
const CONFUSABLE: Record<string, string> = {
  а: 'a',
  е: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  у: 'y',
  х: 'x',
  і: 'i',
  ј: 'j',
  ԁ: 'd',
  ӏ: 'l',
  һ: 'h',
  ո: 'n',
  ս: 'u',
  ı: 'i',
  ɩ: 'i',
  ʟ: 'l',
  ⅼ: 'l',
  ℓ: 'l',
  α: 'a',
  ο: 'o',
  ν: 'v',
  κ: 'k',
  τ: 't',
  ϲ: 'c',
  ѕ: 's',
  ԝ: 'w',
  ɡ: 'g',
};

/** The Latin letters a host shows a reader: IDN decoded, accents dropped, confusables folded. */
export function skeleton(host: string): string {
  const unicode = (domainToUnicode(host) || host).toLowerCase();
  return [...unicode.normalize('NFKD').replace(/\p{M}/gu, '')].map((ch) => CONFUSABLE[ch] ?? ch).join('');
}

/** linkedín.com, lіnkedin.com (Cyrillic і), xn--…: reads as one of `domains` but is not it. */
export function homoglyphOf(host: string, domains: readonly string[]): string | undefined {
  if (under(host, domains)) return undefined;
  const shown = skeleton(host);
  if (shown === host) return undefined;
  return domains.find((d) => under(shown, [d]));
}

/**
 * A host that is not the network's but one or two letters from it (linkedln.com, 1inkedin.com,
 * social-examp1e.com): names compared without dots, hyphens and the last label.
 */
export function typosquatOf(host: string, domains: readonly string[]): string | undefined {
  if (under(host, domains)) return undefined;
  const labels = skeleton(host).split('.');
  const squash = (s: string) => s.replace(/[^a-z0-9]/g, '');
  const candidates = [squash(labels.slice(-2, -1).join('')), squash(labels.slice(0, -1).slice(-2).join(''))].filter((c) => c.length >= 6);
  return domains.find((d) => {
    const forms = [squash(d), squash(d.split('.').slice(0, -1).join(''))].filter((f) => f.length >= 6);
    return candidates.some((c) => forms.some((f) => f !== c && editDistance(c, f) <= 2));
  });
}

/** linkedin.com.evil.io, www-linkedin.evil.io: the network's name worn by another registered domain. */
export function brandSubdomainOf(host: string, domains: readonly string[]): string | undefined {
  if (under(host, domains)) return undefined;
  const registrable = getDomain(host) ?? host;
  const inside = host.slice(0, Math.max(0, host.length - registrable.length - 1));
  if (!inside) return undefined;
  return domains.find((d) => {
    const name = (getDomain(d) ?? d).split('.')[0];
    return name.length >= 4 && skeleton(inside).split(/[.-]/).includes(name);
  });
}

/** Every way `host` pretends to be one of `domains`, as a reason; undefined when it does not. */
export function impersonation(host: string, domains: readonly string[]): string | undefined {
  const glyph = homoglyphOf(host, domains);
  if (glyph) return `${readableHost(host)} is a homoglyph of ${glyph}`;
  const sub = brandSubdomainOf(host, domains);
  if (sub) return `${readableHost(host)} puts ${(getDomain(sub) ?? sub).split('.')[0]} in a subdomain of ${getDomain(host) ?? host}`;
  const squat = typosquatOf(host, domains);
  if (squat) return `${readableHost(host)} looks like ${squat}`;
  return undefined;
}
