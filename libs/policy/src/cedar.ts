import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';
import { CEDAR_SCHEMA } from './schema.js';

export { cedar };

/**
 * Name under which the schema is preparsed in Cedar's (per-thread) cache. Versioned by content so a
 * changed schema in a hot-reloaded process never meets a stale preparsed copy.
 */
export const PREPARSED_SCHEMA_NAME = `gw-schema-${fnv1a(CEDAR_SCHEMA)}`;
let schemaPreparsed = false;

/** Preparses the gateway schema once per process; throws if Cedar rejects it (a build defect). */
export function ensureSchemaPreparsed(): void {
  if (schemaPreparsed) return;
  const answer = cedar.preparseSchema(PREPARSED_SCHEMA_NAME, CEDAR_SCHEMA);
  if (answer.type !== 'success') {
    throw new Error(`gateway Cedar schema rejected: ${answer.errors.map((e) => e.message).join('; ')}`);
  }
  schemaPreparsed = true;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16);
}

/**
 * Turns a Cedar byte offset into `line L, column C` of `text` (Cedar reports UTF-8 byte offsets).
 */
export function describeLocation(text: string, byteOffset: number): string {
  const prefix = Buffer.from(text, 'utf8').subarray(0, Math.max(0, byteOffset)).toString('utf8');
  const lines = prefix.split('\n');
  const line = lines.length;
  const column = (lines[lines.length - 1]?.length ?? 0) + 1;
  return `line ${line}, column ${column}`;
}

/** One readable message from Cedar's structured error, with its location and hint when known. */
export function formatCedarError(error: DetailedError, text?: string, baseByteOffset = 0): string {
  const location = error.sourceLocations?.[0];
  const where = text !== undefined && location ? `${describeLocation(text, baseByteOffset + location.start)}: ` : '';
  const label = location?.label ? ` (${location.label})` : '';
  const help = error.help ? ` — ${error.help}` : '';
  const related = (error.related ?? []).map((r) => `; ${formatCedarError(r, text, baseByteOffset)}`).join('');
  return `${where}${error.message}${label}${help}${related}`;
}
