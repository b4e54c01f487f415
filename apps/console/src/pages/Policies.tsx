import { useEffect, useMemo, useState } from 'react';
import type { Items, PolicyVersion } from '../api/types.js';
import { diffStats, lineDiff } from '../lib/line-diff.js';
import { ErrorNote, Json, Status, time, useLoad } from '../ui/bits.js';
import { hasRole, useConsole } from '../ui/context.js';
import { ActionCell, ListTable } from '../ui/list-table.js';

interface Validation {
  valid: boolean;
  errors: unknown[];
  policies: unknown[];
}

const VALIDATE_DELAY_MS = 400;

/** Policy versions, a diff between any two, the editor (validated by the API as you type), dry run, activation. */
export default function PoliciesPage() {
  const { api, me } = useConsole();
  const versions = useLoad(() => api.get<Items<PolicyVersion>>('/policies'), []);
  const list = versions.data?.items ?? [];
  const [left, setLeft] = useState<number>();
  const [right, setRight] = useState<number>();
  const [texts, setTexts] = useState<Record<number, string>>({});
  const [error, setError] = useState<unknown>();
  const isAdmin = hasRole(me, 'admin');

  useEffect(() => {
    if (list.length === 0 || right !== undefined) return;
    setRight(list[0]!.version);
    setLeft(list[1]?.version ?? list[0]!.version);
  }, [list, right]);
  useEffect(() => {
    for (const v of [left, right]) {
      if (v === undefined || texts[v] !== undefined) continue;
      api.get<PolicyVersion>(`/policies/${v}`).then((p) => setTexts((t) => ({ ...t, [v]: p.text ?? '' })), setError);
    }
  }, [api, left, right, texts]);

  const rows = useMemo(() => (left !== undefined && right !== undefined && texts[left] !== undefined && texts[right] !== undefined ? lineDiff(texts[left], texts[right]) : []), [left, right, texts]);
  const stats = diffStats(rows);
  const activate = async (version: number) => {
    try {
      await api.send('POST', `/policies/${version}/activate`);
      versions.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section>
      <h1>Policies</h1>
      <ErrorNote error={versions.error ?? error} />
      <ListTable testId="policy-versions" columns={['Version', 'Description', 'Created', 'By', 'State', '']}>
        <tbody>
          {list.map((p) => (
            <tr key={p.version}>
              <td>{p.version}</td>
              <td>{p.description}</td>
              <td>{time(p.createdAt)}</td>
              <td className="principal">{p.createdBy}</td>
              <td>{p.active ? <Status value="active" /> : null}</td>
              <ActionCell when={!p.active && isAdmin} onClick={() => void activate(p.version)}>
                Activate
              </ActionCell>
            </tr>
          ))}
        </tbody>
      </ListTable>

      <h2>Compare</h2>
      <div className="filters">
        <VersionPick label="from" value={left} versions={list} onChange={setLeft} />
        <VersionPick label="to" value={right} versions={list} onChange={setRight} />
        <span className="muted">
          +{stats.added} −{stats.removed}
        </span>
      </div>
      <table className="diff" data-testid="diff">
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} className={`diff-${r.kind}`}>
              <td className="ln">{r.oldLine ?? ''}</td>
              <td className="ln">{r.newLine ?? ''}</td>
              <td>
                <code>{`${r.kind === 'added' ? '+' : r.kind === 'removed' ? '-' : ' '} ${r.text}`}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Editor initial={right !== undefined ? texts[right] : undefined} canSave={isAdmin} onSaved={versions.reload} />
      <DryRun />
    </section>
  );
}

function VersionPick({ label, value, versions, onChange }: { label: string; value?: number; versions: PolicyVersion[]; onChange: (v: number) => void }) {
  return (
    <label>
      {label}{' '}
      <select aria-label={`compare ${label}`} value={value ?? ''} onChange={(e) => onChange(Number(e.target.value))}>
        {versions.map((v) => (
          <option key={v.version} value={v.version}>
            v{v.version}
            {v.active ? ' (active)' : ''}
          </option>
        ))}
      </select>
    </label>
  );
}

function Editor({ initial, canSave, onSaved }: { initial?: string; canSave: boolean; onSaved: () => void }) {
  const { api } = useConsole();
  const [text, setText] = useState('');
  const [touched, setTouched] = useState(false);
  const [result, setResult] = useState<Validation>();
  const [error, setError] = useState<unknown>();
  const [description, setDescription] = useState('');
  const [saved, setSaved] = useState<string>();

  useEffect(() => {
    if (!touched && initial !== undefined) setText(initial);
  }, [initial, touched]);
  useEffect(() => {
    if (!text.trim()) return;
    // The answer for an older text can arrive after the newer one's (a long policy takes longer to
    // check): only the answer for the text in the editor is shown.
    let current = true;
    const timer = setTimeout(() => {
      api.send<Validation>('POST', '/policies/validate', { text }).then((r) => {
        if (!current) return;
        setResult(r);
        setError(undefined);
      }, (err: unknown) => current && setError(err));
    }, VALIDATE_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, text]);

  const save = async (activate: boolean) => {
    try {
      const created = await api.send<PolicyVersion>('POST', '/policies', { text, activate, ...(description ? { description } : {}) });
      setSaved(`Saved as version ${created.version}${activate ? ' and activated' : ''}.`);
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <h2>Editor</h2>
      <textarea
        className="editor"
        spellCheck={false}
        aria-label="policy text"
        value={text}
        onChange={(e) => {
          setTouched(true);
          setText(e.target.value);
        }}
      />
      <p data-testid="validation" className={result ? (result.valid ? 'ok' : 'error') : 'muted'}>
        {result ? (result.valid ? `Valid: ${result.policies.length} policies.` : 'Invalid:') : 'Validated as you type.'}
      </p>
      {result && !result.valid ? <Json value={result.errors} /> : null}
      <ErrorNote error={error} />
      {canSave ? (
        <div className="filters">
          <input placeholder="description" value={description} onChange={(e) => setDescription(e.target.value)} />
          <button disabled={!result?.valid} onClick={() => void save(false)}>
            Save as new version
          </button>
          <button className="primary" disabled={!result?.valid} onClick={() => void save(true)}>
            Save and activate
          </button>
        </div>
      ) : null}
      {saved ? <p className="ok">{saved}</p> : null}
    </>
  );
}

const DRY_RUN_EXAMPLE = JSON.stringify(
  {
    principal: { id: 'https://idp.example#ai-agent', kind: 'workload', gatewayRoles: ['requester'] },
    action: 'sql:delete',
    resource: { name: 'postgres-demo', type: 'postgres', labels: {} },
    context: {},
  },
  null,
  2,
);

function DryRun() {
  const { api } = useConsole();
  const [input, setInput] = useState(DRY_RUN_EXAMPLE);
  const [answer, setAnswer] = useState<unknown>();
  const [error, setError] = useState<unknown>();
  const run = async () => {
    setError(undefined);
    let body: unknown;
    try {
      body = JSON.parse(input);
    } catch {
      setError(new Error('the request is not valid JSON'));
      return;
    }
    try {
      setAnswer(await api.send('POST', '/policies/dry-run', body));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <h2>Dry run (active policy unless a version or text is given)</h2>
      <textarea className="editor small" aria-label="dry run request" spellCheck={false} value={input} onChange={(e) => setInput(e.target.value)} />
      <button onClick={() => void run()}>Decide</button>
      <ErrorNote error={error} />
      {answer ? <Json value={answer} /> : null}
    </>
  );
}
