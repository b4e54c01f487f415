import { hintsFromNames } from '../hints.js';
import type { EntityMatch, Recognizer } from '../types.js';
import { allMatches } from './all-matches.js';

/** NNN-NN-NNNN grouped by dashes, spaces or dots (in any mix), not inside a longer grouped number. */
const GROUPED = /(?<![\d-]|\d[ .])(\d{3})[ .-](\d{2})[ .-](\d{4})(?!\d|[ .-]\d)/g;
/** Nine bare digits, not inside a longer number. Only taken with SSN context before it or a name hint. */
const BARE = /(?<![\d.,-])(\d{3})(\d{2})(\d{4})(?![\d]|[.,-]\d)/g;
/**
 * NNN_NN_NNNN or NNN/NN/NNNN (the same separator twice), not inside a longer grouped number. Ids and
 * paths are written like this too, so like bare digits, only taken with SSN context or a name hint.
 */
const UNUSUAL = /(?<!\d|\d[_/])(\d{3})([_/])(\d{2})\2(\d{4})(?!\d|[_/]\d)/g;
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
    for (const m of allMatches(BARE, text)) {
      const [, area = '', group = '', serial = ''] = m;
      if (ssnValid(area, group, serial) && announced(m.index)) add(m, area, group, serial);
    }
    // A cheap test first: most texts have neither separator.
    if (text.includes('_') || text.includes('/')) {
      for (const m of allMatches(UNUSUAL, text)) {
        const [, area = '', , group = '', serial = ''] = m;
        if (ssnValid(area, group, serial) && announced(m.index)) add(m, area, group, serial);
      }
    }
    return found;
  },
};
