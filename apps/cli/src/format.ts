/** A value from an API answer as one table cell / line: scalars as-is, lists joined, the rest as JSON. */
export function cell(value: unknown, empty = '-'): string {
  if (value === null || value === undefined || value === '') return empty;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.length === 0 ? empty : value.map((v) => cell(v)).join(', ');
  return JSON.stringify(value);
}
