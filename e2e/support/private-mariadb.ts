import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export interface PrivateMariadb {
  port: number;
  /** PEM of the CA that signed the server certificate (CN localhost, SAN DNS:localhost, IP:127.0.0.1). */
  caFile: string;
  /** A CA that signed nothing: verifying against it must fail. */
  otherCaFile: string;
  /** An administrator that may log in over TCP with TLS only (`REQUIRE SSL`). */
  admin: { user: string; password: string };
  /** Runs SQL as root over the server's Unix socket. */
  sql(statements: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A MariaDB server of the test's own, with TLS (the machine's shared server on 3306 has no
 * certificate and must not be reconfigured by a test): its own data directory, socket and port,
 * run as the `mysql` OS user, removed at stop.
 */
export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-private-mariadb-'));
  const { stdout: ids } = await run('id', ['-u', 'mysql']);
  const { stdout: gids } = await run('id', ['-g', 'mysql']);
  const [uid, gid] = [Number(ids.trim()), Number(gids.trim())];
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const socket = join(dir, 'mariadb.sock');

  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'other-ca']) {
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`]);
  }
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr']);
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt']);
  for (const file of ['server.key', 'server.crt', 'ca.pem']) chownSync(join(dir, file), uid, gid);
  chmodSync(join(dir, 'server.key'), 0o600);

  await run('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--user=mysql', '--auth-root-authentication-method=normal', '--skip-test-db'], { cwd: dir });
  const port = await freePort();
  const server: ChildProcess = spawn('mariadbd', [
    '--no-defaults', `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1', '--user=mysql',
    `--ssl-cert=${join(dir, 'server.crt')}`, `--ssl-key=${join(dir, 'server.key')}`, `--ssl-ca=${join(dir, 'ca.pem')}`,
    `--pid-file=${join(dir, 'mariadb.pid')}`, `--log-error=${join(dir, 'error.log')}`,
    '--skip-log-bin', '--innodb-buffer-pool-size=16M', '--skip-name-resolve',
  ], { stdio: 'ignore' });
  let exited = false;
  const gone = new Promise<void>((resolve) => server.once('exit', () => ((exited = true), resolve())));

  const sql = async (statements: string): Promise<string> =>
    (await run('mariadb', ['--no-defaults', `--socket=${socket}`, '-u', 'root', '--batch', '--skip-column-names', '-e', statements])).stdout;
  const stop = async (): Promise<void> => {
    if (!exited) server.kill('SIGTERM');
    await gone;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited) throw new Error('mariadbd exited at start (see its error.log)');
      try {
        await sql('SELECT 1');
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const admin = { user: 'gw_tls_admin', password: `pw-${process.pid}-${Date.now()}` };
    await sql(`CREATE USER '${admin.user}'@'%' IDENTIFIED BY '${admin.password}' REQUIRE SSL;
      GRANT ALL PRIVILEGES ON *.* TO '${admin.user}'@'%' WITH GRANT OPTION;`);
    return { port, caFile: join(dir, 'ca.pem'), otherCaFile: join(dir, 'other-ca.pem'), admin, sql, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
