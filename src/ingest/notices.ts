/**
 * Social-network notification e-mails (the seed's "Hunting for Fakes": "an email notification for
 * a connection request or a message will include a link with the profile name as well as a link to
 * the profile image"). A mail is the network's by who sent it, not by its wording:
 *   genuine          From domain under the network's domains, no DKIM signature of anyone else only,
 *                    no failed SPF/DKIM/DMARC, one author: one interaction (who, which profile, what
 *                    kind, when) and the profile. The kind comes from the network's own headers
 *                    (X-LinkedIn-Template, -Class), then a subject template that matches (any
 *                    language, config patterns), then the sender address (invitations@,
 *                    inmail-hit-reply@), else "other"; the sender from the body (name, headline,
 *                    profile link, picture)
 *   not an interaction  the network's newsletters, digests, job alerts, or a notice that names no
 *                    sender: recorded with the reason, never counted
 *   lookalike        claims the network (display name, Reply-To, its headers, subject, logo, a
 *                    look-alike From domain) but is not from it, or is from it and fails a check
 *                    (foreign DKIM, SPF/DKIM/DMARC fail, several From addresses, links or pictures
 *                    on look-alike hosts): kept with its reasons, never an interaction
 *   unrecognised     nothing in it claims a known network
 * Networks are data (config/notifications.yml, ./notifications.yml). Every notice also carries the
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
import { authFailures, dkimDomains } from './mail-auth.ts';
import { getDomain } from 'tldts';
import { impersonation, readableHost, under } from './lookalike.ts';

export const NOTICE_KINDS = ['connect_request', 'connect_accept', 'message', 'view', 'other'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/** A rule over the network's own headers (template id and class), the sender's address or the subject. */
interface Matcher {
  header?: RegExp;
  sender?: RegExp;
  subject?: RegExp;
}

export interface Network {
  name: string;
  domains: string[];
  mediaHosts: string[];
  /** Words that claim the network in a display name, subject or logo (default: its name). */
  brand: string[];
  /** The network's own header names (lower-case): their values tell the kind. */
  headers: string[];
  profileLinks: { pattern: RegExp; url?: string; keepCase: boolean }[];
  redirectParams: string[];
  recipient: RegExp;
  templates: { kind: NoticeKind; subject: RegExp }[];
  kinds: (Matcher & { kind: NoticeKind })[];
  notInteractions: (Matcher & { reason: string })[];
  /** The profile's canonical address, {id} replaced (links in notices vary: tracking, old forms). */
  profileUrl: string;
}

/** What a parsed e-mail gives the reader (mailparser's fields, reduced to what is used). */
export interface MailFacts {
  from?: string;
  fromName?: string;
  /** Every address in From (a forged mail may list several). */
  fromAll?: string[];
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

export type Verdict = 'genuine' | 'lookalike' | 'not an interaction' | 'unrecognised';

export interface Notice {
  verdict: Verdict;
  network?: string;
  kind?: NoticeKind;
  template?: string;
  reasons: string[];
  recipient?: string;
  interaction?: {
    ts: Date | undefined;
    profileId: string | null;
    profileName: string;
    profileUrl: string | null;
    imageUrl: string | null;
    headline: string | null;
    userEmail: string;
    userTitle: string | null;
  };
}

export const SHIPPED_TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'config', 'notifications.yml');

/** How a lookalike is recorded in detections (so it counts in risk and the insider's story). */
export interface LookalikeRule {
  ruleId: string;
  rule: string;
  weight: number;
  phase: string;
}

export interface NoticeConfig {
  networks: Network[];
  lookalike: LookalikeRule;
  /** The files in force, shipped first. */
  files: string[];
}

const DEFAULT_LOOKALIKE: LookalikeRule = {
  ruleId: 'mail.lookalike',
  rule: 'Look-alike of a social-network notification',
  weight: 80,
  phase: 'deception',
};

