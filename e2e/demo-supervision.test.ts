import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { supervise, type Supervisor } from '../tools/supervise.mjs';
import { prepareDemoRedis } from '../tools/demo-redis.mjs';

/** `npm start` keeps the demo agent, demo sshd and demo Redis running: kill -9 must not end the demo. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
const nodeChild = (code: string) => () => spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
const LONG_LIVED = 'setInterval(() => {}, 1000)';

describe('supervise: restart with backoff', () => {
  const running: Supervisor[] = [];
  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop('SIGKILL');
  });
  const start = (opts: Parameters<typeof supervise>[0]) => {
    const s = supervise({ log: () => undefined, ...opts });
    running.push(s);
    return s;
  };

  it.each(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGSEGV'] as const)('a child killed with %s is started again (new pid)', async (signal) => {
    const s = start({ name: 'agent', spawn: nodeChild(LONG_LIVED), minDelayMs: 50 });
    const first = s.child;
    await sleep(200);
    first.kill(signal);
    await expect.poll(() => s.restarts, { timeout: 3000 }).toBe(1);
    expect(s.child.pid).not.toBe(first.pid);
    await sleep(200);
    expect(alive(s.child)).toBe(true);
  });

  it('a child exiting by itself (code 0 or 1) is restarted too', async () => {
    const s = start({ name: 'x', spawn: nodeChild('setTimeout(() => process.exit(1), 100)'), minDelayMs: 50, maxDelayMs: 50 });
    await expect.poll(() => s.restarts, { timeout: 3000 }).toBeGreaterThanOrEqual(3);
  });

  it('a child that dies at once is restarted with doubling delays, capped', async () => {
    const lines: string[] = [];
    const s = supervise({ name: 'crashy', spawn: nodeChild('process.exit(3)'), minDelayMs: 100, maxDelayMs: 400, log: (l) => lines.push(l) });
    running.push(s);
    await expect.poll(() => lines.length, { timeout: 5000 }).toBeGreaterThanOrEqual(5);
    const delays = lines.slice(0, 5).map((l) => Number(/in (\d+) ms/.exec(l)?.[1]));
    expect(delays).toEqual([100, 200, 400, 400, 400]);
    expect(lines[0]).toMatch(/crashy exited \(3\)/);
  });

  it('the delay resets once a child has stayed up long enough', async () => {
    const lines: string[] = [];
    const s = supervise({ name: 'agent', spawn: nodeChild(LONG_LIVED), minDelayMs: 50, maxDelayMs: 1000, stableAfterMs: 300, log: (l) => lines.push(l) });
    running.push(s);
    s.child.kill('SIGKILL');
    await expect.poll(() => s.restarts, { timeout: 3000 }).toBe(1);
    s.child.kill('SIGKILL');
    await expect.poll(() => s.restarts, { timeout: 3000 }).toBe(2);
    await sleep(500);
    s.child.kill('SIGKILL');
    await expect.poll(() => lines.length, { timeout: 3000 }).toBe(3);
    expect(lines.map((l) => Number(/in (\d+) ms/.exec(l)?.[1]))).toEqual([50, 100, 50]);
  });

  it('a binary that cannot be run is retried, not fatal', async () => {
    const lines: string[] = [];
    const s = supervise({ name: 'sshd', spawn: () => spawn('/nonexistent/sshd', [], { stdio: 'ignore' }), minDelayMs: 50, maxDelayMs: 50, log: (l) => lines.push(l) });
    running.push(s);
    await expect.poll(() => lines.length, { timeout: 3000 }).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/could not run/);
  });

  it('stop() ends the child and nothing is restarted after it', async () => {
    const s = supervise({ name: 'agent', spawn: nodeChild(LONG_LIVED), minDelayMs: 20, log: () => undefined });
    const child = s.child;
    await s.stop();
    expect(alive(child)).toBe(false);
    await sleep(200);
    expect(s.restarts).toBe(0);
  });
});

describe('the real demo Redis under supervision', () => {
  it('comes back on its port after kill -9', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-demo-redis-'));
    const port = await freePort();
    const demo = prepareDemoRedis({ DEMO_REDIS_PORT: String(port) }, dir);
    const s = supervise({ name: 'demo redis', spawn: demo.spawn, minDelayMs: 100, log: () => undefined });
    const ping = async () => {
      const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return await c.ping();
      } catch {
        return 'down';
      } finally {
        c.disconnect();
      }
    };
    try {
      await expect.poll(ping, { timeout: 10_000 }).toBe('PONG');
      const firstPid = s.child.pid;
      process.kill(firstPid!, 'SIGKILL');
      await expect.poll(() => s.restarts, { timeout: 5000 }).toBe(1);
      await expect.poll(ping, { timeout: 10_000 }).toBe('PONG');
      expect(s.child.pid).not.toBe(firstPid);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
