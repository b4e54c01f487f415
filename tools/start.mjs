#!/usr/bin/env node
// `npm start`: the whole system on this machine: dev IdP, control plane (migrated, demo policy
// active), and the demo agent once it exists. Ctrl-C stops everything.
import { spawn } from 'node:child_process';
import { startDemoAgent } from './start-agent.mjs';
import { prepareSshDemo } from './start-ssh-demo.mjs';
import { prepareDemoRedis } from './demo-redis.mjs';
import { supervise } from './supervise.mjs';
import { CONTROL_PLANE_NODE_FLAGS } from './node-flags.mjs';
import { ensureDemoData, ensureDemoFiles, ensureMariadbDemoData } from './demo-data.mjs';
import net from 'node:net';
import { userInfo } from 'node:os';
import { existsSync } from 'node:fs';

const env = { ...process.env };
const IDP_URL = env.DEV_IDP_URL ?? 'http://127.0.0.1:9000';
const API_URL = `http://${env.HTTP_HOST ?? '127.0.0.1'}:${env.HTTP_PORT ?? '8080'}`;
const children = [];
/** Demo pieces that are restarted when they die: the agent, the demo sshd, the demo Redis. */
const supervisors = [];
let stopping = false;

/** Prints a child's warnings and errors (everything with GW_VERBOSE), prefixed with its name. */
function relayOutput(name, child) {
  const prefix = (line) => `[${name}] ${line}`;
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        if (env.GW_VERBOSE || /"level":(40|50|60)|error|Error/.test(buf.slice(0, i))) console.log(prefix(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
  }
}

/**
 * Starts a node script. `restart: true` (the agent) keeps it running with backoff; otherwise (the
 * IdP and control plane, which everything else needs) its death stops everything.
 */
function start(name, script, extraEnv = {}, args = [], { restart = false, nodeFlags = [] } = {}) {
  const spawnOne = () => {
    const child = spawn(process.execPath, [...nodeFlags, script, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    relayOutput(name, child);
    return child;
  };
  if (restart) {
    supervisors.push(supervise({ name, spawn: spawnOne, log: (line) => !stopping && console.error(line) }));
    return;
  }
  const child = spawnOne();
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`${name} exited (${signal ?? code}); stopping everything`);
    shutdown(1);
  });
  children.push(child);
  return child;
}