/** One problem of a notifications file, as config validate lists them. */
export interface NoticeProblem {
  file: string;
  key: string;
  message: string;
}

/** The local overlay in force: the file given, else ./notifications.yml when there is one. */
export function chosenNoticesPath(path?: string): string | undefined {
  return path ?? (existsSync('notifications.yml') ? 'notifications.yml' : undefined);
}

/** Every problem of the shipped networks and the overlay, and what is in force when there are none. */
export function checkNotices(path?: string): { config?: NoticeConfig; problems: NoticeProblem[] } {
  const networks = new Map<string, Network>();
  let lookalike = DEFAULT_LOOKALIKE;
  const overlay = chosenNoticesPath(path);
  const files = [SHIPPED_TEMPLATES, ...(overlay ? [overlay] : [])];
  const problems: NoticeProblem[] = [];
  for (const file of files) {
    if (!existsSync(file)) {
      problems.push({ file, key: '(file)', message: 'notifications file not found' });
      continue;
    }
    const doc = readDoc(file, problems);
    if (doc === undefined) continue;
    for (const n of readNetworks(doc, file, problems)) networks.set(n.name, n);
    lookalike = readLookalike(doc, file, problems) ?? lookalike;
  }
  return { config: problems.length === 0 ? { networks: [...networks.values()], lookalike, files } : undefined, problems };
}

