/**
 * Filters of the list pages as the API's query string: empty fields are left out, `datetime-local`
 * values (the browser's local time, no zone) become ISO instants, and the order is stable so the
 * same filters give the same URL.
 */
export type Filters = Record<string, string | undefined>;

const LOCAL_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

export function toQuery(filters: Filters, timeFields: readonly string[] = ['from', 'to']): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(filters).sort()) {
    const value = filters[key]?.trim();
    if (!value) continue;
    if (timeFields.includes(key)) {
      if (!LOCAL_DATETIME.test(value)) throw new Error(`${key}: not a date and time`);
      const instant = new Date(value);
      if (Number.isNaN(instant.getTime())) throw new Error(`${key}: not a date and time`);
      params.set(key, instant.toISOString());
      continue;
    }
    params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The filters in a page's own URL (`?principal=...`), so a filtered view can be linked and reloaded. */
export function filtersFrom(search: string, keys: readonly string[]): Filters {
  const params = new URLSearchParams(search);
  const out: Filters = {};
  for (const key of keys) {
    const value = params.get(key);
    if (value) out[key] = value;
  }
  return out;
}
