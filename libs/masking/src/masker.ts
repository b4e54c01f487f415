import { maskCutFragments } from './cut-fragments.js';
import { maskQuotedValues } from './quoted-values.js';
import { maskBase64Payload, maskBase64Runs, maskHexRuns, maskReversed, maskWideRuns } from './encoded-views.js';
import { decodeEscapes } from './escaped-text.js';
import { NO_HINTS, type ValueHints } from './hints.js';
import { entityInNumber, type NumberKind } from './numbers.js';
import { findEntities } from './scan.js';
import { maskFull, maskHash, maskOccurrence, maskPartial } from './styles.js';
import { mayHaveControlSequence, terminalSpans } from './terminal-text.js';
import type { ColumnRef, EntityMatch, MaskEntity, MaskingRules, MaskStyle, RecognizerOptions } from './types.js';

export interface MaskerOptions extends RecognizerOptions {
  /** HMAC key for the `hash` style (at least 16 bytes). Keep it secret and stable to keep hashes joinable. */
  readonly key: Uint8Array | string;
  /**
   * Longest value scanned for entities (default 1 MiB of UTF-16 code units). A longer value cannot be
   * checked within a bounded cost, so it is replaced by OVERSIZED_VALUE (fail closed) -- unless no entity
   * rule is configured, in which case nothing would be scanned anyway.
   */
  readonly maxScanLength?: number;
}

/** One masked occurrence: `text.slice(start, end)` becomes `replacement`. */
export interface MaskedSpan {
  readonly start: number;
  readonly end: number;
  readonly entity: MaskEntity;
  readonly replacement: string;
}

/** What a value too long to scan becomes. */
export const OVERSIZED_VALUE = '[masked: value too large to scan]';

interface ColumnRule {
  readonly table: string;
  readonly column: string;
  readonly style: MaskStyle;
  readonly specificity: number;
}

const MIN_KEY_BYTES = 16;

/**
 * Applies a MaskingObligation to values. A column rule masks the whole value; otherwise the value is
 * scanned for the configured entities and each occurrence is masked in place, the rest kept -- so values
 * embedded in larger strings (concat(), row_to_json(), COPY text rows) are masked too.
 */
export class Masker {
  private readonly entityStyles: ReadonlyMap<MaskEntity, MaskStyle>;
  private readonly entities: ReadonlySet<MaskEntity>;
  private readonly columnRules: readonly ColumnRule[];
  private readonly key: Uint8Array;
  private readonly maxScanLength: number;
  private readonly recognizerOptions: RecognizerOptions;

  constructor(rules: MaskingRules, options: MaskerOptions) {
    this.key = typeof options.key === 'string' ? Buffer.from(options.key, 'utf8') : options.key;
    if (this.key.length < MIN_KEY_BYTES) throw new RangeError(`masking key must be at least ${MIN_KEY_BYTES} bytes`);
    const styles = new Map<MaskEntity, MaskStyle>();
    for (const { entity, style } of rules.entities) {
      // Two rules for one entity: the stronger one wins (full > hash > partial; null masks like full here).
      const previous = styles.get(entity);
      if (previous === undefined || STRENGTH[style] > STRENGTH[previous]) styles.set(entity, style);
    }
    this.entityStyles = styles;
    this.entities = new Set(styles.keys());
    this.columnRules = rules.columns
      .map((rule) => ({
        table: rule.table.toLowerCase(),
        column: rule.column.toLowerCase(),
        style: rule.style,
        specificity: rule.table === '*' ? 0 : rule.table.includes('.') ? 2 : 1,
      }))
      .sort((a, b) => b.specificity - a.specificity);
    this.maxScanLength = options.maxScanLength ?? 1024 * 1024;
    this.recognizerOptions = { defaultRegion: options.defaultRegion };
  }

  /**
   * A server's message (an error, a notice, their details): entity-masked like a computed value, and
   * the remains of entities at the places where the server cut a quoted value short (`...`) masked by
   * their shape, since what is left of them is too short to recognize (see cut-fragments.ts).
   * `quotedValues`: the message answers a statement that references a column masked by a column rule,
   * whose values have no shape to recognize: every value it quotes is masked (see quoted-values.ts).
   */
  maskMessage(text: string, quotedValues = false): string {
    const quoted = quotedValues ? maskQuotedValues(text) : text;
    if (this.entities.size === 0) return quoted;
    return maskCutFragments(this.maskEntities(quoted, true), this.entities);
  }