/** The networks in force (shipped, with ./notifications.yml or the file given over them); every problem refused at once. */
export function loadNotices(path?: string): NoticeConfig {
  const { config, problems } = checkNotices(path);
  if (!config) {
    throw new InputError(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the notification templates (huntbook config validate lists them): ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`,
      { location: { file: problems[0].file } },
    );
  }
  return config;
}

export function loadNetworks(path?: string): Network[] {
  return loadNotices(path).networks;
}

function readDoc(file: string, problems: NoticeProblem[]): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    problems.push({ file, key: '(file)', message: `not YAML: ${(error as Error).message.split('\n')[0]}` });
    return undefined;
  }
}

const TOP_KEYS = new Set(['networks', 'lookalike_detection']);
const NETWORK_KEYS = new Set([
  'name',
  'domains',
  'media_hosts',
  'brand',
  'headers',
  'profile_links',
  'redirect_params',
  'recipient',
  'templates',
  'kinds',
  'not_interactions',
  'profile_url',
]);

function readLookalike(doc: unknown, file: string, problems: NoticeProblem[]): LookalikeRule | undefined {
  const raw = (doc as { lookalike_detection?: Record<string, unknown> })?.lookalike_detection;
  if (raw === undefined) return undefined;
  const weight = Number(raw.weight ?? DEFAULT_LOOKALIKE.weight);
  if (!Number.isFinite(weight) || weight < 0) {
    problems.push({ file, key: 'lookalike_detection.weight', message: 'must be a number ≥ 0' });
    return undefined;
  }
  return { ...DEFAULT_LOOKALIKE, weight, phase: typeof raw.phase === 'string' ? raw.phase : DEFAULT_LOOKALIKE.phase };
}

/**
 * A domain that may stand for a network: a registrable name (linkedin.com) or a host under one,
 * never a public suffix (com, co.uk, github.io), which would make half the internet "the network".
 */
function domainProblem(domain: string): string | undefined {
  if (!/^[a-z0-9.-]+$/.test(domain) || domain.startsWith('.') || domain.endsWith('.') || !domain.includes('.')) {
    return domain.includes('.')
      ? `"${domain}" is not a domain name`
      : `"${domain}" is a public suffix or top-level domain, not a domain of one network`;
  }
  if (getDomain(domain, { allowPrivateDomains: true }) === null) return `"${domain}" is a public suffix, not a domain of one network`;
  return undefined;
}

function readNetworks(doc: unknown, file: string, problems: NoticeProblem[]): Network[] {
  const fail = (key: string, message: string) => problems.push({ file, key, message });
  if (typeof doc !== 'object' || doc === null) {
    fail('(file)', 'needs a list under "networks"');
    return [];
  }
  for (const key of Object.keys(doc)) if (!TOP_KEYS.has(key)) fail(key, `unknown key (known: ${[...TOP_KEYS].join(', ')})`);
  const list = (doc as { networks?: unknown }).networks;
  if (!Array.isArray(list)) {
    fail('networks', 'needs a list of networks');
    return [];
  }
  const out: Network[] = [];
  list.forEach((raw: Record<string, unknown>, i) => {
    const where = `networks[${i}]`;
    const before = problems.length;
    if (typeof raw !== 'object' || raw === null) {
      fail(where, 'must be a mapping');
      return;
    }
    for (const key of Object.keys(raw))
      if (!NETWORK_KEYS.has(key)) fail(`${where}.${key}`, `unknown key (known: ${[...NETWORK_KEYS].join(', ')})`);
    const regex = (pattern: unknown, what: string, flags = 'i') => {
      try {
        return new RegExp(String(pattern), flags);
      } catch (error) {
        fail(`${where}.${what}`, (error as Error).message);
        return /$^/;
      }
    };
    const strings = (v: unknown) => (Array.isArray(v) ? v.map((x) => String(x).toLowerCase()) : []);
    const kindOf = (k: unknown, what: string) => {
      if (!(NOTICE_KINDS as readonly string[]).includes(String(k)))
        fail(`${where}.${what}.kind`, `must be one of ${NOTICE_KINDS.join(', ')}`);
      return k as NoticeKind;
    };
    const matcher = (m: Record<string, unknown>, what: string): Matcher => {
      const o: Matcher = {};
      for (const key of ['header', 'sender', 'subject'] as const) if (m[key] !== undefined) o[key] = regex(m[key], `${what}.${key}`);
      if (!o.header && !o.sender && !o.subject) fail(`${where}.${what}`, 'needs header, sender or subject');
      return o;
    };
    const entries = (v: unknown) => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);
    const templates = entries(raw.templates).map((t, j) => {
      const subject = regex(t.subject, `templates[${j}].subject`);
      if (!/\(\?<name>/.test(subject.source)) fail(`${where}.templates[${j}].subject`, 'needs a group named name');
      return { kind: kindOf(t.kind, `templates[${j}]`), subject };
    });
    if (typeof raw.name !== 'string' || raw.name.trim() === '') fail(`${where}.name`, 'needs a name');
    const domains = strings(raw.domains);
    if (domains.length === 0) fail(`${where}.domains`, 'needs at least one domain');
    domains.forEach((d, j) => {
      const problem = domainProblem(d);
      if (problem) fail(`${where}.domains[${j}]`, problem);
    });
    strings(raw.media_hosts).forEach((d, j) => {
      const problem = domainProblem(d);
      if (problem) fail(`${where}.media_hosts[${j}]`, problem);
    });
    const network: Network = {
      name: String(raw.name),
      domains,
      mediaHosts: strings(raw.media_hosts),
      headers: strings(raw.headers),
      brand: strings(raw.brand).length > 0 ? strings(raw.brand) : [String(raw.name).toLowerCase().split('.')[0]],
      profileLinks: (Array.isArray(raw.profile_links) ? raw.profile_links : []).map((p: unknown, j) => {
        const entry = typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : { pattern: p };
        return {
          pattern: regex(entry.pattern, `profile_links[${j}]`, ''),
          url: typeof entry.url === 'string' ? entry.url : undefined,
          keepCase: entry.case === 'keep',
        };
      }),
      redirectParams: strings(raw.redirect_params),
      recipient: regex(raw.recipient ?? '$^', 'recipient'),
      templates,
      kinds: entries(raw.kinds).map((k, j) => ({ ...matcher(k, `kinds[${j}]`), kind: kindOf(k.kind, `kinds[${j}]`) })),
      notInteractions: entries(raw.not_interactions).map((k, j) => ({
        ...matcher(k, `not_interactions[${j}]`),
        reason: String(k.reason ?? 'not an interaction'),
      })),
      profileUrl: typeof raw.profile_url === 'string' ? raw.profile_url : `https://${domains[0]}/in/{id}`,
    };
    if (problems.length === before) out.push(network);
  });
  return out;
}

