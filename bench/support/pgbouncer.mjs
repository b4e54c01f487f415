// pgbouncer as the peer of the Postgres gateway in benchmarks: TLS to the client, transaction pooling,
// the same local Postgres behind it. Installed from Debian when missing (the bench runs as root here).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const BIN = '/usr/sbin/pgbouncer';

function ensureInstalled() {
  if (existsSync(BIN)) return;
  console.error('bench: installing pgbouncer from Debian');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'pgbouncer'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts pgbouncer on `port` in front of 127.0.0.1:5432/`database`, exposed as database `dbAlias`.
 * pool_size matches the clients (no queueing inside pgbouncer); clients must use TLS (sslmode=require).
 */
export async function startPgbouncer({ port, database, dbAlias, poolMode = 'transaction', poolSize = 32 }) {
  ensureInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-pgbouncer-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(join(dir, 'pgbouncer.ini'), [
    '[databases]',
    `${dbAlias} = host=127.0.0.1 port=5432 dbname=${database} user=postgres`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'auth_type = trust',
    `auth_file = ${join(dir, 'users.txt')}`,
    `pool_mode = ${poolMode}`,
    `default_pool_size = ${poolSize}`,
    'max_client_conn = 200',
    'client_tls_sslmode = require',
    `client_tls_key_file = ${join(dir, 'key.pem')}`,
    `client_tls_cert_file = ${join(dir, 'cert.pem')}`,
    `unix_socket_dir = ${dir}`,
    `logfile = ${join(dir, 'pgbouncer.log')}`,
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n'));
  // pgbouncer refuses to run as root: hand the files to the postgres user and run as it.
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chmodSync(dir, 0o755);
    for (const f of ['', 'key.pem', 'cert.pem', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
  }
  const child = spawn(BIN, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await portOpen(port)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await portOpen(port))) throw new Error(`pgbouncer did not listen on ${port} (see ${join(dir, 'pgbouncer.log')})`);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    pid: child.pid,
    port,
    // SIGINT: pgbouncer closes its server connections and exits.
    stop: async () => {
      child.kill('SIGINT');
      await exited;
    },
  };
}