function shutdown(code = 0) {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  for (const s of supervisors) void s.stop();
  setTimeout(() => process.exit(code), 1500).unref();
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, fn, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${timeoutMs / 1000} s`);
    await sleep(300);
  }
}
const reachable = (host, port) =>
  new Promise((resolve) => {
    const s = net.connect({ host, port }, () => (s.end(), resolve(true)));
    s.on('error', () => resolve(false));
  });

async function token(client) {
  const discovery = await (await fetch(`${IDP_URL}/.well-known/openid-configuration`)).json();
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'api://gateway' }),
  });
  if (!res.ok) throw new Error(`token for ${client}: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

async function api(method, path, tok, body) {
  const res = await fetch(API_URL + path, {
    method,
    headers: { authorization: `Bearer ${tok}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const DEMO_DESCRIPTION = 'demo policy (npm start)';

async function main() {
  for (const [name, port] of [['PostgreSQL', 5432], ['Redis', 6379]]) {
    if (!(await reachable('127.0.0.1', port))) {
      console.error(`${name} is not reachable on 127.0.0.1:${port}; start it first (see README, "Requirements")`);
      process.exit(1);
    }
  }
  await ensureDemoData();
  const mariadbUp = await reachable('127.0.0.1', 3306);
  if (mariadbUp) await ensureMariadbDemoData();
  else console.error('MariaDB is not reachable on 127.0.0.1:3306: the mariadb-demo resource will refuse sessions until it is');
  await ensureDemoFiles();
  start('dev-idp', 'apps/dev-idp/dist/main.js');
  await waitFor('dev IdP', async () => (await fetch(`${IDP_URL}/.well-known/openid-configuration`)).ok);
  start('control-plane', 'apps/control-plane/dist/main.js', {}, [], { nodeFlags: CONTROL_PLANE_NODE_FLAGS });
  await waitFor('control plane', async () => (await fetch(`${API_URL}/readyz`)).ok);

  const admin = await token('security-admin');
  const active = await api('GET', '/api/v1/policies/active', admin);
  const { DEMO_POLICY, DEMO_SSH_LOGIN } = await import('../libs/policy/dist/index.js');
  // Not root: no dedicated demo login can be made, so the SSH demo logs in as this user (see
  // tools/start-ssh-demo.mjs) and the policy names that login instead.
  const demoText = process.getuid?.() === 0 ? DEMO_POLICY : DEMO_POLICY.replaceAll(`"${DEMO_SSH_LOGIN}"`, JSON.stringify(userInfo().username));
  // A policy someone wrote is never replaced; an older demo policy that npm start installed itself is
  // brought up to date, so the README's examples behave as documented after an upgrade.
  const staleDemo = active.status === 200 && active.body?.description === DEMO_DESCRIPTION && active.body?.text !== demoText;
  if (active.status === 404 || staleDemo) {
    const created = await api('POST', '/api/v1/policies', admin, { text: demoText, description: DEMO_DESCRIPTION, activate: true });
    if (created.status !== 201) throw new Error(`could not install the demo policy: ${JSON.stringify(created.body)}`);
    console.log(`${staleDemo ? 'updated' : 'installed'} and activated the demo policy as version ${created.body.version}`);
  }

  const demoRedis = prepareDemoRedis(env);
  if (await reachable('127.0.0.1', Number(demoRedis.port))) {
    throw new Error(`port ${demoRedis.port} (the demo redis resource) is taken; free it or set DEMO_REDIS_PORT and the redis address in examples/agent.yaml`);
  }
  supervisors.push(supervise({ name: 'demo redis', spawn: demoRedis.spawn, log: (line) => !stopping && console.error(line) }));
  const sshDemo = prepareSshDemo(env);
  if (sshDemo) {
    supervisors.push(supervise({ name: 'ssh demo target', spawn: sshDemo.spawn, log: (line) => !stopping && console.error(line) }));
    for (const note of sshDemo.notes) console.log(`ssh demo: ${note}`);
  }
  const k8sDemoPort = env.DEMO_K8S_PORT ?? '16444';
  if (await reachable('127.0.0.1', Number(k8sDemoPort))) {
    throw new Error(`port ${k8sDemoPort} (the k8s-demo resource) is taken; free it or set DEMO_K8S_PORT and the k8s-demo address in examples/agent.yaml`);
  }
  // The agent reads the demo cluster's certificate and token when a session opens: start it first.
  start('demo kubernetes', 'tools/demo-kube.mjs', {}, [], { restart: true });
  await waitFor('demo kubernetes', () => existsSync('.data/demo-kube/apiserver.crt') && reachable('127.0.0.1', Number(k8sDemoPort)));
  await startDemoAgent({ api, admin, start });
  const sshPort = env.SSH_PORT ?? '12222';
  const sshLines = sshDemo
    ? `
  export TOKEN=$(npm run -s token -- ai-agent)      # the password; for scripts: SSH_ASKPASS, see README "SSH"
  ssh -p ${sshPort} ${sshDemo.login}@ssh-demo@127.0.0.1 uptime                # runs, recorded
  ssh -p ${sshPort} ${sshDemo.login}@ssh-demo@127.0.0.1 'rm -rf /tmp/x'       # refused by policy
  scp -P ${sshPort} -o User=${sshDemo.login}@ssh-demo README.md 127.0.0.1:/tmp/`
    : '';

  console.log(`
Gateway is up.
  web console     ${API_URL}/   (sign in at the dev IdP as alice, bob, carol, dave or erin; password <user>-password; README "Web console")
  REST API        ${API_URL}/api/v1   (OpenAPI UI: ${API_URL}/api/docs, JSON: ${API_URL}/api/docs-json)
  health          ${API_URL}/healthz  ${API_URL}/readyz  ${API_URL}/metrics
  Postgres        127.0.0.1:${env.PG_PORT ?? '15432'} (TLS; dbname = resource, password = OIDC token)
  MySQL           127.0.0.1:${env.MYSQL_PORT ?? '13306'} (TLS; user <db user>@<resource>, password = OIDC token via mysql_clear_password)
  demo resources  redis = its own redis-server on 127.0.0.1:${demoRedis.port} (not the control plane's Redis)
  SSH             127.0.0.1:${env.SSH_PORT ?? '12222'} (user <login>@<resource>, password = OIDC token)${sshDemo ? `; demo target sshd on 127.0.0.1:${sshDemo.port}` : ''}
  MCP             ${API_URL}/mcp  (Streamable HTTP; bearer = OIDC token; tools list_resources, postgres_query, ssh_exec ...; README "MCP")
                  ${API_URL}/mcp/mcp-files  (an MCP server behind the agent: server-filesystem over .data/mcp-files; README "MCP servers behind the gateway")
  Kubernetes      https://127.0.0.1:${env.K8S_PORT ?? '16443'}/k8s/<resource> (TLS; bearer = OIDC token); k8s-demo = a TEST DOUBLE of an API server on 127.0.0.1:${k8sDemoPort}
  dev IdP         ${IDP_URL}  (demo clients: security-admin, approver, auditor, ai-agent, ci-pipeline)

Try it:
  TOKEN=$(npm run -s token -- security-admin)
  curl -s -H "Authorization: Bearer $TOKEN" ${API_URL}/api/v1/whoami
  curl -s -H "Authorization: Bearer $TOKEN" ${API_URL}/api/v1/audit/verify

  export GW_TOKEN=$(npm run -s token -- ai-agent)
  npm run -s gw -- resources
  npm run -s gw -- connect redis --port 16379 &   then   redis-cli -p 16379 PING

  export PGPASSWORD=$(npm run -s token -- ai-agent)
  psql "host=127.0.0.1 port=${env.PG_PORT ?? '15432'} dbname=postgres-demo user=demo_writer sslmode=require" -c 'SELECT * FROM customers'
  psql "host=127.0.0.1 port=${env.PG_PORT ?? '15432'} dbname=postgres-demo user=demo_writer sslmode=require" -c 'DELETE FROM customers WHERE id = 3'   # held: NOTICE names the approval
  curl -s -X POST -H "Authorization: Bearer $(npm run -s token -- approver)" -H 'content-type: application/json' -d '{}' ${API_URL}/api/v1/approvals/<id>/approve

  export MYSQL_PWD=$(npm run -s token -- ai-agent)
  mariadb -h 127.0.0.1 -P ${env.MYSQL_PORT ?? '13306'} -u demo_writer@mariadb-demo --ssl --skip-ssl-verify-server-cert gateway_demo -e 'SELECT * FROM customers'
  mariadb -h 127.0.0.1 -P ${env.MYSQL_PORT ?? '13306'} -u demo_writer@mariadb-demo --ssl --skip-ssl-verify-server-cert gateway_demo -e 'DELETE FROM customers WHERE id = 3'   # held until approved
${sshLines}

  export GW_TOKEN=$(npm run -s token -- ai-agent)
  npm run -s gw -- kubeconfig k8s-demo --kubeconfig .data/kubeconfig
  KUBECONFIG=.data/kubeconfig kubectl get pods                             # a service account token per session
  KUBECONFIG=.data/kubeconfig kubectl get secret db-credentials -o yaml    # data masked
  KUBECONFIG=.data/kubeconfig kubectl delete pod web-1                     # held: the answer names the approval

Ctrl-C stops everything.`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  shutdown(1);
});
