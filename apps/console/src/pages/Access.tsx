import { useState, type FormEvent } from 'react';
import type { AccessRequest, Grant, Items } from '../api/types.js';
import { ErrorNote, Link, Status, time, useLoad } from '../ui/bits.js';
import { useConsole } from '../ui/context.js';
import { ActionCell, ListTable } from '../ui/list-table.js';

export function AccessPage() {
  const { api, me } = useConsole();
  const requests = useLoad(() => api.get<Items<AccessRequest>>('/access-requests?limit=100'), []);
  const grants = useLoad(() => api.get<Items<Grant>>('/grants?limit=100'), []);
  const [form, setForm] = useState({ resource: '', role: '', duration: '1h', reason: '' });
  const [formError, setFormError] = useState<unknown>();
  const [sent, setSent] = useState<string>();
  const [revokeError, setRevokeError] = useState<unknown>();

  const ask = async (e: FormEvent) => {
    e.preventDefault();
    setFormError(undefined);
    setSent(undefined);
    try {
      const r = await api.send<{ id: string; approvalId?: string; status: string }>('POST', '/access-requests', form);
      setSent(`Request sent (${r.status}).`);
      setForm({ ...form, reason: '' });
      requests.reload();
      grants.reload();
    } catch (err) {
      setFormError(err);
    }
  };
  const revoke = async (g: Grant) => {
    if (!confirm(`Revoke ${g.principalId}'s ${g.role} grant on ${g.resource}? Its sessions end.`)) return;
    try {
      await api.send('DELETE', `/grants/${g.id}`);
      grants.reload();
    } catch (err) {
      setRevokeError(err);
    }
  };
  const set = (k: keyof typeof form) => ({ value: form[k], onChange: (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value }) });

  return (
    <section>
      <h1>Access</h1>
      <h2>Ask for access</h2>
      <form className="stacked" onSubmit={(e) => void ask(e)}>
        <label>
          Resource <input required maxLength={63} {...set('resource')} />
        </label>
        <label>
          Role or login <input required maxLength={63} {...set('role')} />
        </label>
        <label>
          For <input required placeholder="30m, 8h, 1d" {...set('duration')} />
        </label>
        <label>
          Reason <input required minLength={3} maxLength={1000} {...set('reason')} />
        </label>
        <button type="submit" className="primary">
          Ask
        </button>
      </form>
      {sent ? <p className="ok">{sent}</p> : null}
      <ErrorNote error={formError} />

      <h2>Grants</h2>
      <ErrorNote error={grants.error ?? revokeError} />
      <ListTable testId="grants" columns={['Principal', 'Resource', 'Role', 'State', 'Until', '']}>
        <tbody>
          {grants.data?.items.map((g) => (
            <tr key={g.id}>
              <td className="principal">{g.principalId}</td>
              <td>{g.resource}</td>
              <td>{g.role}</td>
              <td>
                <Status value={g.state} />
              </td>
              <td>{time(g.revokedAt ?? g.expiresAt)}</td>
              <ActionCell danger when={g.state === 'active' && (me.gatewayRoles.includes('admin') || g.principalId === me.id)} onClick={() => void revoke(g)}>
                Revoke
              </ActionCell>
            </tr>
          ))}
        </tbody>
      </ListTable>

      <h2>Access requests</h2>
      <ErrorNote error={requests.error} />
      <ListTable testId="access-requests" columns={['Asked', 'Principal', 'Resource', 'Role', 'Reason', 'Status']}>
        <tbody>
          {requests.data?.items.map((r) => (
            <tr key={r.id}>
              <td>{time(r.createdAt)}</td>
              <td className="principal">{r.principalId}</td>
              <td>{r.resource}</td>
              <td>{r.role}</td>
              <td>{r.reason}</td>
              <td>
                <Status value={r.status} /> {r.status === 'pending' ? <Link to="/approvals">approvals</Link> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </ListTable>
    </section>
  );
}
