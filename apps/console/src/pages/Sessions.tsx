import { lazy, Suspense, useState } from 'react';
import type { Items, RecordingEvent, Session } from '../api/types.js';
import { ErrorNote, Json, Link, show, Status, time, useLoad } from '../ui/bits.js';
import { hasRole, useConsole } from '../ui/context.js';
import { useFilterForm } from '../ui/filter-form.js';
import { ActionCell, ListTable } from '../ui/list-table.js';

const Replay = lazy(() => import('./Replay.js'));
const FILTERS = ['principal', 'resource', 'type', 'status', 'from', 'to'] as const;
const TYPES = ['', 'postgres', 'ssh', 'mysql', 'kubernetes', 'tcp', 'mcp'];
const STATUSES = ['', 'opening', 'active', 'ended', 'killed', 'failed'];

const principalName = (s: Session) => show(s.principal.displayName ?? s.principal.id ?? '?');

export function SessionsPage({ search }: { search: string }) {
  const { api, me } = useConsole();
  const { query, submit, field, formError } = useFilterForm(search, FILTERS, '/sessions');
  const { data, error, reload } = useLoad(() => api.get<Items<Session>>(`/sessions${query}`), [query]);
  const [killError, setKillError] = useState<unknown>();

  const kill = async (s: Session) => {
    if (!confirm(`End the live session of ${principalName(s)} on ${s.resource.name}?`)) return;
    try {
      await api.send('POST', `/sessions/${s.id}/kill`);
      reload();
    } catch (err) {
      setKillError(err);
    }
  };

  return (
    <section>
      <h1>Sessions</h1>
      <form className="filters" onSubmit={submit}>
        <input placeholder="principal id" aria-label="principal" {...field('principal')} />
        <input placeholder="resource" aria-label="resource" {...field('resource')} />
        <select aria-label="kind" {...field('type')}>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t || 'any kind'}
            </option>
          ))}
        </select>
        <select aria-label="status" {...field('status')}>
          {STATUSES.map((t) => (
            <option key={t} value={t}>
              {t || 'any status'}
            </option>
          ))}
        </select>
        <label>
          from <input type="datetime-local" aria-label="from" {...field('from')} />
        </label>
        <label>
          to <input type="datetime-local" aria-label="to" {...field('to')} />
        </label>
        <button type="submit">Filter</button>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </form>
      <ErrorNote error={formError ?? error ?? killError} />
      {data ? (
        <ListTable testId="sessions" columns={['Started', 'Principal', 'Resource', 'Kind', 'Role', 'Status', '']}>
          <tbody>
            {data.items.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link to={`/sessions/${s.id}`}>{time(s.startedAt)}</Link>
                </td>
                <td className="principal">{principalName(s)}</td>
                <td>{s.resource.name}</td>
                <td>{s.resource.type}</td>
                <td>{s.role}</td>
                <td>
                  <Status value={s.status} />
                </td>
                <ActionCell danger when={(s.status === 'active' || s.status === 'opening') && hasRole(me, 'admin')} onClick={() => void kill(s)}>
                  Kill
                </ActionCell>
              </tr>
            ))}
          </tbody>
        </ListTable>
      ) : null}
      {data?.items.length === 0 ? <p className="muted">No sessions match.</p> : null}
    </section>
  );
}

async function allEvents(get: <T>(path: string) => Promise<T>, id: string): Promise<RecordingEvent[]> {
  const out: RecordingEvent[] = [];
  let after: number | null | undefined;
  // A session's recording can be long: pages of 500, at most 20 of them on screen.
  for (let page = 0; page < 20; page++) {
    const res = await get<{ items: RecordingEvent[]; nextAfter: number | null }>(`/sessions/${id}/events?limit=500${after !== undefined && after !== null ? `&after=${after}` : ''}`);
    out.push(...res.items);
    if (res.nextAfter === null || res.nextAfter === undefined) break;
    after = res.nextAfter;
  }
  return out;
}

