import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Harness } from '../../apps/control-plane/test/support/harness.js';
import { freePort } from './free-port.js';

export { freePort };

/** A control plane replica as a real process (the built `apps/control-plane/dist/main.js`), for kill -9 tests. */
export interface ControlPlaneProcess {
  child: ChildProcess;
  baseUrl: string;
  pgPort: number;
  kill(signal?: NodeJS.Signals): Promise<void>;
}


/**
 * Another replica of the harness's control plane: same database, Redis prefix and identity
 * configuration, its own ports and data directory. Resolves once it answers /healthz (unless
 * `waitHealthy` is false: a worker has no listener).
 */
export async function spawnReplica(h: Harness, env: Record<string, string> = {}, opts: { waitHealthy?: boolean } = {}): Promise<ControlPlaneProcess> {
  const [httpPort, pgPort, sshPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, ['apps/control-plane/dist/main.js'], {
    env: {
      ...process.env,
      HTTP_PORT: String(httpPort),
      PG_PORT: String(pgPort),
      SSH_PORT: String(sshPort),
      K8S_PORT: '-1',
      MYSQL_PORT: '-1',
      DATABASE_URL: h.dbUrl,
      REDIS_URL: h.config.redis.url,
      REDIS_PREFIX: h.config.redis.prefix,
      OIDC_ISSUERS: JSON.stringify(h.config.identity.issuers),
      ...(h.config.identity.roleMappings === undefined ? {} : { ROLE_MAPPINGS: JSON.stringify(h.config.identity.roleMappings) }),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'gw-replica-')),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${env.HTTP_PORT ?? httpPort}`;
  const deadline = Date.now() + 30_000;
  // A worker listens on nothing: the caller watches what it does instead.
  for (;;) {
    if (opts.waitHealthy === false) break;
    if (child.exitCode !== null) throw new Error(`replica exited with ${child.exitCode}`);
    const ok = await fetch(`${baseUrl}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('replica did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    baseUrl,
    pgPort: Number(env.PG_PORT ?? pgPort),
    kill(signal = 'SIGKILL') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
}
