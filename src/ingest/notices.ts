/**
 * Social-network notification e-mails (the seed's "Hunting for Fakes": "an email notification for
 * a connection request or a message will include a link with the profile name as well as a link to
 * the profile image"). From a parsed e-mail to a verdict:
 *   genuine       from the network (From, DKIM d=, every link under its domains), a template's
 *                 subject: one interaction (who, which profile, what kind, when) and the profile
 *   lookalike     claims to be a notice but fails a check (From or DKIM elsewhere, a typosquatted
 *                 or unrelated link host, Reply-To elsewhere): kept with its reasons, never an
 *                 interaction
 *   unrecognised  not a notice huntbook knows (from the network but no template, or no network)
 * Templates are data (config/notifications.yml, ./notifications.yml). Every notice also carries the
 * recipient's own profile link and photo (header bar, "intended for NAME (HEADLINE)" footer): they
 * are set aside before the sender's are chosen.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'htmlparser2';
import { getAttributeValue, getElementsByTagName, textContent } from 'domutils';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../errors.ts';
import { editDistance } from '../text.ts';

export const NOTICE_KINDS = ['connect_request', 'connect_accept', 'message', 'view'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

export interface Network {
  name: string;
  domains: string[];
  mediaHosts: string[];
  profileLinks: RegExp[];
  redirectParams: string[];
  recipient: RegExp;
  templates: { kind: NoticeKind; subject: RegExp }[];
  /** The profile's canonical address, {id} replaced (links in notices vary: tracking, old forms). */
  profileUrl: string;
}

/** What a parsed e-mail gives the reader (mailparser's fields, reduced to what is used). */
export interface MailFacts {
  from?: string;
  fromName?: string;
  replyTo?: string;
  to: string[];
  deliveredTo?: string;
  subject: string;
  date?: Date;
  messageId?: string;
  html?: string;
  text?: string;
  /** Lower-cased header name → raw values. */
  headers: Map<string, string[]>;
}

export interface Notice {
  verdict: 'genuine' | 'lookalike' | 'unrecognised';
  network?: string;
  kind?: NoticeKind;
  template?: string;
  reasons: string[];
  recipient?: string;
  interaction?: { ts: Date | undefined; profileId: string | null; profileName: string; profileUrl: string | null; imageUrl: string | null; headline: string | null; userEmail: string; userTitle: string | null };
}

export const SHIPPED_TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'config', 'notifications.yml');

/** The shipped networks, with ./notifications.yml (or the file given) over them. */
export function loadNetworks(extra = existsSync('notifications.yml') ? 'notifications.yml' : undefined): Network[] {
  const networks = new Map<string, Network>();
  for (const file of [SHIPPED_TEMPLATES, ...(extra ? [extra] : [])]) {
    for (const n of readNetworks(file)) networks.set(n.name, n);
  }
  return [...networks.values()];
}

function readNetworks(file: string): Network[] {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read notification templates: ${(error as Error).message.split('\n')[0]}`, { location: { file } });
  }
  const list = (doc as { networks?: unknown })?.networks;
  if (!Array.isArray(list)) throw new InputError('notification templates need a list under "networks"', { location: { file } });
  return list.map((raw: Record<string, unknown>, i) => {
    const where = `networks[${i}]`;
    const regex = (pattern: unknown, what: string, flags = 'i') => {
      try {
        return new RegExp(String(pattern), flags);
      } catch (error) {
        throw new InputError(`${where}.${what}: ${(error as Error).message}`, { location: { file } });
      }
    };
    const strings = (v: unknown) => (Array.isArray(v) ? v.map((x) => String(x).toLowerCase()) : []);
    const templates = (Array.isArray(raw.templates) ? raw.templates : []).map((t: Record<string, unknown>, j: number) => {
      if (!(NOTICE_KINDS as readonly string[]).includes(String(t.kind))) throw new InputError(`${where}.templates[${j}].kind must be one of ${NOTICE_KINDS.join(', ')}`, { location: { file } });
      const subject = regex(t.subject, `templates[${j}].subject`);
      if (!/\(\?<name>/.test(subject.source)) throw new InputError(`${where}.templates[${j}].subject needs a group named name`, { location: { file } });
      return { kind: t.kind as NoticeKind, subject };
    });
    if (typeof raw.name !== 'string' || strings(raw.domains).length === 0) throw new InputError(`${where} needs a name and domains`, { location: { file } });
    return {
      name: raw.name, domains: strings(raw.domains), mediaHosts: strings(raw.media_hosts),
      profileLinks: (Array.isArray(raw.profile_links) ? raw.profile_links : []).map((p, j) => regex(p, `profile_links[${j}]`, '')),
      redirectParams: strings(raw.redirect_params), recipient: regex(raw.recipient ?? '$^', 'recipient'), templates,
      profileUrl: typeof raw.profile_url === 'string' ? raw.profile_url : `https://${strings(raw.domains)[0]}/in/{id}`,
    };
  });
}

