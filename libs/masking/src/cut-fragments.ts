import type { MaskEntity } from './types.js';

/*
 * Servers cut long values short when they quote them in a message, and mark the cut with `...`:
 * Postgres quotes at most 64 bytes of each value in `Failing row contains (...)` and similar details,
 * MySQL cuts the values of its messages too. What is left of an entity at the cut cannot be recognized
 * (`4111 1111 111...` has too few digits for a card, `ada.lovelace@examp...` has no domain), so it
 * would pass unmasked. A fragment's tail is masked by its shape instead: the digits of a run that ends
 * at the cut, and the word with an `@` that ends there.
 */

const CUT = '...';
/** Characters that end a quoted value, looking back from a cut. */
const VALUE_START = new Set(['(', ')', ',', '=', "'", '"', '\n', '\t']);
/** A run of digits, single separators between them, ending where the value was cut. */
const DIGIT_RUN_AT_END = /(?:\d[ .\-/]?)*\d$/;
/** Fewer digits than this at a cut say too little to be worth masking. */
const MIN_DIGITS = 4;
const DIGIT_ENTITIES: readonly MaskEntity[] = ['card', 'ssn', 'phone', 'iban'];

/** `text` with the entity remains at each `...` cut masked (every letter or digit of them becomes `*`). */
export function maskCutFragments(text: string, entities: ReadonlySet<MaskEntity>): string {
  if (!text.includes(CUT)) return text;
  const digits = DIGIT_ENTITIES.some((e) => entities.has(e));
  const email = entities.has('email');
  if (!digits && !email) return text;
  let out = '';
  let from = 0;
  for (let cut = text.indexOf(CUT); cut !== -1; cut = text.indexOf(CUT, cut + CUT.length)) {
    // A cut follows the value's last character; `....` or ` ...` is prose, not a cut value.
    const before = text[cut - 1];
    if (before === undefined || before === '.' || before === ' ') continue;
    let start = cut;
    while (start > from && !VALUE_START.has(text[start - 1]!)) start -= 1;
    out += text.slice(from, start) + maskTail(text.slice(start, cut), digits, email);
    from = cut;
  }
  return out + text.slice(from);
}

function maskTail(fragment: string, digits: boolean, email: boolean): string {
  if (email) {
    const wordStart = Math.max(fragment.lastIndexOf(' '), fragment.lastIndexOf('<'), fragment.lastIndexOf(':')) + 1;
    const word = fragment.slice(wordStart);
    if (word.includes('@')) return fragment.slice(0, wordStart) + word.replace(/[^@.\-_+]/g, '*');
  }
  if (digits) {
    const run = DIGIT_RUN_AT_END.exec(fragment);
    if (run && run[0].replace(/\D/g, '').length >= MIN_DIGITS) return fragment.slice(0, run.index) + run[0].replace(/\d/g, '*');
  }
  return fragment;
}
