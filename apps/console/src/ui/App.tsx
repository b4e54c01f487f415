import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createApi } from '../api/http.js';
import { beginSignIn, CALLBACK_PATH, completeSignIn, endSessionUrl, loadConfig, type ConsoleConfig, type SignedIn } from '../auth/oidc.js';
import { AccessPage } from '../pages/Access.js';
import { ApprovalDetailPage, ApprovalsPage } from '../pages/Approvals.js';
import { AuditPage } from '../pages/Audit.js';
import { ResourcesPage } from '../pages/Resources.js';
import { SessionDetailPage, SessionsPage } from '../pages/Sessions.js';
import { ErrorNote, Link } from './bits.js';
import { Ctx, hasRole, type ConsoleContext, type GatewayRole, type Me } from './context.js';
import { navigate, useLocation } from './router.js';

const PoliciesPage = lazy(() => import('../pages/Policies.js'));

type Phase = { kind: 'loading' } | { kind: 'signed-out'; note?: string } | { kind: 'error'; error: unknown } | { kind: 'in'; session: SignedIn; me: Me };

const NAV: { to: string; label: string; roles?: GatewayRole[] }[] = [
  { to: '/approvals', label: 'Approvals' },
  { to: '/sessions', label: 'Sessions', roles: ['admin', 'auditor'] },
  { to: '/access', label: 'Access' },
  { to: '/resources', label: 'Resources' },
  { to: '/audit', label: 'Audit', roles: ['admin', 'auditor'] },
  { to: '/policies', label: 'Policies', roles: ['admin', 'auditor'] },
];

export function App() {
  const [config, setConfig] = useState<ConsoleConfig>();
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const session = useRef<SignedIn | undefined>(undefined);
  const { path, search } = useLocation();

  const signOutLocal = useCallback((note?: string) => {
    session.current = undefined;
    setPhase({ kind: 'signed-out', ...(note ? { note } : {}) });
  }, []);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const cfg = await loadConfig();
      if (cancelled) return;
      setConfig(cfg);
      if (location.pathname !== CALLBACK_PATH) return setPhase({ kind: 'signed-out' });
      const { session: signedIn, returnTo } = await completeSignIn(cfg, new URL(location.href));
      const me = await createApi(cfg.apiBase, () => signedIn.accessToken, () => undefined).get<Me>('/whoami');
      session.current = signedIn;
      history.replaceState(null, '', returnTo);
      window.dispatchEvent(new PopStateEvent('popstate'));
      if (!cancelled) setPhase({ kind: 'in', session: signedIn, me });
    })().catch((error: unknown) => {
      history.replaceState(null, '', '/');
      if (!cancelled) setPhase({ kind: 'error', error });
    });
    return () => {
      cancelled = true;
    };
  }, []);

  // The session ends when the token does: nothing refreshes it behind the person's back.
  useEffect(() => {
    if (phase.kind !== 'in') return;
    const timer = setTimeout(() => signOutLocal('Your sign-in expired. Sign in again.'), Math.max(0, phase.session.expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [phase, signOutLocal]);

  const ctx = useMemo<ConsoleContext | undefined>(() => {
    if (phase.kind !== 'in' || !config) return undefined;
    const token = () => session.current?.accessToken ?? '';
    return { config, me: phase.me, token, api: createApi(config.apiBase, token, () => signOutLocal('Your sign-in is no longer accepted. Sign in again.')) };
  }, [phase, config, signOutLocal]);

  const signIn = () => {
    if (!config) return;
    beginSignIn(config, location.pathname + location.search).catch((error: unknown) => setPhase({ kind: 'error', error }));
  };
  const signOut = async () => {
    const ended = config ? await endSessionUrl(config, session.current) : undefined;
    signOutLocal();
    if (ended) location.assign(ended);
    else navigate('/');
  };

  if (phase.kind === 'loading') return <p className="muted center">Loading…</p>;
  if (phase.kind !== 'in' || !ctx) {
    return (
      <main className="signin">
        <h1>Gateway console</h1>
        <p>Approvals, sessions, replays, access, audit and policies of the access gateway.</p>
        {phase.kind === 'signed-out' && phase.note ? <p className="note">{phase.note}</p> : null}
        {phase.kind === 'error' ? <ErrorNote error={phase.error} /> : null}
        {config?.oidc ? (
          <button className="primary" onClick={signIn}>
            Sign in
          </button>
        ) : config ? (
          <p className="error">No identity provider is configured (CONSOLE_OIDC_ISSUER).</p>
        ) : null}
      </main>
    );
  }
  const me = phase.me;
  return (
    <Ctx.Provider value={ctx}>
      <header className="top">
        <strong>Gateway</strong>
        <nav>
          {NAV.filter((n) => !n.roles || hasRole(me, ...n.roles)).map((n) => (
            <Link key={n.to} to={n.to} className={path.startsWith(n.to) ? 'active' : ''}>
              {n.label}
            </Link>
          ))}
        </nav>
        <span className="me" data-testid="me">
          {me.displayName ?? me.id} · {me.gatewayRoles.join(', ') || 'no gateway role'}
        </span>
        <button className="small" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main className="page">
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <Page path={path} search={search} />
        </Suspense>
      </main>
    </Ctx.Provider>
  );
}

function Page({ path, search }: { path: string; search: string }) {
  const approval = /^\/approvals\/([0-9a-f-]{36})$/.exec(path);
  if (approval) return <ApprovalDetailPage id={approval[1]!} preselect={new URLSearchParams(search).get('decide') ?? undefined} />;
  const session = /^\/sessions\/([0-9a-f-]{36})$/.exec(path);
  if (session) return <SessionDetailPage id={session[1]!} />;
  switch (path) {
    case '/':
    case '/approvals':
      return <ApprovalsPage />;
    case '/sessions':
      return <SessionsPage search={search} />;
    case '/access':
      return <AccessPage />;
    case '/resources':
      return <ResourcesPage />;
    case '/audit':
      return <AuditPage search={search} />;
    case '/policies':
      return <PoliciesPage />;
    default:
      return <p>No such page.</p>;
  }
}
