import { wordsOf } from './name-words.js';

/**
 * What a value's name says about it. A bare `536221234` or `14155552671` is just a number; in a column
 * named `ssn` or `mobile_phone` (or under such a JSON key, or in a statement that reads such a column)
 * it is an SSN or a phone number. The recognizers accept bare digits for an entity only with its hint.
 */
export interface ValueHints {
  readonly ssn?: boolean;
  readonly phone?: boolean;
}

export const NO_HINTS: ValueHints = Object.freeze({});

const SSN_WORDS: ReadonlySet<string> = new Set(['ssn', 'ssns', 'ssnum', 'socsec', 'taxid', 'tin', 'itin', 'sozialversicherungsnummer']);
const PHONE_WORDS: ReadonlySet<string> = new Set(['tel', 'tele', 'telephone', 'fax', 'cell', 'msisdn', 'sms', 'whatsapp', 'contact', 'dial']);
/** Word pairs that name an SSN when they stand next to each other (`social_security`, `tax_id`). */
const SSN_PAIRS: readonly (readonly [string, string])[] = [
  ['social', 'security'],
  ['social', 'sec'],
  ['soc', 'sec'],
  ['tax', 'id'],
  ['tax', 'number'],
];


/** The hints that some names (column, alias, JSON key) give together. */
export function hintsFromNames(names: Iterable<string | undefined>): ValueHints {
  let ssn = false;
  let phone = false;
  for (const name of names) {
    if (name === undefined || name.length === 0) continue;
    const words = wordsOf(name);
    words.forEach((word, i) => {
      if (SSN_WORDS.has(word) || word.startsWith('ssn')) ssn = true;
      if (PHONE_WORDS.has(word) || word.includes('phone') || word.includes('mobile')) phone = true;
      const next = words[i + 1];
      if (next !== undefined && SSN_PAIRS.some(([a, b]) => a === word && b === next)) ssn = true;
    });
  }
  return ssn || phone ? { ...(ssn ? { ssn } : {}), ...(phone ? { phone } : {}) } : NO_HINTS;
}
