/**
 * What a mail's own authentication headers say, read as their RFCs define them (not by one regex
 * per header shape an attacker can vary):
 *   DKIM-Signature          RFC 6376 §3.2 tag-list: `tag = value` pairs split on ';', whitespace
 *                           (folding included) allowed around '=' and ';'
 *   Authentication-Results  RFC 8601: an authserv-id, then `method=result` items (with properties),
 *                           comments in parentheses ignored
 */

/** The tags of a DKIM-Signature header (lower-cased names, values with whitespace removed). */
export function dkimTags(header: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    // RFC 6376: FWS is allowed inside tag values of the kinds used here and carries no meaning.
    if (/^[a-z][a-z0-9_]*$/.test(name) && !tags.has(name)) tags.set(name, part.slice(eq + 1).replace(/\s+/g, ''));
  }
  return tags;
}

/** The signing domain (d=) of each DKIM-Signature, lower-cased. */
export function dkimDomains(headers: readonly string[]): string[] {
  return headers.map((h) => dkimTags(h).get('d')?.toLowerCase()).filter((d): d is string => Boolean(d));
}

export interface AuthResult {
  method: string;
  result: string;
  /** Properties such as header.d, header.from, smtp.mailfrom (lower-cased names). */
  props: Map<string, string>;
}

/** Removes RFC 5322 comments (nested parentheses), which may hold anything. */
function stripComments(text: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length) {
      if (depth === 0) out += ch + text[i + 1];
      i++;
    } else if (ch === '"' && depth === 0) {
      quoted = !quoted;
      out += ch;
    } else if (ch === '(' && !quoted) depth++;
    else if (ch === ')' && !quoted && depth > 0) depth--;
    else if (depth === 0) out += ch;
  }
  return out;
}

/** The method results of one Authentication-Results header (its authserv-id dropped). */
export function authResults(header: string): AuthResult[] {
  const items = stripComments(header)
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
  const results: AuthResult[] = [];
  // The first item is normally the authserv-id; a header that omits it (as forged ones do) still counts.
  for (const item of items) {
    const tokens = item.split(/\s+/).filter(Boolean);
    const head = /^([a-z0-9-]+)(?:\/\d+)?\s*=\s*([a-z0-9-]+)$/i.exec(tokens[0] ?? '');
    if (!head) continue;
    const props = new Map<string, string>();
    for (const token of tokens.slice(1)) {
      const eq = token.indexOf('=');
      if (eq > 0) props.set(token.slice(0, eq).toLowerCase(), token.slice(eq + 1).replace(/^"|"$/g, ''));
    }
    results.push({ method: head[1].toLowerCase(), result: head[2].toLowerCase(), props });
  }
  return results;
}

/** Results that say the mail failed a check: SPF, DKIM or DMARC fail, softfail, permerror. */
export function authFailures(headers: readonly string[]): string[] {
  const failed = new Set<string>();
  for (const header of headers) {
    for (const r of authResults(header)) {
      if (['spf', 'dkim', 'dmarc'].includes(r.method) && ['fail', 'softfail', 'permerror'].includes(r.result))
        failed.add(`${r.method.toUpperCase()} ${r.result}`);
    }
  }
  return [...failed];
}