export function SessionDetailPage({ id }: { id: string }) {
  const { api, me } = useConsole();
  const session = useLoad(() => api.get<Session>(`/sessions/${id}`), [id]);
  const events = useLoad(() => allEvents((path) => api.get(path), id), [id]);
  const [killError, setKillError] = useState<unknown>();
  const s = session.data;
  if (session.error) return <ErrorNote error={session.error} />;
  if (!s) return <p className="muted">Loading…</p>;
  const kill = async () => {
    try {
      await api.send('POST', `/sessions/${s.id}/kill`);
      session.reload();
    } catch (err) {
      setKillError(err);
    }
  };
  const list = events.data ?? [];
  return (
    <section>
      <p>
        <Link to="/sessions">← Sessions</Link>
      </p>
      <h1>
        {s.resource.type} session on {s.resource.name} <Status value={s.status} />
      </h1>
      {(s.status === 'active' || s.status === 'opening') && hasRole(me, 'admin') ? (
        <button className="danger" onClick={() => void kill()}>
          Kill this session
        </button>
      ) : null}
      <ErrorNote error={killError} />
      <dl className="facts">
        <dt>Principal</dt>
        <dd className="principal">{principalName(s)}</dd>
        <dt>Role</dt>
        <dd>{s.role}</dd>
        <dt>Started</dt>
        <dd>{time(s.startedAt)}</dd>
        <dt>Ended</dt>
        <dd>
          {time(s.endedAt)} {s.endReason ? `(${s.endReason})` : ''}
        </dd>
        <dt>Source</dt>
        <dd>{s.sourceAddress}</dd>
        <dt>Grant</dt>
        <dd>{s.grantId ?? 'none'}</dd>
        <dt>Declared by the client</dt>
        <dd>{s.declared ? JSON.stringify(s.declared) : 'nothing'}</dd>
      </dl>
      <ErrorNote error={events.error} />
      {s.resource.type === 'ssh' ? <SshDetail id={s.id} events={list} /> : <StatementTimeline events={list} />}
    </section>
  );
}

function StatementTimeline({ events }: { events: RecordingEvent[] }) {
  const statements = events.filter((e) => e.type.endsWith('.statement'));
  const other = events.filter((e) => !e.type.endsWith('.statement'));
  return (
    <>
      <h2>Statements ({statements.length})</h2>
      <ol className="timeline" data-testid="timeline">
        {statements.map((e) => {
          const d = e.data as {
            text?: string;
            decision?: string;
            durationMs?: number;
            rowCount?: number;
            error?: { message?: string };
            rows?: unknown[];
            policies?: string[];
            kind?: string;
            approval?: { id: string | null; status: string; scope: string | null; by: string | null };
          };
          return (
            <li key={e.seq} className={`decision-${d.decision ?? 'none'}`}>
              <div className="meta">
                {time(e.at)} · <Status value={d.decision ?? '?'} /> · {d.kind} · {d.durationMs ?? '?'} ms{d.rowCount !== undefined ? ` · ${d.rowCount} rows` : ''}
                {d.policies?.length ? ` · ${d.policies.join(', ')}` : ''}
              </div>
              <code className="stmt">{d.text}</code>
              {d.approval ? (
                <p className="approval-note">
                  {d.approval.id ? <Link to={`/approvals/${d.approval.id}`}>approval</Link> : 'approval'} {d.approval.status}
                  {d.approval.by ? ` by ${d.approval.by}` : ''}
                  {d.approval.scope === 'session' ? ' for the session' : ''}
                </p>
              ) : null}
              {d.error ? <p className="error">{d.error.message}</p> : null}
              {d.rows?.length ? (
                <details>
                  <summary>{d.rows.length} sample rows (masked)</summary>
                  <Json value={d.rows} />
                </details>
              ) : null}
            </li>
          );
        })}
      </ol>
      {other.length ? (
        <details>
          <summary>Other events ({other.length})</summary>
          <Json value={other} />
        </details>
      ) : null}
    </>
  );
}

function SshDetail({ id, events }: { id: string; events: RecordingEvent[] }) {
  const commands = events.filter((e) => e.type === 'ssh.exec' || e.type === 'ssh.shell' || e.type === 'ssh.exit' || e.type === 'ssh.refused');
  const transfers = events.filter((e) => e.type.startsWith('ssh.sftp') || e.type === 'ssh.scp');
  return (
    <div className="ssh">
      <div className="replay">
        <h2>Terminal replay</h2>
        <Suspense fallback={<p className="muted">Loading the player…</p>}>
          <Replay sessionId={id} />
        </Suspense>
      </div>
      <aside>
        <h2>Commands</h2>
        <ul data-testid="commands">
          {commands.map((e) => (
            <li key={e.seq}>
              <span className="muted">{time(e.at)}</span> {e.type.slice(4)}{' '}
              <code>{show(e.data.command ?? e.data.request ?? (e.data.code !== undefined ? `exit ${show(e.data.code)}` : ''))}</code>
              {e.data.reason ? <span className="error"> {show(e.data.reason)}</span> : null}
            </li>
          ))}
        </ul>
        <h2>File transfers</h2>
        {transfers.length === 0 ? <p className="muted">None.</p> : null}
        <ul data-testid="transfers">
          {transfers.map((e) => (
            <li key={e.seq}>
              {show(e.data.op ?? e.type)} <code>{show(e.data.path)}</code> {e.data.bytesWritten ? `${show(e.data.bytesWritten)} B written` : ''}
              {e.data.bytesRead ? `${show(e.data.bytesRead)} B read` : ''} {e.data.status && e.data.status !== 'ok' ? show(e.data.status) : ''}
            </li>
          ))}
        </ul>
      </aside>
    </div>
  );
}
