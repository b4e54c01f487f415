import { createHmac } from 'node:crypto';

import type { MaskEntity, MaskStyle } from './types.js';

const SIGNIFICANT = /[\p{L}\p{N}]/u;
/** Hex digits of HMAC-SHA256 kept in a `hash` token: 64 bits, collision-safe for joins on real data sets. */
export const HASH_HEX_LENGTH = 16;
export const HASH_PREFIX = 'h:';
const PARTIAL_KEEP = 4;

/**
 * Whether `chars[i]` is the letter of a line-break or tab escape (`\n`, `\r`, `\t`): a private key in a
 * JSON string (a GCP service-account file) has its lines broken by them. They are structure, not part
 * of the value, and a masked letter would leave an invalid escape (`\*`) that breaks the JSON.
 */
function isEscapeLetter(chars: readonly string[], i: number): boolean {
  const ch = chars[i];
  return (ch === 'n' || ch === 'r' || ch === 't') && chars[i - 1] === '\\' && chars[i - 2] !== '\\';
}

/** Every letter and digit becomes `*`; separators and structure stay. */
export function maskFull(value: string): string {
  const chars = [...value];
  let out = '';
  chars.forEach((ch, i) => {
    out += SIGNIFICANT.test(ch) && !isEscapeLetter(chars, i) ? '*' : ch;
  });
  return out;
}

/** Keeps the last 4 letters/digits, but never more than half of them, so short values are not revealed. */
export function maskPartial(value: string, entity?: MaskEntity): string {
  if (entity === 'email') {
    const at = lastAtSign(value);
    if (at > 0) {
      // The first character of the local part stays, unless it is all there is: a partial mask never
      // shows the whole value (`x@y.io` → `*@y.io`). The domain stays, unless it is an address literal:
      // an IP address is not a domain one may show (`a**@[***.***.*.*]`).
      const local = [...value.slice(0, at)];
      const keep = local.length >= 2 ? 1 : 0;
      const domain = value.slice(at);
      return local.slice(0, keep).join('') + '*'.repeat(local.length - keep) + (domain.startsWith('[', 1) ? maskFull(domain) : domain);
    }
  }
  const chars = [...value];
  const significant = chars.filter((c, i) => SIGNIFICANT.test(c) && !isEscapeLetter(chars, i)).length;
  let keep = Math.min(PARTIAL_KEEP, Math.floor(significant / 2));
  const out: string[] = new Array<string>(chars.length);
  for (let i = chars.length - 1; i >= 0; i--) {
    const ch = chars[i] ?? '';
    if (!SIGNIFICANT.test(ch) || isEscapeLetter(chars, i)) out[i] = ch;
    else if (keep > 0) {
      out[i] = ch;
      keep--;
    } else out[i] = '*';
  }
  return out.join('');
}

/** The `@` of an address, also in the compatibility forms the recognizers read as `@` (＠, ﹫). */
function lastAtSign(value: string): number {
  return Math.max(value.lastIndexOf('@'), value.lastIndexOf('\uff20'), value.lastIndexOf('\ufe6b'));
}

/** `h:` + 16 hex digits of HMAC-SHA256(key, value): stable per key, irreversible without it. */
export function maskHash(value: string, key: Uint8Array): string {
  return HASH_PREFIX + createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, HASH_HEX_LENGTH);
}

/**
 * Masks one recognised occurrence inside a text. `null` has no meaning inside a larger text, so it
 * masks like `full` there.
 */
export function maskOccurrence(value: string, normalized: string, entity: MaskEntity, style: MaskStyle, key: Uint8Array): string {
  switch (style) {
    case 'full':
    case 'null':
      return maskFull(value);
    case 'partial':
      return maskPartial(value, entity);
    case 'hash':
      return maskHash(normalized, key);
  }
}