  /**
   * The masked value: a string, or null when a `null` column rule applies. `computed` says the value
   * is an expression's result rather than a stored column: it is also read backwards, since
   * `reverse(card)` is an easy way around a recognizer (stored data is not, which keeps reversed
   * ordinary numbers in stored columns from being taken for cards).
   */
  maskValue(value: string, column?: ColumnRef, computed = false, hints: ValueHints = NO_HINTS): string | null {
    const rule = column ? this.columnRuleFor(column) : undefined;
    if (rule !== undefined) return this.applyColumnStyle(value, rule.style);
    return this.maskEntities(value, computed, hints);
  }

  /**
   * Scans `value` for the configured entities and masks each occurrence in place, then does the same
   * inside UTF-16/UTF-32 text, hex and base64 runs (bytea output, `encode()`), and for a computed
   * value, backwards.
   * `hints` (see hintsFromNames) let bare digits count as an SSN or phone number.
   */
  maskEntities(value: string, computed = false, hints: ValueHints = NO_HINTS): string {
    if (this.entities.size === 0) return value;
    if (value.length > this.maxScanLength) return OVERSIZED_VALUE;
    const options: RecognizerOptions = hints === NO_HINTS ? this.recognizerOptions : { ...this.recognizerOptions, hints };
    const narrow = (text: string): string => this.maskPlain(text, options);
    // Text in a wide encoding is looked into as well, also where hex or base64 carries it.
    const plain = (text: string): string => maskWideRuns(narrow(text), narrow);
    let out = plain(value);
    out = maskHexRuns(out, plain);
    out = maskBase64Runs(out, plain);
    if (computed) {
      const backwardOptions: RecognizerOptions = { ...options, backwards: true };
      const narrowBackwards = (text: string): string => this.maskPlain(text, backwardOptions);
      out = maskReversed(out, (text) => maskWideRuns(narrowBackwards(text), narrowBackwards));
    }
    return out;
  }

  /**
   * The base64 of a binary payload (an image or audio item): when it decodes to text, that text is
   * masked (as maskEntities does) and encoded again; binary data is returned as it is, whatever its
   * length. See encoded-views.ts.
   */
  maskBase64Payload(value: string): string {
    if (this.entities.size === 0) return value;
    return maskBase64Payload(value, (text) => this.maskEntities(text));
  }

  /**
   * The entity a number value holds (its text as the database returns it), or undefined. A number
   * cannot hold `*` or a hash, so a caller replaces a found one whole (the agent sends SQL NULL).
   */
  entityInNumber(text: string, hints: ValueHints = NO_HINTS, kind: NumberKind = 'numeric'): MaskEntity | undefined {
    if (this.entities.size === 0) return undefined;
    return entityInNumber(text, this.entities, hints, this.recognizerOptions.defaultRegion, kind);
  }

  /** Whether an entity rule is configured: without one there is nothing to scan for. */
  get scansEntities(): boolean {
    return this.entities.size > 0;
  }

  /** The style of the column rule that applies to `column`, if any (the most specific one). */
  columnStyle(column: ColumnRef): MaskStyle | undefined {
    return this.columnRuleFor(column)?.style;
  }

  /**
   * The occurrences of the configured entities in `text` with what each becomes, in `text`'s offsets
   * (sorted, no overlaps). For callers that place masked text themselves, such as a stream masked in
   * pieces (stream-masker.ts). Values inside UTF-16/UTF-32 text, hex and base64 runs are masked as
   * maskEntities masks them (`cat` of a UTF-16 file, `xxd`, `base64`): then one span covers everything
   * from the first changed character to the last.
   */
  maskedSpans(text: string): MaskedSpan[] {
    if (this.entities.size === 0) return [];
    const spans = this.spansIn(text, this.recognizerOptions);
    const narrow = (t: string): string => this.maskPlain(t, this.recognizerOptions);
    const plain = (t: string): string => maskWideRuns(narrow(t), narrow);
    let masked = '';
    let cursor = 0;
    for (const span of spans) {
      masked += text.slice(cursor, span.start) + span.replacement;
      cursor = span.end;
    }
    masked += text.slice(cursor);
    const viewed = maskBase64Runs(maskHexRuns(maskWideRuns(masked, narrow), plain), plain);
    if (viewed === masked) return spans;
    let start = 0;
    while (start < text.length && start < viewed.length && text[start] === viewed[start]) start++;
    let end = 0;
    while (end < text.length - start && end < viewed.length - start && text[text.length - 1 - end] === viewed[viewed.length - 1 - end]) end++;
    // Which entity an encoded run held is not known here: the span names the first one found, or any configured.
    const entity = spans[0]?.entity ?? [...this.entities][0]!;
    return [{ start, end: text.length - end, entity, replacement: viewed.slice(start, viewed.length - end) }];
  }

