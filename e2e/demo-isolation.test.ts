import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { startConnectListener } from '@gw/cli';
import { DEMO_POLICY, DEMO_SSH_LOGIN } from '@gw/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels } from '../apps/control-plane/src/redis/redis-tokens.js';
import { gatewaySsh, type GatewaySsh } from './support/ssh-client.js';
import { startStack, type Stack } from './support/stack.js';
import { supervise, type Supervisor } from '../tools/supervise.mjs';
import { DEMO_REDIS_DEFAULT_PORT, prepareDemoRedis } from '../tools/demo-redis.mjs';
import { prepareSshDemo } from '../tools/start-ssh-demo.mjs';
import { DEMO_LOGIN_HOME } from '../tools/demo-login.mjs';

/**
 * The resources `npm start` serves are reached by workloads; they must not be a way into the
 * gateway itself: not its Redis (replica messages, kill channel, job queues), not its keys in
 * .data/, not its database. The demo pieces here are the ones `npm start` runs (tools/*.mjs),
 * served through the gateway with the demo policy, as the quick start does.
 */
const run = promisify(execFile);
const REPO = resolve('.');
const CANARY_DIR = resolve('.data/test-isolation-canary');

describe('the demo resources cannot reach the control plane\'s Redis, keys or database', () => {
  let stack: Stack;
  let demoRedis: { port: string; sup: Supervisor };
  let sshDemo: NonNullable<ReturnType<typeof prepareSshDemo>>;
  let sshSup: Supervisor;
  let client: GatewaySsh;
  // What the login itself can reach is a property of the host, not of command policy: the probes run
  // as a security administrator, whom the demo policy lets run any command as gw-demo.
  let admin: GatewaySsh;
  let cpRedisPort: string;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (it creates the gw-demo login as npm start does)');
    const redisPort = String(await freePort());
    const prepared = prepareDemoRedis({ DEMO_REDIS_PORT: redisPort }, resolve(`.data/test-demo-redis-${redisPort}`));
    demoRedis = { port: prepared.port, sup: supervise({ name: 'demo redis', spawn: prepared.spawn, log: () => undefined }) };
    // A secret written the careless way (world-readable, in a world-readable directory), as any
    // tool may leave one in .data/: the demo start-up must lock it away like the known ones.
    mkdirSync(CANARY_DIR, { recursive: true, mode: 0o755 });
    chmodSync(CANARY_DIR, 0o755);
    writeFileSync(`${CANARY_DIR}/secret.key`, 'canary-secret\n', { mode: 0o644 });
    chmodSync(`${CANARY_DIR}/secret.key`, 0o644);
    const sshPort = String(await freePort());
    sshDemo = prepareSshDemo({ ...process.env, SSH_DEMO_PORT: sshPort })!;
    expect(sshDemo.login).toBe(DEMO_SSH_LOGIN);
    sshSup = supervise({ name: 'ssh demo', spawn: sshDemo.spawn, log: () => undefined });
    stack = await startStack({
      policy: DEMO_POLICY,
      resources: [
        { name: 'redis', type: 'tcp', address: `127.0.0.1:${redisPort}`, labels: { demo: 'true', env: 'dev' } },
        {
          name: 'ssh-demo', type: 'ssh', address: `127.0.0.1:${sshPort}`, labels: { demo: 'true', env: 'dev' },
          // The CA and host key of examples/agent.yaml, which the demo sshd trusts.
          extra: { ssh: { hostKeysFile: '.data/ssh-demo/host_ed25519_key.pub', caKeyFile: '.data/agent/ssh-ca.key', mode: 'certificate' } },
        },
      ],
    });
    cpRedisPort = new URL(stack.cp.config.redis.url).port || '6379';
    client = gatewaySsh(stack.sshPort, await stack.cp.token('ai-agent'));
    admin = gatewaySsh(stack.sshPort, await stack.cp.token('security-admin'));
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await sshSup?.stop();
    await demoRedis?.sup.stop();
    rmSync(CANARY_DIR, { recursive: true, force: true });
    rmSync(resolve(`.data/test-demo-redis-${demoRedis?.port}`), { recursive: true, force: true });
  });

  describe('examples/agent.yaml', () => {
    const config = parse(readFileSync('examples/agent.yaml', 'utf8')) as { resources: Array<{ name: string; type: string; address: string }> };
    const stores = ['6379', '5432', '3306'];
    it.each(config.resources.filter((r) => r.type === 'tcp').map((r) => [r.name, r.address]))('tcp resource %s (%s) is no store of the gateway', (_name, address) => {
      expect(stores).not.toContain(address.split(':').at(-1));
    });
    it('in docker-compose too, no tcp resource is the control plane\'s Redis or Postgres service', () => {
      // Every control plane service (API replicas and the worker share their settings through a YAML merge key).
      const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, { environment?: Record<string, string> }> };
      const cpEnvs = Object.values(compose.services).map((s) => s.environment).filter((env) => env?.REDIS_URL !== undefined);
      expect(cpEnvs.length).toBe(3);
      const cpStores = cpEnvs.flatMap((env) => [new URL(env!.REDIS_URL!).host, new URL(env!.DATABASE_URL!).host]);
      const agent = parse(readFileSync('examples/agent.compose.yaml', 'utf8')) as { resources: Array<{ type: string; address: string }> };
      const tcp = agent.resources.filter((r) => r.type === 'tcp');
      expect(tcp.length).toBeGreaterThan(0);
      for (const r of tcp) expect(cpStores).not.toContain(r.address);
    });
    it('the redis resource is the demo redis-server that npm start runs', () => {
      expect(config.resources.find((r) => r.name === 'redis')?.address).toBe(`127.0.0.1:${DEMO_REDIS_DEFAULT_PORT}`);
    });
  });

  it('PUBLISH/SUBSCRIBE through `gw connect redis` never reaches the control plane\'s channels or keys', async () => {
    const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token: await stack.cp.token('ai-agent'), resource: 'redis' });
    const cli = async (...args: string[]) => (await run('redis-cli', ['-p', String(listener.port), ...args])).stdout.trim();
    const cp = async (...args: string[]) => (await run('redis-cli', ['-p', cpRedisPort, ...args])).stdout.trim();
    try {
      expect(await cli('PING')).toBe('PONG');
      const ch = channels(stack.cp.config.redis.prefix);
      for (const channel of Object.values(ch)) {
        // The control plane listens on each of these on its Redis ...
        expect(await cp('PUBSUB', 'NUMSUB', channel)).toMatch(new RegExp(`^${channel}\\n[1-9]`));
        // ... and a workload's PUBLISH through the resource reaches nobody.
        expect(await cli('PUBSUB', 'NUMSUB', channel)).toBe(`${channel}\n0`);
        expect(await cli('PUBLISH', channel, JSON.stringify({ sessionId: 'x', by: 'anyone' }))).toBe('0');
      }
      expect(await cli('CONFIG', 'GET', 'port')).toBe(`port\n${demoRedis.port}`);
      expect(await cli('KEYS', `${stack.cp.config.redis.prefix}*`)).toBe('');
    } finally {
      await listener.close();
    }
  });

  it(`a workload lands on the demo target as the unprivileged ${DEMO_SSH_LOGIN}; other logins are refused by policy`, async () => {
    const who = await client.ssh(`${DEMO_SSH_LOGIN}@ssh-demo`, ['id -un; id -u']);
    expect(who.code).toBe(0);
    const [name, uid] = who.stdout.trim().split('\n');
    expect(name).toBe(DEMO_SSH_LOGIN);
    expect(Number(uid)).toBeGreaterThan(0);
    for (const login of ['root', 'postgres', process.env.USER ?? 'root']) {
      const refused = await client.ssh(`${login}@ssh-demo`, ['id -un']);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toBe('');
    }
  });

  it(`a workload's copy cannot plant a startup file in ${DEMO_SSH_LOGIN}'s home, which would run unseen at its next command`, async () => {
    // bash reads ~/.bashrc for every command sshd runs: a copy there would be code no command policy decided.
    const bashrc = `${DEMO_LOGIN_HOME}/.bashrc`;
    const original = existsSync(bashrc) ? readFileSync(bashrc) : undefined;
    const marker = `/tmp/gw-e2e-planted-${process.pid}`;
    const payload = `/tmp/gw-e2e-payload-${process.pid}`;
    writeFileSync(payload, `touch ${marker}\n`);
    const scp = (...args: string[]) => client.run('scp', [...client.options, '-P', String(stack.sshPort), '-o', `User=${DEMO_SSH_LOGIN}@ssh-demo`, ...args]);
    try {
      for (const copy of [[payload, `127.0.0.1:${bashrc}`], ['-O', payload, `127.0.0.1:${bashrc}`], [payload, `127.0.0.1:${DEMO_LOGIN_HOME}/.bash_profile`]]) {
        const up = await scp(...copy);
        expect(up.code, `scp ${copy.join(' ')} was let through`).not.toBe(0);
      }
      expect((await client.ssh(`${DEMO_SSH_LOGIN}@ssh-demo`, ['uptime'])).code).toBe(0);
      expect(existsSync(marker)).toBe(false);
      // Copies still work where they belong.
      expect((await scp(payload, `127.0.0.1:/tmp/gw-e2e-copied-${process.pid}`)).code).toBe(0);
    } finally {
      if (original && !readFileSync(bashrc).equals(original)) writeFileSync(bashrc, original);
      rmSync(`${DEMO_LOGIN_HOME}/.bash_profile`, { force: true });
      for (const f of [marker, payload, `/tmp/gw-e2e-copied-${process.pid}`]) rmSync(f, { force: true });
    }
  });

  const secrets = [
    '.data', '.data/test-isolation-canary/secret.key', '.data/dev-idp/signing-keys.json', '.data/agent/ssh-ca.key', '.data/agent/credential',
    '.data/ssh-demo/host_ed25519_key', '.data/control-plane',
  ];
  it.each(secrets)(`${DEMO_SSH_LOGIN} cannot read %s`, async (path) => {
    const full = `${REPO}/${path}`;
    // Only secrets this machine has (an agent credential exists once npm start has run).
    if (!existsSync(full)) return;
    const result = await admin.ssh(`${DEMO_SSH_LOGIN}@ssh-demo`, [`cat ${full} >/dev/null 2>&1 || ls ${full} >/dev/null 2>&1 && echo READABLE || echo refused`]);
    expect(result.stdout.trim()).toBe('refused');
  });

  it(`${DEMO_SSH_LOGIN} finds no readable file anywhere under .data/`, async () => {
    const result = await admin.ssh(`${DEMO_SSH_LOGIN}@ssh-demo`, [`find ${REPO}/.data -type f -readable 2>/dev/null | head -5; echo done`]);
    expect(result.stdout).toBe('done\n');
  });

  // Every way to the machine's Postgres (trust auth for everyone), the control plane's Redis and
  // MariaDB; the last rows are controls that must work, so the refusals above are not a broken shell.
  const reach: Array<[string, string, 'refused' | 'reached']> = [
    ['Postgres as superuser over TCP 127.0.0.1', `psql -h 127.0.0.1 -p 5432 -U postgres -Atc 'select 42'`, 'refused'],
    ['Postgres as superuser over TCP localhost', `psql -h localhost -p 5432 -U postgres -Atc 'select 42'`, 'refused'],
    ['Postgres as superuser over TCP ::1', `psql -h ::1 -p 5432 -U postgres -Atc 'select 42'`, 'refused'],
    ['Postgres as superuser over its Unix socket', `psql -h /var/run/postgresql -U postgres -Atc 'select 42'`, 'refused'],
    ['Postgres over the default socket', `psql -U postgres -d postgres -Atc 'select 42'`, 'refused'],
    ['Postgres port with bash /dev/tcp', `exec 3<>/dev/tcp/127.0.0.1/5432 && echo 42`, 'refused'],
    ['the control plane Redis (127.0.0.1)', `redis-cli -h 127.0.0.1 -p 6379 PING | grep -q PONG && echo 42`, 'refused'],
    ['the control plane Redis (::1)', `redis-cli -h ::1 -p 6379 PING | grep -q PONG && echo 42`, 'refused'],
    ['MariaDB port', `exec 3<>/dev/tcp/127.0.0.1/3306 && echo 42`, 'refused'],
    ['control: the demo redis resource', `redis-cli -h 127.0.0.1 -p DEMO_REDIS_PORT PING | grep -q PONG && echo 42`, 'reached'],
    ['control: psql is there to try', `psql --version >/dev/null && echo 42`, 'reached'],
    ['control: the shell runs commands', `echo 42`, 'reached'],
  ];
  it.each(reach)(`${DEMO_SSH_LOGIN} and %s`, async (_name, command, expected) => {
    const result = await admin.ssh(`${DEMO_SSH_LOGIN}@ssh-demo`, [`(${command.replace('DEMO_REDIS_PORT', demoRedis.port)}) 2>/dev/null`]);
    expect(result.stdout.includes('42') ? 'reached' : 'refused').toBe(expected);
  });

  it('the demo sshd and demo redis come back after kill -9 and serve the next session', async () => {
    const sshPid = sshSup.child.pid!;
    const redisPid = demoRedis.sup.child.pid!;
    process.kill(sshPid, 'SIGKILL');
    process.kill(redisPid, 'SIGKILL');
    await expect.poll(() => sshSup.restarts + demoRedis.sup.restarts, { timeout: 5000 }).toBe(2);
    await expect.poll(async () => (await client.ssh(`${DEMO_SSH_LOGIN}@ssh-demo`, ['echo back'])).stdout, { timeout: 15_000, interval: 500 }).toBe('back\n');
    const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token: await stack.cp.token('ai-agent'), resource: 'redis' });
    try {
      await expect.poll(async () => (await run('redis-cli', ['-p', String(listener.port), 'PING']).catch(() => ({ stdout: '' }))).stdout.trim(), { timeout: 10_000 }).toBe('PONG');
    } finally {
      await listener.close();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}
