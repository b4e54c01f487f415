import type { CountryCode } from 'libphonenumber-js';

import type { ValueHints } from './hints.js';

/** Kinds of personal or secret data the recognizers find. Exact names: the policy engine uses them. */
export type MaskEntity = 'email' | 'card' | 'ssn' | 'iban' | 'phone' | 'ip' | 'jwt' | 'cloud_key';

export const MASK_ENTITIES: readonly MaskEntity[] = ['email', 'card', 'ssn', 'iban', 'phone', 'ip', 'jwt', 'cloud_key'];

/**
 * - `full`: every letter and digit becomes `*`; separators and structure (`@ . - : / space`) stay.
 * - `partial`: keeps the last 4 letters/digits (at most half of them); e-mail keeps its first character
 *   and the domain.
 * - `hash`: `h:` + the first 16 hex digits (64 bits) of HMAC-SHA256(key, normalised value): stable for
 *   the same value and key, so joins and group-bys still work; unreadable without the key.
 * - `null`: a column rule turns the whole value into SQL NULL; for an entity inside a text, like `full`.
 */
export type MaskStyle = 'full' | 'partial' | 'hash' | 'null';

/** The policy engine's MaskingObligation. */
export interface MaskingRules {
  readonly entities: readonly { readonly entity: MaskEntity; readonly style: MaskStyle }[];
  /** `table` is `'*'`, a bare table name (any schema) or `schema.table`. */
  readonly columns: readonly { readonly table: string; readonly column: string; readonly style: MaskStyle }[];
}

/** The same shape under the policy engine's name. */
export type MaskingObligation = MaskingRules;

/** Where a value came from, when known (e.g. from the Postgres RowDescription). */
export interface ColumnRef {
  readonly table?: string;
  readonly column: string;
}

/** One recognised occurrence: `text.slice(start, end)` is the sensitive part. */
export interface EntityMatch {
  readonly entity: MaskEntity;
  readonly start: number;
  readonly end: number;
  /** Canonical form for hashing (e.g. digits only for a card), so formatting does not change the hash. */
  readonly normalized: string;
}

export interface RecognizerOptions {
  /** Region for national phone numbers without a `+` prefix. */
  readonly defaultRegion?: CountryCode;
  /** What the value's name says it is: bare digits count as an SSN or a phone number only with a hint. */
  readonly hints?: ValueHints;
  /**
   * The text is a value read backwards (a computed value: `reverse(card)`). A zero-padded number read
   * backwards (`00000001-00024E9C-1`, a snapshot id, is `1-C9E42000-10000000`) is no card: a card
   * number read backwards starts with its last digits, and four zeros there are one card in 10 000.
   */
  readonly backwards?: boolean;
}

export interface Recognizer {
  readonly entity: MaskEntity;
  /** Cheap test on the whole text: false means the recognizer cannot match, so it is skipped. */
  mayMatch(text: string, hints: TextHints): boolean;
  find(text: string, options: RecognizerOptions): EntityMatch[];
}

/** Facts about a text computed once, in one pass, for the recognizers' pre-checks. */
export interface TextHints {
  readonly digits: number;
  readonly hasAt: boolean;
  readonly hasColon: boolean;
  readonly hasDot: boolean;
}
