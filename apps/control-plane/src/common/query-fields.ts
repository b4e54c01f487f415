import { z } from 'zod';
import { PROCESS_FIELDS } from '@gw/identity';

/**
 * Query-string fields shared by the list routes. Only plain decimal text is an integer (no `1e3`,
 * `0x10`, spaces or signs beyond a leading minus), and every bound fits the column it is compared
 * with, so a value Postgres would refuse is a 400 here, never a 500 there.
 */
export function integerText(min: number, max: number) {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) throw new Error('integerText bounds must be safe integers');
  const problem = `must be an integer from ${min} to ${max}`;
  return z
    .string()
    .regex(/^-?[0-9]{1,16}$/, problem)
    .transform(Number)
    .refine((n) => n >= min && n <= max, problem);
}

const BIGINT_MAX = 9_223_372_036_854_775_807n;

/** A Postgres `bigint` (0 .. 2^63-1) kept as text: it does not fit a JS number. */
export const bigintText = z
  .string()
  // abort: zod 4 runs later checks even after a failed one, and BigInt('abc') throws.
  .regex(/^[0-9]{1,19}$/, { message: `must be a sequence number from 0 to ${BIGINT_MAX}`, abort: true })
  .refine((s) => BigInt(s) <= BIGINT_MAX, `must be a sequence number from 0 to ${BIGINT_MAX}`);

/** `limit` of the list routes. */
export const limitText = (max: number, fallback: number) => integerText(1, max).default(fallback);

/**
 * An ISO 8601 timestamp with an offset, as a Date within years 1-9999. Year 0 does not exist in
 * Postgres (the pg driver would quietly send it as 1 BC), so such a filter is refused rather than
 * reinterpreted.
 */
export const isoTimestamp = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s))
  .refine((d) => !Number.isNaN(d.getTime()) && d.getUTCFullYear() >= 1 && d.getUTCFullYear() <= 9999, 'must be a date between the years 1 and 9999');

/** Process record keys a list route may filter by (`?process.run_id=123&process.repository=acme/deploy`). */
const PROCESS_FILTER_KEYS = ['platform', 'issuer', 'subject', 'source', 'token_id', ...PROCESS_FIELDS] as const;

/** Query fields `process.<key>`: each an exact text match on the verified process record. */
export const processFilterFields = Object.fromEntries(
  PROCESS_FILTER_KEYS.map((key) => [`process.${key}`, z.string().min(1).max(512).optional()]),
) as Record<`process.${(typeof PROCESS_FILTER_KEYS)[number]}`, z.ZodOptional<z.ZodString>>;

/** The `process.<key>` fields of a parsed query as one object for a containment match; undefined when none. */
export function processFilterOf(query: Record<string, unknown>): Record<string, string> | undefined {
  const filter: Record<string, string> = {};
  for (const key of PROCESS_FILTER_KEYS) {
    const value = query[`process.${key}`];
    if (typeof value === 'string') filter[key] = value;
  }
  return Object.keys(filter).length > 0 ? filter : undefined;
}