  private maskPlain(value: string, options: RecognizerOptions): string {
    // Command output and logs keep terminal control sequences (`grep --color`, coloured log levels):
    // values are read as the terminal shows them, and window titles and hyperlink targets are masked.
    const spans = (mayHaveControlSequence(value) ? terminalSpans(value, (text) => this.spansIn(text, options)) : undefined) ?? this.spansIn(value, options);
    if (spans.length === 0) return value;
    let out = '';
    let cursor = 0;
    for (const span of spans) {
      out += value.slice(cursor, span.start) + span.replacement;
      cursor = span.end;
    }
    return out + value.slice(cursor);
  }

  /**
   * The occurrences in `text` and their masks (sorted, no overlaps). Where the text has URL, HTML or
   * JSON escapes (`ada%40example.com`, `&#64;`, `jos\u00e9@…`), the values read through them come
   * first: read raw, they are missed or only partly found (see escaped-text.ts).
   */
  private spansIn(text: string, options: RecognizerOptions): MaskedSpan[] {
    const mask = (value: string, match: EntityMatch): string =>
      maskOccurrence(value, match.normalized, match.entity, this.entityStyles.get(match.entity) ?? 'full', this.key);
    const plain = findEntities(text, this.entities, options);
    const escaped = decodeEscapes(text);
    if (escaped === undefined) return plain.map((m) => ({ start: m.start, end: m.end, entity: m.entity, replacement: mask(text.slice(m.start, m.end), m) }));
    const spans: MaskedSpan[] = [];
    const claimed = new Uint8Array(text.length);
    for (const m of findEntities(escaped.text, this.entities, options)) {
      const { start, end, escaped: hasEscape } = escaped.original(m.start, m.end);
      // Without an escape inside, the raw reading below finds the same value.
      if (!hasEscape) continue;
      claimed.fill(1, start, end);
      spans.push({ start, end, entity: m.entity, replacement: escaped.restore(m.start, m.end, mask(escaped.text.slice(m.start, m.end), m)) });
    }
    for (const m of plain) {
      if (claimed.subarray(m.start, m.end).includes(1)) continue;
      spans.push({ start: m.start, end: m.end, entity: m.entity, replacement: mask(text.slice(m.start, m.end), m) });
    }
    return spans.sort((a, b) => a.start - b.start);
  }

  private columnRuleFor(column: ColumnRef): ColumnRule | undefined {
    if (this.columnRules.length === 0) return undefined;
    const name = column.column.toLowerCase();
    const table = column.table?.toLowerCase();
    return this.columnRules.find((rule) => rule.column === name && (rule.table === '*' || (table !== undefined && ruleTableMatches(rule.table, table))));
  }

  /** Masks a whole value in a column rule's style (for values derived from a ruled column). */
  maskWithStyle(value: string, style: MaskStyle): string | null {
    return this.applyColumnStyle(value, style);
  }

  private applyColumnStyle(value: string, style: MaskStyle): string | null {
    switch (style) {
      case 'null':
        return null;
      case 'full':
        return maskFull(value);
      case 'partial':
        return maskPartial(value, LOOKS_LIKE_EMAIL.test(value) ? 'email' : undefined);
      case 'hash':
        return maskHash(value, this.key);
    }
  }
}

/**
 * Whether a column rule's table (`*` excluded by the caller; bare = any schema; `schema.table`) covers
 * `table` (as written in a query or resolved from the catalog; bare when the schema is unknown). A
 * qualified rule also covers a bare table of that name: over-masking another schema's table is the
 * safe mistake.
 */
export function ruleTableMatches(ruleTable: string, table: string): boolean {
  const rule = ruleTable.toLowerCase();
  const t = table.toLowerCase();
  if (rule === t) return true;
  if (!rule.includes('.')) return t.endsWith(`.${rule}`);
  return !t.includes('.') && rule.endsWith(`.${t}`);
}

/**
 * The style for a value computed from a masked one (`lower(email)`, `substr(ssn, 1, 3)`), masked whole:
 * `partial` keeps the last characters of whatever the expression puts last (`repeat('-', 9) ||
 * substr(email, 1, 4)` would show four characters of the e-mail at a time), so it becomes `full`.
 */
export function derivedValueStyle(style: MaskStyle | undefined): MaskStyle | undefined {
  return style === 'partial' ? 'full' : style;
}

/** The strongest of some styles (full/null > hash > partial), or undefined for none. */
export function strongestStyle(styles: Iterable<MaskStyle>): MaskStyle | undefined {
  let best: MaskStyle | undefined;
  for (const style of styles) if (best === undefined || STRENGTH[style] > STRENGTH[best]) best = style;
  return best;
}

const LOOKS_LIKE_EMAIL = /^[^@\s]{1,256}@[^@\s]{1,256}$/;

const STRENGTH: Readonly<Record<MaskStyle, number>> = { partial: 0, hash: 1, full: 2, null: 2 };
