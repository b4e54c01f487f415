import { isIP } from 'node:net';

import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

// Local part and labels have fixed maximum lengths (RFC 5321), which keeps every attempt bounded; the
// label class excludes '.', so the domain cannot be split two ways (no backtracking blow-up). Letters and
// digits of any script are allowed (RFC 6531 internationalized addresses, IDN domains), and so is a
// quoted local part (`"john doe"@example.com`, RFC 5322), whose quotes cannot overlap the bare form. The
// domain may also be an address literal (`ada@[192.168.0.1]`, `ada@[IPv6:2001:db8::1]`, RFC 5321), whose
// bracket cannot start a label; validAddressLiteral checks what is inside.
const EMAIL =
  /(?:(?<![\p{L}\p{M}\p{N}._%+-])[\p{L}\p{M}\p{N}._%+-]{1,64}|"(?:[^"\\\r\n]|\\.){1,64}")@(?:[\p{L}\p{M}\p{N}-]{1,63}(?:\.[\p{L}\p{M}\p{N}-]{1,63}){1,8}|\[[0-9A-Za-z:.]{2,50}\])/gu;
/** A top-level domain: letters of any script, or an IDN's ASCII form (`xn--p1ai`). */
const TLD = /^(?:\p{L}[\p{L}\p{M}]{1,62}|xn--[a-z0-9-]{1,59})$/iu;

function validLocal(local: string): boolean {
  if (local.startsWith('"')) return local.length > 2;
  return !local.startsWith('.') && !local.endsWith('.') && !local.includes('..');
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
      const local = value.slice(0, at);
      const domain = value.slice(at + 1);
      if (!validLocal(local) || !validDomain(domain)) continue;
      found.push({ entity: 'email', start: m.index, end: m.index + value.length, normalized: value.toLowerCase() });
    }
    return found;
  },
};
