/**
 * Sigma value modifiers that turn one value into the strings to look for: base64, base64offset,
 * utf16/utf16le/utf16be/wide, windash. Pure string work, no SQL.
 */

export function utf16(value: string, variant: 'utf16le' | 'utf16be' | 'utf16'): Buffer {
  const le = Buffer.from(value, 'utf16le');
  if (variant === 'utf16le') return le;
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1];
    be[i + 1] = le[i];
  }
  if (variant === 'utf16be') return be;
  return Buffer.concat([Buffer.from([0xff, 0xfe]), le]); // "utf16": little-endian with its byte-order mark
}

/** The bytes a value's encoding modifiers ask for: UTF-16 (wide, utf16le, utf16be, utf16), else UTF-8. */
export function encodeForModifiers(plain: string, has: (modifier: string) => boolean): Buffer {
  if (has('wide') || has('utf16le')) return utf16(plain, 'utf16le');
  if (has('utf16be')) return utf16(plain, 'utf16be');
  if (has('utf16')) return utf16(plain, 'utf16');
  return Buffer.from(plain, 'utf8');
}

export function base64(bytes: Buffer): string {
  return bytes.toString('base64');
}

/**
 * The three base64 renderings of `bytes` at byte offsets 0, 1 and 2 within a longer encoded
 * text, trimmed to the characters that do not depend on the unknown neighbours.
 */
export function base64Offsets(bytes: Buffer): string[] {
  const startOffsets = [0, 2, 3];
  const endOffsets = [0, -3, -2];
  return [0, 1, 2].map((i) => {
    const encoded = Buffer.concat([Buffer.alloc(i, 0x20), bytes]).toString('base64');
    const end = endOffsets[(bytes.length + i) % 3];
    return encoded.slice(startOffsets[i], end === 0 ? undefined : encoded.length + end);
  });
}

/** Windows accepts -, /, and the en/em/horizontal-bar dashes before command-line switches. */
export function windashVariants(value: string): string[] {
  if (!value.includes('-') && !value.includes('/')) return [value];
  const dashes = ['-', '/', '\u2013', '\u2014', '\u2015'];
  const variants = new Set<string>();
  for (const dash of dashes) variants.add(value.replace(/(^|\s)[-/]/g, (_match, lead: string) => `${lead}${dash}`));
  variants.add(value);
  return [...variants];
}
