import { useState, type FormEvent } from 'react';
import { filtersFrom, toQuery, type Filters } from '../lib/query.js';
import { navigate } from './router.js';

/**
 * The filter form of a list page whose filters live in its own URL (`/audit?principal=...`), so a
 * filtered view can be linked and reloaded. `query` is the API's query string for the applied
 * filters ('' while they do not parse); submitting checks the draft, then navigates to `path` with it.
 */
export function useFilterForm<Name extends string>(search: string, names: readonly Name[], path: string) {
  const applied = filtersFrom(search, names);
  let query = '';
  try {
    query = toQuery(applied);
  } catch {
    query = '';
  }
  const [draft, setDraft] = useState<Filters>(applied);
  const [formError, setFormError] = useState<unknown>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    try {
      toQuery(draft);
      setFormError(undefined);
      const own = new URLSearchParams(Object.entries(draft).filter((kv): kv is [string, string] => !!kv[1]?.trim())).toString();
      navigate(`${path}${own ? `?${own}` : ''}`);
    } catch (err) {
      setFormError(err);
    }
  };
  /** Props that bind an input or select to one filter of the draft. */
  const field = (name: Name) => ({ value: draft[name] ?? '', onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [name]: e.target.value }) });
  return { query, submit, field, formError };
}
