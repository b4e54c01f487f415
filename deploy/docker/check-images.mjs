#!/usr/bin/env node
// Builds the three images of deploy/docker with buildah and starts them with podman (host network),
// then checks that they work together: the dev IdP image issues tokens, an API replica and a worker
// of the control plane image come up ready against this machine's Postgres and Redis, the agent image
// connects and declares its resource, and `gw connect` reaches a Redis through the containers.
//
//   npm run build && node deploy/docker/check-images.mjs      (root; about 7 minutes, most of it `npm ci`)
//
// No Docker engine runs on this project's machines and Docker Hub is not reachable from them, so the
// images' base `node:20-bookworm-slim` is stood in for by a local image of the same name: a Debian
// bookworm root made with debootstrap (minbase), this machine's `node` and `npm`, a `node` user with
// uid 1000 as in the official image, and this machine's CA bundle (its npm registry may be reached
// through a proxy that has its own CA). The Dockerfiles themselves are used as they are.
// CHECK_IMAGES_KEEP=1 leaves the containers running; CHECK_IMAGES_REBUILD_BASE=1 remakes the base;
// CHECK_IMAGES_REUSE=1 starts the images already built instead of building them (while iterating).
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { devIdpToken, freePort, waitFor } from '../../bench/support/stack.mjs';

const exec = promisify(execFile);
const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const BASE = 'docker.io/library/node:20-bookworm-slim';
const IMAGES = { 'dev-idp': 'localhost/gateway/dev-idp:check', 'control-plane': 'localhost/gateway/control-plane:check', agent: 'localhost/gateway/agent:check' };
const DEV_ONLY = ['vitest', 'playwright-core', 'eslint', 'nx', 'tsx', 'vite'];
const PREFIX = `gwimg-${process.pid}`;
const DATABASE = `gateway_images_${process.pid}`;
/** How long a container may take to come up (the first start migrates the database). */
const STARTUP_MS = 90_000;
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

async function sh(cmd, args, opts = {}) {
  const { stdout } = await exec(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts });
  return stdout.trim();
}

async function have(cmd) {
  return exec('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false);
}

async function ensureTools() {
  const missing = [];
  for (const [cmd, pkg] of [['buildah', 'buildah'], ['podman', 'podman'], ['debootstrap', 'debootstrap']]) if (!(await have(cmd))) missing.push(pkg);
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(', ')} from Debian`);
  await sh('apt-get', ['install', '-y', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

async function imageExists(name) {
  return exec('podman', ['image', 'exists', name]).then(() => true, () => false);
}

/** The local stand-in for node:20-bookworm-slim (see the header). */
async function ensureBase() {
  if (!process.env.CHECK_IMAGES_REBUILD_BASE && (await imageExists(BASE))) return console.log(`base ${BASE}: present`);
  const started = Date.now();
  const rootfs = mkdtempSync(join(tmpdir(), 'gw-base-'));
  try {
    await sh('debootstrap', ['--variant=minbase', 'bookworm', rootfs, 'http://deb.debian.org/debian']);
    const npmDir = join(await sh('npm', ['root', '-g']), 'npm');
    await sh('cp', [process.execPath, join(rootfs, 'usr/local/bin/node')]);
    await sh('mkdir', ['-p', join(rootfs, 'usr/local/lib/node_modules')]);
    await sh('cp', ['-a', npmDir, join(rootfs, 'usr/local/lib/node_modules/npm')]);
    await sh('ln', ['-sf', '../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm')]);
    await sh('chroot', [rootfs, 'groupadd', '-g', '1000', 'node']);
    await sh('chroot', [rootfs, 'useradd', '-u', '1000', '-g', 'node', '-m', '-s', '/bin/bash', 'node']);
    const caBundle = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';
    const env = ['--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
    if (existsSync(caBundle)) {
      await sh('mkdir', ['-p', join(rootfs, 'etc/ssl/certs')]);
      await sh('cp', [caBundle, join(rootfs, 'etc/ssl/certs/ca-certificates.crt')]);
      env.push('--env', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
    }
    rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
    const container = await sh('buildah', ['from', 'scratch']);
    const mount = await sh('buildah', ['mount', container]);
    await sh('cp', ['-a', `${rootfs}/.`, `${mount}/`]);
    await sh('buildah', ['umount', container]);
    await sh('buildah', ['config', ...env, '--cmd', 'node', container]);
    await sh('buildah', ['commit', '-q', '--rm', container, BASE]);
    console.log(`base ${BASE}: made from debootstrap and this machine's node ${process.version} in ${seconds(started)}`);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

async function build(name) {
  const started = Date.now();
  const log = join(tmpdir(), `${PREFIX}-build-${name}.log`);
  const child = spawn('buildah', ['build', '--isolation', 'chroot', '--pull-never', '-f', `deploy/docker/${name}.Dockerfile`, '-t', IMAGES[name], '.'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => out.push(d));
  const code = await new Promise((r) => child.on('close', r));
  writeFileSync(log, Buffer.concat(out));
  if (code !== 0) throw new Error(`buildah build of ${name} failed (exit ${code}); log: ${log}`);
  const size = Number(await sh('podman', ['image', 'inspect', '--format', '{{.Size}}', IMAGES[name]]));
  console.log(`image ${IMAGES[name]}: built in ${seconds(started)}, ${(size / 1e6).toFixed(0)} MB`);
}

/**
 * How podman starts a container on this kind of machine: runc, because crun refuses its mix of cgroup
 * v1 and v2 mounts, and limits no higher than the sandbox's own (podman's defaults are, and raising a
 * limit is refused).
 */
const hardLimit = (name) => readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name))?.split(/\s{2,}/)[2];
const NOFILE = hardLimit('Max open files') ?? '1024';
const PODMAN_RUN = ['--runtime', 'runc', 'run', '--ulimit', `nofile=${NOFILE}:${NOFILE}`, '--ulimit', 'nproc=4096:4096'];

