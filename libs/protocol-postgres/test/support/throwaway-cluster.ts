import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

export interface Cluster {
  readonly port: number;
  readonly superuserPassword: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A private PostgreSQL 15 cluster in a temp dir, SCRAM-only over TCP. initdb refuses to run as root,
 * so when we are root the commands run as the `postgres` OS user via runuser, with the dir chowned.
 */
export async function startScramCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-pg-scram-'));
  const data = join(dir, 'data');
  const superuserPassword = `gw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${superuserPassword}\n`, { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  const pg = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]) : run(join(BIN, cmd), args);

  const port = await freePort();
  let started = false;
  const stop = async () => {
    try {
      if (started) await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    await pg('initdb', ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '-A', 'scram-sha-256', '--no-sync', '-E', 'UTF8']);
    // Both files exist (created by initdb as postgres); rewriting/appending keeps their owner.
    writeFileSync(
      join(data, 'pg_hba.conf'),
      // Only SCRAM over TCP on loopback; nothing else is allowed in.
      'host all all 127.0.0.1/32 scram-sha-256\n',
    );
    appendFileSync(
      join(data, 'postgresql.conf'),
      [
        '',
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        "password_encryption = 'scram-sha-256'",
        'fsync = off',
        'shared_buffers = 16MB',
        'max_connections = 10',
        '',
      ].join('\n'),
    );
    await pg('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
    started = true;
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, superuserPassword, stop };
}
