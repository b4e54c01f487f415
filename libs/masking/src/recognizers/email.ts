import { isIP } from 'node:net';

import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

// Local part and labels have fixed maximum lengths (RFC 5321), which keeps every attempt bounded; the
// label class excludes '.', so the domain cannot be split two ways (no backtracking blow-up). Letters and
// digits of any script are allowed (RFC 6531 internationalized addresses, IDN domains), and so is a
// quoted local part (`"john doe"@example.com`, RFC 5322), whose quotes cannot overlap the bare form. The
// bare form takes RFC 5322's other atext characters too (`o'brien@…`, `a{b}@…`, `x!y@…`), except those
// that structure URLs and tables around an address (`/ = ? & |`: `?email=ada@…`, psql's `a|ada@…`) and
// `*`, the mask character: an address masked `partial` (`a**@example.com`) is not an address again when
// the masked text is scanned once more (a recording's own full-style pass). The
// domain may also be an address literal (`ada@[192.168.0.1]`, `ada@[IPv6:2001:db8::1]`, RFC 5321), whose
// bracket cannot start a label; validAddressLiteral checks what is inside.
const EMAIL =
  /(?:(?<![\p{L}\p{M}\p{N}._%+\-!#$'^`{}~])[\p{L}\p{M}\p{N}._%+\-!#$'^`{}~]{1,64}|"(?:[^"\\\r\n]|\\.){1,64}")@(?:[\p{L}\p{M}\p{N}-]{1,63}(?:\.[\p{L}\p{M}\p{N}-]{1,63}){1,126}|\[[0-9A-Za-z:.]{2,50}\])/gu;
/**
 * What a match's local part may start with that is not part of the address: quotes and code marks
 * around it (`'ada@example.com'` in SQL, `` `ada@…` ``, `{ada@…,…}` in a Postgres array) and
 * the dots of an ellipsis (`see...ada@example.com`). RFC 5322 allows most of these in a local part, but
 * text puts them around addresses far more often; the address is masked either way.
 */
const LEADING_NOISE = /^[.'!#$^`{}~]+/u;
const NOISE_START: ReadonlySet<string> = new Set([...".'!#$^`{}~"]);
/** A local part says something only with a letter or digit in it. */
const SIGNIFICANT = /[\p{L}\p{N}]/u;
/** A top-level domain: letters of any script, or an IDN's ASCII form (`xn--p1ai`). */
const TLD = /^(?:\p{L}[\p{L}\p{M}]{1,62}|xn--[a-z0-9-]{1,59})$/iu;

/**
 * A bare local part may hold dots anywhere (`taro.@docomo.ne.jp`, `a..b@…`: RFC 5322 forbids them, but
 * mail systems issued such addresses, and a recognizer that rejects them leaves them visible whole).
 */
function validLocal(local: string): boolean {
  if (local.startsWith('"')) return local.length > 2;
  return SIGNIFICANT.test(local);
}

/** `[192.168.0.1]` or `[IPv6:2001:db8::1]`: the address a literal holds must be one. */
function validAddressLiteral(domain: string): boolean {
  const inside = domain.slice(1, -1);
  return /^ipv6:/i.test(inside) ? isIP(inside.slice(5)) === 6 : isIP(inside) === 4;
}

function validDomain(domain: string): boolean {
  if (domain.startsWith('[')) return validAddressLiteral(domain);
  const labels = domain.split('.');
  const tld = labels[labels.length - 1] ?? '';
  return domain.length <= 253 && TLD.test(tld) && labels.every((l) => l.length > 0 && !l.startsWith('-') && !l.endsWith('-'));
}

/**
 * The longest valid domain that `domain` starts with, label by label: what follows an address is not
 * always a space (`ada@example.com.2024`, `ada@example.com.-`), and it must not make the address invalid.
 */
function validDomainPrefix(domain: string): string | undefined {
  if (validDomain(domain)) return domain;
  if (domain.startsWith('[')) return undefined;
  for (let end = domain.lastIndexOf('.'); end > 0; end = domain.lastIndexOf('.', end - 1)) {
    const prefix = domain.slice(0, end);
    if (prefix.includes('.') && validDomain(prefix)) return prefix;
  }
  return undefined;
}

export const emailRecognizer: Recognizer = {
  entity: 'email',
  // An IPv6 address literal is the only address without a dot.
  mayMatch: (text, hints) => hints.hasAt && (hints.hasDot || text.includes('@[')),
  find(text) {
    const found: EntityMatch[] = [];
    for (const m of allMatches(EMAIL, text)) {
      let value = m[0];
      // A sentence-ending '-' or similar is not part of the address.
      while (value.endsWith('-')) value = value.slice(0, -1);
      const at = value.lastIndexOf('@');
      const noise = NOISE_START.has(value[0] ?? '') ? (LEADING_NOISE.exec(value)?.[0].length ?? 0) : 0;
      const local = noise === 0 ? value.slice(0, at) : value.slice(noise, at);
      const domain = validDomainPrefix(value.slice(at + 1));
      if (domain === undefined || !validLocal(local)) continue;
      const address = value.slice(noise, at + 1 + domain.length);
      found.push({ entity: 'email', start: m.index + noise, end: m.index + at + 1 + domain.length, normalized: address.toLowerCase() });
    }
    return found;
  },
};
