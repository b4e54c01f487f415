import { isIP } from 'node:net';

import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

/** Four dotted numbers, not part of a longer dotted string such as a version `1.2.3.4.5`. */
const IPV4 = /(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?!\.?\d)/g;
/**
 * What comes right before a four-part version number: a product token (`Chrome/120.0.0.0` in a
 * User-Agent, not a path segment such as `/hosts/10.0.0.1`), a `v`, or the word version
 * (`Version=4.0.0.0` in a .NET assembly name).
 */
const VERSION_BEFORE = /(?:\bv|\bversion[ :=]{0,3}|(?:^|[^/\w.-])[A-Za-z][\w.-]{0,30}\/)$/i;
const VERSION_WINDOW = 40;
/** A run of hex digits, colons and dots (embedded IPv4) with at least two colons; `isIP` decides. */
const IPV6 = /(?<![\w:.])[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{1,43}(?![\w:])/g;

export const ipRecognizer: Recognizer = {
  entity: 'ip',
  mayMatch: (_text, hints) => (hints.hasDot && hints.digits >= 4) || hints.hasColon,
  find(text) {
    const found: EntityMatch[] = [];
    for (const m of allMatches(IPV6, text)) {
      // A sentence may end right after the address.
      const value = m[0].replace(/\.+$/, '');
      // Without a decimal digit it is more likely code (`a::b`) than an address.
      if (!/\d/.test(value) || (value.match(/:/g)?.length ?? 0) < 2) continue;
      if (isIP(value) === 6) {
        found.push({ entity: 'ip', start: m.index, end: m.index + value.length, normalized: value.toLowerCase() });
      }
    }
    // After IPv6, so that the IPv4 tail of `::ffff:192.0.2.1` does not claim part of it.
    for (const m of allMatches(IPV4, text)) {
      if (isIP(m[0]) !== 4 || VERSION_BEFORE.test(text.slice(Math.max(0, m.index - VERSION_WINDOW), m.index))) continue;
      found.push({ entity: 'ip', start: m.index, end: m.index + m[0].length, normalized: m[0] });
    }

    return found;
  },
};