interface Link {
  url: URL;
  text: string;
  /** Up to 400 characters before the link (plain-text bodies: what names it). */
  before: string;
}

const under = (host: string, domains: readonly string[]) => domains.some((d) => host === d || host.endsWith(`.${d}`));

/** Follows tracking redirects (…/redir?url=<encoded>) to the URL they lead to. */
function unwrap(url: URL, network: Network): URL {
  for (let hops = 0; hops < 3; hops++) {
    const inner = network.redirectParams.map((p) => url.searchParams.get(p)).find((v) => v && /^https?:\/\//i.test(v));
    if (!inner) return url;
    try {
      url = new URL(inner);
    } catch {
      return url;
    }
  }
  return url;
}

function linksOf(facts: MailFacts): { links: Link[]; images: { src: string; alt: string; before?: string }[]; text: string } {
  if (facts.html) {
    const doc = parseDocument(facts.html, { decodeEntities: true });
    const links: Link[] = [];
    for (const a of getElementsByTagName('a', doc)) {
      const href = getAttributeValue(a, 'href');
      const url = href ? safeUrl(href) : undefined;
      if (url) links.push({ url, text: normaliseSpace(textContent(a)), before: '' });
    }
    const images = getElementsByTagName('img', doc).map((img) => ({ src: getAttributeValue(img, 'src') ?? '', alt: normaliseSpace(getAttributeValue(img, 'alt') ?? '') }));
    // The text is made from the HTML here (not mailparser's rendering, which inlines link targets).
    return { links, images, text: htmlText(doc) };
  }
  const text = facts.text ?? '';
  const links: Link[] = [];
  for (const match of text.matchAll(/https?:\/\/[^\s<>"')\]]+/gi)) {
    const url = safeUrl(match[0]);
    if (url) links.push({ url, text: '', before: text.slice(Math.max(0, match.index - 400), match.index) });
  }
  // A plain-text notice names a picture by its address: an image link, named by what precedes it.
  const images = links.filter((l) => /\.(?:jpe?g|png|gif|webp)(?:\?|$)/i.test(l.url.pathname)).map((l) => ({ src: l.url.href, alt: '', before: l.before }));
  return { links: links.filter((l) => !images.some((i) => i.src === l.url.href)), images, text };
}

function htmlText(doc: ReturnType<typeof parseDocument>): string {
  // Block elements end lines, so "the line after the name" means the same as in a text part.
  const lines: string[] = [];
  const walk = (nodes: ReturnType<typeof parseDocument>['children']) => {
    for (const node of nodes) {
      if (node.type === 'text') lines.push((node as unknown as { data: string }).data);
      else if ('children' in node) {
        const name = (node as { name?: string }).name ?? '';
        walk((node as { children: ReturnType<typeof parseDocument>['children'] }).children);
        if (/^(p|div|br|tr|td|li|h\d|table)$/i.test(name)) lines.push('\n');
      }
    }
  };
  walk(doc.children);
  return lines.join('').split('\n').map(normaliseSpace).filter(Boolean).join('\n');
}

function safeUrl(text: string): URL | undefined {
  try {
    const url = new URL(text.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

const normaliseSpace = (s: string) => s.replace(/\s+/g, ' ').trim();
const fold = (s: string) => normaliseSpace(s).toLowerCase();

function domainOf(address: string | undefined): string | undefined {
  const at = address?.lastIndexOf('@') ?? -1;
  return at >= 0 ? address!.slice(at + 1).toLowerCase().replace(/>$/, '') : undefined;
}

/**
 * A host that is not the network's but one or two letters from it (linkedln.com, 1inkedin.com,
 * social-examp1e.com): names compared without dots, hyphens and the last label.
 */
function typosquat(host: string, network: Network): string | undefined {
  if (under(host, network.domains)) return undefined;
  const labels = host.split('.');
  const squash = (s: string) => s.replace(/[^a-z0-9]/g, '');
  const candidates = [squash(labels.slice(-2, -1).join('')), squash(labels.slice(0, -1).slice(-2).join(''))].filter((c) => c.length >= 6);
  return network.domains.find((d) => {
    const forms = [squash(d), squash(d.split('.').slice(0, -1).join(''))].filter((f) => f.length >= 6);
    return candidates.some((c) => forms.some((f) => f !== c && editDistance(c, f) <= 2));
  });
}


function profileIdOf(url: URL, network: Network): string | undefined {
  if (!under(url.hostname.toLowerCase(), network.domains)) return undefined;
  const path = `${url.pathname}${url.search}`;
  for (const pattern of network.profileLinks) {
    const id = pattern.exec(path)?.groups?.id;
    if (id) return decodeURIComponent(id).toLowerCase();
  }
  return undefined;
}

/** Which network the e-mail claims to come from: by From domain, else by a template's subject. */
function claimedNetwork(facts: MailFacts, networks: readonly Network[]): { network: Network; template?: Network['templates'][number]; name?: string } | undefined {
  const fromDomain = domainOf(facts.from) ?? '';
  const match = (n: Network) => {
    for (const t of n.templates) {
      const name = t.subject.exec(normaliseSpace(facts.subject))?.groups?.name;
      if (name) return { network: n, template: t, name: normaliseSpace(name) };
    }
    return undefined;
  };
  const byDomain = networks.find((n) => under(fromDomain, n.domains)) ?? networks.find((n) => typosquat(fromDomain, n));
  if (byDomain) return match(byDomain) ?? { network: byDomain };
  for (const n of networks) {
    const m = match(n);
    if (m) return m;
  }
  return undefined;
}

export function readNotice(facts: MailFacts, networks: readonly Network[]): Notice {
  const claim = claimedNetwork(facts, networks);
  if (!claim) return { verdict: 'unrecognised', reasons: ['not a notification of a known network (no From domain or subject matches notifications.yml)'] };
  const { network } = claim;
  const reasons: string[] = [];
  const fromDomain = domainOf(facts.from) ?? '(none)';
  if (!under(fromDomain, network.domains)) {
    const squat = typosquat(fromDomain, network);
    reasons.push(`From domain ${fromDomain} is not ${network.domains[0]}${squat ? ` (looks like ${squat})` : ''}`);
  }
  for (const signature of facts.headers.get('dkim-signature') ?? []) {
    const d = /(?:^|;)\s*d=([^;\s]+)/i.exec(signature)?.[1]?.toLowerCase();
    if (d && !under(d, network.domains)) reasons.push(`DKIM signed by ${d}, not ${network.domains[0]}`);
  }
  for (const result of facts.headers.get('authentication-results') ?? []) {
    if (/\bdkim=(fail|softfail|permerror)/i.test(result)) reasons.push('DKIM verification failed (Authentication-Results)');
  }
  const replyDomain = domainOf(facts.replyTo);
  if (replyDomain && !under(replyDomain, network.domains)) reasons.push(`Reply-To goes to ${replyDomain}`);
  const { links, images, text } = linksOf(facts);
  const allowedHosts = [...network.domains, ...network.mediaHosts];
  const resolved = links.map((l) => ({ ...l, url: unwrap(l.url, network) }));
  for (const host of new Set([...resolved.map((l) => l.url), ...links.map((l) => l.url)].map((u) => u.hostname.toLowerCase()))) {
    if (!under(host, allowedHosts)) {
      const squat = typosquat(host, network);
      reasons.push(squat ? `link to ${host}, which looks like ${squat}` : `link to an unrelated host ${host}`);
    }
  }
  for (const img of images) {
    const host = safeUrl(img.src)?.hostname.toLowerCase();
    if (host && !under(host, allowedHosts)) reasons.push(`picture from an unrelated host ${host}`);
  }
  if (reasons.length > 0) return { verdict: 'lookalike', network: network.name, kind: claim.template?.kind, reasons: [...new Set(reasons)] };
  if (!claim.template || !claim.name) {
    return { verdict: 'unrecognised', network: network.name, reasons: [`from ${network.name} but no template matches the subject "${facts.subject.slice(0, 80)}"`] };
  }

  const senderName = claim.name;
  const recipient = network.recipient.exec(text)?.groups;
  const recipientName = recipient?.name ? normaliseSpace(recipient.name) : undefined;
  const profileLinks = resolved.map((l) => ({ ...l, id: profileIdOf(l.url, network) })).filter((l) => l.id !== undefined);
  // The recipient's own links: named with their name, or (plain text) introduced by the footer.
  const isRecipient = (l: (typeof profileLinks)[number]) =>
    (recipientName !== undefined && (fold(l.text) === fold(recipientName) || (l.text === '' && fold(l.before).includes(fold(recipientName)) && !fold(l.before).includes(fold(senderName)))))
    || (l.text === '' && network.recipient.test(l.before));
  const recipientIds = new Set(profileLinks.filter(isRecipient).map((l) => l.id));
  const named = profileLinks.find((l) => fold(l.text) === fold(senderName))
    ?? profileLinks.find((l) => l.text === '' && fold(l.before).includes(fold(senderName)) && !recipientIds.has(l.id))
    ?? profileLinks.find((l) => !recipientIds.has(l.id) && !isRecipient(l));
  const onMedia = (img: { src: string }) => under(safeUrl(img.src)?.hostname.toLowerCase() ?? '', network.mediaHosts);
  const picture = images.find((img) => fold(img.alt) === fold(senderName) && onMedia(img))
    ?? images.find((img) => img.alt === '' && img.before !== undefined && fold(img.before).includes(fold(senderName)) && !network.recipient.test(img.before) && onMedia(img));
  const lines = text.split('\n').map(normaliseSpace);
  const at = lines.findIndex((line) => fold(line) === fold(senderName));
  const headline = at >= 0 && lines[at + 1] && !network.recipient.test(lines[at + 1]) ? lines[at + 1] : null;
  const to = facts.deliveredTo ?? facts.to[0];
  if (!to) return { verdict: 'unrecognised', network: network.name, kind: claim.template.kind, reasons: ['no recipient (To or Delivered-To)'] };
  const notes = named ? [] : ['no profile link for the sender'];
  if (!(facts.headers.get('dkim-signature') ?? []).length) notes.push('no DKIM signature to check');
  return {
    verdict: 'genuine', network: network.name, kind: claim.template.kind, template: claim.template.subject.source, reasons: notes, recipient: to,
    interaction: {
      ts: facts.date, profileId: named?.id ?? null, profileName: senderName, profileUrl: named?.id ? network.profileUrl.replace('{id}', encodeURIComponent(named.id)) : null,
      imageUrl: picture?.src ?? null, headline, userEmail: to.toLowerCase(), userTitle: recipient?.headline ? normaliseSpace(recipient.headline) : null,
    },
  };
}
