// Part of `npm start`: the demo TCP resource `redis` is a redis-server of its own, with its own
// config and port (DEMO_REDIS_PORT, default 16380, loopback only, nothing saved to disk). It is NOT
// the control plane's Redis: a workload that reaches it through `gw connect redis` sees no replica
// messages, job queues or keys of the gateway.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const DEMO_REDIS_DEFAULT_PORT = '16380';

/** Writes the config; returns how to start one instance (for the supervisor) and the port. */
export function prepareDemoRedis(env, dir = resolve('.data/demo-redis')) {
  const port = env.DEMO_REDIS_PORT ?? DEMO_REDIS_DEFAULT_PORT;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = `${dir}/redis.conf`;
  writeFileSync(config, [
    '# Written by tools/demo-redis.mjs: the demo TCP resource, not the control plane\'s Redis.',
    `port ${port}`,
    'bind 127.0.0.1',
    'protected-mode yes',
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    'daemonize no',
    'loglevel warning',
    '',
  ].join('\n'), { mode: 0o600 });
  return {
    port,
    spawn: () => spawn('redis-server', [config], { stdio: ['ignore', 'ignore', 'pipe'] }),
  };
}
