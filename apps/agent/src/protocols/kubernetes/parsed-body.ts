/** A Map from YAML (keys of any type) or a plain object from JSON, with its entries; undefined for anything else. */
export function entriesOf(value: unknown): [unknown, unknown][] | undefined {
  if (value instanceof Map) return [...(value as Map<unknown, unknown>).entries()];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return Object.entries(value);
  return undefined;
}
