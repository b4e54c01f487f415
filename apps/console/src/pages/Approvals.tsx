import { useCallback, useState } from 'react';
import { useApprovalStream } from '../api/live-approvals.js';
import type { Approval, Items, Session } from '../api/types.js';
import { ErrorNote, Json, Link, show, Status, time, useLoad } from '../ui/bits.js';
import { hasRole, useConsole } from '../ui/context.js';
import { ListTable } from '../ui/list-table.js';

function subjectText(a: Approval): string {
  const s = a.detail ?? a.subject;
  const text = s.text ?? s.statement ?? s.command ?? s.request ?? s.summary;
  if (typeof text === 'string') return text;
  if (a.kind === 'access_request') return `access as ${show(s.role ?? '?')} for ${show(s.duration ?? s.durationSeconds ?? '?')}`;
  return JSON.stringify(s);
}

const approvedVotes = (a: Approval) => a.votes.filter((v) => v.decision === 'approve').length;

export function ApprovalsPage() {
  const { api, config, token } = useConsole();
  const [items, setItems] = useState<Map<string, Approval>>(new Map());
  const [error, setError] = useState<unknown>();

  const refreshAll = useCallback(() => {
    api.get<Items<Approval>>('/approvals?limit=200').then(
      (r) => setItems(new Map(r.items.map((a) => [a.id, a]))),
      setError,
    );
  }, [api]);
  const refreshOne = useCallback(
    (id: string) => {
      api.get<Approval>(`/approvals/${encodeURIComponent(id)}`).then(
        (a) => setItems((m) => new Map(m).set(a.id, a)),
        () => undefined,
      );
    },
    [api],
  );
  const live = useApprovalStream(config.apiBase, token, (id) => (id ? refreshOne(id) : refreshAll()));

  const all = [...items.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const pending = all.filter((a) => a.status === 'pending');
  const done = all.filter((a) => a.status !== 'pending').slice(0, 50);
  return (
    <section>
      <h1>
        Approvals <span className={`live live-${live}`}>{live}</span>
      </h1>
      <ErrorNote error={error} />
      <h2>Waiting ({pending.length})</h2>
      <ApprovalTable items={pending} empty="Nothing waits for a decision." />
      <h2>Decided</h2>
      <ApprovalTable items={done} empty="No decided approvals yet." />
    </section>
  );
}

function ApprovalTable({ items, empty }: { items: Approval[]; empty: string }) {
  if (items.length === 0) return <p className="muted">{empty}</p>;
  return (
    <ListTable testId="approvals" columns={['Asked', 'Kind', 'Resource', 'Principal', 'What', 'Progress', 'Status']}>
      <tbody>
        {items.map((a) => (
          <tr key={a.id}>
            <td>
              <Link to={`/approvals/${a.id}`}>{time(a.createdAt)}</Link>
            </td>
            <td>{a.kind}</td>
            <td>{a.resource}</td>
            <td className="principal">{a.principalId}</td>
            <td>
              <code className="stmt">{subjectText(a)}</code>
            </td>
            <td>
              {approvedVotes(a)} of {a.requiredApprovals}
            </td>
            <td>
              <Status value={a.status} />
              {a.youMayDecide ? <span className="badge">your decision</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </ListTable>
  );
}

/** What the client claimed about itself (application name, SSH client version...): recorded, never trusted. */
function DeclaredBySession({ sessionId }: { sessionId: string }) {
  const { api } = useConsole();
  const { data } = useLoad(() => api.get<Session>(`/sessions/${sessionId}`), [sessionId]);
  if (!data) return null;
  return (
    <>
      <h2>Declared by the client (not verified)</h2>
      <p data-testid="declared">
        {data.declared ? JSON.stringify(data.declared) : 'nothing'} from {data.sourceAddress ?? '?'}
      </p>
    </>
  );
}

export function ApprovalDetailPage({ id, preselect }: { id: string; preselect?: string }) {
  const { api, config, token, me } = useConsole();
  const { data: a, error, reload } = useLoad(() => api.get<Approval>(`/approvals/${encodeURIComponent(id)}`), [id]);
  const live = useApprovalStream(config.apiBase, token, (changed) => (changed === undefined || changed === id) && reload());
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>();

  const decide = async (decision: 'approve' | 'deny', scope?: 'once' | 'session') => {
    setBusy(true);
    setActionError(undefined);
    try {
      const body = { ...(comment.trim() ? { comment: comment.trim() } : {}), ...(scope ? { scope } : {}) };
      await api.send('POST', `/approvals/${encodeURIComponent(id)}/${decision}`, body);
      setComment('');
      reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  };

  if (error) return <ErrorNote error={error} />;
  if (!a) return <p className="muted">Loading…</p>;
  const mayDecide = a.youMayDecide === true && hasRole(me, 'approver', 'admin');
  return (
    <section>
      <p>
        <Link to="/approvals">← Approvals</Link> <span className={`live live-${live}`}>{live}</span>
      </p>
      <h1>
        {a.kind.replace('_', ' ')} on {a.resource} <Status value={a.status} />
      </h1>
      <dl className="facts">
        <dt>Requested by</dt>
        <dd className="principal">{a.principalId}</dd>
        <dt>Asked</dt>
        <dd>{time(a.createdAt)}</dd>
        <dt>Decide before</dt>
        <dd>{time(a.expiresAt)}</dd>
        <dt>Policy that asked</dt>
        <dd data-testid="policies">{Array.isArray(a.subject.policies) ? a.subject.policies.map(show).join(', ') : show(a.subject.policy) || 'not named'}</dd>
        <dt>Approvals</dt>
        <dd data-testid="progress">
          {approvedVotes(a)} of {a.requiredApprovals} needed (approvers: {a.approvers.join(', ')})
        </dd>
        {a.sessionId ? (
          <>
            <dt>Session</dt>
            <dd>
              <Link to={`/sessions/${a.sessionId}`}>{a.sessionId}</Link>
            </dd>
          </>
        ) : null}
        {a.decidedAt ? (
          <>
            <dt>Decided</dt>
            <dd>{time(a.decidedAt)}</dd>
          </>
        ) : null}
      </dl>
      <h2>As the agent saw it{a.detail ? '' : ' (masked)'}</h2>
      <pre className="subject" data-testid="subject">
        {subjectText(a)}
      </pre>
      <details>
        <summary>Everything the request carries</summary>
        <Json value={{ subject: a.subject, ...(a.detail ? { detail: a.detail } : {}) }} />
      </details>
      <h2>Verified process (from the token)</h2>
      {a.process ? <Json value={a.process} /> : <p className="muted">No verified process claims.</p>}
      {a.sessionId && hasRole(me, 'admin', 'auditor') ? <DeclaredBySession sessionId={a.sessionId} /> : null}
      {a.votes.length > 0 ? (
        <>
          <h2>Votes</h2>
          <ul className="votes">
            {a.votes.map((v) => (
              <li key={`${v.approverId}-${v.at}`}>
                <strong>{v.approverName ?? v.approverId}</strong> {v.decision === 'approve' ? 'approved' : 'denied'} at {time(v.at)}
                {v.comment ? <q>{v.comment}</q> : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {a.status === 'pending' ? (
        mayDecide ? (
          <div className="decide">
            <label htmlFor="comment">Comment</label>
            <textarea id="comment" value={comment} maxLength={2000} onChange={(e) => setComment(e.target.value)} placeholder="Why (required reading for the audit trail)" />
            <div className="buttons">
              <button className={preselect === 'approve' ? 'primary focus' : 'primary'} disabled={busy} onClick={() => void decide('approve', 'once')}>
                Approve once
              </button>
              {a.kind === 'statement' || a.kind === 'command' ? (
                <button disabled={busy} onClick={() => void decide('approve', 'session')}>
                  Approve for the session
                </button>
              ) : null}
              <button className={preselect === 'deny' ? 'danger focus' : 'danger'} disabled={busy} onClick={() => void decide('deny')}>
                Deny
              </button>
            </div>
            <ErrorNote error={actionError} />
          </div>
        ) : (
          <p className="muted" data-testid="cannot-decide">
            You cannot decide this approval{hasRole(me, 'approver', 'admin') ? ' (you voted already, or the policy names other approvers)' : ': it takes an approver'}.
          </p>
        )
      ) : (
        <p data-testid="outcome">
          Outcome: <Status value={a.status} />
        </p>
      )}
    </section>
  );
}
