import { RECOGNIZERS } from './recognizers/index.js';
import { textHints } from './recognizers/text-hints.js';
import type { EntityMatch, MaskEntity, RecognizerOptions } from './types.js';

/**
 * Finds the occurrences of the given entities in `text`, without overlaps (recognizer priority decides),
 * sorted by position.
 */
export function findEntities(text: string, entities: ReadonlySet<MaskEntity>, options: RecognizerOptions = {}): EntityMatch[] {
  if (entities.size === 0 || text.length === 0) return [];
  const hints = textHints(text);
  const accepted: EntityMatch[] = [];
  // One flag per character claimed by an accepted match: overlap checks cost the match's length,
  // not the number of matches already accepted.
  let claimed: Uint8Array | undefined;
  for (const recognizer of RECOGNIZERS) {
    if (!entities.has(recognizer.entity) || !recognizer.mayMatch(text, hints)) continue;
    for (const match of recognizer.find(text, options)) {
      if (match.end <= match.start || match.start < 0 || match.end > text.length) continue;
      claimed ??= new Uint8Array(text.length);
      if (claimed.subarray(match.start, match.end).includes(1)) continue;
      claimed.fill(1, match.start, match.end);
      accepted.push(match);
    }
  }
  return accepted.sort((a, b) => a.start - b.start);
}
