// Latency of one statement as an MCP tool call (`postgres_query` over Streamable HTTP, the SDK's
// client) against the same statement through `psql` (via the gateway, and straight to Postgres) and
// over a direct node-postgres connection, in one run on this machine. Every MCP call is a whole
// gateway session (connect policy, ephemeral role, statement policy, masking, recording), like one
// `psql -c` through the gateway; the direct rows are the floor.
//   npm run build && node bench/mcp/run.mjs        (BENCH_ROUNDS=50 by default)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startBenchStack } from '../support/stack.mjs';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 50);
const DB = `gateway_bench_mcp_${process.pid}`;
const SQL = 'SELECT id, email, n FROM items WHERE id = 42';
const POLICY = `
@id("bench-connect") permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") };
@id("bench-read") @mask("email:partial")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };`;

const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
await admin.query(`CREATE DATABASE ${DB}`);
if ((await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = 'bench_user'`)).rowCount === 0) await admin.query('CREATE ROLE bench_user NOLOGIN');
const directUrl = `postgres://postgres@127.0.0.1:5432/${DB}`;
const setup = new pg.Client({ connectionString: directUrl });
await setup.connect();
await setup.query(`CREATE TABLE items (id int PRIMARY KEY, email text, n int); GRANT SELECT ON items TO bench_user;
  INSERT INTO items SELECT g, 'user' || g || '@example.com', g FROM generate_series(1, 1000) g`);
await setup.end();

const stack = await startBenchStack({
  policy: POLICY,
  resources: [{ name: 'mcp-bench', type: 'postgres', address: '127.0.0.1:5432', labels: {}, postgres: { database: DB }, credentials: { user: 'literal:postgres' } }],
});
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const time = async (fn) => {
  const xs = [];
  await fn(); // warm-up, not counted
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  return xs;
};
try {
  const token = await stack.token('ai-agent');
  const transport = new StreamableHTTPClientTransport(new URL(`${stack.api}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const mcp = new Client({ name: 'bench', version: '1' });
  await mcp.connect(transport);
  const results = {};
  results['MCP postgres_query (SDK client, one gateway session per call)'] = await time(async () => {
    const r = await mcp.callTool({ name: 'postgres_query', arguments: { resource: 'mcp-bench', role: 'bench_user', sql: SQL } });
    if (r.isError || !String(r.structuredContent?.rows?.[0]?.[1]).includes('*')) throw new Error(`unexpected MCP result: ${JSON.stringify(r).slice(0, 300)}`);
  });
  const psqlEnv = { ...process.env, PGPASSWORD: token };
  results['psql -c through the gateway (TLS, one session per run)'] = await time(() =>
    run('psql', [`host=127.0.0.1 port=${stack.pgPort} dbname=mcp-bench user=bench_user sslmode=require`, '-XAtc', SQL], { env: psqlEnv }));
  results['psql -c straight to Postgres (one connection per run)'] = await time(() => run('psql', [directUrl, '-XAtc', SQL]));
  results['node-postgres straight to Postgres, new connection per statement'] = await time(async () => {
    const c = new pg.Client({ connectionString: directUrl });
    await c.connect();
    await c.query(SQL);
    await c.end();
  });
  const kept = new pg.Client({ connectionString: directUrl });
  await kept.connect();
  results['node-postgres straight to Postgres, one open connection'] = await time(() => kept.query(SQL));
  await kept.end();
  await mcp.close();

  console.log(`${ROUNDS} rounds of: ${SQL}`);
  const width = Math.max(...Object.keys(results).map((k) => k.length));
  for (const [name, xs] of Object.entries(results)) {
    console.log(`${name.padEnd(width)}  p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms  p95 ${pct(xs, 95).toFixed(1).padStart(7)} ms  mean ${mean(xs).toFixed(1).padStart(7)} ms`);
  }
  const mcpP50 = pct(Object.values(results)[0], 50);
  console.log(`MCP p50 / psql-through-gateway p50: ${(mcpP50 / pct(Object.values(results)[1], 50)).toFixed(2)}`);
} finally {
  await stack.stop();
  const cleanup = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await cleanup.connect();
  await cleanup.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
  await cleanup.end();
}