async function run(name, image, env, extra = []) {
  const args = [...PODMAN_RUN, '-d', '--name', `${PREFIX}-${name}`, '--network', 'host'];
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
  await sh('podman', [...args, ...extra, image]);
}

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

async function containerLogs(name) {
  return exec('podman', ['logs', '--tail', '40', `${PREFIX}-${name}`]).then(({ stdout, stderr }) => `${stdout}${stderr}`, () => '(no logs)');
}

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("tcp-connect") permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") && resource.type == "tcp" };
`;

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root: buildah and podman build and run the images as root here');
  if (!existsSync(join(ROOT, 'apps/cli/dist/main.js'))) throw new Error('npm run build first: the check drives the containers with this checkout\'s gw CLI');
  await ensureTools();
  await ensureBase();
  for (const name of Object.keys(IMAGES)) {
    if (process.env.CHECK_IMAGES_REUSE && (await imageExists(IMAGES[name]))) console.log(`image ${IMAGES[name]}: reused (CHECK_IMAGES_REUSE)`);
    else await build(name);
  }

  // What the images hold.
  for (const [name, image] of Object.entries(IMAGES)) {
    // Development-only packages of the workspace (typescript is not one: @nestjs/swagger depends on it).
    const probe = await sh('podman', [...PODMAN_RUN, '--rm', image, 'sh', '-c', `id -u; for m in ${DEV_ONLY.join(' ')}; do test -e node_modules/$m && echo $m; done; true`]);
    check(probe === '1000', `${name} image runs as uid 1000 and holds none of ${DEV_ONLY.join(', ')}${probe === '1000' ? '' : ` (found: ${probe.split('\n').slice(1).join(', ')})`}`);
  }

  const ports = { idp: await freePort(), http: await freePort(), pg: await freePort(), mysql: await freePort(), ssh: await freePort(), k8s: await freePort(), redis: await freePort() };
  const db = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
  await db.connect();
  const redis = spawn('redis-server', ['--port', String(ports.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const spool = mkdtempSync(join(tmpdir(), 'gw-img-agent-'));
  try {
    const started = Date.now();
    const issuer = `http://127.0.0.1:${ports.idp}`;
    await run('idp', IMAGES['dev-idp'], { DEV_IDP_PORT: ports.idp, DEV_IDP_ISSUER: issuer });
    await waitFor('dev IdP container', async () => (await fetch(`${issuer}/.well-known/openid-configuration`)).ok, STARTUP_MS);
    console.log(`ok: dev IdP container answers discovery (${seconds(started)})`);

    const cpEnv = {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${DATABASE}`, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: PREFIX,
      OIDC_ISSUERS: JSON.stringify([{ issuer, audience: 'api://gateway' }]),
      HTTP_PORT: ports.http, PG_PORT: ports.pg, MYSQL_PORT: ports.mysql, SSH_PORT: ports.ssh, K8S_PORT: ports.k8s,
      PUBLIC_URL: `http://127.0.0.1:${ports.http}`,
    };
    const base = `http://127.0.0.1:${ports.http}`;
    // As the Kubernetes manifests run them: a read-only root, /tmp and the data directory writable.
    const readOnly = (volume, path) => ['--read-only', '--tmpfs', '/tmp', '-v', `${PREFIX}-${volume}:${path}`];
    await run('api', IMAGES['control-plane'], { ...cpEnv, CONTROL_PLANE_ROLE: 'api', REPLICA_NAME: `${PREFIX}-api`, REPLICA_AGENT_URL: base }, readOnly('api-data', '/var/lib/gateway'));
    await waitFor('control plane API container /readyz', async () => (await fetch(`${base}/readyz`)).status === 200, STARTUP_MS).catch(async (e) => {
      throw new Error(`${e.message}\n${await containerLogs('api')}`);
    });
    console.log(`ok: control plane API container ready, database migrated (${seconds(started)})`);
    // The worker has no listeners: it is checked by its log and by not exiting.
    await run('worker', IMAGES['control-plane'], { ...cpEnv, CONTROL_PLANE_ROLE: 'worker', MIGRATIONS_RUN: 'false' }, readOnly('worker-data', '/var/lib/gateway'));

    const admin = await devIdpToken(issuer, 'security-admin');
    const policy = await (await fetch(`${base}/api/v1/policies`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ text: POLICY, activate: true }) })).json();
    check(policy.active === true, `policy activated through the API container (version ${policy.version})`);
    const registered = await (await fetch(`${base}/api/v1/agents`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `${PREFIX}-edge` }) })).json();
    check(typeof registered.credential === 'string', 'agent registered');

    writeFileSync(join(spool, 'agent.yaml'), [
      `controlPlane: { url: "${base}" }`,
      'auth: { credential: "env:GW_AGENT_CREDENTIAL" }',
      'resources:',
      `  - { name: redis-img, type: tcp, address: "127.0.0.1:${ports.redis}" }`,
      'spoolDir: /var/lib/gw-agent',
      'logLevel: info',
      '',
    ].join('\n'));
    await run('agent', IMAGES.agent, { GW_AGENT_CREDENTIAL: registered.credential }, ['-v', `${join(spool, 'agent.yaml')}:/etc/gw-agent/agent.yaml:ro`, ...readOnly('agent-spool', '/var/lib/gw-agent')]);
    await waitFor('agent container online', async () => {
      const res = await (await fetch(`${base}/api/v1/resources`, { headers: { authorization: `Bearer ${admin}` } })).json();
      return res.items.some((r) => r.name === 'redis-img' && r.online);
    }, STARTUP_MS).catch(async (e) => {
      throw new Error(`${e.message}\n${await containerLogs('agent')}`);
    });
    console.log(`ok: agent container connected and its resource online (${seconds(started)})`);

    // A workload through the containers: gw connect from this checkout, redis-cli through it.
    const token = await devIdpToken(issuer, 'ai-agent');
    const local = await freePort();
    const cli = spawn(process.execPath, ['apps/cli/dist/main.js', 'connect', 'redis-img', '--port', String(local)], {
      cwd: ROOT, env: { ...process.env, GW_TOKEN: token, GW_API_URL: base, GW_CONFIG_DIR: spool }, stdio: 'ignore',
    });
    try {
      let answer = '';
      await waitFor('redis-cli through gw connect', async () => {
        answer = await sh('redis-cli', ['-p', String(local), 'PING']);
        return answer === 'PONG';
      }, 30_000);
      check(answer === 'PONG', 'redis-cli PING through gw connect -> API container -> agent container -> Redis: PONG');
    } finally {
      cli.kill();
    }
    await waitFor('the session recorded', async () => {
      const res = await (await fetch(`${base}/api/v1/sessions?resource=redis-img`, { headers: { authorization: `Bearer ${admin}` } })).json();
      return res.items.length > 0;
    }, 20_000);
    console.log('ok: the session is listed by the API container');
    const verify = await (await fetch(`${base}/api/v1/audit/verify`, { headers: { authorization: `Bearer ${admin}` } })).json();
    check(verify.ok === true, `audit chain verifies (${verify.checked} events)`);

    // Webhook deliveries are BullMQ jobs, and the API replica runs none: a delivered ping is the worker's.
    const pings = [];
    const receiver = createServer((req, res) => {
      pings.push(req.headers['x-gateway-event']);
      res.writeHead(204).end();
    });
    const hookPort = await freePort();
    await new Promise((r) => receiver.listen(hookPort, '127.0.0.1', r));
    try {
      const hook = await (await fetch(`${base}/api/v1/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://127.0.0.1:${hookPort}/hook`, events: ['approval.*'] }) })).json();
      await fetch(`${base}/api/v1/webhooks/${hook.id}/test`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
      await waitFor('the webhook ping delivered by the worker container', async () => pings.includes('webhook.ping'), 30_000).catch(async (e) => {
        throw new Error(`${e.message}\n${await containerLogs('worker')}`);
      });
      check(true, 'webhook ping delivered by the worker container (the API replica runs no jobs)');
    } finally {
      receiver.close();
    }
    console.log(`all checks passed in ${seconds(started)} after the builds`);
  } finally {
    if (!process.env.CHECK_IMAGES_KEEP) {
      await exec('podman', ['--runtime', 'runc', 'rm', '-f', '--ignore', '-t', '2', `${PREFIX}-agent`, `${PREFIX}-worker`, `${PREFIX}-api`, `${PREFIX}-idp`]).catch(() => undefined);
      await exec('podman', ['volume', 'rm', '-f', `${PREFIX}-api-data`, `${PREFIX}-worker-data`, `${PREFIX}-agent-spool`]).catch(() => undefined);
    }
    redis.kill();
    rmSync(spool, { recursive: true, force: true });
    await db.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`).catch(() => undefined);
    await db.end();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
