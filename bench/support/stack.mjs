// Starts the real system as separate processes for benchmarks: dev IdP, control plane (own
// database `gateway_bench`), and an agent serving the given resources. Uses the built dist/.
// For A/B runs, BENCH_AGENT_MAIN / BENCH_CP_MAIN point at another build (e.g. a copy of an older dist
// kept under .data/, which still resolves the repository's node_modules).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AGENT_NODE_FLAGS, CONTROL_PLANE_NODE_FLAGS } from '../../tools/node-flags.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];

// BENCH_PROFILE=1 runs the control plane and the agent with --cpu-prof (profiles in .data/profiles).
// BENCH_NODE_ARGS adds node flags to both (e.g. --perf-basic-prof, to read `perf record` samples).
const profileArgs = (name) => {
  if (name === 'idp') return [];
  // Both run with the flags they are shipped with (tools/node-flags.mjs); BENCH_NODE_ARGS comes after, to override them.
  const shipped = { 'control-plane': CONTROL_PLANE_NODE_FLAGS, agent: AGENT_NODE_FLAGS }[name] ?? [];
  const extra = [...shipped, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  return process.env.BENCH_PROFILE ? [...extra, '--cpu-prof', '--cpu-prof-dir=.data/profiles', `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : extra;
};

function run(name, args, env) {
  const child = spawn(process.execPath, [...profileArgs(name), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore', 'pipe'] });
  child.stderr.on('data', (d) => { if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${d}`); });
  children.push(child);
  return child;
}

/** Polls `fn` until it answers true (errors count as not yet), failing after `ms`. */
export async function waitFor(what, fn, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    // A probe that hangs (a request nobody answers) counts as not yet, not as forever.
    try { if (await Promise.race([fn(), sleep(5000).then(() => false)])) return; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${what} not ready`);
    if (process.env.BENCH_VERBOSE) process.stderr.write(`waiting for ${what}\n`);
    await sleep(200);
  }
}

/** A client-credentials token of the dev IdP's client `client` (secret `<client>-secret`) for the gateway. */
export async function devIdpToken(idpUrl, client) {
  const discovery = await (await fetch(`${idpUrl}/.well-known/openid-configuration`)).json();
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'api://gateway' }),
  });
  return (await res.json()).access_token;
}

export function rssOf(pid) {
  return import('node:fs').then(({ readFileSync }) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024);
}

/** A port nothing listens on right now (the machine is shared: fixed ports collide). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startBenchStack(options) {
  try {
    return await startProcesses(options);
  } catch (error) {
    // A stack that failed half-way must not leave its processes holding the ports.
    for (const c of children) c.kill('SIGKILL');
    throw error;
  }
}

async function startProcesses({ resources, policy, httpPort, pgPort, sshPort, idpPort, mysqlPort, controlPlaneEnv = {} }) {
  httpPort ??= await freePort();
  // Every endpoint on a free port: the defaults may be held by `npm start` or another run.
  mysqlPort ??= await freePort();
  pgPort ??= await freePort();
  sshPort ??= await freePort();
  idpPort ??= await freePort();
  const pgPortValue = pgPort;
  // Per run, like the ports: another run on the shared machine keeps its own database and Redis keys.
  const db = `gateway_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  const idpUrl = `http://127.0.0.1:${idpPort}`;
  run('idp', ['apps/dev-idp/dist/main.js'], { DEV_IDP_PORT: String(idpPort), DEV_IDP_KEY_FILE: join(dataDir, 'idp-keys.json') });
  await waitFor('dev IdP', async () => (await fetch(`${idpUrl}/.well-known/openid-configuration`)).ok);
  const api = `http://127.0.0.1:${httpPort}`;
  const cp = run('control-plane', [process.env.BENCH_CP_MAIN ?? 'apps/control-plane/dist/main.js'], {
    HTTP_PORT: String(httpPort), PG_PORT: String(pgPort), SSH_PORT: String(sshPort), MYSQL_PORT: String(mysqlPort), K8S_PORT: '-1', DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${db}`,
    OIDC_ISSUERS: JSON.stringify([{ issuer: idpUrl, audience: 'api://gateway' }]), DATA_DIR: dataDir, LOG_LEVEL: 'warn', REDIS_PREFIX: `gwbench${process.pid}`,
    ...controlPlaneEnv,
  });
  await waitFor('control plane', async () => (await fetch(`${api}/readyz`)).ok);
  const token = (client) => devIdpToken(idpUrl, client);
  const call = async (method, path, tok, body) => {
    const res = await fetch(api + path, { method, headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    return res.json();
  };
  const adminToken = await token('security-admin');
  await call('POST', '/api/v1/policies', adminToken, { text: policy, activate: true });
  const reg = await call('POST', '/api/v1/agents', adminToken, { name: 'bench-agent' });
  const configFile = join(dataDir, 'agent.yaml');
  // BENCH_DURABILITY=write|fsync: what a held result waits for (the agent's recording.durability).
  // BENCH_SHIP_DELAY_MS: the agent's recording.shipDelayMs (3600000 keeps recordings in the agent's journal
  // during a run, to measure what shipping and storing them costs).
  const recording = {
    recording: {
      ...(process.env.BENCH_DURABILITY ? { durability: process.env.BENCH_DURABILITY } : {}),
      ...(process.env.BENCH_SHIP_DELAY_MS ? { shipDelayMs: Number(process.env.BENCH_SHIP_DELAY_MS) } : {}),
    },
  };
  writeFileSync(configFile, JSON.stringify({ controlPlane: { url: api }, auth: { credential: 'env:GW_AGENT_CREDENTIAL' }, resources, spoolDir: join(dataDir, 'spool'), logLevel: 'warn', ...recording }));
  const agent = run('agent', [process.env.BENCH_AGENT_MAIN ?? 'apps/agent/dist/main.js', '--config', configFile], { GW_AGENT_CREDENTIAL: reg.credential });
  await waitFor('agent', async () => {
    const res = await call('GET', '/api/v1/resources', adminToken);
    return resources.every((r) => res.items.some((i) => i.name === r.name && i.online));
  });
  return {
    api, pgPort: pgPortValue, sshPort, mysqlPort, dataDir, token, agentPid: agent.pid, controlPlanePid: cp.pid,
    async stop() {
      // SIGINT lets the processes exit normally, so --cpu-prof writes its profile.
      for (const c of children) c.kill('SIGINT');
      await sleep(process.env.BENCH_PROFILE ? 3000 : 500);
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      const cleanup = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
      await cleanup.end();
    },
  };
}
