import { scanTextOf } from './normalize.js';
import { RECOGNIZERS } from './recognizers/index.js';
import { textHints } from './recognizers/text-hints.js';
import type { EntityMatch, MaskEntity, RecognizerOptions } from './types.js';

/**
 * Finds the occurrences of the given entities in `text`, without overlaps (recognizer priority decides),
 * sorted by position. The recognizers read the text normalized (see normalize.ts); the offsets returned
 * are the original text's, covering every original character a match came from.
 */
export function findEntities(text: string, entities: ReadonlySet<MaskEntity>, options: RecognizerOptions = {}): EntityMatch[] {
  if (entities.size === 0 || text.length === 0) return [];
  const scan = scanTextOf(text);
  const scanned = scan.text;
  if (scanned.length === 0) return [];
  const hints = textHints(scanned);
  const accepted: EntityMatch[] = [];
  // One flag per character claimed by an accepted match: overlap checks cost the match's length,
  // not the number of matches already accepted.
  let claimed: Uint8Array | undefined;
  for (const recognizer of RECOGNIZERS) {
    if (!entities.has(recognizer.entity) || !recognizer.mayMatch(scanned, hints)) continue;
    for (const match of recognizer.find(scanned, options)) {
      if (match.end <= match.start || match.start < 0 || match.end > scanned.length) continue;
      claimed ??= new Uint8Array(scanned.length);
      if (claimed.subarray(match.start, match.end).includes(1)) continue;
      claimed.fill(1, match.start, match.end);
      accepted.push(scanned === text ? match : { ...match, start: scan.originalStart(match.start), end: scan.originalEnd(match.end) });
    }
  }
  return accepted.sort((a, b) => a.start - b.start);
}
