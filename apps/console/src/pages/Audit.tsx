import { ErrorNote, Json, time, useLoad } from '../ui/bits.js';
import { useConsole } from '../ui/context.js';
import { useFilterForm } from '../ui/filter-form.js';
import { ListTable } from '../ui/list-table.js';

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
  const { query, submit, field, formError } = useFilterForm(search, FILTERS, '/audit');
  const events = useLoad(() => api.get<{ items: AuditEvent[] }>(`/audit/events${query}`), [query]);
  const verify = useLoad(() => api.get<Record<string, unknown>>('/audit/verify'), []);
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
      <ListTable testId="audit" columns={['#', 'When', 'Actor', 'Action', 'Resource', 'Outcome', 'Details']}>
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
      </ListTable>
    </section>
  );
}
