// Latencies of the approval and grant paths through the real processes (dev IdP, control plane,
// agent) on this machine:
//   - hold: Query sent -> NoticeResponse naming the approval (classify, policy, agent -> CP, insert + audit)
//   - release: POST /approve sent -> the held DELETE's result at the client
//   - revoke: DELETE /grants/:id sent -> the client's connection ended (target: within 2 s)
//   npm run build && node bench/approvals/run.mjs        (BENCH_ROUNDS=30 by default)
import pg from 'pg';
import { startBenchStack } from '../support/stack.mjs';
import { freshDatabase, inDatabase } from '../support/pgbench-db.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const DB = 'gateway_bench_approvals';
const POLICY = `
@id("bench-connect") @require_grant("true")
permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") };
@id("bench-read") permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("bench-delete") @approval("required") permit (principal, action == Gateway::Action::"sql:delete", resource) when { principal.gatewayRoles.contains("requester") };
@id("bench-grants") permit (principal, action == Gateway::Action::"request_access", resource) when { principal.gatewayRoles.contains("requester") };`;

await freshDatabase(DB);
await inDatabase(DB, `CREATE TABLE items (id serial PRIMARY KEY, n int); GRANT SELECT, DELETE ON items TO bench_user; INSERT INTO items (n) SELECT g FROM generate_series(1, ${ROUNDS}) g`);

// Ports of their own, so this can run beside the other bench scripts.
const stack = await startBenchStack({
  httpPort: 18180,
  pgPort: 25532,
  idpPort: 19100,
  policy: POLICY,
  resources: [{ name: 'approvals', type: 'postgres', address: '127.0.0.1:5432', labels: {}, postgres: { database: DB }, credentials: { user: 'literal:postgres' } }],
});
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (xs) => `p50 ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;
try {
  const workload = await stack.token('ai-agent');
  const approver = await stack.token('approver');
  const admin = await stack.token('security-admin');
  const call = async (method, path, token, body) => {
    const res = await fetch(stack.api + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    return res.json();
  };
  const client = () => new pg.Client({ host: '127.0.0.1', port: stack.pgPort, user: 'bench_user', password: workload, database: 'approvals', ssl: { rejectUnauthorized: false } });
  const grant = async () => (await call('POST', '/api/v1/access-requests', workload, { resource: 'approvals', role: 'bench_user', duration: '1h', reason: 'bench' })).grant;

  await grant();
  const c = client();
  await c.connect();
  const hold = [];
  const release = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const notice = new Promise((resolve) => c.once('notice', (n) => resolve(n.message)));
    const t0 = performance.now();
    const query = c.query(`DELETE FROM items WHERE n = ${i}`);
    const message = await notice;
    hold.push(performance.now() - t0);
    const id = /approval ([0-9a-f-]{36})/.exec(message)[1];
    const t1 = performance.now();
    await Promise.all([call('POST', `/api/v1/approvals/${id}/approve`, approver, {}), query]);
    release.push(performance.now() - t1);
  }
  await c.end();

  const revoke = [];
  for (let i = 0; i < Math.min(ROUNDS, 10); i++) {
    const g = await grant();
    const s = client();
    await s.connect();
    const ended = new Promise((resolve) => s.on('error', () => resolve(performance.now())));
    const t0 = performance.now();
    await call('DELETE', `/api/v1/grants/${g.id}`, admin);
    revoke.push((await ended) - t0);
  }
  console.log(`hold (Query -> NoticeResponse with the approval id): ${fmt(hold)}`);
  console.log(`release (POST approve -> result at the client):      ${fmt(release)}`);
  console.log(`revoke (DELETE grant -> client connection ended):    ${fmt(revoke)}`);
} finally {
  await stack.stop();
}
