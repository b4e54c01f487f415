import { useState, type FormEvent } from 'react';
import { filtersFrom, toQuery, type Filters } from '../lib/query.js';
import { ErrorNote, Json, time, useLoad } from '../ui/bits.js';
import { useConsole } from '../ui/context.js';
import { navigate } from '../ui/router.js';

interface AuditEvent {
  seq: number;
  occurredAt: string;
  actorId: string | null;
  action: string;
  resource: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

const FILTERS = ['principal', 'resource', 'action', 'from', 'to'] as const;

export function AuditPage({ search }: { search: string }) {
  const { api } = useConsole();
  const applied = filtersFrom(search, FILTERS);
  let query = '';
  try {
    query = toQuery(applied);
  } catch {
    query = '';
  }
  const events = useLoad(() => api.get<{ items: AuditEvent[] }>(`/audit/events${query}`), [query]);
  const verify = useLoad(() => api.get<Record<string, unknown>>('/audit/verify'), []);
  const [draft, setDraft] = useState<Filters>(applied);
  const [formError, setFormError] = useState<unknown>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    try {
      toQuery(draft);
      setFormError(undefined);
      const own = new URLSearchParams(Object.entries(draft).filter((kv): kv is [string, string] => !!kv[1]?.trim())).toString();
      navigate(`/audit${own ? `?${own}` : ''}`);
    } catch (err) {
      setFormError(err);
    }
  };
  const field = (name: (typeof FILTERS)[number]) => ({ value: draft[name] ?? '', onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [name]: e.target.value }) });
  const v = verify.data as { ok?: boolean; valid?: boolean; checked?: number; events?: number; brokenAt?: unknown; firstBroken?: unknown } | undefined;
  const ok = v?.ok ?? v?.valid;
  return (
    <section>
      <h1>Audit</h1>
      <p data-testid="chain" className={ok === undefined ? 'muted' : ok ? 'ok' : 'error'}>
        {verify.error ? '' : v === undefined ? 'Verifying the chain…' : ok ? `Chain verified: every link holds (${String(v.checked ?? v.events ?? '')} events).` : `Chain BROKEN: ${JSON.stringify(v.brokenAt ?? v.firstBroken ?? v)}`}
      </p>
      <ErrorNote error={verify.error} />
      <form className="filters" onSubmit={submit}>
        <input placeholder="principal id" aria-label="principal" {...field('principal')} />
        <input placeholder="resource" aria-label="resource" {...field('resource')} />
        <input placeholder="action (e.g. approval.approve)" aria-label="action" {...field('action')} />
        <label>
          from <input type="datetime-local" {...field('from')} />
        </label>
        <label>
          to <input type="datetime-local" {...field('to')} />
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorNote error={formError ?? events.error} />
      <table className="list" data-testid="audit">
        <thead>
          <tr>
            <th>#</th>
            <th>When</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Resource</th>
            <th>Outcome</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {events.data?.items.map((e) => (
            <tr key={e.seq}>
              <td>{e.seq}</td>
              <td>{time(e.occurredAt)}</td>
              <td className="principal">{e.actorId}</td>
              <td>{e.action}</td>
              <td>{e.resource}</td>
              <td>{e.outcome}</td>
              <td>
                <details>
                  <summary>show</summary>
                  <Json value={e.details} />
                </details>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