interface Link {
  url: URL;
  /** The href as written (userinfo tricks are judged on it). */
  href: string;
  text: string;
  /** Up to 400 characters before the link (plain-text bodies: what names it). */
  before: string;
  /** Pictures inside the link (a profile card's photo links to the profile). */
  images: string[];
}

interface Picture {
  src: string;
  alt: string;
  before?: string;
}

interface Body {
  links: Link[];
  images: Picture[];
  text: string;
  title: string;
}

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

function bodyOf(facts: MailFacts): Body {
  if (facts.html) {
    const doc = parseDocument(facts.html, { decodeEntities: true });
    const links: Link[] = [];
    for (const a of getElementsByTagName('a', doc)) {
      const href = getAttributeValue(a, 'href') ?? '';
      const url = href ? safeUrl(href) : undefined;
      const images = getElementsByTagName('img', a)
        .map((img) => getAttributeValue(img, 'src') ?? '')
        .filter(Boolean);
      // A link that is only a picture is named by the picture's alt text (the recipient's header photo).
      const alt =
        getElementsByTagName('img', a)
          .map((img) => getAttributeValue(img, 'alt') ?? '')
          .find(Boolean) ?? '';
      const text = normaliseSpace(textContent(a)) || normaliseSpace(alt);
      if (url) links.push({ url, href, text, before: '', images });
    }
    const images = getElementsByTagName('img', doc).map((img) => ({
      src: getAttributeValue(img, 'src') ?? '',
      alt: normaliseSpace(getAttributeValue(img, 'alt') ?? ''),
    }));
    const title = getElementsByTagName('title', doc)
      .map((t) => normaliseSpace(textContent(t)))
      .join(' ');
    // The text is made from the HTML here (not mailparser's rendering, which inlines link targets).
    return { links, images, text: htmlText(doc), title };
  }
  const text = facts.text ?? '';
  const links: Link[] = [];
  for (const match of text.matchAll(/https?:\/\/[^\s<>"')\]]+/gi)) {
    const url = safeUrl(match[0]);
    if (url) links.push({ url, href: match[0], text: '', before: text.slice(Math.max(0, match.index - 400), match.index), images: [] });
  }
  // A plain-text notice names a picture by its address: an image link, named by what precedes it.
  const images = links
    .filter((l) => /\.(?:jpe?g|png|gif|webp)(?:\?|$)/i.test(l.url.pathname))
    .map((l) => ({ src: l.url.href, alt: '', before: l.before }));
  return { links: links.filter((l) => !images.some((i) => i.src === l.url.href)), images, text, title: '' };
}

function htmlText(doc: ReturnType<typeof parseDocument>): string {
  // Block elements end lines, so "the line after the name" means the same as in a text part.
  const lines: string[] = [];
  const walk = (nodes: ReturnType<typeof parseDocument>['children']) => {
    for (const node of nodes) {
      if (node.type === 'text') lines.push((node as unknown as { data: string }).data);
      else if ('children' in node) {
        const name = (node as { name?: string }).name ?? '';
        if (/^(style|script|title|head)$/i.test(name)) continue;
        const block = /^(p|div|br|tr|td|li|h\d|table)$/i.test(name);
        if (block) lines.push('\n');
        walk((node as { children: ReturnType<typeof parseDocument>['children'] }).children);
        if (block) lines.push('\n');
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

const normaliseSpace = (s: string) => s.replace(/(?:[\s\u00a0\u200b-\u200d]|\u034f)+/g, ' ').trim();
const fold = (s: string) => normaliseSpace(s).toLowerCase();

function domainOf(address: string | undefined): string | undefined {
  const at = address?.lastIndexOf('@') ?? -1;
  return at >= 0
    ? address!
        .slice(at + 1)
        .toLowerCase()
        .replace(/>$/, '')
    : undefined;
}

function localOf(address: string | undefined): string {
  const at = address?.lastIndexOf('@') ?? -1;
  return at >= 0 ? address!.slice(0, at + 1).toLowerCase() : '';
}

function profileOf(url: URL, network: Network): { id: string; url: string } | undefined {
  if (!under(url.hostname.toLowerCase(), network.domains)) return undefined;
  const path = `${url.pathname}${url.search}`;
  for (const link of network.profileLinks) {
    const raw = link.pattern.exec(path)?.groups?.id;
    if (!raw) continue;
    let id = raw;
    try {
      id = decodeURIComponent(raw);
    } catch {
      // a malformed escape stays as written
    }
    // Vanity slugs are case-insensitive; opaque member ids (profile/view?id=) are not.
    if (!link.keepCase) id = id.toLowerCase();
    return { id, url: (link.url ?? network.profileUrl).replace('{id}', encodeURIComponent(id)) };
  }
  return undefined;
}

/** Does `text` name the network: one of its brand words, or one letter off a long one ("LinkeIn via …")? */
function namesBrand(text: string | undefined, network: Network, fuzzy: boolean): boolean {
  if (!text) return false;
  const plain = (s: string) =>
    fold(s)
      .replace(/[^\p{L}\p{N}]+/gu, ' ')
      .trim();
  const words = plain(text).split(' ').filter(Boolean);
  const padded = ` ${plain(text)} `;
  return network.brand
    .map(plain)
    .some((b) =>
      b.includes(' ')
        ? padded.includes(` ${b} `)
        : words.some((w) => w === b || (fuzzy && b.length >= 6 && Math.abs(w.length - b.length) <= 1 && editDistance(w, b) <= 1)),
    );
}

/** The sender's name as From shows it: "Ana Lima via LinkedIn" → Ana Lima; "LinkedIn" alone is no person. */
function personOf(displayName: string | undefined, network: Network): string | undefined {
  if (!displayName) return undefined;
  const name = normaliseSpace(
    displayName.replace(
      new RegExp(
        `\\s+(?:via|über|par|vía|tramite|через)\\s+(?:${network.brand.map((b) => b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+')).join('|')})\\s*$`,
        'iu',
      ),
      '',
    ),
  );
  if (!name || namesBrand(name, network, false)) return undefined;
  return name;
}

/** The network's own headers, as one text its rules match (template id and class). */
function networkHeaderText(facts: MailFacts, network: Network): string {
  return network.headers.flatMap((h) => facts.headers.get(h) ?? []).join(' ');
}

interface Claim {
  network: Network;
  /** Why the mail claims this network (when its From is not the network's). */
  because: string[];
}

/** Which network the mail is from (its From domain), or which one it claims to be from, and why. */
function claimedNetwork(facts: MailFacts, body: Body, networks: readonly Network[]): Claim | undefined {
  const fromDomain = domainOf(facts.from) ?? '';
  const own = networks.find((n) => under(fromDomain, n.domains));
  if (own) return { network: own, because: [] };
  for (const n of networks) {
    const because: string[] = [];
    const pretend = fromDomain ? impersonation(fromDomain, n.domains) : undefined;
    if (pretend) because.push(`From domain ${pretend}`);
    if (namesBrand(facts.fromName, n, true)) because.push(`display name "${facts.fromName}" claims ${n.name}`);
    const reply = domainOf(facts.replyTo);
    if (reply && under(reply, n.domains)) because.push(`Reply-To is ${facts.replyTo} (${n.name}) while From is not`);
    if (networkHeaderText(facts, n))
      because.push(`carries ${n.name}'s own headers (${n.headers.filter((h) => facts.headers.has(h)).join(', ')})`);
    if (namesBrand(facts.subject, n, false)) because.push(`subject names ${n.name}`);
    if (namesBrand(body.title, n, true) || body.images.some((img) => namesBrand(img.alt, n, true) && !/profile picture/i.test(img.alt)))
      because.push(`shows ${n.name}'s name or logo`);
    if (body.links.some((l) => linkTrick(l, n))) because.push(`links dressed as ${n.name}`);
    if (because.length > 0) return { network: n, because };
  }
  return undefined;
}

/** A link that shows the network but goes elsewhere: userinfo before the host, or link text naming a network host. */
function linkTrick(link: Link, network: Network): string | undefined {
  const host = link.url.hostname.toLowerCase();
  if (under(host, network.domains)) return undefined;
  // https://www.linkedin.com@evil.io/in/x: everything before @ is a user name, the host is evil.io.
  if (link.url.username || link.url.password) {
    const shown = decodeURIComponent(link.url.username);
    return `a link shows "${shown}" before @ but goes to ${readableHost(host)}`;
  }
  const shownHost = /(?:https?:\/\/)?([a-z0-9.-]+\.[a-z]{2,})(?:[/\s]|$)/i.exec(link.text)?.[1]?.toLowerCase();
  if (shownHost && under(shownHost, network.domains)) return `a link reads "${link.text.slice(0, 60)}" but goes to ${readableHost(host)}`;
  return undefined;
}

/** The kind, and whether the mail is an interaction at all, from the network's headers, sender and subject. */
function kindOf(
  facts: MailFacts,
  network: Network,
): { kind?: NoticeKind; template?: string; notInteraction?: string; subjectName?: string } {
  const headerText = networkHeaderText(facts, network);
  const sender = localOf(facts.from);
  const subject = normaliseSpace(facts.subject);
  const template =
    network.headers
      .map((h) => facts.headers.get(h)?.[0])
      .filter(Boolean)
      .join(' / ') || undefined;
  const hit = (m: Matcher) =>
    (m.header && headerText && m.header.test(headerText)) || (m.sender && sender && m.sender.test(sender)) || m.subject?.test(subject);
  const not = network.notInteractions.find(hit);
  if (not) return { notInteraction: `${not.reason}${template ? ` (${template})` : ` (${facts.from ?? 'no sender'})`}`, template };
  let subjectName: string | undefined;
  let subjectKind: NoticeKind | undefined;
  let subjectTemplate: string | undefined;
  for (const t of network.templates) {
    const name = t.subject.exec(subject)?.groups?.name;
    if (name) {
      subjectName = normaliseSpace(name);
      subjectKind = t.kind;
      subjectTemplate = t.subject.source;
      break;
    }
  }
  // The network's headers know best. Then a subject template, when one matches: it names the kind
  // exactly, and one sender sends several kinds (invitations@ sends requests and "X accepted your
  // invitation" alike). Then the sender, which is what types a notice no template knows (another
  // language, new wording). Else "other".
  const byHeader = headerText ? network.kinds.find((k) => k.header?.test(headerText)) : undefined;
  const bySender = network.kinds.find((k) => k.sender && sender && k.sender.test(sender));
  const kind = byHeader?.kind ?? subjectKind ?? bySender?.kind ?? 'other';
  return { kind, template: template ?? subjectTemplate, subjectName };
}

export function readNotice(facts: MailFacts, networks: readonly Network[]): Notice {
  const body = bodyOf(facts);
  const claim = claimedNetwork(facts, body, networks);
  if (!claim)
    return {
      verdict: 'unrecognised',
      reasons: [
        'not a notification of a known network (nothing in it claims one: From domain, display name, Reply-To, headers, subject or logo)',
      ],
    };
  const { network } = claim;
  const reasons: string[] = [];
  const fromDomain = domainOf(facts.from) ?? '(none)';
  if (!under(fromDomain, network.domains)) {
    reasons.push(`From ${facts.from ?? '(none)'} is not ${network.name}'s (${network.domains[0]})`, ...claim.because);
  }
  const authors = facts.fromAll ?? (facts.from ? [facts.from] : []);
  if (authors.length > 1) reasons.push(`From lists ${authors.length} addresses (${authors.join(', ')})`);
  const signers = dkimDomains(facts.headers.get('dkim-signature') ?? []);
  const aligned = signers.some((d) => under(d, network.domains));
  if (signers.length > 0 && !aligned) reasons.push(`DKIM signed by ${signers.map(readableHost).join(', ')}, not ${network.domains[0]}`);
  for (const failure of authFailures(facts.headers.get('authentication-results') ?? []))
    reasons.push(`${failure} (Authentication-Results)`);
  const replyDomain = domainOf(facts.replyTo);
  if (replyDomain && !under(replyDomain, network.domains)) reasons.push(`Reply-To goes to ${readableHost(replyDomain)}`);
  const allowedHosts = [...network.domains, ...network.mediaHosts];
  const resolved = body.links.map((l) => ({ ...l, url: unwrap(l.url, network) }));
  const judged = new Set<string>();
  for (const link of [...body.links, ...resolved]) {
    const host = link.url.hostname.toLowerCase();
    const trick = linkTrick(link, network);
    if (trick) reasons.push(trick);
    if (judged.has(host) || under(host, allowedHosts)) continue;
    judged.add(host);
    const pretend = impersonation(host, allowedHosts);
    // A signed notice carries what its members wrote (a recruiter's calendar link); an unsigned one does not get that benefit.
    if (pretend) reasons.push(`link to ${pretend}`);
    else if (!aligned) reasons.push(`link to an unrelated host ${readableHost(host)}`);
  }
  for (const img of body.images) {
    const host = safeUrl(img.src)?.hostname.toLowerCase();
    if (!host || under(host, allowedHosts) || judged.has(`img:${host}`)) continue;
    judged.add(`img:${host}`);
    const pretend = impersonation(host, allowedHosts);
    if (pretend) reasons.push(`picture from ${pretend}`);
    else if (!aligned) reasons.push(`picture from an unrelated host ${readableHost(host)}`);
  }
  const { kind, template, notInteraction, subjectName } = kindOf(facts, network);
  if (reasons.length > 0)
    return {
      verdict: 'lookalike',
      network: network.name,
      kind,
      template,
      reasons: [...new Set(reasons)],
      recipient: facts.deliveredTo ?? facts.to[0],
    };
  if (notInteraction) return { verdict: 'not an interaction', network: network.name, template, reasons: [notInteraction] };

  const to = facts.deliveredTo ?? facts.to[0];
  if (!to) return { verdict: 'not an interaction', network: network.name, kind, template, reasons: ['no recipient (To or Delivered-To)'] };
  const recipient = network.recipient.exec(body.text)?.groups;
  const recipientName = recipient?.name ? normaliseSpace(recipient.name) : undefined;
  const profileLinks = resolved.map((l) => ({ ...l, profile: profileOf(l.url, network) })).filter((l) => l.profile !== undefined);
  // The recipient's own links: named with their name, or (plain text) introduced by the footer.
  const isRecipient = (l: (typeof profileLinks)[number]) =>
    (recipientName !== undefined &&
      (fold(l.text) === fold(recipientName) || (l.text === '' && fold(l.before).includes(fold(recipientName))))) ||
    (l.text === '' && network.recipient.test(l.before));
  const recipientIds = new Set(profileLinks.filter(isRecipient).map((l) => l.profile!.id));
  const others = profileLinks.filter((l) => !recipientIds.has(l.profile!.id));
  // The sender's name: the subject's (a template that names them), From's display name, or the name on the one other profile link.
  const fromPerson = personOf(facts.fromName, network);
  const candidates = [subjectName, fromPerson].filter((n): n is string => Boolean(n));
  const linked = (name: string) =>
    others.find((l) => fold(l.text) === fold(name)) ?? others.find((l) => l.text === '' && fold(l.before).includes(fold(name)));
  let senderName = candidates.find((n) => linked(n)) ?? candidates[0];
  const notes: string[] = [];
  if (!senderName) {
    const named = others.find((l) => l.text && !/^(view|accept|reply|see)\b/i.test(l.text));
    if (named) {
      senderName = named.text;
      notes.push(`sender named from the body's profile link ("${named.text}")`);
    }
  }
  if (subjectName && fromPerson && fold(subjectName) !== fold(fromPerson))
    notes.push(`the subject names ${subjectName}, From says ${fromPerson}: used ${senderName}`);
  const named = senderName
    ? (linked(senderName) ?? (others.length > 0 && new Set(others.map((l) => l.profile!.id)).size === 1 ? others[0] : undefined))
    : undefined;
  if (senderName && named?.text && fold(named.text) !== fold(senderName) && !/^(view|accept|reply|see)\b/i.test(named.text)) {
    notes.push(
      `the body names the sender "${named.text}", ${subjectName === senderName ? 'the subject' : 'From'} says "${senderName}": used "${senderName}"`,
    );
  }
  if (!senderName && !named)
    return {
      verdict: 'not an interaction',
      network: network.name,
      kind,
      template,
      reasons: ['from the network but names no sender (no name, no profile link)'],
    };
  if (kind === 'other' && !named)
    return {
      verdict: 'not an interaction',
      network: network.name,
      kind,
      template,
      reasons: [`a notice of an unknown kind with no sender profile link ("${facts.subject.slice(0, 80)}")`],
    };
  const name = senderName ?? named!.text;
  const onMedia = (src: string) => under(safeUrl(src)?.hostname.toLowerCase() ?? '', network.mediaHosts);
  const altNames = (alt: string) =>
    fold(alt) === fold(name) ||
    fold(alt).startsWith(`${fold(name)} `) ||
    fold(alt).startsWith(`${fold(name)}’s`) ||
    fold(alt).startsWith(`${fold(name)}'s`);
  const picture =
    body.images.find((img) => altNames(img.alt) && onMedia(img.src))?.src ??
    (named
      ? profileLinks
          .filter((l) => l.profile!.id === named.profile!.id)
          .flatMap((l) => l.images)
          .find(onMedia)
      : undefined) ??
    body.images.find(
      (img) =>
        img.alt === '' &&
        img.before !== undefined &&
        fold(img.before).includes(fold(name)) &&
        !network.recipient.test(img.before) &&
        onMedia(img.src),
    )?.src;
  const lines = body.text.split('\n').map(normaliseSpace);
  const at = lines.findIndex((line) => fold(line) === fold(name));
  const next = at >= 0 ? lines[at + 1] : undefined;
  const headline =
    next && !network.recipient.test(next) && !/^(reply|view|accept|ignore)\b/i.test(next) && !/^https?:/i.test(next) ? next : null;
  if (!named) notes.push('no profile link for the sender');
  if (signers.length === 0) notes.push('no DKIM signature to check');
  return {
    verdict: 'genuine',
    network: network.name,
    kind,
    template,
    reasons: notes,
    recipient: to,
    interaction: {
      ts: facts.date,
      profileId: named?.profile?.id ?? null,
      profileName: name,
      profileUrl: named?.profile?.url ?? null,
      imageUrl: picture ?? null,
      headline,
      userEmail: to.toLowerCase(),
      userTitle: recipient?.headline ? normaliseSpace(recipient.headline) : null,
    },
  };
}
