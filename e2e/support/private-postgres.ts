import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);
const PGBIN = '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  port: number;
  /** PEM of the CA that signed the server certificate (CN localhost, SAN 127.0.0.1). */
  caFile: string;
  /** A CA that signed nothing: verifying against it must fail. */
  otherCaFile: string;
  password: string;
  psql(sql: string): Promise<string>;
  /** Stops the server, keeping its data (a restart is halt() then resume()). */
  halt(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

/**
 * A PostgreSQL cluster of the test's own (initdb in a temp dir, run as the `postgres` OS user) that
 * accepts only TLS with SCRAM over TCP: the machine's shared server has TLS off and must not be
 * reconfigured by a test.
 */
export async function startPrivatePostgres(opts: { plainTcp?: boolean } = {}): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-private-pg-'));
  const { stdout: ids } = await run('id', ['-u', 'postgres']);
  const { stdout: gids } = await run('id', ['-g', 'postgres']);
  const [uid, gid] = [Number(ids.trim()), Number(gids.trim())];
  chownSync(dir, uid, gid);
  const asPostgres = (cmd: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: dir });
  const data = join(dir, 'data');
  await asPostgres(join(PGBIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);

  for (const ca of ['ca', 'other-ca']) {
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`], dir);
  }
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt'], dir);
  for (const file of ['server.key', 'server.crt']) chownSync(join(dir, file), uid, gid);
  chmodSync(join(dir, 'server.key'), 0o600);

  const port = await freePort();
  const password = `pw-${process.pid}-${Date.now()}`;
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    [
      `port = ${port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${dir}'`,
      'ssl = on',
      `ssl_cert_file = '${join(dir, 'server.crt')}'`,
      `ssl_key_file = '${join(dir, 'server.key')}'`,
      `password_encryption = 'scram-sha-256'`,
      'fsync = off',
      '',
    ].join('\n'),
  );
  // plainTcp: trust over loopback TCP, like the machine's shared server (a control plane database for fault tests).
  const tcpRules = opts.plainTcp ? ['host all all 127.0.0.1/32 trust'] : ['hostssl all all 127.0.0.1/32 scram-sha-256', 'hostnossl all all 127.0.0.1/32 reject'];
  writeFileSync(join(data, 'pg_hba.conf'), ['local all postgres trust', ...tcpRules, ''].join('\n'));
  const start = () => asPostgres(join(PGBIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
  await start();
  const psql = async (sql: string): Promise<string> => (await asPostgres('psql', ['-h', dir, '-p', String(port), '-U', 'postgres', '-AtX', '-v', 'ON_ERROR_STOP=1', '-c', sql])).stdout;
  await psql(`ALTER ROLE postgres PASSWORD '${password}'`);
  return {
    port,
    caFile: join(dir, 'ca.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
    password,
    psql,
    async halt() {
      await asPostgres(join(PGBIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    async resume() {
      await start();
    },
    async stop() {
      await asPostgres(join(PGBIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
