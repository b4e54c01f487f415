import { hintsFromNames } from '../hints.js';
import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

/*
 * Which spellings of an SSN count without anything else saying so, and which need a hint (the value's
 * name, or an SSN word in the 40 characters before):
 *
 * - NNN-NN-NNNN grouped by hyphens, spaces or dots, in any mix, also by the other dashes word processors
 *   and PDFs put there (‐ ‑ ‒ – — ― −; the no-break and thin spaces, fullwidth and small hyphens are
 *   read as a space or `-` already, see normalize.ts): always. Nothing else is written 3-2-4 that way.
 * - NNN/NN/NNNN and NNN_NN_NNNN, the same separator twice, standing alone (no letter, digit, `/` or
 *   `_` attached on either side): always. Dates are 2/2/4 or 4/2/2, never 3/2/4; what is attached is a
 *   path segment or an identifier (`/files/536/22/1234`, `batch_536_22_1234`) and needs a hint.
 * - Nine bare digits, and the same separator twice of any other kind: `:`, `,`, `;`, `|`, `\`, `+`, a
 *   tab, a separator with spaces around it (`536 - 22 - 1234`), or `/`, `_` attached to a path or an
 *   identifier: only with a hint. These are how CSV and TSV rows, psql's aligned and unaligned output,
 *   arithmetic and paths write three numbers in a row.
 */

/** The dashes other than `-` (U+2010 to U+2015 and the minus sign U+2212). */
const DASHES = '\u2010-\u2015\u2212';
/** NNN-NN-NNNN grouped by dashes, spaces or dots (in any mix), not inside a longer grouped number. */
const GROUPED = new RegExp(`(?<!\\d|\\d[ .\\-${DASHES}])(\\d{3})[ .\\-${DASHES}](\\d{2})[ .\\-${DASHES}](\\d{4})(?!\\d|[ .\\-${DASHES}]\\d)`, 'g');
/** NNN/NN/NNNN or NNN_NN_NNNN (the same separator twice), with nothing of a path or an identifier attached. */
const STANDALONE = /(?<![\p{L}\p{N}_/])(\d{3})([_/])(\d{2})\2(\d{4})(?![\p{L}\p{N}_/])/gu;
/** Nine bare digits, not inside a longer number. */
const BARE = /(?<![\d.,-])(\d{3})(\d{2})(\d{4})(?![\d]|[.,-]\d)/g;
/**
 * Three groups joined twice by the same separator of one to three characters, neither letters, digits
 * nor line breaks (`536:22:1234`, `536 | 22 | 1234`, `536_22_1234` in an identifier). Only with a hint;
 * whether it continues a longer grouped number is checked in code (the separator is not known in a
 * look-behind).
 */
const ANY_SEPARATOR = /(?<!\d)(\d{3})([^\p{L}\p{N}\r\n]{1,3})(\d{2})\2(\d{4})(?!\d)/gu;
/**
 * The CONTEXT_WINDOW characters before a bare match announce an SSN when their words do, read like a
 * column or key name (`SSN:`, `social security no.`, `customer_ssn=`, `"socialSecurityNumber":`, `TaxID`):
 * see hintsFromNames.
 */
const CONTEXT_WINDOW = 40;

/** Numbers published as examples and never issued (Woolworth wallet card, SSA advertisement). */
const NEVER_ISSUED: ReadonlySet<string> = new Set(['078051120', '219099999', '123456789']);

/** Social Security Administration rules: area not 000/666/9xx, group not 00, serial not 0000. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const areaNumber = Number(area);
  return (
    areaNumber !== 0 &&
    areaNumber !== 666 &&
    areaNumber < 900 &&
    group !== '00' &&
    serial !== '0000' &&
    !NEVER_ISSUED.has(area + group + serial)
  );
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Whether `separator` joins a digit to the match at `start` or after the match ending at `end`. */
function continuesNumber(text: string, start: number, end: number, separator: string): boolean {
  const before = start - separator.length;
  const after = end + separator.length;
  return (before > 0 && text.startsWith(separator, before) && isDigit(text[before - 1])) || (text.startsWith(separator, end) && isDigit(text[after]));
}

export const ssnRecognizer: Recognizer = {
  entity: 'ssn',
  mayMatch: (_text, hints) => hints.digits >= 9,
  find(text, options) {
    const found: EntityMatch[] = [];
    const hinted = options.hints?.ssn === true;
    /** Whether the value's name or the words right before `index` say that an SSN follows. */
    const announced = (index: number): boolean => hinted || hintsFromNames([text.slice(Math.max(0, index - CONTEXT_WINDOW), index)]).ssn === true;
    const add = (m: RegExpExecArray, area: string, group: string, serial: string): void => {
      found.push({ entity: 'ssn', start: m.index, end: m.index + m[0].length, normalized: area + group + serial });
    };
    for (const m of allMatches(GROUPED, text)) {
      const [, area = '', group = '', serial = ''] = m;
      if (ssnValid(area, group, serial)) add(m, area, group, serial);
    }
    // A cheap test first: most texts have neither separator.
    if (text.includes('_') || text.includes('/')) {
      for (const m of allMatches(STANDALONE, text)) {
        const [, area = '', , group = '', serial = ''] = m;
        if (ssnValid(area, group, serial)) add(m, area, group, serial);
      }
    }
    for (const m of allMatches(BARE, text)) {
      const [, area = '', group = '', serial = ''] = m;
      if (ssnValid(area, group, serial) && announced(m.index)) add(m, area, group, serial);
    }
    for (const m of allMatches(ANY_SEPARATOR, text)) {
      const [, area = '', separator = '', group = '', serial = ''] = m;
      if (!ssnValid(area, group, serial) || continuesNumber(text, m.index, m.index + m[0].length, separator)) continue;
      if (announced(m.index)) add(m, area, group, serial);
    }
    return found;
  },
};
