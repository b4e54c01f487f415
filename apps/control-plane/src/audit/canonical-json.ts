/**
 * Canonical JSON for hashing: object keys sorted by code point, no whitespace, arrays in order.
 * Values are first normalised through JSON (undefined dropped, Dates as ISO strings), so that what
 * is hashed is exactly what Postgres stores in jsonb and gives back.
 */
export function canonicalJson(value: unknown): string {
  return encode(JSON.parse(JSON.stringify(value ?? null)) as unknown);
}

function encode(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(encode).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${encode((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

/** jsonb cannot hold NUL characters; strip them so an attacker-supplied string cannot fail an audit write. */
export function jsonSafe<T>(value: T): T {
  return JSON.parse(JSON.stringify(value ?? null, (_k, v: unknown) => (typeof v === 'string' ? v.replaceAll(String.fromCharCode(0), '\uFFFD') : v))) as T;
}
