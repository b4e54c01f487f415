import type { Items, Resource } from '../api/types.js';
import { ErrorNote, show, time, useLoad } from '../ui/bits.js';
import { useConsole } from '../ui/context.js';
import { ListTable } from '../ui/list-table.js';

const ACCESS_TEXT: Record<string, string> = { allow: 'you may connect', deny: 'you may not connect', require_approval: 'you may connect after an approval' };

export function ResourcesPage() {
  const { api } = useConsole();
  const { data, error } = useLoad(() => api.get<Items<Resource>>('/resources'), []);
  return (
    <section>
      <h1>Resources and agents</h1>
      <ErrorNote error={error} />
      <ListTable testId="resources" columns={['Resource', 'Kind', 'Status', 'Last heartbeat', 'Labels', 'You', 'Agents']}>
        <tbody>
          {data?.items.map((r) => (
            <tr key={r.name}>
              <td>{r.name}</td>
              <td>{r.type}</td>
              <td>
                <span className={`status status-${r.online ? 'online' : 'offline'}`}>{r.online ? 'online' : 'offline'}</span>
              </td>
              <td>{time(r.lastHeartbeatAt)}</td>
              <td>
                {Object.entries(r.labels ?? {}).map(([k, v]) => (
                  <span className="label" key={k}>
                    {k}={v}
                  </span>
                ))}
              </td>
              <td>{ACCESS_TEXT[r.access] ?? r.access}</td>
              <td>{r.agents ? r.agents.map((a, i) => <div key={i}>{`${show(a.agentId ?? '?')} ${a.online ? 'online' : 'offline'}`}</div>) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </ListTable>
    </section>
  );
}
